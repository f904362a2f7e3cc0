"""Settings in one place: every environment variable is declared in glass_assets/settings.py, read through it when
needed, and documented from it; the crash tests' warehouse fault is a hook the resource injects."""

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest
from dagster import EnvVar

from glass_assets import settings
from glass_assets.faults import FAULT_ENV, FAULT_PLAN_ENV, armed_fault_hook
from glass_assets.resources import WarehouseResource, audit_resources, default_resources
from glass_assets.warehouse import Warehouse, ensemble_key
from tests.helpers.paths import ROOT
from tests.platform.test_warehouse import sample_rows

#: modules of glass_assets that touch os.environ for another reason than reading a setting
ENVIRON_USES = {
    "glass_assets/settings.py": "the table itself",
    "glass_assets/launchers/base.py": "the worker subprocess inherits this environment (PYTHONPATH extended)",
    "glass_assets/launchers/slurm/commands.py": "PATH, named in the error when sbatch is missing",
    "glass_assets/demo.py": "sets DAGSTER_HOME and GLASS_CAMPAIGN for the runs it launches (names from the table)",
}


def environ_reads(path: Path) -> list[int]:
    """Lines of ``path`` that use ``os.environ``, ``os.getenv`` or Dagster's ``EnvVar``."""
    lines = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "os":
            if node.attr in {"environ", "getenv", "environb"}:
                lines.append(node.lineno)
        elif isinstance(node, ast.Name) and node.id == "EnvVar":
            lines.append(node.lineno)
    return lines


def test_glass_assets_reads_the_environment_only_through_the_settings_table():
    offenders = {}
    for path in sorted((ROOT / "glass_assets").rglob("*.py")):
        relative = path.relative_to(ROOT).as_posix()
        if relative not in ENVIRON_USES and (lines := environ_reads(path)):
            offenders[relative] = lines
    assert not offenders, f"read these through glass_assets.settings: {offenders}"


def test_the_documentation_lists_every_variable_of_the_table():
    page = (ROOT / "docs" / "getting-started.md").read_text()
    assert settings.markdown_table() in page, "paste `python -m glass_assets.settings` into docs/getting-started.md"
    names = [setting.name for setting in settings.SETTINGS]
    assert len(set(names)) == len(names)
    assert {FAULT_ENV, FAULT_PLAN_ENV} <= set(names)


def test_a_setting_is_read_when_asked_with_its_type_and_default(monkeypatch, tmp_path):
    monkeypatch.delenv("GLASS_SENSOR_TICK_SECONDS", raising=False)
    assert settings.SENSOR_TICK_SECONDS.get() == 30
    monkeypatch.setenv("GLASS_SENSOR_TICK_SECONDS", "5")
    assert settings.SENSOR_TICK_SECONDS.get() == 5
    monkeypatch.setenv("GLASS_WAREHOUSE", "")  # empty counts as unset
    assert settings.WAREHOUSE.get() == ROOT / "data" / "warehouse.duckdb"
    monkeypatch.setenv("GLASS_WAREHOUSE", str(tmp_path / "w.duckdb"))
    assert settings.WAREHOUSE.get() == tmp_path / "w.duckdb"
    assert audit_resources()[0].path == str(tmp_path / "w.duckdb")
    assert settings.LAUNCHER.get({}) == "local" and settings.slurm_raw("partition", {"GLASS_SLURM_PARTITION": ""}) == ""


def test_resources_take_the_variables_that_are_set_as_env_vars(monkeypatch, tmp_path):
    for setting in settings.SETTINGS:
        monkeypatch.delenv(setting.name, raising=False)
    monkeypatch.setenv("GLASS_SCRATCH", str(tmp_path / "scratch"))
    monkeypatch.setenv("GLASS_MLFLOW_UI_URL", "http://127.0.0.1:5001")
    resources = default_resources()
    # a variable that is set becomes the field's EnvVar, resolved when a run starts; the rest keep their defaults
    assert isinstance(resources["study"].scratch_dir, EnvVar) and resources["study"].scratch_dir == "GLASS_SCRATCH"
    assert isinstance(resources["mlflow_tracking"].ui_url, EnvVar)
    assert resources["study"].profile == "demo"
    assert resources["warehouse"].path == str(ROOT / "data" / "warehouse.duckdb")


def test_the_warehouse_fault_is_injected_only_when_a_test_arms_it(monkeypatch, tmp_path):
    monkeypatch.delenv(FAULT_ENV, raising=False)
    monkeypatch.delenv(FAULT_PLAN_ENV, raising=False)
    assert armed_fault_hook("warehouse_write") is None
    assert WarehouseResource(path=str(tmp_path / "w.duckdb")).get().before_commit is None
    monkeypatch.setenv(FAULT_ENV, f"warehouse_write:{tmp_path / 'marker'}")
    assert WarehouseResource(path=str(tmp_path / "w.duckdb")).get().before_commit is not None


def test_the_hook_runs_inside_the_transaction(tmp_path):
    class Injected(Exception):
        pass

    def fail() -> None:
        raise Injected

    key = ensemble_key("abm", 0.05, "quenched")
    Warehouse(tmp_path / "w.duckdb").replace_partition(key, {"samples": sample_rows("abm", 0.05, 3, -1.0)})
    with pytest.raises(Injected):
        Warehouse(tmp_path / "w.duckdb", before_commit=fail).replace_partition(
            key, {"samples": sample_rows("abm", 0.05, 5, -9.0)}
        )
    assert Warehouse(tmp_path / "w.duckdb").query("SELECT count(*) AS n FROM samples").item() == 3


def test_the_warehouse_fault_kills_a_step_process_armed_through_its_environment(tmp_path):
    """As in the daemon's crash tests: a process started with GLASS_FAULT_KILL dies inside the warehouse write,
    before the commit, and the partition keeps its previous rows."""
    marker = tmp_path / "marker"
    script = (
        "from glass_assets.resources import WarehouseResource\n"
        "from glass_assets.warehouse import ensemble_key\n"
        "from tests.platform.test_warehouse import sample_rows\n"
        f"store = WarehouseResource(path={str(tmp_path / 'w.duckdb')!r}).get()\n"
        "rows = {'samples': sample_rows('abm', 0.05, 3, 1.0)}\n"
        "store.replace_partition(ensemble_key('abm', 0.05, 'quenched'), rows)\n"
        "print('survived')\n"
    )
    env = {**os.environ, FAULT_ENV: f"warehouse_write:{marker}"}
    killed = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True)
    assert killed.returncode == -9 and marker.exists() and "survived" not in killed.stdout, killed.stderr
    assert Warehouse(tmp_path / "w.duckdb").query("SELECT count(*) AS n FROM samples").item() == 0
    again = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True)
    assert "survived" in again.stdout, again.stderr  # the marker exists: the point is inert
