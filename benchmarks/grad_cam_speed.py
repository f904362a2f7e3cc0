"""Grad-CAM time per N = 2000 configuration on CPU, against one forward pass of the same network.

Per configuration, Grad-CAM here is the whole per-particle pipeline: M (density image, 2 channels,
G = 128), last-conv activations, the class-score gradient with respect to them, L̃ = ReLU(Σ α A), and
Γ_i = M⁻¹(L̃)(r_i). The baseline is one forward pass (logits, no gradient) of the same batch of
images, measured in the same run. Target: ≤ 20 ms per configuration. The network is the default
:class:`~glass_core.learning.cnn.GlassCNN` with random weights (timing does not depend on training).

    .venv/bin/python benchmarks/grad_cam_speed.py [--configs 16] [--batch 16] [--threads 1]
"""

from __future__ import annotations

import argparse

import torch
from timing import best_of

from glass_core.learning.cnn import GlassCNN, predict_logits
from glass_core.learning.grad_cam import grad_cam, grad_cam_particles
from glass_core.models.initial_configurations import jittered_lattice
from glass_core.structure.gridding import DEFAULT_GRID, Gridding


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--configs", type=int, default=16)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--grid", type=int, default=DEFAULT_GRID)
    parser.add_argument("--threads", type=int, default=1, help="torch intra-op threads (1: per-core number)")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    configs = [jittered_lattice("abm", args.n, seed) for seed in range(args.configs)]
    gridding = Gridding(n_types=2, grid=args.grid)
    torch.manual_seed(0)
    model = GlassCNN(2, args.grid).eval()
    images = gridding.images(configs)
    grad_cam_particles(model, configs, gridding, batch_size=args.batch)  # warm up

    forward = best_of(lambda: predict_logits(model, images, args.batch), args.repeats)
    full = best_of(lambda: grad_cam_particles(model, configs, gridding, batch_size=args.batch), args.repeats)
    maps_only = best_of(lambda: grad_cam(model, images, batch_size=args.batch), args.repeats)
    gridding_only = best_of(lambda: gridding.images(configs), args.repeats)

    per = 1e3 / args.configs
    print(f"N={args.n} grid={args.grid} configurations={args.configs} batch={args.batch} threads={args.threads}")
    print(f"forward pass:                 {forward * per:.2f} ms/config")
    print(f"M (gridding):                 {gridding_only * per:.2f} ms/config")
    print(f"Grad-CAM maps from images:    {maps_only * per:.2f} ms/config")
    print(f"Grad-CAM, configuration → Γ:  {full * per:.2f} ms/config")
    print(f"RESULT grad_cam_time_per_config {full * per:.2f} ms ratio={full / forward:.2f}")


if __name__ == "__main__":
    main()
