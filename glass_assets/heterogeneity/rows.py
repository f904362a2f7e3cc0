"""The row builder of ``dynamic_heterogeneity``: the ``heterogeneity`` and ``dynamic_lengths`` rows of one
partition (χ4, the full χ4, the chord length, per source and state point or time), and what had to be skipped."""

import numpy as np
import polars as pl

from glass_assets.profiles import HeterogeneitySettings
from glass_core.dynamics.four_point_susceptibility import (
    FourPointSusceptibility,
    TooFewConfigurationsError,
    four_point_susceptibility,
    full_four_point_susceptibility,
)
from glass_core.dynamics.length_scales import (
    ChordLengthEnsemble,
    mean_chord_length,
    random_field_chord_length,
)
from glass_core.models.statistics import NetworkSpread, over_networks

__all__ = ["HeterogeneityRows", "finite_or_none"]


def finite_or_none(value: float) -> float | None:
    """NaN/inf → None (NULL): nothing non-finite reaches the warehouse."""
    return float(value) if np.isfinite(value) else None


class HeterogeneityRows:
    """Collects ``heterogeneity`` and ``dynamic_lengths`` rows of one partition (one particle subset), and what had
    to be skipped."""

    def __init__(self, system: str, temperature: float, particle_type: str, settings: HeterogeneitySettings,
                 seed: int) -> None:
        self.system, self.temperature, self.particle_type = system, temperature, particle_type
        self.settings, self.seed = settings, seed
        self.heterogeneity: list[dict] = []
        self.lengths: list[dict] = []
        self.skipped: list[str] = []

    def add(self, source: str, observable: str, value: float, stderr: float, n: int, target: float | None,
            time: float | None, spread: NetworkSpread | None = None) -> None:
        if not np.isfinite(value):
            self.skipped.append(f"{source} {observable} at {_where(target, time)}: not finite (left out)")
            return
        self.heterogeneity.append({
            "system": self.system, "temperature": self.temperature, "target_cb": target, "time": time,
            "source": source, "observable": observable, "value": float(value), "stderr": finite_or_none(stderr),
            "n_configurations": int(n), "particle_type": self.particle_type,
            "network_spread": None if spread is None else finite_or_none(spread.spread),
            "n_networks": None if spread is None else spread.n_networks,
        })

    def _length(self, source: str, target: float, value: float, stderr: float, n: int,
                spread: NetworkSpread | None = None) -> None:
        self.lengths.append({
            "system": self.system, "temperature": self.temperature, "target_cb": target, "source": source,
            "length": "chord", "value": finite_or_none(value), "stderr": finite_or_none(stderr), "n_configurations": n,
            "particle_type": self.particle_type,
            "network_spread": None if spread is None else finite_or_none(spread.spread),
            "n_networks": None if spread is None else spread.n_networks,
        })

    def _chi4(self, source: str, fields: np.ndarray, where: dict) -> FourPointSusceptibility | None:
        try:
            return four_point_susceptibility(fields, self.settings.chi4_bootstrap, self.seed)
        except TooFewConfigurationsError as error:
            self.skipped.append(f"{source} χ4 at {_where(**where)}: {error}")
            return None

    def add_chi4(self, source: str, fields: np.ndarray, **where: float | None) -> None:
        chi4 = self._chi4(source, fields, where)
        if chi4 is None:
            return
        self.add(source, "chi4", chi4.value, chi4.stderr, chi4.n_configurations, **where)
        if np.isfinite(chi4.normalised):  # 0/0 for a field without spread (e.g. t = 0): no row
            self.add(source, "chi4_normalised", chi4.normalised, chi4.normalised_stderr, chi4.n_configurations,
                     **where)

    def add_chi4_networks(self, source: str, members: np.ndarray, **where: float | None) -> None:
        """χ4 and χ4/Var of each network's field ``members`` (K, n_conf, N): mean ± spread over networks [J]."""
        results = [self._chi4(source, fields, where) for fields in members]
        results = [r for r in results if r is not None]
        if not results:
            return
        n = results[0].n_configurations
        chi4 = over_networks([r.value for r in results], [r.stderr for r in results])
        self.add(source, "chi4", chi4.mean, chi4.stderr, n, spread=chi4, **where)
        normalised = over_networks([r.normalised for r in results], [r.normalised_stderr for r in results])
        if normalised.n_networks:
            self.add(source, "chi4_normalised", normalised.mean, normalised.stderr, n, spread=normalised, **where)

    def add_full_chi4(self, fields: np.ndarray, halves: tuple[np.ndarray, np.ndarray], n_replicas: int,
                      **where: float | None) -> None:
        if n_replicas < 2 or np.isnan(halves[0]).all() or np.isnan(halves[1]).all():
            return
        try:
            full = full_four_point_susceptibility(fields, *halves, n_replicas, self.settings.chi4_bootstrap,
                                                  self.seed)
        except TooFewConfigurationsError as error:
            self.skipped.append(f"md full χ4 at {_where(**where)}: {error}")
            return
        self.add("md", "chi4_full", full.value, full.stderr, full.n_configurations, **where)
        # the χ4 of the R → ∞ propensity: what a structural prediction (no thermal noise) is compared with
        self.add("md", "chi4_configurational", full.configurational, full.configurational_stderr,
                 full.n_configurations, **where)

    def _chord(self, source: str, positions: np.ndarray, fields: np.ndarray, box: tuple,
               target: float) -> ChordLengthEnsemble | None:
        settings = self.settings
        try:
            return mean_chord_length(positions, fields, box, settings.chord_cell_size, settings.chord_median_over,
                                     "below", settings.chord_site_rule)
        except ValueError as error:
            self.skipped.append(f"{source} chord length at ⟨C_B⟩ = {target}: {error}")
            return None

    def add_chord(self, source: str, positions: np.ndarray, fields: np.ndarray, box: tuple, target: float) -> None:
        chord = self._chord(source, positions, fields, box, target)
        if chord is None:
            return
        self.add(source, "chord_length", chord.mean, chord.stderr, chord.n_configurations, target, None)
        self._length(source, target, chord.mean, chord.stderr, chord.n_configurations)

    def add_chord_networks(self, source: str, positions: np.ndarray, members: np.ndarray, box: tuple,
                           target: float) -> None:
        """ℓ_ch of each network's field (K, n_conf, N): mean ± spread over networks [J]."""
        chords = [c for c in (self._chord(source, positions, f, box, target) for f in members) if c is not None]
        if not chords:
            return
        chord = over_networks([c.mean for c in chords], [c.stderr for c in chords])
        n = chords[0].n_configurations
        self.add(source, "chord_length", chord.mean, chord.stderr, n, target, None, spread=chord)
        self._length(source, target, chord.mean, chord.stderr, n, spread=chord)

    def add_random_field_chord(self, positions: np.ndarray, labelled: np.ndarray, box: tuple,
                               targets: list[float]) -> None:
        """The reference ℓ_ch of independent random fields on the subset's particles, one row per state point."""
        settings = self.settings
        try:
            reference = random_field_chord_length(positions, labelled, box, settings.chord_cell_size,
                                                  settings.chord_median_over, settings.chord_site_rule,
                                                  settings.random_field_draws, self.seed)
        except ValueError as error:
            self.skipped.append(f"random-field chord length: {error}")
            return
        for target in targets:
            self._length("random_field", target, reference.mean, reference.stderr, int(labelled.shape[0]))

    def frames(self) -> dict[str, pl.DataFrame]:
        heterogeneity_schema = {
            "system": pl.String, "temperature": pl.Float64, "target_cb": pl.Float64, "time": pl.Float64,
            "source": pl.String, "observable": pl.String, "value": pl.Float64, "stderr": pl.Float64,
            "n_configurations": pl.Int32, "particle_type": pl.String, "network_spread": pl.Float64,
            "n_networks": pl.Int32,
        }  # fmt: skip
        length_schema = {
            "system": pl.String, "temperature": pl.Float64, "target_cb": pl.Float64, "source": pl.String,
            "length": pl.String, "value": pl.Float64, "stderr": pl.Float64, "n_configurations": pl.Int32,
            "particle_type": pl.String, "network_spread": pl.Float64, "n_networks": pl.Int32,
        }  # fmt: skip
        return {
            "heterogeneity": pl.DataFrame(self.heterogeneity, schema=heterogeneity_schema),
            "dynamic_lengths": pl.DataFrame(self.lengths, schema=length_schema),
        }


def _where(target: float | None = None, time: float | None = None) -> str:
    return f"⟨C_B⟩ = {target}" if target is not None else f"t = {time:.4g}"
