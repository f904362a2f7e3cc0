"""Crafted propensity labels, as the isoconfigurational workers would write them."""

from __future__ import annotations

import numpy as np

from glass_core.dynamics.propensity import PropensityLabels


def labels_from(
    crsd: np.ndarray,
    bond_breaking: np.ndarray,
    *,
    n_bonds: int,
    box: tuple[float, float],
    system: str,
    temperature: float,
) -> PropensityLabels:
    """Crafted isoconfigurational labels: frames at t = 0, 1, 2, … (100 steps apart), two identical replica halves."""
    n_frames, n = crsd.shape
    return PropensityLabels(
        steps=np.arange(n_frames) * 100,
        times=np.arange(n_frames, dtype=np.float64),
        crsd=crsd,
        bond_breaking=bond_breaking,
        crsd_halves=np.stack([crsd, crsd]).astype(np.float32),
        bond_breaking_halves=np.stack([bond_breaking, bond_breaking]).astype(np.float32),
        n_bonds=np.full(n, n_bonds),
        n_replicas=2,
        types=np.zeros(n, dtype=int),
        box=box,
        system=system,
        temperature=temperature,
    )
