"""The campaign file: which systems and temperatures a study covers.

Format (YAML)::

    systems:
      abm:
        quench: [2.0, 0.05]      # temperatures of quenched ensembles (+ their structural descriptors)
        liquid_glass: true       # CNN, Grad-CAM and correlations on the T_L / T_G ensembles
        propensity: [1.0, 1.5]   # isoconfigurational MD of the T_G glasses at these temperatures
        grad_cam_dynamics: true  # C(Γ, 1−Δ) against δ(t) once the CNN and the labels exist
      ka2d_ternary:
        swap_mc: [0.4, 0.3]      # swap-MC equilibria and their inherent structures
        propensity: [0.4]        # bond-breaking labels from isoconfigurational MD of the equilibria
        propensity_learning: true  # descriptors (every swap_mc T), state-point labels (every propensity T),
                                   # GlassMLP + tGlassMLP, predictions at every swap_mc T
        large_box: [0.3]         # large tiled boxes (subset of swap_mc), then S4(q) and ξ4 with the champion
      kam:
        quench: [0.8, 0.05]

Adding a temperature to a list and waiting one sensor tick adds the partition and requests its run.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import yaml

from glass_assets.partitions import temperature_key
from glass_core.models.systems import get_system

__all__ = ["CAMPAIGN_STAGES", "Campaign", "default_campaign_path", "load_campaign"]

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
        "propensity_predictions",
    ),
    "large_box": ("large_box_equilibria", "four_point_structure_factor"),
}
PER_SYSTEM_STAGES = {"liquid_glass", "grad_cam_dynamics", "propensity_learning"}


def default_campaign_path() -> Path:
    """``$GLASS_CAMPAIGN`` or ``campaign.yaml`` at the repository root."""
    return Path(os.environ.get("GLASS_CAMPAIGN", Path(__file__).resolve().parent.parent / "campaign.yaml"))


@dataclass(frozen=True)
class Campaign:
    """(stage, system, temperature key) entries and per-system stages of a campaign file."""

    entries: tuple[tuple[str, str, str], ...]
    system_stages: tuple[tuple[str, str], ...] = ()

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
    entries, system_stages = [], []
    for system, stages in systems.items():
        try:
            get_system(system)
        except ValueError as error:
            raise ValueError(f"{path}: {error}") from None
        for stage, temperatures in (stages or {}).items():
            if stage not in CAMPAIGN_STAGES:
                raise ValueError(f"{path}: unknown stage {stage!r} for {system}; known: {sorted(CAMPAIGN_STAGES)}")
            if stage in PER_SYSTEM_STAGES:
                if not isinstance(temperatures, bool):
                    raise ValueError(f"{path}: {system}.{stage} takes true or false, not {temperatures!r}")
                if temperatures:
                    system_stages.append((stage, system))
                continue
            for value in temperatures or []:
                try:
                    entries.append((stage, system, temperature_key(value)))
                except ValueError as error:
                    raise ValueError(f"{path}: {system}.{stage}: {error}") from None
    campaign = Campaign(tuple(dict.fromkeys(entries)), tuple(system_stages))
    stray = sorted(set(campaign.for_stage("large_box")) - set(campaign.for_stage("swap_mc")))
    if stray:
        raise ValueError(f"{path}: large_box temperatures {stray} have no swap_mc entry to tile")
    return campaign
