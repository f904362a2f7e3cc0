"""Particles per second of tGlassMLP ensemble inference [J] with the descriptors given.

An ensemble of ``--members`` (16, the number [J] trains in step 2) untrained tGlassMLP networks on
M = ``--features`` descriptors (176 = 4 observables × 4 channels × 11 lengths) predicts the propensity
of ``--particles`` particles at one state point: :meth:`TGlassMLPEnsemble.predict` with no iteration
(one evaluation; each extra iteration of the state-point input costs at most one more). The fast
path (:mod:`glass_core.learning.tglassmlp_inference`) folds the per-member attention weights, the
standardisation and the state embedding once per state point, so all members' bottlenecks are one
(n, M) × (M, 2K) product and the heads batched (K, 10, 10) products over cache-sized particle chunks.
Printed for comparison, measured in the same run: the full iterated ``predict`` with
``max_iterations=6`` and ``tolerance=0`` (the worst case: 7 passes, every member re-evaluated each
time) and the general ``forward`` (per-particle state point, the baseline). The RESULT ratio is the
one-pass throughput in units of 10⁶ particles/s.

    .venv/bin/python benchmarks/tglassmlp_inference.py [--particles 100000] [--members 16] [--threads 2]
"""

from __future__ import annotations

import argparse

import numpy as np
import torch
from timing import best_of

from glass_core.learning.tglassmlp import TGlassMLPEnsemble


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--particles", type=int, default=100_000)
    parser.add_argument("--features", type=int, default=176)
    parser.add_argument("--members", type=int, default=16)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)

    rng = np.random.default_rng(0)
    features = (rng.normal(size=(args.particles, args.features)) * 2.0 + 1.0).astype(np.float32)
    types = rng.integers(0, 3, args.particles)
    ensemble = TGlassMLPEnsemble.build([f"x{k}" for k in range(args.features)], 3, args.members).eval()
    ensemble.features.mean.fill_(1.0)
    ensemble.features.std.fill_(2.0)

    def predict() -> None:
        ensemble.predict(features, types, 0.3, 0.5, max_iterations=0)

    def predict_iterated() -> None:
        ensemble.predict(features, types, 0.3, 0.5, max_iterations=6, tolerance=0.0)

    x, t = torch.from_numpy(features), torch.from_numpy(types)
    state = torch.tensor([[0.3, 0.5]]).expand(args.particles, 2)

    def general() -> None:
        with torch.inference_mode():
            ensemble(x, t, state)

    predict(), general()  # warm up
    fast_rate = args.particles / best_of(predict, args.repeats)
    iterated_rate = args.particles / best_of(predict_iterated, max(2, args.repeats // 2))
    general_rate = args.particles / best_of(general, max(2, args.repeats // 2))
    print(f"particles={args.particles} M={args.features} members={args.members} threads={args.threads}")
    print(f"general forward (per-particle state): {general_rate:.3g} particles/s")
    print(f"predict (folded attention, one pass): {fast_rate:.3g} particles/s ({fast_rate / general_rate:.1f}x)")
    print(f"predict (iterated, 7 passes, all members): {iterated_rate:.3g} particles/s")
    print(f"RESULT tglassmlp_inference {fast_rate:.4g} particles/s ratio={fast_rate / 1e6:.3f}")


if __name__ == "__main__":
    main()
