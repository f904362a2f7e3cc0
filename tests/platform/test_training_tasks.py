"""Networks on a device of the user's choice, trained as launcher tasks, with their compute accounted.

Without a GPU (every developer machine and CI) the device tests check that ``auto`` is the CPU bit for bit and that
``cuda`` is refused by name; the test marked ``accelerator`` runs where torch sees a GPU and compares a tGlassMLP
epoch on it with the CPU's. The training-task tests compare a training through the local launcher's worker process
with the same call in this process, bit for bit.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from glass_assets.compute_accounting import UsageMeter, usage_by_stage, usage_rows
from glass_assets.launchers import LocalProcessLauncher, SimulationError
from glass_assets.launchers.slurm import SlurmLauncher, parse_sacct_usage, slurm_megabytes, slurm_seconds
from glass_assets.launchers.training import train_through_launcher
from glass_assets.profiles import ProfileError, load_profile
from glass_core.files import item_result_path
from glass_core.learning.device import DeviceError, resolve_device
from glass_core.learning.mlp_settings import MLPTrainingSettings
from glass_core.learning.mlp_training import EpochRecord
from glass_core.learning.tglassmlp_training import train_tglassmlp
from glass_core.learning.training_task import TrainingTaskError, read_training_result, write_training_inputs
from glass_core.tasks.worker import run_task
from tests.helpers.training import assert_same_weights, tglass_arguments

no_gpu = pytest.mark.skipif(torch.cuda.is_available(), reason="torch sees a GPU here: 'auto' would choose it")
needs_gpu = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA GPU: the accelerator test needs one")


# ---- device ----------------------------------------------------------------------------------------------------


@no_gpu
def test_device_auto_without_a_gpu_trains_on_the_cpu_with_the_same_weights_as_cpu(one_torch_thread):
    assert resolve_device("auto") == torch.device("cpu")
    on_auto = train_tglassmlp(**tglass_arguments(), device="auto")
    on_cpu = train_tglassmlp(**tglass_arguments(), device="cpu")
    assert_same_weights(on_auto.ensemble, on_cpu.ensemble)
    assert [r.train_loss for r in on_auto.history] == [r.train_loss for r in on_cpu.history]


@no_gpu
def test_cuda_without_a_gpu_is_refused_naming_the_setting(one_torch_thread):
    for setting in ("cuda", "cuda:1"):
        with pytest.raises(DeviceError, match=f"device '{setting}' asks for a GPU, but torch .* sees none"):
            resolve_device(setting)
    with pytest.raises(DeviceError, match="device 'cuda'"):  # before any epoch: nothing trained, nothing written
        train_tglassmlp(**tglass_arguments(), device="cuda")
    with pytest.raises(DeviceError, match="'gpu' is not one of auto, cpu, cuda, cuda:<n>"):
        resolve_device("gpu")


def test_a_profile_with_an_unknown_device_names_the_key(tmp_path):
    text = Path(load_profile("demo").path).read_text()
    bad = tmp_path / "profiles.yaml"
    bad.write_text(text.replace("base_seed: 20230601\n", "base_seed: 20230601\n  compute:\n    device: gpu0\n", 1))
    with pytest.raises(ProfileError, match="compute.device = 'gpu0' is not one of auto, cpu, cuda"):
        load_profile("demo", bad)


@pytest.mark.accelerator
@needs_gpu
def test_one_tglassmlp_epoch_on_cuda_matches_the_cpu_loss_within_tolerance(one_torch_thread):
    """[J]'s loss on a GPU: the same seed, data and schedule give the CPU's epoch losses within 10⁻⁴ relative (the
    GPU's reduction order differs, so bit equality is not expected)."""
    one_epoch = MLPTrainingSettings(tglass_mse_schedule=((1, 1e-2),), tglass_glassmlp_schedule=((1, 2e-3),),
                                    patience=1, n_networks=1, n_networks_equal_cb=1)
    arguments = {**tglass_arguments(), "settings": one_epoch}
    on_cpu = train_tglassmlp(**arguments, device="cpu")
    on_gpu = train_tglassmlp(**arguments, device="cuda")
    cpu_losses = np.array([r.train_loss for r in on_cpu.history])
    gpu_losses = np.array([r.train_loss for r in on_gpu.history])
    np.testing.assert_allclose(gpu_losses, cpu_losses, rtol=1e-4)
    assert next(on_gpu.ensemble.parameters()).device.type == "cpu"  # handed back on the CPU


# ---- training as a launcher task ---------------------------------------------------------------------------------


def test_a_training_task_through_the_local_launcher_equals_training_in_process(tmp_path, one_torch_thread):
    arguments = tglass_arguments()
    in_process = train_tglassmlp(**arguments, device="cpu")
    epochs: list[EpochRecord] = []
    [launched] = train_through_launcher(LocalProcessLauncher(), "tglassmlp", [arguments], tmp_path / "training",
                                        "auto", threads=1, on_epoch=epochs.append)
    assert launched.device == "cpu" and launched.threads == 1 and launched.gpu_seconds == 0.0
    assert_same_weights(launched.result.ensemble, in_process.ensemble)
    assert launched.result.ensemble.notes == in_process.ensemble.notes
    # the asset's progress callback saw every epoch, as the records the trainer made
    assert [(r.stage, r.member, r.epoch, r.train_loss) for r in epochs] == [
        (r.stage, r.member, r.epoch, r.train_loss) for r in in_process.history]
    assert not (tmp_path / "training").exists() or not any((tmp_path / "training").iterdir())  # scratch removed


def test_missing_inputs_are_a_python_error_named_and_not_retried(tmp_path):
    folder, items = write_training_inputs(tmp_path, "tglassmlp", [tglass_arguments()])
    Path(items[0]["inputs"]).unlink()
    with pytest.raises(SimulationError, match=r"TrainingTaskError: training task item 0: its inputs file .*"
                                              r"inputs_000000\.pt does not exist") as raised:
        LocalProcessLauncher().run_tasks("training", {"device": "cpu", "threads": 1}, items, folder)
    assert raised.value.allow_retries is False  # a worker's own error would recur
    assert not item_result_path(folder, items[0]).exists()  # nothing half-written


def test_a_partial_result_or_inputs_file_is_refused_naming_it(tmp_path, capsys):
    folder, items = write_training_inputs(tmp_path, "tglassmlp", [tglass_arguments()])
    inputs = Path(items[0]["inputs"])
    inputs.write_bytes(inputs.read_bytes()[:100])  # a copy cut short
    assert run_task({"kind": "training", "params": {"device": "cpu"}, "items": items, "out_dir": str(folder)}) == 1
    failure = next(json.loads(line) for line in capsys.readouterr().out.splitlines() if "item_failed" in line)
    assert f"cannot read its inputs file {inputs}" in failure["error"]
    partial = item_result_path(folder, items[0])
    partial.write_bytes(b"PK\x03\x04 truncated")
    with pytest.raises(TrainingTaskError, match=f"training result {partial} is unreadable"):
        read_training_result(partial)
    with pytest.raises(TrainingTaskError, match=r"\['device', 'on_epoch'\] are set by the training task"):
        write_training_inputs(tmp_path, "cnn", [{"device": "cpu", "on_epoch": print}])


def test_training_resources_on_slurm_come_from_their_own_settings(tmp_path):
    launcher = SlurmLauncher(partition="cpu", cpus_per_task=1, time_limit="01:00:00", training_partition="gpu",
                             training_gres="gpu:1", training_cpus_per_task=8, training_mem_per_task="16G")
    training = launcher.batch_script("training", tmp_path, 1)
    assert "#SBATCH --partition=gpu" in training and "#SBATCH --gres=gpu:1" in training
    assert "#SBATCH --cpus-per-task=8" in training and "#SBATCH --mem=16G" in training
    assert "#SBATCH --time=01:00:00" in training  # not set for training: the general one
    assert "export OMP_NUM_THREADS=8" in training
    quench = launcher.batch_script("quench", tmp_path, 1)
    assert "#SBATCH --partition=cpu" in quench and "gres" not in quench and "--cpus-per-task=1" in quench


# ---- compute accounting ------------------------------------------------------------------------------------------


#: sacct --parsable2 --noheader --units=M, SACCT_FORMAT: JobID|ElapsedRaw|TotalCPU|MaxRSS|AllocCPUS|AllocTRES
SACCT = """123_0|65|00:58.500||1|billing=1,cpu=1,gres/gpu=1,mem=2G,node=1
123_0.batch|65|00:58.500|512.5M|1|cpu=1,gres/gpu=1,mem=2G,node=1
123_0.extern|65|00:00:00|0.9M|1|billing=1,cpu=1,gres/gpu=1,mem=2G,node=1
123_1|3725|1-00:00:01||4|billing=4,cpu=4,mem=8G,node=1
123_1.batch|3725|01:02:03.5|2.5G|4|cpu=4,mem=8G,node=1
999_0|10|00:05.000||1|cpu=1
"""


def test_sacct_figures_are_read_per_array_task():
    assert slurm_seconds("00:58.500") == pytest.approx(58.5)
    assert slurm_seconds("01:02:03.5") == pytest.approx(3723.5)
    assert slurm_seconds("1-00:00:01") == pytest.approx(86401)
    assert slurm_megabytes("2.5G") == 2560 and slurm_megabytes("1024K") == 1 and slurm_megabytes("") == 0
    usage = parse_sacct_usage(SACCT, "123")
    assert set(usage) == {0, 1}  # job 999 is another job
    assert usage[0] == {"wall_s": 65.0, "cpu_s": 58.5, "cpus": 1.0, "gpu_s": 65.0, "peak_rss_mb": 512.5}
    assert usage[1]["cpus"] == 4.0 and usage[1]["gpu_s"] == 0.0 and usage[1]["peak_rss_mb"] == 2560.0
    assert usage[1]["cpu_s"] == pytest.approx(86401)


def test_usage_rows_sum_tasks_per_kind_and_stages_per_item():
    meter = UsageMeter()
    for wall, cpu in ((10.0, 9.0), (20.0, 18.0)):
        meter.add_task("quench", {"wall_s": wall, "cpu_s": cpu, "peak_rss_mb": 100.0 + wall, "n_items": 2,
                                  "cpus": 1}, "worker")
    meter.add_task("training", {"wall_s": 5.0, "cpu_s": 15.0, "peak_rss_mb": 300.0, "n_items": 1, "cpus": 4,
                                "gpu_s": 5.0, "device": "cuda:0 (test)"}, "sacct")
    rows = usage_rows(meter, {"wall_s": 40.0, "cpu_s": 2.0, "peak_rss_mb": 250.0}, "abm/quenched_ensembles",
                      "abm|0.4", "run", "ensembles")
    quench = rows.filter(rows["component"] == "quench").row(0, named=True)
    assert (quench["n_tasks"], quench["n_items"], quench["wall_s"], quench["cpu_s"]) == (2, 4, 30.0, 27.0)
    assert quench["peak_rss_mb"] == 120.0 and quench["cpu_efficiency"] == pytest.approx(0.9)
    training = rows.filter(rows["component"] == "training").row(0, named=True)
    assert training["cpu_efficiency"] == pytest.approx(15 / 20) and training["gpu_s"] == 5.0
    assert training["device"] == "cuda:0 (test)" and training["source"] == "sacct"
    stage = usage_by_stage(rows).row(0, named=True)
    assert stage["items"] == 5 and stage["cpu_h"] == pytest.approx((2 + 27 + 15) / 3600)
    assert stage["cpu_h_per_item"] == pytest.approx(44 / 3600 / 5) and stage["gpu_h"] == pytest.approx(5 / 3600)


def test_the_report_sums_the_warehouse_usage_per_stage(tmp_path):
    from glass_assets.report.compute import compute_per_stage
    from glass_assets.report.data import ReportData
    from glass_assets.warehouse import Warehouse

    store = Warehouse(tmp_path / "w.duckdb")
    assert compute_per_stage(ReportData(store)).present is False  # nothing accounted yet: said, not invented
    for partition, run in (("abm|0.4", "first"), ("abm|0.4", "rerun"), ("abm|2.0", "first")):
        meter = UsageMeter()
        meter.add_task("quench", {"wall_s": 100.0, "cpu_s": 90.0, "n_items": 4, "cpus": 1}, "worker")
        store.record_compute_usage(usage_rows(meter, {"wall_s": 120.0, "cpu_s": 10.0, "peak_rss_mb": 300.0},
                                              "abm/quenched_ensembles", partition, run, "ensembles"))
    usage = store.query("SELECT * FROM compute_usage")
    assert usage.height == 4 and set(usage["run_id"]) == {"rerun", "first"}  # the rerun replaced its partition
    assert "compute_usage" not in store.table_digests()  # timings are bookkeeping, not data
    section = compute_per_stage(ReportData(store))
    assert section.present and "ensembles" in section.html()
    per_item = f"{(2 * 100) / 3600 / 8:.3g}"  # (90 + 10) CPU s per partition, 2 partitions, 8 items
    assert per_item in section.html() and section.summary == [f"- compute: {200 / 3600:.3g} CPU h over 1 stage"]
