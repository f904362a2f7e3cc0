"""Names and champions of the registered propensity models, shared by every domain that uses them.

``glassmlp_<system>`` (one GlassMLP ensemble per state point, [G]) and ``tglassmlp_<system>`` (one tGlassMLP
ensemble over all state points, [J]) are trained and registered by the ``propensity_learning`` domain
(:mod:`glass_assets.propensity_learning.registry` logs them); any domain may load their ``champion`` here.
"""

from __future__ import annotations

import mlflow
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

__all__ = ["ChampionMissingError", "glassmlp_model_name", "load_champion", "tglassmlp_model_name"]


def glassmlp_model_name(system: str) -> str:
    return f"glassmlp_{system}"


def tglassmlp_model_name(system: str) -> str:
    return f"tglassmlp_{system}"


class ChampionMissingError(LookupError):
    """The registry has no ``champion`` version of the model that an asset needs."""


def load_champion(client: MlflowClient, model_name: str) -> tuple[dict, str]:
    """(ensembles, version) of ``model_name@champion``; :class:`ChampionMissingError` if there is none.

    ``ensembles``: state point (T, ⟨C_B⟩) → GlassMLP ensemble, or ``None`` → the one tGlassMLP ensemble.
    """
    try:
        version = client.get_model_version_by_alias(model_name, "champion").version
    except MlflowException as error:
        raise ChampionMissingError(
            f"the registry has no champion of {model_name}: materialize its training asset first"
        ) from error
    model = mlflow.pyfunc.load_model(f"models:/{model_name}@champion")
    return model.unwrap_python_model().ensembles, version
