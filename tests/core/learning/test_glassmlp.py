"""GlassMLP [G] and tGlassMLP [J]: data split and standardisation, settings, determinism, attention,
self-consistency, iterated prediction, learning on a synthetic propensity with a known answer."""

import copy
import json

import numpy as np
import pytest
import torch

from glass_core.learning.glassmlp import train_glassmlp
from glass_core.learning.mlp_data import (
    DatasetError,
    PropensityDataset,
    pearson_per_state_point,
    split_by_configuration,
)
from glass_core.learning.mlp_io import load_ensemble, save_ensemble
from glass_core.learning.mlp_settings import MLPSettingsError, MLPTrainingSettings
from glass_core.learning.tglassmlp import TGlassMLPEnsemble
from glass_core.learning.tglassmlp_inference import INFERENCE_CHUNK, elu_in_place
from glass_core.learning.tglassmlp_training import (
    select_self_consistent,
    self_consistency_deviations,
    train_tglassmlp,
)
from tests.helpers.mlp_datasets import synthetic

pytestmark = pytest.mark.usefixtures("one_torch_thread")


FAST = MLPTrainingSettings(
    glassmlp_schedule=((25, 1e-2), (15, 3e-3)),
    tglass_mse_schedule=((8, 1e-2), (8, 3e-3)),
    tglass_glassmlp_schedule=((12, 2e-3),),
    patience=10,
    n_glassmlp_networks=2,
    n_networks=2,
    n_networks_equal_cb=1,
    tolerance=0.03,
)


@pytest.fixture(scope="module")
def tglass_run():
    """One two-step tGlassMLP training on 3 labelled temperatures as [J] does it: the MD of T = 0.3 "did not
    reach" ⟨C_B⟩ = 0.3, so that state point of the training configurations is distilled; T = 0.25 is held out
    entirely (no label, no distillation, no selection) and only predicted."""
    torch.set_num_threads(1)
    labelled = synthetic([0.5, 0.4, 0.3], [0.8, 0.5, 0.3], 4, 400, seed=1)
    low_temperature = synthetic([0.25], [0.8, 0.5, 0.3], 2, 400, seed=2, first_id=1000)  # truth kept for scoring
    train, validation, test = split_by_configuration(labelled, (0.5, 0.25, 0.25), seed=0)
    unreached = train.at_state_point(0.3, 0.3)
    fitted = train.subset(~unreached)
    result = train_tglassmlp(fitted, validation, train.subset(unreached), FAST, seed=1,
                             requested_state_points=low_temperature.state_points())
    return result, fitted, test, low_temperature


def scores(ensemble, dataset):
    state = torch.from_numpy(np.stack([dataset.temperature, dataset.target_cb], axis=1)).float()
    with torch.inference_mode():
        prediction = ensemble(torch.from_numpy(dataset.features), torch.from_numpy(dataset.types), state).mean(0)
    return [score.pearson for score in pearson_per_state_point(dataset, prediction.numpy())]


def test_split_by_configuration_puts_each_configuration_in_one_subset():
    dataset = synthetic([0.5, 0.4], [0.8, 0.5], 10, 5, seed=0)
    subsets = split_by_configuration(dataset, (0.5, 0.25, 0.25), seed=3)
    ids = [set(subset.configuration.tolist()) for subset in subsets]
    assert not (ids[0] & ids[1] or ids[0] & ids[2] or ids[1] & ids[2])
    assert ids[0] | ids[1] | ids[2] == set(dataset.configuration.tolist())
    assert sum(len(s) for s in subsets) == len(dataset) and [len(i) for i in ids] == [10, 5, 5]
    again = split_by_configuration(dataset.subset(np.arange(len(dataset))[::-1]), (0.5, 0.25, 0.25), seed=3)
    assert set(again[0].configuration.tolist()) == ids[0]  # row order does not matter, the seed does
    assert set(split_by_configuration(dataset, (0.5, 0.25, 0.25), seed=4)[0].configuration.tolist()) != ids[0]


def test_dataset_rejects_bad_columns():
    dataset = synthetic([0.5], [0.5], 1, 4, seed=0)
    with pytest.raises(DatasetError, match="types"):
        PropensityDataset(
            dataset.features,
            dataset.types[:2],
            dataset.configuration,
            dataset.temperature,
            dataset.target_cb,
            dataset.labels,
        )
    with pytest.raises(DatasetError, match="target_cb"):
        PropensityDataset(
            dataset.features,
            dataset.types,
            dataset.configuration,
            dataset.temperature,
            dataset.target_cb * 3,
            dataset.labels,
        )


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("tolerance", -0.1),
        ("n_networks", 0),
        ("glassmlp_schedule", ()),
        ("tglass_glassmlp_schedule", ((10, -1e-3),)),
        ("split_fractions", (0.5, 0.5, 0.5)),
        ("patience", 1.5),
        ("threads", 0),
        ("max_iterations", -1),
    ],
)
def test_bad_settings_raise_naming_the_key(key, value):
    with pytest.raises(MLPSettingsError, match=key):
        MLPTrainingSettings(**{key: value})
    with pytest.raises(ValueError, match="n_netwroks"):
        MLPTrainingSettings.from_mapping({"n_netwroks": 3})
    assert MLPTrainingSettings.from_mapping({"preset": "paper"}).n_networks == 16
    assert json.loads(json.dumps(MLPTrainingSettings.paper().to_dict()))["tglass_mse_schedule"][0] == [10, 1e-3]


def test_standardisation_is_fitted_on_training_rows_only(tglass_run):
    dataset = synthetic([0.4], [0.5], 8, 50, seed=5)
    train, validation, _ = split_by_configuration(dataset, (0.5, 0.5, 0.0), seed=0)
    validation.features += 100.0  # would move μ and σ if validation rows were used
    ensemble = train_glassmlp(
        train, validation, MLPTrainingSettings(glassmlp_schedule=((1, 1e-3),), n_glassmlp_networks=1), seed=0
    )
    np.testing.assert_allclose(ensemble.features.mean.numpy(), train.features.astype(np.float64).mean(0), rtol=1e-6)
    np.testing.assert_allclose(ensemble.features.std.numpy(), train.features.astype(np.float64).std(0), rtol=1e-6)
    result, tglass_train, _, _ = tglass_run
    np.testing.assert_allclose(
        result.ensemble.features.mean.numpy(), tglass_train.features.astype(np.float64).mean(0), rtol=1e-6
    )


def test_same_seed_gives_identical_weights_and_another_seed_different_ones():
    dataset = synthetic([0.4, 0.3], [0.5], 6, 60, seed=6)
    train, validation, _ = split_by_configuration(dataset, (0.5, 0.5, 0.0), seed=0)
    at_one = [d.subset(d.temperature == 0.4) for d in (train, validation)]
    quick = MLPTrainingSettings(
        glassmlp_schedule=((4, 1e-2),),
        tglass_mse_schedule=((2, 1e-2),),
        tglass_glassmlp_schedule=((2, 1e-3),),
        n_glassmlp_networks=2,
        n_networks=1,
    )
    for train_once in (
        lambda seed: train_glassmlp(*at_one, quick, seed=seed),
        lambda seed: train_tglassmlp(train, validation, None, quick, seed=seed).ensemble,
    ):
        first, second, other = (train_once(seed).state_dict() for seed in (3, 3, 4))
        assert all(torch.equal(first[key], second[key]) for key in first)
        assert not all(torch.equal(first[key], other[key]) for key in first if "members" in key)


def test_glassmlp_learns_a_smooth_function_of_two_features():
    dataset = synthetic([0.4], [0.5], 24, 100, seed=7)
    train, validation, test = split_by_configuration(dataset, (0.5, 0.25, 0.25), seed=0)
    ensemble = train_glassmlp(train, validation, FAST, seed=0)
    mean, spread = ensemble.predict(test.features, test.types)
    assert pearson_per_state_point(test, mean)[0].pearson > 0.9
    assert spread.shape == mean.shape and (spread >= 0).all()
    x, types = torch.from_numpy(test.features), torch.from_numpy(test.types)
    with torch.inference_mode():  # stacked members against members one by one
        one_by_one = torch.stack([m(ensemble.features(x), ensemble.type_one_hot(types)) for m in ensemble.members])
    np.testing.assert_allclose(mean, one_by_one.mean(0).numpy(), rtol=1e-5, atol=1e-6)
    assert sum(record.selected for record in ensemble.history) == FAST.n_glassmlp_networks
    with pytest.raises(ValueError, match="one state point"):
        train_glassmlp(synthetic([0.4, 0.3], [0.5], 2, 10, seed=0), validation, FAST)


def test_tglassmlp_learns_all_state_points_and_transfers_to_a_held_out_temperature(tglass_run):
    result, _, test, low_temperature = tglass_run
    assert min(scores(result.ensemble, test)) > 0.9  # 9 state points (one distilled), unseen configurations
    assert min(scores(result.ensemble, low_temperature)) > 0.9  # T = 0.25: held out, extrapolated
    assert result.distilled is not None and result.distilled.state_points().tolist() == [[0.3, 0.3]]
    assert result.ensemble.n_members >= 1 and not result.self_consistency_warning
    assert result.ensemble.notes["training_temperatures"] == [0.3, 0.4, 0.5]


def test_attention_weights_are_positive_and_sum_to_one(tglass_run):
    ensemble = tglass_run[0].ensemble
    for temperature, cb in ((0.5, 0.8), (0.25, 0.3), (0.15, 0.075)):
        weights = ensemble.attention_weights(temperature, cb)
        assert weights.shape == (ensemble.n_members, ensemble.n_features)
        assert (weights > 0).all()
        np.testing.assert_allclose(weights.sum(axis=1), 1.0, rtol=1e-6)


def test_fast_state_point_path_equals_the_general_forward(tglass_run):
    ensemble, test = tglass_run[0].ensemble, tglass_run[2]
    state_point = test.state_points()[-1]
    rows = test.subset(test.at_state_point(*state_point))
    features, types = torch.from_numpy(rows.features), torch.from_numpy(rows.types)
    state = torch.from_numpy(state_point[None, :]).float()
    with torch.inference_mode():
        general = ensemble(features, types, state.expand(len(rows), 2))
        fast = ensemble.forward_at_state_points(features, types, state.expand(ensemble.n_members, 2))
    assert len(rows) > 0 and fast.shape == (ensemble.n_members, len(rows))
    torch.testing.assert_close(fast, general, rtol=1e-5, atol=1e-5)
    with torch.inference_mode():  # members stacked (StackedHeads) against members one by one
        one_by_one = torch.stack(
            [
                m(
                    ensemble.features(features),
                    ensemble.type_one_hot(types),
                    ensemble.encoded_state(state.expand(len(rows), 2)),
                )
                for m in ensemble.members
            ]
        )
    torch.testing.assert_close(fast, one_by_one, rtol=1e-5, atol=1e-5)


def standardised_random_ensemble(n_features, n_types, n_members, seed):
    """An untrained tGlassMLP ensemble with non-trivial descriptor and state standardisations."""
    torch.manual_seed(seed)
    ensemble = TGlassMLPEnsemble.build([f"x{k}" for k in range(n_features)], n_types, n_members).eval()
    with torch.no_grad():
        ensemble.features.mean.uniform_(-1.0, 1.0)
        ensemble.features.std.uniform_(0.5, 3.0)
        ensemble.state.mean.copy_(torch.tensor([0.4, 2.5, 0.5, -0.8, -0.8, -0.5]))
        ensemble.state.std.copy_(torch.tensor([0.1, 0.5, 0.2, 0.5, 0.5, 0.8]))
    return ensemble


def test_elu_as_max_of_x_and_exp_minus_one_equals_elu():
    x = torch.cat([torch.linspace(-30.0, 30.0, 20001), torch.tensor([0.0, -1e-9, 1e-9, -1e-30, 88.0, -88.0])])
    got = elu_in_place(x.clone(), torch.empty_like(x))
    torch.testing.assert_close(got, torch.nn.functional.elu(x), rtol=0, atol=1.2e-7)


@pytest.mark.parametrize("threads", [1, 2])
def test_folded_path_over_many_chunks_equals_the_general_forward(threads):
    """Two and a half chunks (partial last chunk), per-member state points, both thread layouts."""
    ensemble = standardised_random_ensemble(n_features=12, n_types=3, n_members=5, seed=0)
    n = 2 * INFERENCE_CHUNK + 123
    generator = torch.Generator().manual_seed(1)
    features = (2.0 * torch.randn(n, 12, generator=generator) + 0.5).contiguous()
    types = torch.randint(0, 3, (n,), generator=generator)
    member_state = torch.tensor([[0.3, 0.5], [0.3, 0.2], [0.45, 0.8], [0.25, 0.05], [0.6, 0.999]])
    torch.set_num_threads(threads)
    with torch.inference_mode():
        fast = ensemble.forward_at_state_points(features, types, member_state)
        general = torch.stack([ensemble(features, types, member_state[k].expand(n, 2))[k] for k in range(5)])
    assert torch.get_num_threads() == threads  # the worker threads' setting does not leak
    assert fast.shape == (5, n)
    torch.testing.assert_close(fast, general, rtol=1e-5, atol=1e-5)


def biased(ensemble, members, shift):
    """A copy of ``ensemble`` whose ``members`` predict ``shift`` more for every particle (output bias)."""
    shifted = copy.deepcopy(ensemble)
    with torch.no_grad():
        for k in members:
            shifted.members[k].head[-1].bias += shift
    return shifted


def test_self_consistency_filter_drops_a_network_that_misses_the_requested_cb(tglass_run):
    result, _, test, _ = tglass_run
    assert result.ensemble.n_members >= 1
    pair = copy.deepcopy(result.ensemble)
    del pair.members[1:]
    pair.members.append(copy.deepcopy(pair.members[0]))
    deviations, _ = self_consistency_deviations(biased(pair, [1], 0.2), test)
    assert np.abs(deviations[0]).max() <= FAST.tolerance < np.abs(deviations[1]).min()
    assert select_self_consistent(deviations, FAST.tolerance) == ([0], False)
    deviations, _ = self_consistency_deviations(biased(pair, [0, 1], 0.2), test)
    assert select_self_consistent(deviations, FAST.tolerance)[1] is True  # none passes: one kept, flagged
    crafted = np.array([[0.01, -0.02], [0.05, 0.0], [-0.04, 0.06]])
    assert select_self_consistent(crafted, 0.03) == ([0], False)
    assert select_self_consistent(crafted[1:], 0.03) == ([0], True)  # worst 0.05 < 0.06


def test_iterated_prediction_reaches_the_requested_mean(tglass_run):
    result, _, _, low_temperature = tglass_run
    rows = low_temperature.subset(low_temperature.at_state_point(0.25, 0.5))
    shifted = biased(result.ensemble, range(result.ensemble.n_members), 0.1)  # nominal input misses by ≈ 0.1
    prediction = shifted.predict(rows.features, rows.types, 0.25, 0.5, max_iterations=6, tolerance=0.005)
    assert prediction.converged and 1 <= prediction.iterations <= 6
    assert abs(prediction.achieved_cb - 0.5) <= 0.005
    assert np.all(np.abs(prediction.member_cb - 0.5) <= 0.005)
    assert np.all(prediction.state_input[:, 1] < 0.5)  # it had to ask for an earlier time
    assert prediction.mean.shape == prediction.std.shape == (len(rows),)
    with pytest.raises(ValueError, match="types must lie in"):
        shifted.predict(rows.features, rows.types + shifted.n_types, 0.25, 0.5)


def test_iterated_prediction_reevaluates_only_the_members_whose_input_moved(tglass_run):
    """Member 1 misses by 0.1 and iterates; member 0 converges at once and keeps its first output."""
    result, _, test, _ = tglass_run
    rows = test.subset(test.at_state_point(0.3, 0.5))
    pair = copy.deepcopy(result.ensemble)
    del pair.members[1:]
    pair.members.append(copy.deepcopy(pair.members[0]))
    shifted = biased(pair, [1], 0.1)
    first = shifted.predict(rows.features, rows.types, 0.3, 0.5, max_iterations=0)
    assert abs(first.member_cb[0] - 0.5) <= 0.03 < abs(first.member_cb[1] - 0.5)
    prediction = shifted.predict(rows.features, rows.types, 0.3, 0.5, max_iterations=6, tolerance=0.03)
    assert prediction.converged and prediction.iterations >= 1
    assert prediction.state_input[0, 1] == pytest.approx(0.5) and prediction.state_input[1, 1] < 0.45
    np.testing.assert_array_equal(prediction.members[0], first.members[0])
    features, types = torch.from_numpy(rows.features), torch.from_numpy(rows.types)
    with torch.inference_mode():  # each member against the general forward at its final input
        general = torch.stack(
            [
                shifted(features, types, torch.from_numpy(prediction.state_input[k]).float().expand(len(rows), 2))[k]
                for k in range(2)
            ]
        ).numpy()
    np.testing.assert_allclose(prediction.members, general, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(prediction.mean, general.mean(0), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(prediction.std, general.std(0), rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(prediction.member_cb, general.astype(np.float64).mean(1), atol=1e-6)


def test_save_and_load_rebuild_the_same_ensemble(tglass_run, tmp_path):
    ensemble, test = tglass_run[0].ensemble, tglass_run[2]
    loaded = load_ensemble(save_ensemble(ensemble, tmp_path / "model"))
    assert loaded.config() == json.loads(json.dumps(ensemble.config()))
    inputs = (
        torch.from_numpy(test.features),
        torch.from_numpy(test.types),
        torch.from_numpy(np.stack([test.temperature, test.target_cb], axis=1)).float(),
    )
    with torch.inference_mode():
        torch.testing.assert_close(loaded(*inputs), ensemble(*inputs), rtol=0, atol=0)


def test_a_constant_descriptor_never_enters_the_model_its_attention_or_p_of_l():
    """[G]: a column without variance over the training rows (DEN_all at L = 0 is 1 for every particle) is dropped
    before training; the model still reads the table's columns, ignores that one, and P(L) never sees it."""
    from glass_core.dynamics.length_scales import attention_length

    data = synthetic([0.5, 0.4], [0.8, 0.5], 4, 60, seed=8)
    constant = np.ones((len(data), 1), np.float32)
    names = ["DEN_all_L0", *[f"EPOT_all_L{k}" for k in range(6)]]
    wide = PropensityDataset(np.hstack([constant, data.features]), data.types, data.configuration, data.temperature,
                             data.target_cb, data.labels)
    train, validation, test = split_by_configuration(wide, (0.5, 0.25, 0.25), seed=0)
    quick = MLPTrainingSettings(glassmlp_schedule=((2, 1e-2),), glassmlp_full_loss_schedule=((2, 1e-3),),
                                tglass_mse_schedule=((2, 1e-2),), tglass_glassmlp_schedule=((2, 1e-3),),
                                n_glassmlp_networks=1, n_networks=1, tolerance=0.5)
    ensemble = train_tglassmlp(train, validation, None, quick, seed=0, feature_names=names).ensemble
    assert ensemble.feature_names == names[1:] and ensemble.input_names == names
    assert ensemble.notes["dropped_descriptors"] == ["DEN_all_L0"]
    assert ensemble.attention_weights(0.4, 0.5).shape == (1, 6)
    lengths = np.array([float(n.split("_L")[-1]) for n in ensemble.feature_names])
    distribution = attention_length(ensemble.attention_weights(0.4, 0.5), lengths)  # over the 6 used columns
    assert distribution.lengths.tolist() == [0.0, 1.0, 2.0, 3.0, 4.0, 5.0] and distribution.per_member.shape == (1, 6)
    state = torch.from_numpy(np.stack([test.temperature, test.target_cb], axis=1)).float()
    changed = test.features.copy()
    changed[:, 0] = 123.0  # the ignored column: any value gives the same prediction
    with torch.inference_mode():
        first = ensemble(torch.from_numpy(test.features), torch.from_numpy(test.types), state)
        second = ensemble(torch.from_numpy(changed), torch.from_numpy(test.types), state)
    torch.testing.assert_close(first, second, rtol=0, atol=0)
    glass = train_glassmlp(*(d.subset(d.at_state_point(0.5, 0.8)) for d in (train, validation)), quick, seed=0,
                           feature_names=names)
    assert glass.feature_names == names[1:]
    np.testing.assert_array_equal(glass.predict(test.features, test.types)[0], glass.predict(changed, test.types)[0])


def test_training_rows_are_the_chosen_particle_types_and_other_types_are_refused():
    data = synthetic([0.5, 0.4], [0.8, 0.5], 4, 60, seed=9)
    train, validation, test = split_by_configuration(data, (0.5, 0.25, 0.25), seed=0)
    quick = MLPTrainingSettings(tglass_mse_schedule=((2, 1e-2),), tglass_glassmlp_schedule=((2, 1e-3),),
                                n_networks=1, tolerance=0.5)
    result = train_tglassmlp(train, validation, None, quick, seed=0, n_types=2, particle_types=(0,))
    assert result.ensemble.particle_types == (0,) and result.ensemble.notes["particle_types"] == [0]
    a = test.of_types((0,))
    prediction = result.ensemble.predict(a.features, a.types, 0.4, 0.5)
    assert prediction.mean.shape == (len(a),)
    with pytest.raises(ValueError, match=r"trained on particle types \[0\] only"):
        result.ensemble.predict(test.features, test.types, 0.4, 0.5)
    with pytest.raises(ValueError, match="no particle of types"):
        train_tglassmlp(train.of_types((0,)), validation, None, quick, particle_types=(1,))


def test_distillation_at_a_temperature_without_labels_needs_the_explicit_setting():
    from glass_core.learning.tglassmlp_training import DistillationError

    data = synthetic([0.5, 0.4], [0.8, 0.5], 4, 60, seed=10)
    train, validation, _ = split_by_configuration(data, (0.5, 0.5, 0.0), seed=0)
    unlabelled = synthetic([0.3], [0.5], 2, 60, seed=11, first_id=100)
    quick = MLPTrainingSettings(tglass_mse_schedule=((2, 1e-2),), tglass_glassmlp_schedule=((2, 1e-3),),
                                n_networks=1, n_networks_equal_cb=1, tolerance=0.5)
    with pytest.raises(DistillationError, match=r"T = \[0.3\]"):
        train_tglassmlp(train, validation, unlabelled, quick, seed=0)
    allowed = train_tglassmlp(train, validation, unlabelled, quick, seed=0, distil_unlabelled_temperatures=True)
    assert allowed.distilled is not None and set(allowed.distilled.temperature.tolist()) == {0.3}
    assert allowed.ensemble.notes["distil_unlabelled_temperatures"] is True


def test_the_state_input_is_standardised_over_every_requested_state_point():
    """Fitted on the distinct training and requested state points: 1/T of the coldest requested temperature stays
    within the standardised range, and the extrapolation distance is measured in training spans."""
    from glass_core.learning.mlp_data import extrapolation_spans, state_encoding_numpy

    data = synthetic([0.7, 0.6, 0.5], [0.8, 0.6], 3, 40, seed=12)
    quick = MLPTrainingSettings(tglass_mse_schedule=((1, 1e-2),), tglass_glassmlp_schedule=((1, 1e-3),),
                                n_networks=1, tolerance=0.5)
    requested = np.array([[t, c] for t in (0.7, 0.6, 0.5, 0.4, 0.3) for c in (0.8, 0.6)])
    narrow = train_tglassmlp(data, data, None, quick, seed=0).ensemble
    wide = train_tglassmlp(data, data, None, quick, seed=0, requested_state_points=requested).ensemble
    cold = torch.from_numpy(state_encoding_numpy(np.array([0.3]), np.array([0.6]))).float()
    assert float(narrow.state(cold)[0, 1]) > 4.0  # 1/T at T = 0.3: far outside a fit on the training points only
    assert float(wide.state(cold)[0, 1]) < 2.5
    assert extrapolation_spans(0.3, [0.7, 0.6, 0.5]) == pytest.approx((1 / 0.3 - 1 / 0.5) / (1 / 0.5 - 1 / 0.7))
    assert extrapolation_spans(0.55, [0.7, 0.6, 0.5]) == 0.0
    assert extrapolation_spans(0.15, [0.4, 0.21]) == pytest.approx(0.85, abs=0.01)  # [J]'s own extrapolation


def test_attention_entropy_is_ln_k_for_uniform_weights_and_zero_for_one_length():
    from glass_core.learning.tglassmlp import attention_entropy

    weights = np.array([[0.25, 0.25, 0.25, 0.25], [1.0, 0.0, 0.0, 0.0], [0.5, 0.5, 0.0, 0.0]])
    assert np.allclose(attention_entropy(weights), [np.log(4), 0.0, np.log(2)])
