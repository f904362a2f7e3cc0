"""Profile sections of what is computed and learned from the configurations: structural descriptors and the
liquid/glass CNN [O], propensity learning and dynamic heterogeneity [J], and the device the networks run on.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from glass_assets.profiles.parsing import ProfileError
from glass_core.learning.classifier_gate import ClassifierGate, GateError
from glass_core.learning.cnn import HEADS
from glass_core.models.systems import get_system
from glass_core.structure.gridding import INPUT_KINDS

__all__ = [
    "DISTILLATION_CHOICES",
    "HELD_OUT_CHOICES",
    "CNNSettings",
    "ComputeSettings",
    "DescriptorSettings",
    "HeterogeneitySettings",
    "PropensityLearningSettings",
]


@dataclass(frozen=True)
class CNNSettings:
    """The liquid/glass CNN [O]: input image, network, training and the train/validation/test split.

    ``input_kind``: ``density`` ([O]: the species-blind ρ(r) = Σ_i δ(r − r_i), one channel) or ``per_type``
    (one channel per species). ``head``: ``fc`` ([O]: flatten + dense layers, no pooling) or ``gap`` (global
    average pooling first, translation-invariant; [O] excludes it). The defaults are [O]'s. The ``champion``
    alias moves on the validation accuracy, so ``split_fractions`` must leave a validation subset.

    ``gate_accuracy`` a ∈ (0.5, 1] and ``min_validation_per_class``: the classifier gate
    (:class:`glass_core.learning.classifier_gate.ClassifierGate`). Grad-CAM findings are results only from a CNN
    whose validation accuracy has its Wilson lower end (2 SE) ≥ a; no champion is chosen on fewer than
    ``min_validation_per_class`` validation images of a class, and a validation split too small to ever pass
    the gate (< ⌈4a/(1 − a)⌉ images: 76 at a = 0.95) is refused before training.
    """

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
    input_kind: str = "density"  # "density": [O]'s species-blind ρ(r); "per_type": one channel per species
    head: str = "fc"  # "fc": [O]'s dense head; "gap": global average pooling before it (translation-invariant)
    weight_decay: float = 0.0
    standardise: bool = False  # per-channel input mean/std of the training images, stored in the model
    augment: bool = False  # random whole-pixel periodic translations and the 8 symmetries of the square
    validate_every: int = 1  # validation pass after every k-th epoch (and the last)
    gate_accuracy: float = 0.95  # Grad-CAM findings need the validation accuracy resolved (Wilson, 2 SE) ≥ this
    min_validation_per_class: int = 20  # no champion is chosen on fewer validation images of a class

    @property
    def gate(self) -> ClassifierGate:
        """The classifier gate of these settings, naming them as a user writes them in ``profiles.yaml``."""
        return ClassifierGate(
            self.gate_accuracy,
            self.min_validation_per_class,
            setting="cnn.gate_accuracy",
            size_setting="cnn.min_validation_per_class",
        )

    def __post_init__(self) -> None:
        if self.validate_every < 1:
            raise ValueError(f"cnn.validate_every must be at least 1, got {self.validate_every}")
        try:
            self.gate  # noqa: B018 - validates gate_accuracy and min_validation_per_class
        except GateError as error:
            raise ValueError(str(error)) from error
        if self.input_kind not in INPUT_KINDS:
            raise ValueError(f"cnn.input_kind must be one of {list(INPUT_KINDS)}, got {self.input_kind!r}")
        if self.head not in HEADS:
            raise ValueError(f"cnn.head must be one of {list(HEADS)}, got {self.head!r}")
        if not self.split_fractions[1] > 0:
            raise ValueError(
                f"cnn.split_fractions = {list(self.split_fractions)} leaves no validation subset: the champion "
                "is chosen on validation accuracy"
            )


@dataclass(frozen=True)
class DescriptorSettings:
    coarse_graining_length: float = 3.0  # ξ of [O]'s coarse graining


DISTILLATION_CHOICES = ("labelled_temperatures", "every_temperature", "none")
HELD_OUT_CHOICES = ("lowest", "all_below_highest", "none")


@dataclass(frozen=True)
class PropensityLearningSettings:
    """Descriptors, state points and training of the propensity-learning study [J].

    ``training`` holds the keyword arguments of :class:`glass_core.learning.mlp_settings.MLPTrainingSettings`
    (``preset: demo|paper`` plus overrides: schedules, ensemble sizes, tolerance, the configuration split),
    validated by that class when a training starts.

    ``particle_types``: the species a model learns and is scored on, by name (``[A]``: [J]'s convention, the
    default), or ``[all]`` for every species with a type one-hot; every table of the study carries the
    subset's label (``particle_type``: 'A', 'all', 'A+B'). ``distillation`` ([J]): ``labelled_temperatures``
    (default: step-1 networks extend the labelled temperatures to the targets their MD did not reach),
    ``every_temperature`` (also the swap-MC temperatures without MD — the model is then selected on the
    configurations it is later evaluated on; a named, non-[J] choice) or ``none``. ``max_extrapolation_spans``:
    predictions whose 1/T lies further outside the training range than this many training spans get a
    warning ([J] reaches 0.85). ``held_out``: the labelled temperatures the ``transferability`` asset holds
    out one at a time (``lowest``; ``all_below_highest``; ``none``).
    """

    descriptor_lengths: tuple[float, ...]
    state_point_targets: tuple[float, ...]
    training: dict[str, Any]
    particle_types: tuple[str, ...] = ("A",)
    distillation: str = "labelled_temperatures"
    max_extrapolation_spans: float = 1.0
    held_out: str | tuple[float, ...] = "lowest"

    def __post_init__(self) -> None:
        if not self.descriptor_lengths:
            raise ValueError("descriptor_lengths is empty: list the coarse-graining lengths L (0 = the particle alone)")
        if not self.state_point_targets or not all(0.0 < t < 1.0 for t in self.state_point_targets):
            raise ValueError(f"state_point_targets must be ⟨C_B⟩ values in (0, 1), got {self.state_point_targets}")
        types = self.particle_types
        if not types or len(set(types)) != len(types) or ("all" in types and len(types) > 1):
            raise ValueError(f"particle_types must list distinct species names, or be [all]; got {list(types)}")
        if self.distillation not in DISTILLATION_CHOICES:
            raise ValueError(f"propensity_learning.distillation must be one of {list(DISTILLATION_CHOICES)}, got "
                             f"{self.distillation!r}")
        held_out = self.held_out
        if isinstance(held_out, list | tuple):
            if not held_out or not all(isinstance(t, int | float) and not isinstance(t, bool) and t > 0
                                       for t in held_out):
                raise ValueError(f"propensity_learning.held_out must be one of {list(HELD_OUT_CHOICES)} or a list of "
                                 f"labelled temperatures, got {held_out!r}")
            object.__setattr__(self, "held_out", tuple(float(t) for t in held_out))
        elif held_out not in HELD_OUT_CHOICES:
            raise ValueError(f"propensity_learning.held_out must be one of {list(HELD_OUT_CHOICES)} or a list of "
                             f"labelled temperatures, got {held_out!r}")
        if not self.max_extrapolation_spans > 0:
            raise ValueError(f"max_extrapolation_spans must be positive, got {self.max_extrapolation_spans}")

    def type_indices(self, system: str) -> tuple[int, ...]:
        """Type indices of ``particle_types`` in ``system``; a clear error for a species the system lacks."""
        names = get_system(system).type_names
        if self.particle_types == ("all",):
            return tuple(range(len(names)))
        unknown = [t for t in self.particle_types if t not in names]
        if unknown:
            raise ProfileError(
                f"propensity_learning.particle_types {list(self.particle_types)}: {system} has no species {unknown} "
                f"(its species: {list(names)})"
            )
        return tuple(sorted(names.index(t) for t in self.particle_types))

    def held_out_temperatures(self, labelled: list[float]) -> list[float]:
        """The labelled temperatures the transferability test holds out, one at a time ([J]'s claim needs the
        lowest: extrapolation); a clear error for a listed temperature without labels."""
        labelled = sorted(labelled)
        if self.held_out == "none" or len(labelled) < 2:
            return []
        if self.held_out == "lowest":
            return labelled[:1]
        if self.held_out == "all_below_highest":
            return labelled[:-1]
        missing = [t for t in self.held_out if not any(math.isclose(t, x) for x in labelled)]
        if missing:
            raise ProfileError(f"propensity_learning.held_out lists T = {missing}, which have no MD labels in the "
                               f"campaign (labelled: {labelled})")
        return sorted(x for x in labelled if any(math.isclose(t, x) for t in self.held_out))

    def type_label(self, system: str) -> str:
        """The subset's label in tables: 'all', or the species names joined by '+' ('A', 'A+B')."""
        indices = self.type_indices(system)
        names = get_system(system).type_names
        return "all" if len(indices) == len(names) else "+".join(names[i] for i in indices)


@dataclass(frozen=True)
class HeterogeneitySettings:
    """Dynamic heterogeneity [J]: χ4 bootstrap, chord-length lattice and attention-length aggregation.

    ``chi4_bootstrap``: resamples of configurations for the χ4 standard errors; ``chord_cell_size``: lattice
    site side (σ) of the chord length; ``chord_median_over``: 'ensemble' ([J]: one median per state point) or
    'configuration'; ``chord_site_rule``: 'mean_propensity' or 'active_fraction' (see
    :mod:`glass_core.dynamics.length_scales`; 'active_fraction', [J]'s rule, is the default);
    ``attention_aggregate``: 'mean' ([J]) or 'sum' over the descriptors of one coarse-graining length;
    ``random_field_draws``: independent random fields on the same particles whose ℓ_ch is the reference line.
    """

    chi4_bootstrap: int = 1000
    chord_cell_size: float = 1.0
    chord_median_over: str = "ensemble"
    chord_site_rule: str = "active_fraction"
    attention_aggregate: str = "mean"
    random_field_draws: int = 20

    def __post_init__(self) -> None:
        if self.chi4_bootstrap < 2:
            raise ValueError(f"chi4_bootstrap must be ≥ 2, got {self.chi4_bootstrap}")
        if self.random_field_draws < 1:
            raise ValueError(f"random_field_draws must be ≥ 1, got {self.random_field_draws}")
        if not self.chord_cell_size > 0:
            raise ValueError(f"chord_cell_size must be positive, got {self.chord_cell_size}")
        choices = {
            "chord_median_over": (self.chord_median_over, ("ensemble", "configuration")),
            "chord_site_rule": (self.chord_site_rule, ("mean_propensity", "active_fraction")),
            "attention_aggregate": (self.attention_aggregate, ("mean", "sum")),
        }
        for key, (value, allowed) in choices.items():
            if value not in allowed:
                raise ValueError(f"{key} must be one of {allowed}, got {value!r}")


@dataclass(frozen=True)
class ComputeSettings:
    """Where the networks run: ``device`` is ``auto`` (a CUDA GPU when torch sees one, else the CPU), ``cpu`` or
    ``cuda[:n]`` (:func:`glass_core.learning.device.resolve_device`), for the CNN, Grad-CAM, GlassMLP and
    tGlassMLP alike; ``training_threads`` are torch's threads in a training task (0: the task's cores, i.e.
    ``SLURM_CPUS_PER_TASK`` on Slurm, every core of this machine locally). Neither is part of any result's
    provenance: the device is logged with each model in MLflow instead."""

    device: str = "auto"
    training_threads: int = 0

    def __post_init__(self) -> None:
        text = str(self.device).strip().lower()
        if text not in ("auto", "cpu", "cuda") and not (text.startswith("cuda:") and text[5:].isdigit()):
            raise ValueError(f"compute.device = {self.device!r} is not one of auto, cpu, cuda, cuda:<n>")
        if isinstance(self.training_threads, bool) or not isinstance(self.training_threads, int) \
                or self.training_threads < 0:
            raise ValueError(f"compute.training_threads = {self.training_threads!r} must be a count ≥ 0")
