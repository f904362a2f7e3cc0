"""A network's round trip through Slurm: inputs written → sbatch → trained on a node → state read back → registered.

One tGlassMLP [J] training (synthetic descriptors and labels: ``--configurations`` × ``--particles`` rows at two
temperatures × two ⟨C_B⟩, ``--epochs`` epochs per phase, 2 networks; one thread) three ways, in the same run:

- in this process (``train_tglassmlp``), the baseline: its own training seconds;
- through the local launcher (a worker process, as the demo trains);
- through the live Slurm (``SlurmLauncher`` with the ``training_*`` settings from ``GLASS_SLURM_TRAINING_*``), then
  logged and registered in a temporary MLflow store (the asset's last step).

Overhead = a launcher's wall time minus the worker's own training seconds (inputs, submission, queue, interpreter
and torch import, result read back). The trained networks of the three ways are compared bit for bit. Needs a live
Slurm (``scripts/start_local_slurm.sh``).

    .venv/bin/python benchmarks/slurm_training_round_trip.py [--epochs 50] [--configurations 8] [--particles 200]

Last line: ``RESULT slurm_training_round_trip <Slurm overhead> s ratio=<Slurm wall / local-launcher wall>``.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from glass_assets.launchers import LocalProcessLauncher, SlurmLauncher, configured_launcher  # noqa: E402
from glass_assets.launchers.training import train_through_launcher  # noqa: E402
from glass_assets.registry.propensity import example_input, log_ensembles  # noqa: E402
from glass_assets.registry.tracking import MLflowResource  # noqa: E402
from glass_core.learning.mlp_data import PropensityDataset, split_by_configuration  # noqa: E402
from glass_core.learning.mlp_settings import MLPTrainingSettings  # noqa: E402
from glass_core.learning.tglassmlp_training import train_tglassmlp  # noqa: E402


def synthetic(configurations: int, particles: int) -> PropensityDataset:
    """Labels with a known dependence on two of six descriptors, at (T, ⟨C_B⟩) ∈ {0.5, 0.4} × {0.8, 0.5}."""
    rng = np.random.default_rng(0)
    parts = []
    for k, temperature in enumerate((0.5, 0.4)):
        for c in range(configurations):
            z = rng.normal(size=(particles, 6)).astype(np.float32)
            types = rng.integers(0, 2, particles)
            for cb in (0.8, 0.5):
                labels = cb + 2 * cb * (1 - cb) * (1.5 - temperature) * np.tanh(z[:, 0] + cb * z[:, 1])
                parts.append((z, types, np.full(particles, k * configurations + c), np.full(particles, temperature),
                              np.full(particles, cb), labels))
    return PropensityDataset(*(np.concatenate(column) for column in zip(*parts, strict=True)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=50)
    parser.add_argument("--configurations", type=int, default=8)
    parser.add_argument("--particles", type=int, default=200)
    args = parser.parse_args()
    torch.set_num_threads(1)
    settings = MLPTrainingSettings(tglass_mse_schedule=((args.epochs, 1e-2),),
                                   tglass_glassmlp_schedule=((args.epochs, 1e-3),), patience=args.epochs,
                                   n_networks=2, n_networks_equal_cb=1)
    train, validation, _ = split_by_configuration(synthetic(args.configurations, args.particles), (0.5, 0.25, 0.25), 0)
    arguments = {"train": train, "validation": validation, "unlabelled": None, "settings": settings, "seed": 0}

    started = time.perf_counter()
    in_process = train_tglassmlp(**arguments)
    baseline = time.perf_counter() - started
    slurm = configured_launcher({**os.environ, "GLASS_LAUNCHER": "slurm"})
    assert isinstance(slurm, SlurmLauncher)
    walls, results = {}, {}
    with tempfile.TemporaryDirectory(dir=ROOT / "data" if (ROOT / "data").exists() else None) as tmp:
        for name, launcher in (("local", LocalProcessLauncher()), ("slurm", slurm)):
            started = time.perf_counter()
            [results[name]] = train_through_launcher(launcher, "tglassmlp", [arguments], Path(tmp) / name, "auto", 1)
            if name == "slurm":  # the asset's last step: log and register the networks
                registering = time.perf_counter()
                tracking = MLflowResource(tracking_uri=f"sqlite:///{tmp}/mlflow.db", artifact_root=f"{tmp}/artifacts")
                tracking.activate()
                import mlflow

                mlflow.set_experiment("round_trip")
                with mlflow.start_run():
                    ensemble = results[name].result.ensemble
                    rows = np.arange(4)
                    example = example_input(ensemble.input_names, train.features[rows], train.types[rows],
                                            np.column_stack([train.temperature[rows], train.target_cb[rows]]))
                    version = log_ensembles({None: ensemble}, example, "round_trip_tglassmlp")
                registration = time.perf_counter() - registering
            walls[name] = time.perf_counter() - started
    reference = in_process.ensemble.state_dict()
    for name, trained in results.items():
        state = trained.result.ensemble.state_dict()
        same = all(torch.equal(reference[k], state[k]) for k in reference)
        overhead = walls[name] - trained.train_seconds
        print(f"{name:5s}: wall {walls[name]:.2f} s, training {trained.train_seconds:.2f} s on {trained.device}, "
              f"overhead {overhead:.2f} s; weights equal to in-process: {same}")
    print(f"in-process training: {baseline:.2f} s ({len(train)} rows, {2 * args.epochs} epochs × 2 networks); "
          f"registered as round_trip_tglassmlp v{version} in {registration:.2f} s (in Slurm's wall and overhead)")
    overhead = walls["slurm"] - results["slurm"].train_seconds
    print(f"RESULT slurm_training_round_trip {overhead:.2f} s ratio={walls['slurm'] / walls['local']:.2f}")


if __name__ == "__main__":
    main()
