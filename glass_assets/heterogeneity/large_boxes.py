"""Large equilibrated boxes and the four-point structure factor S4(q) with the dynamic length ξ4 [J].

``large_box_equilibria``: the first ``large_box.n_boxes`` swap-MC equilibria of a partition, each tiled
k × k, re-equilibrated by swap MC at the same T until the overlap with the tiled start is below 1/e
(:mod:`glass_core.simulation.tiled_equilibration`), then minimised (LAMMPS, as ``inherent_structures``).

``four_point_structure_factor``: the champion tGlassMLP predicts the propensity X_i of every particle of
the large inherent structures at each target ⟨C_B⟩ (descriptors with the model's own lengths), and

    S4(q) = (1/N) ⟨|Σ_i δX_i e^{iq·r_i}|²⟩,   δX_i = X_i − X̄      ([J] eq. (10))

is averaged over |q| shells and boxes (FINUFFT, :mod:`glass_core.dynamics.four_point_structure_factor`).
ξ4 comes from the small-q Ornstein–Zernike fit S4(q) = S4(0)/(1 + (qξ4)²) ([J] eq. (11)), the default
``large_box.oz_model: oz``: [J] App. C adds a third-order term A (qξ4)³, but its eq. (12) is lost from the
paper text we have, so ``oz_cubic`` is a reconstruction, and its free A triples the scatter of ξ4 on
synthetic OZ fields (glass_core tests); the cubic fit's A is still reported in the metadata. An
unresolved fit (no small-q plateau, too few shells, …) writes value NULL, resolved false and the reason.
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
from glass_assets.heterogeneity.large_box_checks import (
    LARGE_BOX_CHECKS,
    S4_CHECKS,
)
from glass_assets.heterogeneity.large_box_plots import overlap_trace_figure
from glass_assets.launchers import train_through_launcher, training_scratch
from glass_assets.partitions import parse_partition
from glass_assets.plots import figure_metadata, markdown_table, s4_figure
from glass_assets.registry.propensity import load_tglassmlp_champion, model_type_label, tglassmlp_model_name
from glass_assets.registry.tracking import MLflowResource
from glass_assets.resources import SimulationLauncher, StudySettings, WarehouseResource, progress_logger
from glass_assets.tables import SWAP_MC, configurations, particle_rows, sample_row
from glass_assets.versioning import LARGE_BOX_CODE_VERSION, S4_CODE_VERSION, code_version_tag
from glass_assets.warehouse import WarehouseError, ensemble_key
from glass_core.dynamics.four_point_structure_factor import (
    BoxTooSmallError,
    FourPointStructureFactor,
    OrnsteinZernikeFit,
    fit_ornstein_zernike,
    wave_vectors,
)
from glass_core.dynamics.four_point_structure_factor import (
    four_point_structure_factor as structure_factor,
)
from glass_core.learning.mlp_settings import MLPTrainingSettings
from glass_core.models.configuration import Configuration
from glass_core.models.seeds import derive_seed
from glass_core.models.statistics import over_networks
from glass_core.models.systems import ModelSystem, PotentialForm, get_system
from glass_core.structure.physics_descriptors import (
    physics_inspired_descriptors,
    spec_from_feature_names,
)

__all__ = [
    "LARGE_INHERENT",
    "LARGE_SWAP_MC",
    "four_point_structure_factor",
    "large_box_equilibria",
    "xi4_row",
]

#: ensembles of the large boxes in ``samples``/``particles``
LARGE_SWAP_MC = "large_swap_mc"
LARGE_INHERENT = "large_inherent"
#: ``dynamic_lengths`` columns that may be all NULL in a partition (polars would call them type Null)
LENGTH_TYPES = {
    "value": pl.Float64,
    "stderr": pl.Float64,
    "fit_q_min": pl.Float64,
    "fit_q_max": pl.Float64,
    "reason": pl.String,
    "network_spread": pl.Float64,
}


# ------------------------------------------------------------------------------------------ large boxes
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


# ------------------------------------------------------------------------------------------ S4(q) and ξ4
def xi4_row(
    system: str, temperature: float, target: float, result: FourPointStructureFactor, fit: OrnsteinZernikeFit
) -> dict[str, object]:
    """The ``dynamic_lengths`` row of one state point (length 'xi4', source 'ml'): value NULL when unresolved,
    with the fit's numbers in the reason; never NaN."""
    used = result.q <= fit.q_fit_max * (1 + 1e-12)
    finite = bool(np.isfinite(fit.xi) and np.isfinite(fit.xi_stderr))
    reason = fit.reason or None
    if not fit.resolved and np.isfinite(fit.xi):
        reason = f"{fit.reason} (fit gave ξ4 = {fit.xi:.3g} ± {fit.xi_stderr:.2g})"
    elif fit.resolved and not finite:
        reason = f"ξ4 = {fit.xi} ± {fit.xi_stderr} is not finite"
    return {
        "system": system,
        "temperature": temperature,
        "target_cb": target,
        "source": "ml",
        "length": "xi4",
        "value": fit.xi if fit.resolved and finite else None,
        "stderr": fit.xi_stderr if fit.resolved and finite else None,
        "n_configurations": result.n_configurations,
        "fit_q_min": float(result.q[used].min()) if used.any() else None,
        "fit_q_max": float(fit.q_fit_max) if np.isfinite(fit.q_fit_max) else None,
        "resolved": bool(fit.resolved and finite),
        "reason": reason,
    }


def _s4_rows(system: str, temperature: float, target: float, results: list[FourPointStructureFactor],
             particle_type: str) -> pl.DataFrame:
    """S4(q) rows: the mean over networks of each network's S4, the mean of their errors over boxes, and the spread
    over networks."""
    q = results[0].q
    s4 = np.stack([r.s4 for r in results])
    stderr = np.stack([r.stderr for r in results])
    spread = s4.std(axis=0, ddof=1) if len(results) > 1 else np.zeros(q.size)
    return pl.DataFrame(
        {
            "system": [system] * q.size,
            "temperature": [temperature] * q.size,
            "target_cb": [target] * q.size,
            "q": q.astype(np.float64),
            "s4": s4.mean(axis=0).astype(np.float64),
            "stderr": pl.Series(np.nanmean(stderr, axis=0) if np.isfinite(stderr).any() else stderr[0],
                                dtype=pl.Float64).fill_nan(None),
            "n_vectors": results[0].n_vectors.astype(np.int32),
            "particle_type": [particle_type] * q.size,
            "network_spread": spread.astype(np.float64),
        }
    )


def xi4_over_networks(
    system: str, temperature: float, target: float, results: list[FourPointStructureFactor],
    fits: list[OrnsteinZernikeFit], particle_type: str,
) -> dict[str, object]:
    """The ``dynamic_lengths`` row of one state point from each network's own ξ4 [J]: the mean over the networks
    whose fit resolved a plateau, the mean fit error and their spread; resolved only when every network's fit is,
    else the reason names how many were."""
    rows = [xi4_row(system, temperature, target, r, f) for r, f in zip(results, fits, strict=True)]
    values = [r["value"] for r in rows if r["resolved"]]
    spread = over_networks(values, [r["stderr"] for r in rows if r["resolved"]])
    first = rows[0]
    all_resolved = len(values) == len(rows)
    reason = None if all_resolved else (
        f"{len(values)} of {len(rows)} networks resolved a small-q plateau; "
        + "; ".join(sorted({r["reason"] for r in rows if r["reason"]}))
    )
    return {
        **first,
        "value": _finite_or_none(spread.mean) if all_resolved else None,
        "stderr": _finite_or_none(spread.stderr) if all_resolved else None,
        "resolved": all_resolved,
        "reason": reason,
        "particle_type": particle_type,
        "network_spread": _finite_or_none(spread.spread) if all_resolved else None,
        "n_networks": len(rows),
    }


def _finite_or_none(value: float) -> float | None:
    return float(value) if np.isfinite(value) else None


def _large_inherent_structures(store: object, system: str, temperature: float) -> dict[int, Configuration]:
    key = ensemble_key(system, temperature, LARGE_INHERENT)
    configs = configurations(store.read_partition("samples", key), store.read_partition("particles", key))
    if not configs:
        raise WarehouseError(
            f"no large inherent structures of {system} at T={temperature}: materialize large_box_equilibria first"
        )
    boxes = {tuple(c.box) for c in configs.values()}
    if len(boxes) != 1:
        raise WarehouseError(f"the large boxes of {system} at T={temperature} differ in size: {sorted(boxes)}")
    return configs


def four_point_structure_factor(
    context: AssetExecutionContext,
    study: StudySettings,
    warehouse: WarehouseResource,
    mlflow_tracking: MLflowResource,
    simulation: SimulationLauncher,
) -> MaterializeResult:
    """The four-point structure factor S4(q) of the predicted propensity on the large inherent structures, and the
    length ξ4 fitted to it."""
    started = time.perf_counter()
    system_name, temperature = parse_partition(context.partition_key)
    system = get_system(system_name)
    profile = study.load()
    cfg, learning = profile.large_box, profile.propensity_learning
    training = MLPTrainingSettings.from_mapping(learning.training)
    ensemble, version = load_tglassmlp_champion(mlflow_tracking.activate(), system_name)
    spec = spec_from_feature_names(ensemble.input_names, system.n_types)
    store = warehouse.get()
    store.ensure_writable()
    configs = _large_inherent_structures(store, system_name, temperature)
    samples = sorted(configs)
    box = configs[samples[0]].box
    try:  # before the descriptors: a q range the box cannot hold fails at once
        wave_vectors(box, cfg.q_max)
    except BoxTooSmallError as error:
        raise BoxTooSmallError(
            f"{system_name} T={temperature}: {error}; raise large_box.tiles_per_side or large_box.q_max"
        ) from error
    features = np.concatenate([physics_inspired_descriptors(configs[s], system, spec) for s in samples])
    types = np.concatenate([configs[s].types for s in samples])
    positions = np.stack([configs[s].positions for s in samples])
    n = positions.shape[1]
    label = model_type_label(ensemble, system_name)
    predicted = np.isin(types, ensemble.particle_types)  # the model's species only ([J]: type A)
    context.log.info(f"descriptors of {len(samples)} boxes of N = {n} ({features.shape[1]} per particle, "
                     f"{int(predicted.sum())} particles of type {label} predicted)")

    targets = [float(t) for t in learning.state_point_targets]
    [inference] = train_through_launcher(simulation, "tglassmlp_predict", [{
        "ensemble": ensemble, "features": features[predicted], "types": types[predicted],
        "temperature": float(temperature), "targets": targets, "max_iterations": training.max_iterations,
        "tolerance": training.tolerance,
    }], training_scratch(study.scratch_dir, "four_point_structure_factor", str(context.partition_key)),
        "cpu", profile.compute.training_threads, log=context.log, what="large-box prediction")
    s4_frames, length_rows, fits, cubic = [], [], {}, {}
    for target, prediction in zip(targets, inference.result, strict=True):
        results = []
        for member in prediction.members:  # each network's own S4(q) and ξ4 [J]
            field = np.full(len(types), np.nan)
            field[predicted] = member
            results.append(structure_factor(positions, field.reshape(len(samples), n), box, q_max=cfg.q_max))
        member_fits = [fit_ornstein_zernike(r, model=cfg.oz_model) for r in results]
        mean_field = np.full(len(types), np.nan)
        mean_field[predicted] = prediction.mean
        mean_result = structure_factor(positions, mean_field.reshape(len(samples), n), box, q_max=cfg.q_max)
        fit = fit_ornstein_zernike(mean_result, model=cfg.oz_model)
        cubic_fit = fit_ornstein_zernike(mean_result, model="oz_cubic")
        s4_frames.append(_s4_rows(system_name, temperature, target, results, label))
        length_rows.append(xi4_over_networks(system_name, temperature, target, results, member_fits, label))
        fits[target] = (fit.s4_zero, fit.xi, fit.cubic, fit.q_fit_max, fit.resolved)
        cubic[f"cb={target:g}"] = {
            "A": cubic_fit.cubic,
            "A_stderr": cubic_fit.cubic_stderr,
            "xi4": cubic_fit.xi,
            "resolved": cubic_fit.resolved,
        }
        context.log.info(
            f"⟨C_B⟩ = {target}: achieved {prediction.achieved_cb:.3f}, ξ4 per network "
            f"{[round(f.xi, 3) for f in member_fits]} ({sum(f.resolved for f in member_fits)} resolved)"
        )
    frames = {"s4": pl.concat(s4_frames), "lengths": pl.DataFrame(length_rows, schema_overrides=LENGTH_TYPES)}
    frames["lengths"] = frames["lengths"].with_columns(pl.col("n_networks").cast(pl.Int32))
    results = evaluate_before_commit(
        S4_CHECKS,
        context,
        rejected=frames,
        quarantine_root=study.quarantine_root(),
        s4=frames["s4"],
        lengths=frames["lengths"],
    )
    partition = {"system": system_name, "temperature": temperature}
    written = store.replace_partitions(  # one transaction: S4(q) and its ξ4 rows together
        [(partition, {"four_point_structure_factor": frames["s4"]}),
         ({**partition, "length": "xi4"}, {"dynamic_lengths": frames["lengths"]})]
    )
    figure = s4_figure(frames["s4"], f"{system_name}, T = {temperature}: {len(samples)} boxes of N = {n}", fits)
    table = frames["lengths"].select("target_cb", "value", "stderr", "fit_q_min", "fit_q_max", "resolved", "reason")
    return MaterializeResult(
        check_results=results,
        metadata={
            "model": f"{tglassmlp_model_name(system_name)} v{version} (champion)",
            "xi4": MetadataValue.md(markdown_table(table)),
            "oz_model": cfg.oz_model,
            "oz_cubic_fit": MetadataValue.json(cubic),
            "n_boxes": len(samples),
            "n_particles": n,
            "box": MetadataValue.json(list(box)),
            "q_max": cfg.q_max,
            "rows_written": MetadataValue.json(written),
            "wall_seconds": time.perf_counter() - started,
            **figure_metadata(
                figure, study.plot_path("four_point_structure_factor", f"{system_name}_T{temperature!r}.png")
            ),
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


FOUR_POINT_STRUCTURE_FACTOR = AssetTemplate(
    body=four_point_structure_factor,
    profile_settings=("large_box", "propensity_learning"),
    partitioned_by="large_box",
    upstream=(Upstream("large_box_equilibria"), Upstream("tglassmlp_model")),
    checks=S4_CHECKS,
    kinds=frozenset({"pytorch", "duckdb"}),
    group_name="heterogeneity",
    code_version=S4_CODE_VERSION,
)
