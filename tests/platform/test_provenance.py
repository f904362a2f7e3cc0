"""The profile is part of every row set's provenance: bad profiles stop every entry point, a changed setting marks
exactly the assets that depend on it stale, rows of different settings are never combined silently, and the
warehouse audit finds rows that went missing and has them recomputed, identical with the same seeds."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from dagster import AssetKey, DagsterInstance, build_sensor_context, evaluate_automation_conditions
from dagster._core.asset_graph_view.asset_graph_view import AssetGraphView, TemporalContext
from dagster._core.definitions.data_version import CachingStaleStatusResolver, StaleStatus  # what the UI shows
from dagster._time import get_current_datetime

from glass_assets.automation.audit import warehouse_audit
from glass_assets.definitions import build_definitions
from glass_assets.profiles import ProfileError, configured_profile, load_profile
from glass_assets.provenance import MixedSettingsError
from glass_assets.report.build import write_report
from glass_assets.resources import default_resources
from tests.helpers.campaigns import TemporaryCampaign, campaign_environment, environment, profiles_file
from tests.helpers.paths import ROOT, TINY_PROFILES

QUENCH = AssetKey(["abm", "quenched_ensembles"])
DESCRIPTORS = AssetKey(["abm", "structural_descriptors"])
CNN = AssetKey(["abm", "cnn_classifier"])
ABM_QUENCH = "systems:\n  abm:\n    quench: [2.0, 0.05]\n"
LIQUID_GLASS = "systems:\n  abm:\n    quench: [2.0, 0.05]\n    liquid_glass: true\n"
WIDE = """
systems:
  abm:
    quench: [2.0, 0.05]
    liquid_glass: true
    propensity: [1.0]
    grad_cam_dynamics: true
  kam:
    quench: [0.8]
  ka2d_ternary:
    swap_mc: [0.5, 0.4]
    propensity: [0.5]
    propensity_learning: true
    heterogeneity: true
    large_box: [0.4]
"""


# ------------------------------------------------------------------------------------------ bad profiles
@pytest.mark.parametrize(
    ("edits", "key"),
    [
        ({"quench.n_samples": -3}, "quench.n_samples"),  # a negative count
        ({"swap_mc.n_chains": 0}, "swap_mc.n_chains"),
        ({"quench.protocol.timestep": 0.0}, "quench.protocol.timestep"),  # a zero time step
        ({"quench.protocol.cooling": 1.0}, "cooling"),  # an unknown key
        ({"propensity.ensambel": "nvt"}, "ensambel"),
        ({"propensity.max_time": 0.001}, "propensity.max_time"),  # a window shorter than one frame (one MD step)
        ({"propensity.max_time": {"kam": {"0.37": 0.001, "default": 3.0}}}, "propensity.max_time.kam.0.37"),
        ({"propensity.n_samples": {"abn": 2}}, "propensity.n_samples"),  # a system the platform lacks
    ],
)
def test_a_bad_profile_fails_at_load_naming_file_profile_and_key(tmp_path, edits, key):
    path = profiles_file(tmp_path / "profiles.yaml", {"bad": edits})
    with pytest.raises(ProfileError) as error:
        load_profile("bad", path)
    message = str(error.value)
    assert str(path) in message and "'bad'" in message and key in message, message


def test_an_unknown_profile_or_a_bad_profiles_file_stops_definitions_and_every_entry_point(tmp_path, monkeypatch):
    monkeypatch.setenv("GLASS_PROFILES_FILE", str(TINY_PROFILES))
    monkeypatch.setenv("GLASS_PROFILE", "nonexistent")
    with pytest.raises(ProfileError, match=rf"unknown profile 'nonexistent' in {TINY_PROFILES}"):
        configured_profile()
    from glass_assets.campaign import load_campaign

    campaign = load_campaign(ROOT / "campaign.yaml")
    with pytest.raises(ProfileError, match="unknown profile 'nonexistent'"):
        build_definitions(campaign)
    # another profile of the file is broken: the file fails validation even for a good profile name
    broken = profiles_file(tmp_path / "broken.yaml", {"other": {"swap_mc.n_chains": -1}})
    monkeypatch.setenv("GLASS_PROFILES_FILE", str(broken))
    monkeypatch.setenv("GLASS_PROFILE", "tiny")
    with pytest.raises(ProfileError, match=r"profile 'other': swap_mc.n_chains = -1 must be ≥ 1"):
        build_definitions(campaign)
    from glass_assets.report.__main__ import main as report_main

    with pytest.raises(ProfileError, match=str(broken)):
        report_main(["--out", str(tmp_path / "r.html"), "--warehouse", str(tmp_path / "w.duckdb")])
    assert not (tmp_path / "r.html").exists() and not (tmp_path / "w.duckdb").exists()

    # the demo runner: exit status 2, the file and the profile named, nothing requested or written
    home = tmp_path / "home"
    home.mkdir()
    env = {**campaign_environment(tmp_path / "demo", ABM_QUENCH), "DAGSTER_HOME": str(home),
           "GLASS_PROFILES_FILE": str(TINY_PROFILES), "GLASS_PROFILE": "nonexistent"}
    done = subprocess.run([sys.executable, "-m", "glass_assets.demo"], cwd=ROOT, env={**os.environ, **env},
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "unknown profile 'nonexistent'" in done.stderr and str(TINY_PROFILES) in done.stderr
    assert "materializing" not in done.stdout and not list(home.iterdir())
    assert not (tmp_path / "demo" / "warehouse.duckdb").exists()


# ------------------------------------------------------------------------------------------ staleness
def _code_versions(tmp_path: Path, changes: dict | None) -> dict[str, str]:
    path = profiles_file(tmp_path / f"p{len(list(tmp_path.glob('p*.yaml')))}.yaml", {"tiny": changes or {}})
    env = campaign_environment(tmp_path / "wide", WIDE, profiles=path)
    with environment(env):
        from glass_assets.campaign import load_campaign

        defs = build_definitions(load_campaign(Path(env["GLASS_CAMPAIGN"])))
    graph = defs.resolve_asset_graph()
    return {key.to_user_string(): graph.get(key).code_version for key in graph.get_all_asset_keys()}


TERNARY = {
    "ka2d_ternary/" + name
    for name in (
        "swap_mc_equilibria", "inherent_structures", "propensity_labels", "mlp_descriptors", "state_point_labels",
        "glassmlp_models", "tglassmlp_model", "propensity_predictions", "dynamic_heterogeneity",
        "attention_lengths", "heterogeneity_summary", "large_box_equilibria", "four_point_structure_factor",
    )
}


@pytest.mark.parametrize(
    ("changes", "stale"),
    [
        # one system's box size: that system's assets, not the others' (per-system settings are narrowed)
        ({"quench.n_particles.kam": 81}, {"kam/quenched_ensembles", "kam/structural_descriptors"}),
        ({"quench.protocol.hold_time": 3.0}, {
            "abm/quenched_ensembles", "abm/structural_descriptors", "abm/cnn_classifier", "abm/grad_cam_scores",
            "abm/indicator_correlations", "abm/propensity_labels", "abm/grad_cam_dynamics",
            "kam/quenched_ensembles", "kam/structural_descriptors",
        }),
        # the coarse-graining length: every descriptor and what reads it, never the quenches or the CNN
        ({"descriptors.coarse_graining_length": 2.5}, {
            "abm/structural_descriptors", "abm/grad_cam_scores", "abm/indicator_correlations",
            "abm/grad_cam_dynamics", "kam/structural_descriptors",
        }),
        ({"swap_mc.n_chains": 3}, TERNARY),  # every ternary asset starts from the swap-MC equilibria
        # one key read by one asset and its downstream only
        ({"heterogeneity.attention_aggregate": "sum"}, {
            "ka2d_ternary/dynamic_heterogeneity", "ka2d_ternary/attention_lengths",
            "ka2d_ternary/heterogeneity_summary",
        }),
        ({"description": "a new description"}, set()),  # not a setting of any data
    ],
)
def test_changing_one_profile_setting_changes_the_code_version_of_exactly_the_dependent_assets(
    tmp_path, changes, stale
):
    before, after = _code_versions(tmp_path, None), _code_versions(tmp_path, changes)
    assert before.keys() == after.keys()
    assert {key for key in before if before[key] != after[key]} == stale
    assert all("+profile." in v for k, v in before.items() if k != "paper_report")


@pytest.mark.lammps
def test_the_ui_shows_exactly_the_dependent_partitions_stale_and_the_automation_requests_them(tmp_path):
    """Dagster's own staleness (what the UI shows) and the automation's requests after a setting changes."""
    instance = DagsterInstance.ephemeral()
    base = profiles_file(tmp_path / "base.yaml")
    first = TemporaryCampaign(campaign_environment(tmp_path / "c", ABM_QUENCH, profiles=base), instance)
    assert first.materialize([QUENCH, DESCRIPTORS], "abm|2.0").success
    cursor = evaluate_automation_conditions(defs=first.defs, instance=instance).cursor

    def stale(changes: dict) -> tuple[dict, dict]:
        path = profiles_file(tmp_path / f"{len(list(tmp_path.glob('*.yaml')))}.yaml", {"tiny": changes})
        changed = TemporaryCampaign(campaign_environment(tmp_path / "c", ABM_QUENCH, profiles=path), instance)
        graph = changed.defs.resolve_asset_graph()
        view = AssetGraphView(temporal_context=TemporalContext(effective_dt=get_current_datetime(), last_event_id=None),
                              instance=instance, asset_graph=graph)
        resolver = CachingStaleStatusResolver(instance=instance, asset_graph=graph, loading_context=view)
        status = {key.path[-1]: resolver.get_status(key, "abm|2.0") for key in (QUENCH, DESCRIPTORS)}
        ticked = evaluate_automation_conditions(defs=changed.defs, instance=instance, cursor=cursor)
        requested = {k.path[-1]: {str(p) for p in ticked.get_requested_partitions(k)} for k in (QUENCH, DESCRIPTORS)}
        return status, requested

    status, requested = stale({"descriptors.coarse_graining_length": 2.5})
    assert status == {"quenched_ensembles": StaleStatus.FRESH, "structural_descriptors": StaleStatus.STALE}
    # 0.05 was never materialized: it is requested by the first tick anyway; here only the changed code counts
    assert "abm|2.0" in requested["structural_descriptors"] and "abm|2.0" not in requested["quenched_ensembles"]
    status, requested = stale({"quench.protocol.hold_time": 3.0})
    assert status == {"quenched_ensembles": StaleStatus.STALE, "structural_descriptors": StaleStatus.STALE}
    assert "abm|2.0" in requested["quenched_ensembles"]


# ------------------------------------------------------------------------------------------ mixes
@pytest.mark.lammps
def test_training_over_rows_of_two_settings_refuses_naming_both_digests(tmp_path, one_torch_thread):
    instance = DagsterInstance.ephemeral()
    path = profiles_file(tmp_path / "p.yaml", {
        "longer_hold": {"quench.protocol.hold_time": 3.0},
        "mix_allowed": {"quench.protocol.hold_time": 3.0, "provenance.allow_mixed": ["quench.protocol"]},
    }, base="tiny_cnn")
    folder = tmp_path / "c"

    def campaign(profile: str) -> TemporaryCampaign:
        return TemporaryCampaign(campaign_environment(folder, LIQUID_GLASS, profile, path), instance)

    assert campaign("tiny_cnn").materialize([QUENCH], "abm|2.0").success
    later = campaign("longer_hold")
    assert later.materialize([QUENCH], "abm|0.05").success
    digests = {
        record["partition_key"]: record["settings"]
        for record in later.warehouse.row_set_records().values()
        if record["table_name"] == "samples"
    }
    protocol = [json.loads(s)["quench.protocol"] for s in (digests["abm|2.0"], digests["abm|0.05"])]
    assert protocol[0] != protocol[1]

    result = later.materialize([CNN], "abm")
    assert not result.success
    failure = result.get_step_failure_events()[0].step_failure_data.user_failure_data.description
    assert "would combine rows computed with different profile settings" in failure
    assert "abm/quenched_ensembles abm|2.0" in failure and "abm/quenched_ensembles abm|0.05" in failure
    assert "samples" in failure and protocol[0] in failure and protocol[1] in failure, failure
    assert not later.instance.get_materialized_partitions(CNN)  # nothing trained, nothing registered

    # the report refuses the same mix, naming both digests; nothing written
    out = tmp_path / "report.html"
    with environment(later.env):
        resources = default_resources()
    with pytest.raises(MixedSettingsError, match=protocol[0]) as error:
        write_report(out, later.warehouse, resources["mlflow_tracking"], ["abm"])
    assert protocol[1] in str(error.value) and not out.exists()

    # a profile that says the mix is intended trains on it
    assert campaign("mix_allowed").materialize([CNN], "abm").success


# ------------------------------------------------------------------------------------------ the audit
@pytest.mark.lammps
def test_the_audit_flags_rows_removed_by_hand_and_nothing_reads_the_half_present_partition(tmp_path):
    instance = DagsterInstance.ephemeral()
    campaign = TemporaryCampaign(campaign_environment(tmp_path / "c", ABM_QUENCH), instance)
    assert campaign.materialize([QUENCH], "abm|2.0").success
    store = campaign.warehouse
    with store._locked(exclusive=True), store._connect(read_only=False) as con:  # a user's DELETE, by hand
        con.execute("DELETE FROM particles WHERE temperature = 2.0 AND sample = 1")

    # a downstream step refuses to start from it, naming the table and the counts
    result = campaign.materialize([DESCRIPTORS], "abm|2.0")
    failure = result.get_step_failure_events()[0].step_failure_data.user_failure_data.description
    assert "abm/quenched_ensembles abm|2.0" in failure and "particles" in failure and "128 of the 192 rows" in failure
    assert not instance.get_materialized_partitions(DESCRIPTORS)

    def audit(cursor: str | None = None):  # noqa: ANN202 - a SensorResult
        with environment(campaign.env):
            resources = default_resources()
            context = build_sensor_context(
                instance=instance, definitions=campaign.defs, resources=resources, cursor=cursor
            )
            return warehouse_audit(context)

    found = audit()
    (evaluation,) = found.asset_events
    assert evaluation.asset_key == QUENCH and not evaluation.passed
    assert "abm|2.0" in evaluation.description and "particles" in evaluation.description
    (request,) = found.run_requests
    assert request.asset_selection == [QUENCH] and request.partition_key == "abm|2.0"

    assert campaign.materialize([QUENCH], "abm|2.0").success  # what the daemon launches for the request
    healed = audit(found.cursor)
    assert [e.passed for e in healed.asset_events] == [True] and not healed.run_requests
    assert campaign.materialize([DESCRIPTORS], "abm|2.0").success


@pytest.mark.lammps
def test_a_deleted_warehouse_is_recomputed_to_identical_tables(tmp_path, one_torch_thread):
    instance = DagsterInstance.ephemeral()
    campaign = TemporaryCampaign(campaign_environment(tmp_path / "c", LIQUID_GLASS, "tiny_cnn"), instance)
    runs, failed = campaign.run()
    assert runs >= 3 and failed == 0
    first = campaign.warehouse.table_digests()
    assert first["samples"].split(":")[0] == "16" and first["grad_cam"] != "0:0000000000000000"

    Path(campaign.env["GLASS_WAREHOUSE"]).unlink()  # disk full, a restore gone wrong: the file is gone
    runs, failed = campaign.run()
    assert failed == 0 and runs >= 3
    assert campaign.warehouse.table_digests() == first
    graph = campaign.defs.resolve_asset_graph()
    for key in graph.get_all_asset_keys():
        wanted = graph.get(key).partitions_def
        if wanted is not None and key.path[-1] != "paper_report":
            assert instance.get_materialized_partitions(key), key
