"""The campaign through Dagster's declarative automation: partitions follow the file, stages start when their
inputs exist, the nightly tick requests what is still missing, and nothing is requested twice.

Materializations are reported without running the physics (``report_runless_asset_event``): what is under
test is which partitions the automation asks for, given what exists.
"""

import datetime

import pytest
from dagster import (
    AssetKey,
    AssetMaterialization,
    DagsterInstance,
    build_sensor_context,
    evaluate_automation_conditions,
)

from glass_assets.automation.sensors import campaign_sensor, sync_partitions
from glass_assets.campaign import load_campaign
from glass_assets.definitions import build_definitions

LIQUID_GLASS = """
systems:
  abm:
    quench: [2.0, 0.05]
    liquid_glass: true
    propensity: [1.0]
    grad_cam_dynamics: true
"""

LEARNING = """
systems:
  ka2d_ternary:
    swap_mc: [0.5, 0.4]
    propensity: [0.5]
    propensity_learning: true
    heterogeneity: true
    large_box: [0.4]
"""


class Campaign:
    """A temporary campaign file, its Definitions, an instance and the automation's cursor between ticks."""

    def __init__(self, path, body: str):
        self.path = path
        self.instance = DagsterInstance.ephemeral()
        self.cursor = None
        self.write(body)

    def write(self, body: str) -> None:
        self.path.write_text(body)
        self.campaign = load_campaign(self.path)
        self.defs = build_definitions(self.campaign)
        sync_partitions(self.instance, self.campaign)

    def tick(self, at: datetime.datetime | None = None) -> dict[str, set[str]]:
        """One automation tick: {asset key: requested partitions}."""
        result = evaluate_automation_conditions(
            defs=self.defs, instance=self.instance, cursor=self.cursor, evaluation_time=at
        )
        self.cursor = result.cursor
        graph = self.defs.resolve_asset_graph()
        return {
            key.to_user_string(): {str(p) for p in result.get_requested_partitions(key)}
            for key in graph.get_all_asset_keys()
            if result.get_num_requested(key)
        }

    def waves(self) -> list[dict[str, set[str]]]:
        """Tick, report everything requested as materialized (as its runs would), until nothing is due."""
        waves = []
        while due := self.tick():
            waves.append(due)
            for asset, partitions in due.items():
                self.done(asset, *partitions)
        return waves

    def done(self, asset: str, *partitions: str) -> None:
        for partition in partitions:
            self.instance.report_runless_asset_event(
                AssetMaterialization(AssetKey(asset.split("/")), partition=partition)
            )


@pytest.fixture
def liquid_glass(tmp_path):
    return Campaign(tmp_path / "campaign.yaml", LIQUID_GLASS)


def test_each_asset_offers_exactly_the_campaign_partitions(liquid_glass):
    graph = liquid_glass.defs.resolve_asset_graph()
    from dagster._core.definitions.partitions.context import partition_loading_context

    with partition_loading_context(dynamic_partitions_store=liquid_glass.instance):
        partitions = {
            key.to_user_string(): sorted(graph.get(key).partitions_def.get_partition_keys())
            for key in graph.get_all_asset_keys()
            if graph.get(key).partitions_def is not None
        }
    assert graph.get(AssetKey("paper_report")).partitions_def is None  # one report of the whole campaign
    assert partitions == {
        "abm/quenched_ensembles": ["abm|0.05", "abm|2.0"],
        "abm/structural_descriptors": ["abm|0.05", "abm|2.0"],
        "abm/cnn_classifier": ["abm"],
        "abm/grad_cam_scores": ["abm"],
        "abm/indicator_correlations": ["abm"],
        "abm/propensity_labels": ["abm|1.0"],
        "abm/grad_cam_dynamics": ["abm"],
    }


def test_stages_start_when_their_inputs_exist_and_glass_propensity_waits_for_the_cnn(liquid_glass):
    c = liquid_glass
    both = {"abm|2.0", "abm|0.05"}
    assert c.tick() == {"abm/quenched_ensembles": both, "abm/structural_descriptors": both}
    assert c.tick() == {}  # requested once: nothing again while nothing changed (the runs are in flight)
    c.done("abm/quenched_ensembles", "abm|2.0")
    c.done("abm/structural_descriptors", "abm|2.0")
    assert c.tick() == {}  # the CNN waits for the glasses too
    c.done("abm/quenched_ensembles", "abm|0.05")
    c.done("abm/structural_descriptors", "abm|0.05")
    # a stage and what only it feeds go together (one run, graph order); propensity follows the CNN's split
    assert c.waves() == [
        {"abm/cnn_classifier": {"abm"}, "abm/grad_cam_scores": {"abm"}, "abm/indicator_correlations": {"abm"}},
        {"abm/propensity_labels": {"abm|1.0"}},
        {"abm/grad_cam_dynamics": {"abm"}},
        {"paper_report": {"None"}},  # the report, once every summary of the campaign is there
    ]


def test_a_new_temperature_is_requested_on_the_next_tick_and_a_removed_one_disappears(liquid_glass):
    c = liquid_glass
    c.tick()
    c.done("abm/quenched_ensembles", "abm|2.0", "abm|0.05")
    c.tick()
    c.write(LIQUID_GLASS.replace("quench: [2.0, 0.05]", "quench: [2.0, 0.05, 0.3]").replace("[1.0]", "[1.5]"))
    assert c.instance.get_dynamic_partitions("abm_quench_temperature") == ["2.0", "0.05", "0.3"]
    assert c.instance.get_dynamic_partitions("abm_propensity_temperature") == ["1.5"]
    assert c.tick()["abm/quenched_ensembles"] == {"abm|0.3"}


def test_a_failed_partition_is_not_requested_again_until_the_nightly_backfill(liquid_glass):
    c = liquid_glass
    start = datetime.datetime(2026, 11, 30, 12, 0, tzinfo=datetime.UTC)
    assert c.tick(start)["abm/quenched_ensembles"] == {"abm|2.0", "abm|0.05"}
    c.done("abm/quenched_ensembles", "abm|2.0")  # abm|0.05 failed: still missing
    c.tick(start + datetime.timedelta(minutes=1))
    assert "abm/quenched_ensembles" not in c.tick(start + datetime.timedelta(hours=2))
    nightly = c.tick(start + datetime.timedelta(hours=14, minutes=1))  # 02:01 UTC: after the cron tick
    assert nightly["abm/quenched_ensembles"] == {"abm|0.05"}
    assert "abm/quenched_ensembles" not in c.tick(start + datetime.timedelta(hours=14, minutes=2))


def test_learning_and_heterogeneity_follow_their_inputs_and_refresh(tmp_path):
    c = Campaign(tmp_path / "campaign.yaml", LEARNING)
    both, cold, system = {"ka2d_ternary|0.5", "ka2d_ternary|0.4"}, {"ka2d_ternary|0.4"}, {"ka2d_ternary"}
    labelled = {"ka2d_ternary|0.5"}
    assert c.waves() == [
        {
            "ka2d_ternary/swap_mc_equilibria": both,
            "ka2d_ternary/inherent_structures": both,
            "ka2d_ternary/mlp_descriptors": both,
        },
        {
            "ka2d_ternary/propensity_labels": labelled,
            "ka2d_ternary/state_point_labels": labelled,
            "ka2d_ternary/large_box_equilibria": cold,
        },
        {"ka2d_ternary/glassmlp_models": system, "ka2d_ternary/tglassmlp_model": system},
        {
            "ka2d_ternary/propensity_predictions": both,
            "ka2d_ternary/dynamic_heterogeneity": both,
            "ka2d_ternary/four_point_structure_factor": cold,
        },
        {"ka2d_ternary/attention_lengths": system, "ka2d_ternary/heterogeneity_summary": system},
        {"paper_report": {"None"}},
    ]
    # new predictions at 0.4 (a new champion): their χ4, the attention lengths and the summary, in one run
    c.done("ka2d_ternary/propensity_predictions", "ka2d_ternary|0.4")
    assert c.waves() == [
        {
            "ka2d_ternary/dynamic_heterogeneity": cold,
            "ka2d_ternary/attention_lengths": system,
            "ka2d_ternary/heterogeneity_summary": system,
        },
        {"paper_report": {"None"}},
    ]


def test_a_bad_campaign_fails_the_sensor_tick_and_changes_nothing(tmp_path, monkeypatch):
    path = tmp_path / "campaign.yaml"
    path.write_text("systems:\n  abm:\n    quench: [2.0]\n")
    monkeypatch.setenv("GLASS_CAMPAIGN", str(path))
    with DagsterInstance.ephemeral() as instance:
        result = campaign_sensor(build_sensor_context(instance=instance))
        assert [list(r.partition_keys) for r in result.dynamic_partitions_requests] == [["2.0"]]
        instance.add_dynamic_partitions("abm_quench_temperature", ["2.0"])
        path.write_text("systems:\n  abm:\n    quench: [2.0, 400]\n")
        with pytest.raises(ValueError, match=r"campaign.yaml: abm.quench: temperature 400 is above 100"):
            campaign_sensor(build_sensor_context(instance=instance))
        assert instance.get_dynamic_partitions("abm_quench_temperature") == ["2.0"]
