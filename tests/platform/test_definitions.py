"""The Definitions load, and the asset graph has the shape the platform promises."""

import ast
import json
import os

from dagster import AssetKey

from glass_assets.definitions import defs as load_defs
from tests.helpers.paths import ROOT, SNAPSHOTS

SNAPSHOT = SNAPSHOTS / "asset_graph.json"
#: the code location as Dagster loads it (the @definitions loader, called as Dagster calls it)
defs = load_defs()


def graph_snapshot(definitions) -> dict:
    """What the asset graph promises: per asset its partitions, upstream assets with their partition mappings,
    checks, group, code version (the logic version; the profile digest after ``+profile.`` is data, so a profile edit
    does not change the snapshot, but its presence is recorded), pool, retries and automation condition; the
    sensors."""
    graph = definitions.resolve_asset_graph()
    assets = {}
    for key in sorted(graph.get_all_asset_keys()):
        node = graph.get(key)
        partitions = node.partitions_def
        dims = getattr(partitions, "partitions_defs", None)
        assets[key.to_user_string()] = {
            "partitions": {
                d.name: getattr(d.partitions_def, "name", None) or d.partitions_def.get_partition_keys() for d in dims
            }
            if dims
            else (partitions.get_partition_keys() if partitions else None),  # None: the campaign's paper_report
            "upstream": {
                parent.to_user_string(): type(graph.get_partition_mapping(key, parent)).__name__
                for parent in sorted(node.parent_keys)
            },
            "checks": sorted(check.name for check in node.check_keys),
            "group": node.group_name,
            "code_version": (node.code_version or "").split("+profile.")[0],
            "profile_digest_in_code_version": "+profile." in (node.code_version or ""),
            "pools": sorted(node.pools or []),
            "retries": node.backfill_policy is None
            and getattr(definitions.resolve_assets_def(key).op.retry_policy, "max_retries", 0),
            "automation": str(node.automation_condition.get_label() if node.automation_condition else None),
            "automation_tree": node.automation_condition.get_node_unique_id(
                parent_unique_id=None, index=None, target_key=None
            )
            if node.automation_condition
            else None,
        }
    sensors = sorted(s.name for s in definitions.sensors)
    return {"assets": assets, "sensors": sensors, "schedules": sorted(s.name for s in definitions.schedules or [])}


def test_the_asset_graph_matches_its_snapshot():
    """Any change of assets, partitions, lineage, checks or automation (for a fixed campaign file) shows here; when it
    is intended, rewrite the snapshot with GLASS_UPDATE_SNAPSHOT=1 and review its diff."""
    from glass_assets.campaign import load_campaign
    from glass_assets.definitions import build_definitions

    definitions = build_definitions(load_campaign(SNAPSHOT.with_name("campaign.yaml")))
    snapshot = json.loads(json.dumps(graph_snapshot(definitions), default=str))
    if os.environ.get("GLASS_UPDATE_SNAPSHOT"):
        SNAPSHOT.write_text(json.dumps(snapshot, indent=1, sort_keys=True) + "\n")
    assert snapshot == json.loads(SNAPSHOT.read_text())


def test_every_asset_of_the_campaign_is_built_with_checks_and_automation():
    graph = defs.resolve_asset_graph()
    keys = {key.to_user_string() for key in graph.get_all_asset_keys()}
    assert {"abm/quenched_ensembles", "kam/cnn_classifier", "ka2d_ternary/tglassmlp_model"} <= keys
    assert not {"ka2d_ternary/quenched_ensembles", "abm/swap_mc_equilibria", "ka2d_ternary/cnn_classifier"} & keys
    assert all(graph.get(key).automation_condition is not None for key in graph.get_all_asset_keys())
    checks = {key.name for key in graph.get_check_keys_for_assets([AssetKey(["abm", "quenched_ensembles"])])}
    assert {"no_overlaps", "lammps_energy_matches_numpy"} <= checks
    assert {s.name for s in defs.sensors} == {"campaign_sensor", "campaign_automation", "warehouse_audit"}
    # the nightly backfill, visible as a schedule, and the campaign autopilot (stopped without a campaign budget)
    assert [s.name for s in defs.schedules] == ["nightly_backfill", "campaign_autopilot"]
    # the campaign runs through the automation; one job lists what the nightly backfill covers, one accepts proposals
    assert [j.name for j in defs.jobs] == ["nightly_backfill_plan", "accept_campaign_proposals"]


def test_glass_core_never_imports_dagster():
    for path in (ROOT / "glass_core").rglob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            names = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else ([node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            )
            assert not any(n.split(".")[0] == "dagster" for n in names), f"{path} imports dagster"


def test_every_partition_mapping_resolves_in_the_full_graph():
    """Each partition of each asset maps to its parents' partitions (Dagster checks this only at run time)."""
    from dagster import DagsterInstance
    from dagster._core.definitions.partitions.context import partition_loading_context

    graph = defs.resolve_asset_graph()
    with DagsterInstance.ephemeral() as instance, partition_loading_context(dynamic_partitions_store=instance):
        from glass_assets.automation.sensors import sync_partitions
        from glass_assets.campaign import load_campaign

        sync_partitions(instance, load_campaign())
        resolved = 0
        for key in graph.get_all_asset_keys():
            node = graph.get(key)
            if node.partitions_def is None:
                continue
            for partition in node.partitions_def.get_partition_keys():
                for parent in node.parent_keys:
                    result = graph.get_parent_partition_keys_for_child(partition, parent, key)
                    assert result.partitions_subset is not None
                    resolved += 1
        assert resolved > 20
