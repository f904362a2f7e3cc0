"""Quick tGlassMLP training arguments, and a comparison of two networks' weights."""

from __future__ import annotations

import torch

from glass_core.learning.mlp_data import split_by_configuration
from glass_core.learning.mlp_settings import MLPTrainingSettings
from tests.helpers.mlp_datasets import synthetic

QUICK = MLPTrainingSettings(
    tglass_mse_schedule=((3, 1e-2),),
    tglass_glassmlp_schedule=((3, 2e-3),),
    patience=3,
    n_networks=2,
    n_networks_equal_cb=1,
)


def tglass_arguments() -> dict[str, object]:
    labelled = synthetic([0.5, 0.4], [0.8, 0.5], 4, 120, seed=3)
    train, validation, _ = split_by_configuration(labelled, (0.5, 0.25, 0.25), seed=0)
    return {"train": train, "validation": validation, "unlabelled": None, "settings": QUICK, "seed": 4}


def weights(ensemble: torch.nn.Module) -> dict[str, torch.Tensor]:
    return ensemble.state_dict()


def assert_same_weights(a: torch.nn.Module, b: torch.nn.Module) -> None:
    first, second = weights(a), weights(b)
    assert first.keys() == second.keys()
    different = [k for k in first if not torch.equal(first[k], second[k])]
    assert not different, f"weights differ in {different[:3]}"
