"""Large equilibrated boxes for the four-point structure factor S4(q) [J].

``large_box_equilibria``: the first ``large_box.n_boxes`` swap-MC equilibria of a partition, each tiled
k × k, re-equilibrated by swap MC at the same T until the overlap with the tiled start is below 1/e
(:mod:`glass_core.simulation.tiled_equilibration`), then minimised (LAMMPS, as ``inherent_structures``).
S4(q) and ξ4 of the predicted propensity on these boxes: :mod:`glass_assets.large_box.four_point_structure_factor`.
"""

import json
import shutil
import time
from pathlib import Path

import numpy as np
import polars as pl
from dagster import (
    AssetExecutionContext,
    MaterializeResult,
    MetadataValue,
)

from glass_assets.checks import evaluate_before_commit
from glass_assets.graph import SIMULATION_RETRIES, AssetTemplate, Upstream
from glass_assets.large_box.checks import LARGE_BOX_CHECKS
from glass_assets.large_box.plots import overlap_trace_figure
from glass_assets.partitions import parse_partition
from glass_assets.plots import figure_metadata
from glass_assets.resources import SimulationLauncher, StudySettings, WarehouseResource, progress_logger
from glass_assets.tables import SWAP_MC, configurations, particle_rows, sample_row
from glass_assets.versioning import LARGE_BOX_CODE_VERSION, code_version_tag
from glass_assets.warehouse import WarehouseError, ensemble_key
from glass_core.models.configuration import Configuration
from glass_core.models.seeds import derive_seed
from glass_core.models.systems import ModelSystem, PotentialForm, get_system

__all__ = [
    "LARGE_INHERENT",
    "LARGE_SWAP_MC",
    "large_box_equilibria",
]

#: ensembles of the large boxes in ``samples``/``particles``
LARGE_SWAP_MC = "large_swap_mc"
LARGE_INHERENT = "large_inherent"


def _tiled_boxes(
    context: AssetExecutionContext,
    simulation: SimulationLauncher,
    params: dict,
    small: dict[int, Configuration],
    system: ModelSystem,
    base_seed: int,
    scratch: Path,
) -> tuple[list[dict], list[Path]]:
    """Run the ``tiled_swap_mc`` worker task on each small equilibrium; (items, result files)."""
    items = [
        {
            "sample": s,
            "seed": derive_seed(system.name, params["temperature"], s, base_seed, "large-box"),
            "configuration": str(config.write(scratch / "small" / f"sample_{s:06d}.data", system.type_names)),
        }
        for s, config in small.items()
    ]
    log = progress_logger(context.log, len(items), "large box")
    return items, simulation.run_tasks("tiled_swap_mc", params, items, scratch / "tiled", log)


def _minimised(
    context: AssetExecutionContext,
    simulation: SimulationLauncher,
    large: dict[int, Configuration],
    system: ModelSystem,
    force_tolerance: float,
    scratch: Path,
) -> dict[int, dict[str, np.ndarray]]:
    """Inherent structure of every large box (worker task ``minimise``): sample → the result arrays."""
    params = {"system": system.name, "force_tolerance": force_tolerance}
    items = [
        {"sample": s, "configuration": str(c.write(scratch / "large" / f"sample_{s:06d}.data", system.type_names))}
        for s, c in large.items()
    ]
    paths = simulation.run_tasks(
        "minimise", params, items, scratch / "minimised", progress_logger(context.log, len(items), "minimisation")
    )
    out = {}
    for item, path in zip(items, paths, strict=True):
        with np.load(path) as data:
            out[item["sample"]] = {name: data[name] for name in data.files}
    return out


def _trace_rows(system: str, temperature: float, sample: int, data: dict[str, np.ndarray]) -> pl.DataFrame:
    n = len(data["trace_sweeps"])
    return pl.DataFrame(
        {
            "system": [system] * n,
            "temperature": [temperature] * n,
            "sample": [sample] * n,
            "sweep": data["trace_sweeps"].astype(np.int64),
            "overlap": data["overlaps"].astype(np.float64),
            "energy_per_particle": data["energies"].astype(np.float64),
        }
    )


def large_box_equilibria(
    context: AssetExecutionContext, study: StudySettings, simulation: SimulationLauncher, warehouse: WarehouseResource
) -> MaterializeResult:
    """Large equilibrated boxes for S4(q): tiled swap-MC equilibria, re-equilibrated and minimised."""
    started = time.perf_counter()
    system_name, temperature = parse_partition(context.partition_key)
    system = get_system(system_name)
    if system.potential is not PotentialForm.LJ_SMOOTH_C2:
        raise ValueError(f"large boxes are re-equilibrated by swap MC, implemented for ka2d_ternary, not {system_name}")
    profile = study.load()
    cfg, swap, tolerance = profile.large_box, profile.swap_mc, profile.inherent_structures.force_tolerance
    store = warehouse.get()
    store.ensure_writable()
    source = ensemble_key(system_name, temperature, SWAP_MC)
    small_samples = store.read_partition("samples", source)
    everything = configurations(small_samples, store.read_partition("particles", source))
    if not everything:
        raise WarehouseError(f"no swap-MC equilibria of {system_name} at T={temperature}: materialize them first")
    small = {s: everything[s] for s in sorted(everything)[: cfg.n_boxes]}
    params = {
        "system": system_name,
        "temperature": temperature,
        "tiles_per_side": cfg.tiles_per_side,
        "max_sweeps": cfg.max_sweeps,
        "overlap_every": cfg.overlap_every,
        "swap_probability": swap.swap_probability,
        "max_displacement": swap.max_displacement,
    }
    energies = small_samples.sort("sample")["potential_energy"].to_list()  # a rematerialized source: new scratch
    scratch = study.scratch_folder("large_box_equilibria", system_name, temperature, [params, tolerance, energies])
    n_large = cfg.tiles_per_side**2 * next(iter(small.values())).n_particles
    context.log.info(f"{len(small)} boxes of N = {n_large} ({cfg.tiles_per_side}² tiles) at T = {temperature}")
    items, paths = _tiled_boxes(context, simulation, params, small, system, profile.base_seed, scratch)

    swap_key, inherent_key = (ensemble_key(system_name, temperature, e) for e in (LARGE_SWAP_MC, LARGE_INHERENT))
    large, runs = {}, {}
    for item, path in zip(items, paths, strict=True):
        with np.load(path) as data:
            runs[item["sample"]] = {name: data[name] for name in data.files}
        run = runs[item["sample"]]
        large[item["sample"]] = Configuration(run["positions"], run["types"], tuple(run["box"]), system_name)
    minima = _minimised(context, simulation, large, system, tolerance, scratch)

    protocol = json.dumps({**params, "force_tolerance": tolerance})
    tag = code_version_tag(LARGE_BOX_CODE_VERSION)
    samples, particles, traces, inherent_samples, inherent_particles = [], [], [], [], []
    for item in items:
        s, run, minimum = item["sample"], runs[item["sample"]], minima[item["sample"]]
        n, e = len(run["types"]), float(run["energy_per_particle"])
        extra = {"protocol": protocol, "code_version": tag, "run_id": context.run.run_id}
        samples.append(
            sample_row(
                swap_key,
                s,
                item["seed"],
                n,
                run["box"],
                e * n,
                e,
                wall_seconds=float(run["elapsed_seconds"]),
                **extra,
            )
        )
        particles.append(particle_rows(swap_key, s, run["positions"], run["types"]))
        traces.append(_trace_rows(system_name, temperature, s, run))
        inherent_samples.append(
            sample_row(inherent_key, s, item["seed"], n, minimum["box"], float(minimum["energy"]), **extra)
        )
        inherent_particles.append(particle_rows(inherent_key, s, minimum["positions"], minimum["types"]))
    frames = {
        "swap": {"samples": pl.DataFrame(samples), "particles": pl.concat(particles)},
        "inherent": {"samples": pl.DataFrame(inherent_samples), "particles": pl.concat(inherent_particles)},
        "traces": {"large_box_traces": pl.concat(traces)},
    }
    large_energy = frames["swap"]["samples"]["energy_per_particle"].to_numpy()
    force_norms = {s: float(m["force_norm"]) for s, m in minima.items()}
    results = evaluate_before_commit(
        LARGE_BOX_CHECKS,
        context,
        rejected={f"{group}_{table}": frame for group, tables in frames.items() for table, frame in tables.items()},
        quarantine_root=study.quarantine_root(),
        system=system,
        configs=large,
        large=large,
        small=small,
        traces=frames["traces"]["large_box_traces"],
        large_energies=large_energy,
        small_energies=small_samples["energy_per_particle"].to_numpy(),
        force_norms=force_norms,
        force_tolerance=tolerance,
        tiles=cfg.tiles_per_side,
    )
    traces_key = {"system": system_name, "temperature": temperature}
    store.replace_partitions(  # one transaction: the traces and both ensembles, or none of them
        [(traces_key, frames["traces"]), (swap_key, frames["swap"]), (inherent_key, frames["inherent"])]
    )
    written = {
        **{k: f.height for k, f in frames["traces"].items()},
        **{f"{LARGE_SWAP_MC}:{k}": f.height for k, f in frames["swap"].items()},
        **{f"{LARGE_INHERENT}:{k}": f.height for k, f in frames["inherent"].items()},
    }
    shutil.rmtree(scratch, ignore_errors=True)
    figure = overlap_trace_figure(
        frames["traces"]["large_box_traces"],
        f"{system_name}, T = {temperature}: N = {n_large} from {len(small)} tilings",
    )
    sweeps = {str(s): int(r["sweeps_used"]) for s, r in runs.items()}
    return MaterializeResult(
        check_results=results,
        metadata={
            "n_boxes": len(large),
            "n_particles": n_large,
            "tiles_per_side": cfg.tiles_per_side,
            "sweeps_used": MetadataValue.json(sweeps),
            "max_sweeps": cfg.max_sweeps,
            "final_overlap": MetadataValue.json({str(s): float(r["overlaps"][-1]) for s, r in runs.items()}),
            "mean_energy_per_particle": float(large_energy.mean()),
            "small_box_mean_energy_per_particle": float(small_samples["energy_per_particle"].mean()),
            "mean_inherent_energy_per_particle": float(frames["inherent"]["samples"]["energy_per_particle"].mean()),
            "max_force_norm": max(force_norms.values()),
            "swap_mc_seconds": MetadataValue.json({str(s): float(r["elapsed_seconds"]) for s, r in runs.items()}),
            "rows_written": MetadataValue.json(written),
            "wall_seconds": time.perf_counter() - started,
            **figure_metadata(figure, study.plot_path("large_box_equilibria", f"{system_name}_T{temperature!r}.png")),
        },
    )


LARGE_BOX_EQUILIBRIA = AssetTemplate(
    body=large_box_equilibria,
    profile_settings=("base_seed", "large_box", "swap_mc", "inherent_structures.force_tolerance"),
    partitioned_by="large_box",
    upstream=(Upstream("swap_mc_equilibria"),),
    checks=LARGE_BOX_CHECKS,
    kinds=frozenset({"numba", "lammps", "duckdb"}),
    group_name="heterogeneity",
    code_version=LARGE_BOX_CODE_VERSION,
    pool="simulation",
    retry_policy=SIMULATION_RETRIES,
)
