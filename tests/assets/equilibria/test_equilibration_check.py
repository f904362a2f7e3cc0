"""The ``equilibrated`` check of the swap-MC equilibria on energy traces of known statistics: its false-alarm rate
on stationary chains, a drift flagged, a chain too short to judge named."""

import numpy as np

from glass_assets.equilibria.checks import EQUILIBRATION_ALPHA, equilibrated
from glass_core.dynamics.equilibration import compare_halves, stationarity_test
from tests.helpers.series import ar1_fast, chains


def test_the_equilibrated_checks_false_alarm_rate_on_stationary_series_is_below_its_nominal_level():
    """Two stationary chains of the demo's length (1600 trace points) per partition, white and strongly correlated
    (τ_int = 9.5 points): the check flags fewer than its nominal 1 % of them; the old check (5 blocks, |z| ≤ 3)
    flagged about 3.5 %."""
    rng = np.random.default_rng(2026)
    repeats = 2000
    for rho in (0.0, 0.9):
        alarms = sum(not equilibrated(chains(rng, rho), 0).passed for _ in range(repeats))
        assert alarms / repeats < EQUILIBRATION_ALPHA, (rho, alarms)
    old = sum(
        not all(compare_halves(ar1_fast(rng, 1600, 0.9)).agrees() for _ in range(2)) for _ in range(repeats)
    )
    assert old / repeats > 2.5 * EQUILIBRATION_ALPHA  # why the check changed


def test_the_equilibrated_check_flags_a_drift_and_names_a_chain_too_short_to_judge():
    rng = np.random.default_rng(5)
    drifting = equilibrated(chains(rng, 0.9, drift=3.0), 0)
    assert not drifting.passed and "drifts" in drifting.description and drifting.metadata["p_value"] < 0.005
    # a half too short for 4 blocks of 2 τ_int (here: asking for 40 blocks of 200 points, τ_int ≈ 9.5) is not judged
    short = stationarity_test(ar1_fast(rng, 400, 0.9), min_blocks=40)
    assert not short.judged and short.stationary(0.01) and np.isnan(short.p_value)
    calm = equilibrated(chains(rng, 0.5), 0)
    assert calm.passed and calm.metadata["effective_samples"] > 400
