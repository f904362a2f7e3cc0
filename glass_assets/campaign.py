"""The campaign file: which systems and temperatures a study covers.

Format (YAML)::

    systems:
      abm:
        quench: [2.0, 0.05]      # temperatures of quenched ensembles (+ their structural descriptors)
        liquid_glass: true       # CNN, Grad-CAM and correlations on the T_L / T_G ensembles
        propensity: [1.0, 1.5]   # isoconfigurational MD of the T_G glasses at these temperatures
        grad_cam_dynamics: true  # C(Γ, 1−Δ) against δ(t) once the CNN and the labels exist
        cooling_rate_study: true # glasses at the profile's cooling rates: C(1−Θ,Υ), C(Γ,·) against the rate
      ka2d_ternary:
        swap_mc: [0.4, 0.3]      # swap-MC equilibria and their inherent structures
        propensity: [0.4]        # bond-breaking labels from isoconfigurational MD of the equilibria
        propensity_learning: true  # descriptors (every swap_mc T), state-point labels (every propensity T),
                                   # GlassMLP + tGlassMLP, the held-out test (≥ 2 propensity T), predictions
                                   # at every swap_mc T
        heterogeneity: true      # χ4 and chord length at every swap_mc T, attention lengths, summary figure
        large_box: [0.3]         # large tiled boxes (subset of swap_mc), then S4(q) and ξ4 with the champion
        proposals: true          # campaign_proposals: where the next CPU-hours buy the most (glass_assets.proposals)
        settings: {propensity.max_time: {0.5: 700}}  # this system's profile values at listed temperatures
      kam:
        quench: [0.8, 0.05]

An outside test set, GlassBench KA2D (``ka2d_ternary`` only; no download at run time)::

      ka2d_ternary:
        glassbench:
          folder: /data/glassbench/particle_cache   # relative paths: from the campaign file's folder
          temperatures: [0.23, 0.3]                 # each needs at least one file of that temperature

A system's ``settings`` override the profile at listed temperatures of its ``propensity`` list (the keys of
:data:`CAMPAIGN_SETTINGS`: the isoconfigurational window and the configurations labelled); an accepted campaign
proposal writes them (:mod:`glass_assets.proposals.accept`). Like any profile edit, an override changes that setting's
digest for the system, so the assets that read it are computed again at every temperature of the system.

Optional, at the top level: ``backfill_schedule: "0 2 * * *"`` (cron, UTC), when every campaign
partition still missing is requested as one backfill (default nightly at 02:00); ``autopilot:
{cpu_hours_per_night: 2.0}`` (off without it), the CPU-hours the ``campaign_autopilot`` schedule may spend each
night by accepting the best campaign proposals (:mod:`glass_assets.proposals.autopilot`).

Adding a temperature to a list adds the partition at the campaign sensor's next tick (30 s) and the
automation requests it at its next tick; the nightly backfill catches anything still missing.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from pathlib import Path

import yaml

from glass_assets.partitions import temperature_key
from glass_assets.profiles import Profile
from glass_assets.profiles.parsing import WINDOW_DEFAULT
from glass_assets.settings import CAMPAIGN
from glass_core.dynamics.glassbench import SYSTEM_NAME as GLASSBENCH_SYSTEM
from glass_core.dynamics.glassbench import find_glassbench_files
from glass_core.models.systems import SYSTEMS, get_system

__all__ = ["CAMPAIGN_SETTINGS", "CAMPAIGN_STAGES", "Campaign", "default_campaign_path", "load_campaign",
           "with_campaign_settings"]

#: Campaign stage → assets one run of it materializes (per (system, temperature) or per system).
CAMPAIGN_STAGES = {
    "quench": ("quenched_ensembles", "structural_descriptors"),
    "liquid_glass": ("cnn_classifier", "grad_cam_scores", "indicator_correlations"),
    "propensity": ("propensity_labels",),
    "swap_mc": ("swap_mc_equilibria", "inherent_structures"),
    "grad_cam_dynamics": ("grad_cam_dynamics",),
    "propensity_learning": (
        "mlp_descriptors",
        "state_point_labels",
        "glassmlp_models",
        "tglassmlp_model",
        "transferability",
        "propensity_predictions",
    ),
    "heterogeneity": ("dynamic_heterogeneity", "attention_lengths", "heterogeneity_summary"),
    "glassbench": ("glassbench_samples", "glassbench_scores"),
    "large_box": ("large_box_equilibria", "four_point_structure_factor"),
    "cooling_rate_study": ("cooling_rate_study",),
    "proposals": ("campaign_proposals",),
}
PER_SYSTEM_STAGES = {
    "liquid_glass", "grad_cam_dynamics", "propensity_learning", "heterogeneity", "cooling_rate_study", "proposals",
}  # fmt: skip
#: what a system can run: [O]'s quench protocol needs its T_L and T_G; [J]'s stages start from swap-MC equilibria
QUENCH_STAGES = frozenset({"quench", "liquid_glass", "propensity", "grad_cam_dynamics", "cooling_rate_study"})
EQUILIBRIUM_STAGES = frozenset(
    {"swap_mc", "propensity", "propensity_learning", "heterogeneity", "large_box", "glassbench", "proposals"}
)
#: stages that read what other stages of the same system produce
REQUIRES = {
    "liquid_glass": ("quench",),
    "grad_cam_dynamics": ("liquid_glass", "propensity"),
    "propensity_learning": ("swap_mc", "propensity"),
    "heterogeneity": ("propensity_learning",),
    "large_box": ("swap_mc", "propensity_learning"),
    "cooling_rate_study": ("quench",),  # its CNNs train on the T_L / T_G ensembles
    "proposals": ("heterogeneity",),  # priced on the χ4 of every swap-MC temperature and the held-out test
}
#: profile settings a campaign may set per system and temperature (``settings:``), with the smallest value allowed
CAMPAIGN_SETTINGS = {"propensity.max_time": 0.0, "propensity.n_samples": 2}
#: above this a "temperature" in LJ units is a typo (the studies run at 0.05–4)
MAX_TEMPERATURE = 100.0
#: when missing partitions are launched unless the campaign says otherwise: nightly at 02:00 UTC
DEFAULT_BACKFILL_SCHEDULE = "0 2 * * *"


def with_campaign_settings(profile: Profile, campaign: Campaign) -> Profile:
    """``profile`` with the campaign's ``settings`` overrides: each (system, T) value joins the setting's per-system,
    per-temperature table (``{<T>: value, default: <what the profile had>}``), so every other system and temperature
    keeps its value."""
    if not campaign.settings:
        return profile
    propensity = profile.propensity
    for system, key, temperature, value in campaign.settings:
        field = key.split(".", 1)[1]
        table = getattr(propensity, field)
        table = dict(table) if isinstance(table, dict) else {name: table for name in SYSTEMS}
        entry = table.get(system)
        if entry is None:
            raise ValueError(f"the profile's propensity.{field} has no entry for {system} to override")
        entry = dict(entry) if isinstance(entry, dict) else {WINDOW_DEFAULT: entry}
        t = float(temperature)
        entry = {k: v for k, v in entry.items() if k == WINDOW_DEFAULT or not math.isclose(float(k), t)}
        table[system] = {temperature: value, **entry}
        propensity = dataclasses.replace(propensity, **{field: table})
    return dataclasses.replace(profile, propensity_settings=propensity)


def default_campaign_path() -> Path:
    """``$GLASS_CAMPAIGN`` or ``campaign.yaml`` at the repository root."""
    return CAMPAIGN.get()


@dataclass(frozen=True)
class Campaign:
    """(stage, system, temperature key) entries and per-system stages of a campaign file."""

    entries: tuple[tuple[str, str, str], ...]
    system_stages: tuple[tuple[str, str], ...] = ()
    glassbench_folders: tuple[tuple[str, str], ...] = ()
    backfill_schedule: str = DEFAULT_BACKFILL_SCHEDULE
    #: CPU-hours the autopilot may spend per night accepting proposals; None: off
    autopilot_cpu_hours: float | None = None
    #: (system, setting, temperature key, value) overrides of the profile (``settings:``)
    settings: tuple[tuple[str, str, str, float], ...] = ()

    @property
    def systems(self) -> list[str]:
        return list(dict.fromkeys([s for _, s, _ in self.entries] + [s for _, s in self.system_stages]))

    def stages_of(self, system: str) -> set[str]:
        return {s for s, name, _ in self.entries if name == system} | {
            s for s, name in self.system_stages if name == system
        }

    def asset_names(self, system: str) -> set[str]:
        """The assets the campaign builds for ``system`` (GlassBench scores only where a tGlassMLP is trained; the
        held-out test only where at least two temperatures have MD labels)."""
        stages = self.stages_of(system)
        names = {name for stage in stages for name in CAMPAIGN_STAGES[stage]}
        if "propensity_learning" not in stages:
            names -= {"glassbench_scores"}
        if len(self.temperatures(system, "propensity")) < 2:
            names -= {"transferability"}
        return names

    def temperatures(self, system: str, stage: str) -> list[str]:
        return [t for s, name, t in self.entries if s == stage and name == system]

    def glassbench_folder(self, system: str) -> Path:
        """The GlassBench folder the campaign points ``system`` at; a clear error if it names none."""
        for name, folder in self.glassbench_folders:
            if name == system:
                return Path(folder)
        raise ValueError(f"the campaign names no GlassBench folder for {system}: add {system}.glassbench.folder")

    def systems_for(self, stage: str) -> list[str]:
        return [system for s, system in self.system_stages if s == stage]

    @property
    def temperature_keys(self) -> list[str]:
        return sorted({t for _, _, t in self.entries}, key=float)

    def for_stage(self, stage: str) -> list[tuple[str, str]]:
        return [(system, t) for s, system, t in self.entries if s == stage]


def load_campaign(path: Path | None = None) -> Campaign:
    """Parse and validate a campaign file; errors name the file and the offending entry."""
    path = Path(path or default_campaign_path())
    try:
        document = yaml.safe_load(path.read_text()) or {}
    except (OSError, yaml.YAMLError) as error:
        raise ValueError(f"cannot read campaign file {path}: {error}") from error
    systems = document.get("systems")
    if not isinstance(systems, dict):
        raise ValueError(f"{path}: expected a 'systems' mapping of system name → stages")
    entries, system_stages, glassbench_folders, overrides = [], [], [], []
    for system, stages in systems.items():
        try:
            get_system(system)
        except ValueError as error:
            raise ValueError(f"{path}: {error}") from None
        for stage, temperatures in (stages or {}).items():
            if stage == "settings":
                overrides += _settings_entry(path, system, temperatures)
                continue
            if stage not in CAMPAIGN_STAGES:
                raise ValueError(f"{path}: unknown stage {stage!r} for {system}; known: {sorted(CAMPAIGN_STAGES)}")
            if stage == "glassbench":
                folder, keys = _glassbench_entry(path, system, temperatures)
                system_stages.append(("glassbench", system))
                glassbench_folders.append((system, str(folder)))
                entries += [("glassbench", system, key) for key in keys]
                continue
            if stage in PER_SYSTEM_STAGES:
                if not isinstance(temperatures, bool):
                    raise ValueError(f"{path}: {system}.{stage} takes true or false, not {temperatures!r}")
                if temperatures:
                    system_stages.append((stage, system))
                continue
            if not isinstance(temperatures, list):
                raise ValueError(f"{path}: {system}.{stage} takes a list of temperatures, not {temperatures!r}")
            for value in temperatures:
                try:
                    key = temperature_key(value)
                except ValueError as error:
                    raise ValueError(f"{path}: {system}.{stage}: {error}") from None
                if float(key) > MAX_TEMPERATURE:
                    raise ValueError(
                        f"{path}: {system}.{stage}: temperature {value!r} is above {MAX_TEMPERATURE:g} in LJ units"
                    )
                entries.append((stage, system, key))
    campaign = Campaign(
        tuple(dict.fromkeys(entries)),
        tuple(system_stages),
        tuple(glassbench_folders),
        _backfill_schedule(path, document.get("backfill_schedule", DEFAULT_BACKFILL_SCHEDULE)),
        _autopilot(path, document.get("autopilot")),
        tuple(overrides),
    )
    for system in campaign.systems:
        _check_stages(path, system, campaign.stages_of(system))
        _check_reference_temperatures(path, campaign, system)
    unlabelled = sorted({(s, t) for s, _, t, _ in campaign.settings} - set(campaign.for_stage("propensity")))
    if unlabelled:
        raise ValueError(f"{path}: settings at {unlabelled} (system, T): not in that system's propensity list")
    stray = sorted(set(campaign.for_stage("large_box")) - set(campaign.for_stage("swap_mc")))
    if stray:
        raise ValueError(f"{path}: large_box temperatures {stray} have no swap_mc entry to tile")
    return campaign


def _backfill_schedule(path: Path, cron: object) -> str:
    from dagster._utils.schedules import is_valid_cron_string  # the check Dagster applies to its own schedules

    if not isinstance(cron, str) or not is_valid_cron_string(cron):
        raise ValueError(f"{path}: backfill_schedule {cron!r} is not a cron string such as '0 2 * * *'")
    return cron


def _settings_entry(path: Path, system: str, entry: object) -> list[tuple[str, str, str, float]]:
    """``settings: {<section.key>: {<T>: <value>, …}}`` of one system, validated."""
    where = f"{path}: {system}.settings"
    if not isinstance(entry, dict):
        raise ValueError(f"{where} takes {{<setting>: {{<T>: <value>}}}}, not {entry!r}")
    out = []
    for key, values in entry.items():
        if key not in CAMPAIGN_SETTINGS:
            raise ValueError(f"{where}: {key!r} cannot be set by a campaign; it can set {sorted(CAMPAIGN_SETTINGS)}")
        if not isinstance(values, dict) or not values:
            raise ValueError(f"{where}.{key} takes {{<T>: <value>}}, not {values!r}")
        for temperature, value in values.items():
            try:
                t = temperature_key(temperature)
            except ValueError as error:
                raise ValueError(f"{where}.{key}: {error}") from None
            integer = key.endswith("n_samples")
            valid = not isinstance(value, bool) and isinstance(value, int if integer else int | float) \
                and math.isfinite(value) and value > CAMPAIGN_SETTINGS[key] - (1 if integer else 0)
            if not valid:
                kind = f"an integer ≥ {CAMPAIGN_SETTINGS[key]}" if integer else "a positive number"
                raise ValueError(f"{where}.{key} at T = {t}: {value!r} is not {kind}")
            out.append((system, key, t, float(value)))
    return out


def _autopilot(path: Path, entry: object) -> float | None:
    """``autopilot: {cpu_hours_per_night: <positive number>}`` or absent (off)."""
    if entry is None:
        return None
    budget = entry.get("cpu_hours_per_night") if isinstance(entry, dict) and set(entry) == {"cpu_hours_per_night"} \
        else None
    if isinstance(budget, bool) or not isinstance(budget, int | float) or not math.isfinite(budget) or budget <= 0:
        raise ValueError(f"{path}: autopilot takes {{cpu_hours_per_night: <positive number of CPU-hours>}}, not "
                         f"{entry!r}")
    return float(budget)


def _check_stages(path: Path, system: str, stages: set[str]) -> None:
    """A stage the system cannot run, or one whose inputs no other stage of the system produces, is an error."""
    can = QUENCH_STAGES if "glass" in get_system(system).temperatures else EQUILIBRIUM_STAGES
    for stage in sorted(stages):
        if stage not in can:
            protocol = "quench protocol (T_L, T_G)" if can is QUENCH_STAGES else "swap-MC equilibria"
            raise ValueError(
                f"{path}: {system} cannot run stage {stage!r}: its studies use the {protocol}; it can run {sorted(can)}"
            )
        missing = [need for need in REQUIRES.get(stage, ()) if need not in stages]
        if stage == "propensity" and can is QUENCH_STAGES and "quench" not in stages:
            missing.append("quench")
        if missing:
            raise ValueError(f"{path}: {system}.{stage} needs {system}.{', '.join(missing)} in the campaign")


def _check_reference_temperatures(path: Path, campaign: Campaign, system: str) -> None:
    """The CNN needs the T_L and T_G ensembles, the propensity runs start from the T_G glasses [O]."""
    temps = get_system(system).temperatures
    needs = {"liquid_glass": ("liquid", "glass"), "propensity": ("glass",), "cooling_rate_study": ("liquid", "glass")}
    quenched = campaign.temperatures(system, "quench")
    for stage, names in needs.items():
        if stage in campaign.stages_of(system) and "glass" in temps:
            absent = [f"{n} T = {temps[n]!r}" for n in names if temperature_key(temps[n]) not in quenched]
            if absent:
                raise ValueError(f"{path}: {system}.{stage} needs {system}.quench to include {', '.join(absent)}")


def _glassbench_entry(path: Path, system: str, entry: object) -> tuple[Path, list[str]]:
    """(folder, temperature keys) of a ``glassbench`` entry; errors name the campaign file, the folder and the
    temperature that has no file."""
    where = f"{path}: {system}.glassbench"
    if system != GLASSBENCH_SYSTEM:
        raise ValueError(f"{where}: GlassBench KA2D files hold {GLASSBENCH_SYSTEM} configurations, not {system}")
    if not isinstance(entry, dict) or set(entry) != {"folder", "temperatures"}:
        raise ValueError(f"{where} takes {{folder: <path>, temperatures: [..]}}, not {entry!r}")
    folder = Path(str(entry["folder"])).expanduser()
    folder = folder if folder.is_absolute() else (path.parent / folder).resolve()
    if not folder.is_dir():
        raise ValueError(f"{where}: GlassBench folder {folder} does not exist or is not a folder")
    keys = []
    for value in entry["temperatures"] or []:
        try:
            key = temperature_key(value)
        except ValueError as error:
            raise ValueError(f"{where}: {error}") from None
        if not find_glassbench_files(folder, float(key)):
            seen = sorted(p.name for p in folder.glob("*.npz"))[:10]
            raise ValueError(
                f"{where}: GlassBench folder {folder} has no .npz file at T = {key} "
                f"(temperature key or 'T{key}' in the name); .npz files there: {seen or 'none'}"
            )
        keys.append(key)
    return folder, keys
