"""``grad_cam_scores`` [O]: Grad-CAM Γ per particle of the correctly classified test configurations, from the
champion CNN, raw and coarse-grained, marked with the classifier gate's verdict."""

import time

import numpy as np
import polars as pl
from dagster import (
    AssetExecutionContext,
    MaterializeResult,
    MetadataValue,
)

from glass_assets.checks import evaluate_before_commit
from glass_assets.graph import PER_SYSTEM, AssetTemplate, Upstream
from glass_assets.liquid_glass.assets import ENSEMBLE
from glass_assets.liquid_glass.checks import GRAD_CAM_CHECKS
from glass_assets.plots import stderr_metadata
from glass_assets.registry.cnn_split import (
    champion_gate,
    labelled_configurations,
    logged_gridding,
    logged_split,
)
from glass_assets.registry.tracking import (
    MLflowResource,
    champion_metrics,
    load_champion_cnn,
    model_name,
)
from glass_assets.resources import StudySettings, WarehouseResource
from glass_assets.versioning import GRAD_CAM_CODE_VERSION
from glass_core.learning.cnn import (
    GLASS,
    LIQUID,
    deterministic_split,
)
from glass_core.learning.grad_cam import grad_cam_particles
from glass_core.models.statistics import Accuracy
from glass_core.structure.indicators import normalised_coarse_grained

LABELS = {LIQUID: "liquid", GLASS: "glass"}


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
