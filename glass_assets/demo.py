"""Run the campaign end to end against the project's Dagster instance, no server needed.

``python -m glass_assets.demo`` evaluates the campaign sensor (which adds the campaign's temperatures
as partitions), executes every run it requests, in order, in this process, and evaluates it again
until the campaign is complete (quenches first, then the per-system studies they unlock). The
runs, materializations, checks and plots are stored in ``dagster_home/`` and show in the Dagster UI
(``dagster dev`` with ``DAGSTER_HOME=dagster_home``) exactly as if the daemon had launched them.
"""

import argparse
import os
import sys
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent


def _execute(defs, instance, run, counter: str) -> bool:  # noqa: ANN001 - Dagster objects
    """Execute one run request in this process against ``instance``; print its outcome."""
    assets = [key.to_user_string() for key in run.asset_selection or []]
    print(f"[{counter}] materializing {', '.join(assets)} for {run.partition_key} ...", flush=True)
    job = defs.resolve_implicit_job_def_def_for_assets(run.asset_selection)
    outcome = job.execute_in_process(
        instance=instance,
        partition_key=run.partition_key,
        asset_selection=run.asset_selection,
        tags=run.tags,
        raise_on_error=False,
    )
    checks = outcome.get_asset_check_evaluations()
    failed_checks = [c.check_name for c in checks if not c.passed]
    status = "ok" if outcome.success else "FAILED"
    print(f"    {status}: run {outcome.run_id}, {len(checks)} checks, failed: {failed_checks or 'none'}", flush=True)
    if outcome.success:
        for key in run.asset_selection or []:
            for event in outcome.asset_materializations_for_node(key.path[-1]):
                shown = {
                    k: round(v.value, 3)
                    for k, v in event.metadata.items()
                    if k.startswith(("test_accuracy", "glass_pearson"))
                }
                if shown:
                    print(f"    {key.to_user_string()}: {shown}", flush=True)
    return outcome.success


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--campaign", type=Path, help="campaign file (default: campaign.yaml)")
    args = parser.parse_args(argv)
    os.environ.setdefault("DAGSTER_HOME", str(REPO_ROOT / "dagster_home"))
    if args.campaign:
        os.environ["GLASS_CAMPAIGN"] = str(args.campaign.resolve())

    from dagster import DagsterInstance, SensorResult, SkipReason, build_sensor_context

    from glass_assets.automation.sensors import campaign_requests
    from glass_assets.definitions import defs

    instance = DagsterInstance.get()
    started = time.perf_counter()
    attempted: set[str] = set()
    failed = 0
    # Each evaluation requests what is ready: quenches first, then the per-system studies they unlock.
    for _ in range(10):
        result = campaign_requests(build_sensor_context(instance=instance, definitions=defs))
        if isinstance(result, SkipReason):
            print(f"campaign complete: {result.skip_message}")
            break
        assert isinstance(result, SensorResult)
        for request in result.dynamic_partitions_requests or []:
            instance.add_dynamic_partitions(request.partitions_def_name, list(request.partition_keys))
            print(f"added temperature partitions {list(request.partition_keys)}")
        runs = [r for r in result.run_requests or [] if r.run_key not in attempted]
        if not runs:
            break
        for number, run in enumerate(runs, 1):
            attempted.add(run.run_key)
            failed += not _execute(defs, instance, run, f"{number}/{len(runs)}")
    print(
        f"demo finished in {time.perf_counter() - started:.0f} s; {failed} failed runs. "
        f"Open the UI with: DAGSTER_HOME={os.environ['DAGSTER_HOME']} .venv/bin/dagster dev -w workspace.yaml"
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
