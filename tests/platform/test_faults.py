"""Fault points kill the process that reaches them, exactly as armed: once per marker, and under a fault plan at
most as often per point and per run worker as the plan says, none after its deadline, each kill logged first."""

import json
import os
import signal
import subprocess
import sys
import time

from glass_assets.faults import FAULT_ENV, FAULT_PLAN_ENV, injected_faults

VISIT = "from glass_assets.faults import fault_point; fault_point('{point}'); print('survived')"


def visit(point: str, env: dict[str, str]) -> int:
    """Reach ``point`` in a fresh process (a child of this one, like steps of one run worker); its exit status."""
    done = subprocess.run(
        [sys.executable, "-c", VISIT.format(point=point)], env={**os.environ, **env}, capture_output=True, text=True,
        timeout=120,
    )
    return done.returncode


def test_a_marker_arms_a_point_once(tmp_path):
    marker = tmp_path / "killed"
    env = {FAULT_ENV: f"warehouse_write:{marker},simulation:{tmp_path / 'other'}"}
    assert visit("mlflow_registration", env) == 0  # another point: nothing happens
    assert visit("warehouse_write", env) == -signal.SIGKILL and marker.exists()
    assert visit("warehouse_write", env) == 0  # the marker exists: inert


def test_a_fault_plan_is_bounded_per_point_per_run_worker_and_in_time(tmp_path):
    log = tmp_path / "faults.jsonl"
    plan = tmp_path / "plan.json"
    points = {"simulation": {"probability": 1.0, "max": 3}, "warehouse_write": {"probability": 1.0, "max": 1}}
    plan.write_text(json.dumps({"points": points, "max_per_run": 2, "seed": 1, "log": str(log),
                                "deadline": time.time() + 600}))
    env = {FAULT_PLAN_ENV: str(plan)}
    statuses = [visit("simulation", env) for _ in range(3)]
    # every visit is a child of this process, i.e. of one "run worker": two kills, then the run is spared
    assert statuses == [-signal.SIGKILL, -signal.SIGKILL, 0]
    assert visit("warehouse_write", env) == 0  # the per-run bound holds across points
    kills = injected_faults(log)
    assert [k["point"] for k in kills] == ["simulation", "simulation"]
    assert {k["run_worker"] for k in kills} == {os.getpid()} and [k["visit"] for k in kills] == [1, 2]

    log.unlink()
    plan.write_text(json.dumps({"points": points, "max_per_run": 5, "seed": 1, "log": str(log),
                                "deadline": time.time() - 1}))
    assert visit("simulation", env) == 0 and not injected_faults(log)  # past the deadline: no fault


def test_a_fault_plan_draws_are_seeded(tmp_path):
    """With probability 0.5 the kills fall on the same visits for the same seed."""
    outcomes = []
    for attempt in range(2):
        folder = tmp_path / str(attempt)
        folder.mkdir()
        plan = folder / "plan.json"
        plan.write_text(json.dumps({"points": {"simulation": {"probability": 0.5, "max": 10}}, "max_per_run": 10,
                                    "seed": 4, "log": str(folder / "faults.jsonl"), "deadline": time.time() + 600}))
        outcomes.append([visit("simulation", {FAULT_PLAN_ENV: str(plan)}) for _ in range(6)])
    assert outcomes[0] == outcomes[1] and -signal.SIGKILL in outcomes[0] and 0 in outcomes[0]
