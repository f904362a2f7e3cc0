"""Means over configurations with their standard error, and a 2-SE verdict on a stated inequality.

Every number the platform compares with a paper is a mean over n independent configurations (glasses,
equilibria). With x_1 … x_n the per-configuration values that are defined (NaN and None are counted
apart, e.g. a correlation of a constant field):

    mean  x̄ = (1/n) Σ_k x_k
    sd    s = √(Σ_k (x_k − x̄)² / (n − 1))          (sample standard deviation, ddof = 1)
    SE    s/√n                                    (standard error of x̄)

n = 0 gives mean NaN; n = 1 gives no sd and no SE (``None``, stored as NULL): one configuration says
nothing about the spread.

A claim "D > 0" about such means (a sign, an ordering of two means, of two magnitudes) is judged from the
estimate d of D and its standard error: ``pass`` if d > 2 SE(d), ``fail`` if d < −2 SE(d), ``unresolved``
otherwise (the data cannot tell at about 95 %), also when SE(d) is unknown (n < 2). Two means from
different sets of configurations combine as independent: SE(x̄ − ȳ)² = SE(x̄)² + SE(ȳ)²; for |x̄| − |ȳ| the
same (first order, exact while neither mean is within its error of 0). For means over the *same*
configurations this ignores their covariance: positively correlated estimates make it conservative.

This module sits in the lowest layer (it needs only numpy) so that dynamics, learning and the assets
share one definition.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

import numpy as np

__all__ = [
    "RESOLUTION",
    "Estimate",
    "NetworkSpread",
    "SampleMean",
    "Verdict",
    "absolute_difference",
    "difference",
    "judge",
    "over_networks",
    "sample_mean",
]

#: a difference counts as resolved when it exceeds this many standard errors
RESOLUTION = 2.0

Verdict = Literal["pass", "fail", "unresolved", "no data"]


@dataclass(frozen=True)
class SampleMean:
    """Mean over the n defined values, its sample sd (ddof = 1) and standard error s/√n.

    ``std`` and ``stderr`` are ``None`` for n < 2; ``mean`` is NaN for n = 0. ``n_undefined`` counts the
    values left out (NaN or None).
    """

    mean: float
    stderr: float | None
    n: int
    std: float | None = None
    n_undefined: int = 0

    def text(self, digits: int = 3) -> str:
        """``"0.123 ± 0.045 (n = 12)"``; ``"0.4 (n = 1, no SE)"``; ``"— (n = 0)"``."""
        if self.n == 0:
            return "— (n = 0)"
        if self.stderr is None:
            return f"{self.mean:.{digits}g} (n = {self.n}, no SE)"
        return f"{self.mean:.{digits}g} ± {self.stderr:.2g} (n = {self.n})"


def sample_mean(values: Iterable[float | None]) -> SampleMean:
    """:class:`SampleMean` of ``values`` (one per configuration), skipping NaN and ``None``."""
    raw = np.array([np.nan if v is None else v for v in values], dtype=np.float64)
    defined = raw[np.isfinite(raw)]
    n = int(defined.size)
    if n == 0:
        return SampleMean(float("nan"), None, 0, None, int(raw.size))
    std = float(defined.std(ddof=1)) if n >= 2 else None
    stderr = std / math.sqrt(n) if std is not None else None
    return SampleMean(float(defined.mean()), stderr, n, std, int(raw.size - n))


@dataclass(frozen=True)
class Estimate:
    """An estimate d of a quantity D with its standard error (``None``: unknown)."""

    value: float
    stderr: float | None


def _combined(a: SampleMean, b: SampleMean) -> float | None:
    if a.stderr is None or b.stderr is None:
        return None
    return math.hypot(a.stderr, b.stderr)


def difference(a: SampleMean, b: SampleMean) -> Estimate:
    """x̄_a − x̄_b with SE √(SE_a² + SE_b²) (independent means)."""
    return Estimate(a.mean - b.mean, _combined(a, b))


def absolute_difference(a: SampleMean, b: SampleMean) -> Estimate:
    """|x̄_a| − |x̄_b| with SE √(SE_a² + SE_b²) (first order; independent means)."""
    return Estimate(abs(a.mean) - abs(b.mean), _combined(a, b))


def judge(estimate: Estimate, resolution: float = RESOLUTION) -> Verdict:
    """Verdict on the claim D > 0: ``pass`` if d > k·SE, ``fail`` if d < −k·SE, else ``unresolved``.

    ``unresolved`` also when the SE is unknown (fewer than two configurations); ``no data`` when d is NaN.
    """
    if estimate.value is None or not np.isfinite(estimate.value):
        return "no data"
    if estimate.stderr is None or not np.isfinite(estimate.stderr):
        return "unresolved"
    if estimate.value > resolution * estimate.stderr:
        return "pass"
    if estimate.value < -resolution * estimate.stderr:
        return "fail"
    return "unresolved"


@dataclass(frozen=True)
class NetworkSpread:
    """A quantity computed once per network of an ensemble [J]: the mean over the K networks and their spread
    (sample standard deviation, ddof = 1; 0 for one network, as [J] quotes the variance between networks as the
    error bar). ``stderr`` is the mean of the networks' own statistical errors (e.g. a bootstrap over
    configurations), NaN where none was given."""

    mean: float
    spread: float
    stderr: float
    n_networks: int


def over_networks(values: Iterable[float], stderrs: Iterable[float] | None = None) -> NetworkSpread:
    """:class:`NetworkSpread` of one value per network (non-finite values are left out)."""
    values = np.asarray([v for v in values], dtype=np.float64)
    errors = np.asarray([e for e in stderrs], dtype=np.float64) if stderrs is not None else np.full(values.size, np.nan)
    keep = np.isfinite(values)
    values, errors = values[keep], errors[keep]
    if values.size == 0:
        return NetworkSpread(float("nan"), float("nan"), float("nan"), 0)
    spread = float(values.std(ddof=1)) if values.size > 1 else 0.0
    stderr = float(np.nanmean(errors)) if np.isfinite(errors).any() else float("nan")
    return NetworkSpread(float(values.mean()), spread, stderr, int(values.size))
