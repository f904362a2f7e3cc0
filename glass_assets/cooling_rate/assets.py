"""The cooling-rate study: does [O]'s C(1−Θ,Υ) of ABM glasses depend on how slowly they were quenched?

For each rate γ of the profile's ``cooling_rate_study`` section, independent LAMMPS quenches of N particles from
T_high to T_G (the ``quench`` worker task, the profile's quench protocol with its rate replaced by γ); per glass
the Pearson and Spearman coefficients C(1−Θ̄, Ῡ) of the coarse-grained (ξ) min–max normalised Tong–Tanaka order
and Voronoi area, exactly as ``indicator_correlations`` computes them [O §IV C]
(:func:`glass_core.learning.correlations.theta_upsilon_correlations`); per rate mean ± SE = s/√n and n
over the glasses (:func:`glass_core.models.statistics.sample_mean`), beside [O]'s 0.355 (N = 2000, γ = 8.33×10⁻⁵).

The CNN correlations C(Γ̄, Ῡ) and C(Γ̄, 1−Θ̄): for each input kind of ``cnn_inputs`` one CNN (the profile's ``cnn``
settings, global-average head) is trained on the system's T_L / T_G quenched ensembles and logged to MLflow
(experiment ``cooling_rate_study_cnn``). Its Grad-CAM Γ of the glass class is computed on every glass of every
rate with the same pixel size as in training (the grid grows with the box; the pooled head makes the network
size-independent, [O]'s flatten head would not be) and, on the glasses it classifies as glass, correlated as
``indicator_correlations`` does. No glass of the study is ever a training image, so all of them count.

The classifier gate [O]: Grad-CAM findings come only from a CNN that classifies. Each study CNN's validation
accuracy k/n carries its binomial SE and Wilson interval (2 SE) in MLflow and in ``cooling_rate_cnns``; a CNN
whose Wilson lower end is below the profile's ``cnn.gate_accuracy`` still gives its rows, marked
``classifier_unresolved`` (``paper_value`` NULL), a WARN names its accuracy and n, and the table and plot show
"no Grad-CAM finding" in place of its means: none of them stands beside [O]'s values. The validation split is
checked against the gate before any CNN is trained or any glass quenched. A study that is run again (more glasses, a
resumed run) reuses a CNN logged with the same data, settings and code (MLflow tag ``study_cnn_key``) instead of
training it again, as it reuses the stored glasses.

The study CNNs (training, reuse, their table) are in :mod:`glass_assets.cooling_rate.study_cnns`, the glasses of
each rate (quenched, or reused from the warehouse) in :mod:`glass_assets.cooling_rate.glasses`; this module holds
the asset, its correlation rows and its summary.

References: [O] (docs/bibliography.md).
"""

import shutil
import time
from collections.abc import Mapping

import polars as pl
from dagster import AssetExecutionContext, MaterializeResult, MetadataValue

from glass_assets.checks import evaluate_before_commit
from glass_assets.cooling_rate import plots
from glass_assets.cooling_rate.checks import (
    COOLING_RATE_CHECKS,
    RateGlasses,
)
from glass_assets.cooling_rate.glasses import glasses_at_rate
from glass_assets.cooling_rate.study_cnns import StudyCNN, study_cnn_rows, train_study_cnns
from glass_assets.graph import PER_SYSTEM, SIMULATION_RETRIES, AssetTemplate, Upstream
from glass_assets.plots import figure_metadata, stderr_metadata
from glass_assets.registry.tracking import MLflowResource
from glass_assets.resources import SimulationLauncher, StudySettings, WarehouseResource
from glass_assets.versioning import COOLING_RATE_CODE_VERSION, code_version_tag
from glass_core.learning.classifier_gate import CLASSIFIER_UNRESOLVED
from glass_core.learning.correlations import (
    OYAMA_COOLING_RATE,
    OYAMA_GLASS_MEANS,
    STRUCTURAL_PAIR,
    theta_upsilon_correlations,
)
from glass_core.learning.grad_cam import cnn_glass_correlations
from glass_core.models.configuration import Configuration
from glass_core.models.statistics import sample_mean
from glass_core.models.systems import get_system
from glass_core.structure.indicators import structural_indicators


def _correlation_rows(
    system: str, rate: float, configs: dict[int, Configuration], xi: float, cnns: list[StudyCNN]
) -> tuple[list[dict], dict[str, int]]:
    """Rows of ``cooling_rate_correlations`` for the glasses of one rate, and per CNN input the number of glasses
    it classifies as glass (the others have no CNN rows)."""
    model = get_system(system)
    indicators = {sample: structural_indicators(config, model, xi) for sample, config in configs.items()}
    base = {"system": system, "cooling_rate": rate}
    rows = [
        {**base, "sample": sample, "pair": STRUCTURAL_PAIR, "cnn_input": None, "method": method, "value": value}
        for sample, fields in indicators.items()
        for method, value in theta_upsilon_correlations(fields).items()
    ]
    classified = {}
    box_length = float(next(iter(configs.values())).box[0])
    for cnn in cnns:
        per_glass = cnn_glass_correlations(cnn.model, cnn.gridding_at_box(box_length), configs, indicators, xi)
        classified[cnn.input_kind] = sum(values is not None for values in per_glass.values())
        rows += [
            {
                **base,
                "sample": sample,
                "pair": pair,
                "cnn_input": cnn.input_kind,
                "method": method,
                "value": value,
                "classifier_status": cnn.classifier.status,
            }
            for sample, values in per_glass.items()
            if values is not None
            for (pair, method), value in values.items()
        ]
    return rows, classified


def cooling_rate_summary(
    correlations: pl.DataFrame,
    energies: dict[float, list[float]],
    system: str,
    n_particles: int,
    temperature: float,
    classified: Mapping[float, Mapping[str, int]] | None = None,
    statuses: Mapping[str, str] | None = None,
) -> pl.DataFrame:
    """Rows of ``cooling_rate_summary``: per (rate, pair, CNN input, method) mean ± SE, sd and n over the glasses,
    [O]'s value (Pearson only), the glasses' mean E/N ± SE, the number of glasses at the rate and, for a CNN pair,
    how many of them the CNN classified as glass (only those have a C(Γ, ·)) and the CNN's ``classifier_status``
    (``statuses``: input kind → status). A Grad-CAM row of an unresolved CNN gets no paper value: it is no
    finding to set beside [O]."""
    paper = OYAMA_GLASS_MEANS.get(system, {})
    classified = classified or {}
    statuses = statuses or {}
    rows = []
    for (rate, pair, cnn_input, method), group in correlations.group_by(
        ["cooling_rate", "pair", "cnn_input", "method"]
    ):
        mean = sample_mean(group["value"].to_list())
        energy = sample_mean(energies[rate])
        status = None if cnn_input is None else statuses.get(cnn_input)
        finding = status != CLASSIFIER_UNRESOLVED
        rows.append(
            {
                "system": system,
                "cooling_rate": rate,
                "pair": pair,
                "cnn_input": cnn_input,
                "method": method,
                "n_glasses": len(energies[rate]),
                "n_classified_glass": None if cnn_input is None else classified.get(rate, {}).get(cnn_input),
                "n_particles": n_particles,
                "temperature": temperature,
                "mean": mean.mean,
                "stderr": mean.stderr,
                "std": mean.std,
                "n": mean.n,
                "n_undefined": mean.n_undefined,
                "paper_value": paper.get(pair) if method == "pearson" and finding else None,
                "paper_cooling_rate": OYAMA_COOLING_RATE,
                "energy_per_particle": energy.mean,
                "energy_stderr": energy.stderr,
                "classifier_status": status,
            }
        )
    schema = {"mean": pl.Float64, "stderr": pl.Float64, "std": pl.Float64, "paper_value": pl.Float64}
    schema |= {"energy_stderr": pl.Float64, "cnn_input": pl.String, "n_classified_glass": pl.Int64}
    schema |= {"classifier_status": pl.String}
    return (
        pl.DataFrame(rows, schema_overrides=schema)
        .with_columns(pl.col("mean").fill_nan(None))
        .sort(["pair", "cnn_input", "method", "cooling_rate"], descending=[False, False, False, True], nulls_last=True)
    )


def cooling_rate_study(
    context: AssetExecutionContext,
    study: StudySettings,
    simulation: SimulationLauncher,
    warehouse: WarehouseResource,
    mlflow_tracking: MLflowResource,
) -> MaterializeResult:
    """Glasses quenched to T_G at each of the profile's cooling rates, and per rate the correlations of their
    structural indicators and Grad-CAM scores."""
    started = time.perf_counter()
    system_name = context.partition_key
    system = get_system(system_name)
    profile = study.load()
    settings = profile.cooling_rate_study
    temperature = float(system.temperatures["glass"])
    xi = profile.coarse_graining_length
    store = warehouse.get()
    store.ensure_writable()  # fail before hours of MD, not after
    cnns = train_study_cnns(context, profile, store, mlflow_tracking, system_name, simulation, study.scratch_dir)

    glasses, frames, rows, scratches, walls, classified = {}, [], [], [], {}, {}
    for rate, count in settings.plan():
        key, ensemble, configs, scratch = glasses_at_rate(
            context, study, simulation, store, profile, system, settings.n_particles, rate, count
        )
        glasses[rate] = RateGlasses(configs, ensemble["samples"])
        frames.append((key, ensemble))
        scratches.append(scratch)
        walls[rate] = float(ensemble["samples"]["wall_seconds"].mean())
        rate_rows, classified[rate] = _correlation_rows(system_name, rate, configs, xi, cnns)
        rows += rate_rows

    correlations = pl.DataFrame(
        rows, schema_overrides={"value": pl.Float64, "cnn_input": pl.String, "classifier_status": pl.String}
    ).with_columns(pl.col("value").fill_nan(None))
    if "classifier_status" not in correlations.columns:  # no CNN: C(1−Θ,Υ) only
        correlations = correlations.with_columns(pl.lit(None, dtype=pl.String).alias("classifier_status"))
    energies = {rate: g.samples["energy_per_particle"].to_list() for rate, g in glasses.items()}
    statuses = {c.input_kind: c.classifier.status for c in cnns}
    summary = cooling_rate_summary(
        correlations, energies, system_name, settings.n_particles, temperature, classified, statuses
    )
    tables = {
        "cooling_rate_correlations": correlations,
        "cooling_rate_summary": summary,
        "cooling_rate_cnns": study_cnn_rows(system_name, cnns),
    }
    rejected = {**tables, **{f"{t}_{k['ensemble']}": f for k, e in frames for t, f in e.items()}}
    checks = evaluate_before_commit(
        COOLING_RATE_CHECKS,
        context,
        rejected=rejected,
        quarantine_root=study.quarantine_root(),
        system=system,
        glasses=glasses,
        correlations=correlations,
        classifiers=[c.classifier for c in cnns],
    )
    written = store.replace_partitions([({"system": system_name}, tables), *frames])
    for scratch in scratches:
        shutil.rmtree(scratch, ignore_errors=True)
    return MaterializeResult(
        check_results=checks,
        metadata={
            **_summary_metadata(summary),
            "table": MetadataValue.md(plots.summary_markdown(summary)),
            "rows_written": MetadataValue.json(written),
            "n_particles": settings.n_particles,
            "temperature": temperature,
            "profile": profile.name,
            "mean_wall_seconds_per_glass": MetadataValue.json({f"{r:g}": w for r, w in walls.items()}),
            "study_cnns": MetadataValue.json(
                {
                    c.input_kind: {
                        "validation_accuracy": c.accuracies["validation"].text(),
                        "test_accuracy": c.accuracies["test"].text(),
                        "classifier_status": c.classifier.status,
                        "gate_accuracy": c.classifier.gate.threshold,
                        "n_particles": c.n_particles,
                        "mlflow_run_id": c.run_id,
                        "glasses_classified_as_glass": {f"{r:g}": classified[r][c.input_kind] for r in classified},
                    }
                    for c in cnns
                }
            ),
            "cnn_accuracies": MetadataValue.md(plots.cnn_markdown(study_cnn_rows(system_name, cnns))),
            **{
                f"grad_cam_finding_{c.input_kind}": "resolved classifier"
                if c.classifier.resolved
                else c.classifier.no_finding()
                for c in cnns
            },
            "wall_seconds": time.perf_counter() - started,
            "code_version": code_version_tag(COOLING_RATE_CODE_VERSION),
            **figure_metadata(
                plots.correlation_against_rate(
                    summary,
                    correlations,
                    f"{system_name}: glasses at T = {temperature:g}, N = {settings.n_particles}",
                    OYAMA_GLASS_MEANS.get(system_name, {}),
                    OYAMA_COOLING_RATE,
                ),
                study.plot_path("cooling_rate_study", f"{system_name}_correlation_vs_rate.png"),
            ),
        },
    )


def _summary_metadata(summary: pl.DataFrame) -> dict[str, object]:
    """``pearson_rate_<γ>`` (C(1−Θ,Υ)), ``pearson_<pair>_<input>_rate_<γ>`` (the CNN pairs), each with ``…_stderr``
    (null for n = 1) and ``…_n``; the CNN pairs of an unresolved classifier are no finding and are left out."""
    metadata: dict[str, object] = {}
    for row in summary.filter(pl.col("method") == "pearson").iter_rows(named=True):
        if row.get("classifier_status") == CLASSIFIER_UNRESOLVED:
            continue
        prefix = "pearson" if row["cnn_input"] is None else f"pearson_{row['pair']}_{row['cnn_input']}"
        name = f"{prefix}_rate_{row['cooling_rate']:g}"
        metadata[name] = float("nan") if row["mean"] is None else float(row["mean"])
        metadata[f"{name}_stderr"] = stderr_metadata(row["stderr"])
        metadata[f"{name}_n"] = row["n"]
    return metadata


COOLING_RATE_STUDY = AssetTemplate(
    body=cooling_rate_study,
    profile_settings=("base_seed", "cooling_rate_study", "quench.protocol", "cnn", "descriptors"),
    partitioned_by=PER_SYSTEM,
    upstream=(Upstream("quenched_ensembles"),),
    checks=COOLING_RATE_CHECKS,
    kinds=frozenset({"lammps", "freud", "duckdb", "pytorch", "mlflow"}),
    group_name="cooling_rate",
    code_version=COOLING_RATE_CODE_VERSION,
    pool="simulation",
    retry_policy=SIMULATION_RETRIES,
)
