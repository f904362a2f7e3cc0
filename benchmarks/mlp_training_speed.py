"""Seconds per training epoch per 10⁵ particle samples: tGlassMLP [J] against GlassMLP [G].

Synthetic descriptors (M = ``--features``, 176 = 4 observables × 4 channels × 11 lengths) and labels;
batches of one configuration (``--batch`` particles, ≈ the type-A particles of one N = 1290
configuration) at one state point, ``--rows`` rows per epoch over 4 state points. Both networks run
the same shared loop (:func:`~glass_core.learning.mlp_training.train_network`: fused Adam, GlassMLP
loss, no validation) on ``--threads`` threads, as training does (``settings.threads``, default 1).
An epoch's time is the median over ``--epochs``. At the paper's scale (≈ 135 epochs per network, 16 + 16
networks) multiply accordingly.

``--device`` (the profile's ``compute.device``: ``auto``, ``cpu``, ``cuda[:n]``) is printed with the figures. On the
CPU the RESULT value is tGlassMLP's and the ratio tGlassMLP / GlassMLP (the cost of the attention layer and the
state-point MLPs). On a GPU, tGlassMLP is also timed on the CPU in the same run, and the RESULT value is its GPU
epoch with ratio GPU / CPU.

    .venv/bin/python benchmarks/mlp_training_speed.py [--rows 100000] [--batch 700] [--epochs 3] [--threads 1]
        [--device auto]
"""

from __future__ import annotations

import argparse
import statistics

import numpy as np
import torch

from glass_core.learning.device import device_label, resolve_device
from glass_core.learning.glassmlp import GlassMLPNet
from glass_core.learning.mlp_data import PropensityDataset, Standardiser, state_encoding_numpy
from glass_core.learning.mlp_training import Phase, deterministic_torch, prepare_batches, train_network
from glass_core.learning.tglassmlp import TGlassMLPNet


def dataset(rows: int, batch: int, n_features: int) -> PropensityDataset:
    rng = np.random.default_rng(0)
    n_batches = rows // batch
    state_points = [(0.4, 0.8), (0.4, 0.3), (0.3, 0.8), (0.3, 0.3)]
    temperature = np.repeat([state_points[k % 4][0] for k in range(n_batches)], batch)
    cb = np.repeat([state_points[k % 4][1] for k in range(n_batches)], batch)
    features = rng.normal(size=(n_batches * batch, n_features)).astype(np.float32)
    labels = (cb + 0.2 * np.tanh(features[:, 0]) + 0.05 * rng.normal(size=len(cb))).astype(np.float32)
    return PropensityDataset(features, rng.integers(0, 3, len(cb)), np.repeat(np.arange(n_batches), batch),
                             temperature, cb, labels)


def seconds_per_epoch(
    net: torch.nn.Module, data: PropensityDataset, epochs: int, threads: int, device: torch.device
) -> float:
    state = Standardiser.fitted(state_encoding_numpy(data.temperature, data.target_cb))
    batches = prepare_batches(data, Standardiser.fitted(data.features), state, 3)
    with deterministic_torch(0, threads, device):
        history = train_network(net, batches, [], [Phase("glassmlp", epochs, 1e-3)], 10, "benchmark", 0,
                                device=device)
    return statistics.median(record.seconds for record in history)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=700)
    parser.add_argument("--features", type=int, default=176)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--device", default="auto")
    args = parser.parse_args()
    device, cpu = resolve_device(args.device), torch.device("cpu")
    data = dataset(args.rows, args.batch, args.features)
    per = 1e5 / len(data)
    print(f"rows={len(data)} batch={args.batch} M={args.features} threads={args.threads} epochs={args.epochs} "
          f"device={device_label(device)}")
    glass = seconds_per_epoch(GlassMLPNet(args.features, 3), data, args.epochs, args.threads, device) * per
    tglass = seconds_per_epoch(TGlassMLPNet(args.features, 3), data, args.epochs, args.threads, device) * per
    print(f"GlassMLP:  {glass:.3f} s per epoch per 1e5 samples ({glass * 1e3 * args.batch / 1e5:.2f} ms per batch)")
    print(f"tGlassMLP: {tglass:.3f} s per epoch per 1e5 samples ({tglass * 1e3 * args.batch / 1e5:.2f} ms per batch)")
    if device.type == "cpu":
        if not torch.cuda.is_available():
            print("GPU: not measured (torch sees no GPU here)")
        print(f"RESULT mlp_training_epoch {tglass:.4g} s ratio={tglass / glass:.2f}")
        return
    on_cpu = seconds_per_epoch(TGlassMLPNet(args.features, 3), data, args.epochs, args.threads, cpu) * per
    print(f"tGlassMLP on the CPU ({args.threads} threads): {on_cpu:.3f} s per epoch per 1e5 samples")
    print(f"RESULT mlp_training_epoch_gpu {tglass:.4g} s ratio={tglass / on_cpu:.3f}")


if __name__ == "__main__":
    main()
