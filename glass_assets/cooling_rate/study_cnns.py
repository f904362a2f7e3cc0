"""The cooling-rate study's CNNs [O]: one liquid/glass CNN per ``cnn_inputs`` kind (global-average head), trained on
the system's T_L / T_G quenched ensembles and logged to MLflow (experiment ``cooling_rate_study_cnn``, not
registered), or reused from a run logged with the same data, settings and code (tag ``study_cnn_key``); and the
rows of ``cooling_rate_cnns``: each CNN's accuracies with the classifier gate's verdict."""

import dataclasses
import hashlib
import json
import time

import mlflow
import numpy as np
import polars as pl
import torch
from dagster import AssetExecutionContext
from mlflow import MlflowClient
from mlflow.models import infer_signature

from glass_assets.launchers import training_scratch
from glass_assets.profiles import CNNSettings, Profile
from glass_assets.registry.cnn_split import (
    GatedClassifier,
    accuracy_metrics,
    gridding_for,
    labelled_configurations,
    logged_accuracy,
    split_accuracies,
    split_parameters,
    train_with_settings,
)
from glass_assets.registry.tracking import MLflowResource
from glass_assets.registry.training_datasets import image_rows, log_training_datasets
from glass_assets.resources import SimulationLauncher
from glass_assets.versioning import CNN_CODE_VERSION, COOLING_RATE_CODE_VERSION
from glass_assets.warehouse import Warehouse
from glass_core.learning.cnn import GLASS, LIQUID, GlassCNN, deterministic_split, evaluate
from glass_core.models.configuration import Configuration
from glass_core.models.statistics import Accuracy
from glass_core.structure.gridding import Gridding

EXPERIMENT = "cooling_rate_study_cnn"


@dataclasses.dataclass(frozen=True)
class StudyCNN:
    """A liquid/glass CNN of one input kind trained for the study, with the gridding of its training box, its
    accuracies (k of n per subset and class: ``validation``, ``validation_glass``, ``test``, …) and the gate's
    verdict on its validation accuracy."""

    input_kind: str
    model: GlassCNN
    gridding: Gridding
    box_length: float
    accuracies: dict[str, Accuracy]
    classifier: GatedClassifier
    run_id: str
    n_particles: int = 0

    @property
    def validation_accuracy(self) -> float:
        return self.accuracies["validation"].value

    @property
    def test_accuracy(self) -> float:
        return self.accuracies["test"].value

    def gridding_at_box(self, box_length: float) -> Gridding:
        """The CNN's image map M for a square box of side ``box_length``: the training pixel size, grid G·L/L_train."""
        return self.gridding.at_box(self.box_length, box_length)


def train_study_cnns(
    context: AssetExecutionContext,
    profile: Profile,
    store: Warehouse,
    mlflow_tracking: MLflowResource,
    system: str,
    simulation: SimulationLauncher,
    scratch_dir: str,
) -> list[StudyCNN]:
    """One CNN per ``cnn_inputs`` kind on the T_L / T_G quenched ensembles, each an MLflow run (not registered:
    an instrument of this study, not a champion candidate)."""
    kinds = profile.cooling_rate_study.cnn_inputs
    if not kinds:
        return []
    configs, labels, samples, keys = labelled_configurations(store, system)
    split = deterministic_split(samples, profile.cnn.split_fractions, profile.cnn.seed)
    # bad input stops here, before any CNN is trained or glass quenched: a validation split that cannot pass the gate
    profile.cnn.gate.check_split(
        int(np.sum(labels[split.validation] == LIQUID)),
        int(np.sum(labels[split.validation] == GLASS)),
        where=(
            f"the study CNNs' validation split ({len(set(samples.tolist()))} quench runs of {system}, N = "
            f"{configs[0].n_particles}, cnn.split_fractions {list(profile.cnn.split_fractions)})"
        ),
    )
    study_n = profile.cooling_rate_study.n_particles
    if configs[0].n_particles != study_n:
        context.log.warning(
            f"the study CNNs train on the quench stage's N = {configs[0].n_particles} configurations of {system}, the "
            f"study's glasses hold N = {study_n}: Grad-CAM reads boxes unlike those it was trained on ([O] trains and "
            "explains at one size; the validation profile quenches the stage at the study's N)"
        )
    client = mlflow_tracking.activate()
    experiment_id = mlflow_tracking.experiment_id(EXPERIMENT)
    digest = configurations_digest(configs)
    cnns = []
    for kind in kinds:
        cnn = dataclasses.replace(profile.cnn, input_kind=kind, head="gap")
        gridding = gridding_for(system, cnn)
        key = study_cnn_key(system, cnn, digest)
        logged = _logged_study_cnn(client, experiment_id, key)
        if logged is not None:  # the same network: the training is deterministic for its data, settings and code
            model, accuracies, run_id = logged
            classifier = GatedClassifier(accuracies["validation"], cnn.gate, f"study CNN {kind}")
            context.log.info(
                f"study CNN {kind}: reusing MLflow run {run_id}, trained on the same configurations with the same "
                f"settings and code: validation accuracy {accuracies['validation'].text()}"
            )
            if not classifier.resolved:
                context.log.warning(f"{classifier.describe()}: {classifier.no_finding()}")
            box = float(configs[0].box[0])
            cnns.append(StudyCNN(kind, model, gridding, box, accuracies, classifier, run_id, configs[0].n_particles))
            continue
        images = gridding.images(configs)
        started = time.perf_counter()
        with mlflow.start_run(experiment_id=experiment_id, run_name=f"{system}-{kind}-{context.run.run_id[:8]}") as run:
            mlflow.set_tags(
                {
                    "system": system,
                    "profile": profile.name,
                    "dagster_run_id": context.run.run_id,
                    STUDY_CNN_KEY_TAG: key,
                }
            )
            mlflow.log_params(
                {
                    "input_kind": kind,
                    "head": cnn.head,
                    "grid": cnn.grid,
                    "kernel_width": cnn.kernel_width,
                    "epochs": cnn.epochs,
                    "batch_size": cnn.batch_size,
                    "learning_rate": cnn.learning_rate,
                    "validate_every": cnn.validate_every,
                    "n_particles": configs[0].n_particles,
                    "n_train": len(split.train),
                    "n_validation": len(split.validation),
                    "n_test": len(split.test),
                    "gate_accuracy": cnn.gate_accuracy,
                    **split_parameters(cnn),
                }
            )
            frames, queries = image_rows(system, keys, labels, split)  # the quenched configurations of the images
            log_training_datasets(frames, name=f"cnn_images_{system}", source=store.path, queries=queries,
                                  targets="label")
            def progress(record, kind=kind, cnn=cnn) -> None:  # noqa: ANN001 - glass_core.learning.cnn.EpochRecord
                if record.epoch % 10 == 0 or record.epoch == cnn.epochs:
                    context.log.info(
                        f"study CNN {kind}: epoch {record.epoch}/{cnn.epochs}, loss {record.train_loss:.4f}, "
                        f"train accuracy {record.train_accuracy:.3f}, validation accuracy "
                        f"{record.validation_accuracy:.3f}"
                    )
                    mlflow.log_metrics(
                        {
                            k: v
                            for k, v in (
                                ("train_loss", record.train_loss),
                                ("train_accuracy", record.train_accuracy),
                                ("validation_accuracy_epoch", record.validation_accuracy),
                            )
                            if np.isfinite(v)
                        },
                        step=record.epoch,
                    )

            scratch = training_scratch(scratch_dir, "cooling_rate_study", f"{system}_{kind}")
            launched = train_with_settings(simulation, scratch, profile.compute, images, labels, split, cnn, progress,
                                           context.log)
            mlflow.log_params({"device": launched.device, "training_threads": launched.threads})
            trained = launched.result
            validation = evaluate(trained.model, images[split.validation], labels[split.validation])
            test = evaluate(trained.model, images[split.test], labels[split.test])
            accuracies = split_accuracies(validation, "validation") | split_accuracies(test, "test")
            classifier = GatedClassifier(accuracies["validation"], cnn.gate, f"study CNN {kind}")
            seconds = time.perf_counter() - started
            mlflow.log_metrics(
                accuracy_metrics(accuracies) | {"classifier_resolved": float(classifier.resolved), "seconds": seconds}
            )
            mlflow.set_tag("classifier_status", classifier.status)
            example = images[split.test[:2]]
            signature = infer_signature(example, trained.model(torch.from_numpy(example)).detach().numpy())
            mlflow.pytorch.log_model(trained.model, name="model", signature=signature, serialization_format="pickle")
        context.log.info(
            f"study CNN {kind} (N = {configs[0].n_particles}, {len(split.train)} training images, {seconds:.0f} s): "
            f"validation accuracy {accuracies['validation'].text()}, test accuracy {accuracies['test'].text()}"
        )
        if not classifier.resolved:
            context.log.warning(f"{classifier.describe()}: {classifier.no_finding()}")
        cnns.append(
            StudyCNN(
                kind,
                trained.model,
                gridding,
                float(configs[0].box[0]),
                accuracies,
                classifier,
                run.info.run_id,
                configs[0].n_particles,
            )
        )
    return cnns


#: MLflow tag of a study CNN's run: what determines the trained network (:func:`study_cnn_key`)
STUDY_CNN_KEY_TAG = "study_cnn_key"
#: the accuracies a study CNN logs, read back when its run is reused
ACCURACY_KEYS = tuple(f"{subset}{label}" for subset in ("validation", "test") for label in ("", "_liquid", "_glass"))


def configurations_digest(configs: list[Configuration]) -> str:
    """sha256 of the configurations a CNN trains, validates and tests on, in order: positions, types and box."""
    digest = hashlib.sha256()
    for config in configs:
        for array in (config.positions, config.types, np.asarray(config.box)):
            digest.update(np.ascontiguousarray(array).tobytes())
    return digest.hexdigest()


def study_cnn_key(system: str, cnn: CNNSettings, digest: str) -> str:
    """Identity of a trained study CNN: its data (:func:`configurations_digest`), every ``cnn`` setting (input kind,
    head, network, optimisation, split, seed) and the code versions. Training is deterministic for these, so a
    run logged under the same key holds the same network and a resumed study reuses it instead of training again."""
    settings = {k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(cnn).items()}
    identity = {
        "system": system,
        "settings": settings,
        "data": digest,
        "code": [CNN_CODE_VERSION, COOLING_RATE_CODE_VERSION],
    }
    return hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()[:32]


def _logged_study_cnn(
    client: MlflowClient, experiment_id: str, key: str
) -> tuple[GlassCNN, dict[str, Accuracy], str] | None:
    """(model, accuracies, run id) of the newest finished study-CNN run with ``key``, if its counts were logged."""
    runs = client.search_runs(
        [experiment_id],
        filter_string=f"tags.{STUDY_CNN_KEY_TAG} = '{key}' and attributes.status = 'FINISHED'",
        order_by=["attributes.start_time DESC"],
        max_results=1,
    )
    if not runs:
        return None
    run = runs[0]
    accuracies = {name: logged_accuracy(run.data.metrics, run.data.params, name) for name in ACCURACY_KEYS}
    if accuracies["validation"].n == 0:
        return None
    return mlflow.pytorch.load_model(f"runs:/{run.info.run_id}/model"), accuracies, run.info.run_id


def study_cnn_rows(system: str, cnns: list[StudyCNN]) -> pl.DataFrame:
    """Rows of ``cooling_rate_cnns``: each study CNN's accuracy per subset and class, k of n, binomial SE and Wilson
    interval (2 SE), with the gate and its verdict."""
    rows = []
    for cnn in cnns:
        for subset, accuracy in cnn.accuracies.items():
            low, high = accuracy.interval(cnn.classifier.gate.z)
            rows.append(
                {
                    "system": system,
                    "cnn_input": cnn.input_kind,
                    "subset": subset,
                    "n_particles": cnn.n_particles,
                    "accuracy": accuracy.value if accuracy.n else None,
                    "n": accuracy.n,
                    "n_correct": accuracy.correct,
                    "stderr": accuracy.stderr,
                    "wilson_low": low,
                    "wilson_high": high,
                    "gate_accuracy": cnn.classifier.gate.threshold,
                    "classifier_status": cnn.classifier.status,
                    "mlflow_run_id": cnn.run_id,
                }
            )
    schema = {"accuracy": pl.Float64, "stderr": pl.Float64, "n_particles": pl.Int32, "n": pl.Int32}
    schema |= {"n_correct": pl.Int32, "mlflow_run_id": pl.String}
    if not rows:
        return pl.DataFrame(schema={"system": pl.String, "cnn_input": pl.String, "subset": pl.String, **schema})
    return pl.DataFrame(rows, schema_overrides=schema)
