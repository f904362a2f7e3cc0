"""The instance the browser tests look at: a small campaign of three systems, partly materialized, with a
propensity study whose models are in MLflow, served by ``dagster-webserver`` and ``mlflow server``.

:func:`running_stack` builds it (and stops its servers at exit); ``scripts``-style exploration can use it too. The
propensity study runs on crafted warehouse rows and the platform's own assets (:func:`build_model_study`).

The rows that would take minutes of swap MC and isoconfigurational MD are written directly: equilibria and
inherent structures of ``ka2d_ternary`` (a jittered square lattice at the system's density), physics-inspired
descriptor rows in which a few columns carry each particle's "mobility" m_i, and bond-breaking curves
C_B^i(t) = exp(−t/τ_i) with τ_i = τ_0(T) e^{0.6 m_i}. At the warm temperature every target ⟨C_B⟩ of the tiny profile
is reached within the run; at the cold one the lower target is not and the profile's distillation is off, so
``every_target_reached`` fails there (a warning), which the check pages must place at that partition. From these
rows the platform's assets run as in the campaign: ``state_point_labels`` per temperature, ``glassmlp_models`` and
``tglassmlp_model`` (trained, scored, logged to MLflow and registered), and the paper report is written.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

SYSTEM = "ka2d_ternary"
#: run temperature → τ_0: at 0.7 ⟨C_B⟩ falls below 0.97 within the run (t ≤ 3), at 0.6 only below 0.99
TAU_0 = {"0.7": 30.0, "0.6": 150.0}
N_SIDE, N_SAMPLES = 8, 10
TIMES = np.linspace(0.0, 3.0, 7)
#: descriptor columns that carry the mobility (with noise), the rest is noise
INFORMATIVE = (3, 7, 19)


@dataclass(frozen=True)
class ModelStudy:
    """What :func:`build_model_study` made: the temperature whose check fails, the MLflow runs, the report."""

    warm: str
    cold: str
    failing_check: str
    failing_partition: str  # the partition the failed check's evaluation names
    experiment_id: str  # of the state-point runs
    state_point_runs: dict[str, list[str]]  # model kind → its state-point run ids
    report: Path


def _configuration(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, float]:
    from glass_core.models.systems import get_system

    system = get_system(SYSTEM)
    n = N_SIDE * N_SIDE
    length = system.box_length(n)
    grid = (np.stack(np.meshgrid(np.arange(N_SIDE), np.arange(N_SIDE)), -1).reshape(-1, 2) + 0.5) * length / N_SIDE
    types = np.repeat(np.arange(system.n_types), system.type_counts(n))
    rng.shuffle(types)
    return np.mod(grid + rng.normal(0, 0.05, grid.shape), length), types, length


def write_crafted_rows(store: Any, lengths: tuple[float, ...]) -> None:
    """Equilibria, inherent structures, descriptors and bond-breaking curves of :data:`SYSTEM` at :data:`TAU_0`'s
    temperatures (module doc)."""
    from glass_assets.propensity_learning.tables import descriptor_rows, feature_name_rows
    from glass_assets.tables import INHERENT, SWAP_MC, particle_rows
    from glass_core.models.systems import get_system
    from glass_core.structure.physics_descriptors import DescriptorSpec

    names = DescriptorSpec(lengths=lengths).feature_names(get_system(SYSTEM).n_types)
    rng = np.random.default_rng(2024)
    for temperature, tau in TAU_0.items():
        t = float(temperature)
        samples, particles, descriptors, propensity, summary = {}, {}, [], [], []
        for ensemble in (SWAP_MC, INHERENT):
            samples[ensemble], particles[ensemble] = [], []
        for sample in range(N_SAMPLES):
            positions, types, length = _configuration(rng)
            for ensemble in (SWAP_MC, INHERENT):
                key = {"system": SYSTEM, "temperature": t, "ensemble": ensemble}
                particles[ensemble].append(particle_rows(key, sample, positions, types))
                samples[ensemble].append({**key, "sample": sample, "seed": sample, "n_particles": len(types),
                                          "box_x": length, "box_y": length, "potential_energy": -2.0 * len(types),
                                          "energy_per_particle": -2.0})
            mobility = rng.normal(0, 1, len(types))
            features = rng.normal(0, 1, (len(types), len(names)))
            for column in INFORMATIVE:
                features[:, column] = mobility + rng.normal(0, 0.3, len(types))
            descriptors.append(descriptor_rows(SYSTEM, t, sample, types, features))
            curves = np.exp(-TIMES[:, None] / (tau * np.exp(0.6 * mobility))[None, :])  # (F, N)
            halves = [np.clip(curves + rng.normal(0, 0.002, curves.shape), 0, 1) for _ in range(2)]
            for frame, time in enumerate(TIMES):
                n = len(types)
                propensity.append(pl.DataFrame({
                    "system": [SYSTEM] * n, "temperature": t, "ensemble": SWAP_MC, "source_temperature": t,
                    "sample": sample, "particle": np.arange(n, dtype=np.int32), "frame": frame, "time": float(time),
                    "crsd": 0.0, "bond_breaking": curves[frame], "n_bonds": 6,
                    "bond_breaking_half_a": halves[0][frame], "bond_breaking_half_b": halves[1][frame],
                }))
                summary.append({"system": SYSTEM, "temperature": t, "ensemble": SWAP_MC, "source_temperature": t,
                                "sample": sample, "frame": frame, "time": float(time),
                                "mean_bond_breaking": float(curves[frame].mean()),
                                "cage_clock": float(1 - curves[frame].mean()), "n_replicas": 2})
        for ensemble in (SWAP_MC, INHERENT):
            store.replace_partition(
                {"system": SYSTEM, "temperature": t, "ensemble": ensemble},
                {"samples": pl.DataFrame(samples[ensemble]), "particles": pl.concat(particles[ensemble])},
            )
        store.replace_partition(
            {"system": SYSTEM, "temperature": t},
            {"mlp_descriptors": pl.concat(descriptors), "mlp_feature_names": feature_name_rows(SYSTEM, t, names),
             "propensity": pl.concat(propensity), "propensity_summary": pl.DataFrame(summary)},
        )


def build_model_study(instance: Any, resources: dict[str, Any], report: Path) -> ModelStudy:
    """Crafted rows (:func:`write_crafted_rows`), then the platform's assets on them in ``instance``: state-point labels
    at both temperatures, GlassMLP and tGlassMLP (MLflow runs and registered models), and the paper report.

    The campaign file (``GLASS_CAMPAIGN``) must run :data:`SYSTEM` at :data:`TAU_0`'s temperatures with its
    ``propensity_learning`` stage; the partitions must exist (``sync_partitions``)."""
    import mlflow
    import torch

    from glass_assets.graph import materialize_templates
    from glass_assets.partitions import partition_key
    from glass_assets.propensity_learning.assets import STATE_POINT_LABELS
    from glass_assets.propensity_learning.glassmlp_models import GLASSMLP_MODELS
    from glass_assets.propensity_learning.tglassmlp_model import TGLASSMLP_MODEL
    from glass_assets.registry.propensity_runs import STATE_POINT_EXPERIMENT
    from glass_assets.report.build import write_report

    store = resources["warehouse"].get()
    write_crafted_rows(store, tuple(resources["study"].load().propensity_learning.descriptor_lengths))
    warm, cold = sorted(TAU_0, key=lambda t: TAU_0[t])
    for temperature in (warm, cold):
        labelled = materialize_templates(
            [STATE_POINT_LABELS], partition_key(SYSTEM, temperature), instance, resources=resources
        )
        assert labelled.success
    failed = [c for c in labelled.get_asset_check_evaluations() if not c.passed]
    assert [c.check_name for c in failed] == ["every_target_reached"], failed
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny networks: one thread is faster on two busy cores
    try:
        result = materialize_templates([GLASSMLP_MODELS, TGLASSMLP_MODEL], SYSTEM, instance, resources=resources)
    finally:
        torch.set_num_threads(threads)
    assert result.success
    tracking = resources["mlflow_tracking"]
    client = tracking.activate()
    experiment_id = client.get_experiment_by_name(STATE_POINT_EXPERIMENT).experiment_id
    runs: dict[str, list[str]] = {}
    for run in client.search_runs([experiment_id], "tags.level = 'state_point'"):
        runs.setdefault(run.data.params["model_kind"], []).append(run.info.run_id)
    mlflow.end_run()  # nothing stays active in the test process
    write_report(report, store, tracking, [SYSTEM])
    return ModelStudy(warm, cold, failed[0].check_name, str(failed[0].partition), experiment_id, runs, report)


# ---- the whole stack --------------------------------------------------------------------------------------------

QUENCH_SYSTEM = "abm"
MATERIALIZED_T, MISSING_T = "2.0", "0.05"  # abm's T_L and T_G, which its liquid_glass stage needs
#: not the default "0 2 * * *", so the Automation page can only show it if it comes from this file
BACKFILL_SCHEDULE = "30 3 * * *"
#: abm and kam both quench (two ``quenched_ensembles`` nodes in the lineage), ka2d_ternary learns propensities
CAMPAIGN = (
    f'backfill_schedule: "{BACKFILL_SCHEDULE}"\n'
    "systems:\n"
    f"  {QUENCH_SYSTEM}:\n    quench: [{MATERIALIZED_T}, {MISSING_T}]\n    liquid_glass: true\n"
    "  kam:\n    quench: [0.8, 0.05]\n    liquid_glass: true\n"
    f"  {SYSTEM}:\n    swap_mc: [{', '.join(TAU_0)}]\n    propensity: [{', '.join(TAU_0)}]\n"
    "    propensity_learning: true\n"
)

LAUNCH_BACKFILL = """
mutation($params: LaunchBackfillParams!) { launchPartitionBackfill(backfillParams: $params) {
  __typename
  ... on LaunchBackfillSuccess { backfillId }
  ... on PythonError { message }
  ... on UnauthorizedError { message }
  ... on PartitionSetNotFoundError { message }
  ... on InvalidSubsetError { message }
} }
"""


@dataclass
class Stack:
    dagster_url: str
    mlflow_url: str
    defs: Any  # Definitions the webserver builds from the temporary campaign
    campaign: Any  # that Campaign
    instance: Any  # DagsterInstance on the webserver's DAGSTER_HOME
    quench_key: Any  # AssetKey abm/quenched_ensembles
    materialized: str  # its partition key at MATERIALIZED_T
    missing: str  # its partition key at MISSING_T
    backfill_id: str
    model_name: str
    model_version: str
    models: ModelStudy


@contextmanager
def running_stack(base: Path) -> Iterator[Stack]:
    """Build the instance under ``base`` and serve it; the servers' process groups are killed at exit.

    A temporary DAGSTER_HOME with the platform's ``dagster.yaml``; the campaign :data:`CAMPAIGN` (partitions added as
    ``campaign_sensor`` would); ``abm|2.0`` of ``abm/quenched_ensembles`` quenched for real (LAMMPS, tiny profile);
    the propensity study (:func:`build_model_study`) logged to the SQLite store that ``mlflow server`` serves; a
    registered CNN made ``champion`` by the platform's rule; a backfill of ``abm|0.05`` launched through the
    webserver's GraphQL API. The webserver gets the same campaign, warehouse, tracking store and MLflow UI address."""
    from dagster import AssetKey, DagsterInstance

    from glass_assets.automation.sensors import sync_partitions
    from glass_assets.campaign import load_campaign
    from glass_assets.definitions import build_definitions
    from glass_assets.ensembles.assets import QUENCHED_ENSEMBLES
    from glass_assets.graph import materialize_templates
    from glass_assets.partitions import partition_key
    from glass_assets.registry.tracking import MLflowResource, model_name
    from glass_assets.resources import LocalProcessLauncher, StudySettings, WarehouseResource
    from tests.helpers.campaigns import environment, profiles_file
    from tests.helpers.ui_stack import (
        Service,
        copy_instance_config,
        free_port,
        graphql,
        register_champion,
        start_dagster_webserver,
        start_mlflow_server,
        wait_for_dagster,
    )

    home = base / "dagster_home"
    copy_instance_config(home)
    campaign_file = base / "campaign.yaml"
    campaign_file.write_text(CAMPAIGN)
    campaign = load_campaign(campaign_file)
    # what the webserver builds from GLASS_CAMPAIGN at import (this process's definitions follow campaign.yaml)
    defs = build_definitions(campaign)
    registry_uri, registry_artifacts = f"sqlite:///{base / 'registry.db'}", base / "registry_artifacts"
    registry_artifacts.mkdir()
    mlflow_port = free_port()
    mlflow_url = f"http://127.0.0.1:{mlflow_port}"
    settings = {
        "DAGSTER_HOME": str(home),
        "GLASS_CAMPAIGN": str(campaign_file),
        "GLASS_WAREHOUSE": str(base / "warehouse.duckdb"),
        "GLASS_SCRATCH": str(base / "scratch"),
        "MLFLOW_TRACKING_URI": registry_uri,
        "GLASS_MLFLOW_UI_URL": mlflow_url,
    }
    services: list[Service] = []
    instance = None
    try:
        # the instance's storage is created here, before the webserver opens it: two processes creating the same
        # sqlite schema at once race on its migration table (seen on a loaded machine)
        instance = DagsterInstance.from_config(str(home))
        # the webserver loads the code location while the instance gets its data
        dagster = start_dagster_webserver({**os.environ, **settings}, base)
        services.append(dagster)
        name = model_name(QUENCH_SYSTEM)
        version = register_champion(registry_uri, registry_artifacts, name)
        mlflow = start_mlflow_server(registry_uri, registry_artifacts, base, port=mlflow_port)
        services.append(mlflow)

        changes = sync_partitions(instance, campaign)  # what campaign_sensor's tick does
        assert changes, "the campaign added no partition"
        key = QUENCHED_ENSEMBLES.key(QUENCH_SYSTEM)
        assert key in defs.resolve_asset_graph().get_all_asset_keys(), key
        assert key == AssetKey([QUENCH_SYSTEM, "quenched_ensembles"])
        materialized = str(partition_key(QUENCH_SYSTEM, MATERIALIZED_T))
        missing = str(partition_key(QUENCH_SYSTEM, MISSING_T))
        resources = {
            # distillation off: the cold temperature's unreached target then stays a warning for the check pages
            "study": StudySettings(
                profile="tiny",
                profiles_file=str(
                    profiles_file(base / "profiles.yaml", {"tiny": {"propensity_learning.distillation": "none"}})
                ),
                scratch_dir=str(base / "scratch"),
            ),
            "simulation": LocalProcessLauncher(),
            "warehouse": WarehouseResource(path=settings["GLASS_WAREHOUSE"]),
            "mlflow_tracking": MLflowResource(
                tracking_uri=registry_uri, artifact_root=str(registry_artifacts), ui_url=mlflow_url
            ),
        }
        result = materialize_templates([QUENCHED_ENSEMBLES], materialized, instance, resources=resources)
        assert result.success
        with environment({"GLASS_CAMPAIGN": str(campaign_file)}):
            models = build_model_study(instance, resources, base / "reports" / "paper_report.html")

        wait_for_dagster(dagster)
        mlflow.wait_for(f"{mlflow.url}/health", timeout=120)
        launched = graphql(
            dagster.url,
            LAUNCH_BACKFILL,
            {
                "params": {
                    "partitionNames": [missing],
                    "assetSelection": [{"path": list(key.path)}],
                    "title": "browser test backfill",
                }
            },
        )["launchPartitionBackfill"]
        assert launched["__typename"] == "LaunchBackfillSuccess", launched
        yield Stack(
            dagster.url, mlflow.url, defs, campaign, instance, key, materialized, missing, launched["backfillId"],
            name, version, models,
        )
    finally:
        for service in reversed(services):
            service.stop()
        if instance is not None:
            instance.dispose()
