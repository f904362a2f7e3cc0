"""The quenched_ensembles asset end to end on a tiny profile (LAMMPS in worker processes)."""

import subprocess
import sys
import textwrap

import pytest
from dagster import DagsterInstance, MultiPartitionKey

from glass_assets.ensembles.assets import QUENCHED_ENSEMBLES
from glass_assets.graph import materialize_templates
from glass_assets.resources import SimulationError
from glass_assets.warehouse import Warehouse, ensemble_key
from tests.helpers.paths import TINY_PROFILES

pytestmark = pytest.mark.lammps


def run_partition(resources, system, temperature, raise_on_error=True):
    instance = DagsterInstance.ephemeral()
    return materialize_templates(
        [QUENCHED_ENSEMBLES],
        instance=instance,
        resources=resources,
        raise_on_error=raise_on_error,
        partition_key=MultiPartitionKey({"system": system, "temperature": temperature}),
    )


def test_materialization_writes_rows_and_passes_checks(tiny_resources):
    result = run_partition(tiny_resources, "kam", "0.4")
    assert result.success
    checks = {c.check_name: c.passed for c in result.get_asset_check_evaluations()}
    # the five physics checks and the provenance check (rows recorded as written)
    assert len(checks) == 6 and all(checks.values()) and checks["warehouse_holds_recorded_rows"], checks
    metadata = result.asset_materializations_for_node("kam__quenched_ensembles")[0].metadata
    assert metadata["n_samples"].value == 3 and metadata["lammps_steps_per_second"].value > 0
    assert "plot" in metadata
    store = Warehouse(tiny_resources["warehouse"].path)
    samples = store.read_partition("samples", ensemble_key("kam", 0.4, "quenched"))
    assert samples.height == 3 and samples["n_particles"].to_list() == [64] * 3
    assert store.read_partition("particles", ensemble_key("kam", 0.4, "quenched")).height == 3 * 64

    # same seeds => identical ensemble; the rerun replaces rows instead of adding
    before = store.read_partition("particles", ensemble_key("kam", 0.4, "quenched"))
    assert run_partition(tiny_resources, "kam", "0.4").success
    after = store.read_partition("particles", ensemble_key("kam", 0.4, "quenched"))
    assert after.select("sample", "particle", "type", "x", "y").equals(
        before.select("sample", "particle", "type", "x", "y")
    )


def test_missing_lammps_is_a_clear_error_and_keeps_stored_rows(tiny_resources, tmp_path, monkeypatch):
    assert run_partition(tiny_resources, "abm", "2.0").success
    store = Warehouse(tiny_resources["warehouse"].path)
    stored = store.read_partition("samples", ensemble_key("abm", 2.0, "quenched"))
    broken = tmp_path / "no_lammps"
    broken.mkdir()
    (broken / "lammps.py").write_text("raise ImportError('lammps removed for this test')\n")
    monkeypatch.setenv("PYTHONPATH", str(broken))
    tiny_resources["study"] = tiny_resources["study"].model_copy(update={"scratch_dir": str(tmp_path / "s2")})
    with pytest.raises(SimulationError, match="LAMMPS cannot be loaded"):
        run_partition(tiny_resources, "abm", "2.0")
    assert store.read_partition("samples", ensemble_key("abm", 2.0, "quenched")).equals(stored)


def test_unknown_system_partition_is_refused(tiny_resources):
    with pytest.raises(Exception, match="unknown system|not a valid partition|argon"):
        run_partition(tiny_resources, "argon", "1.0")


def test_two_concurrent_partition_materializations_both_land(tmp_path):
    script = textwrap.dedent(f"""
        import sys
        from dagster import DagsterInstance, MultiPartitionKey
        from glass_assets.graph import materialize_templates
        from glass_assets.ensembles.assets import QUENCHED_ENSEMBLES
        from glass_assets.resources import LocalProcessLauncher, StudySettings, WarehouseResource
        system, t = sys.argv[1], sys.argv[2]
        instance = DagsterInstance.ephemeral()
        resources = {{"study": StudySettings(profile="tiny", profiles_file={str(TINY_PROFILES)!r},
                                            scratch_dir={str(tmp_path / "scratch")!r}),
                     "simulation": LocalProcessLauncher(max_workers=1),
                     "warehouse": WarehouseResource(path={str(tmp_path / "w.duckdb")!r})}}
        result = materialize_templates([QUENCHED_ENSEMBLES], instance=instance, resources=resources,
                             partition_key=MultiPartitionKey({{"system": system, "temperature": t}}))
        sys.exit(0 if result.success else 1)
    """)
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", script, s, t], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
        )
        for s, t in (("abm", "0.05"), ("kam", "0.05"))
    ]
    errors = [p.communicate(timeout=300)[1] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [e[-2000:] for e in errors]
    counts = Warehouse(tmp_path / "w.duckdb").query("SELECT system, count(*) AS n FROM samples GROUP BY 1 ORDER BY 1")
    assert counts.to_dicts() == [{"system": "abm", "n": 3}, {"system": "kam", "n": 3}]
