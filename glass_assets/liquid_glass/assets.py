"""The liquid-versus-glass study [O]: structural descriptors, the CNN classifier, Grad-CAM, correlations.

This module holds the study's first asset, ``structural_descriptors`` (Υ and Θ per particle of the quenched
ensembles), and the ensemble the study reads; the others have their own modules: ``cnn_classifier``
(:mod:`glass_assets.liquid_glass.cnn_classifier`), ``grad_cam_scores``
(:mod:`glass_assets.liquid_glass.grad_cam_scores`) and ``indicator_correlations``
(:mod:`glass_assets.liquid_glass.indicator_correlations`).
"""

import time
from collections.abc import Mapping

import numpy as np
import polars as pl
from dagster import (
    AssetExecutionContext,
    MaterializeResult,
    MetadataValue,
)

from glass_assets.checks import evaluate_before_commit
from glass_assets.graph import AssetTemplate, Upstream
from glass_assets.liquid_glass.checks import DESCRIPTOR_CHECKS
from glass_assets.partitions import parse_partition
from glass_assets.resources import StudySettings, WarehouseResource
from glass_assets.tables import QUENCHED, configurations
from glass_assets.versioning import DESCRIPTORS_CODE_VERSION
from glass_assets.warehouse import WarehouseError, ensemble_key
from glass_core.models.configuration import Configuration
from glass_core.models.systems import ModelSystem, get_system
from glass_core.structure.indicators import structural_indicators

#: the ensemble the study reads and writes (its Grad-CAM and correlation rows too)
ENSEMBLE = QUENCHED


def descriptor_table(
    configs: Mapping[int, Configuration], key: Mapping[str, object], system: ModelSystem, xi: float
) -> pl.DataFrame:
    """The ``descriptors`` rows of ``configs`` (one ensemble partition ``key``): Υ, Θ and their coarse-grained
    normalised fields at length ``xi``, per particle."""
    frames = []
    for sample, config in configs.items():
        fields = structural_indicators(config, system, xi)
        n = config.n_particles
        frames.append(
            pl.DataFrame(
                {
                    **{k: [v] * n for k, v in key.items()},
                    "sample": [sample] * n,
                    "particle": np.arange(n, dtype=np.int32),
                    "voronoi_area": fields.voronoi_area,
                    "tong_tanaka": fields.tong_tanaka,
                    "voronoi_area_cg": fields.voronoi_area_cg,
                    "one_minus_theta_cg": fields.one_minus_theta_cg,
                }
            )
        )
    return pl.concat(frames)


def structural_descriptors(
    context: AssetExecutionContext, study: StudySettings, warehouse: WarehouseResource
) -> MaterializeResult:
    """Per-particle Voronoi area Υ and Tong–Tanaka Θ of the partition's quenched configurations, raw and
    coarse-grained, normalised per configuration."""
    system_name, temperature = parse_partition(context.partition_key)
    system = get_system(system_name)
    store = warehouse.get()
    key = ensemble_key(system_name, temperature, ENSEMBLE)
    configs = configurations(store.read_partition("samples", key), store.read_partition("particles", key))
    if not configs:
        raise WarehouseError(f"no quenched ensemble for {system_name} at T={temperature}: materialize it first")
    xi = study.load().coarse_graining_length
    started = time.perf_counter()
    table = descriptor_table(configs, key, system, xi)
    seconds = time.perf_counter() - started
    box_areas = {sample: config.area for sample, config in configs.items()}
    checks = evaluate_before_commit(
        DESCRIPTOR_CHECKS,
        context,
        rejected={"descriptors": table},
        quarantine_root=study.quarantine_root(),
        descriptors=table,
        box_areas=box_areas,
    )
    written = store.replace_partition(key, {"descriptors": table})
    total_area = table.group_by("sample").agg(pl.col("voronoi_area").sum()).sort("sample")
    area_error = [abs(a / box_areas[s] - 1) for s, a in total_area.iter_rows()]
    return MaterializeResult(
        check_results=checks,
        metadata={
            "n_configurations": len(configs),
            "rows_written": MetadataValue.json(written),
            "seconds_per_configuration": seconds / len(configs),
            "max_relative_area_sum_error": float(max(area_error)),
            "mean_voronoi_area": float(table["voronoi_area"].mean()),
            "mean_tong_tanaka": float(table["tong_tanaka"].mean()),
            "coarse_graining_length": xi,
        },
    )


STRUCTURAL_DESCRIPTORS = AssetTemplate(
    body=structural_descriptors,
    profile_settings=("descriptors.coarse_graining_length",),
    partitioned_by="quench",
    upstream=(Upstream("quenched_ensembles"),),
    checks=DESCRIPTOR_CHECKS,
    kinds=frozenset({"freud", "duckdb"}),
    group_name="liquid_glass",
    code_version=DESCRIPTORS_CODE_VERSION,
)
