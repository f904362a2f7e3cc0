"""Run the campaign end to end against the project's Dagster instance, no server needed.

``python -m glass_assets.demo`` does in one process what the daemon does with the three sensors: it makes
the temperature partitions equal to the campaign file (``campaign_sensor``), audits the stored partitions against
the warehouse and the registry (``warehouse_audit``), evaluates every asset's automation condition
(``campaign_automation``, :mod:`glass_assets.automation.conditions`), executes what is requested, in graph order,
and evaluates again until nothing more is due (quenches first, then the studies they unlock). An unknown profile
or a profiles file that fails validation stops it before anything is requested (exit status 2); a campaign still
requesting runs after :data:`MAX_ROUNDS` rounds stops it with what is still due (exit status 3). The runs,
materializations, checks and plots are stored in ``dagster_home/`` and show in the Dagster UI (``dagster dev``
with ``DAGSTER_HOME=dagster_home``) as if the daemon had launched them.
"""

import argparse
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

from glass_assets import settings
from glass_assets.paths import REPO_ROOT

#: the demo process that executes a run in process: if it is gone, the run is too
DEMO_PID_TAG = "glass/demo_pid"
#: where the demo keeps its automation cursor between invocations (the instance's key-value store)
CURSOR_KEY = "glass/demo_automation_cursor"
#: metadata the demo prints as text: the classifier gate's verdict on the CNN behind the Grad-CAM numbers
GATE_KEYS = (
    "classifier",
    "classifier_status",
    "grad_cam_finding",
    "grad_cam_finding_density",
    "grad_cam_finding_per_type",
)


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, another user's
        return True
    return True


def release_abandoned_runs(instance) -> list[str]:  # noqa: ANN001 - a DagsterInstance
    """Mark failed the demo runs whose process died (killed, out of memory) and free their pool slots.

    A run executed in process holds its ``simulation`` pool slot until it ends; a killed demo never ends it, so
    without this the next demo would wait on that slot forever. Runs of a live process, and runs the daemon
    launched, are left alone. Returns the released run ids.
    """
    from dagster import DagsterRunStatus, RunsFilter

    statuses = [DagsterRunStatus.STARTING, DagsterRunStatus.STARTED, DagsterRunStatus.CANCELING]
    released = []
    for run in instance.get_runs(RunsFilter(statuses=statuses, tags={"glass/launched_by": "demo"})):
        pid = run.tags.get(DEMO_PID_TAG)
        if pid is None or _process_alive(int(pid)):
            continue
        instance.report_run_failed(run, f"the demo process {pid} that executed this run is gone")
        instance.event_log_storage.free_concurrency_slots_for_run(run.run_id)
        released.append(run.run_id)
    return released


def _execute(defs, instance, keys: list, partition: str | None, counter: str) -> bool:  # noqa: ANN001 - Dagster objects
    """Materialize one partition of ``keys`` (same partitions, graph order) in one run in this process."""
    names = ", ".join(k.to_user_string() for k in keys)
    print(f"[{counter}] materializing {names} for {partition or 'the whole campaign'} ...", flush=True)
    job = defs.resolve_implicit_job_def_def_for_assets(keys)
    outcome = job.execute_in_process(
        instance=instance,
        partition_key=partition,
        asset_selection=keys,
        tags={"glass/launched_by": "demo", DEMO_PID_TAG: str(os.getpid())},
        raise_on_error=False,
    )
    checks = outcome.get_asset_check_evaluations()
    failed_checks = [c.check_name for c in checks if not c.passed]
    status = "ok" if outcome.success else "FAILED"
    print(f"    {status}: run {outcome.run_id}, {len(checks)} checks, failed: {failed_checks or 'none'}", flush=True)
    for key in keys if outcome.success else []:
        for event in outcome.asset_materializations_for_node(key.to_python_identifier()):
            shown = {
                k: round(v.value, 3)
                for k, v in event.metadata.items()
                if k.startswith(("validation_", "test_", "glass_pearson", "pearson_rate"))
                and not k.endswith(("_wilson_low", "_wilson_high"))
                and isinstance(v.value, int | float)
            }
            # the classifier gate's verdict: a Grad-CAM correlation of an unresolved CNN is no finding
            shown |= {k: v.value for k, v in event.metadata.items() if k in GATE_KEYS and isinstance(v.value, str)}
            if shown:
                print(f"    {key.to_user_string()}: {shown}", flush=True)
    return outcome.success


def heal(defs, instance, log=print) -> list[tuple]:  # noqa: ANN001 - Dagster objects
    """What ``warehouse_audit`` would request now: (asset key, partition) of stored partitions whose rows or model
    versions are no longer as recorded and that no damaged or running ancestor holds back."""
    from glass_assets.automation.audit import audit_instance, heal_requests
    from glass_assets.resources import audit_resources

    warehouse, tracking = audit_resources()
    graph = defs.resolve_asset_graph()
    audit, _ = audit_instance(instance, graph, warehouse.get(), tracking.activate(), deep_rows=10**12)
    requests, _ = heal_requests(instance, graph, audit)
    for key, partitions in audit.damaged().items():
        for partition, (_, findings) in partitions.items():
            log(f"{key.to_user_string()} {partition} is not in the warehouse as recorded: "
                + "; ".join(str(f) for f in findings))
    return [(request.asset_selection[0], request.partition_key) for request in requests]


#: rounds of audit, automation and execution before the demo gives up on a graph that keeps requesting runs
MAX_ROUNDS = 50


class CampaignOutcome(NamedTuple):
    """What :func:`run_campaign` did: runs executed, runs failed, and the (asset key, partition) pairs still due when
    it stopped at its round cap (empty when the campaign is complete)."""

    runs: int
    failed: int
    still_due: tuple = ()

    @property
    def complete(self) -> bool:
        return not self.still_due


def load_cursor(instance):  # noqa: ANN001, ANN201 - a DagsterInstance, an AssetDaemonCursor or None
    """The automation cursor the last demo left in the instance, so a condition that compares with the previous
    evaluation (a code version changed by a profile or campaign setting) fires across demos as across daemon ticks;
    None for a first demo or a cursor this Dagster cannot read."""
    from dagster._serdes import deserialize_value

    stored = instance.run_storage.get_cursor_values({CURSOR_KEY}).get(CURSOR_KEY)
    try:
        return deserialize_value(stored) if stored else None
    except Exception:  # noqa: BLE001 - an unreadable cursor only costs the first comparison
        return None


def save_cursor(instance, cursor) -> None:  # noqa: ANN001 - a DagsterInstance, an AssetDaemonCursor
    from dagster._serdes import serialize_value

    instance.run_storage.set_cursor_values({CURSOR_KEY: serialize_value(cursor)})


def run_campaign(
    defs,  # noqa: ANN001 - Dagster Definitions
    instance,  # noqa: ANN001 - a DagsterInstance
    log: Callable[[str], None] = print,
    max_rounds: int = MAX_ROUNDS,
    audit: Callable[..., list[tuple]] = heal,
) -> CampaignOutcome:
    """Evaluate the audit and the automation and execute what they request, in graph order, until nothing is due,
    at most ``max_rounds`` rounds (see :func:`run_rounds`). ``audit(defs, instance, log)`` is what
    ``warehouse_audit`` would request (:func:`heal`)."""
    from dagster import evaluate_automation_conditions

    graph = defs.resolve_asset_graph()
    cursor = load_cursor(instance)

    def due_now() -> list[tuple]:
        nonlocal cursor
        if cursor is not None:  # what the last evaluation requested has run: the next demo may start from it
            save_cursor(instance, cursor)
        result = evaluate_automation_conditions(defs=defs, instance=instance, cursor=cursor)
        cursor = result.cursor
        requested = [
            (key, partition) for key in graph.get_all_asset_keys() for partition in result.get_requested_partitions(key)
        ]
        if not requested:  # nothing left unexecuted in this cursor
            save_cursor(instance, cursor)
        return audit(defs, instance, log) + requested

    return run_rounds(
        graph,
        due_now,
        lambda keys, partition, counter: _execute(defs, instance, keys, partition, counter),
        log,
        max_rounds,
    )


def run_rounds(
    graph,  # noqa: ANN001 - a Dagster asset graph
    due_now: Callable[[], list[tuple]],
    execute: Callable[[list, str | None, str], bool],
    log: Callable[[str], None] = print,
    max_rounds: int = MAX_ROUNDS,
) -> CampaignOutcome:
    """The demo's loop: ask ``due_now()`` for the (asset key, partition) pairs due, execute them as
    :func:`group_runs` groups them (``execute(keys, partition, counter)`` → success), and ask again, until nothing is
    due. After ``max_rounds`` rounds of execution it asks once more; if something is still due it stops anyway and
    says so (``log``, and the outcome's ``still_due``): the graph is not done."""
    runs_done, failed, rounds = 0, 0, 0
    while due := _in_graph_order(graph, due_now()):
        if rounds == max_rounds:
            shown = ", ".join(f"{key.to_user_string()} {partition or ''}".rstrip() for key, partition in due[:10])
            more = f" and {len(due) - 10} more" if len(due) > 10 else ""
            log(f"warning: stopped after {_count(max_rounds, 'round')} with {_count(len(due), 'asset partition')} "
                f"still due, the campaign is not complete: {shown}{more}")
            return CampaignOutcome(runs_done, failed, tuple(due))
        runs = group_runs(graph, due)
        for number, (partition, keys) in enumerate(runs, 1):
            failed += not execute(keys, partition, f"{number}/{len(runs)}")
            runs_done += 1
        rounds += 1
    log("campaign complete: no asset is due")
    return CampaignOutcome(runs_done, failed)


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _in_graph_order(graph, due: list[tuple]) -> list[tuple]:  # noqa: ANN001 - a Dagster asset graph
    order = {key: n for n, key in enumerate(graph.toposorted_asset_keys)}
    return sorted(set(due), key=lambda kp: (order[kp[0]], str(kp[1])))


def group_runs(graph, due: list[tuple]) -> list[tuple[str | None, list]]:  # noqa: ANN001 - a Dagster asset graph
    """One run per partition of the due assets that share their partitions definition, as the daemon launches them,
    each run after every run that holds one of its keys' ancestors: [(partition, [asset keys in graph order])]."""
    runs: dict[tuple[int, str | None], list] = {}
    for key, partition in _in_graph_order(graph, due):
        runs.setdefault(
            (id(graph.get(key).partitions_def), None if partition is None else str(partition)), []
        ).append(key)
    return _graph_order(graph, runs)


def _graph_order(graph, runs: dict) -> list[tuple[str | None, list]]:  # noqa: ANN001 - a Dagster asset graph
    """The runs, each after every run that holds one of its keys' ancestors (a backfill's order)."""
    pending = [(partition, keys) for (_, partition), keys in runs.items()]
    ordered = []
    while pending:
        for index, (_, keys) in enumerate(pending):
            ancestors = set().union(*(graph.get_ancestor_asset_keys(k) for k in keys)) - set(keys)
            if not any(ancestors & set(other) for i, (_, other) in enumerate(pending) if i != index):
                break
        else:
            # runs that wait on each other (a per-system model, per-temperature predictions from it, a per-system
            # summary of those, all due after a setting changed): run the first one's keys that wait on no other
            # run now, the rest of it after the runs they wait on
            partition, keys = pending[0]
            others = set().union(*(set(other) for _, other in pending[1:]))
            ready = [k for k in keys if not graph.get_ancestor_asset_keys(k) & others]
            if ready and len(ready) < len(keys):
                ordered.append((partition, ready))
                pending[0] = (partition, [k for k in keys if k not in ready])
                continue
            index = 0
        ordered.append(pending.pop(index))
    return ordered


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--campaign", type=Path, help="campaign file (default: campaign.yaml)")
    args = parser.parse_args(argv)
    # the demo's defaults, set in the environment so the run workers it launches inherit them (glass_assets.settings)
    os.environ.setdefault(settings.DAGSTER_HOME.name, str(REPO_ROOT / "dagster_home"))
    if args.campaign:
        os.environ[settings.CAMPAIGN.name] = str(args.campaign.resolve())

    import logging

    from glass_assets.profiles import ProfileError, configured_profile

    try:  # before anything is requested or written
        profile = configured_profile()
    except ProfileError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2

    from dagster import DagsterInstance

    from glass_assets.automation.sensors import sync_partitions
    from glass_assets.campaign import load_campaign
    from glass_assets.definitions import defs

    logging.getLogger("dagster.automation_condition_tester").setLevel(logging.WARNING)
    instance = DagsterInstance.get()
    started = time.perf_counter()
    print(f"profile {profile.name} ({profile.path})")
    for run_id in release_abandoned_runs(instance):
        print(f"run {run_id} of a demo that was killed: marked failed, its pool slots freed")
    for change in sync_partitions(instance, load_campaign()):
        print(change)
    outcome = run_campaign(defs(), instance)
    print(
        f"demo {'finished' if outcome.complete else 'stopped'} in {time.perf_counter() - started:.0f} s; "
        f"{outcome.failed} failed runs. "
        f"Open the UI with: DAGSTER_HOME={settings.DAGSTER_HOME.raw()} .venv/bin/dagster dev -w workspace.yaml"
    )
    if not outcome.complete:
        print(
            f"error: the campaign is not complete: {_count(len(outcome.still_due), 'asset partition')} still due "
            f"after {_count(MAX_ROUNDS, 'round')}; run the demo again to go on",
            file=sys.stderr,
        )
        return 3
    return 1 if outcome.failed else 0


if __name__ == "__main__":
    sys.exit(main())
