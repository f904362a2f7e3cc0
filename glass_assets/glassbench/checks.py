"""Checks of the GlassBench tables, run on the in-memory rows before anything is written."""

from __future__ import annotations

import numpy as np
import polars as pl
from dagster import AssetCheckResult, AssetCheckSpec, AssetKey

from glass_assets.checks import Check, CheckOutcome, check_results, check_specs, no_overlaps
from glass_core.models.configuration import Configuration
from glass_core.models.systems import ModelSystem

__all__ = [
    "BOX_TOLERANCE",
    "SAMPLE_CHECKS",
    "SCORE_CHECKS",
    "run_sample_checks",
    "run_score_checks",
    "sample_check_specs",
    "score_check_specs",
]

#: relative tolerance of a file's box side against √(N/ρ) of the system (GlassBench: 32.8962 for N = 1290)
BOX_TOLERANCE = 1e-4
#: |predicted − measured ⟨C_B⟩| above this flags an iterated tGlassMLP prediction that missed its state point
STATE_POINT_TOLERANCE = 0.02


def labels_in_unit_interval(labels: pl.DataFrame, **_: object) -> CheckOutcome:
    values = labels["propensity"].drop_nulls()
    outside = int(((values < 0) | (values > 1)).sum())
    return CheckOutcome(
        passed=outside == 0 and values.len() > 0,
        metadata={"outside_unit_interval": outside, "labelled_particles": values.len()},
        description="" if values.len() else "no particle has a bond-breaking label",
    )


def _compositions(configs: dict[int, Configuration], n_types: int) -> dict[int, list[int]]:
    return {k: np.bincount(c.types, minlength=n_types).tolist() for k, c in configs.items()}


def one_composition(system: ModelSystem, equilibria: dict[int, Configuration], **_: object) -> CheckOutcome:
    """Every structure of the partition has the same N and the same count per type (the files' own composition)."""
    compositions = _compositions(equilibria, system.n_types)
    distinct = sorted({tuple(v) for v in compositions.values()})
    return CheckOutcome(
        passed=len(distinct) == 1,
        metadata={"compositions": [list(d) for d in distinct]},
        description="" if len(distinct) == 1 else f"the files hold {len(distinct)} different compositions",
    )


def composition_of_the_system(system: ModelSystem, equilibria: dict[int, Configuration], **_: object) -> CheckOutcome:
    """The files' composition is the system's (600:330:360 at N = 1290)."""
    compositions = _compositions(equilibria, system.n_types)
    wrong = {k: v for k, v in compositions.items() if v != system.type_counts(sum(v)).tolist()}
    example = next(iter(compositions.values()))
    return CheckOutcome(
        passed=not wrong,
        metadata={"composition": example, "system_composition": system.type_counts(sum(example)).tolist()},
        description=f"samples {sorted(wrong)} differ from {system.name}'s composition" if wrong else "",
    )


def box_matches_density(
    system: ModelSystem, equilibria: dict[int, Configuration], inherent: dict[int, Configuration], **_: object
) -> CheckOutcome:
    """Square box of side √(N/ρ) (ρ the system's density) within ``BOX_TOLERANCE``, the same for a structure's
    equilibrium and inherent structure."""
    worst, problems = 0.0, []
    for k, config in equilibria.items():
        expected = system.box_length(config.n_particles)
        error = float(np.max(np.abs(np.asarray(config.box) - expected)) / expected)
        worst = max(worst, error)
        if error > BOX_TOLERANCE:
            problems.append(f"sample {k}: box {config.box}, expected {expected:.4f}")
        if k in inherent and inherent[k].box != config.box:
            problems.append(f"sample {k}: inherent box {inherent[k].box} ≠ {config.box}")
    return CheckOutcome(
        passed=not problems,
        metadata={"max_relative_box_error": worst, "tolerance": BOX_TOLERANCE, "density": system.density},
        description="; ".join(problems[:5]),
    )


def equilibria_without_overlaps(system: ModelSystem, equilibria: dict[int, Configuration], **_: object) -> CheckOutcome:
    return no_overlaps(system, equilibria)


def inherent_without_overlaps(system: ModelSystem, inherent: dict[int, Configuration], **_: object) -> CheckOutcome:
    return no_overlaps(system, inherent)


def inherent_below_equilibrium(samples: pl.DataFrame, **_: object) -> CheckOutcome:
    """E_IS ≤ E of the thermal start for every structure (a minimum lies below the configuration it comes from)."""
    energy = samples.pivot(on="ensemble", index="sample", values="energy_per_particle")
    above = energy.filter(pl.col("glassbench_inherent") > pl.col("glassbench"))["sample"].to_list()
    drop = (energy["glassbench"] - energy["glassbench_inherent"]).mean()
    return CheckOutcome(
        passed=not above,
        metadata={"mean_energy_drop_per_particle": float(drop), "samples_above": above},
    )


SAMPLE_CHECKS = {
    "labels_in_unit_interval": Check(
        labels_in_unit_interval, "0 ≤ ⟨C_B^i⟩ ≤ 1, some particle labelled.", blocking=True
    ),
    "one_composition": Check(one_composition, "Every file of the partition has the same composition.", blocking=True),
    "box_matches_density": Check(
        box_matches_density, "Square box of side √(N/ρ) of the system, same for the inherent structure.", blocking=True
    ),
    "equilibria_without_overlaps": Check(
        equilibria_without_overlaps, "No two particles of a thermal start closer than 0.7 σ_ij.", blocking=True
    ),
    "inherent_without_overlaps": Check(
        inherent_without_overlaps, "No two particles of an inherent structure closer than 0.7 σ_ij.", blocking=True
    ),
    "composition_of_the_system": Check(
        composition_of_the_system, "The files' composition is the system's (600:330:360 at N = 1290).", warn_only=True
    ),
    "inherent_below_equilibrium": Check(
        inherent_below_equilibrium, "Each inherent structure lies below its thermal start in energy.", warn_only=True
    ),
}


def pearson_in_range(scores: pl.DataFrame, **_: object) -> CheckOutcome:
    values = scores["pearson"].drop_nulls()
    outside = int(((values < -1 - 1e-9) | (values > 1 + 1e-9)).sum())
    return CheckOutcome(
        passed=scores.height > 0 and outside == 0 and values.len() > 0,
        metadata={
            "rows": scores.height,
            "outside_minus_one_one": outside,
            "null_pearson": scores.height - values.len(),
        },
    )


def predictions_reach_measured_state_point(state_points: pl.DataFrame, **_: object) -> CheckOutcome:
    error = (state_points["predicted_cb"] - state_points["measured_cb"]).abs()
    return CheckOutcome(
        passed=bool(error.max() <= STATE_POINT_TOLERANCE),
        metadata={"max_abs_error": float(error.max()), "tolerance": STATE_POINT_TOLERANCE},
        description="the iterated tGlassMLP mean misses the measured ⟨C_B⟩ (outside its training range?)"
        if error.max() > STATE_POINT_TOLERANCE
        else "",
    )


SCORE_CHECKS = {
    "pearson_in_range": Check(pearson_in_range, "Every score is a Pearson coefficient in [−1, 1].", blocking=True),
    "predictions_reach_measured_state_point": Check(
        predictions_reach_measured_state_point,
        "The iterated tGlassMLP mean matches the measured ⟨C_B⟩ of the labels within 0.02.",
        warn_only=True,
    ),
}


def sample_check_specs(asset_key: AssetKey) -> list[AssetCheckSpec]:
    return check_specs(asset_key, SAMPLE_CHECKS)


def run_sample_checks(
    system: ModelSystem,
    equilibria: dict[int, Configuration],
    inherent: dict[int, Configuration],
    samples: pl.DataFrame,
    labels: pl.DataFrame,
) -> list[AssetCheckResult]:
    return check_results(
        SAMPLE_CHECKS, system=system, equilibria=equilibria, inherent=inherent, samples=samples, labels=labels
    )


def score_check_specs(asset_key: AssetKey) -> list[AssetCheckSpec]:
    return check_specs(asset_key, SCORE_CHECKS)


def run_score_checks(scores: pl.DataFrame, state_points: pl.DataFrame) -> list[AssetCheckResult]:
    return check_results(SCORE_CHECKS, scores=scores, state_points=state_points)
