"""Study profiles (``profiles.yaml``): sizes and protocols chosen by configuration, not code edits."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from glass_core.models.systems import get_system
from glass_core.simulation.quench import QuenchProtocol

__all__ = ["PROFILES_FILE", "CNNSettings", "Profile", "PropensityLearningSettings", "QuenchSettings", "load_profile"]

PROFILES_FILE = Path(__file__).with_name("profiles.yaml")


@dataclass(frozen=True)
class QuenchSettings:
    n_samples: int
    n_particles: dict[str, int]
    protocol: QuenchProtocol

    def particles_for(self, system: str) -> int:
        if system not in self.n_particles:
            raise ValueError(f"the profile sets no quench box size for system {system!r}")
        return self.n_particles[system]


@dataclass(frozen=True)
class CNNSettings:
    grid: int
    kernel_width: float
    epochs: int
    batch_size: int
    learning_rate: float
    split_fractions: tuple[float, float, float]
    seed: int
    conv_channels: tuple[int, int, int]
    hidden: int
    dropout: float
    kernel_size: int = 3
    head: str = "fc"  # "fc": [O]'s dense head; "gap": global average pooling before it (translation-invariant)
    weight_decay: float = 0.0
    standardise: bool = False  # per-channel input mean/std of the training images, stored in the model
    augment: bool = False  # random whole-pixel periodic translations and the 8 symmetries of the square


@dataclass(frozen=True)
class PropensityLearningSettings:
    """Descriptors, state points and training of the propensity-learning study [J].

    ``training`` holds the keyword arguments of :class:`glass_core.learning.mlp_settings.MLPTrainingSettings`
    (``preset: demo|paper`` plus overrides): schedules, ensemble sizes, tolerance, the configuration split.
    """

    descriptor_lengths: tuple[float, ...]
    state_point_targets: tuple[float, ...]
    training: dict[str, Any]

    @classmethod
    def from_raw(cls, raw: dict[str, Any], where: str) -> PropensityLearningSettings:
        """Validate the profile section; errors name ``where`` and the key."""
        known = set(cls.__dataclass_fields__)
        unknown, missing = set(raw) - known, known - set(raw)
        if unknown:
            raise ValueError(f"{where}: unknown keys {sorted(unknown)}; known: {sorted(known)}")
        if missing:
            raise ValueError(f"{where}: missing keys {sorted(missing)}")
        lengths = tuple(float(x) for x in raw["descriptor_lengths"] or ())
        if not lengths:
            raise ValueError(f"{where}.descriptor_lengths is empty: list the coarse-graining lengths L (0 = alone)")
        targets = tuple(float(x) for x in raw["state_point_targets"] or ())
        if not targets or not all(0.0 < t < 1.0 for t in targets):
            raise ValueError(f"{where}.state_point_targets must be ⟨C_B⟩ values in (0, 1), got {targets}")
        return cls(lengths, targets, dict(raw["training"] or {}))


@dataclass(frozen=True)
class Profile:
    name: str
    description: str
    base_seed: int
    quench: QuenchSettings
    raw: dict[str, Any]

    @property
    def coarse_graining_length(self) -> float:
        return float(self.raw.get("descriptors", {}).get("coarse_graining_length", 3.0))

    @property
    def propensity(self) -> dict[str, Any]:
        """Isoconfigurational settings: n_samples, n_replicas, max_time (LJ time; one number or one per
        system), per_decade, ensemble."""
        if "propensity" not in self.raw:
            raise ValueError(f"profile {self.name!r} has no 'propensity' section")
        return dict(self.raw["propensity"])

    @property
    def propensity_learning(self) -> PropensityLearningSettings:
        if "propensity_learning" not in self.raw:
            raise ValueError(f"profile {self.name!r} has no 'propensity_learning' section")
        return PropensityLearningSettings.from_raw(
            dict(self.raw["propensity_learning"]), f"profile {self.name!r}: propensity_learning"
        )

    @property
    def cnn(self) -> CNNSettings:
        if "cnn" not in self.raw:
            raise ValueError(f"profile {self.name!r} has no 'cnn' section")
        raw = dict(self.raw["cnn"])
        raw["split_fractions"] = tuple(float(f) for f in raw["split_fractions"])
        raw["conv_channels"] = tuple(int(c) for c in raw["conv_channels"])
        return CNNSettings(**raw)


def load_profile(name: str, path: Path = PROFILES_FILE) -> Profile:
    """The profile called ``name`` from ``path``; a clear error for an unknown or malformed one."""
    profiles = yaml.safe_load(path.read_text())
    if name not in profiles:
        raise ValueError(f"unknown profile {name!r} in {path}; known: {', '.join(profiles)}")
    raw = profiles[name]
    try:
        quench = raw["quench"]
        for system in quench["n_particles"]:
            get_system(system)
        settings = QuenchSettings(
            n_samples=int(quench["n_samples"]),
            n_particles={k: int(v) for k, v in quench["n_particles"].items()},
            protocol=QuenchProtocol(**quench["protocol"]),
        )
        return Profile(name, raw.get("description", ""), int(raw["base_seed"]), settings, raw)
    except (KeyError, TypeError) as error:
        raise ValueError(f"profile {name!r} in {path} is malformed: {error!r}") from error
