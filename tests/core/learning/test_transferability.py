"""The held-out test [J]: on a crafted study whose propensity is a known smooth function of one descriptor and of T,
a tGlassMLP trained without the lowest temperature predicts it — Pearson, χ4 and the ⟨C_B⟩ clock recovered."""

import numpy as np
import pytest

from glass_core.learning.mlp_settings import MLPTrainingSettings
from glass_core.learning.tglassmlp_training import train_tglassmlp
from glass_core.learning.transferability import ChordSettings, held_out_comparison
from tests.helpers.mlp_datasets import crafted

pytestmark = pytest.mark.usefixtures("one_torch_thread")

SETTINGS = MLPTrainingSettings(
    tglass_mse_schedule=((10, 1e-2), (10, 3e-3)),
    tglass_glassmlp_schedule=((15, 2e-3),),
    n_networks=2,
    n_networks_equal_cb=1,
    patience=15,
    tolerance=0.05,
)


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
