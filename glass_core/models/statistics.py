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

An **accuracy** (a classifier's fraction correct on n labelled images) is a binomial proportion, not a mean over
configurations with a sample sd: with k of n correct,

    p̂ = k/n,   SE(p̂) = √(p̂ (1 − p̂) / n)                 (binomial standard error; 0 at p̂ = 0 or 1)

and its Wilson score interval at z standard errors (z = :data:`RESOLUTION` = 2, the platform's resolution)

    centre = (p̂ + z²/2n) / (1 + z²/n),   half = z √(p̂(1 − p̂)/n + z²/4n²) / (1 + z²/n)

[W27]. Unlike p̂ ± z·SE it stays inside [0, 1] and does not shrink to a
point at p̂ = 1: 8 of 8 correct gives [0.67, 1], 76 of 76 [0.95, 1]. Its lower end is ≥ a threshold a exactly
when the score test rejects "accuracy ≤ a" at z: p̂ − a ≥ z √(a(1 − a)/n). A perfect score reaches
lower end n/(n + z²), so resolving a needs at least n ≥ z² a/(1 − a) images (:func:`minimum_resolving_size`:
76 for a = 0.95, 36 for a = 0.9); no finite n resolves a = 1.

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
    "Accuracy",
    "Estimate",
    "NetworkSpread",
    "SampleMean",
    "Verdict",
    "absolute_difference",
    "binomial_stderr",
    "difference",
    "judge",
    "over_networks",
    "minimum_resolving_size",
    "sample_mean",
    "wilson_interval",
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
# ------------------------------------------------------------------------------------------ accuracies
def binomial_stderr(correct: int, n: int) -> float | None:
    """SE(p̂) = √(p̂ (1 − p̂)/n) of the fraction p̂ = ``correct``/``n``; ``None`` for n = 0."""
    _check_counts(correct, n)
    if n == 0:
        return None
    p = correct / n
    return math.sqrt(p * (1.0 - p) / n)


def wilson_interval(correct: int, n: int, z: float = RESOLUTION) -> tuple[float, float]:
    """Wilson score interval of p̂ = ``correct``/``n`` at ``z`` standard errors (formula in the module docstring).

    n = 0 gives (0, 1): no data, any accuracy. The ends are clipped to [0, 1] against rounding.
    """
    _check_counts(correct, n)
    if not z > 0:
        raise ValueError(f"z must be positive, got {z}")
    if n == 0:
        return 0.0, 1.0
    p = correct / n
    z2n = z * z / n
    centre = (p + z2n / 2.0) / (1.0 + z2n)
    half = z * math.sqrt(p * (1.0 - p) / n + z2n / (4.0 * n)) / (1.0 + z2n)
    return max(0.0, centre - half), min(1.0, centre + half)


def minimum_resolving_size(threshold: float, z: float = RESOLUTION) -> int:
    """Smallest n whose perfect score n/n has a Wilson lower end ≥ ``threshold``: ⌈z² a/(1 − a)⌉.

    With fewer labelled images no classifier, however good, can be shown to be above ``threshold`` at z
    standard errors. Raises for a threshold outside (0, 1) (a = 1 is never resolved by a finite set).
    """
    if not 0.0 < threshold < 1.0:
        raise ValueError(f"no finite number of images resolves an accuracy ≥ {threshold}: it must lie in (0, 1)")
    exact = z * z * threshold / (1.0 - threshold)
    n = math.ceil(exact - 1e-9)  # 76.0000000001 from rounding is 76
    while n / (n + z * z) < threshold - 1e-12:
        n += 1
    return max(n, 1)


def _check_counts(correct: int, n: int) -> None:
    if n < 0 or not 0 <= correct <= n:
        raise ValueError(f"need 0 ≤ correct ≤ n, got {correct} of {n}")


@dataclass(frozen=True)
class Accuracy:
    """``correct`` of ``n`` labelled images classified correctly: p̂, its binomial SE and Wilson interval.

    ``value`` is NaN and ``stderr`` ``None`` for n = 0.
    """

    correct: int
    n: int

    def __post_init__(self) -> None:
        _check_counts(self.correct, self.n)

    @classmethod
    def of(cls, predictions: Iterable[int], truth: Iterable[int]) -> Accuracy:
        """The accuracy of ``predictions`` against ``truth`` (equal-length sequences of class labels)."""
        predicted, expected = np.asarray(list(predictions)), np.asarray(list(truth))
        if predicted.shape != expected.shape:
            raise ValueError(f"{predicted.shape[0]} predictions for {expected.shape[0]} labels")
        return cls(int(np.sum(predicted == expected)), int(expected.size))

    @classmethod
    def from_fraction(cls, value: float, n: int) -> Accuracy:
        """Back from a logged fraction and its n (k = round(value · n)); NaN or n = 0 gives 0 of 0."""
        if n == 0 or value is None or not np.isfinite(value):
            return cls(0, 0)
        return cls(int(round(value * n)), int(n))

    @property
    def value(self) -> float:
        return self.correct / self.n if self.n else float("nan")

    @property
    def stderr(self) -> float | None:
        return binomial_stderr(self.correct, self.n)

    def interval(self, z: float = RESOLUTION) -> tuple[float, float]:
        """Wilson score interval at ``z`` SE (:func:`wilson_interval`)."""
        return wilson_interval(self.correct, self.n, z)

    def resolved_above(self, threshold: float, z: float = RESOLUTION) -> bool:
        """True when the Wilson lower end is ≥ ``threshold``: the accuracy is above it by ≥ z binomial SE."""
        return self.n > 0 and self.interval(z)[0] >= threshold - 1e-12

    def text(self, digits: int = 3) -> str:
        """``"0.625 ± 0.17 (n = 8; Wilson 0.30–0.87)"`` (SE to two significant figures; a perfect or null score has
        SE ``0``, never ``0.00``); ``"— (n = 0)"``."""
        if self.n == 0:
            return "— (n = 0)"
        low, high = self.interval()
        error = f"{self.stderr:.2g}" if self.stderr else "0"
        return f"{self.value:.{digits}f} ± {error} (n = {self.n}; Wilson {low:.2f}–{high:.2f})"
