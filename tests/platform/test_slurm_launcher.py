"""The Slurm launcher: settings and errors without a cluster, then real partitions through a live slurmctld.

Tests marked ``slurm`` need a reachable Slurm (``scripts/start_local_slurm.sh`` starts a one-node one);
they skip without one, except in CI (``CI=true``) where a missing Slurm is a failure.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest
import yaml
from dagster import DagsterInstance, DagsterRunStatus, MultiPartitionKey

from glass_assets.ensembles.assets import QUENCHED_ENSEMBLES
from glass_assets.equilibria.assets import SWAP_MC_EQUILIBRIA
from glass_assets.graph import materialize_templates
from glass_assets.launchers import (
    LocalProcessLauncher,
    SlurmConfigError,
    SlurmError,
    SlurmLauncher,
    SlurmUnavailableError,
    configured_launcher,
)
from glass_assets.launchers.base import REPO_ROOT, WORKER_MODULE
from glass_assets.launchers.slurm import ArrayTask, describe_lost_task, task_states
from glass_assets.resources import SimulationError, StudySettings, WarehouseResource
from glass_assets.warehouse import Warehouse, ensemble_key
from tests.helpers.paths import TINY_PROFILES


def slurm_unreachable_reason() -> str | None:
    """Why no Slurm can take jobs here, or None when sinfo answers with a usable node."""
    if shutil.which("sbatch") is None or shutil.which("sinfo") is None:
        return "Slurm's commands (sbatch, sinfo) are not installed; run scripts/start_local_slurm.sh as root"
    try:
        info = subprocess.run(["sinfo", "-h", "-o", "%T"], capture_output=True, text=True, timeout=20)
    except subprocess.TimeoutExpired:
        return "sinfo did not answer within 20 s: slurmctld is not reachable"
    states = info.stdout.split()
    if info.returncode != 0 or not any(s.rstrip("*~#").lower() in {"idle", "mixed", "allocated"} for s in states):
        return f"no usable Slurm node (sinfo: {(info.stderr or info.stdout).strip() or 'no nodes'})"
    return None


@pytest.fixture(scope="module")
def slurm_cluster() -> None:
    reason = slurm_unreachable_reason()
    if reason is None:
        return
    if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
        pytest.fail(f"CI must run the Slurm tests, but {reason}")
    pytest.skip(f"no Slurm reachable: {reason}")


slurm = pytest.mark.slurm


def profiles_with_hold_time(tmp_path: Path, hold_time: float) -> Path:
    """The tiny profiles with longer quenches (more hold steps), so a test can catch tasks running."""
    profiles = yaml.safe_load(TINY_PROFILES.read_text())
    profiles["tiny"]["quench"]["protocol"]["hold_time"] = hold_time
    path = tmp_path / "profiles.yaml"
    path.write_text(yaml.safe_dump(profiles))
    return path


def resources(tmp_path: Path, launcher: object, profiles: Path = TINY_PROFILES) -> dict[str, object]:
    return {
        "study": StudySettings(profile="tiny", profiles_file=str(profiles), scratch_dir=str(tmp_path / "scratch")),
        "simulation": launcher,
        "warehouse": WarehouseResource(path=str(tmp_path / "warehouse.duckdb")),
    }


def materialize_partition(asset, res, system, temperature, instance=None, raise_on_error=True):
    instance = instance or DagsterInstance.ephemeral()
    return materialize_templates(
        [asset],
        instance=instance,
        resources=res,
        raise_on_error=raise_on_error,
        partition_key=MultiPartitionKey({"system": system, "temperature": temperature}),
    )


def slurm_metadata(result, asset_name: str) -> dict[str, str]:
    event = next(e for e in result.get_asset_materialization_events() if e.asset_key.path[-1] == asset_name)
    metadata = event.materialization.metadata
    return {key: metadata[key].value for key in ("slurm_job_ids", "slurm_array_sizes")}


def wait_for(condition, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def submitted_job(scratch: Path, attempt: int = 0) -> str | None:
    found = sorted(scratch.glob(f"**/slurm/attempt{attempt}_*/submitted.json"))
    return json.loads(found[0].read_text())["job_id"] if found else None


def sacct_array_states(job_id: str) -> dict[str, str]:
    """Array task → end state from ``sacct``; with no accounting database (Debian's one-node setup) from
    the job-completion log (``sacct -c``), which lists array tasks under their raw job ids."""
    plain = subprocess.run(
        ["sacct", "-X", "-n", "-P", "-j", job_id, "-o", "JobID,State"], capture_output=True, text=True, timeout=30
    )
    if plain.returncode == 0 and plain.stdout.strip():
        return dict(line.split("|")[:2] for line in plain.stdout.splitlines() if "_" in line)
    raw_ids = subprocess.run(
        ["squeue", "-h", "-r", "-t", "all", "-j", job_id, "-o", "%i|%A"], capture_output=True, text=True, timeout=30
    )
    task_of_raw = {raw: task for task, raw in (line.split("|") for line in raw_ids.stdout.split())}
    completion = subprocess.run(["sacct", "-c", "-n", "-P", "-o", "JobIDRaw,State"], capture_output=True, text=True)
    assert completion.returncode == 0, completion.stderr
    rows = (line.split("|") for line in completion.stdout.split())
    return {task_of_raw[raw]: state for raw, state in rows if raw in task_of_raw}


# ---- without a cluster ------------------------------------------------------------------------------


def test_launcher_is_chosen_by_environment_with_slurm_settings():
    assert isinstance(configured_launcher({}), LocalProcessLauncher)
    launcher = configured_launcher(
        {
            "GLASS_LAUNCHER": "slurm",
            "GLASS_SLURM_PARTITION": "compute",
            "GLASS_SLURM_ITEMS_PER_TASK": "4",
            "GLASS_SLURM_POLL_SECONDS": "0.5",
            "GLASS_SLURM_EXTRA_SBATCH_LINES": "#SBATCH --constraint=avx2\n#SBATCH --exclusive",
            "GLASS_SLURM_SETUP_LINES": "module load gcc\nsource /shared/glass/.venv/bin/activate",
        }
    )
    assert isinstance(launcher, SlurmLauncher)
    assert (launcher.partition, launcher.items_per_task, launcher.poll_seconds) == ("compute", 4, 0.5)
    assert launcher.extra_sbatch_lines == ["#SBATCH --constraint=avx2", "#SBATCH --exclusive"]
    assert launcher.setup_lines == ["module load gcc", "source /shared/glass/.venv/bin/activate"]
    with pytest.raises(SlurmConfigError, match="GLASS_LAUNCHER='kubernetes'"):
        configured_launcher({"GLASS_LAUNCHER": "kubernetes"})
    with pytest.raises(SlurmConfigError, match="GLASS_SLURM_MAX_RETRIES='many'"):
        configured_launcher({"GLASS_LAUNCHER": "slurm", "GLASS_SLURM_MAX_RETRIES": "many"})


def test_batch_script_carries_every_option_and_chunks_to_the_array_limit(tmp_path):
    launcher = SlurmLauncher(
        partition="compute",
        account="glass",
        qos="long",
        time_limit="04:00:00",
        mem_per_task="2G",
        max_concurrent_tasks=50,
        extra_sbatch_lines=["#SBATCH --constraint=avx2"],
        setup_lines=["module load gcc"],
        max_array_tasks=1000,
    )
    script = launcher.batch_script("quench", tmp_path, n_tasks=1000)
    for line in (
        "--partition=compute",
        "--account=glass",
        "--qos=long",
        "--time=04:00:00",
        "--mem=2G",
        "--array=0-999%50",
        "--constraint=avx2",
        "--no-requeue",
        "\nmodule load gcc\n",
        f"-m {WORKER_MODULE} ",
    ):
        assert line in script
    (tmp_path / "array.sbatch").write_text(script)
    assert subprocess.run(["bash", "-n", str(tmp_path / "array.sbatch")]).returncode == 0
    # 10^4 items on a 1000-task array limit: 10 items per task, exactly 1000 tasks
    assert launcher.items_per_array_task(10_000) == 10 and launcher.items_per_array_task(999) == 1
    with pytest.raises(SlurmConfigError, match="items_per_task must be ≥ 1, got 0"):
        SlurmLauncher(items_per_task=0).check_settings()
    with pytest.raises(SlurmConfigError, match="must start with '#SBATCH '"):
        SlurmLauncher(extra_sbatch_lines=["--exclusive"]).check_settings()


def test_missing_sbatch_and_unwritable_scratch_are_clear_errors(tmp_path, monkeypatch):
    items = [{"sample": 0, "seed": 1}]
    blocker = tmp_path / "a_file"
    blocker.write_text("")
    with pytest.raises(SlurmError, match=f"scratch folder {blocker}/out is not writable"):
        SlurmLauncher().run_tasks("quench", {}, items, blocker / "out")
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    with pytest.raises(SlurmUnavailableError, match="sbatch, squeue, scancel not found on PATH"):
        SlurmLauncher().run_tasks("quench", {}, items, tmp_path / "out")


def test_time_limit_message_names_job_task_state_and_stderr(tmp_path):
    task = ArrayTask(3, [{"sample": 7, "seed": 1}], tmp_path)
    task.file("err").write_text("LAMMPS step 10000\nslurmstepd: error: *** JOB 41 CANCELLED DUE TO TIME LIMIT ***\n")
    message = describe_lost_task("40", task, "TIMEOUT", "quench")
    assert "quench task 40_3" in message and "TIMEOUT" in message and "time limit" in message
    assert str(task.file("err")) in message and "CANCELLED DUE TO TIME LIMIT" in message
    assert "the batch script did not finish" in message


# ---- against a live slurmctld ------------------------------------------------------------------------


@slurm
@pytest.mark.lammps
def test_quench_partition_through_slurm_equals_local_run(slurm_cluster, tmp_path):
    launcher = SlurmLauncher(items_per_task=2, poll_seconds=0.5)
    instance = DagsterInstance.ephemeral()
    result = materialize_partition(QUENCHED_ENSEMBLES, resources(tmp_path / "slurm", launcher), "kam", "0.4", instance)
    assert result.success
    assert all(c.passed for c in result.get_asset_check_evaluations())
    meta = slurm_metadata(result, "quenched_ensembles")
    # 3 items, 2 per task; a task lost to a stray signal on a busy machine is retried in a later array
    assert meta["slurm_array_sizes"].split(",")[0] == "2"
    job_id, n_tasks = meta["slurm_job_ids"].split(",")[-1], int(meta["slurm_array_sizes"].split(",")[-1])
    messages = [entry.user_message for entry in instance.all_logs(result.run_id)]
    assert any(f"Slurm job {job_id}: 0 queued, 0 running, {n_tasks}/{n_tasks} tasks done" in m for m in messages)
    assert sacct_array_states(job_id) == {f"{job_id}_{i}": "COMPLETED" for i in range(n_tasks)}

    local = materialize_partition(
        QUENCHED_ENSEMBLES, resources(tmp_path / "local", LocalProcessLauncher()), "kam", "0.4"
    )
    assert local.success
    key = ensemble_key("kam", 0.4, "quenched")
    columns = ["sample", "particle", "type", "x", "y"]
    through_slurm = Warehouse(tmp_path / "slurm" / "warehouse.duckdb").read_partition("particles", key)
    through_local = Warehouse(tmp_path / "local" / "warehouse.duckdb").read_partition("particles", key)
    assert through_slurm.height == 3 * 64
    assert through_slurm.select(columns).sort(columns[:2]).equals(through_local.select(columns).sort(columns[:2]))


@slurm
def test_swap_mc_partition_through_slurm(slurm_cluster, tmp_path):
    launcher = SlurmLauncher(items_per_task=1, poll_seconds=0.5)
    result = materialize_partition(SWAP_MC_EQUILIBRIA, resources(tmp_path, launcher), "ka2d_ternary", "0.5")
    assert result.success
    checks = {c.check_name: c.passed for c in result.get_asset_check_evaluations()}
    assert checks["no_overlaps"] and checks["energy_matches_numpy"]
    assert slurm_metadata(result, "swap_mc_equilibria")["slurm_array_sizes"] == "2"  # one chain per task
    store = Warehouse(tmp_path / "warehouse.duckdb")
    assert store.read_partition("samples", ensemble_key("ka2d_ternary", 0.5, "swap_mc")).height == 4
    counts = store.query("SELECT sample, type, count(*) AS n FROM particles WHERE ensemble = 'swap_mc' GROUP BY ALL")
    for _, rows in counts.group_by("sample"):  # swaps exchange types: the composition is that of N = 64
        assert rows.sort("type")["n"].to_list() == [30, 16, 18]


@slurm
@pytest.mark.lammps
def test_killed_task_is_retried_without_rerunning_finished_ones(slurm_cluster, tmp_path):
    profiles = profiles_with_hold_time(tmp_path, hold_time=60.0)
    launcher = SlurmLauncher(items_per_task=1, poll_seconds=0.5, max_retries=1)
    res = resources(tmp_path, launcher, profiles)
    outcome, instance = {}, DagsterInstance.ephemeral()
    worker = threading.Thread(
        target=lambda: outcome.update(result=materialize_partition(QUENCHED_ENSEMBLES, res, "kam", "0.4", instance))
    )
    worker.start()
    job_id = wait_for(lambda: submitted_job(tmp_path / "scratch"), 60, "the array to be submitted")
    wait_for(lambda: task_states(job_id).get(0) == "RUNNING", 60, f"task {job_id}_0 to run")
    subprocess.run(["scancel", f"{job_id}_0"], check=True)
    worker.join(timeout=120)
    result = outcome["result"]
    assert result.success
    meta = slurm_metadata(result, "quenched_ensembles")
    first, retry = meta["slurm_job_ids"].split(",")
    assert first == job_id and meta["slurm_array_sizes"] == "3,1"  # only the killed item ran again
    assert task_states(job_id)[0].startswith("CANCELLED")
    messages = [entry.user_message for entry in instance.all_logs(result.run_id)]
    assert any(f"task {job_id}_0 (1 items, first {{'sample': 0" in m and "CANCELLED" in m for m in messages)
    assert sum(m.startswith("quench ") and "/3 done" in m for m in messages) == 3  # each item finished once
    assert (
        Warehouse(tmp_path / "warehouse.duckdb").read_partition("samples", ensemble_key("kam", 0.4, "quenched")).height
        == 3
    )


@slurm
@pytest.mark.lammps
def test_terminating_the_dagster_run_cancels_the_array(slurm_cluster, tmp_path):
    """The run's process gets SIGTERM, as a run launcher's terminate does; Dagster raises
    DagsterExecutionInterruptedError inside the asset, and the launcher scancels the array."""
    profiles = profiles_with_hold_time(tmp_path, hold_time=2000.0)
    script = textwrap.dedent(f"""
        from dagster import DagsterInstance, MultiPartitionKey
        from glass_assets.ensembles.assets import QUENCHED_ENSEMBLES
        from glass_assets.graph import materialize_templates
        from glass_assets.launchers import SlurmLauncher
        from glass_assets.resources import StudySettings, WarehouseResource
        instance = DagsterInstance.local_temp({str(tmp_path / "dagster")!r})
        resources = {{
            "study": StudySettings(profile="tiny", profiles_file={str(profiles)!r},
                                   scratch_dir={str(tmp_path / "scratch")!r}),
            "simulation": SlurmLauncher(poll_seconds=0.5),
            "warehouse": WarehouseResource(path={str(tmp_path / "w.duckdb")!r}),
        }}
        materialize_templates([QUENCHED_ENSEMBLES], instance=instance, resources=resources, raise_on_error=False,
                    partition_key=MultiPartitionKey({{"system": "kam", "temperature": "0.4"}}))
    """)
    (tmp_path / "dagster").mkdir()
    log = tmp_path / "run.log"
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO_ROOT), os.environ.get("PYTHONPATH", "")]))
    with log.open("w") as output:
        run = subprocess.Popen([sys.executable, "-c", script], stdout=output, stderr=subprocess.STDOUT, env=env)
    try:
        job_id = wait_for(lambda: run.poll() is None and submitted_job(tmp_path / "scratch"), 90, "a submission")
        wait_for(lambda: "RUNNING" in task_states(job_id).values(), 60, f"a task of job {job_id} to run")
        run.send_signal(signal.SIGTERM)
        run.wait(timeout=60)
    except (AssertionError, subprocess.TimeoutExpired) as error:
        raise AssertionError(f"{error}; the run's output ends: {log.read_text()[-3000:]}") from error
    finally:
        if run.poll() is None:
            run.kill()
    states = wait_for(
        lambda: (s := task_states(job_id)) and all(v.startswith("CANCELLED") for v in s.values()) and s,
        30,
        f"every task of {job_id} to be cancelled",
    )
    assert set(states) == {0, 1, 2}, (states, log.read_text()[-2000:])
    instance = DagsterInstance.local_temp(str(tmp_path / "dagster"))
    [record] = instance.get_run_records()
    assert record.dagster_run.status == DagsterRunStatus.FAILURE
    messages = [e.message for e in instance.all_logs(record.dagster_run.run_id)]
    assert any(f"Slurm job {job_id}: cancelled" in m for m in messages), messages[-10:]
    assert not list((tmp_path / "scratch").glob("**/sample_*.npz"))  # no result, let alone a half one
    assert Warehouse(tmp_path / "w.duckdb").read_partition("samples", ensemble_key("kam", 0.4, "quenched")).height == 0


@slurm
@pytest.mark.lammps
def test_rejected_submission_names_slurm_message_and_leaves_warehouse(slurm_cluster, tmp_path):
    res = resources(tmp_path, SlurmLauncher(partition="no_such_partition"))
    with pytest.raises(SlurmError, match="sbatch rejected the quench array .*[Ii]nvalid partition"):
        materialize_partition(QUENCHED_ENSEMBLES, res, "kam", "0.4")
    store = Warehouse(tmp_path / "warehouse.duckdb")
    assert store.read_partition("samples", ensemble_key("kam", 0.4, "quenched")).height == 0


@slurm
@pytest.mark.lammps
def test_worker_error_names_the_task_and_its_stderr_and_is_not_retried(slurm_cluster, tmp_path, monkeypatch):
    broken = tmp_path / "no_lammps"
    broken.mkdir()
    (broken / "lammps.py").write_text("raise ImportError('lammps removed for this test')\n")
    monkeypatch.setenv("PYTHONPATH", str(broken))  # sbatch exports the environment to the tasks
    res = resources(tmp_path, SlurmLauncher(items_per_task=2, poll_seconds=0.5))
    with pytest.raises(SimulationError, match=r"3 of 3 quench items failed in Slurm job\(s\) \d+;") as failure:
        materialize_partition(QUENCHED_ENSEMBLES, res, "kam", "0.4")
    message = str(failure.value)
    # whichever task reports first names its own stderr file
    assert "LAMMPS cannot be loaded" in message and ", task " in message and re.search(r"task_\d+\.err", message)
    assert len(list((tmp_path / "scratch").glob("**/slurm/attempt*"))) == 1  # a Python error is not retried
    assert (
        Warehouse(tmp_path / "warehouse.duckdb").read_partition("samples", ensemble_key("kam", 0.4, "quenched")).height
        == 0
    )


# ---- networks trained on Slurm ------------------------------------------------------------------------------------


def kill_worker_of(folder: Path) -> int:
    """SIGKILL the worker process running a task file of ``folder`` (as an out-of-memory killer or a lost node would
    end it); its pid."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if WORKER_MODULE in command and str(folder) in command:
            os.kill(int(entry.name), signal.SIGKILL)
            return int(entry.name)
    raise AssertionError(f"no worker process of {folder} found")


@slurm
def test_a_training_through_slurm_equals_training_in_process_and_a_killed_one_is_retried(slurm_cluster, tmp_path):
    """The round trip of a tGlassMLP training: inputs written, an sbatch array run, the worker killed mid-training
    (SIGKILL once it has reported its first epoch), the task resubmitted, the trained networks read back — equal
    bit for bit to the same training in this process."""
    import torch

    from glass_assets.launchers.training import train_through_launcher
    from glass_core.learning.mlp_settings import MLPTrainingSettings
    from glass_core.learning.tglassmlp_training import train_tglassmlp
    from tests.helpers.training import assert_same_weights, tglass_arguments

    settings = MLPTrainingSettings(tglass_mse_schedule=((100, 1e-2),), tglass_glassmlp_schedule=((100, 1e-3),),
                                   patience=1000, n_networks=2, n_networks_equal_cb=1)
    arguments = {**tglass_arguments(), "settings": settings}  # 400 epochs: seconds of training to interrupt
    launcher = SlurmLauncher(poll_seconds=0.5, max_retries=1)
    outcome: dict[str, object] = {}
    messages: list[str] = []

    class Log:
        def info(self, message: str) -> None:
            messages.append(message)

    def train() -> None:
        try:
            outcome["trained"] = train_through_launcher(launcher, "tglassmlp", [arguments], tmp_path / "training",
                                                        "auto", threads=1, log=Log())
        except BaseException as error:  # noqa: BLE001 - handed to the test thread
            outcome["error"] = error

    thread = threading.Thread(target=train)
    thread.start()
    first = wait_for(lambda: next((tmp_path / "training").glob("**/slurm/attempt0_*/task_0.out"), None), 120,
                     "the training array to start")
    wait_for(lambda: '"event": "epoch"' in first.read_text(), 120, "the first epoch of the training task")
    kill_worker_of(first.parent)
    thread.join(timeout=300)
    assert not thread.is_alive() and "error" not in outcome, outcome.get("error")
    [trained] = outcome["trained"]
    # the killed task was submitted again, once, after the launcher said why
    assert sum("training items (attempt" in m for m in messages) == 2, messages
    assert any("training task" in m and "worker exit status 137" in m for m in messages), messages
    previous = torch.get_num_threads()
    try:
        torch.set_num_threads(1)  # as the task ran
        in_process = train_tglassmlp(**arguments, device="cpu")
    finally:
        torch.set_num_threads(previous)
    assert_same_weights(trained.result.ensemble, in_process.ensemble)
    assert trained.device == "cpu" and trained.threads == 1


@slurm
def test_a_gpu_request_slurm_refuses_names_the_training_settings(slurm_cluster, tmp_path):
    from glass_assets.launchers.training import train_through_launcher
    from tests.helpers.training import tglass_arguments

    launcher = SlurmLauncher(poll_seconds=0.5, training_gres="gpu:1")
    with pytest.raises(SlurmError, match=r"sbatch rejected the training array .*gres=gpu:1.*GLASS_SLURM_TRAINING_\*"
                                         r".*(gres|[Ii]nvalid)") as refused:
        train_through_launcher(launcher, "tglassmlp", [tglass_arguments()], tmp_path / "training", "auto", 1)
    assert refused.value.allow_retries is False
    assert not list((tmp_path / "training").glob("**/sample_*.npz"))  # nothing trained, nothing half-written
