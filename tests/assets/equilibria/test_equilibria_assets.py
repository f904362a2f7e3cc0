"""swap_mc_equilibria and inherent_structures on a tiny profile."""

import pytest
from dagster import DagsterInstance, MultiPartitionKey

from glass_assets.equilibria.assets import INHERENT_STRUCTURES, SWAP_MC_EQUILIBRIA
from glass_assets.graph import materialize_templates
from glass_assets.warehouse import Warehouse, ensemble_key

pytestmark = pytest.mark.lammps


def test_equilibria_and_their_minima(tiny_resources):
    instance = DagsterInstance.ephemeral()
    partition = MultiPartitionKey({"system": "ka2d_ternary", "temperature": "0.5"})
    result = materialize_templates(
        [SWAP_MC_EQUILIBRIA, INHERENT_STRUCTURES], instance=instance, resources=tiny_resources, partition_key=partition
    )
    assert result.success
    checks = {(c.asset_key.path[-1], c.check_name): c.passed for c in result.get_asset_check_evaluations()}
    for name in ("no_overlaps", "energy_matches_numpy"):
        assert checks[("swap_mc_equilibria", name)] and checks[("inherent_structures", name)]
    assert checks[("inherent_structures", "force_norm_small")] and checks[("inherent_structures", "energy_decreased")]
    store = Warehouse(tiny_resources["warehouse"].path)
    equilibria = store.read_partition("samples", ensemble_key("ka2d_ternary", 0.5, "swap_mc"))
    minima = store.read_partition("samples", ensemble_key("ka2d_ternary", 0.5, "inherent"))
    assert equilibria.height == minima.height == 4
    assert (minima["energy_per_particle"] < equilibria["energy_per_particle"]).all()
    counts = store.query("SELECT sample, type, count(*) AS n FROM particles WHERE ensemble = 'swap_mc' GROUP BY ALL")
    for _, rows in counts.group_by("sample"):  # swaps exchange types, so the composition is kept
        assert rows.sort("type")["n"].to_list() == [30, 16, 18]


def test_swap_mc_refuses_a_system_without_its_potential(tiny_resources):
    instance = DagsterInstance.ephemeral()
    with pytest.raises(Exception, match="C²-smooth ternary"):
        materialize_templates(
            [SWAP_MC_EQUILIBRIA],
            instance=instance,
            resources=tiny_resources,
            partition_key=MultiPartitionKey({"system": "abm", "temperature": "0.5"}),
        )


def test_bond_breaking_labels_start_from_the_swap_mc_equilibria(tiny_resources):
    from glass_assets.dynamics.assets import PROPENSITY_LABELS

    instance = DagsterInstance.ephemeral()
    partition = MultiPartitionKey({"system": "ka2d_ternary", "temperature": "0.6"})
    assert materialize_templates(
        [SWAP_MC_EQUILIBRIA], instance=instance, resources=tiny_resources, partition_key=partition
    ).success
    result = materialize_templates(
        [PROPENSITY_LABELS], instance=instance, resources=tiny_resources, partition_key=partition
    )
    assert result.success
    labels = Warehouse(tiny_resources["warehouse"].path).query("SELECT * FROM propensity_summary")
    assert set(labels["ensemble"].to_list()) == {"swap_mc"} and set(labels["source_temperature"].to_list()) == {0.6}
    assert labels.filter(labels["frame"] == 0)["mean_bond_breaking"].to_list() == [1.0, 1.0]
