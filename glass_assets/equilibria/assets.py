"""Swap-MC equilibria of the ternary KA liquid and their inherent structures [J]."""

import json
import shutil
import time

import numpy as np
import polars as pl
from dagster import AssetExecutionContext, MaterializeResult, MetadataValue

from glass_assets.checks import evaluate_before_commit
from glass_assets.equilibria.checks import (
    INHERENT_CHECKS,
    SWAP_MC_CHECKS,
)
from glass_assets.graph import SIMULATION_RETRIES, AssetTemplate, Upstream
from glass_assets.partitions import parse_partition
from glass_assets.plots import figure_metadata
from glass_assets.resources import SimulationLauncher, StudySettings, WarehouseResource, progress_logger
from glass_assets.tables import INHERENT, SWAP_MC, configurations, particle_rows, sample_row
from glass_assets.versioning import INHERENT_CODE_VERSION, SWAP_MC_CODE_VERSION, code_version_tag
from glass_assets.warehouse import WarehouseError, ensemble_key
from glass_core.models.seeds import derive_seed
from glass_core.models.systems import PotentialForm, get_system


def swap_mc_equilibria(
    context: AssetExecutionContext, study: StudySettings, simulation: SimulationLauncher, warehouse: WarehouseResource
) -> MaterializeResult:
    """Equilibrium configurations of the partition from swap Monte Carlo, with their energy traces."""
    started = time.perf_counter()
    system_name, temperature = parse_partition(context.partition_key)
    system = get_system(system_name)
    if system.potential is not PotentialForm.LJ_SMOOTH_C2:
        raise ValueError(f"swap Monte Carlo is implemented for the C²-smooth ternary KA model, not {system_name}")
    profile = study.load()
    cfg = profile.swap_mc
    store = warehouse.get()
    store.ensure_writable()
    params = {
        "system": system_name,
        "temperature": temperature,
        "n_particles": cfg.n_particles,
        "samples_per_chain": cfg.samples_per_chain,
        "equilibration_sweeps": cfg.equilibration_sweeps,
        "sweeps_between_samples": cfg.sweeps_between_samples,
        "swap_probability": cfg.swap_probability,
        "max_displacement": cfg.max_displacement,
        "trace_every": cfg.trace_every,
    }
    items = [
        {"sample": c, "seed": derive_seed(system_name, temperature, c, profile.base_seed, "swap-mc")}
        for c in range(cfg.n_chains)
    ]
    scratch = study.scratch_folder("swap_mc_equilibria", system_name, temperature, [params, items])
    context.log.info(f"{len(items)} swap-MC chains of {system_name} (N={params['n_particles']}) at T={temperature}")
    paths = simulation.run_tasks("swap_mc", params, items, scratch, progress_logger(context.log, len(items), "chain"))

    key = ensemble_key(system_name, temperature, SWAP_MC)
    samples, particles, traces, decorrelation, acceptance = [], [], [], [], []
    for item, path in zip(items, paths, strict=True):
        chain = item["sample"]
        with np.load(path) as data:
            for k in range(data["positions"].shape[0]):
                sample = chain * params["samples_per_chain"] + k
                n = params["n_particles"]
                samples.append(
                    sample_row(
                        key,
                        sample,
                        item["seed"],
                        n,
                        data["box"],
                        float(data["energies"][k]) * n,
                        energy_per_particle=float(data["energies"][k]),
                        wall_seconds=float(data["elapsed_seconds"]),
                        protocol=json.dumps(params),
                        code_version=code_version_tag(SWAP_MC_CODE_VERSION),
                        run_id=context.run.run_id,
                    )
                )
                particles.append(particle_rows(key, sample, data["positions"][k], data["types"][k]))
            traces.append(
                pl.DataFrame(
                    {
                        **{k: [v] * len(data["trace_sweeps"]) for k, v in key.items()},
                        "chain": [chain] * len(data["trace_sweeps"]),
                        "sweep": data["trace_sweeps"].astype(np.int64),
                        "energy_per_particle": data["energy_trace"],
                    }
                )
            )
            decorrelation += data["typed_overlaps"].tolist()
            acceptance.append(json.loads(str(data["acceptance"])))
    frames = {"samples": pl.DataFrame(samples), "particles": pl.concat(particles), "swap_mc_traces": pl.concat(traces)}
    checks = evaluate_before_commit(
        SWAP_MC_CHECKS,
        context,
        rejected=frames,
        quarantine_root=study.quarantine_root(),
        system=system,
        configs=configurations(frames["samples"], frames["particles"]),
        samples=frames["samples"],
        traces=frames["swap_mc_traces"],
        equilibration_sweeps=params["equilibration_sweeps"],
        overlaps=decorrelation,
    )
    written = store.replace_partition(key, frames)
    shutil.rmtree(scratch, ignore_errors=True)
    from glass_assets.equilibria.plots import energy_trace_figure

    figure = energy_trace_figure(
        frames["swap_mc_traces"], params["equilibration_sweeps"], f"{system_name} swap MC at T = {temperature}"
    )
    plot = study.plot_path("swap_mc_equilibria", f"{system_name}_T{temperature!r}.png")
    mean_acceptance = {k: float(np.mean([a[k] for a in acceptance])) for k in acceptance[0]}
    return MaterializeResult(
        check_results=checks,
        metadata={
            "n_samples": len(samples),
            "n_chains": len(items),
            "n_particles": params["n_particles"],
            "acceptance": MetadataValue.json(mean_acceptance),
            "mean_energy_per_particle": float(frames["samples"]["energy_per_particle"].mean()),
            "max_typed_self_overlap_between_samples": float(np.max(decorrelation)),
            "sweeps_between_samples": params["sweeps_between_samples"],
            "rows_written": MetadataValue.json(written),
            "wall_seconds": time.perf_counter() - started,
            **figure_metadata(figure, plot),
        },
    )


def inherent_structures(
    context: AssetExecutionContext, study: StudySettings, simulation: SimulationLauncher, warehouse: WarehouseResource
) -> MaterializeResult:
    """The inherent structure (energy minimum) of each swap-MC equilibrium of the partition."""
    system_name, temperature = parse_partition(context.partition_key)
    system = get_system(system_name)
    store = warehouse.get()
    source = ensemble_key(system_name, temperature, SWAP_MC)
    configs = configurations(store.read_partition("samples", source), store.read_partition("particles", source))
    if not configs:
        raise WarehouseError(f"no swap-MC equilibria for {system_name} at T={temperature}: materialize them first")
    tolerance = study.load().inherent_structures.force_tolerance
    params = {"system": system_name, "force_tolerance": tolerance}
    scratch = study.scratch_folder("inherent_structures", system_name, temperature, [params, sorted(configs)])
    items = [
        {"sample": s, "configuration": str(c.write(scratch / "input" / f"sample_{s:06d}.data", system.type_names))}
        for s, c in configs.items()
    ]
    paths = simulation.run_tasks(
        "minimise", params, items, scratch / "out", progress_logger(context.log, len(items), "minimisation")
    )
    key = ensemble_key(system_name, temperature, INHERENT)
    samples, particles, minima = [], [], []
    for item, path in zip(items, paths, strict=True):
        with np.load(path) as data:
            n = len(data["types"])
            samples.append(
                sample_row(
                    key,
                    item["sample"],
                    0,
                    n,
                    data["box"],
                    float(data["energy"]),
                    protocol=json.dumps(params),
                    code_version=code_version_tag(INHERENT_CODE_VERSION),
                    run_id=context.run.run_id,
                )
            )
            particles.append(particle_rows(key, item["sample"], data["positions"], data["types"]))
            minima.append(
                {
                    "system": system_name,
                    "temperature": temperature,
                    "sample": item["sample"],
                    "energy": float(data["energy"]),
                    "initial_energy": float(data["initial_energy"]),
                    "force_norm": float(data["force_norm"]),
                    "max_force": float(data["max_force"]),
                    "iterations": int(data["iterations"]),
                    "converged": bool(data["converged"]),
                }
            )
    frames = {"samples": pl.DataFrame(samples), "particles": pl.concat(particles)}
    table = pl.DataFrame(minima)
    checks = evaluate_before_commit(
        INHERENT_CHECKS,
        context,
        rejected={**frames, "inherent_structures": table},
        quarantine_root=study.quarantine_root(),
        system=system,
        configs=configurations(frames["samples"], frames["particles"]),
        samples=frames["samples"],
        minima=table,
        force_tolerance=tolerance,
    )
    # one transaction: the minima and their configurations are published together or not at all
    written = store.replace_partitions(
        [(key, frames), ({"system": system_name, "temperature": temperature}, {"inherent_structures": table})]
    )
    shutil.rmtree(scratch, ignore_errors=True)
    return MaterializeResult(
        check_results=checks,
        metadata={
            "n_structures": table.height,
            "rows_written": MetadataValue.json(written),
            "mean_inherent_energy_per_particle": float(frames["samples"]["energy_per_particle"].mean()),
            "max_force_norm": float(table["force_norm"].max()),
            "force_tolerance": tolerance,
            "mean_iterations": float(table["iterations"].mean()),
        },
    )


SWAP_MC_EQUILIBRIA = AssetTemplate(
    body=swap_mc_equilibria,
    profile_settings=("base_seed", "swap_mc"),
    partitioned_by="swap_mc",
    checks=SWAP_MC_CHECKS,
    kinds=frozenset({"numba", "duckdb"}),
    group_name="equilibria",
    code_version=SWAP_MC_CODE_VERSION,
    pool="simulation",
    retry_policy=SIMULATION_RETRIES,
)


INHERENT_STRUCTURES = AssetTemplate(
    body=inherent_structures,
    profile_settings=("inherent_structures.force_tolerance",),
    partitioned_by="swap_mc",
    upstream=(Upstream("swap_mc_equilibria"),),
    checks=INHERENT_CHECKS,
    kinds=frozenset({"lammps", "duckdb"}),
    group_name="equilibria",
    code_version=INHERENT_CODE_VERSION,
    pool="simulation",
    retry_policy=SIMULATION_RETRIES,
)
