"""An ensemble of propensity networks as one ``nn.Module``, with a JSON config to rebuild it.

The module holds the descriptor standardisation (:class:`~glass_core.learning.mlp_data.Standardiser`
buffers μ, σ fitted on the training rows), for tGlassMLP also the state-encoding standardisation, and
the kept members in an ``nn.ModuleList``. ``forward(features (n, M), types (n,) int, state (n, 2) =
(T, ⟨C_B⟩))`` returns the members' predictions, shape (n_members, n): plain tensors in and out, so an
MLflow signature / ``input_example`` and ``torch.export`` work. The spread between members is the
error bar [J].

:meth:`PropensityEnsemble.config` is JSON-serialisable (kind, feature names, n_types, architecture,
kept member indices, training notes); :func:`save_ensemble` writes it with the ``state_dict``;
:func:`load_ensemble` rebuilds the module from the two.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, ClassVar

import torch
from torch import nn

from glass_core.learning.mlp_data import Standardiser
from glass_core.learning.mlp_training import EpochRecord, one_hot

__all__ = ["PropensityEnsemble", "load_ensemble", "save_ensemble"]

CONFIG_FILE = "ensemble.json"
WEIGHTS_FILE = "ensemble.pt"


class PropensityEnsemble(nn.Module):
    """Base of :class:`GlassMLPEnsemble` and :class:`TGlassMLPEnsemble` (standardiser + members + config).

    Attributes beyond the module: ``history`` (list of :class:`EpochRecord`, not saved) and the
    JSON-able ``kept_members`` (indices of the kept networks among the ``n_trained`` trained ones) and
    ``notes`` (training facts such as the self-consistency warning).
    """

    kind: ClassVar[str] = ""
    registry: ClassVar[dict[str, type[PropensityEnsemble]]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.kind:
            PropensityEnsemble.registry[cls.kind] = cls

    def __init__(self, feature_names: list[str], n_types: int, members: list[nn.Module],
                 kept_members: list[int] | None = None, n_trained: int | None = None,
                 notes: dict[str, Any] | None = None) -> None:
        super().__init__()
        if not members:
            raise ValueError("an ensemble needs at least one member")
        if n_types < 1:
            raise ValueError(f"n_types must be ≥ 1, got {n_types}")
        self.feature_names = list(feature_names)
        self.n_types = int(n_types)
        self.features = Standardiser(len(self.feature_names))
        self.members = nn.ModuleList(members)
        self.kept_members = list(range(len(members))) if kept_members is None else [int(k) for k in kept_members]
        self.n_trained = len(members) if n_trained is None else int(n_trained)
        self.notes: dict[str, Any] = dict(notes or {})
        self.history: list[EpochRecord] = []

    @property
    def n_features(self) -> int:
        return len(self.feature_names)

    @property
    def n_members(self) -> int:
        return len(self.members)

    def type_one_hot(self, types: torch.Tensor) -> torch.Tensor:
        return one_hot(types, self.n_types)

    def architecture(self) -> dict[str, Any]:
        """Sizes needed to rebuild a member (subclasses)."""
        raise NotImplementedError

    @classmethod
    def build(cls, feature_names: list[str], n_types: int, n_members: int, architecture: dict[str, Any],
              **kwargs: Any) -> PropensityEnsemble:
        """An untrained ensemble of ``n_members`` (subclasses)."""
        raise NotImplementedError

    def config(self) -> dict[str, Any]:
        """JSON-serialisable description from which :func:`load_ensemble` rebuilds this module."""
        return {
            "kind": self.kind,
            "feature_names": self.feature_names,
            "n_types": self.n_types,
            "n_members": self.n_members,
            "architecture": self.architecture(),
            "kept_members": self.kept_members,
            "n_trained": self.n_trained,
            "notes": self.notes,
        }

    def _check_inputs(self, features: torch.Tensor, types: torch.Tensor) -> None:
        if features.ndim != 2 or features.shape[1] != self.n_features:
            raise ValueError(f"features must be (n, {self.n_features}), got {tuple(features.shape)}")
        if types.shape != (features.shape[0],):
            raise ValueError(f"types must be ({features.shape[0]},), got {tuple(types.shape)}")


def save_ensemble(ensemble: PropensityEnsemble, directory: str | Path) -> Path:
    """Write ``ensemble.json`` (config) and ``ensemble.pt`` (state_dict) into ``directory``; returns it."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    (directory / CONFIG_FILE).write_text(json.dumps(ensemble.config(), indent=2))
    torch.save(ensemble.state_dict(), directory / WEIGHTS_FILE)
    return directory


def ensemble_from_config(config: dict[str, Any]) -> PropensityEnsemble:
    """An ensemble shell (untrained weights, identity standardisation) shaped by ``config``."""
    import glass_core.learning.glassmlp  # noqa: F401  (registers the kinds)
    import glass_core.learning.tglassmlp  # noqa: F401

    kind = config.get("kind")
    if kind not in PropensityEnsemble.registry:
        raise ValueError(f"unknown ensemble kind {kind!r} (known: {sorted(PropensityEnsemble.registry)})")
    return PropensityEnsemble.registry[kind].build(
        config["feature_names"], config["n_types"], config["n_members"], config["architecture"],
        kept_members=config["kept_members"], n_trained=config["n_trained"], notes=config["notes"])


def load_ensemble(directory: str | Path) -> PropensityEnsemble:
    """Rebuild the ensemble saved by :func:`save_ensemble` (eval mode)."""
    directory = Path(directory)
    ensemble = ensemble_from_config(json.loads((directory / CONFIG_FILE).read_text()))
    ensemble.load_state_dict(torch.load(directory / WEIGHTS_FILE, weights_only=True))
    return ensemble.eval()
