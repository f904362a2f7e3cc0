"""Dynamic heterogeneity and its length scales [J]: χ4, chord length and attention length, MD beside tGlassMLP.

Three assets (the large boxes, S4(q) and ξ4 live in ``large_boxes.py`` and write ``length = 'xi4'`` rows of
``dynamic_lengths``):

- ``dynamic_heterogeneity`` (system × T): χ4 and χ4_norm per state point ⟨C_B⟩ from the MD labels
  (``state_point_labels``, where the temperature has MD) and from the champion's predictions on every
  swap-MC equilibrium (``propensity_predictions``); χ4(t) from the MD ``propensity`` table; the chord length
  per state point from both, on the swap-MC equilibria's positions. The MD χ4 of the propensity is its
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

import numpy as np
import polars as pl
from dagster import (
    AssetExecutionContext,
    MaterializeResult,
    MetadataValue,
)

from glass_assets.campaign import load_campaign
from glass_assets.checks import raise_on_blocking_failure
from glass_assets.graph import PER_SYSTEM, AssetTemplate, Upstream
from glass_assets.heterogeneity import plots
from glass_assets.heterogeneity.checks import (
    ATTENTION_CHECKS,
    DYNAMIC_CHECKS,
    attention_check_specs,
    dynamic_check_specs,
    run_attention_checks,
    run_dynamic_checks,
    run_summary_checks,
    summary_check_specs,
)
from glass_assets.partitions import (
    parse_partition,
)
from glass_assets.plots import figure_metadata, markdown_table
from glass_assets.profiles import HeterogeneitySettings
from glass_assets.propensity_registry import load_tglassmlp_champion
from glass_assets.resources import StudySettings, WarehouseResource
from glass_assets.tables import SWAP_MC, configurations
from glass_assets.tracking import MLflowResource
from glass_assets.warehouse import Warehouse, WarehouseError, ensemble_key
from glass_core.dynamics.four_point_susceptibility import (
    TooFewConfigurationsError,
    four_point_susceptibility,
    full_four_point_susceptibility,
)
from glass_core.dynamics.length_scales import attention_length, mean_chord_length
from glass_core.structure.physics_descriptors import parse_feature_name

__all__ = [
    "HETEROGENEITY_CODE_VERSION",
    "attention_lengths",
    "dynamic_heterogeneity",
    "feature_lengths",
    "heterogeneity_summary",
]

HETEROGENEITY_CODE_VERSION = "heterogeneity-v1"


# --------------------------------------------------------------------------------------------- rows
def _float(value: float) -> float | None:
    """NaN/inf → None (NULL): nothing non-finite reaches the warehouse."""
    return float(value) if np.isfinite(value) else None


def _fields(rows: pl.DataFrame, column: str) -> tuple[list[int], np.ndarray]:
    """(samples, (n_conf, N) field with NaN for NULL) from per-particle rows of equally sized configurations."""
    rows = rows.sort("sample", "particle")
    samples = rows["sample"].unique(maintain_order=True).to_list()
    counts = set(rows.group_by("sample").len()["len"].to_list())
    if len(counts) != 1:
        raise WarehouseError(f"configurations of different sizes {sorted(counts)} in the {column} rows")
    values = rows[column].cast(pl.Float64).fill_null(np.nan).to_numpy()
    return samples, values.reshape(len(samples), -1)


class _Rows:
    """Collects ``heterogeneity`` and ``dynamic_lengths`` rows of one partition, and what had to be skipped."""

    def __init__(self, system: str, temperature: float) -> None:
        self.system, self.temperature = system, temperature
        self.heterogeneity: list[dict] = []
        self.lengths: list[dict] = []
        self.skipped: list[str] = []

    def add(
        self,
        source: str,
        observable: str,
        value: float,
        stderr: float,
        n: int,
        target: float | None,
        time: float | None,
    ) -> None:
        if not np.isfinite(value):
            self.skipped.append(f"{source} {observable} at {_where(target, time)}: not finite (left out)")
            return
        self.heterogeneity.append(
            {
                "system": self.system,
                "temperature": self.temperature,
                "target_cb": target,
                "time": time,
                "source": source,
                "observable": observable,
                "value": float(value),
                "stderr": _float(stderr),
                "n_configurations": int(n),
            }
        )

    def add_chi4(
        self, source: str, fields: np.ndarray, settings: HeterogeneitySettings, seed: int, **where: float | None
    ) -> None:
        try:
            chi4 = four_point_susceptibility(fields, settings.chi4_bootstrap, seed)
        except TooFewConfigurationsError as error:
            self.skipped.append(f"{source} χ4 at {_where(**where)}: {error}")
            return
        self.add(source, "chi4", chi4.value, chi4.stderr, chi4.n_configurations, **where)
        if np.isfinite(chi4.normalised):  # 0/0 for a field without spread (e.g. t = 0): no row
            self.add(source, "chi4_normalised", chi4.normalised, chi4.normalised_stderr, chi4.n_configurations, **where)

    def add_full_chi4(
        self,
        fields: np.ndarray,
        halves: tuple[np.ndarray, np.ndarray],
        n_replicas: int,
        settings: HeterogeneitySettings,
        seed: int,
        **where: float | None,
    ) -> None:
        if n_replicas < 2 or np.isnan(halves[0]).all() or np.isnan(halves[1]).all():
            return
        try:
            full = full_four_point_susceptibility(fields, *halves, n_replicas, settings.chi4_bootstrap, seed)
        except TooFewConfigurationsError as error:
            self.skipped.append(f"md full χ4 at {_where(**where)}: {error}")
            return
        self.add("md", "chi4_full", full.value, full.stderr, full.n_configurations, **where)

    def add_chord(
        self,
        source: str,
        positions: np.ndarray,
        fields: np.ndarray,
        box: tuple,
        settings: HeterogeneitySettings,
        target: float,
    ) -> None:
        try:
            chord = mean_chord_length(
                positions,
                fields,
                box,
                settings.chord_cell_size,
                settings.chord_median_over,
                "below",
                settings.chord_site_rule,
            )
        except ValueError as error:
            self.skipped.append(f"{source} chord length at ⟨C_B⟩ = {target}: {error}")
            return
        self.add(source, "chord_length", chord.mean, chord.stderr, chord.n_configurations, target, None)
        self.lengths.append(
            {
                "system": self.system,
                "temperature": self.temperature,
                "target_cb": target,
                "source": source,
                "length": "chord",
                "value": _float(chord.mean),
                "stderr": _float(chord.stderr),
                "n_configurations": chord.n_configurations,
            }
        )

    def frames(self) -> dict[str, pl.DataFrame]:
        heterogeneity_schema = {
            "system": pl.String, "temperature": pl.Float64, "target_cb": pl.Float64, "time": pl.Float64,
            "source": pl.String, "observable": pl.String, "value": pl.Float64, "stderr": pl.Float64,
            "n_configurations": pl.Int32,
        }  # fmt: skip
        length_schema = {
            "system": pl.String, "temperature": pl.Float64, "target_cb": pl.Float64, "source": pl.String,
            "length": pl.String, "value": pl.Float64, "stderr": pl.Float64, "n_configurations": pl.Int32,
        }  # fmt: skip
        return {
            "heterogeneity": pl.DataFrame(self.heterogeneity, schema=heterogeneity_schema),
            "dynamic_lengths": pl.DataFrame(self.lengths, schema=length_schema),
        }


def _where(target: float | None = None, time: float | None = None) -> str:
    return f"⟨C_B⟩ = {target}" if target is not None else f"t = {time:.4g}"


# --------------------------------------------------------------------------------------------- inputs
def _positions(store: Warehouse, system: str, temperature: float, samples: list[int]) -> tuple[np.ndarray, tuple]:
    """(n_conf, N, 2) positions of the swap-MC equilibria ``samples`` and their common box."""
    key = ensemble_key(system, temperature, SWAP_MC)
    configs = configurations(store.read_partition("samples", key), store.read_partition("particles", key))
    missing = [s for s in samples if s not in configs]
    if missing:
        raise WarehouseError(
            f"no swap-MC equilibria {missing} of {system} at T={temperature} for the chord length: materialize them"
        )
    boxes = {tuple(configs[s].box) for s in samples}
    if len(boxes) != 1:
        raise WarehouseError(f"the equilibria of {system} at T={temperature} have different boxes {sorted(boxes)}")
    return np.stack([configs[s].positions for s in samples]), boxes.pop()


def _md_state_points(
    out: _Rows, store: Warehouse, key: dict, settings: HeterogeneitySettings, seed: int
) -> dict[float, list[int]]:
    """χ4, full χ4 and ℓ_ch of the MD labels at each state point; returns target → labelled samples."""
    labels = store.query(
        "SELECT * FROM state_point_labels WHERE system = ? AND temperature = ?", [key["system"], key["temperature"]]
    )
    points = store.query(
        "SELECT target_cb, n_replicas FROM state_points WHERE system = ? AND temperature = ?",
        [key["system"], key["temperature"]],
    )
    replicas = dict(zip(points["target_cb"].to_list(), points["n_replicas"].to_list(), strict=True))
    labelled = {}
    for (target,), rows in labels.sort("target_cb").group_by(["target_cb"], maintain_order=True):
        samples, fields = _fields(rows, "propensity")
        halves = (_fields(rows, "propensity_half_a")[1], _fields(rows, "propensity_half_b")[1])
        out.add_chi4("md", fields, settings, seed, target=target, time=None)
        out.add_full_chi4(fields, halves, int(replicas.get(target, 1)), settings, seed, target=target, time=None)
        positions, box = _positions(store, key["system"], key["temperature"], samples)
        out.add_chord("md", positions, fields, box, settings, target)
        labelled[target] = samples
    return labelled


def _ml_state_points(
    out: _Rows,
    store: Warehouse,
    key: dict,
    labelled: dict[float, list[int]],
    settings: HeterogeneitySettings,
    seed: int,
) -> int:
    """χ4 of the predictions on every equilibrium; ℓ_ch on the MD-labelled ones where MD exists (same
    configurations, side by side), else on all. Returns the number of predicted configurations."""
    predictions = store.query(
        "SELECT * FROM propensity_predictions WHERE system = ? AND temperature = ?", [key["system"], key["temperature"]]
    )
    if predictions.height == 0:
        raise WarehouseError(
            f"no propensity_predictions of {key['system']} at T={key['temperature']}: materialize them first"
        )
    for (target,), rows in predictions.sort("target_cb").group_by(["target_cb"], maintain_order=True):
        samples, fields = _fields(rows, "predicted")
        out.add_chi4("ml", fields, settings, seed, target=target, time=None)
        same = set(labelled.get(target, samples))
        chosen = [k for k, s in enumerate(samples) if s in same] or list(range(len(samples)))
        chosen_samples = [samples[k] for k in chosen]
        positions, box = _positions(store, key["system"], key["temperature"], chosen_samples)
        out.add_chord("ml", positions, fields[chosen], box, settings, target)
    return predictions["sample"].n_unique()


def _md_time_series(out: _Rows, store: Warehouse, key: dict, settings: HeterogeneitySettings, seed: int) -> int:
    """χ4(t), χ4_norm(t) and the full χ4(t) of the MD bond-breaking propensity at every frame; frames written."""
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
    frames = 0
    for (_,), frame in rows.group_by(["frame"], maintain_order=True):
        time = float(frame["time"].min())
        _, fields = _fields(frame, "bond_breaking")
        halves = (_fields(frame, "bond_breaking_half_a")[1], _fields(frame, "bond_breaking_half_b")[1])
        out.add_chi4("md", fields, settings, seed, target=None, time=time)
        out.add_full_chi4(fields, halves, n_replicas, settings, seed, target=None, time=time)
        frames += 1
    return frames


# --------------------------------------------------------------------------------------------- assets
def dynamic_heterogeneity(
    context: AssetExecutionContext, study: StudySettings, warehouse: WarehouseResource
) -> MaterializeResult:
    system, temperature = parse_partition(context.partition_key)
    profile = study.load()
    settings = profile.heterogeneity
    store = warehouse.get()
    store.ensure_writable()
    key = {"system": system, "temperature": temperature}
    out = _Rows(system, temperature)
    labelled = _md_state_points(out, store, key, settings, profile.base_seed)
    n_predicted = _ml_state_points(out, store, key, labelled, settings, profile.base_seed)
    n_frames = _md_time_series(out, store, key, settings, profile.base_seed)
    frames = out.frames()
    results = run_dynamic_checks(frames, out.skipped)
    raise_on_blocking_failure(
        results, DYNAMIC_CHECKS, context, rejected=frames, quarantine_root=study.quarantine_root()
    )
    written = store.replace_partitions(
        [
            (key, {"heterogeneity": frames["heterogeneity"]}),
            ({**key, "length": "chord"}, {"dynamic_lengths": frames["dynamic_lengths"]}),
        ]
    )
    table = frames["heterogeneity"].filter(pl.col("time").is_null()).drop("system", "temperature", "time")
    metadata = {
        "state_points": MetadataValue.md(markdown_table(table.sort("observable", "source", "target_cb"))),
        "md_state_points": len(labelled),
        "predicted_configurations": n_predicted,
        "md_frames": n_frames,
        "skipped": MetadataValue.json(out.skipped),
        "rows_written": MetadataValue.json(written),
    }
    in_time = frames["heterogeneity"].filter(pl.col("time").is_not_null())
    if in_time.height:
        figure = plots.chi4_time_figure(in_time, f"{system}, T = {temperature}: MD χ4(t) of C_B")
        metadata |= figure_metadata(figure, study.plot_path("dynamic_heterogeneity", f"{system}_T{temperature!r}.png"))
    return MaterializeResult(check_results=results, metadata=metadata)


def feature_lengths(names: list[str]) -> np.ndarray:
    """Coarse-graining length L of each descriptor name 'OBS_CHANNEL_L<length>'; a clear error otherwise."""
    return np.asarray([parse_feature_name(name)[2] for name in names])


def _state_inputs(store: Warehouse, system: str, temperature: float, version: str) -> dict[float, float]:
    """target → the self-consistent state-point input of this model version's predictions, where they exist."""
    rows = store.query(
        "SELECT target_cb, state_input_cb FROM prediction_state_points "
        "WHERE system = ? AND temperature = ? AND model_version = ?",
        [system, temperature, version],
    )
    return dict(zip(rows["target_cb"].to_list(), rows["state_input_cb"].to_list(), strict=True))


def attention_lengths(
    context: AssetExecutionContext, study: StudySettings, warehouse: WarehouseResource, mlflow_tracking: MLflowResource
) -> MaterializeResult:
    system = context.partition_key
    profile = study.load()
    temperatures = sorted(float(t) for s, t in load_campaign().for_stage("swap_mc") if s == system)
    if not temperatures:
        raise ValueError(f"the campaign has no swap_mc temperatures for {system}: no state point for attention")
    ensemble, version = load_tglassmlp_champion(mlflow_tracking.activate(), system)
    lengths = feature_lengths(ensemble.feature_names)
    store = warehouse.get()
    store.ensure_writable()
    distributions, rows = [], []
    for temperature in temperatures:
        inputs = _state_inputs(store, system, temperature, version)
        for target in profile.propensity_learning.state_point_targets:
            state_input = float(inputs.get(target, target))
            result = attention_length(
                ensemble.attention_weights(temperature, state_input), lengths, profile.heterogeneity.attention_aggregate
            )
            distributions.append(
                pl.DataFrame(
                    {
                        "system": system,
                        "temperature": temperature,
                        "target_cb": target,
                        "state_input_cb": state_input,
                        "coarse_graining_length": result.lengths,
                        "probability": result.distribution,
                        "spread": result.distribution_spread,
                        "n_networks": ensemble.n_members,
                        "model_version": version,
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
                }
            )
    frames = {
        "attention_distributions": pl.concat(distributions).with_columns(pl.col("n_networks").cast(pl.Int32)),
        "dynamic_lengths": pl.DataFrame(rows),
    }
    results = run_attention_checks(frames)
    raise_on_blocking_failure(
        results, ATTENTION_CHECKS, context, rejected=frames, quarantine_root=study.quarantine_root()
    )
    written = store.replace_partitions(
        [
            ({"system": system}, {"attention_distributions": frames["attention_distributions"]}),
            ({"system": system, "length": "attention"}, {"dynamic_lengths": frames["dynamic_lengths"]}),
        ]
    )
    figure = plots.attention_figure(frames["attention_distributions"], f"tglassmlp_{system} v{version}: P(L)")
    table = frames["dynamic_lengths"].select("temperature", "target_cb", "value", "stderr")
    return MaterializeResult(
        check_results=results,
        metadata={
            "model": f"tglassmlp_{system} v{version} (champion)",
            "attention_lengths": MetadataValue.md(markdown_table(table)),
            "n_networks": ensemble.n_members,
            "rows_written": MetadataValue.json(written),
            **figure_metadata(figure, study.plot_path("attention_lengths", f"{system}.png")),
        },
    )


def _wide_summary(lengths: pl.DataFrame, chi4: pl.DataFrame) -> pl.DataFrame:
    """One row per (T, ⟨C_B⟩): every length and χ4 by source, value ± error, for the metadata table."""
    long = pl.concat(
        [
            lengths.select("temperature", "target_cb", (pl.col("length") + "_" + pl.col("source")).alias("name"),
                           "value", "stderr"),
            chi4.select("temperature", "target_cb", ("chi4_" + pl.col("source")).alias("name"), "value", "stderr"),
        ]
    )  # fmt: skip
    if long.height == 0:
        return long
    cell = (
        pl.when(pl.col("value").is_null())
        .then(pl.lit("unresolved"))
        .otherwise(
            pl.col("value").round(3).cast(pl.String)
            + pl.lit(" ± ")
            + pl.col("stderr").round(3).cast(pl.String).fill_null("—")
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
    system = context.partition_key
    store = warehouse.get()
    store.ensure_writable()
    lengths = store.query("SELECT * FROM dynamic_lengths WHERE system = ? ORDER BY length, temperature", [system])
    chi4 = store.query(
        "SELECT * FROM heterogeneity WHERE system = ? AND observable = 'chi4' AND target_cb IS NOT NULL "
        "ORDER BY temperature, source, target_cb",
        [system],
    )
    if lengths.height == 0 and chi4.height == 0:
        raise WarehouseError(f"no heterogeneity rows for {system}: materialize dynamic_heterogeneity first")
    temperatures = sorted(set(lengths["temperature"].to_list()) | set(chi4["temperature"].to_list()))
    results = run_summary_checks(lengths, temperatures)
    figure = plots.summary_figure(lengths, chi4, f"{system}: dynamic heterogeneity and its length scales")
    wide = _wide_summary(lengths, chi4)
    return MaterializeResult(
        check_results=results,
        metadata={
            "summary": MetadataValue.md(markdown_table(wide)) if wide.height else "no rows",
            "temperatures": MetadataValue.json(temperatures),
            "lengths": MetadataValue.json(sorted(set(lengths["length"].to_list()))),
            **figure_metadata(figure, study.plot_path("heterogeneity_summary", f"{system}.png")),
        },
    )


DYNAMIC_HETEROGENEITY = AssetTemplate(
    body=dynamic_heterogeneity,
    partitioned_by="swap_mc",
    upstream=(
        Upstream("propensity_predictions"),
        Upstream("swap_mc_equilibria"),
        Upstream("propensity_labels", "all"),
        Upstream("state_point_labels", "all"),
    ),
    check_specs=dynamic_check_specs,
    kinds=frozenset({"duckdb"}),
    group_name="heterogeneity",
    code_version=HETEROGENEITY_CODE_VERSION,
    description=(
        "χ4 = (⟨Q²⟩ − ⟨Q⟩²)/N and χ4/Var(X) of the bond-breaking propensity at each state point ⟨C_B⟩, from MD "
        "labels (its configurational part) and from the champion tGlassMLP on every swap-MC equilibrium, bootstrap "
        "errors over configurations; χ4(t) from the MD frames; the full χ4 of single trajectories (thermal + "
        "configurational, 'chi4_full', MD only) from the split replica halves where R ≥ 2; chord length ℓ_ch from "
        "MD and predictions on the same configurations [J]. Tables `heterogeneity`, `dynamic_lengths` (chord)."
    ),
)


ATTENTION_LENGTHS = AssetTemplate(
    body=attention_lengths,
    partitioned_by=PER_SYSTEM,
    upstream=(Upstream("tglassmlp_model"), Upstream("propensity_predictions")),
    check_specs=attention_check_specs,
    kinds=frozenset({"pytorch", "duckdb"}),
    group_name="heterogeneity",
    code_version=HETEROGENEITY_CODE_VERSION,
    description=(
        "The champion tGlassMLP's attention weights at every (T, ⟨C_B⟩) of the campaign's swap-MC temperatures, "
        "averaged over the descriptors of each coarse-graining length L: P(L) and the attention length "
        "⟨L⟩ = Σ L P(L), mean ± standard deviation across the kept networks [J] (`attention_distributions`, "
        "`dynamic_lengths` length 'attention'). The state-point input is the self-consistent one of the "
        "predictions where they exist."
    ),
)


HETEROGENEITY_SUMMARY = AssetTemplate(
    body=heterogeneity_summary,
    partitioned_by=PER_SYSTEM,
    upstream=(
        Upstream("dynamic_heterogeneity"),
        Upstream("attention_lengths"),
        Upstream("four_point_structure_factor"),
    ),
    check_specs=summary_check_specs,
    kinds=frozenset({"duckdb"}),
    group_name="heterogeneity",
    code_version=HETEROGENEITY_CODE_VERSION,
    description=(
        "The paper figure of the system's dynamic heterogeneity: ξ4 (when four_point_structure_factor has run), "
        "ℓ_ch and the attention length against 1/T, MD (filled) beside tGlassMLP (open), and χ4 against ⟨C_B⟩ "
        "at every temperature; inline and as PNG. Its numbers are the `dynamic_lengths` and `heterogeneity` rows "
        "of the system (wide view in the metadata)."
    ),
)
