"""Study profiles (``profiles.yaml``): sizes and protocols chosen by configuration, not code edits."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import yaml

from glass_assets import settings as env
from glass_core.learning.classifier_gate import ClassifierGate, GateError
from glass_core.learning.cnn import HEADS
from glass_core.models.systems import SYSTEMS, get_system
from glass_core.simulation.quench import QuenchProtocol
from glass_core.structure.gridding import INPUT_KINDS

__all__ = [
    "PROFILES_FILE",
    "CNNSettings",
    "CoolingRateStudySettings",
    "DescriptorSettings",
    "HeterogeneitySettings",
    "InherentStructureSettings",
    "LargeBoxSettings",
    "Profile",
    "ProfileError",
    "PropensityLearningSettings",
    "PropensitySettings",
    "ProvenanceSettings",
    "QuenchSettings",
    "SwapMCSettings",
    "configured_profile",
    "load_profile",
    "setting_paths",
    "validate_profiles_file",
]

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


WINDOW_DEFAULT = "default"
"""Key of a per-temperature ``propensity.max_time`` mapping that covers the temperatures it does not list."""
DISTILLATION_CHOICES = ("labelled_temperatures", "every_temperature", "none")
HELD_OUT_CHOICES = ("lowest", "all_below_highest", "none")


@dataclass(frozen=True)
class PropensitySettings:
    """Isoconfigurational runs: ``max_time`` in LJ time, one number, one per system, or per run temperature.

    A system's entry may be a mapping run temperature → time with an optional ``default`` for the
    temperatures it does not list, e.g. ``kam: {0.37: 300.0, default: 100.0}``: the cage-relative clock δ(t)
    of the T_G glasses reaches 1 three times later at T* than at 1.5 T* (``benchmarks/delta_clock_time.py``).
    """

    n_samples: int | dict[str, float | dict[str, float]]
    n_replicas: int
    max_time: float | dict[str, float | dict[str, float]]
    per_decade: int = 8
    ensemble: str = "nvt"
    #: run temperatures (per system: ``true`` for all, or a list) whose window the profile knows to end before τ_α
    tau_alpha_beyond_window: dict[str, bool | tuple[float, ...]] = dataclasses.field(default_factory=dict)

    def window_ends_before_tau_alpha(self, system: str, temperature: float) -> bool:
        """Whether the profile declares that the window of ``system`` at run ``temperature`` ends before τ_α (so
        ⟨C_B⟩ staying above 1/e is what this profile measures, not a finding)."""
        entry = self.tau_alpha_beyond_window.get(system, False)
        if isinstance(entry, bool):
            return entry
        return any(math.isclose(temperature, t) for t in entry)

    def max_time_for(self, system: str, temperature: float | None = None) -> float:
        """LJ time of the replica runs of ``system`` at run ``temperature``; a missing entry raises."""
        return _per_temperature(self.max_time, "max_time", system, temperature)

    def samples_for(self, system: str, temperature: float | None = None) -> int:
        """Initial configurations of the runs of ``system`` at ``temperature`` (one number, or per system and run
        temperature like ``max_time``: a lower temperature may get fewer); a missing entry raises."""
        return int(_per_temperature(self.n_samples, "n_samples", system, temperature))


def _per_temperature(table: float | dict, key: str, system: str, temperature: float | None) -> float:
    """A setting given as one number, per system, or per system and temperature with an optional ``default``."""
    if not isinstance(table, dict):
        return float(table)
    if system not in table:
        raise ProfileError(f"propensity.{key} has no entry for system {system!r}")
    entry = table[system]
    if not isinstance(entry, dict):
        return float(entry)
    for name, value in entry.items():
        if name != WINDOW_DEFAULT and temperature is not None and math.isclose(float(name), temperature):
            return float(value)
    if WINDOW_DEFAULT in entry:
        return float(entry[WINDOW_DEFAULT])
    raise ProfileError(f"propensity.{key} of {system!r} has no entry for T = {temperature} and no {WINDOW_DEFAULT!r}")


def _window_table(value: Any) -> float | dict[str, float | dict[str, float]]:
    """``propensity.max_time`` from YAML: a number, or per system a number or {temperature | default: number}."""
    if not isinstance(value, dict):
        return float(value)
    return {
        str(system): (
            {(WINDOW_DEFAULT if key == WINDOW_DEFAULT else repr(float(key))): float(t) for key, t in entry.items()}
            if isinstance(entry, dict)
            else float(entry)
        )
        for system, entry in value.items()
    }


@dataclass(frozen=True)
class SwapMCSettings:
    n_particles: int
    n_chains: int
    samples_per_chain: int
    equilibration_sweeps: int
    sweeps_between_samples: int
    swap_probability: float
    max_displacement: float
    trace_every: int = 10


@dataclass(frozen=True)
class InherentStructureSettings:
    force_tolerance: float = 1e-8


@dataclass(frozen=True)
class LargeBoxSettings:
    """Large equilibrated boxes for S4(q) and ξ4 [J] (swap settings reused from ``swap_mc``).

    ``tiles_per_side`` k: each of the first ``n_boxes`` swap-MC equilibria of a partition is tiled k × k
    and re-equilibrated by swap MC until its overlap with the tiled start is below 1/e, checked every
    ``overlap_every`` sweeps, at most ``max_sweeps``. S4(q) is evaluated up to ``q_max`` (σ⁻¹) and ξ4 fitted
    with ``oz_model`` (``oz``: [J] eq. (11); ``oz_cubic``: with the third-order term of [J] App. C, see
    :mod:`glass_core.dynamics.four_point_structure_factor`).
    """

    tiles_per_side: int
    n_boxes: int
    max_sweeps: int
    overlap_every: int
    q_max: float
    oz_model: str = "oz"

    def __post_init__(self) -> None:
        if self.tiles_per_side < 1 or self.n_boxes < 1 or self.max_sweeps < 1 or self.overlap_every < 1:
            raise ValueError("tiles_per_side, n_boxes, max_sweeps and overlap_every must be at least 1")
        if not self.q_max > 0:
            raise ValueError(f"q_max must be positive, got {self.q_max}")
        if self.oz_model not in ("oz", "oz_cubic"):
            raise ValueError(f"oz_model must be 'oz' or 'oz_cubic', got {self.oz_model!r}")


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
class CoolingRateStudySettings:
    """Glasses quenched to T_G at several cooling rates, for C(1−Θ,Υ) against the rate [O].

    ``rates``: cooling rates |dT/dt| (LJ units, e.g. 2e-2, 2e-3, 2e-4; [O] uses 8.33e-5), each with its
    ``glasses_per_rate`` independent quenches of ``n_particles``; every other quench parameter is the profile's
    ``quench.protocol``. One glass costs ≈ (T_high − T_G)/rate/dt MD steps: at N = 2000 and ≈ 1.9×10³ steps/s
    on a free core (measured), ≈ 23 s at 2e-2, ≈ 3.5 min at 2e-3, ≈ 35 min at 2e-4.

    ``cnn_inputs``: for each input kind (``density``, ``per_type``) a CNN with the profile's ``cnn`` settings and
    the global-average head is trained on the T_L / T_G quenched ensembles, then its Grad-CAM Γ is computed on
    every glass of every rate (same pixel size, larger grid) and correlated with Υ and 1 − Θ [O §IV C].
    """

    n_particles: int
    rates: tuple[float, ...]
    glasses_per_rate: tuple[int, ...]
    #: CNN inputs whose Grad-CAM correlations C(Γ,Υ), C(Γ,1−Θ) are measured on every glass (empty: none)
    cnn_inputs: tuple[str, ...] = ("density", "per_type")

    def __post_init__(self) -> None:
        unknown = [kind for kind in self.cnn_inputs if kind not in INPUT_KINDS]
        if unknown or len(set(self.cnn_inputs)) != len(self.cnn_inputs):
            raise ValueError(
                f"cooling_rate_study.cnn_inputs must be distinct entries of {list(INPUT_KINDS)}, got "
                f"{list(self.cnn_inputs)}"
            )
        if not self.rates or len(self.rates) != len(self.glasses_per_rate):
            raise ValueError(
                f"cooling_rate_study needs one glasses_per_rate entry per rate, got rates {list(self.rates)} and "
                f"glasses_per_rate {list(self.glasses_per_rate)}"
            )
        if not all(rate > 0 for rate in self.rates) or len(set(self.rates)) != len(self.rates):
            raise ValueError(f"cooling_rate_study.rates must be distinct and positive, got {list(self.rates)}")
        if not all(count >= 1 for count in self.glasses_per_rate):
            raise ValueError(f"cooling_rate_study.glasses_per_rate must be ≥ 1, got {list(self.glasses_per_rate)}")
        if self.n_particles < 2:
            raise ValueError(f"cooling_rate_study.n_particles must be ≥ 2, got {self.n_particles}")

    def plan(self) -> list[tuple[float, int]]:
        """(rate, number of glasses) in the profile's order."""
        return list(zip(self.rates, self.glasses_per_rate, strict=True))


@dataclass(frozen=True)
class ProvenanceSettings:
    """Which profile settings may differ between the rows one stage combines.

    Every warehouse row set records the digest of each setting it was computed with
    (:mod:`glass_assets.provenance`); a stage that would combine rows whose digests differ (training on several
    temperatures, χ4 over configurations, the paper report) refuses, naming both. ``allow_mixed`` lists the
    settings (``section`` or ``section.key``, e.g. ``propensity.n_samples``) whose mix is intended.
    """

    allow_mixed: tuple[str, ...] = ()


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


class ProfileError(ValueError):
    """A profile is unknown, lacks a section a stage needs, or has a key of the wrong name or type."""


Section = TypeVar("Section")


def _section(profile: str, name: str, cls: type[Section], raw: Any) -> Section:
    """Build section ``name`` as ``cls``: unknown or missing keys and bad values raise naming the key."""
    if not isinstance(raw, dict):
        raise ProfileError(f"profile {profile!r}: section {name!r} must be a mapping, got {raw!r}")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(raw) - set(fields))
    if unknown:
        raise ProfileError(f"profile {profile!r}: unknown key(s) {unknown} in {name!r}; known: {sorted(fields)}")
    missing = [
        key
        for key, f in fields.items()
        if key not in raw and f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
    ]
    if missing:
        raise ProfileError(f"profile {profile!r}: {name!r} needs key(s) {missing}")
    values = {}
    for key, value in raw.items():
        kind = fields[key].type
        try:
            values[key] = _convert(kind, value)
        except (TypeError, ValueError) as error:
            raise ProfileError(f"profile {profile!r}: {name}.{key} = {value!r} is not a valid {kind}") from error
    try:
        section = cls(**values)
    except ValueError as error:  # a section's own check of its values (``__post_init__``)
        raise ProfileError(f"profile {profile!r}: {error}") from error
    for key, value in values.items():  # then what every section shares: counts ≥ 1, times > 0
        _check_number(profile, f"{name}.{key}", fields[key].type, value)
    return section


#: integer settings that may be 0; every other count (samples, replicas, chains, sweeps, epochs, …) must be ≥ 1
ZERO_ALLOWED_INTS = frozenset({"equilibration_sweeps", "seed", "base_seed", "training_threads"})
#: float settings that may be 0; every other time, rate, length, width or tolerance must be > 0
ZERO_ALLOWED_FLOATS = frozenset({"dropout", "weight_decay", "equilibration_time", "hold_time", "swap_probability"})


def _check_number(profile: str, path: str, kind: str, value: Any) -> None:
    """Counts ≥ 1, times, rates and lengths > 0 (those of :data:`ZERO_ALLOWED_INTS`/``_FLOATS`` ≥ 0), all finite;
    a bad value raises naming ``path`` (``section.key``)."""
    key = path.rsplit(".", 1)[-1]

    def bad(why: str) -> ProfileError:
        return ProfileError(f"profile {profile!r}: {path} = {value!r} {why}")

    if kind == "int":
        floor = 0 if key in ZERO_ALLOWED_INTS else 1
        if value < floor:
            raise bad(f"must be ≥ {floor}")
    elif kind == "float":
        if not math.isfinite(value):
            raise bad("must be finite")
        if value < 0 or (value == 0 and key not in ZERO_ALLOWED_FLOATS):
            raise bad("must be ≥ 0" if key in ZERO_ALLOWED_FLOATS else "must be > 0")
    elif kind.startswith("tuple[int"):
        if any(v < 1 for v in value):
            raise bad("must hold counts ≥ 1")
    elif kind.startswith("tuple[float"):
        if any(not math.isfinite(v) or v < 0 for v in value):
            raise bad("must hold finite values ≥ 0")
    elif kind.endswith("dict[str, float | dict[str, float]]"):
        numbers = [value] if not isinstance(value, dict) else [
            v for entry in value.values() for v in (entry.values() if isinstance(entry, dict) else [entry])
        ]
        if any(not math.isfinite(v) or v <= 0 for v in numbers):
            raise bad("must hold finite values > 0")
        if kind.startswith("int") and any(float(v) != int(v) for v in numbers):
            raise bad("must hold whole numbers")


def _convert(kind: str, value: Any) -> Any:
    """Convert a YAML value to the annotated type (annotations are strings under postponed evaluation)."""
    if kind in ("int", "float", "str"):
        if kind == "int" and (isinstance(value, bool) or float(value) != int(value)):
            raise ValueError("not an integer")
        return {"int": int, "float": float, "str": str}[kind](value)
    if kind == "bool":
        if not isinstance(value, bool):
            raise TypeError("not a boolean")
        return value
    if kind in ("float | dict[str, float | dict[str, float]]", "int | dict[str, float | dict[str, float]]"):
        table = _window_table(value)
        if kind.startswith("int") and not isinstance(table, dict):
            if float(table) != int(table):
                raise ValueError("not an integer")
            return int(table)
        return table
    if kind.startswith("tuple["):
        element = {"float": float, "int": int, "str": str}[kind[6:].split(",")[0].strip()]
        return tuple(element(v) for v in value)
    if kind == "dict[str, bool | tuple[float, ...]]":  # per system: true, or a list of temperatures
        if not isinstance(value, dict):
            raise TypeError("not a mapping system → true or a list of temperatures")
        return {
            str(system): entry if isinstance(entry, bool) else tuple(float(t) for t in entry)
            for system, entry in value.items()
        }
    return value


@dataclass(frozen=True)
class Profile:
    """One study profile; a section a profile leaves out is ``None`` and raises when a stage asks for it."""

    name: str
    description: str
    base_seed: int
    quench: QuenchSettings
    raw: dict[str, Any]
    descriptors: DescriptorSettings = DescriptorSettings()
    cnn_settings: CNNSettings | None = None
    propensity_settings: PropensitySettings | None = None
    swap_mc_settings: SwapMCSettings | None = None
    inherent_structures: InherentStructureSettings = InherentStructureSettings()
    propensity_learning_settings: PropensityLearningSettings | None = None
    heterogeneity: HeterogeneitySettings = HeterogeneitySettings()
    large_box_settings: LargeBoxSettings | None = None
    cooling_rate_study_settings: CoolingRateStudySettings | None = None
    provenance: ProvenanceSettings = ProvenanceSettings()
    compute: ComputeSettings = ComputeSettings()
    path: Path = PROFILES_FILE

    def _required(self, section: str, value: Section | None) -> Section:
        if value is None:
            raise ProfileError(f"profile {self.name!r} has no {section!r} section")
        return value

    @property
    def coarse_graining_length(self) -> float:
        return self.descriptors.coarse_graining_length

    @property
    def cnn(self) -> CNNSettings:
        return self._required("cnn", self.cnn_settings)

    @property
    def propensity(self) -> PropensitySettings:
        return self._required("propensity", self.propensity_settings)

    @property
    def swap_mc(self) -> SwapMCSettings:
        return self._required("swap_mc", self.swap_mc_settings)

    @property
    def propensity_learning(self) -> PropensityLearningSettings:
        return self._required("propensity_learning", self.propensity_learning_settings)

    @property
    def large_box(self) -> LargeBoxSettings:
        return self._required("large_box", self.large_box_settings)

    @property
    def cooling_rate_study(self) -> CoolingRateStudySettings:
        return self._required("cooling_rate_study", self.cooling_rate_study_settings)


#: the profile sections a profiles file may hold (besides ``description`` and ``base_seed``)
SECTIONS: dict[str, type] = {
    "descriptors": DescriptorSettings,
    "cnn": CNNSettings,
    "propensity": PropensitySettings,
    "swap_mc": SwapMCSettings,
    "inherent_structures": InherentStructureSettings,
    "propensity_learning": PropensityLearningSettings,
    "heterogeneity": HeterogeneitySettings,
    "large_box": LargeBoxSettings,
    "cooling_rate_study": CoolingRateStudySettings,
    "provenance": ProvenanceSettings,
    "compute": ComputeSettings,
}
QUENCH_KEYS = ("n_samples", "n_particles", "protocol")


def setting_paths() -> list[str]:
    """Every setting a profile can hold, as ``section.key`` (``base_seed`` alone): what a row set's provenance
    records and what ``provenance.allow_mixed`` may name."""
    paths = ["base_seed", *(f"quench.{key}" for key in QUENCH_KEYS)]
    for section, cls in SECTIONS.items():
        if section not in ("provenance", "compute"):
            paths += [f"{section}.{f.name}" for f in dataclasses.fields(cls)]
    return paths


def _read(path: Path) -> dict[str, Any]:
    try:
        profiles = yaml.safe_load(Path(path).read_text())
    except OSError as error:
        raise ProfileError(f"cannot read the profiles file {path}: {error}") from error
    except yaml.YAMLError as error:
        raise ProfileError(f"{path} is not valid YAML: {error}") from error
    if not isinstance(profiles, dict) or not all(isinstance(v, dict) for v in profiles.values()):
        raise ProfileError(f"{path} must map profile names to their settings")
    return profiles


def load_profile(name: str, path: Path = PROFILES_FILE) -> Profile:
    """The profile called ``name`` from ``path``; a clear error, naming the file, the profile and the key, for an
    unknown or malformed one (a negative count, a zero time step, an unknown key, a window shorter than one MD step,
    a species or system the platform lacks)."""
    path = Path(path)
    profiles = _read(path)
    if name not in profiles:
        raise ProfileError(f"unknown profile {name!r} in {path}; known: {', '.join(profiles)}")
    try:
        return _build(name, profiles[name], path)
    except ProfileError as error:
        message = str(error)
        raise ProfileError(message if str(path) in message else f"{path}: {message}") from error


def validate_profiles_file(path: Path = PROFILES_FILE) -> list[str]:
    """Load every profile of ``path`` (the first error raises, naming file, profile and key); their names."""
    names = list(_read(Path(path)))
    for name in names:
        load_profile(name, Path(path))
    return names


def configured_profile() -> Profile:
    """The profile the platform runs with: ``GLASS_PROFILE`` (default ``demo``) of ``GLASS_PROFILES_FILE`` (default
    the shipped ``profiles.yaml``), after every profile of that file validated. Definitions load and every entry
    point call it, so a bad profile stops them before anything is requested or written."""
    path = Path(env.PROFILES_FILE.raw() or PROFILES_FILE)
    validate_profiles_file(path)
    return load_profile(env.PROFILE.get(), path)


def _build(name: str, raw: dict[str, Any], path: Path) -> Profile:
    known = {"description", "base_seed", "quench", *SECTIONS}
    unknown = sorted(set(raw) - known)
    if unknown:
        raise ProfileError(f"profile {name!r}: unknown section(s) {unknown}; known: {sorted(known)}")
    quench = raw.get("quench")
    if not isinstance(quench, dict):
        raise ProfileError(f"profile {name!r}: section 'quench' is missing or not a mapping")
    unknown = sorted(set(quench) - set(QUENCH_KEYS))
    missing = [key for key in QUENCH_KEYS if key not in quench]
    if unknown or missing:
        raise ProfileError(
            f"profile {name!r}: " + (f"unknown key(s) {unknown} in 'quench'; " if unknown else "")
            + (f"'quench' needs key(s) {missing}" if missing else f"known: {list(QUENCH_KEYS)}")
        )
    n_samples = _integer(name, "quench.n_samples", quench["n_samples"])
    base_seed = _integer(name, "base_seed", raw.get("base_seed"))
    if not isinstance(quench["n_particles"], dict):
        raise ProfileError(f"profile {name!r}: quench.n_particles must map systems to box sizes")
    n_particles = {}
    for system, count in quench["n_particles"].items():
        _known_system(name, "quench.n_particles", system)
        if isinstance(count, bool) or not isinstance(count, int) or count < 2:
            raise ProfileError(f"profile {name!r}: quench.n_particles.{system} = {count!r} must be a count ≥ 2")
        n_particles[str(system)] = count
    protocol = quench["protocol"]
    fields = {f.name for f in dataclasses.fields(QuenchProtocol)}
    if not isinstance(protocol, dict) or set(protocol) - fields:
        extra = sorted(set(protocol) - fields) if isinstance(protocol, dict) else protocol
        raise ProfileError(f"profile {name!r}: unknown key(s) {extra} in 'quench.protocol'; known: {sorted(fields)}")
    for key, value in protocol.items():
        if key in ("thermo_interval",):
            _check_number(name, f"quench.protocol.{key}", "int", value)
        elif key != "pair_style" and value is not None:
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ProfileError(f"profile {name!r}: quench.protocol.{key} = {value!r} is not a number")
            _check_number(name, f"quench.protocol.{key}", "float", float(value))
    try:
        settings = QuenchSettings(n_samples=n_samples, n_particles=n_particles, protocol=QuenchProtocol(**protocol))
    except (TypeError, ValueError) as error:
        raise ProfileError(f"profile {name!r}: quench.protocol: {error}") from error

    sections = {section: _section(name, section, cls, raw[section]) for section, cls in SECTIONS.items()
                if section in raw}
    propensity = sections.get("propensity")
    if propensity is not None:
        _check_windows(name, propensity)
    learning = sections.get("propensity_learning")
    if learning is not None:
        from glass_core.learning.mlp_settings import MLPSettingsError, MLPTrainingSettings

        try:
            MLPTrainingSettings.from_mapping(learning.training)
        except (MLPSettingsError, TypeError, ValueError) as error:
            raise ProfileError(f"profile {name!r}: propensity_learning.training: {error}") from error
    provenance = sections.get("provenance", ProvenanceSettings())
    paths = setting_paths()
    for entry in provenance.allow_mixed:
        if entry not in paths and entry not in {p.split(".")[0] for p in paths}:
            raise ProfileError(f"profile {name!r}: provenance.allow_mixed names {entry!r}, which is no setting; "
                               f"known: sections or section.key, e.g. {paths[:3]}")
    return Profile(
        name,
        raw.get("description", ""),
        base_seed,
        settings,
        raw,
        descriptors=sections.get("descriptors") or DescriptorSettings(),
        cnn_settings=sections.get("cnn"),
        propensity_settings=propensity,
        swap_mc_settings=sections.get("swap_mc"),
        inherent_structures=sections.get("inherent_structures") or InherentStructureSettings(),
        propensity_learning_settings=learning,
        heterogeneity=sections.get("heterogeneity") or HeterogeneitySettings(),
        large_box_settings=sections.get("large_box"),
        cooling_rate_study_settings=sections.get("cooling_rate_study"),
        provenance=provenance,
        compute=sections.get("compute") or ComputeSettings(),
        path=path,
    )


def _integer(profile: str, key: str, value: object) -> int:
    try:
        number = _convert("int", value)
    except (TypeError, ValueError) as error:
        raise ProfileError(f"profile {profile!r}: {key} = {value!r} is not an integer") from error
    _check_number(profile, key, "int", number)
    return number


def _known_system(profile: str, key: str, system: object) -> None:
    try:
        get_system(str(system))
    except (KeyError, ValueError) as error:
        raise ProfileError(f"profile {profile!r}: {key} names system {system!r}, which the platform lacks") from error


def _check_windows(profile: str, settings: PropensitySettings) -> None:
    """Per-system tables name known systems, and every replica window lasts at least one MD step (one frame)."""
    for key in ("max_time", "n_samples", "tau_alpha_beyond_window"):
        table = getattr(settings, key)
        for system in table if isinstance(table, dict) else []:
            _known_system(profile, f"propensity.{key}", system)
    table = settings.max_time
    entries = table.items() if isinstance(table, dict) else [(None, table)]
    for system, entry in entries:
        systems = [system] if system is not None else list(SYSTEMS)
        windows = entry.items() if isinstance(entry, dict) else [(WINDOW_DEFAULT, entry)]
        for where, window in windows:
            for name in systems:
                step = get_system(name).md_timestep
                if window < step:
                    at = f".{system}" if system else ""
                    at += f".{where}" if isinstance(entry, dict) else ""
                    raise ProfileError(
                        f"profile {profile!r}: propensity.max_time{at} = {window!r} is shorter than one frame (the "
                        f"MD step of {name}, {step})"
                    )
