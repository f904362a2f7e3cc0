"""The full loss of GlassMLP [G] / tGlassMLP [J]: shell kernels and correlations at known values, and a crafted
field whose variance and spatial correlation the full loss recovers where the absolute-error loss alone does not."""

import numpy as np
import pytest
import torch

from glass_core.learning.glassmlp import train_glassmlp
from glass_core.learning.mlp_data import PropensityDataset, split_by_configuration
from glass_core.learning.mlp_settings import MLPSettingsError, MLPTrainingSettings
from glass_core.learning.propensity_loss import (
    LossWeights,
    full_glassmlp_loss,
    shell_correlations,
    shell_kernels,
)

pytestmark = pytest.mark.usefixtures("one_torch_thread")

SIDE = 20  # particles per side of the lattice, box 20 × 20 at density 1


def lattice_positions(rng: np.random.Generator, jitter: float = 0.1) -> np.ndarray:
    grid = np.stack(np.meshgrid(np.arange(SIDE), np.arange(SIDE)), -1).reshape(-1, 2) + 0.5
    return (grid + rng.normal(0, jitter, grid.shape)) % SIDE


def test_shell_kernels_are_row_normalised_gaussians_with_minimum_image():
    positions = np.array([[0.5, 0.5], [2.5, 0.5], [19.5, 0.5]])  # the third is 1 σ from the first across the edge
    kernels = shell_kernels(positions, (20.0, 20.0), shells=(1.0, 2.0), width=1.0).numpy()
    np.testing.assert_allclose(kernels.sum(axis=2), 1.0, rtol=1e-6)
    raw = np.exp(-((np.array([0.0, 2.0, 1.0]) - 1.0) ** 2) / 2)  # row 0, shell r = 1: distances 0, 2, 1
    np.testing.assert_allclose(kernels[0, 0], raw / raw.sum(), rtol=1e-6)


def test_shell_correlation_is_invariant_under_affine_maps_and_follows_a_plane_wave():
    rng = np.random.default_rng(0)
    positions = lattice_positions(rng)
    kernels = shell_kernels(positions, (SIDE, SIDE))
    field = torch.from_numpy(rng.normal(size=len(positions))).float()
    c = shell_correlations(field, kernels)
    torch.testing.assert_close(shell_correlations(3.0 * field - 2.0, kernels), c, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(shell_correlations(1.0 - field, kernels), c, rtol=1e-5, atol=1e-6)  # [G] uses 1 − C_B
    assert c.abs().max() < 0.1  # white noise: no correlation beyond the small self term
    # a plane wave cos(k x): C_k = ⟨Σ_j K_ij cos(k Δx_ij)⟩_i up to terms that average out (cos(k(x_i + x_j)))
    k = 2 * np.pi / SIDE
    wave = torch.from_numpy(np.cos(k * positions[:, 0])).float()
    delta = positions[:, None, 0] - positions[None, :, 0]
    expected = (kernels.numpy() * np.cos(k * delta)[None]).sum(axis=2).mean(axis=1)
    np.testing.assert_allclose(shell_correlations(wave, kernels).numpy(), expected, atol=0.02)
    assert expected[0] > 0.8 > abs(expected[2])  # correlated at r = 2, not at r = 8


def test_full_loss_vanishes_for_a_perfect_prediction_and_weighs_its_terms():
    rng = np.random.default_rng(1)
    positions = lattice_positions(rng)
    kernels = shell_kernels(positions, (SIDE, SIDE))
    labels = torch.from_numpy(0.5 + 0.1 * rng.normal(size=len(positions))).float()
    truth = shell_correlations(labels, kernels)
    weights = LossWeights()
    scale = labels.std(unbiased=False)
    assert full_glassmlp_loss(labels, labels, scale, kernels, truth, weights).item() == pytest.approx(0, abs=1e-6)
    flat = torch.full_like(labels, 0.5)  # the mean only: absolute error ≈ 0.8 and the whole variance missing
    variance_only = LossWeights(absolute_error=1.0, correlation=0.0, variance=1.0)
    mae = (flat - labels).abs().mean() / scale
    expected = mae + 1.0  # |0 − Var(y)| / Var(y)
    loss = full_glassmlp_loss(flat, labels, scale, kernels, truth, variance_only)
    assert loss.item() == pytest.approx(expected.item(), rel=1e-4)


def crafted_field(n_configs: int, seed: int) -> PropensityDataset:
    """y = 0.5 + 0.1 (s + e): s a smooth Gaussian random field (correlation length 1.5 σ, unit variance), e white
    noise of unit variance. The descriptors see s exactly and e only through noise of its own size (e + η), plus an
    irrelevant column: the best point predictor is ≈ s + e/2, which is too narrow (Var ≈ 3/4 of the labels') and
    too smooth (shell-2 correlation ≈ 4/3 of the labels'); ŷ = s + (e + η)/√2 matches both."""
    rng = np.random.default_rng(seed)
    parts = []
    for c in range(n_configs):
        positions = lattice_positions(rng)
        delta = positions[:, None] - positions[None]
        delta -= SIDE * np.round(delta / SIDE)
        smooth = np.exp(-(delta**2).sum(-1) / (2 * 1.5**2)) @ rng.normal(size=len(positions))
        smooth = (smooth - smooth.mean()) / smooth.std()
        noise, view = rng.normal(size=(2, len(positions)))
        features = np.column_stack([smooth, noise + view, rng.normal(size=len(positions))])
        parts.append((features, positions, 0.5 + 0.1 * (smooth + noise), np.full(len(positions), c)))
    features, positions, labels, configuration = (np.concatenate(x) for x in zip(*parts, strict=True))
    n = len(labels)
    return PropensityDataset(features, np.zeros(n, int), configuration, np.full(n, 0.4), np.full(n, 0.5), labels,
                             positions, np.full((n, 2), float(SIDE)))


def variance_and_correlation_ratios(ensemble, test: PropensityDataset) -> tuple[float, float]:
    """Mean over test configurations of Var(ŷ)/Var(y) and C_1(ŷ)/C_1(y) (shell r = 2)."""
    prediction, _ = ensemble.predict(test.features, test.types)
    variance, correlation = [], []
    for c in np.unique(test.configuration):
        rows = test.configuration == c
        kernels = shell_kernels(test.positions[rows], (SIDE, SIDE))
        predicted = shell_correlations(torch.from_numpy(prediction[rows]).float(), kernels)[0]
        true = shell_correlations(torch.from_numpy(test.labels[rows]).float(), kernels)[0]
        variance.append(prediction[rows].var() / test.labels[rows].var())
        correlation.append(float(predicted / true))
    return float(np.mean(variance)), float(np.mean(correlation))


def test_the_full_loss_recovers_variance_and_correlation_that_the_absolute_error_alone_misses():
    train, validation, test = split_by_configuration(crafted_field(16, seed=3), (0.5, 0.25, 0.25), seed=0)
    ratios = {}
    for name, weights in (("absolute error", (1.0, 0.0, 0.0)), ("full", (1.0, 0.5, 1.0))):
        settings = MLPTrainingSettings(glassmlp_schedule=((30, 5e-3),), glassmlp_full_loss_schedule=((50, 2e-3),),
                                       n_glassmlp_networks=1, patience=50, loss_weights=weights)
        ensemble = train_glassmlp(train, validation, settings, seed=0)
        assert ensemble.notes["spatial_loss"] is True
        ratios[name] = variance_and_correlation_ratios(ensemble, test)
    variance, correlation = ratios["full"]
    assert abs(variance - 1) < 0.1 and abs(correlation - 1) < 0.1, ratios  # both recovered within 10 %
    variance, correlation = ratios["absolute error"]
    assert variance < 0.85 and correlation > 1.15, ratios  # regression to the mean: too narrow, too smooth


@pytest.mark.parametrize(
    ("key", "value"),
    [("loss_weights", (0.0, 0.5, 1.0)), ("loss_weights", (1.0, -0.5, 1.0)), ("correlation_shells", (5.0, 2.0)),
     ("shell_width", 0.0), ("glassmlp_full_loss_schedule", ())],
)
def test_bad_loss_settings_raise_naming_the_key(key, value):
    with pytest.raises(MLPSettingsError, match=key):
        MLPTrainingSettings(**{key: value})
