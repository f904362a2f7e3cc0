"""Fault injection from inside a step, for the crash tests: the step kills itself at a named point, so a test never
has to catch a process between two polls.

Named points (each a call of :func:`fault_point` in the code that reaches it):

- ``simulation`` — in the local launcher, each time a worker reports a finished item while others still run;
- ``warehouse_write`` — inside the warehouse transaction, rows deleted and inserted, not committed (injected: the
  ``warehouse`` resource hands :func:`armed_fault_hook` to the :class:`~glass_assets.warehouse.Warehouse`);
- ``mlflow_registration`` — a model version registered, its alias (champion or challenger) not yet set.

Two ways to arm them, both through the environment of the step process:

``GLASS_FAULT_KILL=<point>:<marker file>[:run][,<point>:<marker file>…]``
    SIGKILL this process (with ``:run``, first its parent, the run worker that started the step) the first time
    ``<point>`` is reached, creating the marker file first; once the marker exists the point is inert.
``GLASS_FAULT_PLAN=<plan.json>``
    A bounded random injector for a whole campaign: ``{"points": {"simulation": {"probability": 0.3, "max": 2},
    …}, "max_per_run": 2, "deadline": <unix time>, "seed": 1, "log": "<faults.jsonl>"}``. At the k-th visit of a
    listed point, under an exclusive lock, a draw seeded by (seed, point, k) decides with the point's probability
    whether to kill; at most ``max`` kills per point, at most ``max_per_run`` per run worker (the step's parent, so
    no step is killed more often than its retry policy allows), none after ``deadline``. Every kill is a line of
    the log (point, pid, run worker, time, visit) written and synced before the SIGKILL, so a test counts exactly
    the faults it injected.
"""

from __future__ import annotations

import fcntl
import functools
import json
import os
import random
import signal
import time
from collections.abc import Callable
from pathlib import Path

from glass_assets.settings import FAULT_KILL, FAULT_PLAN

__all__ = ["FAULT_ENV", "FAULT_PLAN_ENV", "POINTS", "armed_fault_hook", "fault_point", "injected_faults"]

FAULT_ENV = FAULT_KILL.name
FAULT_PLAN_ENV = FAULT_PLAN.name
POINTS = ("simulation", "warehouse_write", "mlflow_registration")


def fault_point(name: str) -> None:
    """Kill this process here if :data:`FAULT_ENV` or :data:`FAULT_PLAN_ENV` says so; otherwise do nothing."""
    for entry in filter(None, (FAULT_KILL.raw() or "").split(",")):
        point, _, rest = entry.partition(":")
        marker, _, scope = rest.partition(":")
        if point == name and marker and not os.path.exists(marker):
            Path(marker).touch()
            _kill(scope == "run")
    plan = FAULT_PLAN.get()
    if plan:
        _planned(name, plan)


def armed_fault_hook(name: str) -> Callable[[], None] | None:
    """``fault_point(name)`` as a hook to inject (the warehouse's ``before_commit``) when :data:`FAULT_ENV` or
    :data:`FAULT_PLAN_ENV` is set as the hook is made, else ``None``: outside the crash tests nothing is injected."""
    if not (FAULT_KILL.is_set() or FAULT_PLAN.is_set()):
        return None
    return functools.partial(fault_point, name)


def _kill(run_worker_too: bool) -> None:
    if run_worker_too:
        os.kill(os.getppid(), signal.SIGKILL)
    os.kill(os.getpid(), signal.SIGKILL)


def _planned(name: str, plan_path: Path) -> None:
    plan = json.loads(plan_path.read_text())
    point = plan.get("points", {}).get(name)
    if not point or time.time() > float(plan.get("deadline", float("inf"))):
        return
    log = Path(plan["log"])
    counters = log.with_suffix(".visits.json")
    with open(log.with_suffix(".lock"), "a+") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        visits = json.loads(counters.read_text()) if counters.exists() else {}
        visit = visits.get(name, 0) + 1
        visits[name] = visit
        counters.write_text(json.dumps(visits))
        kills = injected_faults(log)
        run_worker = os.getppid()
        if (
            sum(k["point"] == name for k in kills) >= int(point.get("max", 1))
            or sum(k["run_worker"] == run_worker for k in kills) >= int(plan.get("max_per_run", 2))
            or random.Random(f"{plan.get('seed', 0)}:{name}:{visit}").random() >= float(point["probability"])
        ):
            return
        record = {"point": name, "pid": os.getpid(), "run_worker": run_worker, "time": time.time(), "visit": visit}
        with open(log, "a") as handle:
            handle.write(json.dumps(record) + "\n")
            handle.flush()
            os.fsync(handle.fileno())
    _kill(False)


def injected_faults(log: Path) -> list[dict]:
    """The kills a fault plan's log records, in order."""
    log = Path(log)
    if not log.exists():
        return []
    return [json.loads(line) for line in log.read_text().splitlines() if line.strip()]
