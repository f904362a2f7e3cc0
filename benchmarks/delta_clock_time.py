"""Measurement (not a CI test): t(δ = 1), when the cage-relative clock of the propensity labels reaches 1.

[O] Fig. 4 plots C(Γ, 1 − Δ) against δ(t) = (1/N) Σ_i √Δ_i(t) (glass_core.dynamics.propensity.cage_clock,
the ``cage_clock`` column of ``propensity_summary``) and finds its maximum at δ ≈ 1. A propensity window
shorter than t(δ = 1) cannot show that maximum. This script measures t(δ = 1) with the platform's own code
at the scale of a profile (default ``demo``):

- glasses: ``--glasses`` quenches per system to T_G with the profile's quench protocol, box size and seeds
  (``derive_seed(system, T_G, k, base_seed, "quench")``, samples k = 0 … — the demo's own glasses k);
- isoconfigurational MD (glass_core.simulation.isoconfigurational, NVT, the platform's replica seeds) of
  each glass at every propensity temperature of the campaign (T* and 1.5 T*), ``--replicas`` replicas,
  log-spaced frames (``--per-decade``) up to ``--t-max`` (LJ time, per system);
- labels by glass_core.dynamics.propensity.propensity_labels → δ(t) per glass.

t(δ = 1) of a glass is the first frame time where δ ≥ 1, interpolated between the two bracketing frames
linearly in (log t, log δ) (δ grows as a power of t between frames). Printed per (system, T): its mean ±
standard error over the glasses that reached δ = 1 in the window, n reached / n glasses, δ at the end of
the profile's current window (the baseline) and at the end of the run, and ⟨C_B⟩ at t(δ = 1). A glass
that stays below 1 gives only the bound t(δ = 1) > t_max: no extrapolation (a caged glass moves by rare,
intermittent rearrangements, and a power law fitted to its plateau predicts anything). Fewer replicas
than the profile's give a slightly smaller δ (√ of a noisier mean, Jensen): a t(δ = 1) measured with few
replicas is an upper bound for the profile's.

The cost of a window t is that of the propensity stage: n_samples × n_replicas × t/dt MD steps per
(system, T) partition; the script prints it from the measured MD steps per second (one core).

Last line: ``RESULT delta_clock_time_max <t> LJ_time ratio=<t / current window>`` for the (system, T) that
needs the longest window (``>`` marks a lower bound: some glass did not reach δ = 1 in the run).

    PYTHONPATH=$PWD .venv/bin/python benchmarks/delta_clock_time.py [--systems abm kam] [--glasses 4]
        [--replicas 2] [--t-max abm=2000 kam=1000] [--profile demo] [--curves]

Measured (demo profile, 2 shared cores, one process; mean ± SE, n = 4 glasses), against the window of 100:

- ``--systems kam --replicas 2 --t-max kam=1000`` (230 s): T = 0.37: t(δ = 1) = 240 ± 12, δ(100) = 0.632 ±
  0.007; T = 0.55: t(δ = 1) = 79.8 ± 2.6, δ(100) = 1.13 ± 0.01; ⟨C_B⟩ at t(δ = 1) = 0.50 ± 0.01 at both.
  RESULT delta_clock_time_max 240.4 LJ_time ratio=2.4.
- ``--systems abm --replicas 1 --t-max abm=2000 --per-decade 4`` (380 s): no glass reaches δ = 1 at T = 1.0
  or 1.5; δ(100) = 0.049 ± 0.012 and 0.070 ± 0.021, δ(2000) = 0.094 ± 0.027 and 0.187 ± 0.052, ⟨C_B⟩(2000)
  = 0.993 ± 0.004 and 0.967 ± 0.017. RESULT delta_clock_time_max >2000 LJ_time ratio=>20.

[O] Oyama, Koyama, Kawasaki, Front. Phys. 10 (2023), arXiv:2208.00349, §IV D and Fig. 4.
"""

import argparse
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from glass_assets.campaign import load_campaign  # noqa: E402
from glass_assets.profiles import Profile, load_profile  # noqa: E402
from glass_core.dynamics.propensity import PropensityLabels, propensity_labels  # noqa: E402
from glass_core.models.configuration import Configuration  # noqa: E402
from glass_core.models.seeds import derive_seed  # noqa: E402
from glass_core.models.statistics import SampleMean, sample_mean  # noqa: E402
from glass_core.models.systems import get_system  # noqa: E402
from glass_core.simulation.isoconfigurational import (  # noqa: E402
    IsoconfigurationalProtocol,
    log_spaced_steps,
    replica_seeds,
    run_isoconfigurational,
)
from glass_core.simulation.quench import run_quench  # noqa: E402

LEVEL = 1.0
"""δ = 1: [O]'s maximum of C(Γ, 1 − Δ)."""
DEFAULT_T_MAX = {"abm": 2000.0, "kam": 1000.0}


def crossing_time(times: np.ndarray, curve: np.ndarray, level: float = LEVEL) -> float | None:
    """First t where an increasing ``curve`` reaches ``level``; ``None`` if it stays below.

    Between the last frame below and the first at or above ``level``, log curve is interpolated linearly
    in log t (exact for a power law between the two frames); from a start frame at t = 0, linearly in t.
    """
    above = np.flatnonzero(curve >= level)
    if above.size == 0:
        return None
    k = int(above[0])
    if k == 0:
        return float(times[0])
    (t0, t1), (c0, c1) = times[k - 1 : k + 1], curve[k - 1 : k + 1]
    if t0 <= 0 or c0 <= 0:
        return float(t0 + (level - c0) / (c1 - c0) * (t1 - t0))
    fraction = (np.log(level) - np.log(c0)) / (np.log(c1) - np.log(c0))
    return float(np.exp(np.log(t0) + fraction * (np.log(t1) - np.log(t0))))


def value_at(times: np.ndarray, curve: np.ndarray, t: float) -> float:
    """``curve`` at time ``t``, linear interpolation between frames; NaN beyond the run."""
    return float(np.interp(t, times, curve)) if t <= times[-1] else float("nan")


@dataclass
class GlassRun:
    """δ(t) and ⟨C_B⟩(t) of one glass at one temperature, with the MD cost."""

    sample: int
    times: np.ndarray
    delta: np.ndarray
    bonds: np.ndarray
    md_steps: int
    md_seconds: float

    @property
    def t_delta(self) -> float | None:
        return crossing_time(self.times, self.delta)


def quench_glasses(system_name: str, profile: Profile, n_glasses: int, workdir: Path) -> dict[int, Configuration]:
    """The profile's T_G glasses k = 0 … n−1 of ``system_name`` (same seeds, protocol and N as the asset)."""
    system = get_system(system_name)
    t_glass = system.temperatures["glass"]
    n_particles = profile.quench.particles_for(system_name)
    glasses = {}
    for k in range(n_glasses):
        seed = derive_seed(system_name, t_glass, k, profile.base_seed, "quench")
        result = run_quench(system, n_particles, t_glass, seed, profile.quench.protocol, workdir / f"quench_{k}")
        glasses[k] = result.configuration
    return glasses


def run_glass(
    system_name: str,
    temperature: float,
    sample: int,
    config: Configuration,
    protocol: IsoconfigurationalProtocol,
    base_seed: int,
    workdir: Path,
) -> GlassRun:
    """Isoconfigurational replicas of one glass at ``temperature`` → its δ(t) and ⟨C_B⟩(t)."""
    system = get_system(system_name)
    seeds = replica_seeds(system_name, temperature, sample, base_seed, protocol.n_replicas)
    trajectories = run_isoconfigurational(config, system, protocol, seeds, workdir)
    labels: PropensityLabels = propensity_labels(trajectories, system)
    return GlassRun(
        sample,
        labels.times,
        labels.cage_clock,
        labels.mean_bond_breaking,
        trajectories.md_steps,
        trajectories.md_wall_seconds,
    )


@dataclass
class Summary:
    """Figures of one (system, T) over its glasses (means ± SE, :func:`sample_mean`)."""

    t_delta: SampleMean  # over the glasses that reached δ = 1
    n_reached: int
    n: int
    delta_baseline: SampleMean  # δ at the end of the profile's current window
    delta_end: SampleMean  # δ at the end of the run
    bonds_at_t_delta: SampleMean  # ⟨C_B⟩ at t(δ = 1)
    steps_per_second: float  # MD steps per wall second, one core
    t_max: float  # end of the run

    @property
    def lower_bound(self) -> bool:
        """Some glass stayed below δ = 1 in the run."""
        return self.n_reached < self.n


def summarise(runs: list[GlassRun], baseline: float) -> Summary:
    """Per-(system, T) figures over the glasses; ``baseline``: the current window (LJ time)."""
    crossing = [r.t_delta for r in runs]
    return Summary(
        t_delta=sample_mean([t for t in crossing if t is not None]),
        n_reached=sum(t is not None for t in crossing),
        n=len(runs),
        delta_baseline=sample_mean([value_at(r.times, r.delta, baseline) for r in runs]),
        delta_end=sample_mean([r.delta[-1] for r in runs]),
        bonds_at_t_delta=sample_mean(
            [value_at(r.times, r.bonds, t) for r, t in zip(runs, crossing, strict=True) if t is not None]
        ),
        steps_per_second=sum(r.md_steps for r in runs) / max(sum(r.md_seconds for r in runs), 1e-9),
        t_max=float(runs[0].times[-1]),
    )


def print_curves(system_name: str, temperature: float, runs: list[GlassRun]) -> None:
    """δ(t) and ⟨C_B⟩(t), mean ± SE over the glasses, at every frame."""
    print(f"  {system_name} T = {temperature}: frame time, δ, ⟨C_B⟩ (mean ± SE over {len(runs)} glasses)")
    for f, t in enumerate(runs[0].times):
        delta = sample_mean([r.delta[f] for r in runs])
        bonds = sample_mean([r.bonds[f] for r in runs])
        print(f"    t = {t:10.4g}   δ = {delta.text()}   ⟨C_B⟩ = {bonds.text()}")


def window_cost(profile: Profile, system_name: str, window: float, steps_per_second: float) -> float:
    """CPU seconds of the propensity stage of one (system, T) partition with a ``window`` (LJ time)."""
    settings = profile.propensity
    steps = window / get_system(system_name).md_timestep
    return settings.n_samples * settings.n_replicas * steps / steps_per_second


def report(system_name: str, temperature: float, figures: Summary, profile: Profile) -> None:
    """Print the figures of one (system, T) and the propensity stage's cost with the current and needed window."""
    baseline = profile.propensity.max_time_for(system_name, temperature)
    print(
        f"{system_name} T = {temperature}: t(δ = 1) = {figures.t_delta.text()} LJ time, reached by "
        f"{figures.n_reached} of {figures.n} glasses; δ(t = {baseline:g}, current window) = "
        f"{figures.delta_baseline.text()}; δ at the end of the run = {figures.delta_end.text()}; "
        f"⟨C_B⟩ at t(δ = 1) = {figures.bonds_at_t_delta.text()}"
    )
    if figures.lower_bound:
        print(
            f"    {figures.n - figures.n_reached} glass(es) still below δ = 1 at the end of the run: "
            f"t(δ = 1) > {figures.t_max:g} for them"
        )
    rate = figures.steps_per_second
    now = window_cost(profile, system_name, baseline, rate)
    needed = f", {window_cost(profile, system_name, figures.t_delta.mean, rate):.0f} CPU s" if figures.t_delta.n else ""
    print(
        f"    MD {rate:.0f} steps/s on one core; propensity partition ({profile.name} profile) {now:.0f} CPU s now"
        + (f"{needed} with a window of t(δ = 1)" if needed else "")
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--systems", nargs="+", default=["abm", "kam"])
    parser.add_argument("--temperatures", nargs="*", type=float, help="default: the campaign's propensity list")
    parser.add_argument("--profile", default="demo", help="quench protocol, N, seeds and the baseline window")
    parser.add_argument("--glasses", type=int, default=4)
    parser.add_argument("--replicas", type=int, default=2)
    parser.add_argument("--per-decade", type=int, default=6)
    parser.add_argument("--t-max", nargs="*", default=[], help="system=time (LJ), e.g. abm=3000")
    parser.add_argument("--curves", action="store_true", help="print δ(t) and ⟨C_B⟩(t) at every frame")
    args = parser.parse_args()

    profile = load_profile(args.profile)
    campaign = load_campaign()
    t_max = {**DEFAULT_T_MAX, **{k: float(v) for k, v in (item.split("=") for item in args.t_max)}}
    clock = time.perf_counter()
    longest: tuple[float, float, str, bool] | None = None  # (ratio, t, label, lower bound)
    with tempfile.TemporaryDirectory() as scratch:
        for system_name in args.systems:
            system = get_system(system_name)
            temperatures = args.temperatures or [float(t) for t in campaign.temperatures(system_name, "propensity")]
            glasses = quench_glasses(system_name, profile, args.glasses, Path(scratch) / system_name)
            n = profile.quench.particles_for(system_name)
            steps = log_spaced_steps(int(round(t_max[system_name] / system.md_timestep)), args.per_decade)
            print(
                f"{system_name}: {len(glasses)} glasses (N = {n}, T_G = {system.temperatures['glass']}, cooling rate "
                f"{profile.quench.protocol.cooling_rate:g}, {profile.name} seeds) × {args.replicas} replicas, NVT to "
                f"t = {t_max[system_name]:g} ({len(steps)} frames); quenched in {time.perf_counter() - clock:.0f} s"
            )
            for temperature in temperatures:
                protocol = IsoconfigurationalProtocol(temperature, args.replicas, tuple(int(s) for s in steps))
                runs = [
                    run_glass(system_name, temperature, k, config, protocol, profile.base_seed,
                              Path(scratch) / f"{system_name}_{temperature}_{k}")
                    for k, config in glasses.items()
                ]  # fmt: skip
                if args.curves:
                    print_curves(system_name, temperature, runs)
                figures = summarise(runs, profile.propensity.max_time_for(system_name, temperature))
                report(system_name, temperature, figures, profile)
                baseline = profile.propensity.max_time_for(system_name, temperature)
                t = t_max[system_name] if figures.lower_bound else figures.t_delta.mean
                if longest is None or t / baseline > longest[0]:
                    longest = (t / baseline, t, f"{system_name} T = {temperature}", figures.lower_bound)
    print(f"wall {time.perf_counter() - clock:.0f} s")
    if longest is not None:
        ratio, t, label, bound = longest
        mark = ">" if bound else ""
        print(f"longest window needed: {label}")
        print(f"RESULT delta_clock_time_max {mark}{t:.4g} LJ_time ratio={mark}{ratio:.3g}")


if __name__ == "__main__":
    main()
