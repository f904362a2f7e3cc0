"""Correlation of two per-particle fields within each configuration, and its summary over samples.

[O, §IV C] compares fields (Γ, Υ, 1 − Θ, 1 − Δ, each coarse-grained and normalised) through the
Pearson coefficient computed per configuration, then averages over the 600 test samples (violin
plots, mean and standard deviation); Spearman's rank coefficient gives consistent results [O, SM].

    Pearson   C(X, Y) = Σ_i (X_i − X̄)(Y_i − Ȳ) / √(Σ_i (X_i − X̄)² Σ_i (Y_i − Ȳ)²)
    Spearman  ρ_s(X, Y) = Pearson of the ranks (ties get their average rank)

A constant field has no defined correlation: NaN is returned, and summaries count such samples apart.
A summary over configurations is their mean ± standard error s/√n (ddof = 1) and n
(:mod:`glass_core.models.statistics`); [O] states signs and orderings of these means for the KAM glasses,
:data:`OYAMA_GLASS_CONDITIONS` lists them and :func:`evaluate_conditions` judges each from the means and
their errors (pass / fail / unresolved within 2 SE).

Fig. 4 of [O] follows the same recipe over time: for a glass whose isoconfigurational run gives the
cage-relative squared displacement Δ_i(t) (:mod:`glass_core.dynamics.propensity`), the curve is
C(Γ̄, 1 − Δ̄(t)) per frame (both coarse-grained at ξ and min–max normalised), plotted against the cage
clock δ(t) = (1/N) Σ_i √Δ_i(t); :func:`correlation_against_dynamics` computes it.

References: [O].
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Literal

import numpy as np
from scipy.stats import rankdata

from glass_core.models.configuration import Configuration
from glass_core.models.statistics import Estimate, SampleMean, Verdict, absolute_difference, judge, sample_mean
from glass_core.structure.indicators import COARSE_GRAINING_LENGTH, StructuralIndicators, normalised_coarse_grained

__all__ = [
    "GRAD_CAM_PAIRS",
    "INDICATOR_PAIRS",
    "METHODS",
    "NOT_JUDGED",
    "OYAMA_ABM_GLASS_MEANS",
    "OYAMA_DYNAMICS_MAXIMUM",
    "OYAMA_COOLING_RATE",
    "OYAMA_GLASS_CONDITIONS",
    "OYAMA_GLASS_MEANS",
    "STRUCTURAL_PAIR",
    "STRUCTURAL_PAIRS",
    "Condition",
    "ConditionVerdict",
    "ConditionResult",
    "CorrelationSummary",
    "correlation",
    "correlation_against_dynamics",
    "pair_correlations",
    "correlations_per_configuration",
    "evaluate_conditions",
    "curve_maximum",
    "pearson",
    "spearman",
    "summarise_correlations",
    "theta_upsilon_correlations",
]

Method = Literal["pearson", "spearman"]
METHODS: tuple[Method, ...] = ("pearson", "spearman")

#: [O] §IV C: the compared pairs, name → (field a, field b) of the coarse-grained min–max normalised fields
INDICATOR_PAIRS: dict[str, tuple[str, str]] = {
    "gamma~upsilon": ("gamma_cg", "voronoi_area_cg"),
    "gamma~one_minus_theta": ("gamma_cg", "one_minus_theta_cg"),
    "one_minus_theta~upsilon": ("one_minus_theta_cg", "voronoi_area_cg"),
}
#: the pairs with the Grad-CAM field Γ (they need a CNN); the one without, C(1−Θ̄, Ῡ), needs none
GRAD_CAM_PAIRS = {name: pair for name, pair in INDICATOR_PAIRS.items() if "gamma_cg" in pair}
STRUCTURAL_PAIRS = {name: pair for name, pair in INDICATOR_PAIRS.items() if "gamma_cg" not in pair}
STRUCTURAL_PAIR = "one_minus_theta~upsilon"


def _check(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    if x.shape != y.shape or x.ndim != 1:
        raise ValueError(f"need two 1D fields of equal length, got {x.shape} and {y.shape}")
    return x, y


def pearson(x: np.ndarray, y: np.ndarray) -> float:
    """Pearson coefficient of two (N,) fields; NaN if either is constant or N < 2."""
    x, y = _check(x, y)
    dx, dy = x - x.mean(), y - y.mean()
    norm = np.sqrt(np.dot(dx, dx) * np.dot(dy, dy))
    if len(x) < 2 or norm == 0 or not np.isfinite(norm):
        return float("nan")
    return float(np.clip(np.dot(dx, dy) / norm, -1.0, 1.0))


def spearman(x: np.ndarray, y: np.ndarray) -> float:
    """Spearman rank coefficient of two (N,) fields (average ranks for ties); NaN if either is constant."""
    x, y = _check(x, y)
    return pearson(rankdata(x), rankdata(y))


def correlation(x: np.ndarray, y: np.ndarray, method: Method = "pearson") -> float:
    """Pearson or Spearman coefficient of two per-particle fields of one configuration."""
    if method == "pearson":
        return pearson(x, y)
    if method == "spearman":
        return spearman(x, y)
    raise ValueError(f"unknown correlation {method!r}: use 'pearson' or 'spearman'")


def correlations_per_configuration(
    xs: Iterable[np.ndarray], ys: Iterable[np.ndarray], method: Method = "pearson"
) -> np.ndarray:
    """(S,) coefficients C(X_s, Y_s), one per configuration s (fields paired in order)."""
    pairs = list(zip(xs, ys, strict=True))
    return np.array([correlation(x, y, method) for x, y in pairs], dtype=np.float64)


#: a summary of per-configuration coefficients: mean ± SE (ddof = 1; None for n < 2), n, undefined ones apart
CorrelationSummary = SampleMean


def summarise_correlations(values: Iterable[float | None]) -> SampleMean:
    """Mean ± standard error and n of per-configuration coefficients (e.g. C(Γ, Υ) over the test glasses)."""
    return sample_mean(values)


def pair_correlations(
    fields: Mapping[str, np.ndarray], pairs: Mapping[str, tuple[str, str]], methods: Iterable[Method] = METHODS
) -> dict[tuple[str, Method], float]:
    """(pair name, method) → C(fields[a], fields[b]) of one configuration, for each ``pairs[name] = (a, b)``.

    ``fields`` maps a field name to its (N,) per-particle values (e.g. ``gamma_cg``, ``voronoi_area_cg``).
    """
    methods = tuple(methods)
    return {(name, m): correlation(fields[a], fields[b], m) for name, (a, b) in pairs.items() for m in methods}


def theta_upsilon_correlations(
    fields: StructuralIndicators, methods: Iterable[Method] = METHODS
) -> dict[Method, float]:
    """method → C(1−Θ̄, Ῡ) of one configuration's coarse-grained normalised indicator fields
    (:func:`glass_core.structure.indicators.structural_indicators`)."""
    a, b = STRUCTURAL_PAIRS[STRUCTURAL_PAIR]
    values = pair_correlations({a: getattr(fields, a), b: getattr(fields, b)}, STRUCTURAL_PAIRS, methods)
    return {method: value for (_, method), value in values.items()}


def correlation_against_dynamics(
    config: Configuration, gamma_cg: np.ndarray, crsd: np.ndarray, xi: float = COARSE_GRAINING_LENGTH
) -> np.ndarray:
    """[O] Fig. 4 for one glass: (T,) Pearson C(Γ̄, 1 − Δ̄(t)), one per frame.

    ``gamma_cg``: (N,) coarse-grained normalised Grad-CAM field of ``config``; ``crsd``: (T, N) Δ_i(t),
    particles in the order of ``config``. Δ of each frame is coarse-grained at ``xi`` and min–max
    normalised like Γ; a frame where Δ is constant (t = 0) gives NaN.
    """
    crsd = np.asarray(crsd, dtype=np.float64)
    if crsd.ndim != 2 or crsd.shape[1] != config.n_particles:
        raise ValueError(f"crsd must be (frames, {config.n_particles}), got {crsd.shape}")
    return np.array([pearson(gamma_cg, 1.0 - normalised_coarse_grained(config, frame, xi)) for frame in crsd])


def curve_maximum(curve: np.ndarray) -> int | None:
    """Index of the largest defined value of a (T,) C(Γ, 1 − Δ(t)) curve; ``None`` if none is defined.

    [O] Fig. 4 reports the maximum over δ(t) of one glass's curve; over many glasses these per-glass maxima
    form a distribution whose mean is ≥ the maximum of the mean curve (mean_k max_t C_k(t) ≥ max_t mean_k C_k(t):
    each glass's maximum picks its own δ and its own noise), so both are reported.
    """
    curve = np.asarray(curve, dtype=np.float64)
    if not np.isfinite(curve).any():
        return None
    return int(np.nanargmax(np.where(np.isfinite(curve), curve, -np.inf)))


# ---------------------------------------------------------------------------- what [O] states about the means
@dataclass(frozen=True)
class Condition:
    """A claim of [O] about mean Pearson coefficients of glasses, written as D > 0.

    ``pairs`` name the coefficients (``"gamma~upsilon"`` = C(Γ, Υ), ``"gamma~one_minus_theta"`` = C(Γ, 1 − Θ),
    ``"one_minus_theta~upsilon"`` = C(1 − Θ, Υ)); ``kind`` says how D is formed from their means:
    ``positive``: D = C_a; ``negative``: D = −C_a; ``greater_magnitude``: D = |C_a| − |C_b|.
    Since Θ̄ and 1 − Θ̄ are coarse-grained with the same weights and min–max normalised,
    C(X, Θ) = −C(X, 1 − Θ), so |C(Γ, Θ)| = |C(Γ, 1 − Θ)| and |C(Θ, Υ)| = |C(1 − Θ, Υ)|.
    """

    text: str
    paper: str
    kind: Literal["positive", "negative", "greater_magnitude"]
    pairs: tuple[str, ...]

    def estimate(self, means: dict[str, SampleMean]) -> Estimate:
        a = means[self.pairs[0]]
        if self.kind == "positive":
            return Estimate(a.mean, a.stderr)
        if self.kind == "negative":
            return Estimate(-a.mean, a.stderr)
        return absolute_difference(a, means[self.pairs[1]])


#: the verdict of a condition on a Grad-CAM mean whose classifier is not resolved above the gate
#: (:mod:`glass_core.learning.classifier_gate`): not judged, since its Γ explains no decision
NOT_JUDGED = "classifier unresolved"
ConditionVerdict = Verdict | Literal["classifier unresolved"]


@dataclass(frozen=True)
class ConditionResult:
    """A :class:`Condition` judged: D's estimate, its SE (None: unknown) and the verdict."""

    condition: Condition
    difference: float
    stderr: float | None
    verdict: ConditionVerdict


#: [O] §IV C: mean Pearson coefficients over the 600 ABM test glasses at N = 2000
OYAMA_ABM_GLASS_MEANS: dict[str, float] = {
    "gamma~upsilon": 0.552,
    "gamma~one_minus_theta": 0.403,
    "one_minus_theta~upsilon": 0.355,
}
#: [O] Fig. 4: maximum over δ(t) of C(Γ, 1 − Δ), reached near δ ≈ 1, one configuration each
OYAMA_DYNAMICS_MAXIMUM: dict[str, float] = {"abm": 0.61, "kam": 0.68}

#: [O] §II: the cooling rate |dT/dt| of every quench behind its glass means (LJ units)
OYAMA_COOLING_RATE = 8.33e-5

#: the glass means per system ([O] gives no numbers for KAM, only the signs and orderings of the conditions)
OYAMA_GLASS_MEANS: dict[str, dict[str, float]] = {"abm": OYAMA_ABM_GLASS_MEANS}

#: [O] §IV C: the ABM glass means are positive (:data:`OYAMA_ABM_GLASS_MEANS`); for KAM glasses
#: C(Γ,Υ) < 0, C(Γ,1−Θ) < 0, |C(Γ,Υ)| > |C(Γ,Θ)| and |C(Γ,Θ)| < |C(Θ,Υ)|
OYAMA_GLASS_CONDITIONS: dict[str, tuple[Condition, ...]] = {
    "abm": tuple(
        Condition(f"{text} > 0", f"{OYAMA_ABM_GLASS_MEANS[pair]:g}", "positive", (pair,))
        for text, pair in (
            ("C(Γ,Υ)", "gamma~upsilon"),
            ("C(Γ,1−Θ)", "gamma~one_minus_theta"),
            ("C(1−Θ,Υ)", "one_minus_theta~upsilon"),
        )
    ),
    "kam": (
        Condition("C(Γ,Υ) < 0", "holds", "negative", ("gamma~upsilon",)),
        Condition("C(Γ,1−Θ) < 0", "holds", "negative", ("gamma~one_minus_theta",)),
        Condition("|C(Γ,Υ)| > |C(Γ,Θ)|", "holds", "greater_magnitude", ("gamma~upsilon", "gamma~one_minus_theta")),
        Condition(
            "|C(Γ,Θ)| < |C(Θ,Υ)|", "holds", "greater_magnitude", ("one_minus_theta~upsilon", "gamma~one_minus_theta")
        ),
    ),
}


def evaluate_conditions(
    conditions: Iterable[Condition], means: dict[str, SampleMean], unresolved_pairs: Iterable[str] = ()
) -> list[ConditionResult]:
    """Judge each condition from the glass means (:func:`glass_core.models.statistics.judge`, 2 SE).

    A condition whose coefficients are missing from ``means`` gets ``no data``; one that involves a pair of
    ``unresolved_pairs`` (Grad-CAM means of a classifier below the gate) gets :data:`NOT_JUDGED`.
    """
    unresolved = set(unresolved_pairs)
    results = []
    for condition in conditions:
        if unresolved & set(condition.pairs):
            results.append(ConditionResult(condition, float("nan"), None, NOT_JUDGED))
            continue
        if any(pair not in means for pair in condition.pairs):
            results.append(ConditionResult(condition, float("nan"), None, "no data"))
            continue
        estimate = condition.estimate(means)
        results.append(ConditionResult(condition, estimate.value, estimate.stderr, judge(estimate)))
    return results
