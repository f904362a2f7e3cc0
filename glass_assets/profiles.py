"""Study profiles (``profiles.yaml``): sizes and protocols chosen by configuration, not code edits."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import yaml

from glass_core.learning.classifier_gate import ClassifierGate, GateError
from glass_core.learning.cnn import HEADS
from glass_core.models.systems import get_system
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
    "QuenchSettings",
    "SwapMCSettings",
    "load_profile",
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


@dataclass(frozen=True)
class PropensitySettings:
    """Isoconfigurational runs: ``max_time`` in LJ time, one number, one per system, or per run temperature.

    A system's entry may be a mapping run temperature → time with an optional ``default`` for the
    temperatures it does not list, e.g. ``kam: {0.37: 300.0, default: 100.0}``: the cage-relative clock δ(t)
    of the T_G glasses reaches 1 three times later at T* than at 1.5 T* (``benchmarks/delta_clock_time.py``).
    """

    n_samples: int
    n_replicas: int
    max_time: float | dict[str, float | dict[str, float]]
    per_decade: int = 8
    ensemble: str = "nvt"

    def max_time_for(self, system: str, temperature: float | None = None) -> float:
        """LJ time of the replica runs of ``system`` at run ``temperature``; a missing entry raises."""
        if not isinstance(self.max_time, dict):
            return float(self.max_time)
        if system not in self.max_time:
            raise ProfileError(f"propensity.max_time has no entry for system {system!r}")
        entry = self.max_time[system]
        if not isinstance(entry, dict):
            return float(entry)
        for key, value in entry.items():
            if key != WINDOW_DEFAULT and temperature is not None and math.isclose(float(key), temperature):
                return float(value)
        if WINDOW_DEFAULT in entry:
            return float(entry[WINDOW_DEFAULT])
        raise ProfileError(
            f"propensity.max_time of {system!r} has no entry for T = {temperature} and no {WINDOW_DEFAULT!r}"
        )


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
    """

    descriptor_lengths: tuple[float, ...]
    state_point_targets: tuple[float, ...]
    training: dict[str, Any]

    def __post_init__(self) -> None:
        if not self.descriptor_lengths:
            raise ValueError("descriptor_lengths is empty: list the coarse-graining lengths L (0 = the particle alone)")
        if not self.state_point_targets or not all(0.0 < t < 1.0 for t in self.state_point_targets):
            raise ValueError(f"state_point_targets must be ⟨C_B⟩ values in (0, 1), got {self.state_point_targets}")


@dataclass(frozen=True)
class HeterogeneitySettings:
    """Dynamic heterogeneity [J]: χ4 bootstrap, chord-length lattice and attention-length aggregation.

    ``chi4_bootstrap``: resamples of configurations for the χ4 standard errors; ``chord_cell_size``: lattice
    site side (σ) of the chord length; ``chord_median_over``: 'ensemble' ([J]: one median per state point) or
    'configuration'; ``chord_site_rule``: 'mean_propensity' or 'active_fraction' (see
    :mod:`glass_core.dynamics.length_scales`); ``attention_aggregate``: 'mean' ([J]) or 'sum' over the
    descriptors of one coarse-graining length.
    """

    chi4_bootstrap: int = 1000
    chord_cell_size: float = 1.0
    chord_median_over: str = "ensemble"
    chord_site_rule: str = "mean_propensity"
    attention_aggregate: str = "mean"

    def __post_init__(self) -> None:
        if self.chi4_bootstrap < 2:
            raise ValueError(f"chi4_bootstrap must be ≥ 2, got {self.chi4_bootstrap}")
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
        return cls(**values)
    except ValueError as error:  # a section's own check of its values (``__post_init__``)
        raise ProfileError(f"profile {profile!r}: {error}") from error


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
    if kind == "float | dict[str, float | dict[str, float]]":
        return _window_table(value)
    if kind.startswith("tuple["):
        element = {"float": float, "int": int, "str": str}[kind[6:].split(",")[0].strip()]
        return tuple(element(v) for v in value)
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


def load_profile(name: str, path: Path = PROFILES_FILE) -> Profile:
    """The profile called ``name`` from ``path``; a clear error for an unknown or malformed one."""
    profiles = yaml.safe_load(path.read_text())
    if name not in profiles:
        raise ProfileError(f"unknown profile {name!r} in {path}; known: {', '.join(profiles)}")
    raw = profiles[name]
    known = {
        "description",
        "base_seed",
        "quench",
        "descriptors",
        "cnn",
        "propensity",
        "swap_mc",
        "inherent_structures",
        "propensity_learning",
        "heterogeneity",
        "large_box",
        "cooling_rate_study",
    }
    unknown = sorted(set(raw) - known)
    if unknown:
        raise ProfileError(f"profile {name!r} in {path}: unknown section(s) {unknown}; known: {sorted(known)}")
    try:
        quench = raw["quench"]
        for system in quench["n_particles"]:
            get_system(system)
        settings = QuenchSettings(
            n_samples=int(quench["n_samples"]),
            n_particles={k: int(v) for k, v in quench["n_particles"].items()},
            protocol=QuenchProtocol(**quench["protocol"]),
        )
        base_seed = int(raw["base_seed"])
    except (KeyError, TypeError) as error:
        raise ProfileError(f"profile {name!r} in {path} is malformed: {error!r}") from error

    def optional(section: str, cls: type[Section]) -> Section | None:
        return _section(name, section, cls, raw[section]) if section in raw else None

    return Profile(
        name,
        raw.get("description", ""),
        base_seed,
        settings,
        raw,
        descriptors=optional("descriptors", DescriptorSettings) or DescriptorSettings(),
        cnn_settings=optional("cnn", CNNSettings),
        propensity_settings=optional("propensity", PropensitySettings),
        swap_mc_settings=optional("swap_mc", SwapMCSettings),
        inherent_structures=optional("inherent_structures", InherentStructureSettings) or InherentStructureSettings(),
        propensity_learning_settings=optional("propensity_learning", PropensityLearningSettings),
        heterogeneity=optional("heterogeneity", HeterogeneitySettings) or HeterogeneitySettings(),
        large_box_settings=optional("large_box", LargeBoxSettings),
        cooling_rate_study_settings=optional("cooling_rate_study", CoolingRateStudySettings),
    )
