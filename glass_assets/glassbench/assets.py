"""GlassBench KA2D [R] as an outside test: its structures and bond-breaking labels in the warehouse, and the
registered propensity models [G], [J] scored against them.

The user points the campaign at a folder of GlassBench files (``ka2d_ternary: {glassbench: {folder, temperatures}}``);
nothing is downloaded at run time. Labels are computed by the platform's own bond-breaking functions
(:func:`glass_core.dynamics.glassbench.glassbench_bond_breaking`), never read from GlassBench's derived files.

References (docs/bibliography.md): [R] (data: Zenodo 10118191); [G]; [J].
"""

import json
import shutil
import time

import numpy as np
import polars as pl
from dagster import (
    AssetExecutionContext,
    MaterializeResult,
    MetadataValue,
)

from glass_assets.campaign import load_campaign
from glass_assets.checks import evaluate_before_commit
from glass_assets.glassbench.checks import (
    SAMPLE_CHECKS,
    SCORE_CHECKS,
)
from glass_assets.glassbench.scores import (
    ScoredModel,
    baseline_choices,
    descriptor_grid,
    glassbench_times,
    matching_state_point,
    nearest_baseline,
    predict_glassmlp,
    predict_tglassmlp,
    recomputable,
    score_frame,
    score_rows,
    undefined_rows,
)
from glass_assets.glassbench.tables import GLASSBENCH, GLASSBENCH_INHERENT, Structure, group_structures, label_rows
from glass_assets.graph import SIMULATION_RETRIES, AssetTemplate, Upstream
from glass_assets.partitions import parse_partition
from glass_assets.plots import markdown_table
from glass_assets.registry.propensity import (
    ChampionMissingError,
    glassmlp_model_name,
    load_champion_ensembles,
    tglassmlp_model_name,
)
from glass_assets.registry.tracking import MLflowResource
from glass_assets.resources import SimulationLauncher, StudySettings, WarehouseResource, progress_logger
from glass_assets.tables import configurations, particle_rows, sample_row
from glass_assets.versioning import GLASSBENCH_SAMPLES_CODE_VERSION, GLASSBENCH_SCORES_CODE_VERSION, code_version_tag
from glass_assets.warehouse import Warehouse, WarehouseError, ensemble_key
from glass_core.dynamics.glassbench import (
    GlassBenchFormatError,
    find_glassbench_files,
    glassbench_bond_breaking,
    load_glassbench_file,
)
from glass_core.learning.mlp_settings import MLPTrainingSettings
from glass_core.models.configuration import Configuration
from glass_core.models.energy import potential_energy
from glass_core.models.systems import ModelSystem, get_system
from glass_core.structure.physics_descriptors import DescriptorSpec, physics_inspired_descriptors

__all__ = [
    "glassbench_samples",
    "glassbench_scores",
]


#: the per-time record of the champion's iterated prediction (``state_points`` metadata of ``glassbench_scores``)
STATE_POINT_SCHEMA: dict[str, pl.DataType] = {
    "time": pl.Float64(),
    "measured_cb": pl.Float64(),
    "requested_cb": pl.Float64(),
    "predicted_cb": pl.Float64(),
    "iterations": pl.Int64(),
    "n_structures": pl.Int64(),
    "types_predicted": pl.String(),
}


# ---------------------------------------------------------------------------------------------- samples
def _read_files(system: ModelSystem, temperature: float) -> tuple[list[Structure], list[str]]:
    """Every GlassBench file of ``temperature`` in the campaign's folder, grouped into structures."""
    folder = load_campaign().glassbench_folder(system.name)
    paths = find_glassbench_files(folder, temperature)
    if not paths:
        raise GlassBenchFormatError(f"GlassBench folder {folder} has no .npz file at T = {temperature}")
    return group_structures([load_glassbench_file(p, system.n_types) for p in paths]), [p.name for p in paths]


def _minimise_missing(
    context: AssetExecutionContext,
    study: StudySettings,
    simulation: SimulationLauncher,
    system: ModelSystem,
    temperature: float,
    structures: list[Structure],
) -> dict[int, dict[str, float]]:
    """LAMMPS FIRE+CG minima (as ``inherent_structures``) of the structures whose files have no inherent
    structure (GlassBench's T = 0.30 files); returns sample → energy, force norm and iterations."""
    missing = [s for s in structures if s.inherent is None]
    if not missing:
        return {}
    tolerance = study.load().inherent_structures.force_tolerance
    params = {"system": system.name, "force_tolerance": tolerance}
    fingerprint = [params, [s.files[0].source for s in missing]]
    scratch = study.scratch_folder("glassbench_samples", system.name, temperature, fingerprint)
    items = [
        {
            "sample": s.sample,
            "configuration": str(
                s.equilibrium.write(scratch / "input" / f"sample_{s.sample:06d}.data", system.type_names)
            ),
        }
        for s in missing
    ]
    context.log.info(f"{len(missing)} GlassBench structures have no inherent structure: minimising them with LAMMPS")
    paths = simulation.run_tasks(
        "minimise", params, items, scratch / "out", progress_logger(context.log, len(items), "minimisation")
    )
    minima = {}
    for structure, path in zip(missing, paths, strict=True):
        with np.load(path) as data:
            structure.inherent = Configuration(
                data["positions"], data["types"], tuple(data["box"]), system.name
            ).wrapped()
            minima[structure.sample] = {
                "energy": float(data["energy"]),
                "force_norm": float(data["force_norm"]),
                "iterations": int(data["iterations"]),
            }
    shutil.rmtree(scratch, ignore_errors=True)
    return minima


def _configuration_rows(
    context: AssetExecutionContext,
    system: ModelSystem,
    temperature: float,
    structures: list[Structure],
    minima: dict[int, dict[str, float]],
) -> dict[str, dict[str, pl.DataFrame]]:
    """``samples``/``particles`` rows of the thermal starts (ensemble 'glassbench') and of the inherent structures
    ('glassbench_inherent'); energies by the platform's numpy potential, LAMMPS' where it minimised."""
    out = {}
    for ensemble in (GLASSBENCH, GLASSBENCH_INHERENT):
        key = ensemble_key(system.name, temperature, ensemble)
        samples, particles = [], []
        for s in structures:
            config = s.equilibrium if ensemble == GLASSBENCH else s.inherent
            minimised = ensemble == GLASSBENCH_INHERENT and s.sample in minima
            energy = minima[s.sample]["energy"] if minimised else potential_energy(config, system).total
            protocol = {
                "source": "GlassBench KA2D (Zenodo 10118191)",
                "files": [f.source for f in s.files],
                "times": [f.time for f in s.files],
                "n_replicas": [f.n_replicas for f in s.files],
                "inherent": ("minimised here (LAMMPS FIRE+CG)" if s.sample in minima else "from the file"),
            }
            samples.append(
                sample_row(
                    key,
                    s.sample,
                    0,
                    config.n_particles,
                    config.box,
                    float(energy),
                    protocol=json.dumps(protocol),
                    code_version=code_version_tag(GLASSBENCH_SAMPLES_CODE_VERSION),
                    run_id=context.run.run_id,
                )
            )
            particles.append(particle_rows(key, s.sample, config.positions, config.types))
        out[ensemble] = {"samples": pl.DataFrame(samples), "particles": pl.concat(particles)}
    return out


def glassbench_samples(
    context: AssetExecutionContext, study: StudySettings, simulation: SimulationLauncher, warehouse: WarehouseResource
) -> MaterializeResult:
    """The GlassBench configurations of the partition's temperature, their inherent structures and their
    bond-breaking propensity labels."""
    started = time.perf_counter()
    system_name, temperature = parse_partition(context.partition_key)
    system = get_system(system_name)
    store = warehouse.get()
    store.ensure_writable()
    structures, files = _read_files(system, temperature)
    labels = []
    for s in structures:
        by_time = {f.time: glassbench_bond_breaking(f, system) for f in s.files}
        labels.append(label_rows(system_name, temperature, s, by_time))
    labels = pl.concat(labels)
    minima = _minimise_missing(context, study, simulation, system, temperature, structures)
    rows = _configuration_rows(context, system, temperature, structures, minima)
    equilibria = {s.sample: s.equilibrium for s in structures}
    inherent = {s.sample: s.inherent for s in structures}
    all_samples = pl.concat([rows[GLASSBENCH]["samples"], rows[GLASSBENCH_INHERENT]["samples"]])
    results = evaluate_before_commit(
        SAMPLE_CHECKS,
        context,
        note=f"files: {', '.join(files)}",
        rejected={
            **{f"{GLASSBENCH}_{table}": frame for table, frame in rows[GLASSBENCH].items()},
            **{f"{GLASSBENCH_INHERENT}_{table}": frame for table, frame in rows[GLASSBENCH_INHERENT].items()},
            "glassbench_labels": labels,
        },
        quarantine_root=study.quarantine_root(),
        system=system,
        equilibria=equilibria,
        inherent=inherent,
        samples=all_samples,
        labels=labels,
    )
    written = store.replace_partitions(
        [
            (ensemble_key(system_name, temperature, GLASSBENCH), rows[GLASSBENCH]),
            (ensemble_key(system_name, temperature, GLASSBENCH_INHERENT), rows[GLASSBENCH_INHERENT]),
            ({"system": system_name, "temperature": temperature}, {"glassbench_labels": labels}),
        ]
    )
    by_time = (
        labels.group_by("time")
        .agg(
            pl.col("sample").n_unique().alias("n_structures"),
            pl.col("propensity").mean().alias("mean_bond_breaking"),
            pl.col("n_replicas").first(),
        )
        .sort("time")
    )
    return MaterializeResult(
        check_results=results,
        metadata={
            "files": MetadataValue.json(files),
            "n_structures": len(structures),
            "n_particles": int(structures[0].equilibrium.n_particles),
            "labels_by_time": MetadataValue.md(markdown_table(by_time)),
            "minimised_here": len(minima),
            "max_force_norm_minimised": max((m["force_norm"] for m in minima.values()), default=0.0),
            "rows_written": MetadataValue.json(written),
            "wall_seconds": time.perf_counter() - started,
        },
    )


# ---------------------------------------------------------------------------------------------- scores
def _glassbench_data(
    store: Warehouse, system: str, temperature: float
) -> tuple[pl.DataFrame, dict[int, Configuration]]:
    labels = store.read_partition("glassbench_labels", {"system": system, "temperature": temperature})
    key = ensemble_key(system, temperature, GLASSBENCH_INHERENT)
    inherent = configurations(store.read_partition("samples", key), store.read_partition("particles", key))
    if labels.height == 0 or not inherent:
        raise WarehouseError(
            f"no GlassBench labels or inherent structures of {system} at T={temperature}: "
            "materialize glassbench_samples first"
        )
    return labels, inherent


def _descriptor_matrix(
    context: AssetExecutionContext, system: ModelSystem, inherent: dict[int, Configuration], spec: DescriptorSpec
) -> dict[int, np.ndarray]:
    """(N, M) descriptors of ``spec`` (the grid holding every model's columns) of each GlassBench inherent structure,
    recomputed here (not stored)."""
    out = {}
    n_columns = len(spec.feature_names(system.n_types))
    for done, (sample, config) in enumerate(sorted(inherent.items()), 1):
        out[sample] = physics_inspired_descriptors(config, system, spec).astype(np.float32)
        context.log.info(f"descriptors {done}/{len(inherent)} ({n_columns} per particle, L = {list(spec.lengths)})")
    return out


def _load_glassmlp(client, system: str) -> tuple[dict | None, str | None, str]:  # noqa: ANN001
    try:
        ensembles, version = load_champion_ensembles(client, glassmlp_model_name(system))
    except ChampionMissingError as error:
        return None, None, f"GlassMLP skipped: {error}"
    return ensembles, version, ""


def _headline(scores: pl.DataFrame) -> pl.DataFrame:
    """Type-A scores per time and predictor, with the reason where undefined (the table a user reads first)."""
    return (
        scores.filter(pl.col("subset") == "A")
        .select("time", "target_cb", "predictor", "pearson", "stderr", "n_configurations", "reason")
        .sort("time", "predictor")
    )


def glassbench_scores(
    context: AssetExecutionContext, study: StudySettings, warehouse: WarehouseResource, mlflow_tracking: MLflowResource
) -> MaterializeResult:
    """The champion tGlassMLP, GlassMLP and best-descriptor baseline scored against the GlassBench labels."""
    # Score the champions on the partition's GlassBench labels, time by time: recompute the descriptor grid that holds
    # every model's columns on the inherent structures, predict on each model's particle types, write type-A (and for
    # an every-type model, all-particle) Pearson rows, NULL with a reason where undefined (``mlp_scores``).
    system_name, temperature = parse_partition(context.partition_key)
    system = get_system(system_name)
    client = mlflow_tracking.activate()
    tglass_name = tglassmlp_model_name(system_name)
    ensembles, version = load_champion_ensembles(client, tglass_name)
    training = MLPTrainingSettings.from_mapping(study.load().propensity_learning.training)
    glassmlp, glassmlp_version, glassmlp_note = _load_glassmlp(client, system_name)
    notes = [glassmlp_note] if glassmlp_note else []
    store = warehouse.get()
    store.ensure_writable()
    labels, inherent = _glassbench_data(store, system_name, temperature)
    champion_scores = store.query(
        "SELECT * FROM mlp_scores WHERE system = ? AND model_name = ? AND model_version = ?",
        [system_name, tglass_name, str(version)],
    )
    choices = baseline_choices(champion_scores)
    unusable = sorted({c.name for c in choices if not recomputable(c.name)})
    if unusable:
        notes.append(f"baseline descriptors {unusable} are not recomputable here: those baseline rows are skipped")
    choices = [c for c in choices if recomputable(c.name)]
    names = [*ensembles[None].input_names, *(n for e in (glassmlp or {}).values() for n in e.input_names)]
    spec = descriptor_grid([*names, *(c.name for c in choices)], system.n_types)
    grid = spec.feature_names(system.n_types)
    tglass = ScoredModel.of(f"{tglass_name} v{version}", ensembles[None], grid, system.n_types)
    glass_models = {
        k: ScoredModel.of(f"{glassmlp_model_name(system_name)} v{glassmlp_version} at {k}", e, grid, system.n_types)
        for k, e in (glassmlp or {}).items()
    }
    features = _descriptor_matrix(context, system, inherent, spec)
    tglass_rows, glassmlp_rows, points = [], [], []
    if not choices:
        notes.append(f"baseline skipped: {tglass_name} v{version} has no best_descriptor rows in mlp_scores")
    for data in glassbench_times(labels, features):
        measured = data.measured_cb_of(tglass.types)  # ⟨C_B⟩ over the champion's particle types, as its state points
        at = (temperature, measured, data.time)
        prediction, point, failure = predict_tglassmlp(tglass, data, temperature, training)
        points.append(point)
        if prediction is None:
            tglass_rows += undefined_rows("tglassmlp", tglass.subsets, failure, *at)
        else:
            tglass_rows += score_rows("tglassmlp", prediction, data.y, data.sample, data.types, tglass.subsets, *at)
        choice = nearest_baseline(choices, measured)
        if choice is not None:
            column = grid.index(choice.name)
            baseline = choice.sign * data.x[:, column].astype(np.float64)
            baseline[~tglass.rows(data.types)] = np.nan  # the baseline is scored on the champion's particle types
            tglass_rows += score_rows(choice.predictor, baseline, data.y, data.sample, data.types, tglass.subsets, *at)
        match = None if glassmlp is None else matching_state_point(list(glassmlp), temperature, measured)
        if match is not None:
            model = glass_models[match]
            glassmlp_rows += score_rows(
                "glassmlp", predict_glassmlp(model, data), data.y, data.sample, data.types, model.subsets, *at
            )
        elif glassmlp is not None:
            notes.append(
                f"GlassMLP skipped at t = {data.time:g} (⟨C_B⟩ = {measured:.3f}): no state point at T = {temperature} "
                f"within ±0.02 among {sorted(glassmlp)}"
            )
        predicted = "not predicted" if point["predicted_cb"] is None else f"{point['predicted_cb']:.3f}"
        context.log.info(f"T={temperature}, t={data.time:g}: ⟨C_B⟩ = {measured:.3f}, tGlassMLP {predicted}")
    frames = [
        (
            {
                "system": system_name,
                "model_name": name,
                "model_version": str(v),
                "split": "glassbench",
                "temperature": temperature,
            },
            {"mlp_scores": score_frame(rows, system_name, name, str(v))},
        )
        for name, v, rows in (
            (tglass_name, version, tglass_rows),
            (glassmlp_model_name(system_name), glassmlp_version, glassmlp_rows),
        )
        if rows
    ]
    scores = pl.concat([f["mlp_scores"] for _, f in frames])
    state_points = pl.DataFrame(points, schema=STATE_POINT_SCHEMA)
    results = evaluate_before_commit(
        SCORE_CHECKS,
        context,
        rejected={"mlp_scores": scores},
        quarantine_root=study.quarantine_root(),
        scores=scores,
        state_points=state_points,
    )
    written = store.replace_partitions(frames)
    undefined = scores.filter(pl.col("pearson").is_null())
    for r in undefined.filter(pl.col("predictor") == "tglassmlp").iter_rows(named=True):
        notes.append(f"tGlassMLP score undefined at t = {r['time']:g} ({r['subset']}): {r['reason']}")
    for note in notes:
        context.log.warning(note)
    n_particles = int(next(iter(inherent.values())).n_particles)
    n_replicas = sorted(set(labels["n_replicas"].to_list()))
    table = scores.select("predictor", "time", "target_cb", "subset", "pearson", "stderr", "n_configurations", "reason")
    return MaterializeResult(
        check_results=results,
        metadata={
            "model": f"{tglass_name} v{version} (champion)",
            "glassmlp": f"{glassmlp_model_name(system_name)} v{glassmlp_version}" if glassmlp else "none",
            "types_scored": f"{tglass.label}: types {tglass.types} (subsets {list(tglass.subsets)})",
            "type_a_scores": MetadataValue.md(markdown_table(_headline(scores))),
            "scores": MetadataValue.md(markdown_table(table.sort("time", "predictor", "subset"))),
            "state_points": MetadataValue.md(markdown_table(state_points)),
            "undefined_scores": undefined.height,
            "scale": f"N = {n_particles} per structure, {len(inherent)} structures, {n_replicas} replicas per label "
            "(GlassBench: N = 1290, 20 replicas)",
            "notes": MetadataValue.json(notes),
            "rows_written": MetadataValue.json(written),
        },
    )


GLASSBENCH_SAMPLES = AssetTemplate(
    body=glassbench_samples,
    profile_settings=("inherent_structures.force_tolerance",),
    partitioned_by="glassbench",
    checks=SAMPLE_CHECKS,
    kinds=frozenset({"lammps", "duckdb"}),
    group_name="glassbench",
    code_version=GLASSBENCH_SAMPLES_CODE_VERSION,
    pool="simulation",
    retry_policy=SIMULATION_RETRIES,
)


GLASSBENCH_SCORES = AssetTemplate(
    body=glassbench_scores,
    profile_settings=("propensity_learning.training",),
    partitioned_by="glassbench",
    upstream=(Upstream("glassbench_samples"), Upstream("tglassmlp_model")),
    checks=SCORE_CHECKS,
    kinds=frozenset({"pytorch", "duckdb"}),
    group_name="glassbench",
    code_version=GLASSBENCH_SCORES_CODE_VERSION,
)
