"""Propensity labels from isoconfigurational MD (Oyama et al.'s Δ and δ; Jung et al.'s bond breaking)."""

import shutil
import time

import numpy as np
import polars as pl
from dagster import (
    AssetExecutionContext,
    MaterializeResult,
    MetadataValue,
)

from glass_assets.checks import evaluate_before_commit
from glass_assets.dynamics.checks import PROPENSITY_CHECKS
from glass_assets.graph import SIMULATION_RETRIES, AssetTemplate, Upstream
from glass_assets.partitions import parse_partition
from glass_assets.plots import figure_metadata, markdown_table, mean_text, stderr_metadata
from glass_assets.registry.cnn_split import CNN_SYSTEMS, held_out_glass_order, logged_split
from glass_assets.registry.tracking import MLflowResource, champion_params
from glass_assets.resources import SimulationLauncher, StudySettings, WarehouseResource, progress_logger
from glass_assets.tables import configurations, initial_structures_key
from glass_assets.versioning import PROPENSITY_CODE_VERSION
from glass_assets.warehouse import Warehouse, WarehouseError
from glass_core.dynamics.propensity import PropensityLabels
from glass_core.models.configuration import Configuration
from glass_core.models.statistics import sample_mean
from glass_core.models.systems import get_system


def _initial_configurations(
    store: Warehouse, key: dict[str, object], n_samples: int, preferred: list[int] | None = None
) -> dict[int, Configuration]:
    """The first ``n_samples`` stored configurations of ``key``, in the ``preferred`` order of sample ids if given."""
    samples = store.read_partition("samples", key)
    if samples.height == 0:
        raise WarehouseError(f"no initial structures {dict(key)}: materialize that ensemble first")
    stored = samples["sample"].to_list()
    present = set(stored)
    order = [s for s in preferred if s in present] if preferred else stored
    chosen = samples.filter(pl.col("sample").is_in(order[:n_samples]))
    particles = store.read_partition("particles", key).filter(pl.col("sample").is_in(chosen["sample"].implode()))
    return configurations(chosen, particles)


def _nullable(values: np.ndarray) -> pl.Series:
    """A float column with NULL where ``values`` is NaN (a split half without replicas, R = 1)."""
    return pl.Series(values.ravel(), dtype=pl.Float64).fill_nan(None)


def label_tables(
    labels: dict[int, PropensityLabels], key: dict[str, object], run_key: dict[str, object]
) -> dict[str, pl.DataFrame]:
    """Rows of ``propensity`` and ``propensity_summary`` for the labels of ``run_key`` started from ``key``.

    τ_α beyond the run is stored as NULL (never NaN), so ``max(tau_alpha)`` in SQL skips it.
    """
    rows, summary = [], []
    for sample, label in sorted(labels.items()):
        n_frames, n = label.crsd.shape
        common = {**run_key, "ensemble": key["ensemble"], "source_temperature": key["temperature"]}
        rows.append(
            pl.DataFrame(
                {
                    **{k: [v] * (n_frames * n) for k, v in common.items()},
                    "sample": [sample] * (n_frames * n),
                    "particle": np.tile(np.arange(n, dtype=np.int32), n_frames),
                    "frame": np.repeat(np.arange(n_frames, dtype=np.int32), n),
                    "time": np.repeat(label.times, n),
                    "crsd": label.crsd.ravel(),
                    "bond_breaking": label.bond_breaking.ravel(),
                    "n_bonds": np.tile(label.n_bonds.astype(np.int32), n_frames),
                    "bond_breaking_half_a": _nullable(label.bond_breaking_halves[0]),
                    "bond_breaking_half_b": _nullable(label.bond_breaking_halves[1]),
                }
            )
        )
        tau = label.tau_alpha
        summary.append(
            pl.DataFrame(
                {
                    **{k: [v] * n_frames for k, v in common.items()},
                    "sample": [sample] * n_frames,
                    "frame": np.arange(n_frames, dtype=np.int32),
                    "time": label.times,
                    "mean_bond_breaking": label.mean_bond_breaking,
                    "cage_clock": label.cage_clock,
                    "tau_alpha": pl.Series([tau] * n_frames, dtype=pl.Float64),
                    "n_replicas": [label.n_replicas] * n_frames,
                }
            )
        )
    return {"propensity": pl.concat(rows), "propensity_summary": pl.concat(summary)}


def ensemble_mean_curve(summary: pl.DataFrame) -> pl.DataFrame:
    """Per frame: mean ⟨C_B⟩ and δ over the configurations of a ``propensity_summary`` partition, with their
    standard errors (:func:`glass_core.models.statistics.sample_mean`; NULL for one configuration) and n."""
    rows = []
    for (frame,), group in summary.sort("frame").group_by(["frame"], maintain_order=True):
        bonds = sample_mean(group["mean_bond_breaking"].to_list())
        clock = sample_mean(group["cage_clock"].to_list())
        rows.append(
            {
                "frame": frame,
                "time": float(group["time"][0]),
                "mean_bond_breaking": bonds.mean,
                "mean_bond_breaking_stderr": bonds.stderr,
                "cage_clock": clock.mean,
                "cage_clock_stderr": clock.stderr,
                "n": clock.n,
            }
        )
    schema = {"mean_bond_breaking_stderr": pl.Float64, "cage_clock_stderr": pl.Float64}
    return pl.DataFrame(rows, schema_overrides=schema)


def propensity_labels(
    context: AssetExecutionContext,
    study: StudySettings,
    simulation: SimulationLauncher,
    warehouse: WarehouseResource,
    mlflow_tracking: MLflowResource,
) -> MaterializeResult:
    """Per-particle cage-relative displacement Δ and bond-breaking propensity C_B over time, from isoconfigurational
    MD at the partition's temperature."""
    started = time.perf_counter()
    system_name, temperature = parse_partition(context.partition_key)
    profile = study.load()
    settings = profile.propensity
    store = warehouse.get()
    store.ensure_writable()
    source = initial_structures_key(system_name, temperature)
    cnn_params = champion_params(mlflow_tracking, system_name) if system_name in CNN_SYSTEMS else None
    preferred, subsets = held_out_glass_order(store, system_name, logged_split(cnn_params) if cnn_params else None)
    configs = _initial_configurations(store, source, settings.samples_for(system_name, temperature), preferred)
    used = {name: sum(subsets.get(s) == name for s in configs) for name in ("test", "validation", "train")}
    if preferred is None and system_name in CNN_SYSTEMS:
        context.log.warning("no champion CNN yet, so its split is unknown: glasses taken in stored order")
    dt = get_system(system_name).md_timestep
    max_time = settings.max_time_for(system_name, temperature)
    params = {
        "system": system_name,
        "temperature": temperature,
        "n_replicas": settings.n_replicas,
        "base_seed": profile.base_seed,
        "max_step": int(round(max_time / dt)),
        "per_decade": settings.per_decade,
        "ensemble": settings.ensemble,
    }
    scratch = study.scratch_folder("propensity_labels", system_name, temperature, [params, source, sorted(configs)])
    inputs = scratch / "initial"
    items = []
    for sample, config in configs.items():
        path = config.write(inputs / f"sample_{sample:06d}.data", get_system(system_name).type_names)
        items.append({"sample": sample, "configuration": str(path)})
    context.log.info(
        f"{len(items)} configurations × {params['n_replicas']} replicas of {system_name} at "
        f"T={temperature} for {params['max_step']} steps, from {dict(source)}"
    )
    paths = simulation.run_tasks(
        "isoconfigurational",
        params,
        items,
        scratch / "labels",
        on_event=progress_logger(context.log, len(items), "isoconfigurational ensemble"),
    )
    labels = {item["sample"]: PropensityLabels.load(path) for item, path in zip(items, paths, strict=True)}
    run_key = {"system": system_name, "temperature": temperature}
    frames = label_tables(labels, source, run_key)
    checks = evaluate_before_commit(
        PROPENSITY_CHECKS,
        context,
        rejected=frames,
        quarantine_root=study.quarantine_root(),
        labels=frames["propensity"],
        summary=frames["propensity_summary"],
        n_replicas=params["n_replicas"],
        window_ends_before_tau_alpha=settings.window_ends_before_tau_alpha(system_name, temperature),
    )
    written = store.replace_partition(run_key, frames)
    shutil.rmtree(scratch, ignore_errors=True)
    summary = frames["propensity_summary"]
    mean_curve = ensemble_mean_curve(summary)
    from glass_assets.dynamics.plots import relaxation_figure

    figure = relaxation_figure(mean_curve, f"{system_name} at T = {temperature}")
    plot = study.plot_path("propensity_labels", f"{system_name}_T{temperature!r}.png")
    tau = sample_mean([lab.tau_alpha for lab in labels.values()])
    final = summary.filter(pl.col("frame") == summary["frame"].max())
    final_bonds = sample_mean(final["mean_bond_breaking"].to_list())
    final_clock = sample_mean(final["cage_clock"].to_list())
    return MaterializeResult(
        check_results=checks,
        metadata={
            "n_configurations": len(labels),
            "n_replicas": params["n_replicas"],
            "max_step": params["max_step"],
            "initial_structures": MetadataValue.json({k: v for k, v in source.items()}),
            "cnn_split_of_initial_structures": (
                MetadataValue.json(used) if subsets else MetadataValue.text("no CNN split for this system")
            ),
            "rows_written": MetadataValue.json(written),
            "final_mean_bond_breaking": float(final_bonds.mean),
            "final_mean_bond_breaking_stderr": stderr_metadata(final_bonds.stderr),
            "final_cage_clock_delta": float(final_clock.mean),
            "final_cage_clock_delta_stderr": stderr_metadata(final_clock.stderr),
            "tau_alpha_mean": float(tau.mean),
            "tau_alpha_stderr": stderr_metadata(tau.stderr),
            "n_tau_alpha_found": tau.n,
            "n_tau_alpha_beyond_run": tau.n_undefined,
            "summary": MetadataValue.md(
                markdown_table(
                    pl.DataFrame(
                        [
                            {"quantity": name, "mean ± SE": mean_text(m.mean, m.stderr, m.n), "n": m.n}
                            for name, m in (
                                ("⟨C_B⟩ at the last frame", final_bonds),
                                ("δ at the last frame", final_clock),
                                ("τ_α (all-particle ⟨C_B⟩ = 1/e)", tau),
                            )
                        ]
                    )
                )
                + f"\n\nMeans over configurations; SE = sd/√n (ddof = 1). τ_α over the {tau.n} configurations "
                f"that reach 1/e within the run ({tau.n_undefined} do not: then the mean is biased low)."
            ),
            "wall_seconds": time.perf_counter() - started,
            **figure_metadata(figure, plot),
        },
    )


PROPENSITY_LABELS = AssetTemplate(
    body=propensity_labels,
    profile_settings=("base_seed", "propensity"),
    partitioned_by="propensity",
    upstream=(Upstream("quenched_ensembles", "all"), Upstream("swap_mc_equilibria"), Upstream("cnn_classifier")),
    checks=PROPENSITY_CHECKS,
    kinds=frozenset({"lammps", "duckdb"}),
    group_name="dynamics",
    code_version=PROPENSITY_CODE_VERSION,
    pool="simulation",
    retry_policy=SIMULATION_RETRIES,
)
