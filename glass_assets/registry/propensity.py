"""The propensity networks in the MLflow registry: a pyfunc that serves them, logging, lineage and the champion.

Registered models ``glassmlp_<system>`` (one GlassMLP ensemble per state point) and ``tglassmlp_<system>``
(one ensemble over all state points). Each version is an MLflow ``pyfunc`` whose artifacts are the saved
ensembles (:func:`glass_core.learning.mlp_ensemble.save_ensemble`); its input is a table with one column per
descriptor plus ``type``, ``temperature`` and ``target_cb``, its output the members' mean propensity (NaN for
particles of a type the model was not trained on — by default it predicts type A, [J]; for tGlassMLP at the
given state-point input, without the iteration of :meth:`TGlassMLPEnsemble.predict`; rows
that all share one state point go through the folded fast path ``forward_at_state_points``). The pyfunc is logged
as code (:mod:`glass_assets.registry.propensity_pyfunc`, MLflow's *models from code*): its class is not pickled, so a
version loads in any interpreter with the project installed.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException
from mlflow.models import infer_signature

from glass_assets.registry import propensity_pyfunc
from glass_assets.registry.propensity_pyfunc import INDEX_FILE, PropensityEnsembleModel, load_collection
from glass_core.learning.mlp_ensemble import PropensityEnsemble
from glass_core.learning.mlp_io import save_ensemble
from glass_core.learning.tglassmlp import TGlassMLPEnsemble
from glass_core.models.systems import get_system

__all__ = [
    "ChampionMissingError",
    "PropensityEnsembleModel",
    "glassmlp_model_name",
    "load_champion_ensembles",
    "load_collection",
    "load_tglassmlp_champion",
    "log_ensemble_model",
    "log_ensembles",
    "model_type_label",
    "tglassmlp_model_name",
]

#: the pyfunc's code, logged as the model (MLflow's models from code: nothing of the model is pickled)
PYFUNC_CODE = Path(propensity_pyfunc.__file__)


def glassmlp_model_name(system: str) -> str:
    return f"glassmlp_{system}"


def tglassmlp_model_name(system: str) -> str:
    return f"tglassmlp_{system}"


def model_type_label(ensemble: PropensityEnsemble, system: str) -> str:
    """'all', or the species names of the model's ``particle_types`` joined by '+' ('A'): the ``particle_type`` of
    every table row built from its predictions."""
    names = get_system(system).type_names
    types = ensemble.particle_types
    return "all" if len(types) == len(names) else "+".join(names[t] for t in types)


class ChampionMissingError(LookupError):
    """The registry has no ``champion`` version of the model that an asset needs."""


def _state_key(temperature: float, cb: float) -> str:
    return f"T{temperature!r}_cb{cb!r}"


def save_collection(ensembles: dict[tuple[float, float] | None, PropensityEnsemble], directory: Path) -> Path:
    """Save ensembles keyed by state point (GlassMLP) or by ``None`` (one tGlassMLP) with an index."""
    entries = []
    for state, ensemble in ensembles.items():
        name = "ensemble" if state is None else _state_key(*state)
        save_ensemble(ensemble, directory / name)
        entries.append({"path": name, "state_point": None if state is None else list(state)})
    (directory / INDEX_FILE).write_text(json.dumps(entries, indent=2))
    return directory


def example_input(feature_names: list[str], features: np.ndarray, types: np.ndarray, state: np.ndarray) -> pd.DataFrame:
    frame = pd.DataFrame(features.astype(np.float32), columns=feature_names)
    frame["type"] = types.astype(np.int64)
    frame["temperature"] = state[:, 0].astype(np.float64)
    frame["target_cb"] = state[:, 1].astype(np.float64)
    return frame


def log_ensemble_model(
    ensembles: dict[tuple[float, float] | None, PropensityEnsemble], example: pd.DataFrame, name: str = "model"
) -> str:
    """Log the collection as a pyfunc logged model ``name`` of the active run (the code :data:`PYFUNC_CODE`, the
    saved ensembles as its artifact ``ensembles``); returns its model URI."""
    with tempfile.TemporaryDirectory() as tmp:
        directory = save_collection(ensembles, Path(tmp) / "ensembles")
        wrapper = PropensityEnsembleModel()  # in process, only to infer the signature
        wrapper.ensembles = ensembles
        signature = infer_signature(example, wrapper.predict(None, example))
        logged = mlflow.pyfunc.log_model(
            name=name,
            python_model=str(PYFUNC_CODE),
            artifacts={"ensembles": str(directory)},
            signature=signature,
            input_example=example.head(4),
        )
    return logged.model_uri


def log_ensembles(
    ensembles: dict[tuple[float, float] | None, PropensityEnsemble], example: pd.DataFrame, model_name: str
) -> str:
    """Log the collection as the active run's pyfunc model ``model`` (:func:`log_ensemble_model`) and register it
    as ``model_name``; returns the version."""
    return mlflow.register_model(log_ensemble_model(ensembles, example), model_name).version


def tag_version(client: MlflowClient, model_name: str, version: str, tags: dict[str, object]) -> None:
    """Data lineage on the registered model version itself (not only on its run)."""
    for key, value in tags.items():
        client.set_model_version_tag(model_name, version, key, value if isinstance(value, str) else json.dumps(value))


def load_champion_ensembles(client: MlflowClient, model_name: str) -> tuple[dict, str]:
    """(ensembles, version) of ``model_name@champion``; :class:`ChampionMissingError` if there is none."""
    try:
        version = client.get_model_version_by_alias(model_name, "champion").version
    except MlflowException as error:
        raise ChampionMissingError(
            f"the registry has no champion of {model_name}: materialize its training asset "
            f"({'tglassmlp_model' if model_name.startswith('tglassmlp') else 'glassmlp_models'}) first"
        ) from error
    model = mlflow.pyfunc.load_model(f"models:/{model_name}@champion")
    return model.unwrap_python_model().ensembles, version


def load_tglassmlp_champion(client: MlflowClient, system: str) -> tuple[TGlassMLPEnsemble, str]:
    """(ensemble, version) of ``tglassmlp_<system>@champion``; :class:`ChampionMissingError` if there is none."""
    name = tglassmlp_model_name(system)
    ensembles, version = load_champion_ensembles(client, name)
    ensemble = ensembles.get(None)
    if not isinstance(ensemble, TGlassMLPEnsemble):
        raise ChampionMissingError(f"{name} v{version} holds no tGlassMLP ensemble (keys {list(ensembles)})")
    return ensemble, str(version)
