"""Training settings of GlassMLP [G] and tGlassMLP [J], with a demo and a paper preset.

A learning-rate *schedule* is a tuple of ``(epochs, learning_rate)`` phases run one after the other
with Adam (the optimiser state carries over between phases).

- GlassMLP [G], stage 1 (``glassmlp_schedule``): the absolute-error loss mean|y − ŷ| / s; Adam 5e-4 for
  300 epochs, then 2e-4 for 100. Stage 2 (``glassmlp_full_loss_schedule``): the full loss of
  :mod:`~glass_core.learning.propensity_loss` (absolute error + 0.5 × spatial correlation on Gaussian shells
  at r = 2, 5, 8 + 1.0 × relative variance error, ``loss_weights``, ``correlation_shells``,
  ``shell_width``); Adam 4e-5 for 50 epochs, then 2e-5 for 100 with early stopping (patience 15);
  ensembles of 8 (``n_glassmlp_networks``).
- tGlassMLP [J] App. B: each training (equal-⟨C_B⟩ networks of step 1, final networks of step 2)
  is ≈ 85 epochs of mean squared error in three learning-rate phases (10, 50, 25 epochs; the rates
  are not legible in our copy of Table 2: 1e-3, 5e-4, 2e-4 are ours) followed by 50 epochs of the
  full GlassMLP loss "with the same parameters as for GlassMLP" (``tglass_mse_schedule``,
  ``tglass_glassmlp_schedule``). 16 networks per step.
- Descriptors whose variance over the training rows is below ``variance_threshold`` (1e-5, [G]) are
  dropped before training; the model records the columns it uses.

Model selection (both models): the epoch with the lowest validation loss within the final (full-loss)
schedule is restored; training stops early after ``patience`` epochs without improvement in its last
phase. Self-consistency [J]: a network is kept if |⟨ŷ⟩ − ⟨C_B⟩_requested| ≤ ``tolerance`` at every
judged state point.

Presets: :meth:`MLPTrainingSettings.demo` trains a 4-member GlassMLP ensemble or a tGlassMLP
(3 equal-⟨C_B⟩ + 4 final networks) on ≈ 25 000 rows in seconds to a few minutes on 2 cores;
:meth:`MLPTrainingSettings.paper` holds the papers' epochs and ensemble sizes (hours on a CPU,
[J] quotes a day on a laptop GPU for 16 + 16 networks per ⟨C_B⟩).

References: [G]; [J].
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from glass_core.learning.propensity_loss import LossWeights

__all__ = ["MLPSettingsError", "MLPTrainingSettings", "Schedule"]

Schedule = tuple[tuple[int, float], ...]


class MLPSettingsError(ValueError):
    """A training setting is missing, unknown or out of range; the message names the key."""


@dataclass(frozen=True)
class MLPTrainingSettings:
    """Everything that controls GlassMLP / tGlassMLP training (defaults = :meth:`demo`).

    Attributes:
        glassmlp_schedule: GlassMLP [G] stage-1 (epochs, learning rate) phases, absolute-error loss.
        glassmlp_full_loss_schedule: GlassMLP [G] stage-2 phases with the full loss (non-empty).
        tglass_mse_schedule: tGlassMLP [J] phases with the mean squared error (may be empty).
        tglass_glassmlp_schedule: tGlassMLP phases with the full GlassMLP loss that follow (non-empty).
        loss_weights: (absolute error, spatial correlation, variance) weights of the full loss ([G]: 1, 0.5, 1).
        correlation_shells: radii (σ) of the Gaussian shells of the correlation term ([G]: 2, 5, 8).
        shell_width: their width (σ, [G]: 1).
        variance_threshold: descriptors with a smaller variance over the training rows are dropped ([G]: 1e-5).
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
    glassmlp_full_loss_schedule: Schedule = ((20, 2e-4),)
    tglass_mse_schedule: Schedule = ((5, 1e-2), (15, 5e-3), (10, 2e-3))
    tglass_glassmlp_schedule: Schedule = ((30, 2e-4),)
    loss_weights: tuple[float, float, float] = (1.0, 0.5, 1.0)
    correlation_shells: tuple[float, ...] = (2.0, 5.0, 8.0)
    shell_width: float = 1.0
    variance_threshold: float = 1e-5
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
        for key in ("glassmlp_schedule", "glassmlp_full_loss_schedule", "tglass_mse_schedule",
                    "tglass_glassmlp_schedule"):
            schedule = _checked_schedule(key, getattr(self, key), allow_empty=key == "tglass_mse_schedule")
            object.__setattr__(self, key, schedule)
        for key, least in (("patience", 1), ("n_glassmlp_networks", 1), ("n_networks", 1), ("n_networks_equal_cb", 1),
                           ("threads", 1), ("max_iterations", 0), ("seed", 0)):
            value = getattr(self, key)
            _require(key, value, isinstance(value, int) and not isinstance(value, bool) and value >= least,
                     f"an integer ≥ {least}")
        _require("tolerance", self.tolerance, _is_number(self.tolerance) and 0 < self.tolerance < 1,
                 "a number in (0, 1)")
        weights = tuple(self.loss_weights)
        _require("loss_weights", self.loss_weights,
                 len(weights) == 3 and all(_is_number(w) and w >= 0 for w in weights) and weights[0] > 0,
                 "three weights ≥ 0 (absolute error > 0, correlation, variance)")
        object.__setattr__(self, "loss_weights", tuple(float(w) for w in weights))
        shells = tuple(self.correlation_shells)
        _require("correlation_shells", self.correlation_shells,
                 len(shells) >= 2 and all(_is_number(r) and r > 0 for r in shells) and list(shells) == sorted(shells),
                 "at least two increasing radii > 0")
        object.__setattr__(self, "correlation_shells", tuple(float(r) for r in shells))
        _require("shell_width", self.shell_width, _is_number(self.shell_width) and self.shell_width > 0, "a number > 0")
        _require("variance_threshold", self.variance_threshold,
                 _is_number(self.variance_threshold) and self.variance_threshold >= 0, "a number ≥ 0")
        fractions = tuple(self.split_fractions)
        valid = (len(fractions) == 3 and all(_is_number(f) and f >= 0 for f in fractions) and fractions[0] > 0
                 and math.isclose(sum(fractions), 1.0, abs_tol=1e-9))
        _require("split_fractions", self.split_fractions, valid, "three fractions ≥ 0 summing to 1 with train > 0")
        object.__setattr__(self, "split_fractions", tuple(float(f) for f in fractions))

    @classmethod
    def demo(cls, **overrides: Any) -> MLPTrainingSettings:
        """Seconds to minutes on 2 cores for ≈ 25k rows: 100 + 20 GlassMLP epochs, 30 + 30 tGlassMLP epochs.

        The full-loss phases run at a rate 10× below the phase before, as [G]'s stage 2 does (2e-4 → 4e-5): on the
        demo's type-A data (T = 0.7, 0.6, 0.5; 4 training configurations each) a full-loss phase at 1e-3 gave a
        mean test Pearson of 0.29 and a predicted/MD standard deviation of 0.78, at 2e-4 0.33 and 0.69, the
        absolute error alone 0.40 and 0.46 (one seed, 2 test configurations per temperature)."""
        return cls(**overrides)

    @classmethod
    def paper(cls, **overrides: Any) -> MLPTrainingSettings:
        """[G]: 300 + 100 epochs (5e-4, 2e-4), then 50 + 100 with the full loss (4e-5, 2e-5), 8 members;
        [J]: 85 MSE + 50 full-loss epochs, 16 + 16 networks."""
        values: dict[str, Any] = {
            "glassmlp_schedule": ((300, 5e-4), (100, 2e-4)),
            "glassmlp_full_loss_schedule": ((50, 4e-5), (100, 2e-5)),
            "tglass_mse_schedule": ((10, 1e-3), (50, 5e-4), (25, 2e-4)),
            "tglass_glassmlp_schedule": ((50, 1e-4),),
            "patience": 15,
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
        for key in ("glassmlp_schedule", "glassmlp_full_loss_schedule", "tglass_mse_schedule",
                    "tglass_glassmlp_schedule", "split_fractions", "loss_weights", "correlation_shells"):
            if key in values and isinstance(values[key], list):
                values[key] = tuple(tuple(v) if isinstance(v, list) else v for v in values[key])
        return cls.demo(**values) if preset == "demo" else cls.paper(**values)

    def loss(self) -> LossWeights:
        """The full loss's weights and shells as :class:`~glass_core.learning.propensity_loss.LossWeights`."""
        absolute_error, correlation, variance = self.loss_weights
        return LossWeights(absolute_error, correlation, variance, self.correlation_shells, self.shell_width)

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
