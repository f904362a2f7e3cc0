"""Swap Monte Carlo for the ternary 2D Kob–Andersen liquid (``ka2d_ternary``), compiled with numba.

The chain samples the canonical distribution P(x, t) ∝ exp(−E(x, t)/T) over positions x and type
assignments t (composition fixed), with E = Σ_{i<j} V_{t_i t_j}(r_ij) the C²-smooth LJ of
[G], [J]:

    V_ab(r) = 4ε_ab[(σ_ab/r)¹² − (σ_ab/r)⁶ + C0 + C2 (r/σ_ab)² + C4 (r/σ_ab)⁴]  for r < 2.5 σ_ab.

Each attempt is, with probability ``swap_probability`` a type swap, otherwise a displacement
[NBC17], [BFFSS19]:

- displacement: a uniformly chosen particle i moves by δ uniform in the square [−δ_max, δ_max]²;
- swap: one allowed type pair (a, b) is chosen uniformly, then a uniformly chosen particle of type a
  and one of type b exchange their types. The proposal probability 1/(K N_a N_b) is the same for the
  move and its reverse because swaps conserve N_a and N_b, so the proposal is symmetric;
- Metropolis: accept with probability min(1, exp(−ΔE/T)). Detailed balance holds for each move kind,
  hence for the mixture.

Swap pairs. The ternary model adds to the 2D KA mixture (A: σ = 1, B: σ = 0.88) a third species C of
intermediate size and energy (σ_CC = 0.94, ε_CC = 0.75) precisely so that swaps become efficient
([POB20]; [J] ref. 37). The swaps
used are A↔C and B↔C: C is close enough in size and interaction to both A and B for the exchange to be
accepted at low T, whereas A↔B changes σ by 12 % and exchanges the strongly attractive A–B
(ε_AB = 1.5) bonds for weak A–A/B–B ones. Measured at N = 1290 (equilibrated, swap probability 0.2):
T = 0.3: A↔C 0.9 %, B↔C 0.02 %, A↔B 0.002 % accepted (displacements 25 %); T = 0.5: 2.7 %, 0.4 %,
0.003 % (33 %). An A↔B attempt is wasted work. Any pair list can be passed in
:attr:`SwapMCParameters.swap_pairs`.

Neighbour search. A Verlet list with skin s holds, for every particle, the particles closer than
r_v = max r_c + s when it was built (built in O(N) from a cell list with cells ≥ r_v, or by all pairs in
boxes of fewer than 3 cells). An attempt costs O(neighbours), not O(N). The list stays valid while every
particle is within s/2 of its position at the last build: before a displacement is evaluated, if the
trial position is farther than s/2 from that reference the list is rebuilt first (the particle still at
its old position), after which the trial is at most √2 δ_max ≤ s/2 away. So no interacting pair is ever
missed. The default skin is max(0.7, 3 δ_max). When the box is too small (max r_c + s ≥ L/2) or
N ≤ 64, every pair is in the list and it is never rebuilt. Minimum image requires max r_c < L/2.

Randomness. A xoshiro256** generator runs inside the compiled loop; its 256-bit state is seeded from
``numpy.random.SeedSequence(seed)``. The same seed gives a bit-identical chain, also when the run is
split into several calls of :meth:`SwapMonteCarlo.run` (the state, including the neighbour list, is
carried between calls).

Energies. Each particle's interaction energy e_i = Σ_j V(r_ij) is cached, so an attempt evaluates only
the new pair energies of the moved particle(s) (ΔE = e_i′ − e_i, plus e_j′ − e_j for a swap); the old
ones are recomputed only on acceptance, to update the neighbours' e_q. The total is kept as a running
sum E ← E + ΔE of accepted moves; E_i = ½ e_i is the per-particle convention of
:mod:`glass_core.models.energy`. Pair energies are evaluated branch-free and the minimum image is
d − L·rint(d/L). Speed (N = 1290, T = 0.3, one core of this 2-core machine, shared):
≈ 2×10⁶ attempts/s with swap probability 0.2, ≈ 1.2×10⁶ swap attempts/s
(``benchmarks/swap_mc_vs_lammps_atom_swap.py``).
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numba
import numpy as np

from glass_core.dynamics.overlap import self_overlap
from glass_core.files import atomic_savez, item_result_path
from glass_core.models.configuration import Configuration
from glass_core.models.pair_potentials import SMOOTH_C2_COEFFICIENTS
from glass_core.models.systems import ModelSystem, PotentialForm, get_system

__all__ = [
    "SwapMCEquilibria",
    "SwapMCParameters",
    "SwapMCResult",
    "SwapMonteCarlo",
    "run_swap_mc",
    "sample_equilibria",
    "swap_mc_item",
]

_C0, _C2, _C4 = SMOOTH_C2_COEFFICIENTS
_ALL_PAIRS_MAX_N = 64  # below this many particles a full pair list is cheaper than a Verlet list


# --------------------------------------------------------------------------------------------- parameters
@dataclass(frozen=True)
class SwapMCParameters:
    """Parameters of the swap Monte Carlo chain (LJ units).

    Attributes:
        temperature: T (k_B = 1), > 0.
        swap_probability: probability that an attempt is a type swap (typical 0.2), in [0, 1].
        max_displacement: δ_max, half-width of the square of uniform trial displacements (typical 0.1).
        swap_pairs: pairs (a, b) of 0-based type indices whose particles may exchange types; default
            A↔C and B↔C of the ternary KA model. Pairs whose types are absent are ignored; with no usable
            pair every attempt is a displacement.
        skin: Verlet skin s; ``None`` means max(0.7, 3 δ_max) (0.7 was fastest for N = 1290 at
            T = 0.3 and 0.6: fewer rebuilds outweigh ≈ 25 % more neighbours). Must be ≥ 2√2 δ_max.
    """

    temperature: float
    swap_probability: float = 0.2
    max_displacement: float = 0.1
    swap_pairs: tuple[tuple[int, int], ...] = ((0, 2), (1, 2))
    skin: float | None = None

    def __post_init__(self) -> None:
        if not self.temperature > 0:
            raise ValueError(f"temperature must be positive, got {self.temperature}")
        if not 0.0 <= self.swap_probability <= 1.0:
            raise ValueError(f"swap_probability must lie in [0, 1], got {self.swap_probability}")
        if not self.max_displacement > 0:
            raise ValueError(f"max_displacement must be positive, got {self.max_displacement}")
        for a, b in self.swap_pairs:
            if a == b or a < 0 or b < 0:
                raise ValueError(f"swap pair {(a, b)} must join two different type indices")
        if self.skin is not None and self.skin < 2.0 * math.sqrt(2.0) * self.max_displacement:
            raise ValueError(f"skin {self.skin} must be at least 2√2 max_displacement")

    @property
    def verlet_skin(self) -> float:
        return self.skin if self.skin is not None else max(0.7, 3.0 * self.max_displacement)


# --------------------------------------------------------------------------------------------- numba kernels
@numba.njit(cache=True, inline="always")
def _rotl(x: np.uint64, k: int) -> np.uint64:
    return (x << np.uint64(k)) | (x >> np.uint64(64 - k))


@numba.njit(cache=True, inline="always")
def _next_u64(s: np.ndarray) -> np.uint64:
    """xoshiro256** (Blackman & Vigna 2018): one 64-bit output, state ``s`` (4 uint64) advanced."""
    s0, s1, s2, s3 = s[0], s[1], s[2], s[3]
    result = _rotl(s1 * np.uint64(5), 7) * np.uint64(9)
    t = s1 << np.uint64(17)
    s2 ^= s0
    s3 ^= s1
    s1 ^= s2
    s0 ^= s3
    s2 ^= t
    s3 = _rotl(s3, 45)
    s[0], s[1], s[2], s[3] = s0, s1, s2, s3
    return result


@numba.njit(cache=True, inline="always")
def _uniform(s: np.ndarray) -> float:
    """Uniform double in [0, 1) from the top 53 bits."""
    return float(_next_u64(s) >> np.uint64(11)) * (1.0 / 9007199254740992.0)


@numba.njit(cache=True, inline="always")
def _randint(s: np.ndarray, n: int) -> int:
    """Uniform integer in [0, n) (bias ≤ n / 2⁵³, negligible)."""
    k = int(_uniform(s) * n)
    return k if k < n else n - 1


@numba.njit(cache=True, inline="always")
def _minimum_image(d: float, length: float, inv_length: float) -> float:
    """Shortest periodic image of a coordinate difference (branch-free: d − L·rint(d/L))."""
    return d - length * np.rint(d * inv_length)


@numba.njit(cache=True, inline="always")
def _wrap(x: float, length: float) -> float:
    if x >= length:
        x -= length
    elif x < 0.0:
        x += length
        if x >= length:  # −tiny + L rounds to L
            x -= length
    return x


@numba.njit(cache=True, inline="always")
def _pair_energy(r2: float, par: np.ndarray, ti: int, tj: int) -> float:
    """C²-smooth LJ V_{ti tj} from r²; ``par[ti, tj]`` = (r_c², 4ε, σ², 1/σ²). Zero at r² ≥ r_c².

    Evaluated unconditionally and selected afterwards (no unpredictable branch). r² = 0 gives NaN,
    which the Metropolis test rejects.
    """
    inv2 = par[ti, tj, 2] / r2
    inv6 = inv2 * inv2 * inv2
    x2 = r2 * par[ti, tj, 3]
    v = par[ti, tj, 1] * (inv6 * inv6 - inv6 + _C0 + x2 * (_C2 + _C4 * x2))
    return v if r2 < par[ti, tj, 0] else 0.0


@numba.njit(cache=True)
def _build_neighbours(
    pos: np.ndarray, box: np.ndarray, r_list: float, all_pairs: bool, capacity: int
) -> tuple[np.ndarray, np.ndarray]:
    """Full (symmetric) neighbour list: ``nbr[i, :count[i]]`` are the j ≠ i with r_ij < r_list.

    With ``all_pairs`` every j ≠ i is listed. Otherwise a cell list with ≥ 3 cells per side is used
    when the box allows it, else all pairs are tested. The capacity grows as needed.
    """
    n = pos.shape[0]
    lx, ly = box[0], box[1]
    ilx, ily = 1.0 / lx, 1.0 / ly
    r2max = r_list * r_list
    ncx = int(lx / r_list)
    ncy = int(ly / r_list)
    use_cells = (not all_pairs) and ncx >= 3 and ncy >= 3
    head = np.full(max(ncx * ncy, 1), -1, np.int64)
    nxt = np.full(n, -1, np.int64)
    if use_cells:
        for i in range(n):
            cx = min(int(pos[i, 0] / lx * ncx), ncx - 1)
            cy = min(int(pos[i, 1] / ly * ncy), ncy - 1)
            c = cx * ncy + cy
            nxt[i] = head[c]
            head[c] = i
    while True:
        nbr = np.empty((n, capacity), np.int64)
        count = np.zeros(n, np.int64)
        if all_pairs:
            for i in range(n):
                k = 0
                for j in range(n):
                    if j != i:
                        if k < capacity:
                            nbr[i, k] = j
                        k += 1
                count[i] = k
        elif not use_cells:
            for i in range(n):
                for j in range(i + 1, n):
                    dx = _minimum_image(pos[j, 0] - pos[i, 0], lx, ilx)
                    dy = _minimum_image(pos[j, 1] - pos[i, 1], ly, ily)
                    if dx * dx + dy * dy < r2max:
                        if count[i] < capacity:
                            nbr[i, count[i]] = j
                        if count[j] < capacity:
                            nbr[j, count[j]] = i
                        count[i] += 1
                        count[j] += 1
        else:
            for i in range(n):
                cx = min(int(pos[i, 0] / lx * ncx), ncx - 1)
                cy = min(int(pos[i, 1] / ly * ncy), ncy - 1)
                for ox in range(-1, 2):
                    ccx = (cx + ox) % ncx
                    for oy in range(-1, 2):
                        j = head[ccx * ncy + (cy + oy) % ncy]
                        while j >= 0:
                            if j != i:
                                dx = _minimum_image(pos[j, 0] - pos[i, 0], lx, ilx)
                                dy = _minimum_image(pos[j, 1] - pos[i, 1], ly, ily)
                                if dx * dx + dy * dy < r2max:
                                    if count[i] < capacity:
                                        nbr[i, count[i]] = j
                                    count[i] += 1
                            j = nxt[j]
        largest = count.max() if n > 0 else 0
        if largest <= capacity:
            return nbr, count
        capacity = largest + 8


@numba.njit(cache=True)
def _interaction_energies(
    pos: np.ndarray, types: np.ndarray, box: np.ndarray, nbr: np.ndarray, count: np.ndarray, par: np.ndarray
) -> np.ndarray:
    """e_i = Σ_{j ∈ nbr(i)} V(r_ij) over a full neighbour list (so E = ½ Σ_i e_i, E_i = ½ e_i)."""
    lx, ly = box[0], box[1]
    ilx, ily = 1.0 / lx, 1.0 / ly
    e = np.zeros(pos.shape[0])
    for i in range(pos.shape[0]):
        ti = types[i]
        acc = 0.0
        for k in range(count[i]):
            j = nbr[i, k]
            dx = _minimum_image(pos[j, 0] - pos[i, 0], lx, ilx)
            dy = _minimum_image(pos[j, 1] - pos[i, 1], ly, ily)
            acc += _pair_energy(dx * dx + dy * dy, par, ti, types[j])
        e[i] = acc
    return e


@numba.njit(cache=True)
def _run_chain(
    pos: np.ndarray,
    unwrapped: np.ndarray,
    types: np.ndarray,
    e_int: np.ndarray,
    box: np.ndarray,
    members: np.ndarray,
    slot: np.ndarray,
    type_count: np.ndarray,
    swap_pairs: np.ndarray,
    par: np.ndarray,
    beta: float,
    p_swap: float,
    dmax: float,
    skin: float,
    r_list: float,
    all_pairs: bool,
    nbr: np.ndarray,
    count: np.ndarray,
    ref: np.ndarray,
    rng: np.ndarray,
    energy: float,
    n_attempts: int,
    trace_every: int,
    trace: np.ndarray,
    stats: np.ndarray,
) -> tuple[float, np.ndarray, np.ndarray]:
    """``n_attempts`` Metropolis attempts; state arrays are updated in place.

    ``e_int[i]`` = Σ_j V(r_ij) is cached: an attempt evaluates only the new pair energies of the moved
    particle(s), ΔE = e_i′ − e_i (+ e_j′ − e_j for a swap); the old ones are recomputed only on
    acceptance, to update the neighbours' e_q. ``stats`` = [disp attempts, disp accepted, swap attempts
    per pair (K), swap accepted per pair (K), list rebuilds]; ``trace[m]`` receives E/N after attempt
    (m + 1)·trace_every. Returns the running energy and the (possibly reallocated) neighbour list.
    """
    n = pos.shape[0]
    lx, ly = box[0], box[1]
    ilx, ily = 1.0 / lx, 1.0 / ly
    half_skin2 = 0.25 * skin * skin
    n_pairs = swap_pairs.shape[0]
    if n_pairs == 0:
        p_swap = 0.0
    inv_n = 1.0 / n
    buf_i = np.empty(nbr.shape[1])
    buf_j = np.empty(nbr.shape[1])
    next_trace = trace_every
    for step in range(n_attempts):
        if p_swap > 0.0 and _uniform(rng) < p_swap:
            # ---------------------------------------------------------------- type swap ta <-> tb
            kp = _randint(rng, n_pairs)
            ta = swap_pairs[kp, 0]
            tb = swap_pairs[kp, 1]
            i = members[ta, _randint(rng, type_count[ta])]
            j = members[tb, _randint(rng, type_count[tb])]
            stats[2 + kp] += 1
            # new interaction energies: i becomes tb, j becomes ta (the i-j term is unchanged)
            xi, yi = pos[i, 0], pos[i, 1]
            ei = 0.0
            for k in range(count[i]):
                q = nbr[i, k]
                tq = ta if q == j else types[q]
                dx = _minimum_image(pos[q, 0] - xi, lx, ilx)
                dy = _minimum_image(pos[q, 1] - yi, ly, ily)
                v = _pair_energy(dx * dx + dy * dy, par, tb, tq)
                buf_i[k] = v
                ei += v
            xj, yj = pos[j, 0], pos[j, 1]
            ej = 0.0
            for k in range(count[j]):
                q = nbr[j, k]
                tq = tb if q == i else types[q]
                dx = _minimum_image(pos[q, 0] - xj, lx, ilx)
                dy = _minimum_image(pos[q, 1] - yj, ly, ily)
                v = _pair_energy(dx * dx + dy * dy, par, ta, tq)
                buf_j[k] = v
                ej += v
            delta = (ei - e_int[i]) + (ej - e_int[j])
            if delta <= 0.0 or _uniform(rng) < math.exp(-beta * delta):
                for k in range(count[i]):
                    q = nbr[i, k]
                    if q != j:
                        dx = _minimum_image(pos[q, 0] - xi, lx, ilx)
                        dy = _minimum_image(pos[q, 1] - yi, ly, ily)
                        e_int[q] += buf_i[k] - _pair_energy(dx * dx + dy * dy, par, ta, types[q])
                for k in range(count[j]):
                    q = nbr[j, k]
                    if q != i:
                        dx = _minimum_image(pos[q, 0] - xj, lx, ilx)
                        dy = _minimum_image(pos[q, 1] - yj, ly, ily)
                        e_int[q] += buf_j[k] - _pair_energy(dx * dx + dy * dy, par, tb, types[q])
                e_int[i] = ei
                e_int[j] = ej
                si, sj = slot[i], slot[j]
                types[i] = tb
                types[j] = ta
                members[ta, si] = j
                members[tb, sj] = i
                slot[i] = sj
                slot[j] = si
                energy += delta
                stats[2 + n_pairs + kp] += 1
        else:
            # ---------------------------------------------------------------- displacement
            i = _randint(rng, n)
            ddx = (2.0 * _uniform(rng) - 1.0) * dmax
            ddy = (2.0 * _uniform(rng) - 1.0) * dmax
            stats[0] += 1
            xo, yo = pos[i, 0], pos[i, 1]
            xn = _wrap(xo + ddx, lx)
            yn = _wrap(yo + ddy, ly)
            if not all_pairs:
                rx = _minimum_image(xn - ref[i, 0], lx, ilx)
                ry = _minimum_image(yn - ref[i, 1], ly, ily)
                if rx * rx + ry * ry > half_skin2:
                    nbr, count = _build_neighbours(pos, box, r_list, False, nbr.shape[1])
                    ref[:, :] = pos
                    stats[2 + 2 * n_pairs] += 1
                    if buf_i.shape[0] < nbr.shape[1]:
                        buf_i = np.empty(nbr.shape[1])
                        buf_j = np.empty(nbr.shape[1])
            ti = types[i]
            ei = 0.0
            for k in range(count[i]):
                q = nbr[i, k]
                dx = _minimum_image(pos[q, 0] - xn, lx, ilx)
                dy = _minimum_image(pos[q, 1] - yn, ly, ily)
                v = _pair_energy(dx * dx + dy * dy, par, ti, types[q])
                buf_i[k] = v
                ei += v
            delta = ei - e_int[i]
            if delta <= 0.0 or _uniform(rng) < math.exp(-beta * delta):
                for k in range(count[i]):
                    q = nbr[i, k]
                    dx = _minimum_image(pos[q, 0] - xo, lx, ilx)
                    dy = _minimum_image(pos[q, 1] - yo, ly, ily)
                    e_int[q] += buf_i[k] - _pair_energy(dx * dx + dy * dy, par, ti, types[q])
                e_int[i] = ei
                pos[i, 0] = xn
                pos[i, 1] = yn
                unwrapped[i, 0] += ddx
                unwrapped[i, 1] += ddy
                energy += delta
                stats[1] += 1
        if step + 1 == next_trace:
            trace[(step + 1) // trace_every - 1] = energy * inv_n
            next_trace += trace_every
    return energy, nbr, count


# --------------------------------------------------------------------------------------------- Python API
@dataclass
class SwapMCResult:
    """Outcome of a swap-MC run.

    Attributes:
        configuration: the final configuration (positions wrapped, types after swaps).
        energy: running total potential energy E at the end (LJ units).
        energy_trace: (n_sweeps // sample_every,) E/N after every ``sample_every`` sweeps.
        acceptance: accepted / attempted per move kind: ``displacement``, ``swap`` and one
            ``swap_<a>_<b>`` per usable pair (NaN for a kind never attempted).
        attempts: attempts per move kind (same keys), plus ``neighbour_rebuilds``.
    """

    configuration: Configuration
    energy: float
    energy_trace: np.ndarray
    acceptance: dict[str, float]
    attempts: dict[str, int]


class SwapMonteCarlo:
    """A swap Monte Carlo chain for a C²-smooth-LJ system (``ka2d_ternary``); see the module docstring.

    The chain owns copies of the positions (wrapped into the box), unwrapped positions (the sum of
    accepted displacements, for displacement statistics), types, the neighbour list and the RNG state,
    so successive :meth:`run` calls continue one chain. A sweep is N attempts.
    """

    def __init__(
        self,
        config: Configuration,
        system: ModelSystem,
        params: SwapMCParameters,
        seed: int | np.random.Generator,
    ) -> None:
        if system.potential is not PotentialForm.LJ_SMOOTH_C2:
            raise ValueError(f"swap MC implements the C²-smooth LJ only, not {system.potential.value}")
        if config.n_particles < 2:
            raise ValueError("swap MC needs at least two particles")
        if int(config.types.min()) < 0 or int(config.types.max()) >= system.n_types:
            raise ValueError(f"types must lie in [0, {system.n_types}) for {system.name}")
        box = np.asarray(config.box, float)
        if system.max_cutoff >= 0.5 * box.min():
            raise ValueError(f"cutoff {system.max_cutoff} must be below half the box side {box.min()}")
        self.system = system
        self.params = params
        self._source = config
        wrapped = config.wrapped()
        self.positions = wrapped.positions.copy()
        self.unwrapped = config.positions.copy()
        self.types = wrapped.types.copy()
        self.box = box
        n, nt = config.n_particles, system.n_types

        # per-type member lists for O(1) uniform choice of a particle of a given type
        self._type_count = np.bincount(self.types, minlength=nt).astype(np.int64)
        self._members = np.full((nt, n), -1, np.int64)
        self._slot = np.empty(n, np.int64)
        fill = np.zeros(nt, np.int64)
        for i, t in enumerate(self.types):
            self._members[t, fill[t]] = i
            self._slot[i] = fill[t]
            fill[t] += 1
        for a, b in params.swap_pairs:
            if a >= nt or b >= nt:
                raise ValueError(f"swap pair {(a, b)} names a type beyond {system.type_names}")
        usable = [(a, b) for a, b in params.swap_pairs if self._type_count[a] > 0 and self._type_count[b] > 0]
        self._swap_pairs = np.asarray(usable, np.int64).reshape(-1, 2)
        self._pair_names = [f"swap_{system.type_names[a]}_{system.type_names[b]}" for a, b in usable]

        # per type pair: (r_c², 4ε, σ², 1/σ²)
        sigma = system.sigma
        self._par = np.ascontiguousarray(np.stack([system.cutoff**2, 4.0 * system.epsilon, sigma**2, sigma**-2], -1))

        self._skin = params.verlet_skin
        self._r_list = system.max_cutoff + self._skin
        self._all_pairs = bool(n <= _ALL_PAIRS_MAX_N or self._r_list >= 0.5 * box.min())
        self._nbr, self._count = _build_neighbours(self.positions, box, self._r_list, self._all_pairs, 48)
        self._ref = self.positions.copy()

        if isinstance(seed, np.random.Generator):
            seed = int(seed.integers(0, 2**63))
        state = np.random.SeedSequence(seed).generate_state(4, np.uint64)
        if not state.any():
            state[0] = np.uint64(1)
        self._rng = state
        self._stats = np.zeros(3 + 2 * len(usable), np.int64)
        self._e_int = _interaction_energies(self.positions, self.types, box, self._nbr, self._count, self._par)
        self.energy = 0.5 * float(self._e_int.sum())
        self.sweeps = 0

    @property
    def n_particles(self) -> int:
        return int(self.positions.shape[0])

    @property
    def per_particle_energy(self) -> np.ndarray:
        """(N,) E_i = ½ Σ_j V(r_ij) as cached by the chain (same convention as :mod:`glass_core.models.energy`)."""
        return 0.5 * self._e_int.copy()

    def recompute_energy(self) -> float:
        """Total energy recomputed from scratch (the running energy should equal it to rounding)."""
        nbr, count = _build_neighbours(self.positions, self.box, self.system.max_cutoff + 1e-9, False, 48)
        return 0.5 * float(_interaction_energies(self.positions, self.types, self.box, nbr, count, self._par).sum())

    def run(self, n_sweeps: int, trace_every: int = 1) -> np.ndarray:
        """Advance the chain by ``n_sweeps`` × N attempts; return E/N every ``trace_every`` sweeps."""
        if n_sweeps < 0 or trace_every < 1:
            raise ValueError("n_sweeps must be ≥ 0 and trace_every ≥ 1")
        n = self.n_particles
        trace = np.empty(n_sweeps // trace_every)
        p = self.params
        self.energy, self._nbr, self._count = _run_chain(
            self.positions, self.unwrapped, self.types, self._e_int, self.box, self._members, self._slot,
            self._type_count, self._swap_pairs, self._par,
            1.0 / p.temperature, p.swap_probability, p.max_displacement, self._skin, self._r_list,
            self._all_pairs, self._nbr, self._count, self._ref, self._rng, self.energy,
            n_sweeps * n, trace_every * n, trace, self._stats,
        )  # fmt: skip
        self.sweeps += n_sweeps
        return trace

    @property
    def attempts(self) -> dict[str, int]:
        """Attempts per move kind since the chain started, and the number of neighbour-list rebuilds."""
        k = len(self._pair_names)
        s = self._stats
        out = {"displacement": int(s[0]), "swap": int(s[2 : 2 + k].sum())}
        out |= {name: int(s[2 + m]) for m, name in enumerate(self._pair_names)}
        out["neighbour_rebuilds"] = int(s[2 + 2 * k])
        return out

    @property
    def acceptance(self) -> dict[str, float]:
        """Accepted fraction per move kind since the chain started (NaN when never attempted)."""
        k = len(self._pair_names)
        s = self._stats

        def rate(acc: int, att: int) -> float:
            return float(acc / att) if att else float("nan")

        out = {"displacement": rate(s[1], s[0]), "swap": rate(s[2 + k : 2 + 2 * k].sum(), s[2 : 2 + k].sum())}
        out |= {name: rate(s[2 + k + m], s[2 + m]) for m, name in enumerate(self._pair_names)}
        return out

    def configuration(self, metadata: dict[str, Any] | None = None) -> Configuration:
        """A snapshot of the current state as a :class:`Configuration` (copies)."""
        meta = dict(self._source.metadata)
        meta |= {"protocol": "swap_mc", "temperature": self.params.temperature, "mc_sweeps": self.sweeps}
        meta |= metadata or {}
        return Configuration(self.positions.copy(), self.types.copy(), tuple(self.box), self.system.name, meta)


def run_swap_mc(
    config: Configuration,
    system: ModelSystem,
    params: SwapMCParameters,
    n_sweeps: int,
    seed: int | np.random.Generator,
    sample_every: int = 1,
) -> SwapMCResult:
    """Run ``n_sweeps`` sweeps of swap MC from ``config``; trace E/N every ``sample_every`` sweeps."""
    chain = SwapMonteCarlo(config, system, params, seed)
    trace = chain.run(n_sweeps, sample_every)
    return SwapMCResult(chain.configuration(), chain.energy, trace, chain.acceptance, chain.attempts)


@dataclass
class SwapMCEquilibria:
    """Equilibrium configurations from one swap-MC chain.

    Attributes:
        configurations: the saved samples (n_samples).
        energies: (n_samples,) E/N of each sample.
        energy_trace: E/N after every ``trace_every`` sweeps of the whole chain, equilibration included.
        trace_sweeps: (len(energy_trace),) sweep index of each trace point.
        overlaps: (n_samples,) positional self-overlap Q (:func:`self_overlap`, a = 0.3) of each sample
            with the previous one (the first with the end of equilibration); Q < 1/e: decorrelated.
        typed_overlaps: (n_samples,) the same, also counting a type change as decorrelation.
        mean_squared_displacements: (n_samples,) ⟨|Δr|²⟩ between successive samples.
        type_changed_fraction: (n_samples,) fraction of particles whose type changed between samples.
        acceptance, attempts: of the whole chain (see :class:`SwapMCResult`).
        parameters: the parameters used, and the protocol (sweeps, seed) as a dict.
        elapsed_seconds: wall time of the chain.
    """

    configurations: list[Configuration]
    energies: np.ndarray
    energy_trace: np.ndarray
    trace_sweeps: np.ndarray
    overlaps: np.ndarray
    typed_overlaps: np.ndarray
    mean_squared_displacements: np.ndarray
    type_changed_fraction: np.ndarray
    acceptance: dict[str, float]
    attempts: dict[str, int]
    parameters: dict[str, Any] = field(default_factory=dict)
    elapsed_seconds: float = 0.0


def sample_equilibria(
    system: ModelSystem,
    n_particles: int,
    temperature: float,
    n_samples: int,
    equilibration_sweeps: int,
    sweeps_between_samples: int,
    seed: int,
    params: SwapMCParameters | None = None,
    trace_every: int = 10,
    overlap_distance: float = 0.3,
) -> SwapMCEquilibria:
    """Equilibrium configurations at ``temperature``: random start → equilibrate → save every k sweeps.

    The start is a random non-overlapping configuration (:func:`random_configuration`, min distance
    0.6) at the system's density; the chain runs ``equilibration_sweeps`` at ``temperature`` directly
    (swaps make this fast), then saves ``n_samples`` configurations ``sweeps_between_samples`` apart.
    Decorrelation between successive samples is measured by the self-overlap Q (a = 0.3; Q < 1/e means
    decorrelated), the mean squared displacement and the fraction of particles whose type changed.
    At T = 0.3, N = 256 (δ_max = 0.1, swap probability 0.2) Q falls below 1/e after ≈ 15 000 sweeps
    (``benchmarks/swap_mc_decorrelation.py``).
    """
    import time

    from glass_core.models.initial_configurations import random_configuration

    if params is None:
        params = SwapMCParameters(temperature)
    elif params.temperature != temperature:
        raise ValueError(f"params.temperature {params.temperature} differs from temperature {temperature}")
    if n_samples < 1 or equilibration_sweeps < 0 or sweeps_between_samples < 1:
        raise ValueError("need n_samples ≥ 1, equilibration_sweeps ≥ 0, sweeps_between_samples ≥ 1")
    rng = np.random.default_rng(seed)
    start = random_configuration(system, n_particles, rng)
    start = replace(start, metadata={"seed": seed, "temperature": temperature})
    began = time.perf_counter()
    chain = SwapMonteCarlo(start, system, params, rng)
    traces, trace_sweeps = [], []

    def advance(n_sweeps: int) -> None:
        first = chain.sweeps
        trace = chain.run(n_sweeps, trace_every)
        traces.append(trace)
        trace_sweeps.append(first + trace_every * np.arange(1, len(trace) + 1))

    advance(equilibration_sweeps)
    configurations, energies, overlaps, typed, msd, changed = [], [], [], [], [], []
    for k in range(n_samples):
        before_u, before_t = chain.unwrapped.copy(), chain.types.copy()
        advance(sweeps_between_samples)
        d = chain.unwrapped - before_u
        overlaps.append(self_overlap(d, overlap_distance))
        typed.append(self_overlap(d, overlap_distance, before_t, chain.types))
        msd.append(float(np.mean(np.einsum("ij,ij->i", d, d))))
        changed.append(float(np.mean(before_t != chain.types)))
        configurations.append(chain.configuration({"sample": k, "seed": seed}))
        energies.append(chain.energy / n_particles)
    elapsed = time.perf_counter() - began
    trace = np.concatenate(traces)
    sweeps = np.concatenate(trace_sweeps)
    protocol = {
        **asdict(params),
        "n_particles": n_particles,
        "equilibration_sweeps": equilibration_sweeps,
        "sweeps_between_samples": sweeps_between_samples,
        "seed": seed,
    }
    return SwapMCEquilibria(
        configurations, np.asarray(energies), trace, sweeps, np.asarray(overlaps), np.asarray(typed), np.asarray(msd),
        np.asarray(changed), chain.acceptance, chain.attempts, protocol, elapsed,
    )  # fmt: skip


def swap_mc_item(params: dict[str, Any], item: dict[str, Any], out_dir: Path) -> dict[str, Any]:
    """Worker task ``"swap_mc"``: one chain (``item``: ``sample``, ``seed``) → its samples, trace and acceptance.

    ``params``: ``system``, ``n_particles``, ``temperature``, ``swap_probability``, ``max_displacement``,
    ``samples_per_chain``, ``equilibration_sweeps``, ``sweeps_between_samples``, ``trace_every`` (10).
    Writes one ``.npz`` with (S, N, 2) positions, (S, N) types, the energies and the decorrelation record.
    """
    system = get_system(params["system"])
    mc = SwapMCParameters(
        float(params["temperature"]), float(params["swap_probability"]), float(params["max_displacement"])
    )
    result = sample_equilibria(
        system,
        int(params["n_particles"]),
        float(params["temperature"]),
        int(params["samples_per_chain"]),
        int(params["equilibration_sweeps"]),
        int(params["sweeps_between_samples"]),
        int(item["seed"]),
        mc,
        trace_every=int(params.get("trace_every", 10)),
    )
    atomic_savez(
        item_result_path(out_dir, item),
        positions=np.stack([c.positions for c in result.configurations]),
        types=np.stack([c.types for c in result.configurations]),
        box=np.asarray(result.configurations[0].box),
        energies=result.energies,
        energy_trace=result.energy_trace,
        trace_sweeps=result.trace_sweeps,
        overlaps=result.overlaps,
        typed_overlaps=result.typed_overlaps,
        type_changed_fraction=result.type_changed_fraction,
        acceptance=np.asarray(json.dumps(result.acceptance)),
        attempts=np.asarray(json.dumps(result.attempts)),
        elapsed_seconds=np.asarray(result.elapsed_seconds),
    )
    sweeps = int(params["equilibration_sweeps"]) + int(params["samples_per_chain"]) * int(
        params["sweeps_between_samples"]
    )
    return {"sweeps": sweeps, "wall_seconds": result.elapsed_seconds, "acceptance": result.acceptance}
