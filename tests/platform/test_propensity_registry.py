"""The MLflow pyfunc of the propensity networks serves tGlassMLP rows of one state point through the folded fast
path and rows of several state points through the general forward, with the same answer."""

import numpy as np
import torch

from glass_assets.registry.propensity import PropensityEnsembleModel, example_input
from glass_core.learning.tglassmlp import TGlassMLPEnsemble


def served(ensemble: TGlassMLPEnsemble) -> PropensityEnsembleModel:
    model = PropensityEnsembleModel()
    model.ensembles = {None: ensemble}
    return model


def test_pyfunc_mean_equals_member_by_member_forward_at_one_and_at_several_state_points():
    torch.manual_seed(0)
    ensemble = TGlassMLPEnsemble.build([f"x{k}" for k in range(8)], 2, 4).eval()
    with torch.no_grad():
        ensemble.features.mean.uniform_(-1.0, 1.0)
        ensemble.features.std.uniform_(0.5, 2.0)
    rng = np.random.default_rng(0)
    n = 300
    features = rng.normal(size=(n, 8)).astype(np.float32)
    types = rng.integers(0, 2, n)
    one_point = np.tile([0.4, 0.3], (n, 1))
    two_points = np.where((np.arange(n) % 2 == 0)[:, None], one_point, [0.5, 0.7])
    outputs = []
    for state in (one_point, two_points):
        got = served(ensemble).predict(None, example_input(ensemble.feature_names, features, types, state))
        x, t = torch.from_numpy(features), torch.from_numpy(types)
        with torch.inference_mode():  # each member by itself on every particle, per-particle state input
            s = ensemble.encoded_state(torch.from_numpy(state).float())
            expected = (
                torch.stack([member(ensemble.features(x), ensemble.type_one_hot(t), s) for member in ensemble.members])
                .mean(0)
                .numpy()
            )
        assert got.shape == (n,) and np.isfinite(got).all()
        np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)
        outputs.append(got)
    assert not np.allclose(outputs[0][1::2], outputs[1][1::2])  # the odd rows' state point mattered
