"""The campaign under a real ``dagster-daemon``: the automation materializes it as a backfill, a restarted daemon
finishes that backfill, a temperature added to the campaign file is computed without anyone asking, and a
step killed with SIGKILL (during the simulation or during the warehouse write) is retried into the same rows
as a clean run.

Each test starts the daemon on a temporary instance (the project's ``dagster.yaml``: pools, run retries) with a
temporary campaign, the tiny profile and its own warehouse; nothing is mocked. Minutes, not seconds: the
sensors tick every 5 s here (30 s in the product).
"""

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
from dagster import AssetKey, DagsterInstance, MultiPartitionKey
from dagster._core.execution.backfill import BulkActionStatus

from glass_assets.ensembles.assets import QUENCHED_ENSEMBLES
from glass_assets.graph import materialize_templates
from glass_assets.resources import LocalProcessLauncher, StudySettings, WarehouseResource
from glass_assets.warehouse import FAULT_ENV, Warehouse, ensemble_key
from tests.conftest import TINY_PROFILES

ROOT = Path(__file__).resolve().parent.parent
DAEMON = Path(sys.executable).with_name("dagster-daemon")
QUENCH, DESCRIPTORS = AssetKey(["abm", "quenched_ensembles"]), AssetKey(["abm", "structural_descriptors"])
CAMPAIGN = "backfill_schedule: '0 2 * * *'\nsystems:\n  abm:\n    quench: [{temperatures}]\n"

pytestmark = [pytest.mark.lammps, pytest.mark.daemon]


class Daemon:
    """``dagster-daemon run`` on a temporary instance, with the study's environment; stopped with its children."""

    def __init__(self, tmp_path: Path, temperatures: str, extra_env: dict[str, str] | None = None):
        self.home = tmp_path / "dagster_home"
        self.home.mkdir()
        shutil.copy(ROOT / "dagster_home" / "dagster.yaml", self.home / "dagster.yaml")
        self.campaign = tmp_path / "campaign.yaml"
        self.campaign.write_text(CAMPAIGN.format(temperatures=temperatures))
        self.warehouse = tmp_path / "warehouse.duckdb"
        self.env = {
            **os.environ,
            "DAGSTER_HOME": str(self.home),
            "GLASS_CAMPAIGN": str(self.campaign),
            "GLASS_PROFILE": "tiny",
            "GLASS_PROFILES_FILE": str(TINY_PROFILES),
            "GLASS_WAREHOUSE": str(self.warehouse),
            "GLASS_SCRATCH": str(tmp_path / "scratch"),
            "MLFLOW_TRACKING_URI": f"sqlite:///{tmp_path / 'mlflow.db'}",
            "GLASS_SENSOR_TICK_SECONDS": "5",  # the product ticks every 30 s; the tests need not wait that long
            **(extra_env or {}),
        }
        self.log = open(tmp_path / "daemon.log", "a")  # noqa: SIM115 - closed in stop()
        self.process: subprocess.Popen | None = None
        self.instance = DagsterInstance.from_config(str(self.home))  # creates the storage before the daemon opens it
        self.start()

    def start(self) -> None:
        self.process = subprocess.Popen(
            [str(DAEMON), "run", "-w", str(ROOT / "workspace.yaml")],
            cwd=ROOT,
            env=self.env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def kill_daemon_only(self) -> None:
        """SIGKILL the daemon process itself, as a crash would (its runs and code server are left alone)."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)

    def stop(self) -> None:
        for process in [self.process, *self._children()]:
            try:
                os.killpg(process.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        self.log.close()
        self.instance.dispose()

    def _children(self) -> list[psutil.Process]:
        marker = str(self.home)
        found = []
        for process in psutil.process_iter(["pid", "environ"]):
            try:
                if (process.info["environ"] or {}).get("DAGSTER_HOME") == marker and process.pid != os.getpid():
                    found.append(process)
            except (psutil.NoSuchProcess, psutil.AccessDenied):
                continue
        return found

    def materialized(self, key: AssetKey) -> set[str]:
        return {str(p) for p in self.instance.get_materialized_partitions(key)}

    def wait_for(self, what: str, condition, timeout: float = 420) -> None:  # noqa: ANN001 - a callable
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if condition():
                return
            if self.process.poll() is not None:
                break
            time.sleep(3)
        log = (self.home.parent / "daemon.log").read_text()[-4000:]
        state = "the daemon exited" if self.process.poll() is not None else f"timed out after {timeout:.0f} s"
        raise AssertionError(f"{state} waiting for {what}; daemon log tail:\n{log}")


def clean_rows(tmp_path: Path, temperature: str):
    """The partition's particle rows from a plain in-process materialization (same profile, same seeds)."""
    resources = {
        "study": StudySettings(profile="tiny", profiles_file=str(TINY_PROFILES), scratch_dir=str(tmp_path / "s")),
        "simulation": LocalProcessLauncher(),
        "warehouse": WarehouseResource(path=str(tmp_path / "clean.duckdb")),
    }
    key = MultiPartitionKey({"system": "abm", "temperature": temperature})
    assert materialize_templates([QUENCHED_ENSEMBLES], key, resources=resources).success
    return particle_rows(tmp_path / "clean.duckdb", temperature)


def particle_rows(warehouse: Path, temperature: str):
    rows = Warehouse(warehouse).read_partition("particles", ensemble_key("abm", float(temperature), "quenched"))
    return rows.select("sample", "particle", "type", "x", "y").sort(["sample", "particle"])


@pytest.fixture
def daemon_factory(tmp_path):
    started = []

    def start(temperatures: str, extra_env: dict[str, str] | None = None) -> Daemon:
        started.append(Daemon(tmp_path, temperatures, extra_env))
        return started[-1]

    yield start
    for daemon in started:
        daemon.stop()


def test_the_daemon_backfills_the_campaign_survives_a_restart_and_computes_a_new_temperature(daemon_factory):
    daemon = daemon_factory("2.0, 0.05")
    # the automation's first tick requests both partitions of both assets as one backfill
    daemon.wait_for("the campaign backfill", lambda: daemon.instance.get_backfills())
    backfill = daemon.instance.get_backfills()[0]
    daemon.kill_daemon_only()  # a crash in the middle of the backfill
    daemon.start()
    daemon.wait_for(
        "the backfill to finish after the restart",
        lambda: daemon.instance.get_backfill(backfill.backfill_id).status != BulkActionStatus.REQUESTED,
    )
    assert daemon.instance.get_backfill(backfill.backfill_id).status == BulkActionStatus.COMPLETED_SUCCESS
    assert daemon.materialized(QUENCH) == daemon.materialized(DESCRIPTORS) == {"abm|2.0", "abm|0.05"}

    # a user adds a temperature to the campaign file: partition within one sensor tick, run within one more
    daemon.campaign.write_text(CAMPAIGN.format(temperatures="2.0, 0.05, 0.3"))
    daemon.wait_for("the new temperature", lambda: "abm|0.3" in daemon.materialized(DESCRIPTORS), timeout=300)
    assert daemon.instance.get_dynamic_partitions("abm_quench_temperature") == ["2.0", "0.05", "0.3"]


def test_a_step_killed_during_the_simulation_or_the_warehouse_write_is_retried_into_a_clean_runs_rows(
    daemon_factory, tmp_path
):
    marker = tmp_path / "killed_during_write"
    daemon = daemon_factory("2.0, 0.05", {FAULT_ENV: f"warehouse_write:{marker}"})
    killed = []

    def kill_a_step_during_its_simulation() -> bool:
        """SIGKILL the step process (the parent of a LAMMPS worker) the first time a worker is seen."""
        if not killed:
            for process in psutil.process_iter(["pid", "cmdline"]):
                cmdline = " ".join(process.info["cmdline"] or [])
                if "glass_core.simulation.worker" in cmdline and str(tmp_path) in cmdline:
                    step = process.parent()
                    step.send_signal(signal.SIGKILL)
                    killed.append(step.pid)
                    break
        return bool(killed)

    daemon.wait_for("a simulation to kill", kill_a_step_during_its_simulation, timeout=300)
    daemon.wait_for("both partitions after the retries", lambda: daemon.materialized(QUENCH) == {"abm|2.0", "abm|0.05"})
    assert marker.exists()  # a step was killed inside the warehouse transaction too
    for temperature in ("2.0", "0.05"):
        assert particle_rows(daemon.warehouse, temperature).equals(clean_rows(tmp_path, temperature))
