"""Quenched ensembles [O]: per (system, temperature) partition, independent LAMMPS quench runs."""

import json
import shutil
import time

import numpy as np
import polars as pl
from dagster import AssetExecutionContext, MaterializeResult, MetadataValue

from glass_assets.checks import evaluate_before_commit
from glass_assets.ensembles.checks import ENSEMBLE_CHECKS
from glass_assets.graph import SIMULATION_RETRIES, AssetTemplate
from glass_assets.partitions import parse_partition
from glass_assets.plots import cooling_curve_figure, figure_metadata
from glass_assets.resources import SimulationLauncher, StudySettings, WarehouseResource, progress_logger
from glass_assets.tables import QUENCHED, configurations, particle_rows, sample_row
from glass_assets.versioning import QUENCH_CODE_VERSION, code_version_tag
from glass_assets.warehouse import ensemble_key
from glass_core.models.seeds import derive_seed
from glass_core.models.systems import get_system
from glass_core.simulation.quench import PHASES, QuenchResult, hold_mean_temperature

ENSEMBLE = QUENCHED


def _frames(
    results: dict[int, QuenchResult], system: str, temperature: float, seeds: dict[int, int], protocol: str, run_id: str
) -> dict[str, pl.DataFrame]:
    """The warehouse rows (samples, particles, cooling_curves) of one partition."""
    samples, particles, curves = [], [], []
    key = {"system": system, "temperature": temperature, "ensemble": ENSEMBLE}
    for sample, result in sorted(results.items()):
        config = result.configuration
        samples.append(
            sample_row(
                key,
                sample,
                seeds[sample],
                config.n_particles,
                config.box,
                result.lammps_energy,
                kinetic_temperature=hold_mean_temperature(result.thermo),
                md_steps=result.md_steps,
                wall_seconds=result.wall_seconds,
                protocol=protocol,
                code_version=code_version_tag(QUENCH_CODE_VERSION),
                run_id=run_id,
            )
        )
        particles.append(particle_rows(key, sample, config.positions, config.types))
        t = result.thermo
        m = len(t["step"])
        curves.append(
            pl.DataFrame(
                {
                    **{k: [v] * m for k, v in key.items()},
                    "sample": [sample] * m,
                    "phase": [PHASES[p] for p in t["phase"]],
                    "step": t["step"],
                    "time": t["time"],
                    "t_set": t["t_set"],
                    "kinetic_temperature": t["temperature"],
                    "energy_per_particle": t["pe"],
                }
            )
        )
    return {"samples": pl.DataFrame(samples), "particles": pl.concat(particles), "cooling_curves": pl.concat(curves)}


def quenched_ensembles(
    context: AssetExecutionContext,
    study: StudySettings,
    simulation: SimulationLauncher,
    warehouse: WarehouseResource,
) -> MaterializeResult:
    """Independent LAMMPS quenches of the system to the partition's temperature: the glasses and their cooling
    curves."""
    started = time.perf_counter()
    system_name, temperature = parse_partition(context.partition_key)
    system = get_system(system_name)
    profile = study.load()
    settings = profile.quench
    n_particles = settings.particles_for(system_name)
    store = warehouse.get()
    store.ensure_writable()  # fail before hours of MD, not after

    seeds = {
        k: derive_seed(system_name, temperature, k, profile.base_seed, "quench") for k in range(settings.n_samples)
    }
    items = [{"sample": k, "seed": s} for k, s in seeds.items()]
    params = {
        "system": system_name,
        "n_particles": n_particles,
        "temperature": temperature,
        "protocol": settings.protocol.to_dict(),
    }
    # The scratch folder is named by the inputs, so a rerun after a crash reuses finished samples.
    scratch = study.scratch_folder("quenched_ensembles", system_name, temperature, [params, items])
    context.log.info(
        f"{settings.n_samples} quenches of {system_name} (N={n_particles}) to T={temperature} "
        f"[{profile.name} profile, steps {settings.protocol.steps(system, temperature)}]"
    )

    paths = simulation.run_tasks(
        "quench", params, items, scratch, on_event=progress_logger(context.log, len(items), "quench")
    )
    results = {item["sample"]: QuenchResult.load(path) for item, path in zip(items, paths, strict=True)}
    frames = _frames(results, system_name, temperature, seeds, json.dumps(params["protocol"]), context.run.run_id)
    checks = evaluate_before_commit(
        ENSEMBLE_CHECKS,
        context,
        rejected=frames,
        quarantine_root=study.quarantine_root(),
        system=system,
        temperature=temperature,
        configs=configurations(frames["samples"], frames["particles"]),
        samples=frames["samples"],
        curves=frames["cooling_curves"],
    )
    written = store.replace_partition(ensemble_key(system_name, temperature, ENSEMBLE), frames)
    shutil.rmtree(scratch, ignore_errors=True)

    samples = frames["samples"]
    rates = [r.steps_per_second for r in results.values()]
    figure = cooling_curve_figure(frames["cooling_curves"], f"{system_name} quenched to T = {temperature}")
    plot_path = study.plot_path("quenched_ensembles", f"{system_name}_T{temperature!r}.png")
    return MaterializeResult(
        check_results=checks,
        metadata={
            "n_samples": len(results),
            "n_particles": n_particles,
            "profile": profile.name,
            "rows_written": MetadataValue.json(written),
            "wall_seconds": time.perf_counter() - started,
            "lammps_steps_per_second": float(np.mean(rates)),
            "md_steps_per_sample": int(samples["md_steps"][0]),
            "mean_energy_per_particle": float(samples["energy_per_particle"].mean()),
            "std_energy_per_particle": float(samples["energy_per_particle"].std() or 0.0),
            "mean_kinetic_temperature": float(samples["kinetic_temperature"].mean()),
            "warehouse": MetadataValue.path(str(store.path)),
            "code_version": code_version_tag(QUENCH_CODE_VERSION),
            **figure_metadata(figure, plot_path),
        },
    )


QUENCHED_ENSEMBLES = AssetTemplate(
    body=quenched_ensembles,
    profile_settings=("base_seed", "quench"),
    partitioned_by="quench",
    checks=ENSEMBLE_CHECKS,
    kinds=frozenset({"lammps", "duckdb"}),
    group_name="ensembles",
    code_version=QUENCH_CODE_VERSION,
    pool="simulation",
    retry_policy=SIMULATION_RETRIES,
)
