"""The liquid-versus-glass study [O]: structural descriptors, the CNN classifier, Grad-CAM, correlations."""

import json
import time
from collections.abc import Mapping
from dataclasses import asdict

import mlflow
import numpy as np
import polars as pl
import torch
from dagster import (
    AssetExecutionContext,
    MaterializeResult,
    MetadataValue,
)
from mlflow.models import infer_signature

from glass_assets.checks import evaluate_before_commit
from glass_assets.graph import PER_SYSTEM, AssetTemplate, Upstream
from glass_assets.launchers import SimulationLauncher, training_scratch
from glass_assets.liquid_glass import plots
from glass_assets.liquid_glass.checks import (
    CNN_CHECKS,
    CORRELATION_CHECKS,
    DESCRIPTOR_CHECKS,
    GRAD_CAM_CHECKS,
)
from glass_assets.partitions import (
    parse_partition,
)
from glass_assets.plots import correlation_violins, figure_metadata, stderr_metadata
from glass_assets.registry.cnn_split import (
    GatedClassifier,
    accuracy_metrics,
    champion_gate,
    gridding_for,
    labelled_configurations,
    logged_gridding,
    logged_split,
    split_accuracies,
    split_parameters,
    train_with_settings,
)
from glass_assets.registry.tracking import (
    MLflowResource,
    champion_metrics,
    load_champion_cnn,
    model_name,
    promote_if_not_worse,
)
from glass_assets.registry.training_datasets import image_rows, log_training_datasets
from glass_assets.resources import StudySettings, WarehouseResource
from glass_assets.tables import QUENCHED, configurations
from glass_assets.versioning import (
    CNN_CODE_VERSION,
    CORRELATIONS_CODE_VERSION,
    DESCRIPTORS_CODE_VERSION,
    GRAD_CAM_CODE_VERSION,
    code_version_tag,
)
from glass_assets.warehouse import WarehouseError, ensemble_key
from glass_core.learning.cnn import (
    GLASS,
    LIQUID,
    deterministic_split,
    evaluate,
)
from glass_core.learning.correlations import (
    GRAD_CAM_PAIRS,
    OYAMA_ABM_GLASS_MEANS,
    OYAMA_GLASS_CONDITIONS,
    STRUCTURAL_PAIRS,
    evaluate_conditions,
    pair_correlations,
    summarise_correlations,
)
from glass_core.learning.grad_cam import grad_cam_particles
from glass_core.models.configuration import Configuration
from glass_core.models.statistics import Accuracy, SampleMean
from glass_core.models.systems import ModelSystem, get_system
from glass_core.structure.indicators import normalised_coarse_grained, structural_indicators

ENSEMBLE = QUENCHED
LABELS = {LIQUID: "liquid", GLASS: "glass"}
EXPERIMENT = "liquid_vs_glass_cnn"
FIELDS = ("gamma_cg", "voronoi_area_cg", "one_minus_theta_cg")
#: the registry's ``champion`` moves on this metric (validation set); test accuracy is reported, never used
SELECTION_METRIC = "validation_accuracy"
#: [O] §IV C: mean correlations over ABM glasses (kept in glass_core, where the paper report reads them too)
PAPER_ABM_GLASS = OYAMA_ABM_GLASS_MEANS


def descriptor_table(
    configs: Mapping[int, Configuration], key: Mapping[str, object], system: ModelSystem, xi: float
) -> pl.DataFrame:
    """The ``descriptors`` rows of ``configs`` (one ensemble partition ``key``): Υ, Θ and their coarse-grained
    normalised fields at length ``xi``, per particle."""
    frames = []
    for sample, config in configs.items():
        fields = structural_indicators(config, system, xi)
        n = config.n_particles
        frames.append(
            pl.DataFrame(
                {
                    **{k: [v] * n for k, v in key.items()},
                    "sample": [sample] * n,
                    "particle": np.arange(n, dtype=np.int32),
                    "voronoi_area": fields.voronoi_area,
                    "tong_tanaka": fields.tong_tanaka,
                    "voronoi_area_cg": fields.voronoi_area_cg,
                    "one_minus_theta_cg": fields.one_minus_theta_cg,
                }
            )
        )
    return pl.concat(frames)


def structural_descriptors(
    context: AssetExecutionContext, study: StudySettings, warehouse: WarehouseResource
) -> MaterializeResult:
    """Per-particle Voronoi area Υ and Tong–Tanaka Θ of the partition's quenched configurations, raw and
    coarse-grained, normalised per configuration."""
    system_name, temperature = parse_partition(context.partition_key)
    system = get_system(system_name)
    store = warehouse.get()
    key = ensemble_key(system_name, temperature, ENSEMBLE)
    configs = configurations(store.read_partition("samples", key), store.read_partition("particles", key))
    if not configs:
        raise WarehouseError(f"no quenched ensemble for {system_name} at T={temperature}: materialize it first")
    xi = study.load().coarse_graining_length
    started = time.perf_counter()
    table = descriptor_table(configs, key, system, xi)
    seconds = time.perf_counter() - started
    box_areas = {sample: config.area for sample, config in configs.items()}
    checks = evaluate_before_commit(
        DESCRIPTOR_CHECKS,
        context,
        rejected={"descriptors": table},
        quarantine_root=study.quarantine_root(),
        descriptors=table,
        box_areas=box_areas,
    )
    written = store.replace_partition(key, {"descriptors": table})
    total_area = table.group_by("sample").agg(pl.col("voronoi_area").sum()).sort("sample")
    area_error = [abs(a / box_areas[s] - 1) for s, a in total_area.iter_rows()]
    return MaterializeResult(
        check_results=checks,
        metadata={
            "n_configurations": len(configs),
            "rows_written": MetadataValue.json(written),
            "seconds_per_configuration": seconds / len(configs),
            "max_relative_area_sum_error": float(max(area_error)),
            "mean_voronoi_area": float(table["voronoi_area"].mean()),
            "mean_tong_tanaka": float(table["tong_tanaka"].mean()),
            "coarse_graining_length": xi,
        },
    )


def cnn_classifier(
    context: AssetExecutionContext,
    study: StudySettings,
    warehouse: WarehouseResource,
    mlflow_tracking: MLflowResource,
    simulation: SimulationLauncher,
) -> MaterializeResult:
    """The CNN that tells the system's liquids (T_L) from its glasses (T_G), as an MLflow run and a registered model
    version."""
    system = context.partition_key
    profile = study.load()
    cfg = profile.cnn
    configs, labels, samples, keys = labelled_configurations(warehouse.get(), system)
    gridding = gridding_for(system, cfg)
    images = gridding.images(configs)
    split = deterministic_split(samples, cfg.split_fractions, cfg.seed)
    if len(split.validation) == 0:
        raise ValueError(
            f"cnn.split_fractions {list(cfg.split_fractions)} leave no validation glasses among "
            f"{len(set(samples.tolist()))} quench runs: the champion is chosen on validation accuracy"
        )
    # bad input stops here, before any training, MLflow run or model version: a split that cannot choose a
    # champion or ever pass the classifier gate
    validation_labels = labels[split.validation]
    cfg.gate.check_split(
        int(np.sum(validation_labels == LIQUID)),
        int(np.sum(validation_labels == GLASS)),
        where=(
            f"the validation split of {system} ({len(set(samples.tolist()))} quench runs, cnn.split_fractions "
            f"{list(cfg.split_fractions)})"
        ),
    )
    client = mlflow_tracking.activate()
    experiment_id = mlflow_tracking.experiment_id(EXPERIMENT)
    temps = get_system(system).temperatures
    with mlflow.start_run(experiment_id=experiment_id, run_name=f"{system}-{context.run.run_id[:8]}") as run:
        mlflow.set_tags(
            {
                "system": system,
                "profile": profile.name,
                "dagster_run_id": context.run.run_id,
                "data.partitions": json.dumps([f"{system}|{temps['liquid']!r}", f"{system}|{temps['glass']!r}"]),
                "data.warehouse": warehouse.path,
                "code_version": code_version_tag(CNN_CODE_VERSION),
            }
        )
        mlflow.log_params(
            {
                "input_kind": cfg.input_kind,
                "n_channels": gridding.n_channels,
                "grid": cfg.grid,
                "kernel_width": cfg.kernel_width,
                "epochs": cfg.epochs,
                "batch_size": cfg.batch_size,
                "learning_rate": cfg.learning_rate,
                **split_parameters(cfg),
                "conv_channels": json.dumps(list(cfg.conv_channels)),
                "hidden": cfg.hidden,
                "dropout": cfg.dropout,
                "kernel_size": cfg.kernel_size,
                "head": cfg.head,
                "weight_decay": cfg.weight_decay,
                "standardise": cfg.standardise,
                "augment": cfg.augment,
                "validate_every": cfg.validate_every,
                "n_particles": configs[0].n_particles,
                "t_liquid": temps["liquid"],
                "t_glass": temps["glass"],
                "n_train": len(split.train),
                "n_validation": len(split.validation),
                "n_test": len(split.test),
                "selection_metric": SELECTION_METRIC,
                "gate_accuracy": cfg.gate_accuracy,
                "min_validation_per_class": cfg.min_validation_per_class,
            }
        )
        frames, queries = image_rows(system, keys, labels, split)  # the quenched configurations behind the images
        log_training_datasets(frames, name=f"cnn_images_{system}", source=warehouse.path, queries=queries,
                              targets="label")

        def on_epoch(record) -> None:  # noqa: ANN001 - glass_core.learning.cnn.EpochRecord
            values = {
                "train_loss": record.train_loss,
                "train_accuracy": record.train_accuracy,
                "validation_loss": record.validation_loss,
                "validation_accuracy": record.validation_accuracy,
            }
            # epochs without a validation pass (cnn.validate_every) log the training metrics only
            mlflow.log_metrics({k: v for k, v in values.items() if np.isfinite(v)}, step=record.epoch)
            if record.epoch % 10 == 0 or record.epoch == cfg.epochs:
                context.log.info(
                    f"epoch {record.epoch}/{cfg.epochs}: loss {record.train_loss:.4f}, "
                    f"validation accuracy {record.validation_accuracy:.3f}"
                )

        scratch = training_scratch(study.scratch_dir, "cnn_classifier", system)
        launched = train_with_settings(simulation, scratch, profile.compute, images, labels, split, cfg, on_epoch,
                                       context.log)
        mlflow.log_params({"device": launched.device, "training_threads": launched.threads})
        trained = launched.result
        # the final model on both held-out subsets; only validation chooses the champion
        validation = evaluate(trained.model, images[split.validation], labels[split.validation])
        test = evaluate(trained.model, images[split.test], labels[split.test])
        accuracies = split_accuracies(validation, "validation") | split_accuracies(test, "test")
        classifier = GatedClassifier(accuracies["validation"], cfg.gate, f"{system} CNN")
        # every accuracy with its n, binomial SE and Wilson interval (2 SE); the gate's verdict as a 0/1 metric
        metrics = accuracy_metrics(accuracies) | {"classifier_resolved": float(classifier.resolved)}
        mlflow.log_metrics(metrics, step=cfg.epochs)
        mlflow.set_tag("classifier_status", classifier.status)
        fractions = {k: v for k, v in metrics.items() if k.startswith(("validation_accuracy", "test_accuracy"))}
        # before the model is logged and registered: a rejected network never becomes a model version
        checks = evaluate_before_commit(
            CNN_CHECKS,
            context,
            history=trained.history,
            metrics=fractions,
            split_labels={
                "train": labels[split.train], "validation": labels[split.validation], "test": labels[split.test]
            },
            classifier=classifier,
        )
        mlflow.log_dict(
            {"rows": ["liquid", "glass"], "columns": ["liquid", "glass"], "counts": test.confusion.tolist()},
            "confusion_matrix.json",
        )
        mlflow.log_dict({name: [list(keys[i]) for i in rows] for name, rows in asdict(split).items()}, "split.json")
        curve = plots.training_curves(trained.history, f"{system} CNN")
        mlflow.log_figure(curve, "training_curves.png")
        example = images[split.test[:2]]
        signature = infer_signature(example, trained.model(torch.from_numpy(example)).detach().numpy())
        logged = mlflow.pytorch.log_model(
            trained.model, name="model", signature=signature, input_example=example, serialization_format="pickle"
        )
        version = mlflow.register_model(logged.model_uri, model_name(system)).version
        client.set_model_version_tag(model_name(system), version, "classifier_status", classifier.status)
        client.set_model_version_tag(
            model_name(system), version, "validation_accuracy", accuracies["validation"].text()
        )
        alias, previous = promote_if_not_worse(
            client, model_name(system), version, SELECTION_METRIC, min_per_class=cfg.min_validation_per_class
        )
    context.log.info(
        f"{model_name(system)} v{version} ({cfg.input_kind} input, {cfg.head} head): validation accuracy "
        f"{accuracies['validation'].text()} → alias {alias}; test accuracy {accuracies['test'].text()} (reported, "
        "not used to choose)"
    )
    if not classifier.resolved:
        context.log.warning(f"{classifier.describe()}: {classifier.no_finding()}")
    return MaterializeResult(
        check_results=checks,
        metadata={
            # every accuracy with its binomial SE and its n (the Wilson intervals are in the `accuracies` table)
            **{k: float(v) for k, v in metrics.items() if not k.endswith(("_wilson_low", "_wilson_high"))},
            "accuracies": MetadataValue.md(plots.accuracy_markdown(accuracies, cfg.gate)),
            **classifier.metadata(),
            "confusion_matrix": MetadataValue.md(plots.confusion_markdown(test.confusion)),
            "mlflow_run": MetadataValue.url(mlflow_tracking.ui_link(experiment_id, run.info.run_id)),
            "mlflow_run_id": run.info.run_id,
            "model": f"{model_name(system)} v{version}",
            "alias": alias,
            "selection_metric": SELECTION_METRIC,
            "previous_champion_validation_accuracy": previous if previous is not None else float("nan"),
            "input_kind": cfg.input_kind,
            "head": cfg.head,
            "n_train": len(split.train),
            "n_validation": len(split.validation),
            "n_test": len(split.test),
            **figure_metadata(curve, study.plot_path("cnn_classifier", f"{system}_training.png")),
        },
    )


def grad_cam_scores(
    context: AssetExecutionContext, study: StudySettings, warehouse: WarehouseResource, mlflow_tracking: MLflowResource
) -> MaterializeResult:
    """Grad-CAM Γ per particle of the correctly classified test configurations, from the champion CNN, raw and
    coarse-grained."""
    system = context.partition_key
    model, params, version = load_champion_cnn(mlflow_tracking, system)
    profile = study.load()
    # the gate of this profile on the champion's logged validation accuracy: below it Γ is kept, marked, no finding
    classifier = champion_gate(
        profile.cnn, params, champion_metrics(mlflow_tracking, system), f"{model_name(system)} v{version}"
    )
    if not classifier.resolved:
        context.log.warning(f"{classifier.describe()}: {classifier.no_finding()}")
    configs, labels, samples, keys = labelled_configurations(warehouse.get(), system)
    gridding = logged_gridding(system, params)
    fractions, seed = logged_split(params)
    split = deterministic_split(samples, fractions, seed)
    xi = profile.coarse_graining_length
    started = time.perf_counter()
    rows, accuracy = [], {}
    for label in (GLASS, LIQUID):
        chosen = [i for i in split.test if labels[i] == label]
        result = grad_cam_particles(model, [configs[i] for i in chosen], gridding, target_class=label,
                                    device=profile.compute.device)
        correct = [k for k, i in enumerate(chosen) if result.cam.predictions[k] == label]
        accuracy[LABELS[label]] = Accuracy.of(result.cam.predictions, [label] * len(chosen))
        for k in correct:
            i = chosen[k]
            config, gamma = configs[i], result.scores[k]
            temperature, sample = keys[i]
            n = config.n_particles
            rows.append(
                pl.DataFrame(
                    {
                        "system": [system] * n,
                        "temperature": [temperature] * n,
                        "ensemble": [ENSEMBLE] * n,
                        "sample": [sample] * n,
                        "particle": np.arange(n, dtype=np.int32),
                        "label": [LABELS[label]] * n,
                        "gamma": gamma,
                        "gamma_cg": normalised_coarse_grained(config, gamma, xi),
                        "model_name": [model_name(system)] * n,
                        "model_version": [str(version)] * n,
                        "classifier_status": [classifier.status] * n,
                        "classifier_accuracy": [classifier.accuracy.value] * n,
                        "classifier_n": [classifier.accuracy.n] * n,
                    }
                )
            )
    if not rows:
        raise ValueError(f"the champion {model_name(system)} v{version} classifies no test configuration correctly")
    table = pl.concat(rows)
    seconds = time.perf_counter() - started
    checks = evaluate_before_commit(
        GRAD_CAM_CHECKS,
        context,
        rejected={"grad_cam": table},
        quarantine_root=study.quarantine_root(),
        grad_cam=table,
        classifier=classifier,
    )
    written = warehouse.get().replace_partition({"system": system}, {"grad_cam": table})
    glass_row = table.filter(pl.col("label") == "glass")
    return MaterializeResult(
        check_results=checks,
        metadata={
            "model": f"{model_name(system)} v{version}",
            **classifier.metadata(),
            "rows_written": MetadataValue.json(written),
            "n_glass_configurations": glass_row["sample"].n_unique(),
            "n_liquid_configurations": table.filter(pl.col("label") == "liquid")["sample"].n_unique(),
            **{
                f"test_accuracy_{name}{suffix}": value
                for name, fraction in accuracy.items()
                for suffix, value in (
                    ("", float(fraction.value)),
                    ("_stderr", stderr_metadata(fraction.stderr)),  # binomial √(p(1 − p)/n)
                    ("_n", fraction.n),
                    ("_wilson", "{:.3f}–{:.3f}".format(*fraction.interval())),
                )
            },
            "seconds_per_configuration": seconds / max(len(split.test), 1),
        },
    )


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


STRUCTURAL_DESCRIPTORS = AssetTemplate(
    body=structural_descriptors,
    profile_settings=("descriptors.coarse_graining_length",),
    partitioned_by="quench",
    upstream=(Upstream("quenched_ensembles"),),
    checks=DESCRIPTOR_CHECKS,
    kinds=frozenset({"freud", "duckdb"}),
    group_name="liquid_glass",
    code_version=DESCRIPTORS_CODE_VERSION,
)


CNN_CLASSIFIER = AssetTemplate(
    body=cnn_classifier,
    profile_settings=("cnn",),
    partitioned_by=PER_SYSTEM,
    upstream=(Upstream("quenched_ensembles"),),
    checks=CNN_CHECKS,
    kinds=frozenset({"pytorch", "mlflow"}),
    group_name="liquid_glass",
    code_version=CNN_CODE_VERSION,
)


GRAD_CAM_SCORES = AssetTemplate(
    body=grad_cam_scores,
    profile_settings=("cnn", "descriptors.coarse_graining_length"),
    partitioned_by=PER_SYSTEM,
    upstream=(Upstream("cnn_classifier"), Upstream("structural_descriptors")),
    checks=GRAD_CAM_CHECKS,
    kinds=frozenset({"pytorch", "duckdb"}),
    group_name="liquid_glass",
    code_version=GRAD_CAM_CODE_VERSION,
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
