"""The :class:`Profile` and where it comes from: reading a profiles file, building and validating each profile
(unknown keys, bad values, windows shorter than one MD step, systems and species the platform lacks, all named
with file, profile and key), and the profile the platform runs with (``GLASS_PROFILE`` of ``GLASS_PROFILES_FILE``).
Also every setting a profile can hold (:func:`setting_paths`) and the ``provenance`` section, whose
``allow_mixed`` names some of them.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from glass_assets import settings as env
from glass_assets.profiles.analysis import (
    CNNSettings,
    ComputeSettings,
    DescriptorSettings,
    HeterogeneitySettings,
    PropensityLearningSettings,
)
from glass_assets.profiles.parsing import WINDOW_DEFAULT, ProfileError, Section, _check_number, _convert, _section
from glass_assets.profiles.simulation import (
    CoolingRateStudySettings,
    InherentStructureSettings,
    LargeBoxSettings,
    PropensitySettings,
    QuenchSettings,
    SwapMCSettings,
)
from glass_core.models.systems import SYSTEMS, get_system
from glass_core.simulation.quench import QuenchProtocol

__all__ = [
    "PROFILES_FILE",
    "QUENCH_KEYS",
    "SECTIONS",
    "Profile",
    "ProvenanceSettings",
    "configured_profile",
    "load_profile",
    "setting_paths",
    "validate_profiles_file",
]

#: the shipped ``glass_assets/profiles.yaml``, next to this package
PROFILES_FILE = Path(__file__).parent.with_name("profiles.yaml")


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
