"""The MLflow pyfunc of the propensity networks, logged as code (MLflow's *models from code*).

:func:`glass_assets.registry.propensity.log_ensembles` logs this file as the model's code
(``python_model=<this file>``): MLflow copies it into the model and runs it when the model is loaded, and the
:func:`mlflow.models.set_model` call at the end names the model. Nothing is pickled: the served ensembles are the
artifact ``ensembles`` (a collection saved by :func:`glass_assets.registry.propensity.save_collection`), read back in
:meth:`PropensityEnsembleModel.load_context`. The file therefore imports only the installed project and libraries,
never ``glass_assets.registry.propensity`` (which imports it).

Input: a table with one column per descriptor plus ``type``, ``temperature`` and ``target_cb``; output: the
members' mean propensity per row (NaN for a particle of a type the model was not trained on).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import mlflow
import numpy as np
import pandas as pd
import torch

from glass_core.learning.mlp_ensemble import PropensityEnsemble
from glass_core.learning.mlp_io import load_ensemble

__all__ = ["INDEX_FILE", "PropensityEnsembleModel", "load_collection"]

#: the index of a saved collection: one entry per ensemble, its folder and state point (None: one tGlassMLP)
INDEX_FILE = "index.json"


def load_collection(directory: Path) -> dict[tuple[float, float] | None, PropensityEnsemble]:
    """The ensembles of a saved collection, keyed by state point (GlassMLP) or by ``None`` (one tGlassMLP)."""
    entries = json.loads((Path(directory) / INDEX_FILE).read_text())
    return {
        (None if e["state_point"] is None else tuple(e["state_point"])): load_ensemble(Path(directory) / e["path"])
        for e in entries
    }


class PropensityEnsembleModel(mlflow.pyfunc.PythonModel):
    """Serves a saved collection: rows → mean propensity of the ensemble for the row's state point."""

    def load_context(self, context: Any) -> None:
        self.ensembles = load_collection(Path(context.artifacts["ensembles"]))

    def predict(self, context: Any, model_input: pd.DataFrame, params: dict | None = None) -> np.ndarray:
        """Mean propensity per row; NaN for a particle of a type the model was not trained on (default type A)."""
        out = np.full(len(model_input), np.nan)
        state = model_input[["temperature", "target_cb"]].to_numpy(np.float64)
        types_all = model_input["type"].to_numpy(np.int64)
        covered = np.zeros(len(model_input), bool)
        for key, ensemble in self.ensembles.items():
            at_state = np.ones(len(model_input), bool) if key is None else np.all(np.isclose(state, key), axis=1)
            covered |= at_state
            rows = at_state & np.isin(types_all, ensemble.particle_types)
            if not rows.any():
                continue
            features = torch.from_numpy(model_input.loc[rows, ensemble.input_names].to_numpy(np.float32, copy=True))
            types = torch.from_numpy(types_all[rows])
            with torch.inference_mode():
                if key is None:
                    members = _tglassmlp_members(ensemble, features, types, state[rows])
                else:
                    members = ensemble(features, types)
            out[rows] = members.mean(0).numpy()
        if not covered.all():
            missing = np.unique(state[~covered], axis=0).tolist()
            raise ValueError(f"no ensemble for the state points {missing} of the input")
        return out


def _tglassmlp_members(
    ensemble: PropensityEnsemble, features: torch.Tensor, types: torch.Tensor, state: np.ndarray
) -> torch.Tensor:
    """(K, n) member outputs: the folded fast path when every row has one state point, else the general forward."""
    if len(state) and (state == state[0]).all():
        return ensemble.forward_at_state_points(
            features, types, torch.from_numpy(state[:1]).float().expand(ensemble.n_members, 2)
        )
    return ensemble(features, types, torch.from_numpy(state).float())


mlflow.models.set_model(PropensityEnsembleModel())
