r"""Dynamic propensity labels from isoconfigurational trajectories: cage-relative displacement and bond breaking.

Input everywhere: unwrapped positions of $R$ replicas at $T$ frames, shape (R, T, N, 2), with frame 0 the
shared start (see :mod:`glass_core.simulation.isoconfigurational`). Averages over replicas are the
isoconfigurational average $\langle\cdot\rangle_\text{iso}$.

**Cage-relative squared displacement** [O] §IV D. With $d_i(t) = r_i(t) - r_i(0)$ and $V(i)$ the Voronoi
neighbours of particle $i$ in the start configuration,

$$
\begin{aligned}
\bar d_i(t) &= \frac{d_i(t) + \sum_{j \in V(i)} d_j(t)}{|V(i)| + 1}, &
\Delta_i(t) &= \left\langle \left| d_i(t) - \bar d_i(t) \right|^2 \right\rangle_\text{iso}, \\
\delta(t) &= \frac{1}{N} \sum_i \sqrt{\Delta_i(t)},
\end{aligned}
$$

$\bar d_i$ the mean over particle $i$ and its neighbours and $\delta(t)$ the clock of [O] Fig. 4. Subtracting the
cage motion removes the collective (elastic, long-wavelength) displacements, which are large in 2D
(Mermin–Wagner fluctuations), so a rigid translation gives $\Delta = 0$. [O] writes $\bar d$ as a sum
$\sum_j d_j$ while calling it the average displacement of the cage; the mean is used here, as the words
"average displacement" say. A neighbour met across two cell edges (tiny boxes) counts once.

**Bond-breaking correlation** [G], [J]. The bonds of $i$ are the particles $j$ with $r_{ij}(0) < 1.4\,\sigma_{ij}$ in
the start configuration (thermal positions, not inherent structures), $n_i(0)$ of them. At time $t$ a bond is
intact while the current distance $r_{ij}(t) < 1.8\,\sigma_{ij}$; with $n_i(t)$ the number of initial bonds
intact at $t$,

$$
C_B^i(t) = \frac{n_i(t)}{n_i(0)}, \qquad
\langle C_B \rangle(t) = \frac{1}{N} \sum_i \left\langle C_B^i(t) \right\rangle_\text{iso}, \qquad
\langle C_B \rangle(\tau_\alpha) = e^{-1}.
$$

The rule is the *current-distance* one of the reference code of [G] ([SDG], ``dyn_bb.cpp``): a bond that
stretched beyond $1.8\,\sigma$ and came back counts as intact again. The gap between $1.4\,\sigma$ and
$1.8\,\sigma$ already keeps vibrations from breaking bonds, and a neighbour that left its first shell rarely
returns within $1.8\,\sigma$, so "ever broken" and "currently broken" differ little; the current rule keeps
$C_B^i(t)$ a function of the frame at $t$ alone. The propensity is $\langle C_B^i(t) \rangle_\text{iso}$,
$\langle C_B \rangle(t)$ its mean over all particles (every species), and $\tau_\alpha$ the time where
$\langle C_B \rangle = 1/e$ (the convention is stated in :func:`relaxation_time`).
A particle with no bond at $t = 0$ ($n_i(0) = 0$, an isolated particle) has $C_B^i$ = NaN: it carries no
label, and particle means skip it.

References: [O]; [G]; [J] §II.
"""

from __future__ import annotations

import json
import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import freud  # noqa: F401  (imported before liblammps can load: see glass_core.simulation.isoconfigurational)
import numpy as np
import scipy.sparse

from glass_core.files import atomic_savez
from glass_core.models.configuration import Configuration, minimum_image
from glass_core.structure.voronoi import voronoi_cells

if TYPE_CHECKING:
    from glass_core.models.systems import ModelSystem


class ReplicaTrajectories(Protocol):
    """What :func:`propensity_labels` reads of an isoconfigurational ensemble, whoever ran it.

    :class:`glass_core.simulation.isoconfigurational.IsoconfigurationalTrajectories` is one; the
    dynamics layer names only the fields, so it never imports the simulation layer.
    """

    steps: np.ndarray  # (T,) frame steps, steps[0] = 0
    times: np.ndarray  # (T,) frame times
    positions: np.ndarray  # (R, T, N, 2) unwrapped positions
    types: np.ndarray  # (N,) type indices
    box: tuple[float, float]
    seeds: np.ndarray  # (R,) velocity seeds
    metadata: dict[str, Any]


__all__ = [
    "BOND_INNER",
    "BOND_OUTER",
    "MAX_BONDS",
    "Bonds",
    "PropensityLabels",
    "ReplicaTrajectories",
    "bond_breaking_propensity",
    "bond_survival",
    "cage_clock",
    "cage_matrix",
    "cage_relative_displacements",
    "cage_relative_squared_displacement",
    "initial_bonds",
    "mean_over_particles",
    "propensity_labels",
    "relaxation_time",
    "voronoi_cage_matrix",
]

BOND_INNER = 1.4
"""Initial bonds: r_ij(0) < BOND_INNER σ_ij [G]."""
BOND_OUTER = 1.8
"""A bond is intact while r_ij(t) < BOND_OUTER σ_ij [G]."""
MAX_BONDS = 25
"""Largest number of initial bonds a particle may have (the reference code's neighbour-list size)."""


# ---------------------------------------------------------------------------- cage-relative displacement
def cage_matrix(centre: np.ndarray, neighbour: np.ndarray, n_particles: int) -> scipy.sparse.csr_matrix:
    r"""(N, N) sparse averaging matrix $A$ with $(A d)_i = \bar d_i = (d_i + \sum_{j \in V(i)} d_j) / (|V(i)| + 1)$.

    ``centre``/``neighbour``: (M,) directed neighbour pairs (i, j); repeated pairs count once and
    self pairs are ignored (i is always included once). A particle without neighbours gets d̄_i = d_i.
    """
    pairs = np.unique(np.stack([centre, neighbour], axis=1).astype(np.int64), axis=0).reshape(-1, 2)
    pairs = pairs[pairs[:, 0] != pairs[:, 1]]
    rows = np.concatenate([np.arange(n_particles), pairs[:, 0]])
    cols = np.concatenate([np.arange(n_particles), pairs[:, 1]])
    size = np.bincount(rows, minlength=n_particles).astype(np.float64)
    return scipy.sparse.csr_matrix((1.0 / size[rows], (rows, cols)), shape=(n_particles, n_particles))


def voronoi_cage_matrix(config: Configuration) -> scipy.sparse.csr_matrix:
    """:func:`cage_matrix` over the Voronoi neighbours of ``config`` (freud, periodic)."""
    cells = voronoi_cells(config)
    return cage_matrix(cells.centre, cells.neighbour, config.n_particles)


def cage_relative_displacements(positions: np.ndarray, cage: scipy.sparse.csr_matrix) -> np.ndarray:
    """d_i(t) − d̄_i(t) for positions of shape (…, T, N, 2) (frame 0 the start); same shape back."""
    d = positions - positions[..., :1, :, :]
    moved = np.moveaxis(d, -2, 0)  # (N, …, T, 2)
    mean = (cage @ moved.reshape(moved.shape[0], -1)).reshape(moved.shape)
    return d - np.moveaxis(mean, 0, -2)


def cage_relative_squared_displacement(positions: np.ndarray, cage: scipy.sparse.csr_matrix) -> np.ndarray:
    r"""$\Delta_i(t) = \langle |d_i(t) - \bar d_i(t)|^2 \rangle_\text{iso}$ [O].

    Positions (R, T, N, 2) → (T, N); $\Delta_i(0) = 0$.
    """
    total = np.zeros(positions.shape[1:3])
    for replica in positions:  # one replica at a time keeps the memory at one trajectory
        relative = cage_relative_displacements(replica, cage)
        total += np.einsum("tnk,tnk->tn", relative, relative)
    return total / positions.shape[0]


def cage_clock(crsd: np.ndarray) -> np.ndarray:
    r"""$\delta(t) = \frac{1}{N} \sum_i \sqrt{\Delta_i(t)}$ ([O] Fig. 4): (T, N) → (T,)."""
    return np.sqrt(crsd).mean(axis=-1)


# ---------------------------------------------------------------------------- bond breaking
@dataclass(frozen=True)
class Bonds:
    """Initial bonds (directed: (i, j) and (j, i) both present), sorted by ``centre``.

    Attributes:
        centre: (M,) particle i.
        neighbour: (M,) particle j, r_ij(0) < inner σ_ij.
        sigma: (M,) σ_ij of the pair.
        n_initial: (N,) n_i(0), bonds per particle.
    """

    centre: np.ndarray
    neighbour: np.ndarray
    sigma: np.ndarray
    n_initial: np.ndarray

    @property
    def n_particles(self) -> int:
        return int(self.n_initial.shape[0])

    def incidence(self) -> scipy.sparse.csr_matrix:
        """(N, M) sparse matrix summing per-bond values onto their centre particle."""
        m = self.centre.shape[0]
        return scipy.sparse.csr_matrix((np.ones(m), (self.centre, np.arange(m))), shape=(self.n_particles, m))


def _check_box(box: np.ndarray, sigma: np.ndarray, outer: float) -> None:
    reach = outer * float(np.max(sigma))
    if np.min(box) <= 2 * reach:
        raise ValueError(f"box {tuple(box)} too small: bonds up to {reach:.3g} need sides > {2 * reach:.3g}")


def initial_bonds(
    positions: np.ndarray,
    types: np.ndarray,
    box: tuple[float, float],
    sigma: np.ndarray,
    inner: float = BOND_INNER,
    outer: float = BOND_OUTER,
    max_bonds: int = MAX_BONDS,
) -> Bonds:
    """Bonds of the start configuration: pairs with minimum-image r_ij < ``inner`` σ_ij [G].

    Args:
        positions: (N, 2) start positions (wrapped or not).
        types: (N,) type indices into ``sigma``.
        box: (Lx, Ly); each side must exceed 2 ``outer`` max σ so every bond has one image.
        sigma: (n_types, n_types) σ_ij.
        max_bonds: a particle with more bonds raises ``ValueError`` (a wrong σ table or a collapsed
            configuration; ≈ 6–8 is typical in 2D).
    """
    from scipy.spatial import cKDTree

    box_arr = np.asarray(box, dtype=np.float64)
    _check_box(box_arr, sigma, outer)
    wrapped = np.mod(positions, box_arr)
    wrapped[wrapped >= box_arr] = 0.0  # mod rounding exactly at L
    pairs = cKDTree(wrapped, boxsize=box_arr).query_pairs(inner * float(np.max(sigma)), output_type="ndarray")
    i, j = pairs[:, 0].astype(np.int64), pairs[:, 1].astype(np.int64)
    sig = sigma[types[i], types[j]]
    distance = np.linalg.norm(minimum_image(positions[j] - positions[i], box_arr), axis=1)
    keep = distance < inner * sig
    centre = np.concatenate([i[keep], j[keep]])
    neighbour = np.concatenate([j[keep], i[keep]])
    sig = np.concatenate([sig[keep], sig[keep]])
    order = np.lexsort((neighbour, centre))
    n_initial = np.bincount(centre, minlength=positions.shape[0])
    if n_initial.size and n_initial.max() > max_bonds:
        worst = int(np.argmax(n_initial))
        raise ValueError(f"particle {worst} has {n_initial[worst]} bonds within {inner} σ (max {max_bonds})")
    return Bonds(centre[order], neighbour[order], sig[order], n_initial)


def bond_survival(
    positions: np.ndarray, bonds: Bonds, box: tuple[float, float], outer: float = BOND_OUTER
) -> np.ndarray:
    r"""$C_B^i(t) = n_i(t)/n_i(0)$ of one replica: positions (T, N, 2) → (T, N); NaN where $n_i(0) = 0$."""
    box_arr = np.asarray(box, dtype=np.float64)
    _check_box(box_arr, bonds.sigma, outer)
    delta = minimum_image(positions[:, bonds.neighbour] - positions[:, bonds.centre], box_arr)
    intact = np.einsum("tmk,tmk->tm", delta, delta) < (outer * bonds.sigma) ** 2
    n_t = (bonds.incidence() @ intact.T.astype(np.float64)).T
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(bonds.n_initial > 0, n_t / bonds.n_initial, np.nan)


def bond_breaking_propensity(
    positions: np.ndarray, bonds: Bonds, box: tuple[float, float], outer: float = BOND_OUTER
) -> np.ndarray:
    r"""$\langle C_B^i(t) \rangle_\text{iso}$: positions (R, T, N, 2) → (T, N) in [0, 1], NaN where $n_i(0) = 0$."""
    return np.mean([bond_survival(replica, bonds, box, outer) for replica in positions], axis=0)


def mean_over_particles(labels: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
    """Mean over particles (last axis), skipping NaN; ``mask`` (N,) bool selects particles (e.g. one type)."""
    if mask is not None:
        labels = labels[..., mask]
    if labels.shape[-1] == 0:
        return np.full(labels.shape[:-1], np.nan)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN rows give NaN, as documented
        return np.nanmean(labels, axis=-1)


def relaxation_time(times: np.ndarray, curve: np.ndarray, level: float = np.exp(-1.0)) -> float | None:
    """First time where ``curve`` falls to ``level``; ``None`` if it never does.

    **The platform's τ_α convention** (the one place it is stated): τ_α is the first time where the
    *all-particle* bond-breaking correlation ⟨C_B⟩(t) = (1/N_b) Σ_i ⟨C_B^i(t)⟩_iso — the mean over every
    particle with at least one initial bond, all species together (:func:`mean_over_particles` without a
    mask) — falls to 1/e:  ⟨C_B⟩(τ_α) = e⁻¹. [J] encodes time by this same all-particle ⟨C_B⟩ (its state
    points, :mod:`glass_core.dynamics.state_points`, use the same mean), so τ_α and the state points share
    one clock; [J] quotes type-A figures in places and does not define τ_α exactly, so a
    type-A τ_α (``mean_over_particles(labels, types == 0)``) is a different time and is not
    what the platform stores. Per configuration (``propensity_summary.tau_alpha``,
    :attr:`PropensityLabels.tau_alpha`) the curve is that configuration's ⟨C_B⟩(t); the ``tau_alpha_found``
    check uses the mean curve over the partition's configurations. A run that never reaches 1/e has no τ_α
    (``None`` here, NULL in the warehouse), never a number.

    Between the last frame above ``level`` and the first at or below it, ln(curve) is interpolated
    linearly in t, which is exact for an exponential decay between the two frames; if the lower value
    is ≤ 0 the curve itself is interpolated linearly. A curve already at or below ``level`` at the
    first frame returns ``times[0]``.
    """
    times = np.asarray(times, dtype=np.float64)
    curve = np.asarray(curve, dtype=np.float64)
    below = np.flatnonzero(curve <= level)
    if below.size == 0:
        return None
    k = int(below[0])
    if k == 0:
        return float(times[0])
    (t0, t1), (c0, c1) = times[k - 1 : k + 1], curve[k - 1 : k + 1]
    if c1 > 0:
        fraction = (np.log(c0) - np.log(level)) / (np.log(c0) - np.log(c1))
    else:
        fraction = (c0 - level) / (c0 - c1)
    return float(t0 + fraction * (t1 - t0))


# ---------------------------------------------------------------------------- labels of one configuration
@dataclass
class PropensityLabels:
    """Propensity labels of one configuration from R replicas (what the platform keeps; no trajectories).

    Attributes:
        steps: (T,) frame step numbers; ``steps[0] = 0``.
        times: (T,) frame times.
        crsd: (T, N) Δ_i(t) [O].
        bond_breaking: (T, N) ⟨C_B^i(t)⟩_iso [G]; NaN where ``n_bonds`` is 0.
        crsd_halves, bond_breaking_halves: (2, T, N) float32 averages over the even and the odd
            replicas (split-half reliability of the labels: the finite-replica ceiling of a
            prediction's correlation); the second half is NaN for R = 1.
        n_bonds: (N,) n_i(0).
        n_replicas: R.
        types: (N,) type indices.
        box: (Lx, Ly).
        system: model system name; ``temperature``: the run temperature.
        metadata: JSON-serialisable provenance (protocol, seeds, sample …).
    """

    steps: np.ndarray
    times: np.ndarray
    crsd: np.ndarray
    bond_breaking: np.ndarray
    crsd_halves: np.ndarray
    bond_breaking_halves: np.ndarray
    n_bonds: np.ndarray
    n_replicas: int
    types: np.ndarray
    box: tuple[float, float]
    system: str = ""
    temperature: float = float("nan")
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def cage_clock(self) -> np.ndarray:
        """(T,) δ(t) = (1/N) Σ_i √Δ_i(t)."""
        return cage_clock(self.crsd)

    @property
    def mean_bond_breaking(self) -> np.ndarray:
        """(T,) ⟨C_B⟩(t), mean over particles with bonds."""
        return mean_over_particles(self.bond_breaking)

    @property
    def tau_alpha(self) -> float | None:
        """τ_α: first time where this configuration's all-particle ⟨C_B⟩ = 1/e (convention: :func:`relaxation_time`),
        or ``None`` if the run is too short to reach it."""
        return relaxation_time(self.times, self.mean_bond_breaking)

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Store as ``.npz`` through a temporary file and an atomic rename."""
        tau = self.tau_alpha
        return atomic_savez(
            path,
            steps=self.steps,
            times=self.times,
            crsd=self.crsd,
            bond_breaking=self.bond_breaking,
            crsd_halves=self.crsd_halves,
            bond_breaking_halves=self.bond_breaking_halves,
            n_bonds=self.n_bonds,
            n_replicas=np.asarray(self.n_replicas),
            types=self.types,
            box=np.asarray(self.box),
            system=np.asarray(self.system),
            temperature=np.asarray(self.temperature),
            cage_clock=self.cage_clock,
            mean_bond_breaking=self.mean_bond_breaking,
            tau_alpha=np.asarray(np.nan if tau is None else tau),
            metadata=np.asarray(json.dumps(self.metadata, sort_keys=True, default=str)),
        )

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> PropensityLabels:
        with np.load(path) as data:
            return cls(
                steps=data["steps"],
                times=data["times"],
                crsd=data["crsd"],
                bond_breaking=data["bond_breaking"],
                crsd_halves=data["crsd_halves"],
                bond_breaking_halves=data["bond_breaking_halves"],
                n_bonds=data["n_bonds"],
                n_replicas=int(data["n_replicas"]),
                types=data["types"],
                box=(float(data["box"][0]), float(data["box"][1])),
                system=str(data["system"]),
                temperature=float(data["temperature"]),
                metadata=json.loads(str(data["metadata"])),
            )


def _halves(values: list[np.ndarray]) -> np.ndarray:
    """(2, …) float32 means over the even- and odd-indexed replicas (NaN for an empty half)."""
    stacked = np.asarray(values)
    halves = [stacked[0::2], stacked[1::2]]
    shape = stacked.shape[1:]
    return np.stack([h.mean(axis=0) if len(h) else np.full(shape, np.nan) for h in halves]).astype(np.float32)


def propensity_labels(
    trajectories: ReplicaTrajectories,
    system: ModelSystem,
    bond_inner: float = BOND_INNER,
    bond_outer: float = BOND_OUTER,
) -> PropensityLabels:
    """Δ_i(t) [O] and ⟨C_B^i(t)⟩_iso [G] of one isoconfigurational ensemble.

    Voronoi cages and bonds come from the shared start frame ``positions[0, 0]``; replicas are
    processed one at a time.
    """
    positions = trajectories.positions
    start = Configuration(positions[0, 0], trajectories.types, trajectories.box, system.name).wrapped()
    cage = voronoi_cage_matrix(start)
    bonds = initial_bonds(positions[0, 0], trajectories.types, trajectories.box, system.sigma, bond_inner, bond_outer)
    crsd, survival = [], []
    for replica in positions:
        relative = cage_relative_displacements(replica, cage)
        crsd.append(np.einsum("tnk,tnk->tn", relative, relative))
        survival.append(bond_survival(replica, bonds, trajectories.box, bond_outer))
    metadata = dict(trajectories.metadata)
    metadata.update({"seeds": [int(s) for s in trajectories.seeds], "bond_inner": bond_inner, "bond_outer": bond_outer})
    return PropensityLabels(
        steps=np.asarray(trajectories.steps),
        times=np.asarray(trajectories.times),
        crsd=np.mean(crsd, axis=0),
        bond_breaking=np.mean(survival, axis=0),
        crsd_halves=_halves(crsd),
        bond_breaking_halves=_halves(survival),
        n_bonds=bonds.n_initial,
        n_replicas=len(positions),
        types=np.asarray(trajectories.types),
        box=trajectories.box,
        system=system.name,
        temperature=float(trajectories.metadata.get("protocol", {}).get("temperature", np.nan)),
        metadata=metadata,
    )
