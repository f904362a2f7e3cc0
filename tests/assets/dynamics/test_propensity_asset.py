"""The propensity_labels asset on a tiny profile: labels in the warehouse and the four checks."""

import numpy as np
import pytest
from dagster import DagsterInstance, MultiPartitionKey

from glass_assets.checks import check_results
from glass_assets.dynamics.assets import PROPENSITY_LABELS
from glass_assets.dynamics.checks import PROPENSITY_CHECKS
from glass_assets.ensembles.assets import QUENCHED_ENSEMBLES
from glass_assets.graph import materialize_templates
from glass_assets.warehouse import Warehouse

pytestmark = pytest.mark.lammps


def test_labels_from_the_glass_partition(tiny_resources):
    instance = DagsterInstance.ephemeral()
    glass = MultiPartitionKey({"system": "kam", "temperature": "0.05"})
    assert materialize_templates(
        [QUENCHED_ENSEMBLES], instance=instance, resources=tiny_resources, partition_key=glass
    ).success
    run = MultiPartitionKey({"system": "kam", "temperature": "1.0"})
    result = materialize_templates([PROPENSITY_LABELS], instance=instance, resources=tiny_resources, partition_key=run)
    assert result.success
    checks = {c.check_name: c.passed for c in result.get_asset_check_evaluations()}
    assert checks["bond_breaking_in_unit_interval"] and checks["replica_count_as_configured"]
    assert checks["bond_breaking_decreases"]
    store = Warehouse(tiny_resources["warehouse"].path)
    labels = store.query("SELECT * FROM propensity WHERE system = 'kam' AND temperature = 1.0")
    assert labels["source_temperature"].unique().to_list() == [0.05]
    assert labels["sample"].n_unique() == 2 and labels["particle"].n_unique() == 64
    first = labels.filter(labels["frame"] == 0)
    assert np.allclose(first["crsd"].to_numpy(), 0.0) and np.allclose(first["bond_breaking"].drop_nans(), 1.0)

    # a crafted bad summary makes the checks fail
    summary = store.query("SELECT * FROM propensity_summary WHERE system = 'kam'")
    rising = summary.with_columns((0.5 + summary["frame"] * 0.05).alias("mean_bond_breaking"))  # above 1/e
    results = check_results(PROPENSITY_CHECKS, labels=labels, summary=rising, n_replicas=3)
    outcome = {c.check_name: c.passed for c in results}
    assert not outcome["bond_breaking_decreases"] and not outcome["replica_count_as_configured"]
    assert not outcome["tau_alpha_found"]
    bad = labels.with_columns(labels["bond_breaking"] * 1.5)
    results = check_results(PROPENSITY_CHECKS, labels=bad, summary=summary, n_replicas=2)
    bad_outcome = {c.check_name: c.passed for c in results}
    assert not bad_outcome["bond_breaking_in_unit_interval"]
