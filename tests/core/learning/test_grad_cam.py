"""Grad-CAM: the formula against an analytic gradient, batching, and the translation properties."""

import numpy as np
import pytest
import torch

from glass_core.learning.cnn import GLASS, LIQUID, GlassCNN
from glass_core.learning.grad_cam import grad_cam, grad_cam_particles
from glass_core.models.configuration import Configuration
from glass_core.structure.gridding import Gridding

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def model(head: str, seed: int = 0, grid: int = 16) -> GlassCNN:
    torch.manual_seed(seed)
    return GlassCNN(n_channels=2, grid=grid, conv_channels=(4, 6, 8), hidden=10, dropout=0.5, head=head).eval()


def images(n: int, grid: int = 16, seed: int = 1) -> np.ndarray:
    return np.random.default_rng(seed).uniform(0, 2, (n, 2, grid, grid)).astype(np.float32)


def test_matches_the_analytic_gradient_of_the_fc_head():
    """y = W₂ ReLU(W₁ a + b₁) + b₂, so ∂y^C/∂a = (W₂[C] ⊙ 1[h > 0]) W₁ (dropout is off in eval mode)."""
    net = model("fc")
    x = torch.as_tensor(images(3))
    with torch.no_grad():
        a = net.features(x)
        flat = a.flatten(1)
        w1, b1, w2 = net.head[1].weight, net.head[1].bias, net.head[4].weight
        gradient = ((w2[GLASS] * (flat @ w1.T + b1 > 0)) @ w1).reshape(a.shape)
        alpha = gradient.mean(dim=(2, 3))
        expected = torch.relu(torch.einsum("bm,bmkl->bkl", alpha, a))
    cam = grad_cam(net, x, GLASS)
    assert cam.maps.shape == (3, 16, 16)
    np.testing.assert_allclose(cam.weights, alpha.numpy(), rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(cam.maps, expected.numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(cam.logits, net(x).detach().numpy(), rtol=1e-6)
    assert np.all(cam.maps >= 0)
    assert cam.maps.max() > 0


def test_batching_and_mode_do_not_change_the_result():
    net = model("fc")
    x = images(5)
    whole = grad_cam(net, x, LIQUID, batch_size=64)
    net.train()
    pieces = grad_cam(net, x, LIQUID, batch_size=2)
    assert net.training  # the caller's mode is restored
    np.testing.assert_allclose(pieces.maps, whole.maps, rtol=1e-5, atol=1e-7)
    np.testing.assert_array_equal(pieces.predictions, whole.logits.argmax(1))


@pytest.mark.parametrize("shift", [(3, 0), (5, -7)])
def test_global_average_head_is_exactly_translation_equivariant(shift):
    net = model("gap", seed=2)
    x = images(4, seed=3)
    cam = grad_cam(net, x, GLASS)
    rolled = grad_cam(net, np.roll(x, shift, axis=(2, 3)), GLASS)
    assert cam.maps.max() > 0
    np.testing.assert_allclose(rolled.weights, cam.weights, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(rolled.maps, np.roll(cam.maps, shift, axis=(1, 2)), rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(rolled.logits, cam.logits, rtol=1e-5, atol=1e-6)


def test_fc_head_scores_are_position_sensitive_but_feature_maps_roll():
    """The documented limit: with [O]'s dense head the conv maps roll exactly, the class scores do not."""
    net = model("fc", seed=4)
    x = torch.as_tensor(images(2, seed=5))
    rolled = torch.roll(x, (4, 2), dims=(2, 3))
    with torch.no_grad():
        torch.testing.assert_close(net.features(rolled), torch.roll(net.features(x), (4, 2), dims=(2, 3)))
        assert not torch.allclose(net(rolled), net(x), rtol=1e-3, atol=1e-4)


def test_particle_scores_are_invariant_under_whole_pixel_translation():
    grid, box = 16, (12.0, 12.0)
    gridding = Gridding(n_types=2, grid=grid, width=0.4)
    rng = np.random.default_rng(6)
    configs = [Configuration(rng.uniform(0, 12, (120, 2)), rng.integers(0, 2, 120), box) for _ in range(3)]
    pixel = box[0] / grid
    moved = [Configuration(c.positions + pixel * np.array([5, -3]), c.types, c.box).wrapped() for c in configs]
    net = model("gap", seed=0, grid=grid)
    original = grad_cam_particles(net, configs, gridding, GLASS)
    translated = grad_cam_particles(net, moved, gridding, GLASS)
    assert [s.shape for s in original.scores] == [(120,)] * 3
    assert all(s.max() > 0 for s in original.scores)
    for a, b in zip(original.scores, translated.scores, strict=True):
        np.testing.assert_allclose(b, a, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(original.scores[1], gridding.at_particles(original.cam.maps[1], configs[1]), rtol=1e-12)


def test_refuses_an_empty_batch():
    with pytest.raises(ValueError):
        grad_cam(model("fc"), np.zeros((0, 2, 16, 16), np.float32))


def test_uses_the_standardised_input_the_model_was_trained_on():
    """Standardisation is the first module of ``features``, so Grad-CAM sees (x − μ)/σ as forward does."""
    net = model("fc", seed=7)
    x = torch.as_tensor(images(3, seed=8)) * 4.0 + 3.0
    net.set_input_statistics(x)
    layer = net.features[0]
    cam = grad_cam(net, x, GLASS)
    np.testing.assert_allclose(cam.logits, net(x).detach().numpy(), rtol=1e-5, atol=1e-6)
    plain = model("fc", seed=7)  # same weights, identity standardisation
    standardised = (x - layer.mean[:, None, None]) / layer.std[:, None, None]
    expected = grad_cam(plain, standardised, GLASS)
    np.testing.assert_allclose(cam.maps, expected.maps, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(cam.weights, expected.weights, rtol=1e-5, atol=1e-7)


def test_matches_the_analytic_gradient_of_the_global_average_head():
    """y = W₂ ReLU(W₁ ā + b₁) + b₂ with ā_m = mean_kl A^m_kl, so ∂y^C/∂A^m_kl = g_m / G² with
    g = (W₂[C] ⊙ 1[h > 0]) W₁, and α_m = g_m / G² for every pixel."""
    net = model("gap", seed=9)
    x = torch.as_tensor(images(3, seed=10))
    with torch.no_grad():
        a = net.features(x)
        pooled = a.mean(dim=(2, 3))
        w1, b1, w2 = net.head[2].weight, net.head[2].bias, net.head[5].weight
        alpha = (w2[LIQUID] * (pooled @ w1.T + b1 > 0)) @ w1 / a.shape[2] / a.shape[3]
        expected = torch.relu(torch.einsum("bm,bmkl->bkl", alpha, a))
    cam = grad_cam(net, x, LIQUID)
    np.testing.assert_allclose(cam.weights, alpha.numpy(), rtol=1e-5, atol=1e-9)
    np.testing.assert_allclose(cam.maps, expected.numpy(), rtol=1e-5, atol=1e-7)
    assert cam.maps.max() > 0


@pytest.mark.parametrize("head", ["fc", "gap"])
def test_particle_scores_of_the_species_blind_density_input(head):
    """Grad-CAM on [O]'s one-channel density image, for both heads: Γ_i ≥ 0 at every particle, not zero for
    every class (an untrained network may have no positive evidence for one), and species-blind (relabelling
    the particles' types changes neither the map nor Γ)."""
    grid, box = 12, (10.0, 10.0)
    gridding = Gridding(n_types=2, grid=grid, width=0.4, input_kind="density")
    rng = np.random.default_rng(11)
    configs = [Configuration(rng.uniform(0, 10, (90, 2)), rng.integers(0, 2, 90), box) for _ in range(2)]
    relabelled = [Configuration(c.positions, 1 - c.types, c.box) for c in configs]
    torch.manual_seed(12)
    net = GlassCNN(n_channels=gridding.n_channels, grid=grid, conv_channels=(3, 4, 5), hidden=6, head=head).eval()
    net.set_input_statistics(torch.as_tensor(gridding.images(configs)))
    largest = []
    for target in (GLASS, LIQUID):
        result = grad_cam_particles(net, configs, gridding, target)
        assert result.cam.maps.shape == (2, grid, grid)
        assert [s.shape for s in result.scores] == [(90,), (90,)]
        assert all(np.isfinite(s).all() and (s >= 0).all() for s in result.scores)
        largest.append(max(s.max() for s in result.scores))
        blind = grad_cam_particles(net, relabelled, gridding, target)
        for a, b in zip(result.scores, blind.scores, strict=True):
            np.testing.assert_array_equal(b, a)
    assert max(largest) > 0
