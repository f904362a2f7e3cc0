"""Descriptor tables and state-point labels of the propensity-learning study [J]."""

import time

import numpy as np
import polars as pl
from dagster import AssetExecutionContext, MaterializeResult, MetadataValue

from glass_assets.checks import evaluate_before_commit
from glass_assets.graph import AssetTemplate, Upstream
from glass_assets.partitions import parse_partition
from glass_assets.plots import figure_metadata
from glass_assets.propensity_learning import plots
from glass_assets.propensity_learning.checks import (
    DESCRIPTOR_CHECKS,
    STATE_POINT_CHECKS,
)
from glass_assets.propensity_learning.tables import descriptor_rows, feature_name_rows, state_point_rows
from glass_assets.resources import StudySettings, WarehouseResource
from glass_assets.tables import INHERENT, configurations, initial_structures_key
from glass_assets.versioning import MLP_DESCRIPTORS_CODE_VERSION, STATE_POINTS_CODE_VERSION
from glass_assets.warehouse import WarehouseError, ensemble_key
from glass_core.dynamics.state_points import state_point_labels as labels_at_state_points
from glass_core.models.systems import get_system
from glass_core.structure.physics_descriptors import DescriptorSpec, physics_inspired_descriptors

__all__ = ["mlp_descriptors", "state_point_labels"]


def mlp_descriptors(
    context: AssetExecutionContext, study: StudySettings, warehouse: WarehouseResource
) -> MaterializeResult:
    """Physics-inspired structural descriptors [J] of every inherent structure of the partition, coarse-grained over
    several lengths."""
    started = time.perf_counter()
    system_name, temperature = parse_partition(context.partition_key)
    system = get_system(system_name)
    spec = DescriptorSpec(lengths=study.load().propensity_learning.descriptor_lengths)
    names = spec.feature_names(system.n_types)
    store = warehouse.get()
    store.ensure_writable()
    source = ensemble_key(system_name, temperature, INHERENT)
    configs = configurations(store.read_partition("samples", source), store.read_partition("particles", source))
    if not configs:
        raise WarehouseError(f"no inherent structures of {system_name} at T={temperature}: materialize them first")
    rows, blocks = [], []
    for done, (sample, config) in enumerate(sorted(configs.items()), 1):
        features = physics_inspired_descriptors(config, system, spec)
        blocks.append(features)
        rows.append(descriptor_rows(system_name, temperature, sample, config.types, features))
        context.log.info(f"descriptors {done}/{len(configs)} ({features.shape[1]} per particle)")
    features = np.concatenate(blocks)
    frames = {
        "mlp_descriptors": pl.concat(rows),
        "mlp_feature_names": feature_name_rows(system_name, temperature, names),
    }
    results = evaluate_before_commit(
        DESCRIPTOR_CHECKS,
        context,
        rejected=frames,
        quarantine_root=study.quarantine_root(),
        features=features,
        names=names,
    )
    written = store.replace_partition({"system": system_name, "temperature": temperature}, frames)
    figure = plots.descriptor_profiles(features, names, f"{system_name} at T = {temperature}")
    return MaterializeResult(
        check_results=results,
        metadata={
            "n_configurations": len(configs),
            "n_particles": int(features.shape[0]),
            "n_features": len(names),
            "lengths": MetadataValue.json(list(spec.lengths)),
            "rows_written": MetadataValue.json(written),
            "seconds_per_configuration": (time.perf_counter() - started) / len(configs),
            **figure_metadata(figure, study.plot_path("mlp_descriptors", f"{system_name}_T{temperature!r}.png")),
        },
    )


def state_point_labels(
    context: AssetExecutionContext, study: StudySettings, warehouse: WarehouseResource
) -> MaterializeResult:
    """Per-particle bond-breaking propensity at the state points (T, ⟨C_B⟩) where the mean propensity crosses the
    profile's targets."""
    system_name, temperature = parse_partition(context.partition_key)
    learning = study.load().propensity_learning
    targets = list(learning.state_point_targets)
    chosen, label = learning.type_indices(system_name), learning.type_label(system_name)
    store = warehouse.get()
    store.ensure_writable()
    run_key = {"system": system_name, "temperature": temperature}
    propensity = store.read_partition("propensity", run_key)
    summary = store.read_partition("propensity_summary", run_key)
    if propensity.height == 0:
        raise WarehouseError(f"no propensity labels of {system_name} at T={temperature}: materialize them first")
    times = summary.filter(pl.col("sample") == summary["sample"][0])["time"].to_numpy()
    source = initial_structures_key(system_name, temperature)
    particles = store.read_partition("particles", source)
    bond_breaking, halves, types = {}, {}, {}
    for (sample,), rows in propensity.group_by(["sample"], maintain_order=True):
        n_frames = rows["frame"].max() + 1
        shape = (n_frames, rows.height // n_frames)
        bond_breaking[sample] = rows["bond_breaking"].fill_null(np.nan).to_numpy().reshape(shape)
        halves[sample] = np.stack(
            [
                rows[c].fill_null(np.nan).to_numpy().reshape(shape)
                for c in ("bond_breaking_half_a", "bond_breaking_half_b")
            ]
        )
        types[sample] = particles.filter(pl.col("sample") == sample).sort("particle")["type"].to_numpy()
    # ⟨C_B⟩ of a state point is the mean over the particle types the models learn ([J]: type A)
    points = labels_at_state_points(times, bond_breaking, halves, targets,
                                    {s: np.isin(t, chosen) for s, t in types.items()})
    frames = state_point_rows(system_name, temperature, types, points, int(summary["n_replicas"][0]), label)
    results = evaluate_before_commit(
        STATE_POINT_CHECKS,
        context,
        rejected=frames,
        quarantine_root=study.quarantine_root(),
        labels=frames["state_point_labels"],
        summary=frames["state_points"],
        targets=targets,
        distillation=learning.distillation,
    )
    written = store.replace_partition(run_key, frames)
    table = frames["state_points"]
    return MaterializeResult(
        check_results=results,
        metadata={
            "state_points": MetadataValue.md(plots.markdown_table(table)) if table.height else "none reached",
            "n_state_points": table.height,
            "n_configurations": len(bond_breaking),
            "rows_written": MetadataValue.json(written),
        },
    )


MLP_DESCRIPTORS = AssetTemplate(
    body=mlp_descriptors,
    profile_settings=("propensity_learning.descriptor_lengths",),
    partitioned_by="swap_mc",
    upstream=(Upstream("inherent_structures"),),
    checks=DESCRIPTOR_CHECKS,
    kinds=frozenset({"numba", "duckdb"}),
    group_name="propensity_learning",
    code_version=MLP_DESCRIPTORS_CODE_VERSION,
)


STATE_POINT_LABELS = AssetTemplate(
    body=state_point_labels,
    profile_settings=("propensity_learning.state_point_targets", "propensity_learning.particle_types"),
    partitioned_by="propensity",
    upstream=(Upstream("propensity_labels"),),
    checks=STATE_POINT_CHECKS,
    kinds=frozenset({"duckdb"}),
    group_name="propensity_learning",
    code_version=STATE_POINTS_CODE_VERSION,
)
