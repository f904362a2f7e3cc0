"""The Definitions load, and the asset graph has the shape the platform promises."""

import ast
from pathlib import Path

from glass_assets.definitions import defs

ROOT = Path(__file__).resolve().parent.parent


def test_definitions_load_with_assets_checks_sensor_and_job():
    graph = defs.resolve_asset_graph()
    keys = {key.to_user_string() for key in graph.get_all_asset_keys()}
    assert "quenched_ensembles" in keys
    checks = {key.name for key in graph.asset_check_keys}
    assert {
        "no_overlaps",
        "coordinates_finite_in_box",
        "kinetic_temperature_on_target",
        "no_crystallisation_jump",
        "lammps_energy_matches_numpy",
    } <= checks
    assert defs.resolve_sensor_def("campaign_sensor") is not None
    job = defs.resolve_job_def("quench_job")
    assert job.partitions_def is not None
    dims = {d.name for d in job.partitions_def.partitions_defs}
    assert dims == {"system", "temperature"}


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
        instance.add_dynamic_partitions("temperature", ["0.05", "2.0"])
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
