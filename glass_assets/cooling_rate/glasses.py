"""The glasses of the cooling-rate study: per rate γ, independent LAMMPS quenches to T_G (the ``quench`` worker
task, the profile's quench protocol with its rate replaced by γ) in their own ensemble ``quenched_rate_<γ>``, glasses
already stored with the same seed, protocol and N reused instead of quenched again."""

import dataclasses
import json
from pathlib import Path

import polars as pl
from dagster import AssetExecutionContext

from glass_assets.profiles import Profile
from glass_assets.resources import SimulationLauncher, StudySettings, progress_logger
from glass_assets.tables import configurations, particle_rows, sample_row
from glass_assets.versioning import COOLING_RATE_CODE_VERSION, code_version_tag
from glass_assets.warehouse import Warehouse, ensemble_key
from glass_core.models.configuration import Configuration
from glass_core.models.seeds import derive_seed
from glass_core.models.systems import ModelSystem
from glass_core.simulation.quench import QuenchProtocol, QuenchResult, hold_mean_temperature


def rate_ensemble(rate: float) -> str:
    """Ensemble name of the glasses quenched at ``rate`` in ``samples``/``particles``: ``quenched_rate_0.002``."""
    return f"quenched_rate_{rate:g}"


def _stored_glasses(
    store: Warehouse, key: dict, seeds: dict[int, int], protocol: dict, n_particles: int
) -> tuple[dict[int, Configuration], dict[str, pl.DataFrame]]:
    """Glasses of ``key`` already in the warehouse with the seed, protocol and N this study would use for them:
    (sample → configuration, their ``samples``/``particles`` rows). They are the same glasses, so adding glasses
    to a rate quenches only the new ones."""
    samples = store.read_partition("samples", key)
    if samples.height == 0:
        return {}, {}
    same = samples.filter(
        pl.col("sample").is_in(list(seeds))
        & (pl.col("protocol") == json.dumps(protocol))
        & (pl.col("n_particles") == n_particles)
    )
    same = same.filter(pl.col("seed") == pl.col("sample").replace_strict(seeds, default=None))
    if same.height == 0:
        return {}, {}
    particles = store.read_partition("particles", key).filter(pl.col("sample").is_in(same["sample"].to_list()))
    return configurations(same, particles), {"samples": same, "particles": particles}


def glasses_at_rate(
    context: AssetExecutionContext,
    study: StudySettings,
    simulation: SimulationLauncher,
    store: Warehouse,
    profile: Profile,
    system: ModelSystem,
    n_particles: int,
    rate: float,
    count: int,
) -> tuple[dict, dict[str, pl.DataFrame], dict[int, Configuration], Path]:
    """``count`` quenches of ``n_particles`` to T_G at ``rate`` (the profile's quench protocol otherwise), run,
    reused from scratch or reused from the warehouse: (partition key, samples/particles rows, configurations,
    scratch folder).

    Glass k's seed is ``derive_seed`` of (system, T_G, k, base seed) with the rate in the stream name, so every
    rate draws its own glasses and glass k is the same whatever ``count`` is. Glasses already stored with that
    seed and protocol are not quenched again (raising ``glasses_per_rate`` quenches only the new ones). The
    scratch folder is named by a hash of the quench parameters and the seed stream, not of the count: after a
    crash the finished glasses are reused, and so they are when ``count`` is changed before the study is written.
    """
    temperature = float(system.temperatures["glass"])
    protocol = dataclasses.replace(profile.quench.protocol, cooling_rate=rate).to_dict()
    params = {"system": system.name, "n_particles": n_particles, "temperature": temperature, "protocol": protocol}
    stream = f"cooling_rate_{rate!r}"
    seeds = {k: derive_seed(system.name, temperature, k, profile.base_seed, stream) for k in range(count)}
    key = ensemble_key(system.name, temperature, rate_ensemble(rate))
    stored, stored_rows = _stored_glasses(store, key, seeds, protocol, n_particles)
    items = [{"sample": k, "seed": s} for k, s in seeds.items() if k not in stored]
    inputs = [params, {"base_seed": profile.base_seed, "seed_stream": stream}]
    scratch = study.scratch_folder("cooling_rate_study", system.name, temperature, inputs)
    context.log.info(
        f"{count} glasses of {system.name} (N = {n_particles}) at T_G = {temperature}, rate {rate:g}: "
        f"{len(stored)} stored, {len(items)} to quench ({QuenchProtocol(**protocol).steps(system, temperature)} steps)"
    )
    configs = dict(stored)
    frames = [stored_rows] if stored_rows else []
    if items:
        paths = simulation.run_tasks(
            "quench",
            params,
            items,
            scratch,
            on_event=progress_logger(context.log, len(items), f"quench at rate {rate:g}"),
        )
        results = {item["sample"]: QuenchResult.load(path) for item, path in zip(items, paths, strict=True)}
        configs |= {k: r.configuration for k, r in results.items()}
        frames.append(_ensemble_frames(key, results, seeds, protocol, context.run.run_id))
    ensemble = {
        table: pl.concat([f[table].select(frames[-1][table].columns) for f in frames], how="vertical_relaxed").sort(
            "sample"
        )
        for table in ("samples", "particles")
    }
    return key, ensemble, dict(sorted(configs.items())), scratch


def _ensemble_frames(
    key: dict, results: dict[int, QuenchResult], seeds: dict[int, int], protocol: dict, run_id: str
) -> dict[str, pl.DataFrame]:
    """``samples`` and ``particles`` rows of the glasses of one rate."""
    samples = [
        sample_row(
            key,
            sample,
            seeds[sample],
            result.configuration.n_particles,
            result.configuration.box,
            result.lammps_energy,
            kinetic_temperature=hold_mean_temperature(result.thermo),
            md_steps=result.md_steps,
            wall_seconds=result.wall_seconds,
            protocol=json.dumps(protocol),
            code_version=code_version_tag(COOLING_RATE_CODE_VERSION),
            run_id=run_id,
        )
        for sample, result in sorted(results.items())
    ]
    particles = [
        particle_rows(key, sample, result.configuration.positions, result.configuration.types)
        for sample, result in sorted(results.items())
    ]
    return {"samples": pl.DataFrame(samples), "particles": pl.concat(particles)}
