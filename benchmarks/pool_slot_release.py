"""How long a killed run keeps its ``simulation`` pool slot, under a real ``dagster-daemon``.

A temporary instance (the given ``dagster.yaml``), a campaign of one tiny quench partition, and the step armed to kill
its run worker and then itself when its first simulation item finishes (``GLASS_FAULT_KILL=simulation:<marker>:run``,
:mod:`glass_assets.faults`): the kill happens inside the step, at a known moment (the marker file's time), never by
catching a process between polls. Then the slot table is read every 0.5 s until that run no longer holds a slot,
or ``--timeout`` passes.

    python benchmarks/pool_slot_release.py                                   # this checkout's dagster.yaml
    python benchmarks/pool_slot_release.py --dagster-yaml /tmp/before.yaml   # e.g. git show 85eb3b3:dagster_home/…

Ends with ``RESULT pool_slot_hold_seconds <s> s ratio=<s / poll interval>`` (a held slot at the timeout prints the
timeout and ``held=true``).
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml
from dagster import DagsterInstance, DagsterRunStatus, RunsFilter

ROOT = Path(__file__).resolve().parent.parent
TINY_PROFILES = ROOT / "tests" / "tiny_profiles.yaml"
CAMPAIGN = "systems:\n  abm:\n    quench: [2.0]\n"


def measure(dagster_yaml: Path, timeout: float, folder: Path) -> dict:
    home = folder / "home"
    home.mkdir(parents=True)
    shutil.copy(dagster_yaml, home / "dagster.yaml")
    (folder / "campaign.yaml").write_text(CAMPAIGN)
    marker = folder / "killed"
    env = {
        **os.environ,
        "DAGSTER_HOME": str(home),
        "GLASS_CAMPAIGN": str(folder / "campaign.yaml"),
        "GLASS_PROFILE": "tiny",
        "GLASS_PROFILES_FILE": str(TINY_PROFILES),
        "GLASS_WAREHOUSE": str(folder / "warehouse.duckdb"),
        "GLASS_SCRATCH": str(folder / "scratch"),
        "MLFLOW_TRACKING_URI": f"sqlite:///{folder / 'mlflow.db'}",
        "GLASS_MLFLOW_ARTIFACTS": str(folder / "artifacts"),
        "GLASS_SENSOR_TICK_SECONDS": "5",
        "GLASS_FAULT_KILL": f"simulation:{marker}:run",
    }
    instance = DagsterInstance.from_config(str(home))
    log = open(folder / "daemon.log", "w")  # noqa: SIM115 - closed below
    daemon = subprocess.Popen(
        [str(Path(sys.executable).with_name("dagster-daemon")), "run", "-w", str(ROOT / "workspace.yaml")],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )
    poll = yaml.safe_load(dagster_yaml.read_text()).get("run_monitoring", {}).get("poll_interval_seconds", 120)
    try:
        deadline = time.monotonic() + 600
        while not marker.exists():  # the kill is armed inside the step: this waits for a file, not a moment
            if time.monotonic() > deadline or daemon.poll() is not None:
                raise RuntimeError(f"no step reached the fault point; see {folder / 'daemon.log'}")
            time.sleep(0.5)
        killed_at = marker.stat().st_mtime
        runs = instance.get_runs(RunsFilter(statuses=[DagsterRunStatus.STARTED]))
        run_id = runs[-1].run_id if runs else None
        info = instance.event_log_storage.get_concurrency_info("simulation")
        print(f"at the kill: run {run_id}; simulation pool limit {info.slot_count}, claimed "
              f"{[(c.run_id[:8], c.step_key) for c in info.claimed_slots]}")
        held = True
        while time.time() - killed_at < timeout:
            claimed = instance.event_log_storage.get_concurrency_info("simulation").claimed_slots
            if run_id is not None and all(slot.run_id != run_id for slot in claimed):
                held = False
                break
            time.sleep(0.5)
        seconds = time.time() - killed_at
        status = instance.get_run_by_id(run_id).status.value if run_id else "unknown"
        return {"seconds": seconds, "held": held, "run_status": status, "poll_interval": poll}
    finally:
        os.killpg(daemon.pid, signal.SIGKILL)
        log.close()
        instance.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dagster-yaml", type=Path, default=ROOT / "dagster_home" / "dagster.yaml")
    parser.add_argument("--timeout", type=float, default=300.0, help="stop waiting for the slot after this long (s)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="pool-slot-") as tmp:
        result = measure(args.dagster_yaml.resolve(), args.timeout, Path(tmp))
    print(f"killed run's slot {'still held' if result['held'] else 'freed'} after {result['seconds']:.1f} s; "
          f"run status {result['run_status']}; monitoring poll interval {result['poll_interval']} s")
    ratio = result["seconds"] / result["poll_interval"]
    print(f"RESULT pool_slot_hold_seconds {result['seconds']:.1f} s ratio={ratio:.2f}"
          + (" held=true" if result["held"] else ""))


if __name__ == "__main__":
    main()
