"""The propensity-learning graph [J] on a tiny ternary campaign: descriptors, state-point labels, GlassMLP and
tGlassMLP in MLflow, and predictions at a temperature without MD labels."""

import json
from pathlib import Path

import mlflow
import numpy as np
import pytest
from dagster import DagsterInstance, Failure, MultiPartitionKey

from glass_assets.dynamics.assets import PROPENSITY_LABELS
from glass_assets.equilibria.assets import INHERENT_STRUCTURES, SWAP_MC_EQUILIBRIA
from glass_assets.graph import materialize_templates
from glass_assets.propensity_learning.assets import MLP_DESCRIPTORS, STATE_POINT_LABELS
from glass_assets.propensity_learning.glassmlp_models import GLASSMLP_MODELS
from glass_assets.propensity_learning.predictions import PROPENSITY_PREDICTIONS
from glass_assets.propensity_learning.tglassmlp_model import TGLASSMLP_MODEL
from glass_assets.registry.propensity_runs import STATE_POINT_EXPERIMENT, STATE_POINT_METRICS, TRAINING_METRICS
from glass_assets.warehouse import Warehouse
from glass_core.models.systems import get_system

pytestmark = [pytest.mark.lammps, pytest.mark.slow]

LABELLED, UNLABELLED = "1.0", "0.5"


def _key(temperature: str) -> MultiPartitionKey:
    return MultiPartitionKey({"system": "ka2d_ternary", "temperature": temperature})


@pytest.fixture
def learning(tiny_learning_resources, tmp_path, monkeypatch):
    campaign = tmp_path / "campaign.yaml"
    campaign.write_text(
        "systems:\n  ka2d_ternary:\n"
        f"    swap_mc: [{LABELLED}, {UNLABELLED}]\n    propensity: [{LABELLED}]\n    propensity_learning: true\n"
    )
    monkeypatch.setenv("GLASS_CAMPAIGN", str(campaign))
    resources = dict(tiny_learning_resources)
    instance = DagsterInstance.ephemeral()
    return instance, resources


def test_the_propensity_learning_graph(learning):
    instance, resources = learning
    store = Warehouse(resources["warehouse"].path)

    materialized = set()

    def run(assets, partition):
        result = materialize_templates(assets, instance=instance, resources=resources, partition_key=partition)
        assert result.success
        for event in result.get_asset_materialization_events():
            materialized.add((event.asset_key.to_user_string(), event.partition))
            assert event.materialization.metadata["compute_wall_s"].value > 0  # accounted in the UI too
        return result

    for t in (LABELLED, UNLABELLED):
        run([SWAP_MC_EQUILIBRIA, INHERENT_STRUCTURES], _key(t))
        run([MLP_DESCRIPTORS], _key(t))
    with pytest.raises(Failure, match="ChampionMissingError: the registry has no champion of tglassmlp_ka2d_ternary"):
        materialize_templates(
            [PROPENSITY_PREDICTIONS], instance=instance, resources=resources, partition_key=_key(UNLABELLED)
        )
    run([PROPENSITY_LABELS], _key(LABELLED))
    points = run([STATE_POINT_LABELS], _key(LABELLED))
    assert all(c.passed for c in points.get_asset_check_evaluations() if c.check_name != "every_target_reached")

    names = store.query("SELECT * FROM mlp_feature_names WHERE temperature = 1.0 ORDER BY position")
    assert names.height == 4 * 4 * 3 and names["name"][0] == "DEN_A_L0"
    descriptors = store.query("SELECT * FROM mlp_descriptors WHERE temperature = 0.5")
    assert descriptors.height == 4 * 64 and len(descriptors["features"][0]) == names.height
    summary = store.query("SELECT * FROM state_points")
    assert summary.height >= 1 and (summary["mean_bond_breaking"] - summary["target_cb"]).abs().max() < 0.02
    assert summary["ceiling"].drop_nulls().is_between(0, 1).all()

    run([GLASSMLP_MODELS, TGLASSMLP_MODEL], "ka2d_ternary")
    scores = store.query("SELECT * FROM mlp_scores")
    assert {"glassmlp", "tglassmlp"} <= set(scores["predictor"].to_list())
    assert scores.filter(scores["predictor"].str.starts_with("best_descriptor")).height > 0
    assert set(scores["split"].to_list()) >= {"validation", "test"}
    assert not scores["pearson"].drop_nulls().is_nan().any() and not scores["stderr"].drop_nulls().is_nan().any()
    assert set(scores["subset"].to_list()) == {"A"}  # [J]: trained and scored on type A (the profile's default)
    best = scores.filter(scores["predictor"].str.starts_with("best_descriptor"))
    assert best.select("temperature", "target_cb").unique().height == summary.height  # one baseline per state point

    client = resources["mlflow_tracking"].activate()
    for name in ("glassmlp_ka2d_ternary", "tglassmlp_ka2d_ternary"):
        version = client.get_model_version_by_alias(name, "champion")
        # [J]'s distillation: the temperature without MD (0.5) is neither trained on nor selected on
        assert json.loads(version.tags["data.partitions"]) == ["ka2d_ternary|1.0"]
        assert version.tags["dagster_run_id"] and version.tags["data.data_sha256"]
        run_data = client.get_run(version.run_id).data
        # a training run has only metrics both kinds share (the compare view has no row one kind lacks)
        assert set(run_data.metrics) == set(TRAINING_METRICS) | {"train_loss", "validation_loss"}
        assert run_data.params["particle_types"] == "A" and run_data.params["model_kind"] in name
        assert run_data.params["device"] == "cpu"  # device auto on a machine without a GPU
        assert int(run_data.params["n_descriptors_used"]) < 4 * 4 * 3  # the constant L = 0 columns dropped
        # one run per state point, the same metric names for both kinds, tagged with its training run
        state_points = client.search_runs(
            [client.get_experiment_by_name(STATE_POINT_EXPERIMENT).experiment_id],
            f"tags.training_run_id = '{version.run_id}'",
        )
        assert state_points and all(r.data.params["temperature"] == "1.0" for r in state_points)
        assert all(set(r.data.metrics) <= set(STATE_POINT_METRICS) for r in state_points)
        assert all("test_pearson" in r.data.metrics for r in state_points)
    tglass_run = client.get_model_version_by_alias("tglassmlp_ka2d_ternary", "champion").run_id
    attention = json.loads(
        Path(mlflow.artifacts.download_artifacts(run_id=tglass_run, artifact_path="attention_by_state_point.json"))
        .read_text()
    )
    assert 0.5 in [row[attention["columns"].index("temperature")] for row in attention["data"]]  # T without MD

    predicted = run([PROPENSITY_PREDICTIONS], _key(UNLABELLED))
    rows = store.query("SELECT * FROM propensity_predictions WHERE temperature = 0.5")
    reached = store.query("SELECT target_cb FROM state_points")["target_cb"].to_list()
    n_a = int(get_system("ka2d_ternary").type_counts(64)[0])
    assert rows.height == 4 * n_a * 2 and set(rows["type"].to_list()) == {0}  # type A only
    assert np.isfinite(rows["predicted"].to_numpy()).all() and (rows["spread"] >= 0).all()
    members = np.stack(rows["members"].to_list())
    np.testing.assert_allclose(members.mean(axis=1), rows["predicted"].to_numpy(), rtol=1e-5, atol=1e-6)
    by_point = store.query("SELECT * FROM prediction_state_points WHERE temperature = 0.5")
    assert by_point.height == 2 and by_point["md_pearson"].is_null().all()  # no MD at T = 0.5
    assert (by_point["extrapolation_spans"] == 1.0).all()  # 1/0.5 − 1/1.0 = 1 in units of 1/T_train = 1
    assert all(len(m) == members.shape[1] for m in by_point["member_state_input_cb"].to_list())
    assert {c.check_name for c in predicted.get_asset_check_evaluations()} == {
        "predictions_finite",
        "predictions_reach_requested_state_point",
        "state_input_within_training_range",
        "warehouse_holds_recorded_rows",
    }
    assert reached  # at least one MD state point was reached by the tiny run

    # compute accounting: a row per materialized partition; the trainings ran as launcher tasks, one per network set
    usage = store.query("SELECT * FROM compute_usage")
    steps = usage.filter(usage["component"] == "step")
    assert set(zip(steps["asset"].to_list(), steps["partition_key"].to_list(), strict=True)) == materialized
    training = usage.filter(usage["component"] == "training").sort("asset")
    assert training["asset"].to_list() == ["ka2d_ternary/glassmlp_models", "ka2d_ternary/tglassmlp_model"]
    assert training["n_items"].to_list() == [summary.height, 1]  # one GlassMLP per state point, one tGlassMLP
    assert (training["source"] == "worker").all() and (training["device"] == "cpu").all()
    tasks = usage.filter(usage["component"] != "step")
    assert (tasks["cpu_s"] > 0).all() and (tasks["peak_rss_mb"] > 0).all()
    # CPU seconds cannot exceed wall × allocated cores (a few % for clock granularity)
    assert (tasks["cpu_s"] <= 1.05 * tasks["wall_s"] * tasks["cpus"] + 0.05).all()
    assert {"swap_mc", "minimise", "isoconfigurational", "training"} <= set(tasks["component"].to_list())
