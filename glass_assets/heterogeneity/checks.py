"""Checks of the heterogeneity tables, evaluated on the in-memory rows before they are written."""

from __future__ import annotations

import polars as pl

from glass_assets.checks import Check, CheckOutcome

__all__ = [
    "ATTENTION_CHECKS",
    "DYNAMIC_CHECKS",
    "SUMMARY_CHECKS",
]

#: |Σ_L P(L) − 1| above this means the attention distribution was not normalised
NORMALISATION_TOLERANCE = 1e-6


def enough_configurations(skipped: list[str], **_: object) -> CheckOutcome:
    """χ4 is a variance over configurations: every state point (and frame) needs at least two."""
    return CheckOutcome(
        passed=not skipped,
        metadata={"skipped": skipped},
        description=("no χ4 / ℓ_ch row for: " + "; ".join(skipped)) if skipped else "",
    )


def no_nan_written(frames: dict[str, pl.DataFrame], **_: object) -> CheckOutcome:
    """No NaN or infinity in any float column of the rows about to be written (NULL marks what is missing)."""
    bad = {}
    for table, frame in frames.items():
        for column, dtype in frame.schema.items():
            if dtype.is_float():
                count = int((~frame[column].drop_nulls().is_finite()).sum())
                if count:
                    bad[f"{table}.{column}"] = count
    return CheckOutcome(
        passed=not bad, metadata={"non_finite": bad}, description=f"non-finite values in {bad}" if bad else ""
    )


def chord_above_random_field(frames: dict[str, pl.DataFrame], **_: object) -> CheckOutcome:
    """Every MD and tGlassMLP ℓ_ch is at least the random-field reference on the same particles (within 2 SE): a
    shorter chord means a field that alternates between neighbours — e.g. one that follows the species — not a
    dynamic length."""
    lengths = frames["dynamic_lengths"]
    if lengths.height == 0:
        return CheckOutcome(passed=True, description="no chord lengths")
    reference = lengths.filter(pl.col("source") == "random_field").select(
        "target_cb", pl.col("value").alias("reference"), pl.col("stderr").alias("reference_stderr"))
    measured = lengths.filter(pl.col("source").is_in(["md", "ml"])).join(reference, on="target_cb", how="inner")
    if measured.height == 0:
        return CheckOutcome(passed=True, description="no random-field reference to compare with")
    margin = 2 * (measured["stderr"].fill_null(0.0) ** 2 + measured["reference_stderr"].fill_null(0.0) ** 2).sqrt()
    below = measured.filter(measured["value"] < measured["reference"] - margin)
    names = [f"{r['source']} ⟨C_B⟩ = {r['target_cb']:g}: {r['value']:.3g} σ < random field {r['reference']:.3g} σ"
             for r in below.iter_rows(named=True)]
    return CheckOutcome(
        passed=not names,
        metadata={"below_random_field": names, "random_field_chord": float(reference["reference"].mean())},
        description=("ℓ_ch below the random-field reference (shorter than noise): " + "; ".join(names)) if names
        else "",
    )


DYNAMIC_CHECKS = {
    "enough_configurations": Check(
        enough_configurations,
        "At least two configurations for χ4 at every state point and frame (else it says which are missing).",
        warn_only=True,
    ),
    "no_nan_written": Check(no_nan_written, "No NaN or infinity in the rows written.", blocking=True),
    "chord_above_random_field": Check(
        chord_above_random_field,
        "MD and predicted ℓ_ch are not shorter (by 2 SE) than a random field's on the same particles.",
        warn_only=True,
    ),
}


def attention_normalised(distributions: pl.DataFrame, **_: object) -> CheckOutcome:
    """P(L) of every state point lies in [0, 1] and sums to 1."""
    if distributions.height == 0:
        return CheckOutcome(passed=False, description="no attention distribution")
    sums = distributions.group_by("temperature", "target_cb").agg(pl.col("probability").sum())
    error = float((sums["probability"] - 1.0).abs().max())
    inside = bool(distributions["probability"].is_between(0.0, 1.0).all())
    return CheckOutcome(
        passed=error <= NORMALISATION_TOLERANCE and inside,
        metadata={"max_normalisation_error": error, "probabilities_in_unit_interval": inside},
    )


ATTENTION_CHECKS = {
    "attention_normalised": Check(attention_normalised, "Σ_L P(L) = 1 and 0 ≤ P(L) ≤ 1.", blocking=True),
    "no_nan_written": Check(no_nan_written, "No NaN or infinity in the rows written.", blocking=True),
}


def every_length_present(
    lengths: pl.DataFrame, temperatures: list[float], xi4_temperatures: list[float] | None = None, **_: object
) -> CheckOutcome:
    """ℓ_ch and the attention length have rows at every temperature of the summary, and ξ4 at every temperature the
    campaign asks large boxes for (``large_box``; ``None``: every temperature). ξ4 needs the large boxes, so its
    absence elsewhere is the campaign's choice, not a gap."""
    wanted = {"xi4": temperatures if xi4_temperatures is None else xi4_temperatures,
              "chord": temperatures, "attention": temperatures}
    missing = []
    for length, expected in wanted.items():
        have = set(lengths.filter(pl.col("length") == length)["temperature"].to_list()) if lengths.height else set()
        absent = [t for t in expected if not any(abs(t - h) < 1e-9 for h in have)]
        if absent:
            missing.append(f"{length} at T = {absent}")
    return CheckOutcome(
        passed=not missing,
        metadata={"missing": missing, "xi4_temperatures": list(wanted["xi4"])},
        description=("the figure lacks " + "; ".join(missing)) if missing else "",
    )


def unresolved_xi4(lengths: pl.DataFrame) -> list[str]:
    """The state points whose ξ4 fit has no resolved small-q plateau, with the reason (four_point_structure_factor's
    own check ``small_q_plateau_resolved`` warns about them; the summary lists them in its metadata)."""
    xi4 = lengths.filter(pl.col("length") == "xi4") if lengths.height else lengths
    if xi4.height == 0:
        return []
    return [
        f"T = {r['temperature']}, ⟨C_B⟩ = {r['target_cb']}: {r['reason'] or 'no reason given'}"
        for r in xi4.filter(~pl.col("resolved").fill_null(False)).iter_rows(named=True)
    ]


SUMMARY_CHECKS = {
    "every_length_present": Check(
        every_length_present,
        "ℓ_ch and the attention length exist at every temperature, ξ4 at every large_box temperature of the campaign.",
        warn_only=True,
    ),
}
