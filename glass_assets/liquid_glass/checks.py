"""Checks of the liquid-versus-glass study [O], evaluated on the in-memory rows before they are published.

``structural_descriptors``: the Voronoi cells of a periodic configuration tile its box, so per configuration
Σ_i Υ_i = L_x L_y (the sum rule, to a relative :data:`AREA_SUM_TOLERANCE`), every Υ_i > 0 and finite; the
Tong–Tanaka Θ_i = (1/n_i) Σ |θ¹ − θ²| [O eq. 6] is an average of differences of angles in (0, π), hence in
[0, π]; the coarse-grained fields are min–max normalised into [0, 1].
``cnn_classifier`` (before a model version is registered): finite accuracies in [0, 1], both classes in every
split, a finite training loss (blocking); a loss that did not decrease is an error that does not block; a test
accuracy at chance level is a warning.
``grad_cam_scores``: Γ_i = M⁻¹(ReLU(Σ_m α_m A^m))(r_i) is finite and ≥ 0; its coarse-grained normalised form
spans [0, 1] per configuration (min 0, max 1, or all 0 for a constant field).
``indicator_correlations``: Pearson and Spearman coefficients lie in [−1, 1] where defined; [O]'s positive glass
correlations (ABM: C(Γ,Υ) = 0.55, C(Γ,1−Θ) = 0.40, C(1−Θ,Υ) = 0.36) are a warning only, judged on the Grad-CAM
pairs only when their classifier is resolved.
The classifier gate (:mod:`glass_core.learning.classifier_gate`): ``cnn_classifier``, ``grad_cam_scores`` and
``indicator_correlations`` each warn when the CNN's validation accuracy (k of n) does not have its Wilson lower
end (2 SE) at ``cnn.gate_accuracy`` or above: its Grad-CAM is kept, marked ``classifier_unresolved``, and is no
finding.

References: [O] (docs/bibliography.md).
"""

import numpy as np
import polars as pl

from glass_assets.checks import Check, CheckOutcome, coefficients_in_range
from glass_assets.registry.cnn_split import classifier_resolved
from glass_core.learning.classifier_gate import CLASSIFIER_UNRESOLVED
from glass_core.learning.cnn import GLASS, LIQUID, EpochRecord
from glass_core.learning.correlations import OYAMA_GLASS_CONDITIONS, evaluate_conditions
from glass_core.models.statistics import sample_mean

__all__ = [
    "AREA_SUM_TOLERANCE",
    "CNN_CHECKS",
    "CORRELATION_CHECKS",
    "DESCRIPTOR_CHECKS",
    "GRAD_CAM_CHECKS",
]

#: relative tolerance of Σ_i Υ_i = box area per configuration (freud's cells are exact to float rounding)
AREA_SUM_TOLERANCE = 1e-6
#: tolerance of a min–max normalised field's extremes (0 and 1)
NORMALISED_TOLERANCE = 1e-9


def _worst(errors: dict[int, float]) -> tuple[int, float]:
    worst = max(errors, key=lambda k: errors[k])
    return worst, errors[worst]


# ------------------------------------------------------------------------------ structural_descriptors
def voronoi_sum_rule(descriptors: pl.DataFrame, box_areas: dict[int, float], **_: object) -> CheckOutcome:
    """Per configuration |Σ_i Υ_i / (L_x L_y) − 1| ≤ :data:`AREA_SUM_TOLERANCE`; names the failing samples."""
    sums = descriptors.group_by("sample").agg(pl.col("voronoi_area").sum()).sort("sample")
    errors = {
        int(s): abs(float(a) / box_areas[int(s)] - 1.0) if np.isfinite(a) else float("inf") for s, a in sums.iter_rows()
    }
    failing = sorted(s for s, e in errors.items() if not e <= AREA_SUM_TOLERANCE)
    worst, error = _worst(errors)
    return CheckOutcome(
        passed=not failing,
        metadata={"max_relative_error": error, "worst_sample": worst, "tolerance": AREA_SUM_TOLERANCE},
        description=(
            ""
            if not failing
            else f"Σ Voronoi area ≠ box area in sample(s) {failing[:20]}: worst sample {worst}, relative error "
            f"{error:.3g} > {AREA_SUM_TOLERANCE:g}"
        ),
    )


def voronoi_areas_positive(descriptors: pl.DataFrame, **_: object) -> CheckOutcome:
    """Every Voronoi cell area Υ_i finite and > 0."""
    bad = descriptors.filter(~pl.col("voronoi_area").is_finite() | (pl.col("voronoi_area") <= 0))
    samples = sorted(set(bad["sample"].to_list()))
    return CheckOutcome(
        passed=bad.height == 0,
        metadata={"n_bad": bad.height, "min_area": float(descriptors["voronoi_area"].min())},
        description="" if bad.height == 0 else f"{bad.height} areas ≤ 0 or not finite, in sample(s) {samples[:20]}",
    )


def tong_tanaka_in_range(descriptors: pl.DataFrame, **_: object) -> CheckOutcome:
    """Θ_i finite and in [0, π] (NaN would mean a particle with fewer than two Voronoi neighbours)."""
    theta = descriptors["tong_tanaka"].cast(pl.Float64).fill_null(float("nan")).to_numpy()
    bad = ~np.isfinite(theta) | (theta < 0) | (theta > np.pi)
    samples = sorted(set(descriptors.filter(pl.Series(bad))["sample"].to_list()))
    return CheckOutcome(
        passed=not bad.any(),
        metadata={"n_bad": int(bad.sum()), "max_theta": float(np.max(theta, initial=0.0, where=np.isfinite(theta)))},
        description="" if not bad.any() else f"{int(bad.sum())} Θ outside [0, π] or NaN, in sample(s) {samples[:20]}",
    )


def coarse_grained_fields_normalised(descriptors: pl.DataFrame, **_: object) -> CheckOutcome:
    """Ῡ and 1 − Θ̄ in [0, 1] (min–max normalised per configuration)."""
    bad = {}
    for column in ("voronoi_area_cg", "one_minus_theta_cg"):
        values = descriptors[column].cast(pl.Float64).fill_null(float("nan")).to_numpy()
        outside = (values < -NORMALISED_TOLERANCE) | (values > 1 + NORMALISED_TOLERANCE)
        count = int((~np.isfinite(values) | outside).sum())
        if count:
            bad[column] = count
    return CheckOutcome(
        passed=not bad, metadata={"outside_unit_interval": bad}, description=f"outside [0, 1]: {bad}" if bad else ""
    )


DESCRIPTOR_CHECKS = {
    "voronoi_sum_rule": Check(
        voronoi_sum_rule, "Per configuration Σ_i Υ_i = box area (relative 1e-6): the cells tile the box.", blocking=True
    ),
    "voronoi_areas_positive": Check(voronoi_areas_positive, "Every Voronoi area finite and > 0.", blocking=True),
    "tong_tanaka_in_range": Check(tong_tanaka_in_range, "Every Tong–Tanaka Θ finite and in [0, π].", blocking=True),
    "coarse_grained_fields_normalised": Check(
        coarse_grained_fields_normalised, "Coarse-grained normalised Υ and 1 − Θ in [0, 1].", blocking=True
    ),
}


# ------------------------------------------------------------------------------ cnn_classifier
def accuracies_valid(history: list[EpochRecord], metrics: dict[str, float], **_: object) -> CheckOutcome:
    """Test accuracies (overall, per class) and every epoch's train accuracy finite and in [0, 1]; validation
    accuracy too, where there is a validation set."""
    values = dict(metrics)
    values |= {f"train_accuracy_epoch_{r.epoch}": r.train_accuracy for r in history}
    values |= {
        f"validation_accuracy_epoch_{r.epoch}": r.validation_accuracy
        for r in history
        if not (np.isnan(r.validation_accuracy) and np.isnan(r.validation_loss))
    }
    bad = {k: v for k, v in values.items() if not (np.isfinite(v) and 0.0 <= v <= 1.0)}
    return CheckOutcome(
        passed=not bad,
        metadata={"bad": {k: str(v) for k, v in list(bad.items())[:20]}, **{k: float(v) for k, v in metrics.items()}},
        description=f"accuracies not finite in [0, 1]: {dict(list(bad.items())[:5])}" if bad else "",
    )


def both_classes_in_every_split(split_labels: dict[str, np.ndarray], **_: object) -> CheckOutcome:
    """Train and test (and validation, when not empty) each hold liquid and glass configurations."""
    counts = {
        name: {"liquid": int(np.sum(labels == LIQUID)), "glass": int(np.sum(labels == GLASS))}
        for name, labels in split_labels.items()
    }
    missing = [
        name
        for name, c in counts.items()
        if (name != "validation" or c["liquid"] + c["glass"] > 0) and min(c.values()) == 0
    ]
    return CheckOutcome(
        passed=not missing,
        metadata={"counts": counts},
        description=f"a class is missing from split(s) {missing}: {counts}" if missing else "",
    )


def training_loss_finite(history: list[EpochRecord], **_: object) -> CheckOutcome:
    """Every epoch's mean training cross-entropy is finite (a NaN loss means a diverged network)."""
    losses = np.array([r.train_loss for r in history], dtype=np.float64)
    bad = [r.epoch for r in history if not np.isfinite(r.train_loss)]
    return CheckOutcome(
        passed=bool(losses.size) and not bad,
        metadata={"n_epochs": int(losses.size), "non_finite_epochs": bad[:20]},
        description="" if losses.size and not bad else f"training loss not finite at epochs {bad[:20]}",
    )


def training_loss_decreased(history: list[EpochRecord], **_: object) -> CheckOutcome:
    """The last epoch's training loss is below the first's: the network learned something."""
    first, last = float(history[0].train_loss), float(history[-1].train_loss)
    return CheckOutcome(
        passed=bool(last < first),
        metadata={"first_epoch_loss": first, "last_epoch_loss": last, "n_epochs": len(history)},
        description="" if last < first else f"training loss did not decrease: {first:.4f} → {last:.4f}",
    )


def better_than_chance(metrics: dict[str, float], **_: object) -> CheckOutcome:
    """Test accuracy above the 0.5 of guessing ([O] reaches ≈ 1 on ABM and KAM)."""
    accuracy = float(metrics["test_accuracy"])
    return CheckOutcome(
        passed=bool(accuracy > 0.5),
        metadata={"test_accuracy": accuracy},
        description="" if accuracy > 0.5 else f"test accuracy {accuracy:.3f} is not above chance",
    )


CNN_CHECKS = {
    "accuracies_valid": Check(accuracies_valid, "Every accuracy finite and in [0, 1].", blocking=True),
    "both_classes_in_every_split": Check(
        both_classes_in_every_split, "Train, validation and test each hold liquids and glasses.", blocking=True
    ),
    "training_loss_finite": Check(training_loss_finite, "Training loss finite at every epoch.", blocking=True),
    "training_loss_decreased": Check(training_loss_decreased, "Training loss of the last epoch below the first."),
    "better_than_chance": Check(better_than_chance, "Test accuracy above 0.5 ([O]: ≈ 1).", warn_only=True),
    "validation_accuracy_resolved": Check(
        classifier_resolved,
        "Validation accuracy resolved above cnn.gate_accuracy (Wilson lower end, 2 SE): else its Grad-CAM is no "
        "finding.",
        warn_only=True,
    ),
}


# ------------------------------------------------------------------------------ grad_cam_scores
def gamma_finite_non_negative(grad_cam: pl.DataFrame, **_: object) -> CheckOutcome:
    """Γ_i ≥ 0 and finite: a bilinear interpolation of a ReLU map."""
    bad = grad_cam.filter(~pl.col("gamma").is_finite() | (pl.col("gamma") < 0))
    samples = sorted(set(bad.select("label", "sample").unique().iter_rows()))
    return CheckOutcome(
        passed=bad.height == 0,
        metadata={"n_bad": bad.height, "min_gamma": float(grad_cam["gamma"].min())},
        description="" if bad.height == 0 else f"{bad.height} Γ negative or not finite, in {samples[:10]}",
    )


def gamma_cg_normalised(grad_cam: pl.DataFrame, **_: object) -> CheckOutcome:
    """Per configuration the normalised coarse-grained Γ̄ has min 0 and max 1 (all 0 for a constant field)."""
    extremes = grad_cam.group_by("temperature", "sample", "label").agg(
        pl.col("gamma_cg").min().alias("low"), pl.col("gamma_cg").max().alias("high")
    )
    tol = NORMALISED_TOLERANCE
    bad = extremes.filter(
        ~pl.col("low").is_finite()
        | ~pl.col("high").is_finite()
        | ((pl.col("low")).abs() > tol)
        | (((pl.col("high") - 1).abs() > tol) & (pl.col("high").abs() > tol))
    )
    return CheckOutcome(
        passed=bad.height == 0,
        metadata={"n_bad_configurations": bad.height},
        description=(
            ""
            if bad.height == 0
            else f"Γ̄ not min–max normalised in {bad.select('label', 'sample', 'low', 'high').rows()[:10]}"
        ),
    )


def both_classes_explained(grad_cam: pl.DataFrame, **_: object) -> CheckOutcome:
    """Some correctly classified glass and liquid test configuration each carry a Grad-CAM map."""
    counts = {label: grad_cam.filter(pl.col("label") == label)["sample"].n_unique() for label in ("glass", "liquid")}
    return CheckOutcome(
        passed=min(counts.values()) > 0,
        metadata=counts,
        description="" if min(counts.values()) > 0 else f"no correctly classified configuration of a class: {counts}",
    )


GRAD_CAM_CHECKS = {
    "gamma_finite_non_negative": Check(gamma_finite_non_negative, "Every Γ_i finite and ≥ 0.", blocking=True),
    "gamma_cg_normalised": Check(
        gamma_cg_normalised, "Coarse-grained Γ̄ min–max normalised per configuration (min 0, max 1).", blocking=True
    ),
    "both_classes_explained": Check(
        both_classes_explained, "Glasses and liquids each have correctly classified test maps.", warn_only=True
    ),
    "classifier_resolved": Check(
        classifier_resolved,
        "The champion CNN's validation accuracy is resolved above cnn.gate_accuracy: else Γ is no finding.",
        warn_only=True,
    ),
}


# ------------------------------------------------------------------------------ indicator_correlations
def correlations_are_coefficients(correlations: pl.DataFrame, **_: object) -> CheckOutcome:
    """Every defined Pearson/Spearman value in [−1, 1], some defined."""
    return coefficients_in_range(correlations["value"], "indicator correlations")


def glass_correlations_positive(correlations: pl.DataFrame, **_: object) -> CheckOutcome:
    """[O]'s statements about the glass means (ABM: C(Γ,Υ), C(Γ,1−Θ), C(1−Θ,Υ) all positive; KAM: C(Γ,Υ) < 0,
    C(Γ,1−Θ) < 0 and the two magnitude orderings, :data:`~glass_core.learning.correlations.OYAMA_GLASS_CONDITIONS`),
    judged with the 2-SE rule over configurations: a warning only where the data contradict [O] (``fail``: the claim's
    D < −2 SE). ``unresolved`` (|D| ≤ 2 SE: too few glasses to tell at this profile's size) is reported as metadata.

    The check used to require every ABM and KAM mean to be positive: for KAM that contradicts [O] itself, and a mean
    within its noise is not a finding. Grad-CAM pairs of an unresolved classifier are no finding and are left out."""
    findings = correlations.filter(
        pl.col("classifier_status").is_null() | (pl.col("classifier_status") != CLASSIFIER_UNRESOLVED)
    ) if "classifier_status" in correlations.columns else correlations
    glass = findings.filter((pl.col("label") == "glass") & (pl.col("method") == "pearson"))
    system = str(correlations["system"][0]) if correlations.height else ""
    means = {
        str(pair): sample_mean(rows["value"].cast(pl.Float64).fill_nan(None).to_list())
        for (pair,), rows in glass.group_by(["pair"])
    }
    results = evaluate_conditions(OYAMA_GLASS_CONDITIONS.get(system, ()), means)
    verdicts = {
        r.condition.text: (f"{r.verdict}: D = {r.difference:.3f} ± {r.stderr:.3f}" if r.stderr is not None
                           else f"{r.verdict}: D = {r.difference:.3f}")
        for r in results
    }
    failed = [r.condition.text for r in results if r.verdict == "fail"]
    metadata = {
        **{f"glass_pearson_{k}": v.mean for k, v in means.items()},
        **{f"glass_pearson_{k}_stderr": (v.stderr if v.stderr is not None else float("nan")) for k, v in means.items()},
        "paper_conditions": verdicts,
    }
    unresolved = [r.condition.text for r in results if r.verdict in ("unresolved", "no data")]
    if failed:
        description = f"{system}: the glass means contradict [O] (by more than 2 SE): {failed}; {verdicts}"
    elif unresolved:
        description = f"{system}: {len(unresolved)} of [O]'s statements unresolved within 2 SE at this size: {verdicts}"
    else:
        description = f"{system}: every statement of [O] holds beyond 2 SE: {verdicts}"
    return CheckOutcome(passed=not failed, metadata=metadata, description=description)


CORRELATION_CHECKS = {
    "correlations_are_coefficients": Check(
        correlations_are_coefficients, "Every defined correlation in [−1, 1], some defined.", blocking=True
    ),
    "glass_correlations_positive": Check(
        glass_correlations_positive,
        "[O]'s statements about the mean glass Pearson coefficients (ABM: all positive; KAM: C(Γ,Υ), C(Γ,1−Θ) < 0 and "
        "two magnitude orderings) not contradicted by more than 2 SE; unresolved ones are reported, not flagged.",
        warn_only=True,
    ),
    "classifier_resolved": Check(
        classifier_resolved,
        "The CNN behind C(Γ,·) has its validation accuracy resolved above cnn.gate_accuracy: else no finding.",
        warn_only=True,
    ),
}
