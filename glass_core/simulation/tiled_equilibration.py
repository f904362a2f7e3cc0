"""Large equilibrium boxes from small ones: tile k × k, then swap MC until the tiling is forgotten.

S4(q) and ξ4 need small q, hence large boxes: [G]/[J] apply their models to N = 82 560 ka2d_ternary
configurations (8 × 8 copies of N = 1290, L ≈ 263; [J] §V, [G]). Equilibrating such a box from a
random start is expensive; a tiled equilibrium (:func:`glass_core.models.tiling.tile_configuration`)
already has the right density, composition and local structure everywhere, but its k² copies are
identical, so it is periodic in the small box and not a sample of the large box's equilibrium.
Swap MC at the same T (:class:`~glass_core.simulation.swap_monte_carlo.SwapMonteCarlo`) makes the
copies independent: run until the self overlap with the tiled start,

    Q(s) = (1/N) Σ_i θ(a − |r_i(s) − r_i(0)|),   a = 0.3,

falls below 1/e [NBC17]. Once every copy has
decorrelated from the common start it has decorrelated from the other copies too. MC dynamics per sweep
does not depend on N, so the number of sweeps is that of the small box at the same T (≈ 5700 at
T = 0.4, ≈ 15 000 at T = 0.3; ``benchmarks/tiled_swap_mc.py``, ``benchmarks/swap_mc_decorrelation.py``).
A cap on the sweeps keeps a run bounded; whether Q fell below 1/e is recorded and checked by the asset.

Particles are spatially ordered first (:func:`~glass_core.models.tiling.spatially_ordered`, ≈ 1.6× faster
per attempt at N = 82 560); positions are wrapped into the box, types are the chain's (swaps change them,
composition is conserved).
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from glass_core.dynamics.overlap import self_overlap
from glass_core.files import atomic_savez, item_result_path
from glass_core.models.configuration import Configuration, load_configuration
from glass_core.models.systems import ModelSystem, get_system
from glass_core.models.tiling import spatially_ordered, tile_configuration
from glass_core.simulation.swap_monte_carlo import SwapMCParameters, SwapMonteCarlo

__all__ = ["DECORRELATED_OVERLAP", "TiledEquilibration", "decorrelate_tiling", "tiled_swap_mc_item"]

#: Q below this: the chain has forgotten its start [NBC17]
DECORRELATED_OVERLAP = 1.0 / math.e


@dataclass(frozen=True)
class TiledEquilibration:
    """A tiled box re-equilibrated by swap MC, and the record of how it forgot the tiling.

    Attributes:
        configuration: the final configuration (N = k² N_small, positions wrapped, types after swaps).
        energy_per_particle: E/N at the end (running energy of the chain).
        sweeps: (n,) sweeps at which the overlap was measured (the first entry is 0, the tiled start).
        overlaps: (n,) self overlap Q with the tiled start (1 at sweep 0).
        energies: (n,) E/N at those sweeps.
        sweeps_used: sweeps run in total.
        decorrelated: whether Q fell below 1/e before the sweep cap.
        acceptance: accepted fraction per move kind.
        elapsed_seconds: wall time of the chain.
    """

    configuration: Configuration
    energy_per_particle: float
    sweeps: np.ndarray
    overlaps: np.ndarray
    energies: np.ndarray
    sweeps_used: int
    decorrelated: bool
    acceptance: dict[str, float]
    elapsed_seconds: float


def decorrelate_tiling(
    config: Configuration,
    tiles_per_side: int,
    system: ModelSystem,
    params: SwapMCParameters,
    seed: int,
    max_sweeps: int,
    overlap_every: int,
    overlap_distance: float = 0.3,
) -> TiledEquilibration:
    """Tile ``config`` k × k, order it spatially, and run swap MC until Q < 1/e or ``max_sweeps``.

    Q and E/N are recorded every ``overlap_every`` sweeps; the run stops at the first record with
    Q < 1/e (so it may end up to ``overlap_every`` − 1 sweeps after the crossing). Raises ``ValueError``
    for ``max_sweeps`` < 1 or ``overlap_every`` < 1 (and whatever :func:`tile_configuration` or
    :class:`SwapMonteCarlo` raise for a bad k or system).
    """
    if max_sweeps < 1 or overlap_every < 1:
        raise ValueError(f"need max_sweeps ≥ 1 and overlap_every ≥ 1, got {max_sweeps} and {overlap_every}")
    began = time.perf_counter()
    start, _ = spatially_ordered(tile_configuration(config, tiles_per_side))
    chain = SwapMonteCarlo(start, system, params, seed)
    origin = chain.unwrapped.copy()
    n = chain.n_particles
    sweeps, overlaps, energies = [0], [1.0], [chain.energy / n]
    while chain.sweeps < max_sweeps and overlaps[-1] >= DECORRELATED_OVERLAP:
        chain.run(min(overlap_every, max_sweeps - chain.sweeps), trace_every=overlap_every)
        sweeps.append(chain.sweeps)
        overlaps.append(self_overlap(chain.unwrapped - origin, overlap_distance))
        energies.append(chain.energy / n)
    metadata = {"tiles_per_side": int(tiles_per_side), "mc_sweeps": chain.sweeps, "seed": int(seed)}
    return TiledEquilibration(
        configuration=chain.configuration(metadata),
        energy_per_particle=chain.energy / n,
        sweeps=np.asarray(sweeps, np.int64),
        overlaps=np.asarray(overlaps),
        energies=np.asarray(energies),
        sweeps_used=int(chain.sweeps),
        decorrelated=bool(overlaps[-1] < DECORRELATED_OVERLAP),
        acceptance=chain.acceptance,
        elapsed_seconds=time.perf_counter() - began,
    )


def tiled_swap_mc_item(params: dict[str, Any], item: dict[str, Any], out_dir: Path) -> dict[str, Any]:
    """Worker task ``"tiled_swap_mc"``: one stored small equilibrium (``item["configuration"]``, a LAMMPS data
    file; ``item["seed"]``) → its tiled, re-equilibrated large box.

    ``params``: ``system``, ``temperature``, ``tiles_per_side``, ``max_sweeps``, ``overlap_every``,
    ``swap_probability``, ``max_displacement``. Writes positions, types, box, E/N, the overlap trace
    (sweeps, overlaps, energies), sweeps used, whether Q < 1/e was reached, acceptance and wall time.
    """
    system = get_system(params["system"])
    mc = SwapMCParameters(
        float(params["temperature"]), float(params["swap_probability"]), float(params["max_displacement"])
    )
    small = load_configuration(item["configuration"], system.name)
    result = decorrelate_tiling(
        small,
        int(params["tiles_per_side"]),
        system,
        mc,
        int(item["seed"]),
        int(params["max_sweeps"]),
        int(params["overlap_every"]),
    )
    atomic_savez(
        item_result_path(out_dir, item),
        positions=result.configuration.positions,
        types=result.configuration.types,
        box=np.asarray(result.configuration.box),
        energy_per_particle=np.asarray(result.energy_per_particle),
        trace_sweeps=result.sweeps,
        overlaps=result.overlaps,
        energies=result.energies,
        sweeps_used=np.asarray(result.sweeps_used),
        decorrelated=np.asarray(result.decorrelated),
        acceptance=np.asarray(json.dumps(result.acceptance)),
        elapsed_seconds=np.asarray(result.elapsed_seconds),
    )
    return {
        "sweeps": result.sweeps_used,
        "overlap": float(result.overlaps[-1]),
        "wall_seconds": result.elapsed_seconds,
        "acceptance": result.acceptance,
    }
