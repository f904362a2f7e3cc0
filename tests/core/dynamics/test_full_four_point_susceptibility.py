"""Full χ4 (thermal + configurational) from replica means and split halves, against pooled trajectories and
an analytic model of configurational and thermal fluctuations."""

import numpy as np
import pytest

from glass_core.dynamics.four_point_susceptibility import (
    TooFewConfigurationsError,
    four_point_susceptibility,
    full_four_point_susceptibility,
)


def _halves(trajectories: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(mean, even-replica mean, odd-replica mean) of (n_conf, R, N) single-trajectory fields."""
    return trajectories.mean(axis=1), trajectories[:, 0::2].mean(axis=1), trajectories[:, 1::2].mean(axis=1)


def test_two_replicas_give_exactly_the_variance_over_pooled_trajectories():
    rng = np.random.default_rng(3)
    n_conf, n = 40, 100
    trajectories = rng.uniform(size=(n_conf, 1, n)) * 0.5 + rng.uniform(size=(n_conf, 2, n)) * 0.5
    full = full_four_point_susceptibility(*_halves(trajectories), n_replicas=2, n_bootstrap=50)
    pooled = trajectories.reshape(2 * n_conf, n).mean(axis=1)  # one Q/N per trajectory
    assert full.value == pytest.approx(n * pooled.var(), rel=1e-12)
    assert full.thermal + full.configurational == pytest.approx(full.value)


def test_full_chi4_of_a_model_with_known_configurational_and_thermal_parts():
    """X_i = g_c + h_τ + ε_i: configuration shift g (s_c), trajectory shift h (s_t), particle noise ε (s_p).
    χ4_full = N (s_c² + s_t²) + s_p², its thermal part N s_t² + s_p² (four replicas, halves of two)."""
    rng = np.random.default_rng(5)
    n_conf, n_replicas, n = 2000, 4, 50
    s_c, s_t, s_p = 0.05, 0.03, 0.2
    shifts = rng.normal(0, s_c, (n_conf, 1, 1)) + rng.normal(0, s_t, (n_conf, n_replicas, 1))
    trajectories = shifts + rng.normal(0, s_p, (n_conf, n_replicas, n))
    full = full_four_point_susceptibility(*_halves(trajectories), n_replicas=n_replicas, n_bootstrap=200, seed=1)
    expected = n * (s_c**2 + s_t**2) + s_p**2
    assert abs(full.value - expected) < 4 * full.stderr
    assert full.thermal == pytest.approx(n * s_t**2 + s_p**2, rel=0.1)
    assert full.configurational == pytest.approx(n * s_c**2, rel=0.15)
    assert abs(full.configurational - n * s_c**2) < 4 * full.configurational_stderr  # its bootstrap error covers it
    # the finite-R χ4 of the replica means carries the thermal remainder (N s_t² + s_p²)/R; the R → ∞ part does not
    chi4 = four_point_susceptibility(trajectories.mean(axis=1), n_bootstrap=50, seed=1).value
    assert chi4 - full.configurational == pytest.approx(full.thermal / n_replicas, rel=1e-9)


def test_full_chi4_rejects_one_replica_and_one_configuration():
    fields = np.ones((3, 4))
    with pytest.raises(ValueError, match="at least 2 replicas"):
        full_four_point_susceptibility(fields, fields, fields, n_replicas=1)
    with pytest.raises(TooFewConfigurationsError, match="got 1"):
        full_four_point_susceptibility(fields[:1], fields[:1], fields[:1], n_replicas=2)
