"""Saving and loading GlassMLP / tGlassMLP ensembles: a JSON config beside a torch state dict.

Kept apart from :mod:`.mlp_ensemble` because rebuilding an ensemble needs every kind registered, i.e. both
:mod:`.glassmlp` and :mod:`.tglassmlp`, which themselves build on :mod:`.mlp_ensemble`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch

import glass_core.learning.glassmlp  # noqa: F401  (registers the "glassmlp" kind)
import glass_core.learning.tglassmlp  # noqa: F401  (registers the "tglassmlp" kind)
from glass_core.learning.mlp_ensemble import CONFIG_FILE, WEIGHTS_FILE, PropensityEnsemble

__all__ = ["ensemble_from_config", "load_ensemble", "save_ensemble"]


def save_ensemble(ensemble: PropensityEnsemble, directory: str | Path) -> Path:
    """Write ``ensemble.json`` (config) and ``ensemble.pt`` (state_dict) into ``directory``; returns it."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    (directory / CONFIG_FILE).write_text(json.dumps(ensemble.config(), indent=2))
    torch.save(ensemble.state_dict(), directory / WEIGHTS_FILE)
    return directory


def ensemble_from_config(config: dict[str, Any]) -> PropensityEnsemble:
    """An ensemble shell (untrained weights, identity standardisation) shaped by ``config``."""
    kind = config.get("kind")
    if kind not in PropensityEnsemble.registry:
        raise ValueError(f"unknown ensemble kind {kind!r} (known: {sorted(PropensityEnsemble.registry)})")
    return PropensityEnsemble.registry[kind].build(
        config["feature_names"], config["n_types"], config["n_members"], config["architecture"],
        kept_members=config["kept_members"], n_trained=config["n_trained"], notes=config["notes"],
        input_names=config.get("input_names"), particle_types=config.get("particle_types"))


def load_ensemble(directory: str | Path) -> PropensityEnsemble:
    """Rebuild the ensemble saved by :func:`save_ensemble` (eval mode)."""
    directory = Path(directory)
    ensemble = ensemble_from_config(json.loads((directory / CONFIG_FILE).read_text()))
    ensemble.load_state_dict(torch.load(directory / WEIGHTS_FILE, weights_only=True))
    return ensemble.eval()
