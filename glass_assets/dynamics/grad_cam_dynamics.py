"""What the CNN's Grad-CAM score predicts about aging dynamics: C(Γ, 1 − Δ) against δ(t) [O Fig. 4].

Glasses the champion CNN trained on never enter: only correctly classified glasses of its validation and
test splits do. Per frame the mean curve over them carries its standard error and n; each glass's own
maximum over δ (what [O] reports, from one configuration) is stored and drawn as a distribution beside the
maximum of the mean curve.

The classifier gate: Γ explains a decision only if the CNN makes one. The champion's logged validation accuracy
(k of n) is judged by the profile's ``cnn.gate_accuracy`` (Wilson lower end at 2 SE,
:mod:`glass_core.learning.classifier_gate`); below it the rows are written marked ``classifier_unresolved``, a
WARN names the accuracy and n, and the metadata, plots and checks make no comparison with [O]'s maximum.
"""

import polars as pl
from dagster import AssetExecutionContext, MaterializeResult, MetadataValue

from glass_assets.checks import evaluate_before_commit
from glass_assets.dynamics import plots
from glass_assets.dynamics.checks import (
    GRAD_CAM_DYNAMICS_CHECKS,
)
from glass_assets.graph import PER_SYSTEM, AssetTemplate, Upstream
from glass_assets.plots import figure_metadata, stderr_metadata
from glass_assets.registry.cnn_split import (
    champion_gate,
    cnn_subsets,
    logged_gridding,
    logged_split,
    quench_sample_ids_by_phase,
)
from glass_assets.registry.tracking import MLflowResource, champion_metrics, load_champion_cnn, model_name
from glass_assets.resources import StudySettings, WarehouseResource
from glass_assets.tables import configurations
from glass_assets.versioning import GRAD_CAM_DYNAMICS_CODE_VERSION
from glass_assets.warehouse import WarehouseError
from glass_core.learning.cnn import GLASS
from glass_core.learning.correlations import OYAMA_DYNAMICS_MAXIMUM, correlation_against_dynamics, curve_maximum
from glass_core.learning.grad_cam import grad_cam_particles
from glass_core.models.statistics import sample_mean
from glass_core.structure.indicators import normalised_coarse_grained

#: [O] Fig. 4: maximum of C(Γ, 1 − Δ) over δ(t), reached near δ ≈ 1 (one configuration each)
PAPER_MAXIMUM = OYAMA_DYNAMICS_MAXIMUM


def grad_cam_dynamics(
    context: AssetExecutionContext, study: StudySettings, warehouse: WarehouseResource, mlflow_tracking: MLflowResource
) -> MaterializeResult:
    """The correlation C(Γ, 1 − Δ) between the champion CNN's Grad-CAM score and the glasses' later cage-relative
    displacement, against the cage clock δ(t)."""
    system = context.partition_key
    store = warehouse.get()
    labels = store.query(
        "SELECT * FROM propensity WHERE system = ? ORDER BY temperature, sample, frame, particle", [system]
    )
    if labels.height == 0:
        raise WarehouseError(f"no propensity labels for {system}: materialize propensity_labels first")
    model, params, version = load_champion_cnn(mlflow_tracking, system)
    profile = study.load()
    classifier = champion_gate(
        profile.cnn, params, champion_metrics(mlflow_tracking, system), f"{model_name(system)} v{version}"
    )
    if not classifier.resolved:
        context.log.warning(f"{classifier.describe()}: {classifier.no_finding()}")
    gridding = logged_gridding(system, params)
    source_t = float(labels["source_temperature"][0])
    source = {"system": system, "temperature": source_t, "ensemble": str(labels["ensemble"][0])}
    configs = configurations(store.read_partition("samples", source), store.read_partition("particles", source))
    samples = sorted(set(labels["sample"].to_list()))
    cam = grad_cam_particles(model, [configs[s] for s in samples], gridding, target_class=GLASS,
                             device=profile.compute.device)
    xi = profile.coarse_graining_length
    gamma = {s: normalised_coarse_grained(configs[s], cam.scores[k], xi) for k, s in enumerate(samples)}
    correct = {s for k, s in enumerate(samples) if cam.cam.predictions[k] == GLASS}
    subsets = cnn_subsets(
        quench_sample_ids_by_phase(store, system),
        *logged_split(params),
    )
    trained_on = {s for s in samples if subsets.get(s) == "train"}
    # the statistics keep to glasses the CNN never trained on (validation and test), correctly classified
    kept = correct - trained_on
    clocks = store.query(
        "SELECT temperature, sample, frame, cage_clock FROM propensity_summary WHERE system = ?", [system]
    )
    cage_clock = {(r["temperature"], r["sample"], r["frame"]): r["cage_clock"] for r in clocks.iter_rows(named=True)}
    rows = []
    for (temperature, sample), run in labels.group_by(["temperature", "sample"], maintain_order=True):
        if sample not in kept:
            continue
        frames = run["frame"].unique(maintain_order=True).to_list()
        crsd = run["crsd"].to_numpy().reshape(len(frames), -1)  # rows sorted by frame, then particle
        curve = correlation_against_dynamics(configs[sample], gamma[sample], crsd, xi)
        times = run["time"].to_numpy().reshape(len(frames), -1)[:, 0]
        for k, frame in enumerate(frames):
            rows.append(
                {
                    "system": system,
                    "temperature": temperature,
                    "sample": sample,
                    "frame": frame,
                    "time": float(times[k]),
                    "cage_clock": float(cage_clock[(temperature, sample, frame)]),
                    "correlation": float(curve[k]),
                    "in_training": False,
                    "model_version": str(version),
                    "classifier_status": classifier.status,
                }
            )
    if not rows:
        raise ValueError(
            f"none of the {len(samples)} propensity glasses is usable: {len(correct)} classified as glass by the "
            f"champion CNN, {len(correct & trained_on)} of them in its training split (left out)"
        )
    # NaN (Δ constant: frame 0) is stored as NULL, so a reader's max() or avg() skips it
    table = pl.DataFrame(rows).with_columns(pl.col("correlation").fill_nan(None))
    curves = mean_curves(table)
    maxima = per_glass_maxima(table)
    checks = evaluate_before_commit(
        GRAD_CAM_DYNAMICS_CHECKS,
        context,
        rejected={"grad_cam_dynamics": table, "grad_cam_dynamics_curve": curves, "grad_cam_dynamics_maxima": maxima},
        quarantine_root=study.quarantine_root(),
        curves=table,
        paper_maximum=PAPER_MAXIMUM.get(system) if classifier.resolved else None,  # [O]'s only for a resolved CNN
        classifier=classifier,
    )
    written = store.replace_partition(
        {"system": system},
        {"grad_cam_dynamics": table, "grad_cam_dynamics_curve": curves, "grad_cam_dynamics_maxima": maxima},
    )
    defined = curves.drop_nulls("correlation")
    if defined.height == 0:
        raise ValueError(f"C(Γ, 1−Δ) is undefined at every frame of {system} (Δ or Γ constant): no curve to report")
    best = defined.sort("correlation", descending=True).row(0, named=True)
    maxima_by_t = {t: sample_mean(group["correlation"].to_list()) for (t,), group in maxima.group_by(["temperature"])}
    # [O]'s maximum stands beside a curve only when the classifier behind Γ is resolved above the gate
    paper = PAPER_MAXIMUM.get(system) if classifier.resolved else None
    title = f"{system}: Grad-CAM vs dynamics"
    if not classifier.resolved:
        title += " — classifier unresolved: no Grad-CAM finding"
    figure = plots.correlation_against_clock(curves, maxima, paper, title)
    metadata = {
        "max_correlation": float(best["correlation"]),
        "max_correlation_stderr": stderr_metadata(best["stderr"]),
        "max_correlation_n": int(best["n"]),
        "at_cage_clock_delta": float(best["cage_clock"]),
        "at_temperature": float(best["temperature"]),
        "paper_max_correlation": paper if paper is not None else float("nan"),
        "per_glass_maxima": MetadataValue.md(
            ("" if classifier.resolved else f"**{classifier.no_finding()}**\n\n")
            + plots.maxima_markdown(best, maxima_by_t, paper)
        ),
        **classifier.metadata(),
        "grad_cam_finding": "resolved classifier" if classifier.resolved else classifier.no_finding(),
        "max_cage_clock_reached": float(curves["cage_clock"].max()),
        "n_glasses": len(kept),
        "n_training_glasses_left_out": len(correct & trained_on),
        "n_glasses_not_classified_glass": len(set(samples) - correct),
        "model": f"{model_name(system)} v{version}",
        "rows_written": MetadataValue.json(written),
        **figure_metadata(figure, study.plot_path("grad_cam_dynamics", f"{system}_correlation_vs_delta.png")),
    }
    example = min(kept)
    at = labels.filter(
        (pl.col("temperature") == best["temperature"])
        & (pl.col("sample") == example)
        & (pl.col("frame") == best["frame"])
    )
    config = configs[example]
    one_minus_delta = 1.0 - normalised_coarse_grained(config, at["crsd"].to_numpy(), xi)
    maps = plots.dynamics_maps(
        config.positions[:, 0],
        config.positions[:, 1],
        gamma[example],
        one_minus_delta,
        f"{system} glass {example}, T = {best['temperature']}, δ = {best['cage_clock']:.2f}",
    )
    metadata.update(
        {
            f"maps_{k}": v
            for k, v in figure_metadata(maps, study.plot_path("grad_cam_dynamics", f"{system}_maps.png")).items()
        }
    )
    context.log.info(
        f"max of the mean C(Γ,1−Δ) = {best['correlation']:.3f} ± {best['stderr'] or float('nan'):.3f} "
        f"(n = {best['n']}) at δ = {best['cage_clock']:.2f} "
        + (f"(paper, one glass: {paper})" if classifier.resolved else f"— {classifier.no_finding()}")
    )
    return MaterializeResult(check_results=checks, metadata=metadata)


def mean_curves(table: pl.DataFrame) -> pl.DataFrame:
    """Rows of ``grad_cam_dynamics_curve``: per (run T, frame > 0) the mean C(Γ, 1 − Δ) ± SE over glasses, n."""
    rows = []
    for (temperature, frame), group in table.filter(pl.col("frame") > 0).group_by(
        ["temperature", "frame"], maintain_order=True
    ):
        mean = sample_mean(group["correlation"].to_list())
        rows.append(
            {
                "system": group["system"][0],
                "temperature": temperature,
                "frame": frame,
                "time": float(group["time"].mean()),
                "cage_clock": float(group["cage_clock"].mean()),
                "correlation": mean.mean if mean.n else None,
                "stderr": mean.stderr,
                "n": mean.n,
                "model_version": group["model_version"][0],
                "classifier_status": group["classifier_status"][0] if "classifier_status" in group.columns else None,
            }
        )
    schema = {"correlation": pl.Float64, "stderr": pl.Float64, "frame": pl.Int32, "classifier_status": pl.String}
    return pl.DataFrame(rows, schema_overrides=schema).sort(["temperature", "frame"])


def per_glass_maxima(table: pl.DataFrame) -> pl.DataFrame:
    """Rows of ``grad_cam_dynamics_maxima``: each glass's largest C(Γ, 1 − Δ) over its frames, per run T."""
    rows = []
    for (_, _), run in table.sort("frame").group_by(["temperature", "sample"], maintain_order=True):
        k = curve_maximum(run["correlation"].fill_null(float("nan")).to_numpy())
        if k is not None:
            rows.append({name: run[name][k] for name in MAXIMA_COLUMNS})
    if not rows:  # no glass with a defined C(Γ, 1 − Δ): an empty table of the same columns
        return table.select(MAXIMA_COLUMNS).head(0).with_columns(pl.col("frame").cast(pl.Int32))
    return pl.DataFrame(rows, schema_overrides={"frame": pl.Int32, "correlation": pl.Float64}).sort(
        ["temperature", "sample"]
    )


MAXIMA_COLUMNS = (
    "system",
    "temperature",
    "sample",
    "frame",
    "time",
    "cage_clock",
    "correlation",
    "model_version",
    "classifier_status",
)


GRAD_CAM_DYNAMICS = AssetTemplate(
    body=grad_cam_dynamics,
    profile_settings=("descriptors",),
    partitioned_by=PER_SYSTEM,
    upstream=(Upstream("cnn_classifier"), Upstream("propensity_labels")),
    checks=GRAD_CAM_DYNAMICS_CHECKS,
    kinds=frozenset({"pytorch", "duckdb"}),
    group_name="dynamics",
    code_version=GRAD_CAM_DYNAMICS_CODE_VERSION,
)
