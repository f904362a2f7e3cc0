"""grad_cam_dynamics on a crafted warehouse: training glasses left out, NULL at t = 0, curve ± SE, per-glass maxima."""

import json

import mlflow
import numpy as np
import polars as pl
import pytest
import torch

from glass_assets.dynamics.assets import label_tables
from glass_assets.dynamics.grad_cam_dynamics import GRAD_CAM_DYNAMICS
from glass_assets.graph import materialize_templates
from glass_assets.registry.cnn_split import cnn_subsets
from glass_assets.registry.tracking import MLflowResource, model_name
from glass_assets.resources import StudySettings, WarehouseResource
from glass_assets.tables import particle_rows, sample_row
from glass_assets.warehouse import Warehouse, ensemble_key
from glass_core.dynamics.propensity import PropensityLabels
from glass_core.learning.cnn import GLASS, GlassCNN
from glass_core.models.systems import get_system
from tests.helpers.configurations import gaussian_jittered_lattice
from tests.helpers.propensity import labels_from

SAMPLES = list(range(6))
SPLIT = (0.5, 0.17, 0.33)


def always_glass_champion(tracking: MLflowResource, validation: tuple[int, int] | None = None) -> None:
    """Register a small random CNN whose output bias makes every image a glass, as ``champion``; with
    ``validation`` = (correct, n) its run logs that validation accuracy (else none: accuracy unknown)."""
    torch.manual_seed(3)
    model = GlassCNN(2, 16, conv_channels=(4, 4, 4), hidden=8, dropout=0.0)
    with torch.no_grad():
        model.head[-1].bias.copy_(torch.tensor([-50.0, 50.0]) if GLASS == 1 else torch.tensor([50.0, -50.0]))
    client = tracking.activate()
    with mlflow.start_run(experiment_id=tracking.experiment_id("crafted")) as run:
        mlflow.log_params({"grid": 16, "kernel_width": 0.4, "split_seed": 0, "split_fractions": json.dumps(SPLIT)})
        if validation is not None:
            mlflow.log_metrics({"validation_accuracy": validation[0] / validation[1], "validation_n": validation[1]})
        logged = mlflow.pytorch.log_model(model, name="model", serialization_format="pickle")
    version = mlflow.register_model(logged.model_uri, model_name("abm")).version
    client.set_registered_model_alias(model_name("abm"), "champion", version)
    assert run.info.run_id


def crafted_labels(rng: np.random.Generator, n: int, n_frames: int = 5) -> PropensityLabels:
    times = np.arange(n_frames, dtype=np.float64)
    crsd = rng.uniform(0.1, 1.0, (n_frames, n)) * times[:, None]  # frame 0: Δ = 0, constant
    return labels_from(crsd, np.ones((n_frames, n)), n_bonds=6, box=(1.0, 1.0), system="abm", temperature=1.0)


@pytest.fixture
def crafted_warehouse(tmp_path, one_torch_thread, request):
    store = Warehouse(tmp_path / "w.duckdb")
    system = get_system("abm")
    rng = np.random.default_rng(5)
    for temperature in (system.temperatures["liquid"], system.temperatures["glass"]):
        key = ensemble_key("abm", temperature, "quenched")
        configs = {s: gaussian_jittered_lattice(system, 8, rng, jitter=0.1) for s in SAMPLES}
        store.replace_partition(
            key,
            {
                "samples": pl.DataFrame(
                    [sample_row(key, s, s, c.n_particles, c.box, -100.0) for s, c in configs.items()]
                ),
                "particles": pl.concat([particle_rows(key, s, c.positions, c.types) for s, c in configs.items()]),
            },
        )
    glass_key = ensemble_key("abm", system.temperatures["glass"], "quenched")
    labels = {s: crafted_labels(rng, 64) for s in SAMPLES}  # every glass, training ones included
    store.replace_partition(
        {"system": "abm", "temperature": 1.0}, label_tables(labels, glass_key, {"system": "abm", "temperature": 1.0})
    )
    tracking = MLflowResource(tracking_uri=f"sqlite:///{tmp_path / 'mlflow.db'}", artifact_root=str(tmp_path / "a"))
    always_glass_champion(tracking, getattr(request, "param", None))
    return store, {
        "study": StudySettings(scratch_dir=str(tmp_path / "s")),
        "warehouse": WarehouseResource(path=str(store.path)),
        "mlflow_tracking": tracking,
    }


def test_training_glasses_never_enter_and_nan_is_null(crafted_warehouse):
    store, resources = crafted_warehouse
    subsets = cnn_subsets({"liquid": SAMPLES, "glass": SAMPLES}, SPLIT, 0)
    trained = {s for s in SAMPLES if subsets[s] == "train"}
    held_out = set(SAMPLES) - trained
    assert trained and held_out  # the crafted case has both

    result = materialize_templates([GRAD_CAM_DYNAMICS], resources=resources, partition_key="abm")
    assert result.success
    rows = store.query("SELECT * FROM grad_cam_dynamics")
    assert set(rows["sample"].to_list()) == held_out
    assert not rows["in_training"].any()
    # frame 0 (Δ constant) is NULL, so SQL aggregates are numbers, never NaN
    assert rows.filter(pl.col("frame") == 0)["correlation"].null_count() == len(held_out)
    assert rows["correlation"].drop_nulls().is_nan().sum() == 0
    top = store.query("SELECT max(correlation) AS m FROM grad_cam_dynamics")["m"][0]
    assert top is not None and np.isfinite(top)

    # the mean curve carries SE and n over the held-out glasses, frame 0 left out
    curve = store.query("SELECT * FROM grad_cam_dynamics_curve ORDER BY frame")
    assert curve["frame"].to_list() == [1, 2, 3, 4] and (curve["n"] == len(held_out)).all()
    at = rows.filter(pl.col("frame") == 2)["correlation"].to_numpy()
    assert curve["correlation"][1] == pytest.approx(at.mean())
    assert curve["stderr"][1] == pytest.approx(at.std(ddof=1) / np.sqrt(at.size))

    # one maximum per glass, each the largest value of that glass's curve
    maxima = store.query("SELECT * FROM grad_cam_dynamics_maxima ORDER BY sample")
    assert maxima["sample"].to_list() == sorted(held_out)
    by_glass = rows.group_by("sample").agg(pl.col("correlation").max()).sort("sample")
    np.testing.assert_allclose(maxima["correlation"].to_numpy(), by_glass["correlation"].to_numpy())

    metadata = result.asset_materializations_for_node("abm__grad_cam_dynamics")[0].metadata
    assert metadata["n_glasses"].value == len(held_out)
    assert metadata["n_training_glasses_left_out"].value == len(trained)
    best = curve.sort("correlation", descending=True).row(0, named=True)
    assert metadata["max_correlation"].value == pytest.approx(best["correlation"])
    assert metadata["max_correlation_stderr"].value == pytest.approx(best["stderr"])
    assert "mean of per-glass maxima" in metadata["per_glass_maxima"].value
    # the champion logged no validation accuracy: its Γ is no finding, marked, and set beside no [O] maximum
    assert metadata["classifier_status"].value == "classifier_unresolved"
    assert "no Grad-CAM finding" in metadata["grad_cam_finding"].value
    assert np.isnan(metadata["paper_max_correlation"].value)
    for table in ("grad_cam_dynamics", "grad_cam_dynamics_curve", "grad_cam_dynamics_maxima"):
        statuses = store.query(f"SELECT DISTINCT classifier_status FROM {table}")["classifier_status"].to_list()
        assert statuses == ["classifier_unresolved"], table


@pytest.mark.parametrize("crafted_warehouse", [(80, 80)], indirect=True)
def test_a_resolved_champion_is_compared_with_the_paper(crafted_warehouse):
    """80 of 80 validation images: Wilson lower end 0.952 ≥ 0.95 (the default gate), so [O]'s maximum stands beside
    the curve and the rows are marked resolved."""
    store, resources = crafted_warehouse
    result = materialize_templates([GRAD_CAM_DYNAMICS], resources=resources, partition_key="abm")
    metadata = result.asset_materializations_for_node("abm__grad_cam_dynamics")[0].metadata
    assert metadata["classifier_status"].value == "resolved" and metadata["paper_max_correlation"].value == 0.61
    assert store.query("SELECT DISTINCT classifier_status FROM grad_cam_dynamics")["classifier_status"].to_list() == [
        "resolved"
    ]
