"""Stationary and drifting time series with known statistics, and swap-MC energy traces made of them."""

import numpy as np


def ar1_fast(rng, n, rho):
    """Stationary AR(1) of unit variance (started from its stationary law)."""
    from scipy.signal import lfilter

    noise = rng.normal(size=n) * np.sqrt(1 - rho**2)
    return lfilter([1.0], [1.0, -rho], noise, zi=[rng.normal() * rho])[0]


def chains(rng, rho, n=1600, count=2, drift=0.0):
    """``count`` swap-MC energy traces of ``n`` points (``chain``, ``sweep``, ``energy_per_particle``), each an AR(1)
    of correlation ``rho`` around −2.6 minus a linear ``drift`` (in units of its standard deviation)."""
    import polars as pl

    return pl.concat(
        pl.DataFrame({"chain": [c] * n, "sweep": np.arange(1, n + 1) * 50,
                      "energy_per_particle": -2.6 + 0.01 * (ar1_fast(rng, n, rho) - np.linspace(0, drift, n))})
        for c in range(count)
    )
