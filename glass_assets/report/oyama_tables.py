"""The report's tables of [O]: Table II (the liquid/glass CNN's accuracy, the registry's champion per system) and
§IV C (indicator correlations as mean ± SE and n, [O]'s conditions judged pass / fail / unresolved)."""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from glass_assets.plots import PAIR_LABELS, mean_text
from glass_assets.registry.cnn_split import logged_accuracy
from glass_assets.registry.tracking import MLflowResource, model_name
from glass_assets.report import paper
from glass_assets.report.data import ReportData, champion, quench_scale
from glass_assets.report.html import ABSENT, Section, absent, note, table
from glass_assets.report.section_rules import NO_FINDING_CELL, PAPER, guarded, is_finding, no_finding
from glass_core.learning.classifier_gate import CLASSIFIER_RESOLVED, ClassifierGate, no_finding_text
from glass_core.learning.correlations import evaluate_conditions
from glass_core.models.statistics import Accuracy, SampleMean

__all__ = ["correlations", "paper_absent", "table_ii"]


@guarded
def table_ii(data: ReportData, tracking: MLflowResource, systems: Sequence[str]) -> Section:
    """[O] Table II: accuracy of the liquid/glass CNN (the registry's champion per system)."""
    section = Section("[O] Table II: CNN accuracy", "table-ii")
    columns = [
        "system",
        "model",
        "profile",
        "input / head",
        "measured at",
        "validation accuracy",
        "test accuracy glass",
        "test accuracy liquid",
        "test accuracy (all)",
        "classifier gate",
        PAPER,
        "paper scale",
    ]
    rows = []
    for system in systems:
        found = champion(tracking, system)
        reference = paper.OYAMA_TEST_ACCURACY.get(system, {})
        paper_text = f"{reference['glass']:.3f} / {reference['liquid']:.3f}" if reference else "—"
        if found is None:
            rows.append(
                [
                    system,
                    paper_absent(f"no champion {model_name(system)}"),
                    *["—"] * 8,
                    paper_text,
                    paper.oyama_scale(system),
                ]
            )
            continue
        p = found.params
        split = f"train/validation/test {p.get('n_train', '?')}/{p.get('n_validation', '?')}/{p.get('n_test', '?')}"
        accuracies = {key: logged_accuracy(found.metrics, p, key) for key in ACCURACIES}
        gate = ClassifierGate(float(p.get("gate_accuracy", ClassifierGate.threshold)))
        verdict = gate.status(accuracies["validation"])
        rows.append(
            [
                system,
                f"{model_name(system)} v{found.version}",
                found.tags.get("profile", "—"),
                f"{p.get('input_kind', '—')} / {p.get('head', '—')}",
                f"{quench_scale(data, system).text()}; {split}",
                *(_accuracy(accuracies[key]) for key in ACCURACIES),
                f"{gate.threshold:g}: {verdict}",
                paper_text,
                paper.oyama_scale(system),
            ]
        )
        section.present = True
        finding = "" if verdict == CLASSIFIER_RESOLVED else f" — {no_finding_text(accuracies['validation'])}"
        section.summary.append(
            f"- {system} CNN v{found.version}: validation accuracy {accuracies['validation'].text()}, test accuracy "
            f"{accuracies['test'].text()} ([O]: {paper_text} glass / liquid){finding}"
        )
    section.add(table(columns, rows, [PAPER, "paper scale"]))
    section.add(
        note(
            f"Paper: {paper.TABLE_II_SOURCE}, glass / liquid, on 600 + 600 test images. The champion is chosen on "
            "validation accuracy; test accuracy is reported, never used to choose. Each accuracy is k/n ± its "
            "binomial SE √(p(1 − p)/n), with n and the Wilson score interval at 2 SE. Classifier gate: Grad-CAM "
            "findings are results only when the Wilson lower end of the validation accuracy reaches the gate "
            "(the run's cnn.gate_accuracy; 'classifier_unresolved' otherwise)."
        )
    )
    if not section.present:
        section.add(absent("no champion CNN in the MLflow registry (asset <system>/cnn_classifier)"))
    return section


def paper_absent(what: str) -> str:
    return f"{ABSENT} ({what})"


ACCURACIES = ("validation", "test_glass", "test_liquid", "test")


def _accuracy(accuracy: Accuracy) -> str:
    """An accuracy as [O] prints them (three decimals) with its binomial SE, n and Wilson interval; ``—`` if the
    run did not log it."""
    return "—" if accuracy.n == 0 else accuracy.text()


def _glass_means(summary: pl.DataFrame) -> dict[str, SampleMean]:
    """Glass Pearson means of ``indicator_correlation_summary`` rows, as the conditions take them."""
    glass = summary.filter((pl.col("label") == "glass") & (pl.col("method") == "pearson"))
    return {
        r["pair"]: SampleMean(float("nan") if r["mean"] is None else r["mean"], r["stderr"], r["n"], r["std"])
        for r in glass.iter_rows(named=True)
    }


def _paper_correlation(system: str, label: str, pair: str, method: str) -> str:
    if label != "glass" or method != "pearson":
        return "—"
    if system == "abm":
        return f"{paper.OYAMA_ABM_GLASS_MEANS[pair]:g}"
    if system == "kam" and pair != "one_minus_theta~upsilon":
        return "< 0"
    return "—"


@guarded
def correlations(data: ReportData, tracking: MLflowResource, systems: Sequence[str]) -> Section:
    """[O] §IV C: indicator correlations, mean ± SE and n, and [O]'s conditions judged."""
    section = Section("[O] §IV C: indicator correlations", "correlations")
    for system in systems:
        section.add(f"<h3>{system}</h3>")
        summary = data.rows("indicator_correlation_summary", system, order="label, pair, method")
        if summary is None:
            section.add(absent(f"indicator_correlation_summary of {system} (asset {system}/indicator_correlations)"))
            continue
        section.present = True
        section.add(_scale_note(data, system, summary))
        unresolved = frozenset(r["pair"] for r in summary.iter_rows(named=True) if not is_finding(r))
        if unresolved:
            section.add(note(f"{system}: {no_finding(tracking, system)}", "error"))
            section.summary.append(f"- {system}: {no_finding(tracking, system)}")
        rows = [
            [
                r["label"],
                PAIR_LABELS.get(r["pair"], r["pair"]),
                r["method"],
                r["subset"],
                mean_text(r["mean"], r["stderr"], r["n"]) if is_finding(r) else NO_FINDING_CELL,
                r["n"],
                r["n_undefined"],
                r["std"] if is_finding(r) else None,
                _paper_correlation(system, r["label"], r["pair"], r["method"]) if is_finding(r) else "—",
            ]
            for r in summary.iter_rows(named=True)
        ]
        columns = ["class", "pair", "method", "configurations", "mean ± SE", "n", "undefined", "sd", PAPER]
        section.add(table(columns, rows, [PAPER]))
        means = _glass_means(summary)
        results = evaluate_conditions(paper.OYAMA_GLASS_CONDITIONS.get(system, ()), means, unresolved)
        if results:
            section.add(
                table(
                    ["condition ([O], glass means, Pearson)", PAPER, "D ± SE", "verdict"],
                    [
                        [r.condition.text, r.condition.paper, mean_text(r.difference, r.stderr, 2), r.verdict]
                        for r in results
                    ],
                    [PAPER],
                )
            )
            verdicts = ", ".join(f"{r.condition.text} {r.verdict}" for r in results)
            section.summary.append(f"- {system} conditions: {verdicts}")
    section.add(
        note(
            "configurations: 'test' = correctly classified CNN test configurations (the pairs with Γ); "
            "'all' = every configuration of the T_G / T_L ensemble (C(1−Θ,Υ) needs no CNN). A condition "
            "D > 0 passes if D > 2 SE, fails if D < −2 SE, else is unresolved (SEs combined as independent; "
            "C(·,Θ) = −C(·,1−Θ)). Γ rows of a CNN below the classifier gate are no finding: no mean, no paper value, "
            "conditions on them not judged ('classifier unresolved')."
        )
    )
    return section


def _scale_note(data: ReportData, system: str, summary: pl.DataFrame) -> str:
    versions = sorted({v for v in summary["model_version"].drop_nulls().to_list()})
    cnn = f"; Γ from {model_name(system)} v{', '.join(versions)}" if versions else ""
    return note(
        f"Measured at: {quench_scale(data, system).text()}{cnn}. Paper: {paper.oyama_test_glasses()} test glasses, "
        f"{paper.oyama_scale(system)}."
    )
