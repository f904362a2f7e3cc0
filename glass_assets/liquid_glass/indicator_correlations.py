"""``indicator_correlations`` [O]: Pearson and Spearman correlations between Grad-CAM Γ, Voronoi area Υ and
Tong–Tanaka Θ per configuration, their mean ± SE per (class, pair, method) beside the paper's values."""


import polars as pl
from dagster import (
    AssetExecutionContext,
    MaterializeResult,
    MetadataValue,
)

from glass_assets.checks import evaluate_before_commit
from glass_assets.graph import PER_SYSTEM, AssetTemplate, Upstream
from glass_assets.liquid_glass import plots
from glass_assets.liquid_glass.assets import ENSEMBLE
from glass_assets.liquid_glass.checks import CORRELATION_CHECKS
from glass_assets.plots import correlation_violins, figure_metadata, stderr_metadata
from glass_assets.registry.cnn_split import GatedClassifier
from glass_assets.registry.tracking import model_name
from glass_assets.resources import StudySettings, WarehouseResource
from glass_assets.versioning import CORRELATIONS_CODE_VERSION
from glass_assets.warehouse import WarehouseError, ensemble_key
from glass_core.learning.correlations import (
    GRAD_CAM_PAIRS,
    OYAMA_ABM_GLASS_MEANS,
    OYAMA_GLASS_CONDITIONS,
    STRUCTURAL_PAIRS,
    evaluate_conditions,
    pair_correlations,
    summarise_correlations,
)
from glass_core.models.statistics import Accuracy, SampleMean
from glass_core.models.systems import get_system

FIELDS = ("gamma_cg", "voronoi_area_cg", "one_minus_theta_cg")
#: [O] §IV C: mean correlations over ABM glasses (kept in glass_core, where the paper report reads them too)
PAPER_ABM_GLASS = OYAMA_ABM_GLASS_MEANS


def indicator_correlations(
    context: AssetExecutionContext, study: StudySettings, warehouse: WarehouseResource
) -> MaterializeResult:
    """Correlations between Grad-CAM Γ, Voronoi area Υ and Tong–Tanaka Θ per configuration, summarised beside the
    paper's values."""
    system = context.partition_key
    store = warehouse.get()
    fields = store.query(
        "SELECT g.temperature, g.sample, g.particle, g.label, g.gamma_cg, g.model_version, g.classifier_accuracy, "
        "g.classifier_n, "
        "d.voronoi_area_cg, "
        "d.one_minus_theta_cg FROM grad_cam g JOIN descriptors d USING (system, temperature, ensemble, sample, "
        "particle) WHERE g.system = ? ORDER BY g.temperature, g.sample, g.particle",
        [system],
    )
    if fields.height == 0:
        raise WarehouseError(f"no Grad-CAM scores joined with descriptors for {system}: materialize them first")
    classifier = _grad_cam_classifier(study, system, fields)
    if not classifier.resolved:
        context.log.warning(f"{classifier.describe()}: {classifier.no_finding()}")
    rows = []
    for (temperature, sample, label, version), group in fields.group_by(
        ["temperature", "sample", "label", "model_version"], maintain_order=True
    ):
        values = pair_correlations({name: group[name].to_numpy() for name in FIELDS}, GRAD_CAM_PAIRS)
        rows += [
            _correlation_row(system, temperature, sample, label, pair, method, version, value, classifier.status)
            for (pair, method), value in values.items()
        ]
    # C(1−Θ, Υ) needs no CNN: every configuration of the T_G and T_L ensembles, not only the test ones
    for temperature, label in _phase_temperatures(system):
        descriptors = store.read_partition("descriptors", ensemble_key(system, temperature, ENSEMBLE))
        for (sample,), group in descriptors.group_by(["sample"], maintain_order=True):
            values = pair_correlations({name: group[name].to_numpy() for name in FIELDS[1:]}, STRUCTURAL_PAIRS)
            rows += [
                _correlation_row(system, temperature, sample, label, pair, method, None, value)
                for (pair, method), value in values.items()
            ]
    table = pl.DataFrame(
        rows, schema_overrides={"model_version": pl.String, "value": pl.Float64, "classifier_status": pl.String}
    ).with_columns(pl.col("value").fill_nan(None))
    summary = correlation_summary(table, system)
    checks = evaluate_before_commit(
        CORRELATION_CHECKS,
        context,
        rejected={"indicator_correlations": table, "indicator_correlation_summary": summary},
        quarantine_root=study.quarantine_root(),
        correlations=table,
        classifier=classifier,
    )
    written = store.replace_partition(
        {"system": system}, {"indicator_correlations": table, "indicator_correlation_summary": summary}
    )
    glass_means = {
        row["pair"]: SampleMean(
            float("nan") if row["mean"] is None else row["mean"],
            row["stderr"],
            row["n"],
            row["std"],
            row["n_undefined"],
        )
        for row in summary.filter((pl.col("label") == "glass") & (pl.col("method") == "pearson")).iter_rows(named=True)
    }
    # Grad-CAM means of a classifier below the gate are no finding: not judged, not drawn, not beside [O]
    unresolved = frozenset() if classifier.resolved else frozenset(GRAD_CAM_PAIRS)
    conditions = evaluate_conditions(OYAMA_GLASS_CONDITIONS.get(system, ()), glass_means, unresolved)
    title = f"{system}: Pearson per configuration"
    if unresolved:
        title += " (Grad-CAM pairs left out: classifier unresolved)"
    violin = correlation_violins(
        table.filter(pl.col("method") == "pearson"), summary, title, unresolved_pairs=unresolved
    )
    example = fields.filter(pl.col("label") == "glass")
    first = example.filter(pl.col("sample") == example["sample"][0]) if example.height else fields.head(0)
    particles = (
        store.query(
            "SELECT x, y, type FROM particles WHERE system = ? AND temperature = ? AND ensemble = ? AND sample = ? "
            "ORDER BY particle",
            [system, float(first["temperature"][0]), ENSEMBLE, int(first["sample"][0])],
        )
        if first.height
        else None
    )
    metadata = {
        "rows_written": MetadataValue.json(written),
        "summary": MetadataValue.md(
            plots.correlation_summary_markdown(
                summary, system, PAPER_ABM_GLASS, None if classifier.resolved else classifier.no_finding()
            )
        ),
        "paper_conditions": MetadataValue.md(plots.conditions_markdown(conditions, glass_means, system)),
        **classifier.metadata(),
        "grad_cam_finding": "resolved classifier" if classifier.resolved else classifier.no_finding(),
        **{
            f"violins_{k}": v
            for k, v in figure_metadata(
                violin, study.plot_path("indicator_correlations", f"{system}_violins.png")
            ).items()
        },
    }
    for pair, mean in glass_means.items():
        if pair in unresolved:  # no finding: the numbers stay in the warehouse, marked, for diagnosis only
            continue
        metadata[f"glass_pearson_{pair}"] = float(mean.mean)
        metadata[f"glass_pearson_{pair}_stderr"] = stderr_metadata(mean.stderr)
        metadata[f"glass_pearson_{pair}_n"] = mean.n
    for result in conditions:
        metadata[f"condition {result.condition.text}"] = result.verdict
    if particles is not None and particles.height == first.height:
        title = f"{system} glass, sample {int(first['sample'][0])}"
        if not classifier.resolved:
            title += " — Γ of an unresolved classifier: no Grad-CAM finding"
        maps = plots.particle_maps(particles, first, title)
        metadata.update(
            {
                f"maps_{k}": v
                for k, v in figure_metadata(
                    maps, study.plot_path("indicator_correlations", f"{system}_particle_maps.png")
                ).items()
            }
        )
    return MaterializeResult(check_results=checks, metadata=metadata)


def _phase_temperatures(system: str) -> list[tuple[float, str]]:
    """(T_G, "glass") and (T_L, "liquid") of a CNN system."""
    temps = get_system(system).temperatures
    return [(float(temps["glass"]), "glass"), (float(temps["liquid"]), "liquid")]


def _grad_cam_classifier(study: StudySettings, system: str, fields: pl.DataFrame) -> GatedClassifier:
    """This profile's gate on the CNN behind the stored Grad-CAM rows: its validation accuracy and n travel with
    the rows (``grad_cam.classifier_accuracy``, ``classifier_n``); rows written before the gate have none and
    count as unresolved (accuracy unknown)."""
    versions = fields["model_version"].unique().sort().to_list()
    if len(versions) != 1:
        raise WarehouseError(f"grad_cam of {system} mixes CNN versions {versions}: materialize grad_cam_scores again")
    value, n = fields["classifier_accuracy"][0], fields["classifier_n"][0]
    accuracy = Accuracy(0, 0) if value is None or n is None else Accuracy.from_fraction(float(value), int(n))
    return GatedClassifier(accuracy, study.load().cnn.gate, f"{model_name(system)} v{versions[0]}")


def _correlation_row(
    system: str,
    temperature: float,
    sample: int,
    label: str,
    pair: str,
    method: str,
    version: str | None,
    value: float,
    classifier_status: str | None = None,
) -> dict[str, object]:
    return {
        "system": system,
        "temperature": float(temperature),
        "ensemble": ENSEMBLE,
        "sample": int(sample),
        "label": label,
        "pair": pair,
        "method": method,
        "model_version": version,
        "value": float(value),
        "classifier_status": classifier_status,
    }


def correlation_summary(table: pl.DataFrame, system: str) -> pl.DataFrame:
    """Rows of ``indicator_correlation_summary``: mean ± SE and n per (class, pair, method) of ``table``.

    ``subset`` says which configurations: ``test`` (correctly classified CNN test configurations, the
    pairs with Γ) or ``all`` (every configuration of the ensemble, C(1−Θ, Υ)).
    """
    rows = []
    for (label, pair, method), group in table.group_by(["label", "pair", "method"]):
        mean = summarise_correlations(group["value"].to_list())
        versions = group["model_version"].drop_nulls().unique().sort().to_list()
        statuses = group["classifier_status"].drop_nulls().unique().sort().to_list()
        rows.append(
            {
                "system": system,
                "label": label,
                "pair": pair,
                "method": method,
                "subset": "test" if "gamma" in pair else "all",
                "mean": mean.mean,
                "stderr": mean.stderr,
                "std": mean.std,
                "n": mean.n,
                "n_undefined": mean.n_undefined,
                "model_version": ",".join(versions) if versions else None,
                "classifier_status": ",".join(statuses) if statuses else None,
            }
        )
    schema = {
        "mean": pl.Float64,
        "stderr": pl.Float64,
        "std": pl.Float64,
        "model_version": pl.String,
        "classifier_status": pl.String,
    }
    return (
        pl.DataFrame(rows, schema_overrides=schema)
        .with_columns(pl.col("mean").fill_nan(None))
        .sort(["label", "pair", "method"])
    )


INDICATOR_CORRELATIONS = AssetTemplate(
    body=indicator_correlations,
    partitioned_by=PER_SYSTEM,
    upstream=(Upstream("grad_cam_scores"), Upstream("structural_descriptors")),
    checks=CORRELATION_CHECKS,
    kinds=frozenset({"duckdb"}),
    group_name="liquid_glass",
    code_version=CORRELATIONS_CODE_VERSION,
)
