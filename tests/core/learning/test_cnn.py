"""GlassCNN: shapes, circular padding, deterministic split, deterministic training on a toy set."""

import pickle

import numpy as np
import pytest
import torch

from glass_core.learning.cnn import (
    GLASS,
    LIQUID,
    CNNArchitecture,
    GlassCNN,
    Standardise,
    augment_symmetries,
    deterministic_split,
    evaluate,
    train_classifier,
)

pytestmark = pytest.mark.usefixtures("one_torch_thread")


SMALL = CNNArchitecture(conv_channels=(4, 4, 4), kernel_size=3, hidden=8, dropout=0.1)


def stripes(n_per_class: int, grid: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Two textures: stripes along x (liquid, 0) or along y (glass, 1), random phase, noise."""
    rng = np.random.default_rng(seed)
    k = np.arange(grid)
    images, labels = [], []
    for label in (LIQUID, GLASS):
        for _ in range(n_per_class):
            wave = np.sin(2 * np.pi * 3 * k / grid + rng.uniform(0, 2 * np.pi))
            pattern = np.tile(wave[:, None], (1, grid)) if label == LIQUID else np.tile(wave[None, :], (grid, 1))
            image = np.stack([pattern, -pattern]) + 0.3 * rng.normal(size=(2, grid, grid))
            images.append(image)
            labels.append(label)
    return np.asarray(images, dtype=np.float32), np.asarray(labels)


@pytest.mark.parametrize("head", ["fc", "gap"])
def test_output_and_feature_shapes(head):
    torch.manual_seed(0)
    model = GlassCNN(n_channels=2, grid=12, conv_channels=(3, 5, 7), hidden=6, head=head)
    x = torch.randn(4, 2, 12, 12)
    assert model(x).shape == (4, 2)
    assert model.features(x).shape == (4, 7, 12, 12)
    assert all(layer.padding_mode == "circular" for layer in model.features if isinstance(layer, torch.nn.Conv2d))
    assert not any(isinstance(layer, torch.nn.MaxPool2d | torch.nn.AvgPool2d) for layer in model.modules())


def test_feature_maps_roll_with_a_rolled_input():
    torch.manual_seed(1)
    model = GlassCNN(n_channels=2, grid=16, conv_channels=(4, 6, 8), kernel_size=5).eval()
    x = torch.randn(3, 2, 16, 16)
    shift = (5, -3)
    with torch.no_grad():
        rolled = model.features(torch.roll(x, shift, dims=(2, 3)))
        expected = torch.roll(model.features(x), shift, dims=(2, 3))
    torch.testing.assert_close(rolled, expected, rtol=1e-5, atol=1e-6)


def test_invalid_architectures_are_refused():
    with pytest.raises(ValueError):
        GlassCNN(2, 8, kernel_size=4)
    with pytest.raises(ValueError):
        GlassCNN(2, 8, conv_channels=(4, 4))
    with pytest.raises(ValueError):
        GlassCNN(2, 8, head="max")


def test_deterministic_split_by_sample():
    runs = np.repeat(np.arange(5000), 2)  # one liquid and one glass snapshot per quench run
    split = deterministic_split(runs, seed=3)
    assert (len(split.train), len(split.validation), len(split.test)) == (8000, 800, 1200)
    for subset in (split.train, split.validation, split.test):
        assert np.all(np.unique(runs[subset], return_counts=True)[1] == 2)  # both snapshots of a run together
    assert not set(runs[split.train]) & set(runs[split.test])
    assert not set(runs[split.train]) & set(runs[split.validation])
    again = deterministic_split(runs, seed=3)
    np.testing.assert_array_equal(split.test, again.test)
    shuffled_order = np.random.default_rng(0).permutation(len(runs))
    reordered = deterministic_split(runs[shuffled_order], seed=3)
    assert set(runs[shuffled_order][reordered.test]) == set(runs[split.test])
    assert set(runs[deterministic_split(runs, seed=4).test]) != set(runs[split.test])
    with pytest.raises(ValueError):
        deterministic_split(runs, fractions=(0.5, 0.5, 0.5))


def test_training_separates_two_textures_and_is_deterministic():
    images, labels = stripes(24, grid=12, seed=0)
    split = deterministic_split(np.arange(len(labels)), fractions=(0.75, 0.25, 0.0), seed=0)
    seen = []
    result = train_classifier(
        images, labels, split, epochs=6, lr=1e-2, batch_size=8, seed=7, architecture=SMALL, on_epoch=seen.append
    )
    assert [r.epoch for r in result.history] == list(range(1, 7))
    assert seen == result.history
    last = result.history[-1]
    assert last.validation_accuracy == 1.0
    assert last.train_loss < result.history[0].train_loss
    assert not result.model.training

    again = train_classifier(images, labels, split, epochs=6, lr=1e-2, batch_size=8, seed=7, architecture=SMALL)
    assert [(r.train_loss, r.validation_loss) for r in again.history] == [
        (r.train_loss, r.validation_loss) for r in result.history
    ]
    for p, q in zip(result.model.parameters(), again.model.parameters(), strict=True):
        assert torch.equal(p, q)
    other = train_classifier(images, labels, split, epochs=1, lr=1e-2, batch_size=8, seed=8, architecture=SMALL)
    assert other.history[0].train_loss != result.history[0].train_loss

    fresh, fresh_labels = stripes(10, grid=12, seed=1)
    evaluation = evaluate(result.model, fresh, fresh_labels)
    assert evaluation.accuracy == 1.0
    np.testing.assert_array_equal(evaluation.confusion, [[10, 0], [0, 10]])
    np.testing.assert_array_equal(evaluation.per_class_accuracy, [1.0, 1.0])
    np.testing.assert_allclose(evaluation.probabilities.sum(axis=1), 1.0, rtol=1e-6)


def test_validation_every_kth_epoch_leaves_the_training_unchanged():
    """validate_every only skips validation passes (NaN between, always the last epoch); the trained weights and the
    training losses are those of validating every epoch (validation draws no random numbers)."""
    images, labels = stripes(24, grid=12, seed=0)
    split = deterministic_split(np.arange(len(labels)), fractions=(0.75, 0.25, 0.0), seed=0)
    kwargs = {"epochs": 5, "lr": 1e-2, "batch_size": 8, "seed": 7, "architecture": SMALL}
    every = train_classifier(images, labels, split, **kwargs)
    sparse = train_classifier(images, labels, split, validate_every=2, **kwargs)
    assert [np.isnan(r.validation_accuracy) for r in sparse.history] == [True, False, True, False, False]
    assert [r.validation_accuracy for r in sparse.history][1::2] == [r.validation_accuracy for r in every.history][1::2]
    assert sparse.history[-1].validation_loss == every.history[-1].validation_loss
    assert [r.train_loss for r in sparse.history] == [r.train_loss for r in every.history]
    for p, q in zip(every.model.parameters(), sparse.model.parameters(), strict=True):
        assert torch.equal(p, q)
    with pytest.raises(ValueError, match="validate_every must be at least 1"):
        train_classifier(images, labels, split, validate_every=0, **kwargs)


def test_evaluate_counts_errors_per_class():
    class Constant(torch.nn.Module):
        """Always predicts glass."""

        def forward(self, x):
            return torch.tensor([[0.0, 1.0]]).expand(len(x), 2)

    labels = np.array([0, 0, 0, 1, 1])
    evaluation = evaluate(Constant(), np.zeros((5, 1, 4, 4), np.float32), labels)
    np.testing.assert_array_equal(evaluation.confusion, [[0, 3], [0, 2]])
    np.testing.assert_allclose(evaluation.per_class_accuracy, [0.0, 1.0])
    assert evaluation.accuracy == pytest.approx(0.4)
    np.testing.assert_array_equal(evaluation.predictions, [1, 1, 1, 1, 1])


def blobs(n_per_class: int, grid: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """An isotropic toy: sums of Gaussian blobs at random (periodic) places, narrow (liquid) or wide (glass)."""
    rng = np.random.default_rng(seed)
    k = np.arange(grid)
    images, labels = [], []
    for label, width in ((LIQUID, 0.8), (GLASS, 2.0)):
        for _ in range(n_per_class):
            image = np.zeros((grid, grid))
            for cx, cy in rng.uniform(0, grid, (6, 2)):
                dx = (k - cx + grid / 2) % grid - grid / 2
                dy = (k - cy + grid / 2) % grid - grid / 2
                image += np.exp(-0.5 * (dx[:, None] ** 2 + dy[None, :] ** 2) / width**2)
            images.append(5.0 + 3.0 * image[None])  # an offset and scale that standardisation removes
            labels.append(label)
    return np.asarray(images, dtype=np.float32), np.asarray(labels)


def test_standardisation_is_stored_in_the_model_and_applied_in_forward():
    images, labels = blobs(8, grid=10, seed=0)
    split = deterministic_split(np.arange(len(labels)), fractions=(0.75, 0.25, 0.0), seed=0)
    plain = GlassCNN(1, 10, conv_channels=(4, 4, 4), hidden=8)
    assert isinstance(plain.features[0], Standardise)
    x = torch.as_tensor(images)
    torch.testing.assert_close(plain.features[0](x), x)  # identity by default
    result = train_classifier(images, labels, split, epochs=1, batch_size=4, architecture=SMALL, standardise=True)
    layer = result.model.features[0]
    train = x[split.train]
    torch.testing.assert_close(layer.mean, train.mean(dim=(0, 2, 3)))
    torch.testing.assert_close(layer.std, train.std(dim=(0, 2, 3)))
    assert {"features.0.mean", "features.0.std"} <= set(result.model.state_dict())
    standardised = (x - layer.mean[:, None, None]) / layer.std[:, None, None]
    with torch.no_grad():
        torch.testing.assert_close(result.model.features(x), result.model.features[1:](standardised))
    copy = pickle.loads(pickle.dumps(result.model))  # as MLflow logs it (serialization_format="pickle")
    with torch.no_grad():
        torch.testing.assert_close(copy(x), result.model(x))


def test_symmetry_augmentation_maps_each_image_to_one_of_its_symmetric_copies():
    grid = 6
    x = torch.arange(2 * 2 * grid * grid, dtype=torch.float32).reshape(2, 2, grid, grid)
    out = augment_symmetries(x, torch.Generator().manual_seed(0))
    again = augment_symmetries(x, torch.Generator().manual_seed(0))
    torch.testing.assert_close(out, again)
    for image, augmented in zip(x, out, strict=True):
        copies = []
        for dx in range(grid):
            for dy in range(grid):
                rolled = torch.roll(image, (dx, dy), dims=(1, 2))
                for base in (rolled, rolled.transpose(1, 2)):
                    copies += [base, base.flip([1]), base.flip([2]), base.flip([1, 2])]
        assert any(torch.equal(augmented, copy) for copy in copies)
    draws = augment_symmetries(x[:1].expand(64, -1, -1, -1), torch.Generator().manual_seed(1))
    assert len({tuple(d.flatten().tolist()) for d in draws}) > 32  # 8 G² = 288 distinct copies
    with pytest.raises(ValueError):
        augment_symmetries(torch.zeros(1, 1, 4, 6), torch.Generator())


def test_training_with_standardisation_and_augmentation_is_deterministic_and_learns():
    images, labels = blobs(24, grid=12, seed=2)
    split = deterministic_split(np.arange(len(labels)), fractions=(0.75, 0.25, 0.0), seed=0)
    arch = CNNArchitecture(conv_channels=(4, 4, 4), hidden=8, dropout=0.0, head="gap")
    kwargs = dict(epochs=15, lr=1e-2, batch_size=8, seed=3, architecture=arch, standardise=True, augment=True)
    result = train_classifier(images, labels, split, **kwargs)
    again = train_classifier(images, labels, split, **kwargs)
    assert [r.train_loss for r in again.history] == [r.train_loss for r in result.history]
    assert result.history[-1].validation_accuracy == 1.0
    fresh, fresh_labels = blobs(10, grid=12, seed=3)
    assert evaluate(result.model, fresh, fresh_labels).accuracy == 1.0
