"""Self overlap between two states of one configuration: the decorrelation measure of swap Monte Carlo.

Q = (1/N) Σ_i θ(a − |Δr_i|), identity following the position (swaps exchange types, not places)
[NBC17]; Q = 1 for identical states, and a pair of states
counts as decorrelated once Q < 1/e.
"""

from __future__ import annotations

import numpy as np

from glass_core.models.configuration import Configuration

__all__ = ["overlap", "self_overlap"]


def self_overlap(
    displacement: np.ndarray,
    a: float = 0.3,
    types_before: np.ndarray | None = None,
    types_after: np.ndarray | None = None,
) -> float:
    """Self-overlap Q = (1/N) Σ_i θ(a − |Δr_i|) between two states of one chain.

    ``displacement``: (N, 2) unwrapped displacements of the particles; identity follows the position, as
    in the swap-MC literature [NBC17]: swaps exchange
    types, not places. Q = 1 for identical states and → 0 once every particle has left its disc of
    radius a (a = 0.3 ≈ a third of the particle size, beyond cage vibrations); the usual criterion for a
    decorrelated pair of states is Q < 1/e. With ``types_before`` and ``types_after`` a particle whose
    type changed also counts as decorrelated: Q_t = (1/N) Σ_i δ(t_i, t_i′) θ(a − |Δr_i|) ≤ Q.
    """
    kept = np.einsum("ij,ij->i", displacement, displacement) < a * a
    if types_before is not None and types_after is not None:
        kept &= np.asarray(types_before) == np.asarray(types_after)
    return float(np.mean(kept))


def overlap(a: Configuration, b: Configuration, cutoff: float = 0.3) -> float:
    """Self overlap Q = (1/N) Σ_i θ(cutoff − |r_i^b − r_i^a|) with minimum image (same N and box)."""
    if a.n_particles != b.n_particles:
        raise ValueError(f"configurations differ in size: {a.n_particles} and {b.n_particles} particles")
    if not np.allclose(a.box, b.box, rtol=1e-12, atol=0.0):
        raise ValueError(f"configurations differ in box: {a.box} and {b.box}")
    if not cutoff > 0:
        raise ValueError(f"cutoff must be positive, got {cutoff}")
    return self_overlap(a.minimum_image(b.positions - a.positions), cutoff)
