"""CNN training throughput (samples per second) of ``train_classifier``, against a bare torch loop.

Images of N = 2000 configurations (2 channels, G = 128, the default :class:`GlassCNN`), labelled
half liquid, half glass. ``train_classifier`` runs with every sample in the training split (no
validation pass); the baseline is a plain loop (same model, Adam, mini-batches, cross-entropy)
without seeding, bookkeeping or metrics, measured in the same run. The ratio shows the wrapper's
overhead (1 = none). At the paper's scale (8000 samples × 250 epochs) the epoch time is
8000 / throughput.

``--device`` (the profile's ``compute.device``) is printed with the figures; on a GPU, ``train_classifier`` runs on
the GPU and on the CPU in the same run, and the RESULT line is the GPU throughput with ratio GPU / CPU.

    .venv/bin/python benchmarks/cnn_training_throughput.py [--samples 64] [--epochs 3] [--threads 1] [--device auto]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from glass_core.learning.cnn import DataSplit, GlassCNN, train_classifier
from glass_core.learning.device import device_label, resolve_device
from glass_core.models.initial_configurations import jittered_lattice
from glass_core.structure.gridding import DEFAULT_GRID, Gridding


def bare_loop(images: torch.Tensor, labels: torch.Tensor, epochs: int, batch_size: int) -> float:
    """Seconds for ``epochs`` of plain mini-batch training of a fresh default GlassCNN."""
    model = GlassCNN(images.shape[1], images.shape[2]).train()
    optimiser = torch.optim.Adam(model.parameters(), lr=1e-3)
    start = time.perf_counter()
    for _ in range(epochs):
        for batch in torch.randperm(len(labels)).split(batch_size):
            optimiser.zero_grad()
            torch.nn.functional.cross_entropy(model(images[batch]), labels[batch]).backward()
            optimiser.step()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=64)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--grid", type=int, default=DEFAULT_GRID)
    parser.add_argument("--threads", type=int, default=1, help="torch intra-op threads (1: per-core number)")
    parser.add_argument("--device", default="auto")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    device = resolve_device(args.device)

    gridding = Gridding(n_types=2, grid=args.grid)
    images = torch.as_tensor(gridding.images([jittered_lattice("abm", 2000, s) for s in range(args.samples)]))
    labels = torch.arange(args.samples) % 2
    split = DataSplit(np.arange(args.samples), np.array([], int), np.array([], int))
    bare_loop(images, labels, 1, args.batch)  # warm up

    def throughput(on: torch.device) -> float:
        seconds = []
        for _ in range(2):  # best of two
            result = train_classifier(images, labels, split, epochs=args.epochs, batch_size=args.batch, seed=0,
                                      device=on)
            seconds.append(sum(record.seconds for record in result.history))
        return args.samples * args.epochs / min(seconds)

    print(f"grid={args.grid} samples={args.samples} epochs={args.epochs} batch={args.batch} threads={args.threads} "
          f"device={device_label(device)}")
    if device.type != "cpu":
        on_gpu, on_cpu = throughput(device), throughput(torch.device("cpu"))
        print(f"train_classifier on the GPU: {on_gpu:.1f} samples/s; on the CPU: {on_cpu:.1f} samples/s")
        print(f"RESULT cnn_training_throughput_gpu {on_gpu:.1f} samples/s ratio={on_gpu / on_cpu:.2f}")
        return
    bare_seconds, ours_seconds = [], []
    for _ in range(2):  # interleaved, best of two
        bare_seconds.append(bare_loop(images, labels, args.epochs, args.batch))
        result = train_classifier(images, labels, split, epochs=args.epochs, batch_size=args.batch, seed=0)
        ours_seconds.append(sum(record.seconds for record in result.history))
    bare = args.samples * args.epochs / min(bare_seconds)
    ours = args.samples * args.epochs / min(ours_seconds)
    print(f"bare torch loop:   {bare:.1f} samples/s")
    print(f"train_classifier:  {ours:.1f} samples/s (paper epoch of 8000 samples ≈ {8000 / ours / 60:.1f} min)")
    print("GPU: not measured (torch sees no GPU here)")
    print(f"RESULT cnn_training_throughput {ours:.1f} samples/s ratio={ours / bare:.2f}")


if __name__ == "__main__":
    main()
