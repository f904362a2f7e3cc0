"""The propensity-learning graph [J] on a tiny ternary campaign: descriptors, state-point labels, GlassMLP and
tGlassMLP in MLflow, and predictions at a temperature without MD labels."""

import json

import numpy as np
import pytest
from dagster import DagsterInstance, MultiPartitionKey

from glass_assets.dynamics.assets import PROPENSITY_LABELS
from glass_assets.equilibria.assets import INHERENT_STRUCTURES, SWAP_MC_EQUILIBRIA
from glass_assets.graph import materialize_templates
from glass_assets.propensity_learning.assets import MLP_DESCRIPTORS, STATE_POINT_LABELS
from glass_assets.propensity_learning.models import GLASSMLP_MODELS, TGLASSMLP_MODEL
from glass_assets.propensity_learning.predictions import PROPENSITY_PREDICTIONS
from glass_assets.propensity_registry import ChampionMissingError
from glass_assets.warehouse import Warehouse

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

    def run(assets, partition):
        result = materialize_templates(assets, instance=instance, resources=resources, partition_key=partition)
        assert result.success
        return result

    for t in (LABELLED, UNLABELLED):
        run([SWAP_MC_EQUILIBRIA, INHERENT_STRUCTURES], _key(t))
        run([MLP_DESCRIPTORS], _key(t))
    with pytest.raises(ChampionMissingError, match="no champion of tglassmlp_ka2d_ternary"):
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
    best = scores.filter(scores["predictor"].str.starts_with("best_descriptor") & (scores["subset"] == "all"))
    assert best.select("temperature", "target_cb").unique().height == summary.height  # one baseline per state point

    client = resources["mlflow_tracking"].activate()
    for name in ("glassmlp_ka2d_ternary", "tglassmlp_ka2d_ternary"):
        version = client.get_model_version_by_alias(name, "champion")
        assert json.loads(version.tags["data.partitions"]) == ["ka2d_ternary|0.5", "ka2d_ternary|1.0"]
        assert version.tags["dagster_run_id"] and version.tags["data.data_sha256"]
        run_data = client.get_run(version.run_id).data
        assert "validation_pearson_mean" in run_data.metrics
        assert any(k.startswith("test_pearson_T1_cb") for k in run_data.metrics)

    predicted = run([PROPENSITY_PREDICTIONS], _key(UNLABELLED))
    rows = store.query("SELECT * FROM propensity_predictions WHERE temperature = 0.5")
    reached = store.query("SELECT target_cb FROM state_points")["target_cb"].to_list()
    assert rows.height == 4 * 64 * 2 and np.isfinite(rows["predicted"].to_numpy()).all()
    assert (rows["spread"] >= 0).all()
    by_point = store.query("SELECT * FROM prediction_state_points WHERE temperature = 0.5")
    assert by_point.height == 2 and by_point["md_pearson"].is_null().all()  # no MD at T = 0.5
    assert {c.check_name for c in predicted.get_asset_check_evaluations()} == {
        "predictions_finite",
        "predictions_reach_requested_state_point",
    }
    assert reached  # at least one MD state point was reached by the tiny run
