"""Training settings of GlassMLP [G] and tGlassMLP [J], with a demo and a paper preset.

A learning-rate *schedule* is a tuple of ``(epochs, learning_rate)`` phases run one after the other
with Adam (the optimiser state carries over between phases).

- GlassMLP [G], stage 1: loss mean|y − ŷ| / std(y); Adam 5e-4 for 300 epochs, then 2e-4 for 100
  with early stopping; ensembles of 8 (``n_glassmlp_networks``).
- tGlassMLP [J] App. B: each training (equal-⟨C_B⟩ networks of step 1, final networks of step 2)
  is ≈ 85 epochs of mean squared error in three learning-rate phases (10, 50, 25 epochs; the rates
  are not legible in our copy of Table 2: 1e-3, 5e-4, 2e-4 are ours) followed by 50 epochs of the
  GlassMLP loss (``tglass_mse_schedule``, ``tglass_glassmlp_schedule``). 16 networks per step.

Model selection (both models): the epoch with the lowest validation GlassMLP loss within the final
(GlassMLP-loss) schedule is restored; training stops early after ``patience`` epochs without
improvement there. Self-consistency [J]: a network is kept if |⟨ŷ⟩ − ⟨C_B⟩_requested| ≤ ``tolerance``
at every judged state point.

Presets: :meth:`MLPTrainingSettings.demo` trains a 4-member GlassMLP ensemble or a tGlassMLP
(3 equal-⟨C_B⟩ + 4 final networks) on ≈ 25 000 rows in seconds to a few minutes on 2 cores;
:meth:`MLPTrainingSettings.paper` holds the papers' epochs and ensemble sizes (hours on a CPU,
[J] quotes a day on a laptop GPU for 16 + 16 networks per ⟨C_B⟩).

[G] Jung, Biroli, Berthier, PRL 130, 238202 (2023). [J] Jung, Biroli, Berthier, arXiv:2310.20252.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["MLPSettingsError", "MLPTrainingSettings", "Schedule"]

Schedule = tuple[tuple[int, float], ...]


class MLPSettingsError(ValueError):
    """A training setting is missing, unknown or out of range; the message names the key."""


@dataclass(frozen=True)
class MLPTrainingSettings:
    """Everything that controls GlassMLP / tGlassMLP training (defaults = :meth:`demo`).

    Attributes:
        glassmlp_schedule: GlassMLP [G] (epochs, learning rate) phases, GlassMLP loss throughout.
        tglass_mse_schedule: tGlassMLP [J] phases with the mean squared error (may be empty).
        tglass_glassmlp_schedule: tGlassMLP phases with the GlassMLP loss that follow (non-empty).
        patience: epochs without validation improvement before stopping, in the final schedule.
        n_glassmlp_networks: members of a GlassMLP ensemble (seeds 0..n−1 derived from the seed).
        n_networks: tGlassMLP networks trained in step 2 (the self-consistent ones are kept).
        n_networks_equal_cb: tGlassMLP equal-⟨C_B⟩ networks trained per ⟨C_B⟩ in step 1.
        tolerance: self-consistency |⟨ŷ⟩ − ⟨C_B⟩| allowed, at training and at iterated prediction.
        max_iterations: state-point input updates at prediction [J App. B: ≤ 6].
        seed: base seed (splits, initialisation, batch order).
        split_fractions: train / validation / test fractions of configurations.
        threads: torch intra-op threads inside training (1 keeps the arithmetic order fixed).
    """

    glassmlp_schedule: Schedule = ((60, 5e-3), (40, 2e-3))
    tglass_mse_schedule: Schedule = ((5, 1e-2), (15, 5e-3), (10, 2e-3))
    tglass_glassmlp_schedule: Schedule = ((30, 1e-3),)
    patience: int = 15
    n_glassmlp_networks: int = 4
    n_networks: int = 4
    n_networks_equal_cb: int = 3
    tolerance: float = 0.03
    max_iterations: int = 6
    seed: int = 0
    split_fractions: tuple[float, float, float] = (0.5, 0.25, 0.25)
    threads: int = 1

    def __post_init__(self) -> None:
        for key in ("glassmlp_schedule", "tglass_mse_schedule", "tglass_glassmlp_schedule"):
            schedule = _checked_schedule(key, getattr(self, key), allow_empty=key == "tglass_mse_schedule")
            object.__setattr__(self, key, schedule)
        for key, least in (("patience", 1), ("n_glassmlp_networks", 1), ("n_networks", 1), ("n_networks_equal_cb", 1),
                           ("threads", 1), ("max_iterations", 0), ("seed", 0)):
            value = getattr(self, key)
            _require(key, value, isinstance(value, int) and not isinstance(value, bool) and value >= least,
                     f"an integer ≥ {least}")
        _require("tolerance", self.tolerance, _is_number(self.tolerance) and 0 < self.tolerance < 1,
                 "a number in (0, 1)")
        fractions = tuple(self.split_fractions)
        valid = (len(fractions) == 3 and all(_is_number(f) and f >= 0 for f in fractions) and fractions[0] > 0
                 and math.isclose(sum(fractions), 1.0, abs_tol=1e-9))
        _require("split_fractions", self.split_fractions, valid, "three fractions ≥ 0 summing to 1 with train > 0")
        object.__setattr__(self, "split_fractions", tuple(float(f) for f in fractions))

    @classmethod
    def demo(cls, **overrides: Any) -> MLPTrainingSettings:
        """Seconds to minutes on 2 cores for ≈ 25k rows: 100 GlassMLP epochs, 30 + 30 tGlassMLP epochs."""
        return cls(**overrides)

    @classmethod
    def paper(cls, **overrides: Any) -> MLPTrainingSettings:
        """[G]: 300 + 100 epochs (5e-4, 2e-4), 8 members; [J]: 85 MSE + 50 GlassMLP-loss epochs, 16 + 16 networks."""
        values: dict[str, Any] = {
            "glassmlp_schedule": ((300, 5e-4), (100, 2e-4)),
            "tglass_mse_schedule": ((10, 1e-3), (50, 5e-4), (25, 2e-4)),
            "tglass_glassmlp_schedule": ((50, 1e-4),),
            "patience": 30,
            "n_glassmlp_networks": 8,
            "n_networks": 16,
            "n_networks_equal_cb": 16,
            "tolerance": 0.02,
            "split_fractions": (0.45, 0.05, 0.5),  # [J]: structures halved into train and test
        }
        return cls(**{**values, **overrides})

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> MLPTrainingSettings:
        """Settings from a plain mapping (e.g. YAML); ``preset: demo|paper`` picks the base; unknown keys raise."""
        values = dict(values)
        preset = values.pop("preset", "demo")
        if preset not in ("demo", "paper"):
            raise MLPSettingsError(f"preset must be 'demo' or 'paper', got {preset!r}")
        known = {f.name for f in dataclasses.fields(cls)}
        for key in values:
            if key not in known:
                raise MLPSettingsError(f"unknown MLP training setting {key!r} (known: {sorted(known)})")
        for key in ("glassmlp_schedule", "tglass_mse_schedule", "tglass_glassmlp_schedule", "split_fractions"):
            if key in values and isinstance(values[key], list):
                values[key] = tuple(tuple(v) if isinstance(v, list) else v for v in values[key])
        return cls.demo(**values) if preset == "demo" else cls.paper(**values)

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable values (for MLflow parameters)."""
        return {k: [list(p) for p in v] if k.endswith("schedule") else (list(v) if isinstance(v, tuple) else v)
                for k, v in dataclasses.asdict(self).items()}


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _require(key: str, value: object, condition: bool, expectation: str) -> None:
    if not condition:
        raise MLPSettingsError(f"MLP training setting {key!r} must be {expectation}, got {value!r}")


def _checked_schedule(key: str, schedule: object, allow_empty: bool) -> Schedule:
    """``((epochs, lr), ...)`` with integer epochs ≥ 1 and finite rates > 0."""
    try:
        phases = tuple((int(epochs), float(rate)) for epochs, rate in schedule)  # type: ignore[union-attr]
        valid = all(e >= 1 and math.isfinite(r) and r > 0 for e, r in phases) and all(
            float(e).is_integer() for e, _ in schedule)  # type: ignore[union-attr]
    except (TypeError, ValueError):
        valid, phases = False, ()
    _require(key, schedule, valid and (allow_empty or len(phases) > 0),
             "a tuple of (epochs ≥ 1, learning rate > 0) phases" + ("" if allow_empty else ", not empty"))
    return phases
