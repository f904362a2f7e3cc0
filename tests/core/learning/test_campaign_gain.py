"""The gain model of the campaign proposals: Arrhenius windows, extrapolation distances from MD coverage, the
ranking on crafted studies whose answer is known, and a budget the autopilot never exceeds."""

import math

import numpy as np
import pytest

from glass_core.learning.campaign_gain import (
    CampaignState,
    Candidate,
    StatePointError,
    arrhenius_window,
    candidates,
    distance,
    fit_error_model,
    held_out_calibration,
    objective,
    select_within_budget,
)

TARGETS = (0.9, 0.8, 0.7)
COSTS = {"md_per_configuration_time": 0.01, "equilibrium": 5.0, "refresh": 100.0, "refresh_temperature": 10.0}


def arrhenius_times(temperatures, targets=TARGETS, alpha=-2.0, beta=3.0):
    """t(T, c) = exp(α + β/T) / c³: the labelled temperatures' times to reach each ⟨C_B⟩ (exactly Arrhenius in T)."""
    return {(t, c): math.exp(alpha + beta / t) / c**3 for t in temperatures for c in targets}


def crafted_state(spread_of_t, se_of_t=lambda t: 0.1, labelled=(0.7, 0.6), swap_mc=(0.7, 0.6, 0.5, 0.4),
                  held_out=(0.5, 0.2), window=1e6, n=8):
    points = tuple(StatePointError(t, c, 1.0, se_of_t(t), spread_of_t(t), n) for t in swap_mc for c in TARGETS)
    return CampaignState(
        points=points, md_reached={t: TARGETS for t in labelled}, windows={t: 400.0 for t in labelled},
        times=arrhenius_times(labelled), n_labelled={t: n for t in labelled}, swap_mc=swap_mc, held_out=held_out,
        costs=COSTS, targets=TARGETS, planned={t: (window, n) for t in swap_mc})


def test_arrhenius_window_recovers_the_law_it_was_fitted_on():
    times = arrhenius_times([0.7, 0.6, 0.5])
    for temperature in (0.45, 0.4, 0.3):
        assert arrhenius_window(times, temperature, 0.8) == pytest.approx(math.exp(-2.0 + 3.0 / temperature) / 0.512)
    assert arrhenius_window(arrhenius_times([0.7]), 0.4, 0.8) is None  # one temperature cannot fix two constants


def test_distance_counts_only_temperatures_whose_md_reached_the_state_point():
    reached = {0.7: (0.9, 0.8, 0.37), 0.5: (0.9, 0.8)}  # 0.5's window ended before ⟨C_B⟩ = 0.37
    assert distance(0.5, 0.8, reached) == 0.0
    # 0.37 only at 0.7: one temperature, span 1/0.7; 1/0.5 − 1/0.7 = 0.571… over 1.428… = 0.4
    assert distance(0.5, 0.37, reached) == pytest.approx((1 / 0.5 - 1 / 0.7) / (1 / 0.7))
    assert distance(0.6, 0.2, reached) == pytest.approx(distance(0.6, 0.9, reached) + 1.0)  # reached by none


def test_held_out_calibration_is_the_mean_relative_error_at_its_distance():
    assert held_out_calibration([0.12, 0.3, 1.0], [0.1, 0.2, 0.0], 0.5) == pytest.approx((0.5, (0.2 + 0.5) / 2))
    assert held_out_calibration([0.1], [0.1], 0.0) is None


def test_the_temperature_with_the_largest_spread_is_labelled_first():
    # spread grows with distance below the labels: largest at T = 0.4, where labelling removes most of it
    def spread(t):
        return {0.7: 0.1, 0.6: 0.1, 0.5: 0.4, 0.4: 0.9}[t]

    ranked = [c for c in candidates(crafted_state(spread, window=2000.0)) if c.action == "label_temperature"]
    assert [c.temperature for c in ranked] == [0.4, 0.5]
    assert ranked[0].gain > ranked[1].gain > 0
    best = candidates(crafted_state(spread, window=2000.0))[0]
    assert (best.action, best.temperature) == ("label_temperature", 0.4)


def test_equilibria_go_where_the_bootstrap_error_is_largest():
    def se(t):
        return 0.8 if t == 0.5 else 0.05

    equilibria = [c for c in candidates(crafted_state(lambda t: 0.1, se)) if c.action == "add_equilibria"]
    assert equilibria[0].temperature == 0.5
    # doubling n at 0.5 halves its SE² there: 3 state points × 0.64 / 2
    assert equilibria[0].gain == pytest.approx(3 * 0.64 / 2)


def test_a_window_that_reaches_no_target_proposes_no_labels():
    state = crafted_state(lambda t: 0.1 + (0.7 - t), window=1.0)
    assert not [c for c in candidates(state) if c.action == "label_temperature"]


def test_costs_follow_the_measured_rates():
    state = crafted_state(lambda t: 0.1 + (0.7 - t), window=500.0)
    label = next(c for c in candidates(state) if c.action == "label_temperature" and c.temperature == 0.5)
    assert label.cpu_hours == pytest.approx((8 * 0.01 * 500.0 + 100.0) / 3600)
    assert label.objective_before == pytest.approx(objective(state, fit_error_model(state)))
    assert label.gain == pytest.approx(label.objective_before - label.objective_after)


def test_the_autopilot_never_exceeds_its_budget():
    rng = np.random.default_rng(7)
    for _ in range(200):
        ranked = [Candidate("label_temperature", 0.5, {}, float(g), float(c), 1.0, 0.0, "")
                  for g, c in zip(rng.normal(1, 1, 12), rng.uniform(0.01, 3, 12), strict=True)]
        ranked.sort(key=lambda c: -c.gain_per_cpu_hour)
        budget = float(rng.uniform(0.1, 5))
        chosen = select_within_budget(ranked, budget)
        assert sum(c.cpu_hours for c in chosen) <= budget * (1 + 1e-9)
        assert all(c.gain > 0 for c in chosen)
        # greedy: any proposal left out with a positive gain did not fit what was left when it came up
        spent = 0.0
        for c in ranked:
            if c in chosen:
                spent += c.cpu_hours
            elif c.gain > 0:
                assert spent + c.cpu_hours > budget * (1 + 1e-9) - 1e-12


@pytest.mark.parametrize("budget", [0, -1.0, float("nan"), float("inf"), "2"])
def test_a_budget_that_is_not_a_positive_number_is_refused(budget):
    with pytest.raises(ValueError, match="positive number"):
        select_within_budget([], budget)
