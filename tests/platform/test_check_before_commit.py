"""Check before commit: a failed blocking check publishes nothing, quarantines the rows and fails the run.

The physics checks are tested on crafted data (a square lattice whose Voronoi cells are its lattice cells, a
corrupted area, out-of-range coefficients); the machinery is tested by materializing real assets whose rows fail a
real check (a corrupted Voronoi area) or a check replaced by one that always fails (LAMMPS quenches, CNN).
"""

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from dagster import DagsterInstance, MultiPartitionKey
from mlflow import MlflowClient

import glass_assets.liquid_glass.assets as liquid_glass_assets
from glass_assets.checks import BlockingCheckFailed, Check, CheckOutcome, quarantine_folder, write_quarantine
from glass_assets.ensembles.assets import QUENCHED_ENSEMBLES
from glass_assets.ensembles.checks import ENSEMBLE_CHECKS
from glass_assets.graph import materialize_templates
from glass_assets.launchers import LocalProcessLauncher
from glass_assets.liquid_glass.assets import STRUCTURAL_DESCRIPTORS
from glass_assets.liquid_glass.checks import (
    CNN_CHECKS,
    both_classes_in_every_split,
    coarse_grained_fields_normalised,
    correlations_are_coefficients,
    gamma_cg_normalised,
    tong_tanaka_in_range,
    voronoi_areas_positive,
    voronoi_sum_rule,
)
from glass_assets.liquid_glass.cnn_classifier import CNN_CLASSIFIER
from glass_assets.registry.tracking import model_name
from glass_assets.tables import configurations, particle_rows, sample_row
from glass_assets.warehouse import Warehouse, ensemble_key
from glass_core.learning.cnn import GLASS, LIQUID
from glass_core.models.configuration import Configuration
from glass_core.models.systems import get_system
from glass_core.structure.indicators import structural_indicators
from glass_core.structure.voronoi import voronoi_cells
from tests.helpers.configurations import gaussian_jittered_lattice
from tests.helpers.studies import tiny_study


def _never(**_: object) -> CheckOutcome:
    return CheckOutcome(passed=False, description="forced failure for the test", metadata={"reason": "test"})


def square_lattice(n_side: int, a: float) -> Configuration:
    """n_side² particles on a square lattice of spacing a filling a periodic box: every Voronoi cell is a²."""
    grid = (np.stack(np.meshgrid(np.arange(n_side), np.arange(n_side)), -1).reshape(-1, 2) + 0.5) * a
    return Configuration(grid, np.zeros(n_side * n_side, dtype=int), (n_side * a, n_side * a))


def descriptor_table(configs: dict[int, Configuration], system_name: str = "abm") -> pl.DataFrame:
    system = get_system(system_name)
    rows = []
    for sample, config in configs.items():
        fields = structural_indicators(config, system, 3.0)
        n = config.n_particles
        rows.append(
            pl.DataFrame(
                {
                    "sample": [sample] * n,
                    "particle": np.arange(n),
                    "voronoi_area": fields.voronoi_area,
                    "tong_tanaka": fields.tong_tanaka,
                    "voronoi_area_cg": fields.voronoi_area_cg,
                    "one_minus_theta_cg": fields.one_minus_theta_cg,
                }
            )
        )
    return pl.concat(rows)


# ------------------------------------------------------------------------------------------ physics on crafted data
def test_voronoi_sum_rule_on_a_square_lattice_and_a_corrupted_area():
    lattice = square_lattice(6, 1.1)
    cells = voronoi_cells(lattice)
    np.testing.assert_allclose(cells.areas, 1.1**2, rtol=1e-6)  # each cell is the lattice cell (freud: float32)
    table = pl.DataFrame({"sample": [0] * 36 + [1] * 36, "voronoi_area": np.concatenate([cells.areas] * 2)})
    areas = {0: lattice.area, 1: lattice.area}
    assert voronoi_sum_rule(table, areas).passed
    assert voronoi_areas_positive(table).passed

    corrupted = table.with_columns(
        pl.when((pl.col("sample") == 1) & (pl.int_range(pl.len()) == 40))
        .then(pl.col("voronoi_area") * (1 + 1e-4))
        .otherwise(pl.col("voronoi_area"))
        .alias("voronoi_area")
    )
    outcome = voronoi_sum_rule(corrupted, areas)
    assert not outcome.passed and outcome.metadata["worst_sample"] == 1
    assert "sample(s) [1]" in outcome.description
    assert outcome.metadata["max_relative_error"] == pytest.approx(1e-4 * 1.21 / lattice.area, rel=0.05)
    negative = table.with_columns(
        pl.when(pl.int_range(pl.len()) == 3).then(-1.0).otherwise(pl.col("voronoi_area")).alias("voronoi_area")
    )
    assert not voronoi_areas_positive(negative).passed


def test_descriptor_checks_pass_on_real_indicators_and_catch_bad_fields():
    rng = np.random.default_rng(3)
    system = get_system("abm")
    configs = {k: gaussian_jittered_lattice(system, 8, rng) for k in range(2)}
    table = descriptor_table(configs)
    assert voronoi_sum_rule(table, {k: c.area for k, c in configs.items()}).passed
    assert tong_tanaka_in_range(table).passed and coarse_grained_fields_normalised(table).passed
    assert not tong_tanaka_in_range(table.with_columns(pl.lit(float("nan")).alias("tong_tanaka"))).passed
    assert not tong_tanaka_in_range(table.with_columns(pl.lit(4.0).alias("tong_tanaka"))).passed
    assert not coarse_grained_fields_normalised(table.with_columns(pl.col("voronoi_area_cg") * 1.5)).passed


def test_model_and_summary_checks_on_crafted_values():
    both = np.array([LIQUID, GLASS, GLASS])
    assert both_classes_in_every_split({"train": both, "validation": np.array([]), "test": both}).passed
    outcome = both_classes_in_every_split({"train": both, "validation": both, "test": np.array([GLASS, GLASS])})
    assert not outcome.passed and "test" in outcome.description

    gam = pl.DataFrame(
        {"temperature": [0.05] * 3, "sample": [0] * 3, "label": ["glass"] * 3, "gamma_cg": [0.0, 0.5, 1.0]}
    )
    assert gamma_cg_normalised(gam).passed
    assert gamma_cg_normalised(gam.with_columns(pl.lit(0.0).alias("gamma_cg"))).passed  # constant field → 0
    assert not gamma_cg_normalised(gam.with_columns(pl.col("gamma_cg") * 0.8)).passed  # max is not 1

    values = pl.DataFrame({"value": [0.3, -1.0, float("nan"), None]})
    assert correlations_are_coefficients(values).passed
    assert not correlations_are_coefficients(pl.DataFrame({"value": [0.3, 1.2]})).passed
    assert not correlations_are_coefficients(pl.DataFrame({"value": [float("nan")]})).passed  # nothing defined


def test_grad_cam_dynamics_checks_on_crafted_curves():
    from glass_assets.dynamics.checks import cage_clock_valid, correlation_is_a_coefficient

    curves = pl.DataFrame(
        {
            "temperature": [1.0] * 3,
            "sample": [0] * 3,
            "frame": [0, 1, 2],
            "cage_clock": [0.0, 0.2, 0.15],  # δ may dip: vibrations inside the cage
            "correlation": [float("nan"), 0.4, 0.5],  # undefined at the start (Δ = 0 everywhere)
        }
    )
    assert cage_clock_valid(curves).passed and correlation_is_a_coefficient(curves).passed
    assert not cage_clock_valid(curves.with_columns(pl.Series("cage_clock", [0.1, 0.2, 0.3]))).passed
    assert not cage_clock_valid(curves.with_columns(pl.Series("cage_clock", [0.0, -0.2, 0.3]))).passed
    assert not correlation_is_a_coefficient(curves.with_columns(pl.Series("correlation", [0.0, 1.5, 0.2]))).passed


def test_quarantine_is_written_whole_and_replaced(tmp_path):
    folder = quarantine_folder(tmp_path, "abm/quenched_ensembles", "abm|0.4")
    assert folder == tmp_path / "abm" / "quenched_ensembles" / "abm_0.4"
    write_quarantine(folder, {"samples": pl.DataFrame({"sample": [1, 2]})}, {"run": "a"})
    write_quarantine(folder, {"particles": pl.DataFrame({"x": [0.5]})}, {"run": "b"})
    assert sorted(p.name for p in folder.iterdir()) == ["checks.json", "particles.parquet"]
    assert json.loads((folder / "checks.json").read_text()) == {"run": "b"}
    assert [p.name for p in folder.parent.iterdir()] == ["abm_0.4"]  # no staging or old folder left


# ------------------------------------------------------------------------------------------ the machinery, end to end
def _store_lattice_ensemble(store: Warehouse, system_name: str, temperature: float, n: int, seed: int) -> None:
    """Crafted ``quenched`` rows: jittered lattices at the system's density (no MD needed to test descriptors)."""
    rng = np.random.default_rng(seed)
    system = get_system(system_name)
    key = ensemble_key(system_name, temperature, "quenched")
    configs = [gaussian_jittered_lattice(system, 8, rng) for _ in range(n)]
    samples = [sample_row(key, k, k, c.n_particles, c.box, -2.0 * c.n_particles) for k, c in enumerate(configs)]
    particles = pl.concat([particle_rows(key, k, c.positions, c.types) for k, c in enumerate(configs)])
    store.replace_partition(key, {"samples": pl.DataFrame(samples), "particles": particles})


def test_structural_descriptors_with_a_corrupted_area_publish_nothing(tiny_resources, monkeypatch):
    store = Warehouse(tiny_resources["warehouse"].path)
    _store_lattice_ensemble(store, "abm", 0.05, 3, seed=1)
    instance = DagsterInstance.ephemeral()
    partition = MultiPartitionKey({"system": "abm", "temperature": "0.05"})
    resources = {k: tiny_resources[k] for k in ("study", "warehouse")}
    clean = materialize_templates([STRUCTURAL_DESCRIPTORS], partition, instance, resources=resources)
    assert clean.success
    evaluations = {c.check_name: c.passed for c in clean.get_asset_check_evaluations()}
    assert evaluations == dict.fromkeys(evaluations, True) and "voronoi_sum_rule" in evaluations
    key = ensemble_key("abm", 0.05, "quenched")
    stored = store.read_partition("descriptors", key)

    real = liquid_glass_assets.structural_indicators
    calls = []

    def corrupted(config, system, xi):  # noqa: ANN001, ANN202 - the real indicators, one area off in sample 2
        fields = real(config, system, xi)
        calls.append(1)
        if len(calls) == 3:
            area = fields.voronoi_area.copy()
            area[5] *= 1.001
            fields = replace(fields, voronoi_area=area)
        return fields

    monkeypatch.setattr(liquid_glass_assets, "structural_indicators", corrupted)
    with pytest.raises(BlockingCheckFailed) as failure:
        materialize_templates([STRUCTURAL_DESCRIPTORS], instance=instance, resources=resources, partition_key=partition)
    message = failure.value.description
    assert "structural_descriptors partition abm|0.05" in message and "voronoi_sum_rule" in message
    assert "sample(s) [2]" in message and "nothing written" in message
    assert store.read_partition("descriptors", key).equals(stored)  # the clean partition is intact

    folder = tiny_study_quarantine(tiny_resources) / "abm" / "structural_descriptors" / "abm_0.05"
    assert str(folder) in message and failure.value.metadata["quarantine"].value == str(folder)
    rejected = pl.read_parquet(folder / "descriptors.parquet")
    assert rejected.height == stored.height and not rejected["voronoi_area"].equals(stored["voronoi_area"])
    report = json.loads((folder / "checks.json").read_text())
    assert {r["check"]: r["passed"] for r in report["results"]}["voronoi_sum_rule"] is False


def tiny_study_quarantine(resources: dict):  # noqa: ANN201 - a Path
    return resources["study"].quarantine_root()


def test_cnn_failing_a_blocking_check_registers_no_model(tmp_path, monkeypatch, one_torch_thread):
    from glass_assets.registry.tracking import MLflowResource
    from glass_assets.resources import WarehouseResource

    store = Warehouse(tmp_path / "w.duckdb")
    _store_lattice_ensemble(store, "abm", 2.0, 8, seed=2)
    _store_lattice_ensemble(store, "abm", 0.05, 8, seed=3)
    tracking = MLflowResource(tracking_uri=f"sqlite:///{tmp_path / 'mlflow.db'}", artifact_root=str(tmp_path / "a"))
    resources = {
        "study": tiny_study(tmp_path, "tiny_cnn"),
        "warehouse": WarehouseResource(path=str(store.path)),
        "mlflow_tracking": tracking,
        "simulation": LocalProcessLauncher(),
    }
    monkeypatch.setitem(CNN_CHECKS, "training_loss_finite", Check(_never, "forced", blocking=True))
    with pytest.raises(BlockingCheckFailed, match="cnn_classifier partition abm.*training_loss_finite.*forced failure"):
        materialize_templates([CNN_CLASSIFIER], resources=resources, partition_key="abm")
    client = MlflowClient(tracking.tracking_uri, tracking.tracking_uri)
    assert client.search_model_versions(f"name='{model_name('abm')}'") == []  # nothing registered
    runs = client.search_runs([tracking.experiment_id("liquid_vs_glass_cnn")])
    assert [r.info.status for r in runs] == ["FAILED"]


@pytest.mark.lammps
def test_quenched_ensemble_failing_a_blocking_check_keeps_the_stored_partition(tiny_resources, monkeypatch):
    instance = DagsterInstance.ephemeral()
    partition = MultiPartitionKey({"system": "kam", "temperature": "0.4"})
    assert materialize_templates(
        [QUENCHED_ENSEMBLES], instance=instance, resources=tiny_resources, partition_key=partition
    )
    store = Warehouse(tiny_resources["warehouse"].path)
    key = ensemble_key("kam", 0.4, "quenched")
    before = {t: store.read_partition(t, key) for t in ("samples", "particles", "cooling_curves")}
    assert before["samples"].height == 3

    monkeypatch.setitem(ENSEMBLE_CHECKS, "no_overlaps", Check(_never, "forced", blocking=True))
    # a new seed: different rows, so an accidental write would show
    study = tiny_resources["study"]
    monkeypatch.setattr(type(study), "load", lambda self: _with_seed(self, 99))
    result = materialize_templates(
        [QUENCHED_ENSEMBLES, STRUCTURAL_DESCRIPTORS],
        instance=instance,
        resources=tiny_resources,
        partition_key=partition,
        raise_on_error=False,
    )
    assert not result.success
    failures = [e for e in result.all_events if e.is_step_failure]
    assert len(failures) == 1 and failures[0].step_key == "kam__quenched_ensembles"
    description = failures[0].step_failure_data.user_failure_data.description
    assert "quenched_ensembles partition kam|0.4" in description and "no_overlaps: forced failure" in description
    assert not result.asset_materializations_for_node("quenched_ensembles")
    started = {e.step_key for e in result.all_events if e.event_type_value == "STEP_START"}
    assert started == {"kam__quenched_ensembles"}  # nothing downstream starts from the rejected partition
    assert not result.asset_materializations_for_node("kam__structural_descriptors")
    for table, rows in before.items():
        assert store.read_partition(table, key).equals(rows), table
    folder = study.quarantine_root() / "kam" / "quenched_ensembles" / "kam_0.4"
    rejected = configurations(*(pl.read_parquet(folder / f"{table}.parquet") for table in ("samples", "particles")))
    assert sorted(rejected) == [0, 1, 2]
    assert not np.allclose(rejected[0].positions, configurations(before["samples"], before["particles"])[0].positions)


def _with_seed(study, seed: int):  # noqa: ANN001, ANN202 - the study's profile with another base seed
    from glass_assets.profiles import load_profile

    return replace(load_profile(study.profile, Path(study.profiles_file)), base_seed=seed)
