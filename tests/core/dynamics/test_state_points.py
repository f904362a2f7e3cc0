"""Labels per state point (T, ⟨C_B⟩) on trajectories whose answer is known."""

import numpy as np
import pytest

from glass_core.dynamics.state_points import crossing_times, labels_at_time, split_half_ceiling, state_point_labels


def exponential_labels(rates: np.ndarray, times: np.ndarray) -> np.ndarray:
    return np.exp(-np.outer(times, rates))


def test_crossing_time_of_an_exponential_is_exact():
    times = np.linspace(0.0, 10.0, 41)
    curve = np.exp(-times / 2.0)
    crossings = crossing_times(times, curve, [0.9, 0.5, 0.1, 1e-9])
    assert set(crossings) == {0.9, 0.5, 0.1}  # 1e-9 is never reached
    for target, t in crossings.items():
        assert t == pytest.approx(-2.0 * np.log(target), rel=1e-12)


def test_target_outside_unit_interval_is_refused():
    with pytest.raises(ValueError, match="strictly between 0 and 1"):
        crossing_times(np.arange(3.0), np.ones(3), [1.2])


def test_labels_interpolate_linearly_between_frames():
    times = np.array([0.0, 1.0, 3.0])
    values = np.array([[1.0, 1.0], [0.8, 0.6], [0.4, 0.2]])
    assert labels_at_time(times, values, 2.0) == pytest.approx([0.6, 0.4])
    assert labels_at_time(times, values, 1.0) == pytest.approx([0.8, 0.6])
    with pytest.raises(ValueError, match="outside the frames"):
        labels_at_time(times, values, 4.0)


def test_state_point_labels_follow_the_per_particle_decay():
    rng = np.random.default_rng(0)
    times = np.linspace(0.0, 20.0, 401)
    rates = {s: rng.uniform(0.05, 0.5, size=50) for s in range(4)}
    bb = {s: exponential_labels(r, times) for s, r in rates.items()}
    halves = {s: np.stack([v, v]) for s, v in bb.items()}
    points = state_point_labels(times, bb, halves, [0.75, 0.5, 1e-6])
    assert [p.target for p in points] == [0.75, 0.5]
    for p in points:
        assert p.mean_bond_breaking == pytest.approx(p.target, abs=2e-3)
        for s in rates:
            assert p.labels[s] == pytest.approx(np.exp(-rates[s] * p.time), abs=1e-3)
        assert p.split_half_r == pytest.approx(1.0)  # identical halves: perfectly reliable labels
        assert p.ceiling == pytest.approx(1.0)


def test_state_points_are_defined_by_the_mean_of_the_chosen_particles():
    """[J]: ⟨C_B⟩ of a type-A model is the type-A mean. Type A decays at rate 0.1, the others at 0.4: the crossing of
    ⟨C_B⟩_A = 0.5 is at t = ln 2 / 0.1, where the all-particle mean is far lower."""
    times = np.linspace(0.0, 20.0, 2001)
    types = np.repeat([0, 1], 20)
    rates = np.where(types == 0, 0.1, 0.4)
    bb = {s: exponential_labels(rates, times) for s in range(3)}
    halves = {s: np.stack([v, v]) for s, v in bb.items()}
    (point,) = state_point_labels(times, bb, halves, [0.5], {s: types == 0 for s in bb})
    assert point.time == pytest.approx(np.log(2) / 0.1, rel=1e-3)
    assert point.mean_bond_breaking == pytest.approx(0.5, abs=1e-3)
    assert np.mean(point.labels[0]) < 0.4  # all particles: B has relaxed further
    with pytest.raises(ValueError, match="none of the particles"):
        state_point_labels(times, bb, halves, [0.5], {s: np.zeros(40, bool) for s in bb})


def test_split_half_ceiling_is_spearman_brown():
    rng = np.random.default_rng(1)
    truth = [rng.normal(size=4000) for _ in range(3)]
    # each half = truth + independent noise of equal variance: r_half = 1/2, ρ = 2/3
    a = [t + rng.normal(size=t.size) for t in truth]
    b = [t + rng.normal(size=t.size) for t in truth]
    r_half, ceiling = split_half_ceiling(a, b)
    assert r_half == pytest.approx(0.5, abs=0.03)
    assert ceiling == pytest.approx(np.sqrt(2 * r_half / (1 + r_half)))
    # the ceiling is the correlation of the full average with the truth, measured directly
    full = [(x + y) / 2 for x, y in zip(a, b, strict=True)]
    measured = np.mean([np.corrcoef(f, t)[0, 1] for f, t in zip(full, truth, strict=True)])
    assert ceiling == pytest.approx(measured, abs=0.03)


def test_split_half_ceiling_without_two_halves_is_nan():
    r, c = split_half_ceiling([np.ones(5)], [np.full(5, np.nan)])
    assert np.isnan(r) and np.isnan(c)


def test_pearson_by_configuration_averages_within_configurations():
    from glass_core.learning.scores import pearson_by_configuration

    rng = np.random.default_rng(2)
    labels = rng.normal(size=300)
    configuration = np.repeat(np.arange(3), 100)
    # a perfect predictor up to a per-configuration offset: a pooled Pearson would be < 1, per configuration = 1
    prediction = labels + np.repeat([0.0, 5.0, -5.0], 100)
    score = pearson_by_configuration(prediction, labels, configuration)
    assert score.mean == pytest.approx(1.0) and score.n == 3 and score.stderr == pytest.approx(0.0, abs=1e-12)
    assert np.corrcoef(prediction, labels)[0, 1] < 0.5
    mask = np.arange(300) % 2 == 0
    noisy = labels + rng.normal(size=300)
    masked = pearson_by_configuration(noisy, labels, configuration, mask)
    expected = [
        np.corrcoef(noisy[mask & (configuration == c)], labels[mask & (configuration == c)])[0, 1] for c in range(3)
    ]
    assert masked.mean == pytest.approx(np.mean(expected))
    assert masked.stderr == pytest.approx(np.std(expected, ddof=1) / np.sqrt(3))


def test_pearson_by_configuration_counts_undefined_configurations_and_says_why():
    from glass_core.learning.scores import pearson_by_configuration, undefined_cause

    rng = np.random.default_rng(4)
    prediction = rng.normal(size=30)
    configuration = np.repeat(np.arange(3), 10)
    constant = np.ones(30)  # GlassBench at t = 0.1: no bond has broken, every label is 1
    score = pearson_by_configuration(prediction, constant, configuration)
    assert np.isnan(score.mean) and np.isnan(score.stderr) and score.n == 0 and score.n_undefined == 3
    assert score.reason == "labels constant (all = 1) in 3 of 3 configurations: Pearson undefined"
    labels = constant.copy()
    labels[10:] = rng.uniform(0, 1, 20)  # the first configuration constant, the other two not
    partial = pearson_by_configuration(prediction, labels, configuration)
    expected = [np.corrcoef(prediction[k * 10 : k * 10 + 10], labels[k * 10 : k * 10 + 10])[0, 1] for k in (1, 2)]
    assert partial.mean == pytest.approx(np.mean(expected)) and partial.n == 2 and partial.n_undefined == 1
    assert partial.reason == "labels constant (all = 1) in 1 of 3 configurations: left out of the mean"
    flat = pearson_by_configuration(np.zeros(30), labels, configuration)
    causes = "labels constant (all = 1) in 1 of 3 configurations; prediction constant in 2 of 3 configurations"
    assert flat.reason == f"{causes}: Pearson undefined"
    nothing = pearson_by_configuration(prediction, labels, configuration, np.zeros(30, bool))
    assert nothing.n == 0 and nothing.reason == "no particle in the subset"
    assert pearson_by_configuration(prediction, rng.uniform(size=30), configuration).reason is None  # all count
    assert undefined_cause(np.array([1.0]), np.array([0.5])) == "fewer than two particles"
    assert undefined_cause(np.array([1.0, np.nan]), np.array([0.5, 0.2])) == "non-finite values"
    assert undefined_cause(np.array([1.0, 2.0]), np.array([0.5, 0.2])) is None


def test_best_single_descriptor_keeps_the_sign():
    from glass_core.learning.scores import best_single_descriptor

    rng = np.random.default_rng(3)
    labels = rng.normal(size=500)
    features = np.column_stack([rng.normal(size=500), -2.0 * labels + 0.1 * rng.normal(size=500), np.ones(500)])
    assert best_single_descriptor(features, labels) == (1, -1.0)
    with pytest.raises(ValueError, match="constant"):
        best_single_descriptor(np.ones((5, 2)), labels[:5])
