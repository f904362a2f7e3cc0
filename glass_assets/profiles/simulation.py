"""Profile sections of how configurations are simulated: the quench, the isoconfigurational runs, swap MC, inherent
structures, the large boxes and the cooling-rate study's quenches.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

from glass_assets.profiles.parsing import WINDOW_DEFAULT, ProfileError
from glass_core.simulation.quench import QuenchProtocol
from glass_core.structure.gridding import INPUT_KINDS

__all__ = [
    "CoolingRateStudySettings",
    "InherentStructureSettings",
    "LargeBoxSettings",
    "PropensitySettings",
    "QuenchSettings",
    "SwapMCSettings",
]


@dataclass(frozen=True)
class QuenchSettings:
    n_samples: int
    n_particles: dict[str, int]
    protocol: QuenchProtocol

    def particles_for(self, system: str) -> int:
        if system not in self.n_particles:
            raise ValueError(f"the profile sets no quench box size for system {system!r}")
        return self.n_particles[system]


@dataclass(frozen=True)
class PropensitySettings:
    """Isoconfigurational runs: ``max_time`` in LJ time, one number, one per system, or per run temperature.

    A system's entry may be a mapping run temperature → time with an optional ``default`` for the
    temperatures it does not list, e.g. ``kam: {0.37: 300.0, default: 100.0}``: the cage-relative clock δ(t)
    of the T_G glasses reaches 1 three times later at T* than at 1.5 T* (``benchmarks/delta_clock_time.py``).
    """

    n_samples: int | dict[str, float | dict[str, float]]
    n_replicas: int
    max_time: float | dict[str, float | dict[str, float]]
    per_decade: int = 8
    ensemble: str = "nvt"
    #: run temperatures (per system: ``true`` for all, or a list) whose window the profile knows to end before τ_α
    tau_alpha_beyond_window: dict[str, bool | tuple[float, ...]] = dataclasses.field(default_factory=dict)

    def window_ends_before_tau_alpha(self, system: str, temperature: float) -> bool:
        """Whether the profile declares that the window of ``system`` at run ``temperature`` ends before τ_α (so
        ⟨C_B⟩ staying above 1/e is what this profile measures, not a finding)."""
        entry = self.tau_alpha_beyond_window.get(system, False)
        if isinstance(entry, bool):
            return entry
        return any(math.isclose(temperature, t) for t in entry)

    def max_time_for(self, system: str, temperature: float | None = None) -> float:
        """LJ time of the replica runs of ``system`` at run ``temperature``; a missing entry raises."""
        return _per_temperature(self.max_time, "max_time", system, temperature)

    def samples_for(self, system: str, temperature: float | None = None) -> int:
        """Initial configurations of the runs of ``system`` at ``temperature`` (one number, or per system and run
        temperature like ``max_time``: a lower temperature may get fewer); a missing entry raises."""
        return int(_per_temperature(self.n_samples, "n_samples", system, temperature))


def _per_temperature(table: float | dict, key: str, system: str, temperature: float | None) -> float:
    """A setting given as one number, per system, or per system and temperature with an optional ``default``."""
    if not isinstance(table, dict):
        return float(table)
    if system not in table:
        raise ProfileError(f"propensity.{key} has no entry for system {system!r}")
    entry = table[system]
    if not isinstance(entry, dict):
        return float(entry)
    for name, value in entry.items():
        if name != WINDOW_DEFAULT and temperature is not None and math.isclose(float(name), temperature):
            return float(value)
    if WINDOW_DEFAULT in entry:
        return float(entry[WINDOW_DEFAULT])
    raise ProfileError(f"propensity.{key} of {system!r} has no entry for T = {temperature} and no {WINDOW_DEFAULT!r}")


@dataclass(frozen=True)
class SwapMCSettings:
    n_particles: int
    n_chains: int
    samples_per_chain: int
    equilibration_sweeps: int
    sweeps_between_samples: int
    swap_probability: float
    max_displacement: float
    trace_every: int = 10


@dataclass(frozen=True)
class InherentStructureSettings:
    force_tolerance: float = 1e-8


@dataclass(frozen=True)
class LargeBoxSettings:
    """Large equilibrated boxes for S4(q) and ξ4 [J] (swap settings reused from ``swap_mc``).

    ``tiles_per_side`` k: each of the first ``n_boxes`` swap-MC equilibria of a partition is tiled k × k
    and re-equilibrated by swap MC until its overlap with the tiled start is below 1/e, checked every
    ``overlap_every`` sweeps, at most ``max_sweeps``. S4(q) is evaluated up to ``q_max`` (σ⁻¹) and ξ4 fitted
    with ``oz_model`` (``oz``: [J] eq. (11); ``oz_cubic``: with the third-order term of [J] App. C, see
    :mod:`glass_core.dynamics.four_point_structure_factor`).
    """

    tiles_per_side: int
    n_boxes: int
    max_sweeps: int
    overlap_every: int
    q_max: float
    oz_model: str = "oz"

    def __post_init__(self) -> None:
        if self.tiles_per_side < 1 or self.n_boxes < 1 or self.max_sweeps < 1 or self.overlap_every < 1:
            raise ValueError("tiles_per_side, n_boxes, max_sweeps and overlap_every must be at least 1")
        if not self.q_max > 0:
            raise ValueError(f"q_max must be positive, got {self.q_max}")
        if self.oz_model not in ("oz", "oz_cubic"):
            raise ValueError(f"oz_model must be 'oz' or 'oz_cubic', got {self.oz_model!r}")


@dataclass(frozen=True)
class CoolingRateStudySettings:
    """Glasses quenched to T_G at several cooling rates, for C(1−Θ,Υ) against the rate [O].

    ``rates``: cooling rates |dT/dt| (LJ units, e.g. 2e-2, 2e-3, 2e-4; [O] uses 8.33e-5), each with its
    ``glasses_per_rate`` independent quenches of ``n_particles``; every other quench parameter is the profile's
    ``quench.protocol``. One glass costs ≈ (T_high − T_G)/rate/dt MD steps: at N = 2000 and ≈ 1.9×10³ steps/s
    on a free core (measured), ≈ 23 s at 2e-2, ≈ 3.5 min at 2e-3, ≈ 35 min at 2e-4.

    ``cnn_inputs``: for each input kind (``density``, ``per_type``) a CNN with the profile's ``cnn`` settings and
    the global-average head is trained on the T_L / T_G quenched ensembles, then its Grad-CAM Γ is computed on
    every glass of every rate (same pixel size, larger grid) and correlated with Υ and 1 − Θ [O §IV C].
    """

    n_particles: int
    rates: tuple[float, ...]
    glasses_per_rate: tuple[int, ...]
    #: CNN inputs whose Grad-CAM correlations C(Γ,Υ), C(Γ,1−Θ) are measured on every glass (empty: none)
    cnn_inputs: tuple[str, ...] = ("density", "per_type")

    def __post_init__(self) -> None:
        unknown = [kind for kind in self.cnn_inputs if kind not in INPUT_KINDS]
        if unknown or len(set(self.cnn_inputs)) != len(self.cnn_inputs):
            raise ValueError(
                f"cooling_rate_study.cnn_inputs must be distinct entries of {list(INPUT_KINDS)}, got "
                f"{list(self.cnn_inputs)}"
            )
        if not self.rates or len(self.rates) != len(self.glasses_per_rate):
            raise ValueError(
                f"cooling_rate_study needs one glasses_per_rate entry per rate, got rates {list(self.rates)} and "
                f"glasses_per_rate {list(self.glasses_per_rate)}"
            )
        if not all(rate > 0 for rate in self.rates) or len(set(self.rates)) != len(self.rates):
            raise ValueError(f"cooling_rate_study.rates must be distinct and positive, got {list(self.rates)}")
        if not all(count >= 1 for count in self.glasses_per_rate):
            raise ValueError(f"cooling_rate_study.glasses_per_rate must be ≥ 1, got {list(self.glasses_per_rate)}")
        if self.n_particles < 2:
            raise ValueError(f"cooling_rate_study.n_particles must be ≥ 2, got {self.n_particles}")

    def plan(self) -> list[tuple[float, int]]:
        """(rate, number of glasses) in the profile's order."""
        return list(zip(self.rates, self.glasses_per_rate, strict=True))
