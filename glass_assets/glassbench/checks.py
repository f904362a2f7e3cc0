"""Checks of the GlassBench tables, run on the in-memory rows before anything is written."""

from __future__ import annotations

import numpy as np
import polars as pl

from glass_assets.checks import Check, CheckOutcome, no_overlaps
from glass_core.models.configuration import Configuration
from glass_core.models.systems import ModelSystem

__all__ = [
    "BOX_TOLERANCE",
    "SAMPLE_CHECKS",
    "SCORE_CHECKS",
]

#: relative tolerance of a file's box side against √(N/ρ) of the system (GlassBench: 32.8962 for N = 1290)
BOX_TOLERANCE = 1e-4
#: |predicted − measured ⟨C_B⟩| above this flags an iterated tGlassMLP prediction that missed its state point
STATE_POINT_TOLERANCE = 0.02


def _floats(column: pl.Series) -> pl.Series:
    """``column`` as Float64 without its NULLs and NaNs: an all-NULL column (polars type Null) gives an empty series
    instead of failing the comparisons that follow."""
    values = column.cast(pl.Float64).drop_nulls()
    return values.filter(values.is_not_nan())


def labels_in_unit_interval(labels: pl.DataFrame, **_: object) -> CheckOutcome:
    values = _floats(labels["propensity"])
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
    """Every defined score is a Pearson coefficient in [−1, 1]; undefined ones (NULL, e.g. constant labels at
    GlassBench's first time) are counted, not failed: a partition whose scores are all undefined is a result to
    report. Fails only on a value outside [−1, 1] or NaN (the warehouse stores NULL, never NaN), or on no rows."""
    column = scores["pearson"].cast(pl.Float64) if scores.height else pl.Series("pearson", [], pl.Float64)
    defined = column.drop_nulls()
    nan = int(defined.is_nan().sum())
    finite = defined.filter(defined.is_not_nan())
    outside = int(((finite < -1 - 1e-9) | (finite > 1 + 1e-9)).sum())
    undefined = scores.height - defined.len()
    problems = [
        *(["no score rows"] if scores.height == 0 else []),
        *([f"{outside} score(s) outside [−1, 1]"] if outside else []),
        *([f"{nan} score(s) NaN instead of NULL"] if nan else []),
    ]
    if problems:
        description = "; ".join(problems)
    elif undefined == scores.height:
        description = f"all {undefined} scores undefined (NULL with a reason): nothing to correlate"
    else:
        description = f"{undefined} of {scores.height} scores undefined" if undefined else ""
    return CheckOutcome(
        passed=not problems,
        metadata={
            "rows": scores.height,
            "defined": finite.len(),
            "null_pearson": undefined,
            "outside_minus_one_one": outside,
            "nan_pearson": nan,
        },
        description=description,
    )


def undefined_scores_have_a_reason(scores: pl.DataFrame, **_: object) -> CheckOutcome:
    """Every NULL score carries a ``reason`` (what the user reads instead of a number), and every predictor has a
    type-A row (the headline) at every time."""
    if scores.height == 0:
        return CheckOutcome(passed=True, description="no score rows", metadata={"unexplained": 0})
    pearson = scores["pearson"].cast(pl.Float64)
    reason = scores["reason"].cast(pl.String) if "reason" in scores.columns else pl.Series([None] * scores.height)
    unexplained = scores.filter(pearson.is_null() & (reason.is_null() | (reason.str.strip_chars() == "")))
    subsets = scores.group_by("predictor", "time").agg(pl.col("subset"))
    no_headline = subsets.filter(~pl.col("subset").list.contains("A"))
    where = [f"{r['predictor']} at t = {r['time']:g} ({r['subset']})" for r in unexplained.iter_rows(named=True)]
    headless = [f"{r['predictor']} at t = {r['time']:g}" for r in no_headline.iter_rows(named=True)]
    problems = [
        *([f"NULL score without a reason: {', '.join(where[:5])}"] if where else []),
        *([f"no type-A row: {', '.join(headless[:5])}"] if headless else []),
    ]
    reasons = reason.filter(pearson.is_null()).drop_nulls().unique().sort().to_list()
    return CheckOutcome(
        passed=not problems,
        metadata={"unexplained": unexplained.height, "without_type_a": no_headline.height, "reasons": reasons},
        description="; ".join(problems),
    )


def predictions_reach_measured_state_point(state_points: pl.DataFrame, **_: object) -> CheckOutcome:
    """|predicted − requested ⟨C_B⟩| ≤ ``STATE_POINT_TOLERANCE`` at every time the champion predicted (times where it
    could not predict have NULL ``predicted_cb`` and are counted, not compared)."""
    if state_points.height == 0:
        return CheckOutcome(passed=True, description="no state point", metadata={"compared": 0})
    error = (state_points["predicted_cb"].cast(pl.Float64) - state_points["requested_cb"].cast(pl.Float64)).abs()
    compared = error.drop_nulls()
    compared = compared.filter(compared.is_not_nan())
    worst = float(compared.max()) if compared.len() else None
    missed = worst is not None and worst > STATE_POINT_TOLERANCE
    return CheckOutcome(
        passed=not missed,
        metadata={
            "max_abs_error": worst,
            "tolerance": STATE_POINT_TOLERANCE,
            "compared": compared.len(),
            "not_predicted": state_points.height - compared.len(),
        },
        description="the iterated tGlassMLP mean misses the measured ⟨C_B⟩ of the particles it predicts (outside "
        "its training range?)"
        if missed
        else "",
    )


SCORE_CHECKS = {
    "pearson_in_range": Check(
        pearson_in_range, "Every defined score is a Pearson coefficient in [−1, 1] (undefined: NULL).", blocking=True
    ),
    "undefined_scores_have_a_reason": Check(
        undefined_scores_have_a_reason,
        "Every NULL score has a reason, and every predictor a type-A row at every time.",
        blocking=True,
    ),
    "predictions_reach_measured_state_point": Check(
        predictions_reach_measured_state_point,
        "The iterated tGlassMLP mean matches the measured ⟨C_B⟩ of the particles it predicts within 0.02.",
        warn_only=True,
    ),
}
