"""The held-out test [J]: on a crafted study whose propensity is a known smooth function of one descriptor and of T,
a tGlassMLP trained without the lowest temperature predicts it — Pearson, χ4 and the ⟨C_B⟩ clock recovered."""

import numpy as np
import pytest

from glass_core.learning.mlp_data import PropensityDataset
from glass_core.learning.mlp_settings import MLPTrainingSettings
from glass_core.learning.tglassmlp_training import train_tglassmlp
from glass_core.learning.transferability import ChordSettings, held_out_comparison

pytestmark = pytest.mark.usefixtures("one_torch_thread")

SIDE = 12
SETTINGS = MLPTrainingSettings(
    tglass_mse_schedule=((10, 1e-2), (10, 3e-3)),
    tglass_glassmlp_schedule=((15, 2e-3),),
    n_networks=2,
    n_networks_equal_cb=1,
    patience=15,
    tolerance=0.05,
)


def amplitude(temperature: float) -> float:
    return 0.15 * (1 + 0.3 * (0.7 - temperature))


def crafted(temperatures: list[float], cbs: list[float], n_configs: int, seed: int, first_id: int = 0
            ) -> PropensityDataset:
    """Particles on a jittered 12 × 12 lattice; descriptor x₀ = z + u_c (u_c a per-configuration shift, so the
    configurations differ and χ4 is large) plus two irrelevant ones; label = ⟨C_B⟩ + A(T) tanh(x₀) with the state
    point's mean removed and 1 % noise. A grows slowly as T falls, so the held-out T needs a mild extrapolation."""
    rng = np.random.default_rng(seed)
    grid = np.stack(np.meshgrid(np.arange(SIDE), np.arange(SIDE)), -1).reshape(-1, 2) + 0.5
    n = SIDE * SIDE
    columns: dict[str, list] = {k: [] for k in ("features", "types", "configuration", "temperature", "cb", "labels",
                                                "positions")}
    for k, temperature in enumerate(temperatures):
        structures = [(grid + rng.normal(0, 0.1, grid.shape), rng.normal(size=n) + rng.normal(0, 0.5))
                      for _ in range(n_configs)]
        for cb in cbs:
            signal = np.concatenate([np.tanh(x0) for _, x0 in structures])
            signal -= signal.mean()
            for c, (positions, x0) in enumerate(structures):
                values = cb + amplitude(temperature) * signal[c * n : (c + 1) * n] + 0.01 * rng.normal(size=n)
                columns["features"].append(np.column_stack([x0, rng.normal(size=(n, 2))]))
                columns["types"].append(np.zeros(n, int))
                columns["configuration"].append(np.full(n, first_id + k * n_configs + c))
                columns["temperature"].append(np.full(n, temperature))
                columns["cb"].append(np.full(n, cb))
                columns["labels"].append(values)
                columns["positions"].append(positions % SIDE)
    stacked = {k: np.concatenate(v) for k, v in columns.items()}
    return PropensityDataset(stacked["features"], stacked["types"], stacked["configuration"], stacked["temperature"],
                             stacked["cb"], stacked["labels"], stacked["positions"],
                             np.full((len(stacked["labels"]), 2), float(SIDE)))


def test_a_model_trained_without_the_lowest_temperature_recovers_it():
    train = crafted([0.7, 0.6, 0.5], [0.8, 0.6], 8, seed=1)
    validation = crafted([0.7, 0.6, 0.5], [0.8, 0.6], 3, seed=2, first_id=500)
    held_out = crafted([0.4], [0.8, 0.6], 8, seed=3, first_id=1000)
    requested = np.array([[t, c] for t in (0.7, 0.6, 0.5, 0.4) for c in (0.8, 0.6)])
    ensemble = train_tglassmlp(train, validation, None, SETTINGS, seed=0, requested_state_points=requested).ensemble
    assert ensemble.notes["training_temperatures"] == [0.5, 0.6, 0.7]
    noise = 0.02 * np.random.default_rng(9).normal(size=len(held_out))  # two replica halves around the labels
    halves = np.column_stack([held_out.labels + noise, held_out.labels - noise])
    points = held_out_comparison(ensemble, held_out, ChordSettings(random_field_draws=5), n_bootstrap=200,
                                 halves=halves, n_replicas=4)
    assert [(p.temperature, p.target_cb) for p in points] == [(0.4, 0.6), (0.4, 0.8)]
    for point in points:
        assert point.pearson.mean > 0.9 and point.n_configurations == 8
        ratio = point.chi4_ml.mean / point.chi4_md.value
        assert abs(ratio - 1) < 0.1, (point.target_cb, ratio)
        assert abs(point.achieved_cb - point.target_cb) <= SETTINGS.tolerance
        assert point.extrapolation_spans == pytest.approx((1 / 0.4 - 1 / 0.5) / (1 / 0.5 - 1 / 0.7))
        assert point.chord_md is not None and point.chord_random is not None
        # the halves differ: their trajectory noise makes the R → ∞ χ4 smaller than that of the replica means
        assert point.chi4_md_full.configurational < point.chi4_md.value
    with pytest.raises(ValueError, match="not held out"):
        held_out_comparison(ensemble, crafted([0.5], [0.8], 2, seed=4))
