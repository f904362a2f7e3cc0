"""Why the ``equilibrated`` check says what it says for one swap-MC partition: E/N autocorrelation, effective sample
size, the old and the new half-comparison, and both checks' false-alarm rates on stationary series of the same length
and correlation time.

    python scripts/equilibration_verdict.py --temperature 0.7                 # runs the partition (demo profile)
    python scripts/equilibration_verdict.py --temperature 0.7 --warehouse data/warehouse.duckdb

Without ``--warehouse`` the partition's swap-MC equilibria are computed in a temporary folder with the profile's
seeds (``--profile``, default ``demo``), exactly as the demo computes them.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np
import polars as pl
from scipy.signal import lfilter

from glass_assets.equilibria.checks import EQUILIBRATION_ALPHA, equilibrated
from glass_assets.profiles import load_profile
from glass_assets.warehouse import Warehouse
from glass_core.dynamics.equilibration import compare_halves, stationarity_test


def traces_of(args: argparse.Namespace) -> tuple[pl.DataFrame, int]:
    profile = load_profile(args.profile)
    sql = "SELECT * FROM swap_mc_traces WHERE system = ? AND temperature = ? ORDER BY chain, sweep"
    if args.warehouse:
        traces = Warehouse(args.warehouse).query(sql, [args.system, args.temperature])
        return traces, profile.swap_mc.equilibration_sweeps
    from dagster import MultiPartitionKey

    from glass_assets.equilibria.assets import SWAP_MC_EQUILIBRIA
    from glass_assets.graph import materialize_templates
    from glass_assets.resources import LocalProcessLauncher, StudySettings, WarehouseResource

    folder = Path(tempfile.mkdtemp(prefix="equilibration-"))
    resources = {
        "study": StudySettings(profile=args.profile, scratch_dir=str(folder / "scratch")),
        "simulation": LocalProcessLauncher(),
        "warehouse": WarehouseResource(path=str(folder / "warehouse.duckdb")),
    }
    partition = MultiPartitionKey({"system": args.system, "temperature": repr(args.temperature)})
    materialize_templates([SWAP_MC_EQUILIBRIA], partition, resources=resources, raise_on_error=False)
    print(f"the partition's warehouse: {folder / 'warehouse.duckdb'}")
    traces = Warehouse(folder / "warehouse.duckdb").query(sql, [args.system, args.temperature])
    return traces, profile.swap_mc.equilibration_sweeps


def false_alarms(n: int, tau: float, chains: int, repeats: int, seed: int) -> tuple[float, float]:
    """(old, new) rate at which each check flags ``chains`` stationary AR(1) chains of ``n`` points with τ_int = tau."""
    rng = np.random.default_rng(seed)
    phi = (2 * tau - 1) / (2 * tau + 1)
    old = new = 0
    for _ in range(repeats):
        noise = [rng.normal(size=n + 100) * np.sqrt(1 - phi**2) for _ in range(chains)]
        series = [lfilter([1.0], [1.0, -phi], e)[100:] for e in noise]
        old += any(not compare_halves(s).agrees() for s in series)
        frame = pl.concat(
            pl.DataFrame({"chain": [c] * n, "sweep": np.arange(1, n + 1), "energy_per_particle": s})
            for c, s in enumerate(series)
        )
        new += not equilibrated(frame, 0).passed
    return old / repeats, new / repeats


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--system", default="ka2d_ternary")
    parser.add_argument("--temperature", type=float, required=True)
    parser.add_argument("--profile", default="demo")
    parser.add_argument("--warehouse", type=Path)
    parser.add_argument("--repeats", type=int, default=4000, help="synthetic series per false-alarm rate")
    args = parser.parse_args()
    traces, equilibration = traces_of(args)
    production = traces.filter(pl.col("sweep") > equilibration)
    sweeps = np.median(np.diff(sorted(set(production["sweep"].to_list()))))
    print(f"{args.system} T = {args.temperature}: production after {equilibration} sweeps, a point every {sweeps:g}")
    taus, lengths = [], []
    for (chain,), rows in sorted(production.group_by(["chain"]), key=lambda g: g[0]):
        energy = rows.sort("sweep")["energy_per_particle"].to_numpy()
        old, new = compare_halves(energy), stationarity_test(energy)
        taus.append(new.tau_int)
        lengths.append(energy.size)
        print(
            f"  chain {chain}: {energy.size} points, τ_int = {new.tau_int:.2f} points = {new.tau_int * sweeps:.0f} "
            f"sweeps, effective samples {new.effective_samples:.0f}; halves {old.first:.5f} / {old.second:.5f}\n"
            f"    old check (5 blocks, |z| ≤ 3): z = {old.z:.2f} → {'pass' if old.agrees() else 'WARN'}\n"
            f"    new check ({new.n_blocks} blocks of {new.block_length} points, Welch t): t = {new.t:.2f}, "
            f"ν = {new.dof:.0f}, p = {new.p_value:.3g} (α per chain {EQUILIBRATION_ALPHA / 2:g})"
        )
    verdict = equilibrated(traces, equilibration)
    print(f"  new check on the partition: {'pass' if verdict.passed else 'WARN'} — {verdict.description}")
    old_rate, new_rate = false_alarms(int(np.mean(lengths)), float(np.mean(taus)), len(taus), args.repeats, 1)
    se = np.sqrt(max(new_rate, 1 / args.repeats) * (1 - new_rate) / args.repeats)
    print(
        f"  false-alarm rate on {args.repeats} stationary AR(1) families ({len(taus)} chains × {int(np.mean(lengths))} "
        f"points, τ_int = {np.mean(taus):.1f}): old check {old_rate:.4f}, new check {new_rate:.4f} ± {se:.4f} "
        f"(nominal {EQUILIBRATION_ALPHA})"
    )


if __name__ == "__main__":
    main()
