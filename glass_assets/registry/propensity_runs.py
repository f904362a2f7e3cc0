"""How the propensity trainings (GlassMLP [G], tGlassMLP [J]) are laid out in MLflow for comparing the two models.

- one run per training in experiment ``propensity_learning`` (tag ``level = training``): parameters under the same
  names for both kinds whose values say what differs (``model_kind``, ``n_networks``, ``networks``, ``first_loss``,
  the schedules, ``training_temperatures``, ``held_out_temperature``, ``particle_types``, ``distillation``), and
  only metrics both kinds have (:data:`TRAINING_METRICS`, the loss curves ``train_loss``/``validation_loss`` of the
  registered networks, :func:`log_history`); what one kind alone has (each GlassMLP network's and each distillation
  network's loss curve, the attention diagnostics) goes to tables (``loss_history.json``,
  ``attention_by_state_point.json``);
- one run per scored state point in experiment ``propensity_learning_by_state_point`` (tags ``level = state_point``
  and ``training_run_id``) with ``model_kind``, ``temperature``, ``target_cb`` as parameters and the same metric
  names for both kinds (:data:`STATE_POINT_METRICS`), so MLflow's *Compare* of these runs is GlassMLP against
  tGlassMLP per state point, with no metric that one kind lacks (:func:`log_state_point_runs`,
  :func:`side_by_side`). They are an experiment of their own, not nested runs: MLflow's runs table selects a
  collapsed parent without its children, so "select all, Compare" on nested runs compares the trainings; here it
  compares the state points (open the experiment, tick all, *Compare*).

The training run's parameters are written by :func:`glass_assets.propensity_learning.training_runs.run_params`.
"""

import time
from collections import defaultdict
from collections.abc import Callable

import mlflow
import numpy as np
import polars as pl
from dagster import AssetExecutionContext
from mlflow.entities import Metric, Param

from glass_assets.registry.tracking import MLflowResource
from glass_core.learning.mlp_training import EpochRecord

__all__ = [
    "EXPERIMENT",
    "SELECTION_METRIC",
    "STATE_POINT_EXPERIMENT",
    "STATE_POINT_METRICS",
    "StatePointRuns",
    "TRAINING_METRICS",
    "comparison_runs",
    "log_history",
    "log_state_point_runs",
    "side_by_side",
    "start_run",
    "training_metrics",
]

EXPERIMENT = "propensity_learning"
#: one run per (training, state point), for MLflow's Compare of the two model kinds per state point
STATE_POINT_EXPERIMENT = "propensity_learning_by_state_point"
SELECTION_METRIC = "validation_pearson_mean"
#: metrics of a training run, the same for both kinds (with the loss curves train_loss, validation_loss)
TRAINING_METRICS = (SELECTION_METRIC, "test_pearson_mean", "n_state_points", "n_networks_trained", "n_networks_kept")
#: metrics of a state-point run, the same for both kinds
STATE_POINT_METRICS = (
    "validation_pearson",
    "test_pearson",
    "test_pearson_stderr",
    "test_configurations",
    "test_cb_error",
    "best_descriptor_test_pearson",
)


def log_history(history: list[EpochRecord], final_stages: Callable[[str], bool]) -> None:
    """The loss curves: ``train_loss``/``validation_loss`` per epoch, averaged over the networks of the stages
    ``final_stages`` accepts (those the registered model is made of), as metric histories both kinds share; every
    record of every network and stage as the table ``loss_history.json``."""
    grouped: dict[int, list[EpochRecord]] = defaultdict(list)
    for record in history:
        if final_stages(record.stage):
            grouped[record.epoch].append(record)
    now = int(time.time() * 1000)
    metrics = []
    for epoch, records in sorted(grouped.items()):
        for kind in ("train_loss", "validation_loss"):
            values = np.array([getattr(r, kind) for r in records], dtype=np.float64)
            if np.isfinite(values).any():
                metrics.append(Metric(kind, float(np.nanmean(values)), now, epoch))
    client, run_id = mlflow.MlflowClient(), mlflow.active_run().info.run_id
    for start in range(0, len(metrics), 900):
        client.log_batch(run_id, metrics=metrics[start : start + 900])
    if history:
        table = pl.DataFrame([{k: getattr(r, k) for k in ("stage", "member", "epoch", "loss", "learning_rate",
                                                          "train_loss", "validation_loss", "selected")}
                              for r in history])
        mlflow.log_table(table.to_pandas(), "loss_history.json")


def training_metrics(scores: list[dict[str, object]], predictor: str, label: str) -> dict[str, float]:
    """The mean validation and test Pearson of the model's own subset over its state points (the selection
    metric: validation) and the number of state points."""
    out: dict[str, float] = {}
    for split, name in (("validation", SELECTION_METRIC), ("test", "test_pearson_mean")):
        values = [r["pearson"] for r in scores if r["predictor"] == predictor and r["split"] == split
                  and r["subset"] == label and r["pearson"] is not None]
        out[name] = float(np.nanmean(values)) if values else float("nan")
    out["n_state_points"] = float(len({(r["temperature"], r["target_cb"]) for r in scores
                                       if r["predictor"] == predictor}))
    return out


def _state_point_metrics(
    scores: list[dict[str, object]], predictor: str, label: str, cb_error: float | None
) -> dict[str, float]:
    """:data:`STATE_POINT_METRICS` of one state point's score rows (the model's own particle subset; type A beside it,
    ``…_A``, where the model learns several types); undefined values are left out, never logged as NaN."""
    def row(who: Callable[[str], bool], split: str, subset: str) -> dict[str, object] | None:
        found = [r for r in scores if who(str(r["predictor"])) and r["split"] == split and r["subset"] == subset]
        return found[0] if found else None

    out: dict[str, object] = {}
    for subset, suffix in [(label, "")] + ([("A", "_A")] if label != "A" else []):
        validation = row(lambda p: p == predictor, "validation", subset)
        test = row(lambda p: p == predictor, "test", subset)
        best = row(lambda p: p.startswith("best_descriptor"), "test", subset)
        out[f"validation_pearson{suffix}"] = validation and validation["pearson"]
        out[f"test_pearson{suffix}"] = test and test["pearson"]
        out[f"test_pearson_stderr{suffix}"] = test and test["stderr"]
        out[f"best_descriptor_test_pearson{suffix}"] = best and best["pearson"]
        if subset == label:
            out["test_configurations"] = test and test["n_configurations"]
    out["test_cb_error"] = cb_error
    return {k: float(v) for k, v in out.items() if v is not None and np.isfinite(float(v))}


def _state_point_name(kind: str, temperature: float, cb: float) -> str:
    """``T=0.7 cb=0.37 glassmlp``: state point first, so sorting by name puts the two models of it side by side."""
    return f"T={temperature:g} cb={cb:g} {kind}"


StatePointRuns = dict[tuple[float, float], str]


def log_state_point_runs(
    mlflow_tracking: MLflowResource, kind: str, label: str, scores: list[dict[str, object]],
    cb_errors: dict[tuple[float, float], float], n_networks: int, tags: dict[str, str],
) -> StatePointRuns:
    """One run per state point the model was scored at, in experiment :data:`STATE_POINT_EXPERIMENT`, tagged with
    the active training run (module doc): (T, ⟨C_B⟩) → run id."""
    client, training = mlflow.MlflowClient(), mlflow.active_run()
    experiment_id = mlflow_tracking.experiment_id(STATE_POINT_EXPERIMENT)
    points = sorted({(float(r["temperature"]), float(r["target_cb"])) for r in scores if r["predictor"] == kind})
    runs = {}
    for temperature, cb in points:
        rows = [r for r in scores if (r["temperature"], r["target_cb"]) == (temperature, cb)]
        run = client.create_run(experiment_id, run_name=_state_point_name(kind, temperature, cb), tags={
            **tags, "level": "state_point", "training_run_id": training.info.run_id,
            "training_run_name": training.info.run_name or "",
        })
        params = {"model_kind": kind, "temperature": temperature, "target_cb": cb, "particle_types": label,
                  "state_point": f"T={temperature:g}, <C_B>={cb:g}", "n_networks": n_networks}
        metrics = _state_point_metrics(rows, kind, label, cb_errors.get((temperature, cb)))
        now = int(time.time() * 1000)
        client.log_batch(run.info.run_id, metrics=[Metric(k, v, now, 0) for k, v in metrics.items()],
                         params=[Param(k, str(v)) for k, v in params.items()])
        client.set_terminated(run.info.run_id)
        runs[(temperature, cb)] = run.info.run_id
    mlflow.set_tag("state_point_runs", f"experiment {STATE_POINT_EXPERIMENT}: tags.training_run_id = "
                                       f"'{training.info.run_id}'")
    return runs


def comparison_runs(mlflow_tracking: MLflowResource, system: str, kind: str) -> StatePointRuns:
    """The state-point runs of the newest training of ``kind`` for ``system``: (T, ⟨C_B⟩) → run id (none: empty)."""
    client = mlflow_tracking.activate()
    newest = client.search_runs(
        [mlflow_tracking.experiment_id(EXPERIMENT)],
        f"tags.level = 'training' and tags.model_kind = '{kind}' and tags.system = '{system}'",
        order_by=["attributes.start_time DESC"], max_results=1,
    )
    if not newest:
        return {}
    runs = client.search_runs([mlflow_tracking.experiment_id(STATE_POINT_EXPERIMENT)],
                              f"tags.training_run_id = '{newest[0].info.run_id}'", max_results=500)
    return {(float(r.data.params["temperature"]), float(r.data.params["target_cb"])): r.info.run_id for r in runs}


def side_by_side(glassmlp: StatePointRuns, tglassmlp: StatePointRuns) -> list[str]:
    """Run ids for MLflow's *Compare*, one column per run: per state point (warmest, least relaxed first) GlassMLP
    then tGlassMLP, so the two models of a state point stand next to each other."""
    points = sorted(set(glassmlp) | set(tglassmlp), key=lambda p: (-p[0], -p[1]))
    return [runs[p] for p in points for runs in (glassmlp, tglassmlp) if p in runs]


def start_run(
    mlflow_tracking: MLflowResource, context: AssetExecutionContext, kind: str, system: str
) -> tuple[str, mlflow.ActiveRun]:
    mlflow_tracking.activate()
    experiment_id = mlflow_tracking.experiment_id(EXPERIMENT)
    return experiment_id, mlflow.start_run(
        experiment_id=experiment_id, run_name=f"{kind}-{system}-{context.run.run_id[:8]}"
    )
