"""MLflow tracking and registry: a small resource that calls mlflow directly, and the alias rule.

The tracking store is a SQLite database (the registry needs a database store) with artifacts next to it,
both under ``mlruns/``. Model versions are promoted with aliases, not stages: ``champion`` moves to a new
version only when its selection metric is at least the current champion's; otherwise the new version becomes
``challenger``. The selection metric is measured on validation data; a test metric (name starting with
``test``) is refused, so test data are reported and never used to choose a model. With ``min_per_class`` the
choice also needs a validation split of at least that many images of each class (the run's
``validation_n_liquid`` / ``validation_n_glass`` metrics): a smaller one is refused, and a champion chosen on
a smaller one (or before the counts were logged) is no incumbent, so a version with a large enough split takes
the alias whatever the old accuracy was.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import quote

import mlflow
from dagster import ConfigurableResource
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

from glass_assets.faults import fault_point
from glass_assets.paths import REPO_ROOT
from glass_assets.provenance import record_model

__all__ = [
    "MLflowResource",
    "champion_metrics",
    "champion_params",
    "load_champion_cnn",
    "model_name",
    "promote_if_not_worse",
]

#: the experiment tag MLflow 3's UI reads to choose between its GenAI and its classic ML view
EXPERIMENT_KIND_TAG = "mlflow.experimentKind"
EXPERIMENT_KIND = "custom_model_development"


#: where ``mlflow ui`` / ``mlflow server`` serves by default; ``GLASS_MLFLOW_UI_URL`` names another address
DEFAULT_UI_URL = "http://127.0.0.1:5000"
#: MLflow 3's UI opens an experiment in its GenAI view unless told otherwise; these runs are classic ML training
ML_VIEW = "workflowType=machine_learning"


class MLflowResource(ConfigurableResource):
    """Where MLflow keeps runs (``tracking_uri``) and artifacts (``artifact_root``), and the address of the MLflow
    UI that serves them (``ui_url``, for the links in Dagster's metadata)."""

    tracking_uri: str = f"sqlite:///{REPO_ROOT / 'mlruns' / 'mlflow.db'}"
    artifact_root: str = str(REPO_ROOT / "mlruns" / "artifacts")
    ui_url: str = DEFAULT_UI_URL

    def activate(self) -> MlflowClient:
        """Point the mlflow module at this store and return a client for the registry."""
        if self.tracking_uri.startswith("sqlite:///"):
            Path(self.tracking_uri.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        mlflow.set_tracking_uri(self.tracking_uri)
        mlflow.set_registry_uri(self.tracking_uri)
        return MlflowClient(self.tracking_uri, self.tracking_uri)

    def experiment_id(self, name: str) -> str:
        """The id of experiment ``name``, created with artifacts under ``artifact_root`` if new."""
        client = self.activate()
        experiment = client.get_experiment_by_name(name)
        if experiment is None:
            experiment_id = client.create_experiment(name, artifact_location=Path(self.artifact_root, name).as_uri())
        else:
            experiment_id = experiment.experiment_id
        if experiment is None or EXPERIMENT_KIND_TAG not in experiment.tags:
            client.set_experiment_tag(experiment_id, EXPERIMENT_KIND_TAG, EXPERIMENT_KIND)
        return experiment_id

    def ui_link(self, experiment_id: str, run_id: str) -> str:
        """The run's page in the MLflow UI at ``ui_url``, in the classic ML view."""
        return f"{self.ui_url.rstrip('/')}/#/experiments/{experiment_id}/runs/{run_id}?{ML_VIEW}"

    def compare_link(self, experiment_ids: list[str], run_ids: list[str]) -> str:
        """MLflow's *Compare* page of ``run_ids`` (runs as columns, parameters and metrics as rows)."""
        runs, experiments = quote(json.dumps(run_ids)), quote(json.dumps(sorted(set(experiment_ids))))
        return f"{self.ui_url.rstrip('/')}/#/compare-runs?runs={runs}&experiments={experiments}&{ML_VIEW}"


#: run metrics holding the validation images of each class (logged by the CNN assets)
VALIDATION_COUNTS = ("validation_n_liquid", "validation_n_glass")


def promote_if_not_worse(
    client: MlflowClient, model_name: str, version: str, metric: str, min_per_class: int | None = None
) -> tuple[str, float | None]:
    """Give ``version`` the ``champion`` alias if its run's ``metric`` ≥ the champion's; else ``challenger``.

    Returns the alias given and the previous champion's metric (None when there was no champion). A test
    metric is refused: choosing on test data would make the test score a biased estimate of the chosen
    model's accuracy. With ``min_per_class``, a run whose validation split holds fewer images of a class is
    refused (no alias is set), and a champion chosen on such a split is replaced.
    """
    if metric.startswith("test"):
        raise ValueError(f"refusing to choose the champion on {metric!r}: select on validation data, report test")
    record_model(client, model_name, version)  # provenance: the step's profile and settings on the version
    fault_point("mlflow_registration")  # crash tests: a version registered, no alias yet
    new_run = client.get_model_version(model_name, version).run_id
    if min_per_class is not None:
        counts = _validation_counts(client, new_run)
        if counts is None or min(counts) < min_per_class:
            raise ValueError(
                f"refusing to choose the champion of {model_name} on version {version}: its validation split holds "
                f"{_counts_text(counts)}, fewer than cnn.min_validation_per_class = {min_per_class} of each class"
            )
    new_value = _run_metric(client, new_run, metric)
    try:
        champion = client.get_model_version_by_alias(model_name, "champion")
    except MlflowException:
        champion = None
    old_value = _run_metric(client, champion.run_id, metric) if champion else None
    incumbent = champion is not None
    if champion is not None and min_per_class is not None:
        old_counts = _validation_counts(client, champion.run_id)
        incumbent = old_counts is not None and min(old_counts) >= min_per_class
    alias = "champion" if not incumbent or old_value is None or new_value >= old_value else "challenger"
    client.set_registered_model_alias(model_name, alias, version)
    return alias, old_value


def _validation_counts(client: MlflowClient, run_id: str) -> tuple[int, int] | None:
    """(liquid, glass) validation images of a run; ``None`` if it did not log them."""
    metrics = client.get_run(run_id).data.metrics
    if not all(name in metrics for name in VALIDATION_COUNTS):
        return None
    return int(metrics[VALIDATION_COUNTS[0]]), int(metrics[VALIDATION_COUNTS[1]])


def _counts_text(counts: tuple[int, int] | None) -> str:
    return "no logged counts" if counts is None else f"{counts[0]} liquid and {counts[1]} glass images"


def _run_metric(client: MlflowClient, run_id: str, metric: str) -> float:
    metrics = client.get_run(run_id).data.metrics
    if metric not in metrics:
        raise ValueError(f"run {run_id} has no metric {metric!r} to compare models by")
    return float(metrics[metric])


def model_name(system: str) -> str:
    """The registered MLflow model of the liquid-versus-glass CNN of ``system``: ``glass_cnn_<system>``."""
    return f"glass_cnn_{system}"


def load_champion_cnn(tracking: MLflowResource, system: str) -> tuple[Any, dict[str, str], str]:
    """(model, its run's logged parameters, version) of the ``champion`` alias of :func:`model_name`."""
    client = tracking.activate()
    version = client.get_model_version_by_alias(model_name(system), "champion")
    params = client.get_run(version.run_id).data.params
    model = mlflow.pytorch.load_model(f"models:/{model_name(system)}@champion")
    return model, params, version.version


def champion_params(tracking: MLflowResource, system: str) -> dict[str, str] | None:
    """The logged parameters of the ``champion`` CNN's run (its split among them); ``None`` without a champion."""
    client = tracking.activate()
    try:
        version = client.get_model_version_by_alias(model_name(system), "champion")
    except MlflowException:
        return None
    return client.get_run(version.run_id).data.params


def champion_metrics(tracking: MLflowResource, system: str) -> dict[str, float]:
    """The logged metrics (last values) of the ``champion`` CNN's run: accuracies, their counts and intervals."""
    client = tracking.activate()
    version = client.get_model_version_by_alias(model_name(system), "champion")
    return dict(client.get_run(version.run_id).data.metrics)
