"""Run the campaign end to end against the project's Dagster instance, no server needed.

``python -m glass_assets.demo`` evaluates the campaign sensor once (which adds the campaign's
temperatures as partitions), then executes every run it requests, in order, in this process. The
runs, materializations, checks and plots are stored in ``dagster_home/`` and show in the Dagster UI
(``dagster dev`` with ``DAGSTER_HOME=dagster_home``) exactly as if the daemon had launched them.
"""

import argparse
import os
import sys
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent


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
    result = campaign_requests(build_sensor_context(instance=instance, definitions=defs))
    if isinstance(result, SkipReason):
        print(f"nothing to do: {result.skip_message}")
        return 0
    assert isinstance(result, SensorResult)
    for request in result.dynamic_partitions_requests or []:
        instance.add_dynamic_partitions(request.partitions_def_name, list(request.partition_keys))
        print(f"added temperature partitions {list(request.partition_keys)}")
    failed = 0
    for number, run in enumerate(result.run_requests or [], 1):
        assets = [key.to_user_string() for key in run.asset_selection or []]
        print(
            f"[{number}/{len(result.run_requests)}] materializing {', '.join(assets)} for {run.partition_key} ...",
            flush=True,
        )
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
        print(
            f"    {status}: run {outcome.run_id}, {len(checks)} checks, failed: {failed_checks or 'none'}", flush=True
        )
        failed += not outcome.success
    print(
        f"demo finished in {time.perf_counter() - started:.0f} s; {failed} failed runs. "
        f"Open the UI with: DAGSTER_HOME={os.environ['DAGSTER_HOME']} .venv/bin/dagster dev -w workspace.yaml"
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
