"""The cooling-rate study: does [O]'s C(1−Θ,Υ) of ABM glasses depend on how slowly they were quenched?

For each rate γ of the profile's ``cooling_rate_study`` section, independent LAMMPS quenches of N particles from
T_high to T_G (the ``quench`` worker task, the profile's quench protocol with its rate replaced by γ); per glass
the Pearson and Spearman coefficients C(1−Θ̄, Ῡ) of the coarse-grained (ξ) min–max normalised Tong–Tanaka order
and Voronoi area, exactly as ``indicator_correlations`` computes them [O §IV C]; per rate mean ± SE = s/√n and n
over the glasses (:func:`glass_core.models.statistics.sample_mean`), beside [O]'s 0.355 (N = 2000, γ = 8.33×10⁻⁵).

[O] Oyama, Koyama, Kawasaki, Front. Phys. 10 (2023), arXiv:2208.00349.
"""

import dataclasses
import json
import shutil
import time
from pathlib import Path

import numpy as np
import polars as pl
from dagster import AssetExecutionContext, MaterializeResult, MetadataValue

from glass_assets.checks import raise_on_blocking_failure
from glass_assets.cooling_rate import plots
from glass_assets.cooling_rate.checks import (
    COOLING_RATE_CHECKS,
    RateGlasses,
    cooling_rate_check_specs,
    run_cooling_rate_checks,
)
from glass_assets.graph import PER_SYSTEM, SIMULATION_RETRIES, AssetTemplate
from glass_assets.plots import figure_metadata, stderr_metadata
from glass_assets.profiles import Profile
from glass_assets.resources import SimulationLauncher, StudySettings, WarehouseResource, progress_logger
from glass_assets.tables import particle_rows, sample_row
from glass_assets.versioning import COOLING_RATE_CODE_VERSION, code_version_tag
from glass_assets.warehouse import ensemble_key
from glass_core.learning.correlations import OYAMA_COOLING_RATE, OYAMA_GLASS_MEANS, pair_correlations
from glass_core.models.configuration import Configuration
from glass_core.models.seeds import derive_seed
from glass_core.models.statistics import sample_mean
from glass_core.models.systems import ModelSystem, get_system
from glass_core.simulation.quench import QuenchProtocol, QuenchResult, hold_mean_temperature
from glass_core.structure.indicators import structural_indicators

PAIR = "one_minus_theta~upsilon"
FIELDS = {PAIR: ("one_minus_theta_cg", "voronoi_area_cg")}


def rate_ensemble(rate: float) -> str:
    """Ensemble name of the glasses quenched at ``rate`` in ``samples``/``particles``: ``quenched_rate_0.002``."""
    return f"quenched_rate_{rate:g}"


def glass_correlations(config: Configuration, system: ModelSystem, xi: float) -> dict[str, float]:
    """method → C(1−Θ̄, Ῡ) of one glass: the coarse-grained normalised fields of ``structural_indicators``."""
    fields = structural_indicators(config, system, xi)
    values = pair_correlations(
        {"one_minus_theta_cg": fields.one_minus_theta_cg, "voronoi_area_cg": fields.voronoi_area_cg}, FIELDS
    )
    return {method: value for (_, method), value in values.items()}


def _glasses_at_rate(
    context: AssetExecutionContext,
    study: StudySettings,
    simulation: SimulationLauncher,
    profile: Profile,
    system: ModelSystem,
    n_particles: int,
    rate: float,
    count: int,
) -> tuple[dict, dict[str, pl.DataFrame], dict[int, QuenchResult], Path]:
    """``count`` quenches of ``n_particles`` to T_G at ``rate`` (the profile's quench protocol otherwise), run or
    reused from scratch: (partition key, samples/particles rows, results, scratch folder).

    Glass k's seed is ``derive_seed`` of (system, T_G, k, base seed) with the rate in the stream name, so every
    rate draws its own glasses and glass k is the same whatever ``count`` is. The scratch folder is named by a
    hash of the quench parameters and the seed stream, not of the count: after a crash the finished glasses are
    reused, and so they are when ``count`` is changed before the study has been written.
    """
    temperature = float(system.temperatures["glass"])
    protocol = dataclasses.replace(profile.quench.protocol, cooling_rate=rate).to_dict()
    params = {"system": system.name, "n_particles": n_particles, "temperature": temperature, "protocol": protocol}
    stream = f"cooling_rate_{rate!r}"
    seeds = {k: derive_seed(system.name, temperature, k, profile.base_seed, stream) for k in range(count)}
    items = [{"sample": k, "seed": s} for k, s in seeds.items()]
    inputs = [params, {"base_seed": profile.base_seed, "seed_stream": stream}]
    scratch = study.scratch_folder("cooling_rate_study", system.name, temperature, inputs)
    context.log.info(
        f"{count} quenches of {system.name} (N = {n_particles}) to T_G = {temperature} at rate {rate:g} "
        f"({QuenchProtocol(**protocol).steps(system, temperature)} steps)"
    )
    paths = simulation.run_tasks(
        "quench", params, items, scratch, on_event=progress_logger(context.log, count, f"quench at rate {rate:g}")
    )
    results = {item["sample"]: QuenchResult.load(path) for item, path in zip(items, paths, strict=True)}
    key = ensemble_key(system.name, temperature, rate_ensemble(rate))
    return key, _ensemble_frames(key, results, seeds, protocol, context.run.run_id), results, scratch


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


def _correlation_rows(system: str, rate: float, configs: dict[int, Configuration], xi: float) -> list[dict]:
    model = get_system(system)
    return [
        {"system": system, "cooling_rate": rate, "sample": sample, "pair": PAIR, "method": method, "value": value}
        for sample, config in configs.items()
        for method, value in glass_correlations(config, model, xi).items()
    ]


def cooling_rate_summary(
    correlations: pl.DataFrame, energies: dict[float, list[float]], system: str, n_particles: int, temperature: float
) -> pl.DataFrame:
    """Rows of ``cooling_rate_summary``: per (rate, pair, method) mean ± SE, sd and n over the glasses, [O]'s value
    (Pearson only), and the glasses' mean E/N ± SE."""
    paper = OYAMA_GLASS_MEANS.get(system, {})
    rows = []
    for (rate, pair, method), group in correlations.group_by(["cooling_rate", "pair", "method"]):
        mean = sample_mean(group["value"].to_list())
        energy = sample_mean(energies[rate])
        rows.append(
            {
                "system": system,
                "cooling_rate": rate,
                "pair": pair,
                "method": method,
                "n_particles": n_particles,
                "temperature": temperature,
                "mean": mean.mean,
                "stderr": mean.stderr,
                "std": mean.std,
                "n": mean.n,
                "n_undefined": mean.n_undefined,
                "paper_value": paper.get(pair) if method == "pearson" else None,
                "paper_cooling_rate": OYAMA_COOLING_RATE,
                "energy_per_particle": energy.mean,
                "energy_stderr": energy.stderr,
            }
        )
    schema = {"mean": pl.Float64, "stderr": pl.Float64, "std": pl.Float64, "paper_value": pl.Float64}
    schema |= {"energy_stderr": pl.Float64}
    return (
        pl.DataFrame(rows, schema_overrides=schema)
        .with_columns(pl.col("mean").fill_nan(None))
        .sort(["pair", "method", "cooling_rate"], descending=[False, False, True])
    )


def cooling_rate_study(
    context: AssetExecutionContext,
    study: StudySettings,
    simulation: SimulationLauncher,
    warehouse: WarehouseResource,
) -> MaterializeResult:
    started = time.perf_counter()
    system_name = context.partition_key
    system = get_system(system_name)
    profile = study.load()
    settings = profile.cooling_rate_study
    temperature = float(system.temperatures["glass"])
    xi = profile.coarse_graining_length
    store = warehouse.get()
    store.ensure_writable()  # fail before hours of MD, not after

    glasses, frames, rows, scratches, walls = {}, [], [], [], {}
    for rate, count in settings.plan():
        key, ensemble, results, scratch = _glasses_at_rate(
            context, study, simulation, profile, system, settings.n_particles, rate, count
        )
        configs = {k: r.configuration for k, r in results.items()}
        glasses[rate] = RateGlasses(configs, ensemble["samples"])
        frames.append((key, ensemble))
        scratches.append(scratch)
        walls[rate] = float(np.mean([r.wall_seconds for r in results.values()]))
        rows += _correlation_rows(system_name, rate, configs, xi)

    correlations = pl.DataFrame(rows, schema_overrides={"value": pl.Float64}).with_columns(
        pl.col("value").fill_nan(None)
    )
    energies = {rate: g.samples["energy_per_particle"].to_list() for rate, g in glasses.items()}
    summary = cooling_rate_summary(correlations, energies, system_name, settings.n_particles, temperature)
    checks = run_cooling_rate_checks(system, glasses, correlations)
    tables = {"cooling_rate_correlations": correlations, "cooling_rate_summary": summary}
    rejected = {**tables, **{f"{t}_{k['ensemble']}": f for k, e in frames for t, f in e.items()}}
    raise_on_blocking_failure(
        checks, COOLING_RATE_CHECKS, context, rejected=rejected, quarantine_root=study.quarantine_root()
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
            "wall_seconds": time.perf_counter() - started,
            "code_version": code_version_tag(COOLING_RATE_CODE_VERSION),
            **figure_metadata(
                plots.correlation_against_rate(
                    summary,
                    correlations,
                    f"{system_name}: C(1−Θ,Υ) of glasses at T = {temperature:g}, N = {settings.n_particles}",
                    OYAMA_GLASS_MEANS.get(system_name, {}).get(PAIR),
                    OYAMA_COOLING_RATE,
                ),
                study.plot_path("cooling_rate_study", f"{system_name}_correlation_vs_rate.png"),
            ),
        },
    )


def _summary_metadata(summary: pl.DataFrame) -> dict[str, object]:
    """``pearson_rate_<γ>``, ``…_stderr`` (null for n = 1) and ``…_n`` per rate."""
    metadata: dict[str, object] = {}
    for row in summary.filter(pl.col("method") == "pearson").iter_rows(named=True):
        name = f"pearson_rate_{row['cooling_rate']:g}"
        metadata[name] = float("nan") if row["mean"] is None else float(row["mean"])
        metadata[f"{name}_stderr"] = stderr_metadata(row["stderr"])
        metadata[f"{name}_n"] = row["n"]
    return metadata


COOLING_RATE_STUDY = AssetTemplate(
    body=cooling_rate_study,
    partitioned_by=PER_SYSTEM,
    check_specs=cooling_rate_check_specs,
    kinds=frozenset({"lammps", "freud", "duckdb"}),
    group_name="cooling_rate",
    code_version=COOLING_RATE_CODE_VERSION,
    pool="simulation",
    retry_policy=SIMULATION_RETRIES,
    description=(
        "Glasses quenched to T_G at each cooling rate of the profile's cooling_rate_study section (LAMMPS, the quench "
        "task); per glass Pearson and Spearman C(1−Θ,Υ) of the coarse-grained normalised fields as in "
        "indicator_correlations; per rate mean ± SE and n beside Oyama et al.'s 0.355 (rate 8.33e-5), plotted "
        "against the rate. Warehouse tables cooling_rate_correlations, cooling_rate_summary; the glasses in samples/"
        "particles (ensemble quenched_rate_<rate>)."
    ),
)
