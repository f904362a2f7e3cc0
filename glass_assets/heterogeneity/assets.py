"""Dynamic heterogeneity and its length scales [J]: χ4, chord length and attention length, MD beside tGlassMLP.

Three assets (the large boxes, S4(q) and ξ4 live in the ``large_box`` domain and write ``length = 'xi4'`` rows of
``dynamic_lengths``):

- ``dynamic_heterogeneity`` (system × T, this module): χ4 and χ4_norm per state point ⟨C_B⟩ from the MD labels
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
  Its rows are collected by :class:`glass_assets.heterogeneity.rows.HeterogeneityRows`.
- ``attention_lengths`` (system, :mod:`glass_assets.heterogeneity.attention`): P(L) and ⟨L⟩ of the champion
  tGlassMLP's attention at every (T, target) of the campaign's swap-MC temperatures.
- ``heterogeneity_summary`` (system, :mod:`glass_assets.heterogeneity.summary`): the paper figure from
  ``dynamic_lengths`` and ``heterogeneity``; its numbers are those two tables (a wide Markdown view in the
  metadata), so it writes no table of its own.
"""

from dataclasses import dataclass

import numpy as np
import polars as pl
from dagster import (
    AssetExecutionContext,
    MaterializeResult,
    MetadataValue,
)

from glass_assets.checks import evaluate_before_commit
from glass_assets.graph import AssetTemplate, Upstream
from glass_assets.heterogeneity import plots
from glass_assets.heterogeneity.checks import DYNAMIC_CHECKS
from glass_assets.heterogeneity.rows import HeterogeneityRows
from glass_assets.partitions import (
    parse_partition,
)
from glass_assets.plots import figure_metadata, markdown_table
from glass_assets.resources import StudySettings, WarehouseResource
from glass_assets.tables import SWAP_MC, configurations
from glass_assets.versioning import HETEROGENEITY_CODE_VERSION
from glass_assets.warehouse import Warehouse, WarehouseError, ensemble_key

__all__ = ["dynamic_heterogeneity"]


# --------------------------------------------------------------------------------------------- inputs
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


def _md_state_points(out: HeterogeneityRows, store: Warehouse, key: dict, equilibria: _Equilibria,
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


def _ml_state_points(out: HeterogeneityRows, store: Warehouse, key: dict, equilibria: _Equilibria,
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


def _md_time_series(out: HeterogeneityRows, store: Warehouse, key: dict, equilibria: _Equilibria,
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
    out = HeterogeneityRows(system, temperature, label, settings, profile.base_seed)
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
