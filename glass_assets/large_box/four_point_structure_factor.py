"""The four-point structure factor S4(q) with the dynamic length ξ4 on the large boxes [J].

``four_point_structure_factor``: the champion tGlassMLP predicts the propensity X_i of every particle of
the large inherent structures (:mod:`glass_assets.large_box.assets`) at each target ⟨C_B⟩ (descriptors with the
model's own lengths), and

    S4(q) = (1/N) ⟨|Σ_i δX_i e^{iq·r_i}|²⟩,   δX_i = X_i − X̄      ([J] eq. (10))

is averaged over |q| shells and boxes (FINUFFT, :mod:`glass_core.dynamics.four_point_structure_factor`).
ξ4 comes from the small-q Ornstein–Zernike fit S4(q) = S4(0)/(1 + (qξ4)²) ([J] eq. (11)), the default
``large_box.oz_model: oz``: [J] App. C adds a third-order term A (qξ4)³, but its eq. (12) is lost from the
paper text we have, so ``oz_cubic`` is a reconstruction, and its free A triples the scatter of ξ4 on
synthetic OZ fields (glass_core tests); the cubic fit's A is still reported in the metadata. An
unresolved fit (no small-q plateau, too few shells, …) writes value NULL, resolved false and the reason.
"""

import time

import numpy as np
import polars as pl
from dagster import (
    AssetExecutionContext,
    MaterializeResult,
    MetadataValue,
)

from glass_assets.checks import evaluate_before_commit
from glass_assets.graph import AssetTemplate, Upstream
from glass_assets.large_box.assets import LARGE_INHERENT
from glass_assets.large_box.checks import S4_CHECKS
from glass_assets.launchers import train_through_launcher, training_scratch
from glass_assets.partitions import parse_partition
from glass_assets.plots import figure_metadata, markdown_table, s4_figure
from glass_assets.registry.propensity import load_tglassmlp_champion, model_type_label, tglassmlp_model_name
from glass_assets.registry.tracking import MLflowResource
from glass_assets.resources import SimulationLauncher, StudySettings, WarehouseResource
from glass_assets.tables import configurations
from glass_assets.versioning import S4_CODE_VERSION
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
from glass_core.models.statistics import over_networks
from glass_core.models.systems import get_system
from glass_core.structure.physics_descriptors import (
    physics_inspired_descriptors,
    spec_from_feature_names,
)

__all__ = [
    "four_point_structure_factor",
    "xi4_row",
]

#: ``dynamic_lengths`` columns that may be all NULL in a partition (polars would call them type Null)
LENGTH_TYPES = {
    "value": pl.Float64,
    "stderr": pl.Float64,
    "fit_q_min": pl.Float64,
    "fit_q_max": pl.Float64,
    "reason": pl.String,
    "network_spread": pl.Float64,
}


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
