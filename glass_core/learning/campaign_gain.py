"""Where the next CPU-hours buy the most: the gain model behind the campaign proposals.

**Objective.** At the state points the user asks predictions for — every swap-MC temperature T of a system, every
target ⟨C_B⟩ — the predicted χ4 [J eq. 9] has an error with three parts, relative to χ4 and added in quadrature:

.. math::

    E^2(T, c) = s_\\mathrm{conf}^2 + s_\\mathrm{net}^2 + e_\\mathrm{tr}^2(x),

- :math:`s_\\mathrm{conf}` — the configuration bootstrap standard error of χ4 (``heterogeneity.stderr``), falling
  as :math:`1/\\sqrt{n}` with the :math:`n` equilibria;
- :math:`s_\\mathrm{net}` — the spread of χ4 over the ensemble's networks (``heterogeneity.network_spread``),
  modelled as :math:`s_\\mathrm{net}(x) = a + b\\,x` (least squares over the measured state points), with
  :math:`x` the state point's extrapolation distance;
- :math:`e_\\mathrm{tr}(x) = e_h\\,x / x_h` — the transfer error, calibrated on the held-out test [J]: a tGlassMLP
  trained without its lowest labelled temperature predicts χ4 there with relative error
  :math:`e_h = \\langle |χ_4^\\mathrm{ML} - χ_4^\\mathrm{MD}| / χ_4^\\mathrm{MD}\\rangle` at distance :math:`x_h`
  (:func:`~glass_core.learning.mlp_data.extrapolation_spans`); linear in :math:`x`, zero inside the range.

The extrapolation distance of a state point counts only the temperatures whose MD reached its ⟨C_B⟩
(distilled labels [J] are not MD): :math:`x(T, c) = d(T; \\{T_l : ⟨C_B⟩_\\mathrm{MD}(T_l) \\le c\\})`; a ⟨C_B⟩ no
labelled temperature reached is one span beyond all of them.

**Actions** and their predicted gain :math:`G = \\sum_{T, c} [E^2_\\mathrm{now} - E^2_\\mathrm{after}]`:

- ``label_temperature`` T′ (inside the swap-MC range, no labels yet; what adding T′ to the campaign's
  ``propensity`` list runs with the current settings): T′ joins the training temperatures of every ⟨C_B⟩ whose
  Arrhenius time is within its window; every :math:`x` is recomputed.
- ``extend_window`` at a labelled T_l: its window grows to reach the targets only distillation reached; T_l joins
  those targets' temperatures. Its cost is the MD of every labelled temperature: the window is a setting of the
  system, and a changed setting runs every partition that reads it again.
- ``add_configurations`` at a labelled T_l (Δn more equilibria labelled by MD): the spread's floor falls as
  :math:`a\\sqrt{n/(n + Δn)}` (more training data), :math:`n` the labelled configurations of every temperature.
- ``add_equilibria`` at T (Δn more swap-MC equilibria): :math:`s_\\mathrm{conf}^2 \\to s_\\mathrm{conf}^2\\,n/(n+Δn)`.

Costs are CPU-hours from the measured per-item costs (compute accounting) and the window, which is the Arrhenius
extrapolation :math:`\\ln t(T, c) = \\alpha_c + \\beta_c / T` of the times the labelled temperatures took to reach
each ⟨C_B⟩ (``state_points.time``) times :data:`WINDOW_MARGIN` (super-Arrhenius slowing). Proposals rank by
:math:`G` per CPU-hour.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from glass_core.learning.mlp_data import extrapolation_spans

__all__ = [
    "ACTIONS",
    "WINDOW_MARGIN",
    "CampaignState",
    "Candidate",
    "ErrorModel",
    "StatePointError",
    "arrhenius_window",
    "candidates",
    "error_parts",
    "fit_error_model",
    "held_out_calibration",
    "objective",
    "realised_spread",
    "select_within_budget",
]

ACTIONS = ("label_temperature", "extend_window", "add_configurations", "add_equilibria")
#: windows are the Arrhenius time × this margin: a glass former slows faster than Arrhenius on cooling (super-
#: Arrhenius), so a two-temperature Arrhenius fit underestimates. Measured on the demo (ka2d_ternary, N = 256): from
#: T = 0.7 and 0.6, ⟨C_B⟩_A = 0.37 at T = 0.5 was predicted at t = 672; a window of 672 did not reach it (τ_α ≈ 700).
WINDOW_MARGIN = 1.5


@dataclass(frozen=True)
class StatePointError:
    """The measured parts of the predicted χ4's error at one state point (relative to χ4)."""

    temperature: float
    target_cb: float
    chi4: float
    stderr: float
    network_spread: float
    n_configurations: int

    @property
    def relative_se(self) -> float:
        return abs(self.stderr / self.chi4) if self.chi4 else 0.0

    @property
    def relative_spread(self) -> float:
        return abs(self.network_spread / self.chi4) if self.chi4 else 0.0


@dataclass(frozen=True)
class CampaignState:
    """What the platform holds for one system: the inputs of the gain model.

    ``md_reached``: labelled temperature → the target ⟨C_B⟩ its MD window reached (not distilled);
    ``windows``: labelled temperature → its MD window (LJ time); ``times``: (T, ⟨C_B⟩) → time MD took to reach it;
    ``n_labelled``: labelled temperature → configurations; ``swap_mc``: the swap-MC temperatures (where labels can
    be added); ``held_out``: (x_h, e_h) of the held-out test, or None; ``costs``: CPU seconds per unit —
    ``md_per_configuration_time`` (one configuration with its replicas, per LJ time), ``equilibrium`` (one swap-MC
    equilibrium with its inherent structure), ``refresh`` (retraining and everything downstream of new labels),
    ``refresh_temperature`` (descriptors, predictions, heterogeneity of one temperature); ``planned``: swap-MC
    temperature → (window, configurations) that labelling it would run with the current settings.
    """

    points: tuple[StatePointError, ...]
    md_reached: Mapping[float, tuple[float, ...]]
    windows: Mapping[float, float]
    times: Mapping[tuple[float, float], float]
    n_labelled: Mapping[float, int]
    swap_mc: tuple[float, ...]
    held_out: tuple[float, float] | None
    costs: Mapping[str, float]
    targets: tuple[float, ...] = field(default=())
    planned: Mapping[float, tuple[float, int]] = field(default_factory=dict)


@dataclass(frozen=True)
class ErrorModel:
    """:math:`s_\\mathrm{net}(x) = a + b x` and :math:`e_\\mathrm{tr}(x) = e_h x / x_h` (module docstring)."""

    spread_floor: float
    spread_slope: float
    transfer_per_span: float

    def spread(self, x: float, floor_scale: float = 1.0) -> float:
        return max(0.0, self.spread_floor * floor_scale + self.spread_slope * x)

    def transfer(self, x: float) -> float:
        return self.transfer_per_span * x


@dataclass(frozen=True)
class Candidate:
    """One proposed action with its predicted gain (ΔE² summed over the state points), cost and inputs."""

    action: str
    temperature: float
    parameters: Mapping[str, float]
    gain: float
    cpu_hours: float
    objective_before: float
    objective_after: float
    note: str
    spread_before: float = float("nan")
    spread_after: float = float("nan")

    @property
    def gain_per_cpu_hour(self) -> float:
        return self.gain / self.cpu_hours if self.cpu_hours > 0 else float("nan")


def _md_temperatures(md_reached: Mapping[float, Sequence[float]], cb: float) -> list[float]:
    return [t for t, reached in md_reached.items() if any(r <= cb + 1e-9 for r in reached)]


def distance(temperature: float, cb: float, md_reached: Mapping[float, Sequence[float]]) -> float:
    """x(T, ⟨C_B⟩): extrapolation spans from the temperatures whose MD reached ⟨C_B⟩ (one span beyond all labelled
    temperatures where none did)."""
    temps = _md_temperatures(md_reached, cb)
    if temps:
        return extrapolation_spans(temperature, temps)
    return extrapolation_spans(temperature, list(md_reached)) + 1.0


def fit_error_model(state: CampaignState) -> ErrorModel:
    """Fit :math:`a, b` to the measured relative network spreads against x, and :math:`e_h / x_h` from the held-out
    test (0 without one: then only the spread and the SE drive the ranking)."""
    x = np.array([distance(p.temperature, p.target_cb, state.md_reached) for p in state.points])
    y = np.array([p.relative_spread for p in state.points])
    if len(x) >= 2 and np.ptp(x) > 0:
        slope, floor = np.polyfit(x, y, 1)
    else:
        slope, floor = 0.0, float(y.mean()) if len(y) else 0.0
    per_span = 0.0
    if state.held_out is not None and state.held_out[0] > 0:
        per_span = state.held_out[1] / state.held_out[0]
    return ErrorModel(float(max(floor, 0.0)), float(max(slope, 0.0)), float(per_span))


def error_parts(
    state: CampaignState,
    model: ErrorModel,
    md_reached: Mapping[float, Sequence[float]] | None = None,
    floor_scale: float = 1.0,
    extra_equilibria: Mapping[float, int] | None = None,
) -> dict[str, float]:
    """Σ over the state points of s_conf², s_net(x)², e_tr(x)² (module docstring) and the mean s_net, with the MD
    coverage, the spread floor and the equilibria an action would give."""
    md_reached = state.md_reached if md_reached is None else md_reached
    extra = extra_equilibria or {}
    parts = {"se2": 0.0, "spread2": 0.0, "transfer2": 0.0, "mean_spread": 0.0}
    for p in state.points:
        x = distance(p.temperature, p.target_cb, md_reached)
        n, dn = p.n_configurations, extra.get(p.temperature, 0)
        spread = model.spread(x, floor_scale)
        parts["se2"] += p.relative_se**2 * (n / (n + dn) if n else 1.0)
        parts["spread2"] += spread**2
        parts["transfer2"] += model.transfer(x) ** 2
        parts["mean_spread"] += spread / len(state.points)
    return parts


def objective(state: CampaignState, model: ErrorModel, **action: object) -> float:
    """Σ over the state points of E² = s_conf² + s_net(x)² + e_tr(x)² (:func:`error_parts` with ``action``)."""
    parts = error_parts(state, model, **action)  # type: ignore[arg-type]
    return parts["se2"] + parts["spread2"] + parts["transfer2"]


def arrhenius_window(times: Mapping[tuple[float, float], float], temperature: float, cb: float) -> float | None:
    """Time MD needs at ``temperature`` to reach ⟨C_B⟩ = ``cb``: ln t = α + β/T fitted to the labelled temperatures
    that reached it (two or more), else None."""
    pairs = [(t, time) for (t, c), time in times.items() if math.isclose(c, cb) and time > 0]
    if len({t for t, _ in pairs}) < 2:
        return None
    inv = np.array([1.0 / t for t, _ in pairs])
    beta, alpha = np.polyfit(inv, np.log([time for _, time in pairs]), 1)
    return float(math.exp(alpha + beta / temperature))


def _window_for(state: CampaignState, temperature: float, cbs: Sequence[float]) -> tuple[float, list[float]]:
    """The window reaching every ⟨C_B⟩ of ``cbs`` that the Arrhenius fit can place (its time × :data:`WINDOW_MARGIN`),
    and those ⟨C_B⟩."""
    reachable = [(cb, arrhenius_window(state.times, temperature, cb)) for cb in cbs]
    placed = [(cb, w * WINDOW_MARGIN) for cb, w in reachable if w is not None]
    if not placed:
        return 0.0, []
    return max(w for _, w in placed), sorted(cb for cb, _ in placed)


def _hours(seconds: float) -> float:
    return seconds / 3600.0


def candidates(state: CampaignState, add_fraction: float = 1.0) -> list[Candidate]:
    """Every action the state allows, with its predicted gain and cost (module docstring), best gain per CPU-hour
    first. ``add_fraction``: Δn of ``add_configurations`` / ``add_equilibria`` relative to what is there (1: double).
    """
    model = fit_error_model(state)
    now_parts = error_parts(state, model)
    now = now_parts["se2"] + now_parts["spread2"] + now_parts["transfer2"]
    costs = state.costs
    labelled = sorted(state.md_reached)
    out: list[Candidate] = []

    def propose(action: str, t: float, parameters: dict, seconds: float, note: str, **change: object) -> None:
        parts = error_parts(state, model, **change)  # type: ignore[arg-type]
        after = parts["se2"] + parts["spread2"] + parts["transfer2"]
        out.append(Candidate(action, t, parameters, now - after, _hours(seconds), now, after, note,
                             now_parts["mean_spread"], parts["mean_spread"]))

    targets = sorted(set(state.targets) | {c for reached in state.md_reached.values() for c in reached})
    for t in sorted(set(state.swap_mc) - set(labelled)):
        # the labels the current settings would compute at t: the planned window reaches the ⟨C_B⟩ whose Arrhenius
        # time is within it, of those the coldest labelled temperature's MD reached
        window, n = state.planned.get(t, (0.0, 0))
        wanted = list(state.md_reached[labelled[0]]) if labelled else targets
        reached = [c for c in wanted
                   if (need := arrhenius_window(state.times, t, c)) is not None and need * WINDOW_MARGIN <= window]
        if reached and n:
            propose("label_temperature", t, {"window": window, "n_configurations": n},
                    n * costs["md_per_configuration_time"] * window + costs["refresh"],
                    f"MD labels at T = {t:g}: {n} configurations to t = {window:g} (⟨C_B⟩ down to {min(reached):g})",
                    md_reached={**state.md_reached, t: tuple(sorted(reached))})
    for t in labelled:
        window, reached = _window_for(state, t, [c for c in targets if c not in state.md_reached[t]])
        if reached and window > state.windows.get(t, 0.0):
            # a window is a per-system setting: its digest changes, so every labelled temperature is run again
            windows = {**state.windows, t: round(window)}
            seconds = sum(state.n_labelled[u] * costs["md_per_configuration_time"] * w for u, w in windows.items())
            propose("extend_window", t, {"window": round(window), "previous_window": state.windows[t]},
                    seconds + costs["refresh"],
                    f"window at T = {t:g}: {state.windows[t]:g} → {window:.0f} (MD reaches ⟨C_B⟩ = "
                    f"{', '.join(f'{c:g}' for c in reached)})",
                    md_reached={**state.md_reached, t: tuple(sorted({*state.md_reached[t], *reached}))})
    n_train = sum(state.n_labelled.values())
    for t in labelled:
        dn = max(1, round(state.n_labelled[t] * add_fraction))
        scale = math.sqrt(n_train / (n_train + dn)) if n_train else 1.0
        propose("add_configurations", t, {"add_configurations": dn},
                dn * (costs["equilibrium"] + costs["md_per_configuration_time"] * state.windows[t]) + costs["refresh"],
                f"{dn} more labelled configurations at T = {t:g} (spread floor × {scale:.2f})", floor_scale=scale)
    for t in sorted(state.swap_mc):
        n = max((p.n_configurations for p in state.points if math.isclose(p.temperature, t)), default=0)
        if n:
            dn = max(1, round(n * add_fraction))
            seconds = dn * costs["equilibrium"] + costs["refresh_temperature"]
            propose("add_equilibria", t, {"add_equilibria": dn}, seconds,
                    f"{dn} more swap-MC equilibria at T = {t:g} (bootstrap SE × {math.sqrt(n / (n + dn)):.2f})",
                    extra_equilibria={t: dn})
    return sorted(out, key=_rank_key)


def _rank_key(candidate: Candidate) -> tuple[float, str, float]:
    value = candidate.gain_per_cpu_hour
    return (-value if math.isfinite(value) else math.inf, candidate.action, candidate.temperature)


def select_within_budget(ranked: Sequence[Candidate], cpu_hours: float) -> list[Candidate]:
    """The autopilot's choice: walk the ranking, take each proposal with a positive gain whose cost still fits the
    remaining budget (greedy by gain per CPU-hour; a proposal too dear for what is left is skipped, not split)."""
    if not (isinstance(cpu_hours, int | float) and math.isfinite(cpu_hours) and cpu_hours > 0):
        raise ValueError(f"the autopilot budget must be a positive number of CPU-hours, got {cpu_hours!r}")
    left, chosen = float(cpu_hours), []
    slack = 1e-9 * cpu_hours  # rounding of the running sum, not budget
    for candidate in ranked:
        if candidate.gain > 0 and candidate.cpu_hours <= left + slack:
            chosen.append(candidate)
            left -= candidate.cpu_hours
    return chosen


def held_out_calibration(
    chi4_ml: Sequence[float], chi4_md: Sequence[float], spans: float
) -> tuple[float, float] | None:
    """(x_h, e_h) of the held-out test: e_h = ⟨|χ4_ML − χ4_MD| / χ4_MD⟩ over its state points with χ4_MD > 0, at
    the held-out temperature's extrapolation distance x_h; None when no state point can be compared or x_h = 0."""
    pairs = [(m, d) for m, d in zip(chi4_ml, chi4_md, strict=True)
             if d is not None and m is not None and np.isfinite(m) and np.isfinite(d) and d > 0]
    if not pairs or not spans > 0:
        return None
    return float(spans), float(np.mean([abs(m - d) / d for m, d in pairs]))


def realised_spread(points: Sequence[StatePointError]) -> float:
    """Mean relative network spread of χ4 over ``points`` (what the proposals' outcomes compare)."""
    return float(np.mean([p.relative_spread for p in points])) if points else float("nan")
