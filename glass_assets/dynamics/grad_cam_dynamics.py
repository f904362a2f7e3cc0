"""What the CNN's Grad-CAM score predicts about aging dynamics: C(Γ, 1 − Δ) against δ(t) [O Fig. 4]."""

import polars as pl
from dagster import AssetDep, AssetExecutionContext, AssetKey, MaterializeResult, MetadataValue, asset

from glass_assets.cnn_split import cnn_subsets, logged_gridding, logged_split, quench_sample_ids_by_phase
from glass_assets.dynamics import plots
from glass_assets.dynamics.assets import propensity_labels
from glass_assets.partitions import FROM_SYSTEM_ENSEMBLES, SYSTEM_PARTITIONS
from glass_assets.plots import figure_metadata
from glass_assets.resources import StudySettings, WarehouseResource
from glass_assets.tables import configurations
from glass_assets.tracking import MLflowResource, load_champion, model_name
from glass_assets.versioning import GRAD_CAM_DYNAMICS_CODE_VERSION
from glass_assets.warehouse import WarehouseError
from glass_core.learning.cnn import GLASS
from glass_core.learning.correlations import correlation_against_dynamics
from glass_core.learning.grad_cam import grad_cam_particles
from glass_core.structure.indicators import normalised_coarse_grained

#: [O] Fig. 4: maximum of C(Γ, 1 − Δ) over δ(t), reached near δ ≈ 1
PAPER_MAXIMUM = {"abm": 0.61, "kam": 0.68}


@asset(
    partitions_def=SYSTEM_PARTITIONS,
    deps=[AssetKey("cnn_classifier"), AssetDep(propensity_labels, partition_mapping=FROM_SYSTEM_ENSEMBLES)],
    kinds={"pytorch", "duckdb"},
    group_name="dynamics",
    code_version=GRAD_CAM_DYNAMICS_CODE_VERSION,
    description=(
        "Pearson C(Γ, 1−Δ) between the champion CNN's Grad-CAM score and the cage-relative displacement of the "
        "same glasses (both coarse-grained, ξ = 3, and normalised), per frame, against the clock δ(t), for every "
        "run temperature of the propensity labels [Oyama et al. 2023, Fig. 4]. Table `grad_cam_dynamics`."
    ),
)
def grad_cam_dynamics(
    context: AssetExecutionContext, study: StudySettings, warehouse: WarehouseResource, mlflow_tracking: MLflowResource
) -> MaterializeResult:
    system = context.partition_key
    store = warehouse.get()
    labels = store.query(
        "SELECT * FROM propensity WHERE system = ? ORDER BY temperature, sample, frame, particle", [system]
    )
    if labels.height == 0:
        raise WarehouseError(f"no propensity labels for {system}: materialize propensity_labels first")
    model, params, version = load_champion(mlflow_tracking, system)
    gridding = logged_gridding(system, params)
    source_t = float(labels["source_temperature"][0])
    source = {"system": system, "temperature": source_t, "ensemble": str(labels["ensemble"][0])}
    configs = configurations(store.read_partition("samples", source), store.read_partition("particles", source))
    samples = sorted(set(labels["sample"].to_list()))
    cam = grad_cam_particles(model, [configs[s] for s in samples], gridding, target_class=GLASS)
    xi = study.load().coarse_graining_length
    gamma = {s: normalised_coarse_grained(configs[s], cam.scores[k], xi) for k, s in enumerate(samples)}
    correct = {s for k, s in enumerate(samples) if cam.cam.predictions[k] == GLASS}
    subsets = cnn_subsets(
        quench_sample_ids_by_phase(store, system),
        *logged_split(params),
    )
    trained_on = {s for s in samples if subsets.get(s) == "train"}
    clocks = store.query(
        "SELECT temperature, sample, frame, cage_clock FROM propensity_summary WHERE system = ?", [system]
    )
    cage_clock = {(r["temperature"], r["sample"], r["frame"]): r["cage_clock"] for r in clocks.iter_rows(named=True)}
    rows = []
    for (temperature, sample), run in labels.group_by(["temperature", "sample"], maintain_order=True):
        if sample not in correct:
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
                    "in_training": sample in trained_on,
                    "model_version": str(version),
                }
            )
    if not rows:
        raise ValueError(f"the champion CNN classifies none of the {len(samples)} propensity glasses as glass")
    table = pl.DataFrame(rows)
    written = store.replace_partition({"system": system}, {"grad_cam_dynamics": table})
    curves = (
        table.filter(pl.col("frame") > 0)
        .group_by(["temperature", "frame"])
        .agg(pl.col("cage_clock").mean(), pl.col("correlation").mean(), pl.len().alias("n"))
        .sort(["temperature", "frame"])
    )
    best = curves.sort("correlation", descending=True).row(0, named=True)
    figure = plots.correlation_against_clock(curves, PAPER_MAXIMUM.get(system), f"{system}: Grad-CAM vs dynamics")
    metadata = {
        "max_correlation": float(best["correlation"]),
        "at_cage_clock_delta": float(best["cage_clock"]),
        "at_temperature": float(best["temperature"]),
        "paper_max_correlation": PAPER_MAXIMUM.get(system, float("nan")),
        "max_cage_clock_reached": float(curves["cage_clock"].max()),
        "n_glasses": len(correct),
        "n_glasses_seen_in_training": len(correct & trained_on),
        "model": f"{model_name(system)} v{version}",
        "rows_written": MetadataValue.json(written),
        **figure_metadata(figure, study.plot_path("grad_cam_dynamics", f"{system}_correlation_vs_delta.png")),
    }
    example = min(correct)
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
        f"max C(Γ,1−Δ) = {best['correlation']:.3f} at δ = {best['cage_clock']:.2f} (paper: {PAPER_MAXIMUM.get(system)})"
    )
    return MaterializeResult(metadata=metadata)
