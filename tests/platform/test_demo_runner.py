"""The demo runner frees what a killed demo left behind: its runs and their pool slots."""

import os
import subprocess

from dagster import DagsterInstance, DagsterRun, DagsterRunStatus

from glass_assets.demo import DEMO_PID_TAG, release_abandoned_runs


def _started_run(instance: DagsterInstance, run_id: str, tags: dict[str, str]) -> DagsterRun:
    run = DagsterRun(job_name="__ASSET_JOB", run_id=run_id, status=DagsterRunStatus.STARTED, tags=tags)
    instance.add_run(run)
    return run


def test_a_killed_demos_run_is_failed_and_its_simulation_slot_freed(tmp_path):
    dead = subprocess.Popen(["true"])
    dead.wait()
    with DagsterInstance.local_temp(str(tmp_path)) as instance:
        storage = instance.event_log_storage
        storage.set_concurrency_slots("simulation", 1)
        demo = {"glass/launched_by": "demo"}
        killed = _started_run(instance, "a" * 36, {**demo, DEMO_PID_TAG: str(dead.pid)})
        alive = _started_run(instance, "b" * 36, {**demo, DEMO_PID_TAG: str(os.getpid())})
        daemon = _started_run(instance, "c" * 36, {})
        assert storage.claim_concurrency_slot("simulation", killed.run_id, "abm__cooling_rate_study").is_claimed
        assert not storage.claim_concurrency_slot("simulation", alive.run_id, "abm__quenched_ensembles").is_claimed

        assert release_abandoned_runs(instance) == [killed.run_id]
        assert instance.get_run_by_id(killed.run_id).status == DagsterRunStatus.FAILURE
        assert instance.get_run_by_id(alive.run_id).status == DagsterRunStatus.STARTED
        assert instance.get_run_by_id(daemon.run_id).status == DagsterRunStatus.STARTED
        # the slot the killed run held is free: the next demo's step can take it
        assert storage.get_concurrency_info("simulation").claimed_slots == []
        assert release_abandoned_runs(instance) == []
