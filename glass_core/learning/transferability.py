"""The held-out test of transferability [J]: a tGlassMLP trained without one labelled temperature predicts it.

[J]'s claim is that a network trained where MD reaches predicts the dynamic heterogeneity where it does not.
The direct test leaves the labels of one temperature T_h out of training entirely (no labels, no distillation,
no selection there), predicts its configurations at each state point (T_h, ⟨C_B⟩) with the iterated state
input of :meth:`~glass_core.learning.tglassmlp.TGlassMLPEnsemble.predict`, and compares with the MD labels of the
same configurations:

- Pearson ρ of prediction and label within each configuration ([J] eq. 8), mean ± SE over configurations;
- χ4 = (⟨Q²⟩ − ⟨Q⟩²)/N of the MD labels (bootstrap SE) and of each network's prediction, mean ± spread over the
  networks [J] (:mod:`~glass_core.dynamics.four_point_susceptibility`); with the labels' split replica halves
  also the MD χ4 of the R → ∞ propensity (less the thermal remainder of R replicas), the one a structural
  prediction can reach;
- the chord length ℓ_ch of both on the same particles ([J]'s rule, :mod:`~glass_core.dynamics.length_scales`)
  and the random-field reference of those particles;
- the ⟨C_B⟩ error: the mean prediction at the *nominal* input (T_h, ⟨C_B⟩) minus ⟨C_B⟩, before the iteration
  corrects it — how far the network's clock is off at a temperature it never saw;
- the distance of T_h outside the training temperatures in training spans of 1/T
  (:func:`~glass_core.learning.mlp_data.extrapolation_spans`).

T-BOTAN (Bessho, Kawasaki, Shiba, arXiv:2603.13820) reports interpolation to untrained temperatures; holding out
the lowest labelled temperature tests extrapolation, which is what predictions below the MD range rely on.

References: [J]; [TB26].
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from glass_core.dynamics.four_point_susceptibility import (
    FourPointSusceptibility,
    FullFourPointSusceptibility,
    TooFewConfigurationsError,
    four_point_susceptibility,
    full_four_point_susceptibility,
)
from glass_core.dynamics.length_scales import (
    ChordLengthEnsemble,
    SiteRule,
    mean_chord_length,
    random_field_chord_length,
)
from glass_core.learning.mlp_data import PropensityDataset, extrapolation_spans
from glass_core.learning.scores import ConfigurationScore, pearson_by_configuration
from glass_core.learning.tglassmlp import TGlassMLPEnsemble
from glass_core.models.statistics import NetworkSpread, over_networks

__all__ = ["ChordSettings", "HeldOutStatePoint", "MDStatePoint", "held_out_comparison", "md_state_points"]


@dataclass(frozen=True)
class ChordSettings:
    """How ℓ_ch is measured: lattice cell (σ), median over 'ensemble' or 'configuration', site rule, random draws."""

    cell_size: float = 1.0
    median_over: str = "ensemble"
    site_rule: SiteRule = "active_fraction"
    random_field_draws: int = 20


@dataclass(frozen=True)
class HeldOutStatePoint:
    """One held-out state point (T_h, ⟨C_B⟩): the prediction of a network that never saw T_h against its MD.

    ``chi4_md`` / ``chord_md``: of the MD labels (None when too few configurations / no chord); ``chi4_md_full``:
    the split-half estimate whose ``configurational`` part is the R → ∞ χ4 (None without halves); ``chi4_ml`` /
    ``chord_ml``: per network, mean ± spread; ``cb_error``: nominal-input mean prediction − ⟨C_B⟩ per network;
    ``achieved_cb``: the iterated prediction's mean.
    """

    temperature: float
    target_cb: float
    n_configurations: int
    pearson: ConfigurationScore
    chi4_md: FourPointSusceptibility | None
    chi4_md_full: FullFourPointSusceptibility | None
    chi4_ml: NetworkSpread
    chord_md: ChordLengthEnsemble | None
    chord_ml: NetworkSpread
    chord_random: ChordLengthEnsemble | None
    cb_error: NetworkSpread
    achieved_cb: float
    extrapolation_spans: float


def _per_configuration(rows: PropensityDataset, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(positions (n_conf, n_max, 2), fields (n_conf, n_max)) of the rows' configurations, NaN-padded."""
    ids = np.unique(rows.configuration)
    n_max = max(int((rows.configuration == c).sum()) for c in ids)
    positions = np.zeros((len(ids), n_max, 2))
    fields = np.full((len(ids), n_max), np.nan)
    for k, c in enumerate(ids):
        at = rows.configuration == c
        positions[k, : at.sum()] = rows.positions[at]
        fields[k, : at.sum()] = values[at]
    return positions, fields


def _chi4(fields: np.ndarray, n_bootstrap: int, seed: int) -> FourPointSusceptibility | None:
    try:
        return four_point_susceptibility(fields, n_bootstrap, seed)
    except TooFewConfigurationsError:
        return None


def _chord(positions: np.ndarray, fields: np.ndarray, box: tuple[float, float],
           chords: ChordSettings) -> ChordLengthEnsemble | None:
    try:
        return mean_chord_length(positions, fields, box, chords.cell_size, chords.median_over, "below",
                                 chords.site_rule)
    except ValueError:
        return None


def _chi4_full(md: np.ndarray, halves: tuple[np.ndarray, np.ndarray] | None, n_replicas: int, n_bootstrap: int,
               seed: int) -> FullFourPointSusceptibility | None:
    if halves is None or n_replicas < 2 or np.isnan(halves[0]).all():
        return None
    try:
        return full_four_point_susceptibility(md, *halves, n_replicas, n_bootstrap, seed)
    except TooFewConfigurationsError:
        return None


@dataclass(frozen=True)
class MDStatePoint:
    """χ4 (finite-R and, with halves, its R → ∞ part) and ℓ_ch of the MD labels of one state point."""

    temperature: float
    target_cb: float
    chi4: FourPointSusceptibility | None
    chi4_full: FullFourPointSusceptibility | None
    chord: ChordLengthEnsemble | None

    @property
    def chi4_reachable(self) -> tuple[float, float] | None:
        """(value, SE) of the χ4 a structural prediction is compared with: the R → ∞ part where known."""
        if self.chi4_full is not None:
            return self.chi4_full.configurational, self.chi4_full.configurational_stderr
        return None if self.chi4 is None else (self.chi4.value, self.chi4.stderr)


def _box(dataset: PropensityDataset) -> tuple[float, float]:
    boxes = np.unique(dataset.box, axis=0)
    if len(boxes) != 1:
        raise ValueError(f"the configurations have different boxes {boxes.tolist()}")
    return float(boxes[0, 0]), float(boxes[0, 1])


def md_state_points(
    labelled: PropensityDataset,
    chords: ChordSettings = ChordSettings(),
    n_bootstrap: int = 1000,
    seed: int = 0,
    halves: np.ndarray | None = None,
    n_replicas: dict[float, int] | None = None,
) -> list[MDStatePoint]:
    """MD χ4 and ℓ_ch at every state point of ``labelled`` (rows with labels and positions; ``halves`` (n, 2) the
    split replica averages of the same rows, ``n_replicas`` R per temperature): the MD side of the held-out figure
    at every labelled temperature."""
    if labelled.labels is None or not labelled.has_positions:
        raise ValueError("the labelled rows need labels and positions")
    out = []
    for temperature, cb in labelled.state_points():
        at = labelled.at_state_point(temperature, cb)
        rows = labelled.subset(at)
        positions, md = _per_configuration(rows, rows.labels.astype(np.float64))
        split = None if halves is None else tuple(_per_configuration(rows, halves[at, k])[1] for k in (0, 1))
        replicas = (n_replicas or {}).get(float(temperature), 1)
        out.append(MDStatePoint(float(temperature), float(cb), _chi4(md, n_bootstrap, seed),
                                _chi4_full(md, split, replicas, n_bootstrap, seed),
                                _chord(positions, md, _box(rows), chords)))
    return out


def held_out_comparison(
    ensemble: TGlassMLPEnsemble,
    held_out: PropensityDataset,
    chords: ChordSettings = ChordSettings(),
    n_bootstrap: int = 1000,
    seed: int = 0,
    max_iterations: int = 6,
    tolerance: float = 0.03,
    halves: np.ndarray | None = None,
    n_replicas: int = 1,
) -> list[HeldOutStatePoint]:
    """Compare ``ensemble``'s predictions with the labels of ``held_out`` (one temperature it was not trained on,
    rows of its particle types, with positions) at each of the rows' state points (module doc). ``halves`` (n, 2):
    the labels' even/odd-replica averages of the same rows, from ``n_replicas`` replicas."""
    if held_out.labels is None or not held_out.has_positions:
        raise ValueError("the held-out rows need labels and positions")
    temperatures = np.unique(held_out.temperature)
    if len(temperatures) != 1:
        raise ValueError(f"hold out one temperature at a time, got {temperatures.tolist()}")
    training = ensemble.notes.get("training_temperatures", [])
    if any(np.isclose(training, temperatures[0])):
        raise ValueError(f"T = {temperatures[0]} is among the model's training temperatures {training}: not held out")
    box = _box(held_out)
    spans = extrapolation_spans(float(temperatures[0]), training) if training else float("nan")
    results = []
    for temperature, cb in held_out.state_points():
        at = held_out.at_state_point(temperature, cb)
        rows = held_out.subset(at)
        prediction = ensemble.predict(rows.features, rows.types, float(temperature), float(cb), max_iterations,
                                      tolerance)
        nominal = ensemble.forward_at_state_points(
            torch.from_numpy(rows.features), torch.from_numpy(rows.types),
            torch.tensor([[temperature, cb]], dtype=torch.float32).expand(ensemble.n_members, 2))
        positions, md = _per_configuration(rows, rows.labels.astype(np.float64))
        split = None if halves is None else tuple(_per_configuration(rows, halves[at, k])[1] for k in (0, 1))
        members = [_per_configuration(rows, m.astype(np.float64))[1] for m in prediction.members]
        chi4_members = [c for c in (_chi4(f, n_bootstrap, seed) for f in members) if c is not None]
        chord_members = [c for c in (_chord(positions, f, box, chords) for f in members) if c is not None]
        labelled = np.isfinite(md)
        try:
            random = random_field_chord_length(positions, labelled, box, chords.cell_size, chords.median_over,
                                               chords.site_rule, chords.random_field_draws, seed)
        except ValueError:
            random = None
        results.append(HeldOutStatePoint(
            temperature=float(temperature),
            target_cb=float(cb),
            n_configurations=int(len(np.unique(rows.configuration))),
            pearson=pearson_by_configuration(prediction.mean, rows.labels, rows.configuration),
            chi4_md=_chi4(md, n_bootstrap, seed),
            chi4_md_full=_chi4_full(md, split, n_replicas, n_bootstrap, seed),
            chi4_ml=over_networks([c.value for c in chi4_members], [c.stderr for c in chi4_members]),
            chord_md=_chord(positions, md, box, chords),
            chord_ml=over_networks([c.mean for c in chord_members], [c.stderr for c in chord_members]),
            chord_random=random,
            cb_error=over_networks(nominal.double().mean(dim=1).numpy() - float(cb)),
            achieved_cb=float(prediction.achieved_cb),
            extrapolation_spans=spans,
        ))
    return results
