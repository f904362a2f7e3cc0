"""Dynamic heterogeneity and its length scales [J]: χ4, chord length and attention length, MD beside tGlassMLP.

Three assets (the large boxes, S4(q) and ξ4 live in ``large_boxes.py`` and write ``length = 'xi4'`` rows of
``dynamic_lengths``):

- ``dynamic_heterogeneity`` (system × T): χ4 and χ4_norm per state point ⟨C_B⟩ from the MD labels
  (``state_point_labels``, where the temperature has MD) and from the champion's predictions on every
  swap-MC equilibrium (``propensity_predictions``); χ4(t) from the MD ``propensity`` table; the chord length
  per state point from both, on the swap-MC equilibria's positions. With R ≥ 2 replicas the MD χ4 of the
  R → ∞ propensity is written too (``chi4_configurational`` = χ4 less its thermal remainder n̄⟨σ²⟩/R, from the
  split halves): the finite-R labels carry trajectory noise that no structural predictor can reproduce, so the
  tGlassMLP χ4 is compared with this one. The MD χ4 of the propensity is its
  configurational part [J]. The full χ4 (thermal + configurational) of single trajectories is also written
  (observable ``chi4_full``, MD only) where the labels have R ≥ 2 replicas: the split halves (even/odd
  replica averages) give the trajectory-to-trajectory variance without storing trajectories
  (:func:`glass_core.dynamics.four_point_susceptibility.full_four_point_susceptibility`). At the state points
  the halves are interpolated in time like the labels, so ``chi4_full`` there is as good as that interpolation.
- ``attention_lengths`` (system): P(L) and ⟨L⟩ of the champion tGlassMLP's attention at every (T, target) of
  the campaign's swap-MC temperatures.
- ``heterogeneity_summary`` (system): the paper figure from ``dynamic_lengths`` and ``heterogeneity``; its
  numbers are those two tables (a wide Markdown view in the metadata), so it writes no table of its own.
"""

from dataclasses import dataclass

import numpy as np
import polars as pl
from dagster import (
    AssetExecutionContext,
    MaterializeResult,
    MetadataValue,
)

from glass_assets.campaign import load_campaign
from glass_assets.checks import evaluate_before_commit
from glass_assets.graph import PER_SYSTEM, AssetTemplate, Upstream
from glass_assets.heterogeneity import plots
from glass_assets.heterogeneity.checks import (
    ATTENTION_CHECKS,
    DYNAMIC_CHECKS,
    SUMMARY_CHECKS,
    unresolved_xi4,
)
from glass_assets.partitions import (
    parse_partition,
)
from glass_assets.plots import figure_metadata, heterogeneity_figure, markdown_table
from glass_assets.profiles import HeterogeneitySettings
from glass_assets.registry.propensity import load_tglassmlp_champion, model_type_label
from glass_assets.registry.tracking import MLflowResource
from glass_assets.resources import StudySettings, WarehouseResource
from glass_assets.tables import SWAP_MC, configurations
from glass_assets.versioning import HETEROGENEITY_CODE_VERSION
from glass_assets.warehouse import Warehouse, WarehouseError, ensemble_key
from glass_core.dynamics.four_point_susceptibility import (
    FourPointSusceptibility,
    TooFewConfigurationsError,
    four_point_susceptibility,
    full_four_point_susceptibility,
)
from glass_core.dynamics.length_scales import (
    ChordLengthEnsemble,
    attention_length,
    mean_chord_length,
    random_field_chord_length,
)
from glass_core.models.statistics import NetworkSpread, over_networks
from glass_core.structure.physics_descriptors import parse_feature_name

__all__ = [
    "attention_lengths",
    "dynamic_heterogeneity",
    "feature_lengths",
    "heterogeneity_summary",
]


# --------------------------------------------------------------------------------------------- rows
def _float(value: float) -> float | None:
    """NaN/inf → None (NULL): nothing non-finite reaches the warehouse."""
    return float(value) if np.isfinite(value) else None


def _full_fields(rows: pl.DataFrame, column: str, samples: list[int], n: int) -> np.ndarray:
    """(n_conf, N) field of per-particle ``rows`` (sample, particle, ``column``) on all N particles of each of
    ``samples``, NaN where a particle has no row (another species) or a NULL value."""
    fields = np.full((len(samples), n), np.nan)
    index = {s: k for k, s in enumerate(samples)}
    conf = np.array([index[s] for s in rows["sample"].to_list()], dtype=np.int64)
    values = rows[column].cast(pl.Float64).fill_null(np.nan).to_numpy()
    fields[conf, rows["particle"].to_numpy()] = values
    return fields


def _member_fields(rows: pl.DataFrame, samples: list[int], n: int) -> np.ndarray:
    """(K, n_conf, N) per-network predictions of ``propensity_predictions`` rows (column ``members``), NaN where a
    particle has no row."""
    members = np.stack(rows["members"].to_list()).astype(np.float64)  # (rows, K)
    fields = np.full((members.shape[1], len(samples), n), np.nan)
    index = {s: k for k, s in enumerate(samples)}
    conf = np.array([index[s] for s in rows["sample"].to_list()], dtype=np.int64)
    fields[:, conf, rows["particle"].to_numpy()] = members.T
    return fields


class _Rows:
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
            "source": source, "observable": observable, "value": float(value), "stderr": _float(stderr),
            "n_configurations": int(n), "particle_type": self.particle_type,
            "network_spread": None if spread is None else _float(spread.spread),
            "n_networks": None if spread is None else spread.n_networks,
        })

    def _length(self, source: str, target: float, value: float, stderr: float, n: int,
                spread: NetworkSpread | None = None) -> None:
        self.lengths.append({
            "system": self.system, "temperature": self.temperature, "target_cb": target, "source": source,
            "length": "chord", "value": _float(value), "stderr": _float(stderr), "n_configurations": n,
            "particle_type": self.particle_type,
            "network_spread": None if spread is None else _float(spread.spread),
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


# --------------------------------------------------------------------------------------------- inputs
@dataclass(frozen=True)
class _Equilibria:
    """The swap-MC equilibria of a partition: their samples, positions (n_conf, N, 2), types (n_conf, N), box."""

    samples: list[int]
    positions: np.ndarray
    types: np.ndarray
    box: tuple

    @property
    def n_particles(self) -> int:
        return self.positions.shape[1]

    def of(self, samples: list[int]) -> np.ndarray:
        missing = [s for s in samples if s not in self.samples]
        if missing:
            raise WarehouseError(f"no swap-MC equilibria {missing} for the chord length: materialize them")
        return self.positions[[self.samples.index(s) for s in samples]]

    def subset_mask(self, samples: list[int], types: tuple[int, ...]) -> np.ndarray:
        """(n_conf, N) True for the particles of ``types`` in ``samples``."""
        return np.isin(self.types[[self.samples.index(s) for s in samples]], types)


def _equilibria(store: Warehouse, system: str, temperature: float) -> _Equilibria:
    key = ensemble_key(system, temperature, SWAP_MC)
    configs = configurations(store.read_partition("samples", key), store.read_partition("particles", key))
    if not configs:
        raise WarehouseError(f"no swap-MC equilibria of {system} at T={temperature}: materialize them first")
    boxes = {tuple(c.box) for c in configs.values()}
    if len(boxes) != 1:
        raise WarehouseError(f"the equilibria of {system} at T={temperature} have different boxes {sorted(boxes)}")
    samples = sorted(configs)
    return _Equilibria(samples, np.stack([configs[s].positions for s in samples]),
                       np.stack([configs[s].types for s in samples]), boxes.pop())


def _md_state_points(out: _Rows, store: Warehouse, key: dict, equilibria: _Equilibria,
                     types: tuple[int, ...]) -> dict[float, list[int]]:
    """χ4, full χ4 and ℓ_ch of the MD labels of the subset's particles at each state point; returns target →
    labelled samples."""
    labels = store.query(
        "SELECT * FROM state_point_labels WHERE system = ? AND temperature = ?", [key["system"], key["temperature"]]
    ).filter(pl.col("type").is_in(list(types)))
    points = store.query(
        "SELECT target_cb, n_replicas FROM state_points WHERE system = ? AND temperature = ?",
        [key["system"], key["temperature"]],
    )
    replicas = dict(zip(points["target_cb"].to_list(), points["n_replicas"].to_list(), strict=True))
    labelled = {}
    n = equilibria.n_particles
    for (target,), rows in labels.sort("target_cb").group_by(["target_cb"], maintain_order=True):
        samples = sorted(rows["sample"].unique().to_list())
        fields = _full_fields(rows, "propensity", samples, n)
        halves = (_full_fields(rows, "propensity_half_a", samples, n),
                  _full_fields(rows, "propensity_half_b", samples, n))
        out.add_chi4("md", fields, target=target, time=None)
        out.add_full_chi4(fields, halves, int(replicas.get(target, 1)), target=target, time=None)
        out.add_chord("md", equilibria.of(samples), fields, equilibria.box, target)
        labelled[target] = samples
    return labelled


def _ml_state_points(out: _Rows, store: Warehouse, key: dict, equilibria: _Equilibria,
                     labelled: dict[float, list[int]]) -> int:
    """χ4 of each network's predictions on every equilibrium; ℓ_ch on the MD-labelled ones where MD exists (same
    configurations, side by side), else on all; mean ± spread over networks. Returns the predicted
    configurations."""
    predictions = store.query(
        "SELECT * FROM propensity_predictions WHERE system = ? AND temperature = ?", [key["system"], key["temperature"]]
    )
    if predictions.height == 0:
        raise WarehouseError(
            f"no propensity_predictions of {key['system']} at T={key['temperature']}: materialize them first"
        )
    stale = predictions.filter(pl.col("members").is_null() | (pl.col("particle_type") != out.particle_type)
                               | pl.col("particle_type").is_null())
    if stale.height:
        raise WarehouseError(
            f"propensity_predictions of {key['system']} at T={key['temperature']} were made for particle types "
            f"{stale['particle_type'].unique().to_list()} or without per-network values; the profile asks for "
            f"{out.particle_type!r}: re-materialize tglassmlp_model and propensity_predictions"
        )
    n = equilibria.n_particles
    for (target,), rows in predictions.sort("target_cb").group_by(["target_cb"], maintain_order=True):
        samples = sorted(rows["sample"].unique().to_list())
        members = _member_fields(rows, samples, n)
        out.add_chi4_networks("ml", members, target=target, time=None)
        same = set(labelled.get(target, samples))
        chosen = [k for k, s in enumerate(samples) if s in same] or list(range(len(samples)))
        chosen_samples = [samples[k] for k in chosen]
        out.add_chord_networks("ml", equilibria.of(chosen_samples), members[:, chosen], equilibria.box, target)
    return predictions["sample"].n_unique()


def _md_time_series(out: _Rows, store: Warehouse, key: dict, equilibria: _Equilibria,
                    types: tuple[int, ...]) -> int:
    """χ4(t), χ4_norm(t) and the full χ4(t) of the MD bond-breaking propensity of the subset's particles at every
    frame; frames written."""
    rows = store.query(
        "SELECT sample, particle, frame, time, bond_breaking, bond_breaking_half_a, bond_breaking_half_b "
        "FROM propensity WHERE system = ? AND temperature = ? ORDER BY frame, sample, particle",
        [key["system"], key["temperature"]],
    )
    if rows.height == 0:
        return 0
    summary = store.query(
        "SELECT max(n_replicas) AS r FROM propensity_summary WHERE system = ? AND temperature = ?",
        [key["system"], key["temperature"]],
    )
    n_replicas = int(summary["r"][0] or 1)
    samples = sorted(rows["sample"].unique().to_list())
    outside = ~equilibria.subset_mask(samples, types)
    frames = 0
    for (_,), frame in rows.group_by(["frame"], maintain_order=True):
        time = float(frame["time"].min())
        fields, half_a, half_b = (
            np.where(outside, np.nan, _full_fields(frame, column, samples, equilibria.n_particles))
            for column in ("bond_breaking", "bond_breaking_half_a", "bond_breaking_half_b")
        )
        halves = (half_a, half_b)
        out.add_chi4("md", fields, target=None, time=time)
        out.add_full_chi4(fields, halves, n_replicas, target=None, time=time)
        frames += 1
    return frames


# --------------------------------------------------------------------------------------------- assets
def dynamic_heterogeneity(
    context: AssetExecutionContext, study: StudySettings, warehouse: WarehouseResource
) -> MaterializeResult:
    """The four-point susceptibility χ4 and the chord length ℓ_ch of the bond-breaking propensity at each state
    point, from MD and from the tGlassMLP."""
    system, temperature = parse_partition(context.partition_key)
    profile = study.load()
    settings, learning = profile.heterogeneity, profile.propensity_learning
    types, label = learning.type_indices(system), learning.type_label(system)
    store = warehouse.get()
    store.ensure_writable()
    key = {"system": system, "temperature": temperature}
    equilibria = _equilibria(store, system, temperature)
    out = _Rows(system, temperature, label, settings, profile.base_seed)
    labelled = _md_state_points(out, store, key, equilibria, types)
    n_predicted = _ml_state_points(out, store, key, equilibria, labelled)
    out.add_random_field_chord(equilibria.positions, equilibria.subset_mask(equilibria.samples, types),
                               equilibria.box, sorted({row["target_cb"] for row in out.lengths}))
    n_frames = _md_time_series(out, store, key, equilibria, types)
    frames = out.frames()
    results = evaluate_before_commit(
        DYNAMIC_CHECKS,
        context,
        rejected=frames,
        quarantine_root=study.quarantine_root(),
        frames=frames,
        skipped=out.skipped,
    )
    written = store.replace_partitions(
        [
            (key, {"heterogeneity": frames["heterogeneity"]}),
            ({**key, "length": "chord"}, {"dynamic_lengths": frames["dynamic_lengths"]}),
        ]
    )
    table = frames["heterogeneity"].filter(pl.col("time").is_null()).drop("system", "temperature", "time")
    metadata = {
        "particle_type": label,
        "state_points": MetadataValue.md(markdown_table(table.sort("observable", "source", "target_cb"))),
        "chord_lengths": MetadataValue.md(markdown_table(
            frames["dynamic_lengths"].select("target_cb", "source", "value", "stderr", "network_spread")
            .sort("target_cb", "source"))),
        "md_state_points": len(labelled),
        "predicted_configurations": n_predicted,
        "md_frames": n_frames,
        "skipped": MetadataValue.json(out.skipped),
        "rows_written": MetadataValue.json(written),
    }
    in_time = frames["heterogeneity"].filter(pl.col("time").is_not_null())
    if in_time.height:
        figure = plots.chi4_time_figure(in_time, f"{system}, T = {temperature}, type {label}: MD χ4(t) of C_B")
        metadata |= figure_metadata(figure, study.plot_path("dynamic_heterogeneity", f"{system}_T{temperature!r}.png"))
    return MaterializeResult(check_results=results, metadata=metadata)


def feature_lengths(names: list[str]) -> np.ndarray:
    """Coarse-graining length L of each descriptor name 'OBS_CHANNEL_L<length>'; a clear error otherwise."""
    return np.asarray([parse_feature_name(name)[2] for name in names])


def _state_inputs(store: Warehouse, system: str, temperature: float, version: str) -> dict[float, np.ndarray]:
    """target → each network's self-consistent state-point input (K,) of this model version's predictions, where
    they exist ([J]: every network's attention at its own iterated input)."""
    rows = store.query(
        "SELECT target_cb, state_input_cb, member_state_input_cb FROM prediction_state_points "
        "WHERE system = ? AND temperature = ? AND model_version = ?",
        [system, temperature, version],
    )
    return {
        target: np.asarray(members if members is not None else [mean], dtype=np.float64)
        for target, mean, members in rows.iter_rows()
    }


def attention_lengths(
    context: AssetExecutionContext, study: StudySettings, warehouse: WarehouseResource, mlflow_tracking: MLflowResource
) -> MaterializeResult:
    """The champion tGlassMLP's attention over the coarse-graining lengths, and the attention length ⟨L⟩, at every
    state point of the campaign."""
    system = context.partition_key
    profile = study.load()
    temperatures = sorted(float(t) for s, t in load_campaign().for_stage("swap_mc") if s == system)
    if not temperatures:
        raise ValueError(f"the campaign has no swap_mc temperatures for {system}: no state point for attention")
    ensemble, version = load_tglassmlp_champion(mlflow_tracking.activate(), system)
    label = model_type_label(ensemble, system)
    lengths = feature_lengths(ensemble.feature_names)  # the used descriptors: constant ones never enter P(L)
    store = warehouse.get()
    store.ensure_writable()
    distributions, rows = [], []
    for temperature in temperatures:
        inputs = _state_inputs(store, system, temperature, version)
        for target in profile.propensity_learning.state_point_targets:
            state_input = inputs.get(target, np.array([target]))
            result = attention_length(
                ensemble.attention_weights(temperature, state_input if state_input.size == ensemble.n_members
                                           else float(state_input.mean())),
                lengths,
                profile.heterogeneity.attention_aggregate,
            )
            distributions.append(
                pl.DataFrame(
                    {
                        "system": system,
                        "temperature": temperature,
                        "target_cb": target,
                        "state_input_cb": float(state_input.mean()),
                        "coarse_graining_length": result.lengths,
                        "probability": result.distribution,
                        "spread": result.distribution_spread,
                        "n_networks": ensemble.n_members,
                        "model_version": version,
                        "particle_type": label,
                    }
                )
            )
            rows.append(
                {
                    "system": system,
                    "temperature": temperature,
                    "target_cb": target,
                    "source": "ml",
                    "length": "attention",
                    "value": _float(result.mean_length),
                    "stderr": _float(result.mean_length_spread),
                    "particle_type": label,
                    "network_spread": _float(result.mean_length_spread),
                    "n_networks": ensemble.n_members,
                }
            )
    frames = {
        "attention_distributions": pl.concat(distributions).with_columns(pl.col("n_networks").cast(pl.Int32)),
        "dynamic_lengths": pl.DataFrame(rows).with_columns(pl.col("n_networks").cast(pl.Int32)),
    }
    results = evaluate_before_commit(
        ATTENTION_CHECKS,
        context,
        rejected=frames,
        quarantine_root=study.quarantine_root(),
        frames=frames,
        distributions=frames["attention_distributions"],
    )
    written = store.replace_partitions(
        [
            ({"system": system}, {"attention_distributions": frames["attention_distributions"]}),
            ({"system": system, "length": "attention"}, {"dynamic_lengths": frames["dynamic_lengths"]}),
        ]
    )
    figure = plots.attention_figure(frames["attention_distributions"],
                                    f"tglassmlp_{system} v{version} (type {label}): P(L)")
    table = frames["dynamic_lengths"].select("temperature", "target_cb", "value", "stderr")
    return MaterializeResult(
        check_results=results,
        metadata={
            "model": f"tglassmlp_{system} v{version} (champion)",
            "particle_type": label,
            "attention_lengths": MetadataValue.md(markdown_table(table)),
            "n_networks": ensemble.n_members,
            "n_descriptors": len(lengths),
            "rows_written": MetadataValue.json(written),
            **figure_metadata(figure, study.plot_path("attention_lengths", f"{system}.png")),
        },
    )


def _wide_summary(lengths: pl.DataFrame, chi4: pl.DataFrame) -> pl.DataFrame:
    """One row per (T, ⟨C_B⟩): every length and χ4 by source, value ± error, for the metadata table."""
    columns = ("value", "stderr", "network_spread")
    long = pl.concat(
        [
            lengths.select("temperature", "target_cb", (pl.col("length") + "_" + pl.col("source")).alias("name"),
                           *columns),
            chi4.select("temperature", "target_cb", ("chi4_" + pl.col("source")).alias("name"), *columns),
        ]
    )  # fmt: skip
    if long.height == 0:
        return long
    spread = pl.when(pl.col("network_spread").is_not_null()).then(
        pl.lit(" (networks ± ") + pl.col("network_spread").round(3).cast(pl.String) + pl.lit(")")
    ).otherwise(pl.lit(""))
    cell = (
        pl.when(pl.col("value").is_null())
        .then(pl.lit("unresolved"))
        .otherwise(
            pl.col("value").round(3).cast(pl.String)
            + pl.lit(" ± ")
            + pl.col("stderr").round(3).cast(pl.String).fill_null("—")
            + spread
        )
    )
    return (
        long.with_columns(cell.alias("cell"))
        .pivot(on="name", index=["temperature", "target_cb"], values="cell", aggregate_function="first")
        .sort("temperature", "target_cb", descending=[True, True])
    )


def heterogeneity_summary(
    context: AssetExecutionContext, study: StudySettings, warehouse: WarehouseResource
) -> MaterializeResult:
    """The figure of the system's dynamic heterogeneity: its length scales against 1/T and χ4 against ⟨C_B⟩, MD
    beside tGlassMLP."""
    system = context.partition_key
    store = warehouse.get()
    store.ensure_writable()
    lengths = store.query("SELECT * FROM dynamic_lengths WHERE system = ? ORDER BY length, temperature", [system])
    chi4 = store.query(
        "SELECT * FROM heterogeneity WHERE system = ? AND observable IN ('chi4', 'chi4_configurational') "
        "AND target_cb IS NOT NULL ORDER BY temperature, source, target_cb",
        [system],
    ).with_columns(  # the MD χ4 of the R → ∞ propensity is its own series in the figure and the table
        source=pl.when(pl.col("observable") == "chi4_configurational").then(pl.lit("md_configurational"))
        .otherwise(pl.col("source"))
    )
    if lengths.height == 0 and chi4.height == 0:
        raise WarehouseError(f"no heterogeneity rows for {system}: materialize dynamic_heterogeneity first")
    temperatures = sorted(set(lengths["temperature"].to_list()) | set(chi4["temperature"].to_list()))
    large_boxes = sorted(float(t) for s, t in load_campaign().for_stage("large_box") if s == system)
    results = evaluate_before_commit(
        SUMMARY_CHECKS, context, lengths=lengths, temperatures=temperatures, xi4_temperatures=large_boxes
    )
    types = sorted({t for t in lengths["particle_type"].to_list() + chi4["particle_type"].to_list() if t})
    subset = f", particle type {'/'.join(types)}" if types else ""
    figure = heterogeneity_figure(lengths, chi4, f"{system}: dynamic heterogeneity and its length scales{subset}")
    wide = _wide_summary(lengths, chi4)
    return MaterializeResult(
        check_results=results,
        metadata={
            "summary": MetadataValue.md(markdown_table(wide)) if wide.height else "no rows",
            "temperatures": MetadataValue.json(temperatures),
            "lengths": MetadataValue.json(sorted(set(lengths["length"].to_list()))),
            "xi4_unresolved": MetadataValue.json(unresolved_xi4(lengths)),
            **figure_metadata(figure, study.plot_path("heterogeneity_summary", f"{system}.png")),
        },
    )


DYNAMIC_HETEROGENEITY = AssetTemplate(
    body=dynamic_heterogeneity,
    profile_settings=("base_seed", "heterogeneity", "propensity_learning"),
    partitioned_by="swap_mc",
    upstream=(
        Upstream("propensity_predictions"),
        Upstream("swap_mc_equilibria"),
        Upstream("propensity_labels", "all"),
        Upstream("state_point_labels", "all"),
    ),
    checks=DYNAMIC_CHECKS,
    kinds=frozenset({"duckdb"}),
    group_name="heterogeneity",
    code_version=HETEROGENEITY_CODE_VERSION,
)


ATTENTION_LENGTHS = AssetTemplate(
    body=attention_lengths,
    profile_settings=("heterogeneity.attention_aggregate", "propensity_learning.state_point_targets"),
    partitioned_by=PER_SYSTEM,
    upstream=(Upstream("tglassmlp_model"), Upstream("propensity_predictions")),
    checks=ATTENTION_CHECKS,
    kinds=frozenset({"pytorch", "duckdb"}),
    group_name="heterogeneity",
    code_version=HETEROGENEITY_CODE_VERSION,
)


HETEROGENEITY_SUMMARY = AssetTemplate(
    body=heterogeneity_summary,
    partitioned_by=PER_SYSTEM,
    upstream=(
        Upstream("dynamic_heterogeneity"),
        Upstream("attention_lengths"),
        Upstream("four_point_structure_factor"),
    ),
    checks=SUMMARY_CHECKS,
    kinds=frozenset({"duckdb"}),
    group_name="heterogeneity",
    code_version=HETEROGENEITY_CODE_VERSION,
)
