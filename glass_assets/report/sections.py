"""The report's sections: [O] Table II and §IV C, analogues of [O] Figs. 1–4, the cooling-rate study, and [J]'s
dynamic heterogeneity and S4(q)/ξ4.

Every measured number stands beside the paper's (shaded column) and both scales: what it was measured at (N,
cooling rate, glasses, replicas, profile) and what the paper used (the ``paper`` profile). Means carry their
standard error over configurations, SE = sd/√n (ddof = 1, :mod:`glass_core.models.statistics`), and n. A section
whose rows the warehouse (or registry) does not hold says "not materialized yet"; a table that cannot be read
(an older schema) shows its error in the section, and the rest of the page is still written.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence

import duckdb
import polars as pl
from mlflow.exceptions import MlflowException

from glass_assets.plots import PAIR_LABELS, correlation_violins, heterogeneity_figure, mean_text, s4_figure
from glass_assets.registry.cnn_split import logged_accuracy
from glass_assets.registry.tracking import MLflowResource, model_name
from glass_assets.report import figures, paper
from glass_assets.report.compute import compute_per_stage
from glass_assets.report.data import ReportData, champion, quench_scale, swap_mc_scale
from glass_assets.report.glassbench import glassbench_outside_test
from glass_assets.report.html import ABSENT, Section, absent, figure, note, png, table
from glass_assets.report.propensity_models import held_out_test, model_comparison
from glass_assets.warehouse import WarehouseError
from glass_core.learning.classifier_gate import CLASSIFIER_RESOLVED, ClassifierGate, no_finding_text
from glass_core.learning.correlations import evaluate_conditions
from glass_core.models.statistics import Accuracy, SampleMean, sample_mean
from glass_core.models.systems import get_system

__all__ = ["build_sections", "oyama_systems"]

#: what a section may meet in an older or foreign warehouse; shown in the section, never raised
READ_ERRORS = (duckdb.Error, pl.exceptions.PolarsError, WarehouseError, MlflowException)
PAPER = "paper"  # the shaded column of every table


def oyama_systems(systems: Sequence[str]) -> list[str]:
    """The systems of [O]'s liquid/glass study (those with a T_L and a T_G); the rest are [J]'s."""
    return [s for s in systems if "glass" in get_system(s).temperatures]


def _guarded(build: Callable[..., Section]) -> Callable[..., Section]:
    """A section builder whose read errors become a visible error paragraph instead of a failed report, and whose
    section says so when the report has no system for it."""

    @functools.wraps(build)
    def guarded(*args: object) -> Section:
        try:
            section = build(*args)
            if not args[-1]:  # every builder takes the systems last
                section.add(absent("no system of this paper in the campaign or the warehouse"))
            return section
        except READ_ERRORS as error:
            section = Section(build.__doc__.split(":")[0], build.__name__.replace("_", "-"))
            section.add(note(f"could not be read: {type(error).__name__}: {error}", "error"))
            section.summary.append(f"- {section.title}: **read error** ({type(error).__name__})")
            return section

    return guarded


@_guarded
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


def value_text(value: float | None, error: float | None) -> str:
    """``"1.23 ± 0.045"`` for a value with its error (SE or fit error), ``"—"`` without a value."""
    return mean_text(value, error, 1)


ACCURACIES = ("validation", "test_glass", "test_liquid", "test")


def _accuracy(accuracy: Accuracy) -> str:
    """An accuracy as [O] prints them (three decimals) with its binomial SE, n and Wilson interval; ``—`` if the
    run did not log it."""
    return "—" if accuracy.n == 0 else accuracy.text()


def _is_finding(row: dict) -> bool:
    """A correlation row is a finding unless it is built on Γ of a classifier not resolved above the gate (rows
    written before the gate carry no status and count as unresolved)."""
    return "gamma" not in row["pair"] or row.get("classifier_status") == CLASSIFIER_RESOLVED


NO_FINDING_CELL = "no Grad-CAM finding (classifier unresolved)"


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


def _no_finding(tracking: MLflowResource, system: str) -> str:
    """ "classifier at chance: no Grad-CAM finding (validation accuracy …)" for the system's champion CNN."""
    found = champion(tracking, system)
    if found is None:
        return no_finding_text()
    gate = float(found.params.get("gate_accuracy", ClassifierGate.threshold))
    return no_finding_text(logged_accuracy(found.metrics, found.params, "validation"), gate)


@_guarded
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
        unresolved = frozenset(r["pair"] for r in summary.iter_rows(named=True) if not _is_finding(r))
        if unresolved:
            section.add(note(f"{system}: {_no_finding(tracking, system)}", "error"))
            section.summary.append(f"- {system}: {_no_finding(tracking, system)}")
        rows = [
            [
                r["label"],
                PAIR_LABELS.get(r["pair"], r["pair"]),
                r["method"],
                r["subset"],
                mean_text(r["mean"], r["stderr"], r["n"]) if _is_finding(r) else NO_FINDING_CELL,
                r["n"],
                r["n_undefined"],
                r["std"] if _is_finding(r) else None,
                _paper_correlation(system, r["label"], r["pair"], r["method"]) if _is_finding(r) else "—",
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


@_guarded
def indicator_maps(data: ReportData, systems: Sequence[str]) -> Section:
    """[O] Figs. 1–2: Grad-CAM, Voronoi and Tong–Tanaka fields on one glass."""
    section = Section("[O] Figs. 1–2: indicator maps of one glass", "indicator-maps")
    for system in systems:
        fields = data.query(
            "SELECT g.sample, g.gamma_cg, d.voronoi_area_cg, d.one_minus_theta_cg, p.x, p.y, g.model_version, "
            "g.classifier_status "
            "FROM grad_cam g JOIN descriptors d USING (system, temperature, ensemble, sample, particle) "
            "JOIN particles p USING (system, temperature, ensemble, sample, particle) "
            "WHERE g.system = ? AND g.label = 'glass' AND g.sample = "
            "(SELECT min(sample) FROM grad_cam WHERE system = ? AND label = 'glass') ORDER BY g.particle",
            [system, system],
            needs=("grad_cam", "descriptors", "particles"),
        )
        if fields is None:
            section.add(f"<h3>{system}</h3>", absent(f"grad_cam rows of {system} (asset {system}/grad_cam_scores)"))
            continue
        section.present = True
        sample, version = int(fields["sample"][0]), fields["model_version"][0]
        caption = (
            f"{system} glass, sample {sample}, N = {fields.height}: Γ of {model_name(system)} v{version} (class "
            f"glass), Voronoi area Υ and 1 − Θ, each coarse-grained and min–max normalised [O Figs. 1–2 (a–c)]."
        )
        if fields["classifier_status"][0] != CLASSIFIER_RESOLVED:
            caption += " The CNN is not resolved above the classifier gate: this Γ map is no Grad-CAM finding."
        section.add(figure(figures.indicator_maps(fields, f"{system} glass, sample {sample}"), caption))
    return section


@_guarded
def violins(data: ReportData, systems: Sequence[str]) -> Section:
    """[O] Fig. 3: distributions of the per-configuration correlations."""
    section = Section("[O] Fig. 3: per-configuration correlations", "violins")
    for system in systems:
        pearson = data.rows("indicator_correlations", system, "method = 'pearson'")
        if pearson is None:
            section.add(f"<h3>{system}</h3>", absent(f"indicator_correlations of {system}"))
            continue
        section.present = True
        summary = data.rows("indicator_correlation_summary", system, "method = 'pearson'")
        unresolved = frozenset(
            r["pair"] for r in (summary.iter_rows(named=True) if summary is not None else []) if not _is_finding(r)
        )
        reference = {
            pair: value
            for pair, value in (paper.OYAMA_ABM_GLASS_MEANS if system == "abm" else {}).items()
            if pair not in unresolved
        }
        caption = (
            f"{system}: Pearson coefficient per configuration ({quench_scale(data, system).text()}); [O] Fig. 3 "
            f"shows {paper.oyama_test_glasses()} glasses per class at {paper.oyama_scale(system)}."
            + (" Grad-CAM pairs left out: classifier unresolved, no Grad-CAM finding." if unresolved else "")
        )
        image = png(
            correlation_violins(pearson, summary, f"{system}: Pearson per configuration", reference, unresolved)
        )
        section.add(figure(image, caption))
    return section


def _propensity_scale(data: ReportData, system: str) -> dict[float, str]:
    """Per run temperature: glasses, replicas and time window of the isoconfigurational runs."""
    rows = data.rows("propensity_summary", system)
    if rows is None:
        return {}
    n = quench_scale(data, system).n_particles
    return {
        t: f"N = {n}, {g['sample'].n_unique()} glasses × {g['n_replicas'].max()} replicas, t ≤ {g['time'].max():g}"
        for (t,), g in rows.group_by(["temperature"])
    }


@_guarded
def dynamics(data: ReportData, tracking: MLflowResource, systems: Sequence[str]) -> Section:
    """[O] Fig. 4: Grad-CAM against the dynamics, C(Γ, 1 − Δ) over the cage clock δ."""
    section = Section("[O] Fig. 4: Grad-CAM against dynamics", "dynamics")
    for system in systems:
        section.add(f"<h3>{system}</h3>")
        curves = data.rows("grad_cam_dynamics_curve", system, order="temperature, frame")
        if curves is None:
            section.add(absent(f"grad_cam_dynamics_curve of {system} (asset {system}/grad_cam_dynamics)"))
            continue
        section.present = True
        maxima = data.rows("grad_cam_dynamics_maxima", system)
        resolved = "classifier_status" in curves.columns and (curves["classifier_status"] == CLASSIFIER_RESOLVED).all()
        # [O]'s maximum stands beside the curve only when the CNN behind Γ is resolved above the classifier gate
        reference = paper.OYAMA_DYNAMICS_MAXIMUM.get(system) if resolved else None
        if not resolved:
            section.add(note(f"{system}: {_no_finding(tracking, system)}", "error"))
            section.summary.append(f"- {system} C(Γ,1−Δ): {_no_finding(tracking, system)}")
        scales = _propensity_scale(data, system)
        rows = []
        for (temperature,), curve in curves.group_by(["temperature"], maintain_order=True):
            defined = curve.drop_nulls("correlation")
            best = defined.sort("correlation", descending=True).row(0, named=True) if defined.height else None
            glasses = None if maxima is None else maxima.filter(pl.col("temperature") == temperature)
            per_glass = glasses["correlation"].to_list() if glasses is not None else []
            mean = sample_mean(per_glass)
            rows.append(
                [
                    temperature,
                    (mean_text(best["correlation"], best["stderr"], best["n"]) if resolved else NO_FINDING_CELL)
                    if best
                    else "—",
                    best["n"] if best else 0,
                    best["cage_clock"] if best else None,
                    mean_text(mean.mean, mean.stderr, mean.n) if resolved else NO_FINDING_CELL,
                    mean.n,
                    curve["cage_clock"].max(),
                    scales.get(temperature, "—"),
                    f"{reference:g} (one glass, at δ ≈ 1)" if reference is not None else "—",
                    paper.propensity_scale(system),
                ]
            )
            if best and resolved:
                best_text = mean_text(best["correlation"], best["stderr"], best["n"])
                section.summary.append(
                    f"- {system} T = {temperature:g}: max of the mean C(Γ,1−Δ) {best_text} (n = {best['n']}) at "
                    f"δ = {best['cage_clock']:.2g}; [O] {reference}"
                )
        columns = [
            "T",
            "max of mean curve ± SE",
            "n",
            "at δ",
            "per-glass maxima, mean ± SE",
            "glasses",
            "largest δ reached",
            "measured at",
            PAPER,
            "paper scale",
        ]
        section.add(table(columns, rows, [PAPER, "paper scale"]))
        title = f"{system}: C(Γ, 1 − Δ) against δ"
        if not resolved:
            title += " — classifier unresolved, no Grad-CAM finding"
        section.add(
            figure(
                figures.dynamics_figure(curves, maxima, reference, title),
                f"{title}; glasses the CNN trained on are left out. [O]: {paper.propensity_scale(system)}.",
            )
        )
    return section


def _glass_count(row: dict) -> str:
    """Glasses at the rate, and for a CNN pair how many the CNN classified as glass (older rows: unknown)."""
    if row.get("n_glasses") is None:
        return "?"
    classified = row.get("n_classified_glass")
    return f"{row['n_glasses']}" if classified is None else f"{row['n_glasses']} ({classified})"


@_guarded
def cooling_rates(data: ReportData, systems: Sequence[str]) -> Section:
    """Cooling-rate study: C(1−Θ,Υ), and C(Γ,Υ), C(Γ,1−Θ) per CNN input, of the glasses against the cooling rate."""
    section = Section("Cooling-rate study: correlations against the cooling rate", "cooling-rates")
    for system in systems:
        summary = data.rows("cooling_rate_summary", system, order="pair DESC, cnn_input, method, cooling_rate DESC")
        if summary is None:
            where = f"asset {system}/cooling_rate_study, campaign stage cooling_rate_study: true"
            section.add(f"<h3>{system}</h3>", absent(f"cooling_rate_summary of {system} ({where})"))
            continue
        section.present = True
        section.add(f"<h3>{system}</h3>")
        cnns = data.rows("cooling_rate_cnns", system, order="cnn_input, subset")
        if cnns is not None:
            section.add(_study_cnn_table(cnns))
            for r in cnns.filter(pl.col("subset") == "validation").iter_rows(named=True):
                accuracy = Accuracy(int(r["n_correct"]), int(r["n"]))
                status = "" if r["classifier_status"] == CLASSIFIER_RESOLVED else f" — {no_finding_text(accuracy)}"
                section.summary.append(
                    f"- {system} study CNN {r['cnn_input']} (N = {r['n_particles']}): validation accuracy "
                    f"{accuracy.text()}, gate {r['gate_accuracy']:g}{status}"
                )
        rows = [
            [
                r["cooling_rate"],
                PAIR_LABELS.get(r["pair"], r["pair"]),
                r.get("cnn_input") or "—",
                r["method"],
                r["n_particles"],
                mean_text(r["mean"], r["stderr"], r["n"]) if _is_finding(r) else NO_FINDING_CELL,
                r["n"],
                _glass_count(r),
                r["paper_value"] if _is_finding(r) else None,
                r["paper_cooling_rate"],
            ]
            for r in summary.iter_rows(named=True)
        ]
        columns = [
            "cooling rate",
            "pair",
            "CNN input",
            "method",
            "N",
            "mean ± SE",
            "n",
            "glasses (classified as glass)",
            PAPER,
            "paper cooling rate",
        ]
        section.add(table(columns, rows, [PAPER, "paper cooling rate"]))
        section.add(
            figure(
                figures.cooling_rate_figure(summary, f"{system}: C against the cooling rate"),
                f"{system}: Pearson mean over glasses ± SE at each cooling rate (Grad-CAM pairs: one line per CNN "
                "input resolved above the classifier gate, glasses classified as glass); [O] (red ×) at its rate.",
            )
        )
    return section


def _study_cnn_table(cnns: pl.DataFrame) -> str:
    """The cooling-rate study's CNNs: accuracy k/n ± binomial SE, n, Wilson interval, gate and verdict."""
    rows = [
        [
            r["cnn_input"],
            r["subset"],
            r["n_particles"],
            Accuracy(int(r["n_correct"]), int(r["n"])).text(),
            r["n"],
            r["gate_accuracy"],
            r["classifier_status"],
        ]
        for r in cnns.iter_rows(named=True)
    ]
    columns = ["CNN input", "subset", "N (training box)", "accuracy ± SE (n; Wilson 2 SE)", "n", "gate", "status"]
    return table(columns, rows) + note(
        "Study CNNs: trained on the T_L / T_G quench ensembles; Grad-CAM correlations of a CNN whose validation "
        "accuracy is not resolved above the gate are shown as 'no Grad-CAM finding'. [O]: test accuracy ≥ 0.998."
    )


@_guarded
def heterogeneity(data: ReportData, systems: Sequence[str]) -> Section:
    """[J]: dynamic heterogeneity, χ4 and the dynamic lengths."""
    section = Section("[J] Dynamic heterogeneity: χ4 and dynamic lengths", "heterogeneity")
    for system in systems:
        section.add(f"<h3>{system}</h3>")
        lengths = data.rows("dynamic_lengths", system, order="length, source, temperature, target_cb")
        chi4 = data.rows("heterogeneity", system, "observable = 'chi4' AND target_cb IS NOT NULL")
        if lengths is None and chi4 is None:
            section.add(absent(f"dynamic_lengths and heterogeneity of {system} (asset {system}/heterogeneity_summary)"))
            continue
        section.present = True
        section.add(note(f"Measured at: {swap_mc_scale(data, system)}. Paper: {paper.j_scale()}. {paper.J_TRENDS}"))
        if lengths is not None:
            section.add(_lengths_table(lengths))
        if chi4 is not None:
            section.add(table(["T", "source", "peak χ4 ± SE", "at ⟨C_B⟩", "configurations"], _chi4_peaks(chi4)))
        section.add(
            figure(
                png(heterogeneity_figure(lengths, chi4, f"{system}: dynamic heterogeneity [J]")),
                f"{system}: lengths against 1/T and χ4 against ⟨C_B⟩; MD filled, tGlassMLP open.",
            )
        )
    return section


def _lengths_table(lengths: pl.DataFrame) -> str:
    """One row per (length, source, T), one column per state point ⟨C_B⟩: value ± SE (σ); ``unresolved`` where a
    fit found no length; n = configurations behind the row (none for attention: networks, not configurations)."""
    targets = sorted(set(lengths["target_cb"].to_list()), reverse=True)
    rows = []
    for (length, source, temperature), group in lengths.group_by(
        ["length", "source", "temperature"], maintain_order=True
    ):
        cells = {r["target_cb"]: r for r in group.iter_rows(named=True)}
        values = [
            ("unresolved" if cells[t]["value"] is None else value_text(cells[t]["value"], cells[t]["stderr"]))
            if t in cells
            else "—"
            for t in targets
        ]
        n = group["n_configurations"].drop_nulls()
        rows.append([length, source, temperature, *values, int(n.max()) if n.len() else None])
    columns = ["length", "source", "T", *(f"⟨C_B⟩ = {t:g}" for t in targets), "configurations"]
    return table(columns, rows)


def _chi4_peaks(chi4: pl.DataFrame) -> list[list[object]]:
    """Per (T, source): the largest χ4 over the state points, with its SE, ⟨C_B⟩ and configurations."""
    rows = []
    for (temperature, source), group in chi4.sort("temperature", "source").group_by(
        ["temperature", "source"], maintain_order=True
    ):
        peak = group.sort("value", descending=True).row(0, named=True)
        rows.append(
            [
                temperature,
                source,
                mean_text(peak["value"], peak["stderr"], peak["n_configurations"]),
                peak["target_cb"],
                peak["n_configurations"],
            ]
        )
    return rows


@_guarded
def four_point(data: ReportData, systems: Sequence[str]) -> Section:
    """[J]: S4(q) on large boxes and the length ξ4."""
    section = Section("[J] S4(q) and ξ4 on large boxes", "four-point")
    for system in systems:
        section.add(f"<h3>{system}</h3>")
        s4 = data.rows("four_point_structure_factor", system)
        if s4 is None:
            section.add(absent(f"four_point_structure_factor of {system} (asset {system}/four_point_structure_factor)"))
            continue
        section.present = True
        boxes = data.rows("samples", system, "ensemble = 'large_swap_mc'")
        measured = f"{boxes.height} boxes of N = {boxes['n_particles'].max()}" if boxes is not None else "unknown"
        section.add(note(f"Measured at: {measured}. Paper: {paper.large_box_scale()}."))
        xi4 = data.rows("dynamic_lengths", system, "length = 'xi4'", order="temperature, target_cb")
        if xi4 is not None:
            rows = [
                [
                    r["temperature"],
                    r["target_cb"],
                    r["source"],
                    value_text(r["value"], r["stderr"]),
                    f"{r['fit_q_min']:.3g}–{r['fit_q_max']:.3g}" if r["fit_q_min"] is not None else "—",
                    {True: "yes", False: "no"}.get(r["resolved"], "—"),
                    r["reason"],
                ]
                for r in xi4.iter_rows(named=True)
            ]
            section.add(
                table(["T", "⟨C_B⟩", "source", "ξ4 ± fit error (σ)", "fit q range", "resolved", "reason"], rows)
            )
        section.add(
            figure(
                png(s4_figure(s4, f"{system}: S4(q) of the predicted propensity")),
                f"{system}: S4(q) ± SE over boxes ({measured}); ξ4 from the Ornstein–Zernike fit.",
            )
        )
    return section


def build_sections(data: ReportData, tracking: MLflowResource, systems: Sequence[str]) -> list[Section]:
    """Every section of the report, in the papers' order: [O] for its systems, then [J] for the others."""
    oyama = oyama_systems(systems)
    jung = [s for s in systems if s not in oyama]
    return [
        table_ii(data, tracking, oyama),
        correlations(data, tracking, oyama),
        indicator_maps(data, oyama),
        violins(data, oyama),
        dynamics(data, tracking, oyama),
        cooling_rates(data, oyama),
        _guarded(model_comparison)(data, jung),
        _guarded(held_out_test)(data, jung),
        heterogeneity(data, jung),
        four_point(data, jung),
        _guarded(glassbench_outside_test)(data, jung),
        compute_per_stage(data),
    ]
