"""Local launcher: simulation items in worker processes on this machine, one per core."""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from glass_assets.compute_accounting import record_task_usage
from glass_assets.faults import fault_point
from glass_assets.launchers.base import (
    WORKER_MODULE,
    ProgressCallback,
    SimulationError,
    SimulationLauncher,
    result_paths,
    worker_environment,
)

__all__ = ["LocalProcessLauncher"]


class LocalProcessLauncher(SimulationLauncher):
    """Runs simulation items in ``max_workers`` local worker processes (default: one per core).

    Items are dealt round-robin to the workers; each worker writes one result file per item. Result
    files that already exist (from an interrupted earlier run with the same parameters) are reused.
    """

    max_workers: int = 0
    python_executable: str = sys.executable

    def workers(self, n_items: int) -> int:
        wanted = self.max_workers or os.cpu_count() or 1
        return max(1, min(wanted, n_items))

    def run_tasks(
        self,
        kind: str,
        params: dict[str, Any],
        items: list[dict[str, Any]],
        out_dir: Path,
        on_event: ProgressCallback | None = None,
    ) -> list[Path]:
        out_dir = Path(out_dir)
        out_dir.mkdir(parents=True, exist_ok=True)
        n_workers = self.workers(len(items))
        events: queue.Queue[dict[str, Any] | None] = queue.Queue()
        processes = []
        for w in range(n_workers):
            task = {"kind": kind, "params": params, "items": items[w::n_workers], "out_dir": str(out_dir)}
            task_file = out_dir / f"task_{w}.json"
            task_file.write_text(json.dumps(task))
            processes.append(self._start(task_file, events))
        failures = self._collect(events, n_workers, on_event)
        codes = [p.wait() for p in processes]
        if failures:
            first = failures[0]
            raise SimulationError(
                f"{len(failures)} of {len(items)} {kind} items failed; "
                f"first ({first.get('item')}): {first.get('error')}",
                retryable=False,
            )
        if any(codes):
            raise SimulationError(f"a {kind} worker exited with status {max(codes)} (see {out_dir}/worker_*.log)")
        paths = result_paths(out_dir, items)
        missing = [item for item, path in zip(items, paths, strict=True) if not path.exists()]
        if missing:
            raise SimulationError(f"{len(missing)} {kind} items produced no result file, e.g. {missing[0]}")
        return paths

    def _start(self, task_file: Path, events: queue.Queue) -> subprocess.Popen:
        stderr = open(task_file.with_name(task_file.stem.replace("task", "worker") + ".log"), "w")  # noqa: SIM115
        try:
            process = subprocess.Popen(
                [self.python_executable, "-m", WORKER_MODULE, str(task_file)],
                stdout=subprocess.PIPE,
                stderr=stderr,
                text=True,
                env=worker_environment(),
            )
        except OSError as error:
            raise SimulationError(f"cannot start a worker with {self.python_executable}: {error}") from error
        finally:
            stderr.close()

        def pump() -> None:
            assert process.stdout is not None
            with process.stdout:  # closed when the worker's output ends
                for line in process.stdout:
                    try:
                        events.put(json.loads(line))
                    except json.JSONDecodeError:
                        events.put({"event": "output", "text": line.rstrip()})
            events.put(None)

        threading.Thread(target=pump, daemon=True).start()
        return process

    @staticmethod
    def _collect(events: queue.Queue, n_workers: int, on_event: ProgressCallback | None) -> list[dict[str, Any]]:
        finished, failures = 0, []
        started = time.perf_counter()
        while finished < n_workers:
            event = events.get()
            if event is None:
                finished += 1
                continue
            event.setdefault("elapsed", time.perf_counter() - started)
            if event.get("event") == "item_failed":
                failures.append(event)
            if event.get("event") == "task_usage":
                record_task_usage(str(event.get("kind")), event, "worker")
            if on_event:
                on_event(event)
            if event.get("event") == "item_done":
                fault_point("simulation")  # crash tests: the step dies here, its workers' items half done
        return failures
