"""The campaign under a real ``dagster-daemon``: the automation materializes it as a backfill, a restarted daemon
finishes that backfill, a temperature added to the campaign file is computed without anyone asking, a step killed
with SIGKILL (during the simulation or during the warehouse write) is retried into the same rows as a clean run, a
killed run gives its ``simulation`` pool slot back within one monitoring interval, and a whole campaign of several
systems and stages survives random faults and a daemon restart into the tables and models of a clean run.

Each test starts the daemon on a temporary instance (the project's ``dagster.yaml``: pools, run retries, run
monitoring, the health-checked run launcher) with a temporary campaign, a tiny profile and its own warehouse and
registry; nothing is mocked. Every fault is triggered from inside the step, at a named point
(:mod:`glass_assets.faults`), so no test has to catch a process between two polls: the tests only poll for states
that last (a file, a record, a materialization). Minutes, not seconds: the sensors tick every 5 s here (30 s in the
product).
"""

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
from dagster import AssetKey, DagsterInstance, DagsterRunStatus, MultiPartitionKey, RunsFilter
from dagster._core.execution.backfill import BulkActionsFilter, BulkActionStatus

from glass_assets.automation.audit import IN_PROGRESS
from glass_assets.definitions import build_definitions
from glass_assets.ensembles.assets import QUENCHED_ENSEMBLES
from glass_assets.faults import FAULT_ENV, FAULT_PLAN_ENV, injected_faults
from glass_assets.graph import materialize_templates
from glass_assets.resources import LocalProcessLauncher, StudySettings, WarehouseResource
from glass_assets.warehouse import Warehouse, ensemble_key
from tests.helpers.campaigns import TemporaryCampaign, campaign_environment, environment, profiles_file
from tests.helpers.paths import ROOT, TINY_PROFILES

DAEMON = Path(sys.executable).with_name("dagster-daemon")
QUENCH, DESCRIPTORS = AssetKey(["abm", "quenched_ensembles"]), AssetKey(["abm", "structural_descriptors"])
CAMPAIGN = "backfill_schedule: '0 2 * * *'\nsystems:\n  abm:\n    quench: [{temperatures}]\n"

pytestmark = [pytest.mark.lammps, pytest.mark.daemon]


class Daemon:
    """``dagster-daemon run`` on a temporary instance, with the study's environment; stopped with its children."""

    def __init__(self, tmp_path: Path, campaign: str, extra_env: dict[str, str] | None = None,
                 profiles: Path = TINY_PROFILES, profile: str = "tiny"):
        self.home = tmp_path / "dagster_home"
        self.home.mkdir()
        shutil.copy(ROOT / "dagster_home" / "dagster.yaml", self.home / "dagster.yaml")
        self.env = {
            **os.environ,
            **campaign_environment(tmp_path, campaign, profile, profiles),
            "DAGSTER_HOME": str(self.home),
            "GLASS_SENSOR_TICK_SECONDS": "5",  # the product ticks every 30 s; the tests need not wait that long
            **(extra_env or {}),
        }
        self.campaign = Path(self.env["GLASS_CAMPAIGN"])
        self.warehouse = Path(self.env["GLASS_WAREHOUSE"])
        self.log = open(tmp_path / "daemon.log", "a")  # noqa: SIM115 - closed in stop()
        self.log_path = tmp_path / "daemon.log"
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

    def wait_for(self, what: str, condition, timeout: float = 420, every: float = 1.0) -> None:  # noqa: ANN001
        """Poll ``condition`` — a state that lasts once reached (a file, a record), never a passing moment."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if condition():
                return
            if self.process.poll() is not None:
                break
            time.sleep(every)
        log = self.log_path.read_text()[-4000:]
        state = "the daemon exited" if self.process.poll() is not None else f"timed out after {timeout:.0f} s"
        raise AssertionError(f"{state} waiting for {what}; daemon log tail:\n{log}")

    def runs_in_progress(self) -> list:
        return self.instance.get_runs(RunsFilter(statuses=IN_PROGRESS))

    def held_slots(self) -> list:
        return self.instance.event_log_storage.get_concurrency_info("simulation").claimed_slots


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

    def start(campaign: str, extra_env: dict[str, str] | None = None, **kwargs) -> Daemon:
        started.append(Daemon(tmp_path, campaign, extra_env, **kwargs))
        return started[-1]

    yield start
    for daemon in started:
        daemon.stop()


def test_the_daemon_backfills_the_campaign_survives_a_restart_and_computes_a_new_temperature(daemon_factory):
    daemon = daemon_factory(CAMPAIGN.format(temperatures="2.0, 0.05"))
    # the automation's first tick requests both partitions of both assets as one backfill (a record: it stays)
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
    # both kills are armed inside the step, at named points: the first step whose worker finishes an item dies
    # there, and the first step inside a warehouse transaction dies there (retries reuse the finished items)
    during_simulation, during_write = tmp_path / "killed_during_simulation", tmp_path / "killed_during_write"
    daemon = daemon_factory(
        CAMPAIGN.format(temperatures="2.0, 0.05"),
        {FAULT_ENV: f"simulation:{during_simulation},warehouse_write:{during_write}"},
    )
    daemon.wait_for("both partitions after the retries", lambda: daemon.materialized(QUENCH) == {"abm|2.0", "abm|0.05"})
    assert during_simulation.exists() and during_write.exists()  # both faults happened
    for temperature in ("2.0", "0.05"):
        assert particle_rows(daemon.warehouse, temperature).equals(clean_rows(tmp_path, temperature))


def test_a_killed_run_gives_its_simulation_slot_back_within_one_monitoring_interval(daemon_factory, tmp_path):
    """The step kills its run worker and then itself after its first simulation item: the run's slot is free within
    ``run_monitoring.poll_interval_seconds`` (it was held until ``max_runtime_seconds``, then for good)."""
    import yaml

    settings = yaml.safe_load((ROOT / "dagster_home" / "dagster.yaml").read_text())
    poll = settings["run_monitoring"]["poll_interval_seconds"]
    marker = tmp_path / "run_killed"
    daemon = daemon_factory(CAMPAIGN.format(temperatures="2.0"), {FAULT_ENV: f"simulation:{marker}:run"})
    daemon.wait_for("the step to kill its run", marker.exists, timeout=420, every=0.2)
    killed_at = marker.stat().st_mtime
    # the run whose worker died: the first quench run, whatever its status by now (the code server may already have
    # failed it, and run_retries may already have launched its retry, which carries a parent run id)
    (killed,) = [
        run for run in daemon.instance.get_runs()
        if QUENCH in (run.asset_selection or ()) and "dagster/parent_run_id" not in run.tags
    ]
    daemon.wait_for(
        "the killed run's slot to be freed",
        lambda: all(slot.run_id != killed.run_id for slot in daemon.held_slots()),
        timeout=poll + 60,
        every=0.2,
    )
    held = time.time() - killed_at
    assert held <= poll + 5, f"the simulation slot was held {held:.1f} s after the kill (monitoring every {poll} s)"
    # the health check frees the slots first, then run monitoring fails the run: wait for that state, it lasts
    daemon.wait_for(
        "the killed run to be failed",
        lambda: daemon.instance.get_run_by_id(killed.run_id).status == DagsterRunStatus.FAILURE,
        timeout=poll + 60,
        every=0.2,
    )
    # run_retries launches the run again: the partition is materialized by the retry
    daemon.wait_for("the retried run", lambda: daemon.materialized(QUENCH) == {"abm|2.0"}, timeout=300)
    print(f"\nsimulation slot of the killed run held {held:.1f} s (monitoring interval {poll} s)")


# ------------------------------------------------------------------------------ a whole campaign under faults
FAULT_CAMPAIGN = """
systems:
  abm:
    quench: [2.0, 0.05]
    liquid_glass: true
  kam:
    quench: [0.8, 0.05]
  ka2d_ternary:
    swap_mc: [0.5]
"""
#: the tiny profile with 6 quenches per partition (enough for the CNN's three splits), as ``tiny_cnn``
FAULT_PROFILE = {
    "quench.n_samples": 8,
    "quench.protocol.cooling_rate": 2.0,
    "quench.protocol.hold_time": 2.0,
    "cnn.epochs": 3,
    # the classifier gate at test size (as tests/tiny_profiles.yaml's tiny_cnn): 2 / 3 / 3 runs, 6 validation images
    "cnn.split_fractions": [0.25, 0.375, 0.375],
    "cnn.gate_accuracy": 0.6,
    "cnn.min_validation_per_class": 3,
}
#: kills armed inside the steps: which points, how likely at each visit, at most how many; never more than two per run
#: worker (a step's retry policy allows two retries), none after 20 minutes; the draws are seeded
FAULT_PLAN = {
    "points": {
        "simulation": {"probability": 0.3, "max": 2},
        "warehouse_write": {"probability": 0.4, "max": 2},
        "mlflow_registration": {"probability": 1.0, "max": 1},
    },
    "max_per_run": 2,
    "seed": 11,
}


def _champion_digest(tracking_uri: str, name: str) -> str:
    """SHA-256 of the champion's weights (every tensor of its state dict, in order)."""
    import mlflow

    mlflow.set_tracking_uri(tracking_uri)
    mlflow.set_registry_uri(tracking_uri)
    model = mlflow.pytorch.load_model(f"models:/{name}@champion")
    digest = hashlib.sha256()
    for key, tensor in model.state_dict().items():
        digest.update(key.encode())
        digest.update(tensor.detach().cpu().numpy().tobytes())
    return digest.hexdigest()


def test_a_campaign_of_several_systems_survives_random_faults_and_a_daemon_restart(daemon_factory, tmp_path):
    profiles = profiles_file(tmp_path / "profiles.yaml", {"fault_campaign": FAULT_PROFILE})
    log = tmp_path / "faults.jsonl"
    plan = tmp_path / "fault_plan.json"
    plan.write_text(json.dumps({**FAULT_PLAN, "deadline": time.time() + 1200, "log": str(log)}))
    started = time.monotonic()
    daemon = daemon_factory(FAULT_CAMPAIGN, {FAULT_PLAN_ENV: str(plan)}, profiles=profiles, profile="fault_campaign")
    with environment({k: v for k, v in daemon.env.items() if k.startswith(("GLASS_", "MLFLOW_"))}):
        from glass_assets.campaign import load_campaign

        graph = build_definitions(load_campaign(daemon.campaign)).resolve_asset_graph()
    wanted = {}
    for key in graph.get_all_asset_keys():
        definition = graph.get(key).partitions_def
        wanted[key] = None if definition is None else definition  # the report has no partitions

    def every_partition_materialized() -> bool:
        from dagster import partition_loading_context

        with partition_loading_context(dynamic_partitions_store=daemon.instance):
            for key, definition in wanted.items():
                if definition is None:
                    if daemon.instance.get_latest_materialization_event(key) is None:
                        return False
                elif not set(definition.get_partition_keys()) <= daemon.materialized(key):
                    return False
        return True

    # the daemon is killed once, mid-campaign: after the first injected fault (a line in the log, it stays)
    daemon.wait_for("the first fault", lambda: injected_faults(log), timeout=900)
    daemon.kill_daemon_only()
    daemon.start()
    daemon.wait_for("every partition of the campaign", every_partition_materialized, timeout=2400, every=3)
    daemon.wait_for("no run in progress", lambda: not daemon.runs_in_progress(), timeout=300)
    elapsed = time.monotonic() - started

    faults = injected_faults(log)
    by_point = {point: sum(f["point"] == point for f in faults) for point in FAULT_PLAN["points"]}
    assert by_point == {p: spec["max"] for p, spec in FAULT_PLAN["points"].items()}, faults
    assert not daemon.held_slots(), daemon.held_slots()  # no pool slot held by a dead run
    assert not daemon.instance.get_backfills(filters=BulkActionsFilter(statuses=[BulkActionStatus.REQUESTED]))
    failed_runs = daemon.instance.get_runs(RunsFilter(statuses=[DagsterRunStatus.FAILURE]))

    # the same campaign, clean, in this process: every table and the champion model must be the same
    environment_of_clean = campaign_environment(tmp_path / "clean", FAULT_CAMPAIGN, "fault_campaign", profiles)
    clean = TemporaryCampaign(environment_of_clean, DagsterInstance.ephemeral())
    runs, failed = clean.run()
    assert failed == 0
    faulted_tables = Warehouse(daemon.warehouse).table_digests()
    clean_tables = clean.warehouse.table_digests()
    assert faulted_tables == clean_tables
    assert {t for t, d in clean_tables.items() if not d.startswith("0:")} >= {
        "samples", "particles", "descriptors", "grad_cam", "indicator_correlations", "swap_mc_traces",
        "inherent_structures",
    }
    assert _champion_digest(daemon.env["MLFLOW_TRACKING_URI"], "glass_cnn_abm") == _champion_digest(
        clean.env["MLFLOW_TRACKING_URI"], "glass_cnn_abm"
    )
    summary = {
        "faults_injected": len(faults),
        "faults_by_point": by_point,
        "daemon_restarts": 1,
        "faults_survived": len(faults),
        "runs_failed_and_retried": len(failed_runs),
        "tables_compared": len(clean_tables),
        "campaign_minutes": round(elapsed / 60, 1),
    }
    artifacts = Path(os.environ.get("GLASS_TEST_ARTIFACTS", ROOT / "test-artifacts"))
    artifacts.mkdir(parents=True, exist_ok=True)
    (artifacts / "fault_campaign.json").write_text(json.dumps({**summary, "faults": faults}, indent=1))
    print(f"\nfault campaign: {summary}")
