"""The liquid-versus-glass graph: registry alias rule (validation chooses), the CNN asset on crafted ensembles,
correlations on a crafted case, a tiny end-to-end run."""

import logging
from pathlib import Path

import numpy as np
import polars as pl
import pytest
import yaml
from dagster import DagsterInstance, Failure, MultiPartitionKey
from mlflow import MlflowClient

from glass_assets.dynamics.assets import PROPENSITY_LABELS
from glass_assets.dynamics.grad_cam_dynamics import GRAD_CAM_DYNAMICS
from glass_assets.ensembles.assets import QUENCHED_ENSEMBLES
from glass_assets.graph import materialize_templates
from glass_assets.liquid_glass.assets import STRUCTURAL_DESCRIPTORS, descriptor_table
from glass_assets.liquid_glass.cnn_classifier import CNN_CLASSIFIER, SELECTION_METRIC
from glass_assets.liquid_glass.grad_cam_scores import GRAD_CAM_SCORES
from glass_assets.liquid_glass.indicator_correlations import INDICATOR_CORRELATIONS
from glass_assets.registry.cnn_split import logged_gridding
from glass_assets.registry.tracking import MLflowResource, load_champion_cnn, model_name, promote_if_not_worse
from glass_assets.resources import LocalProcessLauncher, StudySettings, WarehouseResource
from glass_assets.tables import QUENCHED, particle_rows, sample_row
from glass_assets.warehouse import Warehouse, ensemble_key
from glass_core.learning.classifier_gate import CLASSIFIER_RESOLVED, CLASSIFIER_UNRESOLVED
from glass_core.learning.cnn import deterministic_split
from glass_core.models.statistics import Accuracy
from glass_core.models.systems import get_system
from tests.helpers.configurations import gaussian_jittered_lattice
from tests.helpers.paths import TINY_PROFILES


@pytest.fixture
def tracking(tmp_path):
    return MLflowResource(tracking_uri=f"sqlite:///{tmp_path / 'mlflow.db'}", artifact_root=str(tmp_path / "art"))


def register_run(tracking, name, validation_accuracy, test_accuracy=None):
    import mlflow

    client = tracking.activate()
    with mlflow.start_run(experiment_id=tracking.experiment_id("alias-test")) as run:
        mlflow.log_metric("validation_accuracy", validation_accuracy)
        if test_accuracy is not None:
            mlflow.log_metric("test_accuracy", test_accuracy)
    client.create_registered_model(name) if not client.search_registered_models(f"name='{name}'") else None
    return client, client.create_model_version(name, f"runs:/{run.info.run_id}/model", run.info.run_id).version


def test_champion_moves_only_to_a_version_that_is_not_worse(tracking):
    client, v1 = register_run(tracking, "m", 0.90)
    assert promote_if_not_worse(client, "m", v1, SELECTION_METRIC) == ("champion", None)
    _, v2 = register_run(tracking, "m", 0.85)
    assert promote_if_not_worse(client, "m", v2, SELECTION_METRIC) == ("challenger", 0.90)
    assert client.get_model_version_by_alias("m", "champion").version == v1
    _, v3 = register_run(tracking, "m", 0.90)
    assert promote_if_not_worse(client, "m", v3, SELECTION_METRIC)[0] == "champion"
    assert client.get_model_version_by_alias("m", "champion").version == v3
    assert client.get_model_version_by_alias("m", "challenger").version == v2


def test_champion_follows_validation_accuracy_when_test_accuracy_disagrees(tracking):
    """The CNN's selection metric is validation accuracy; the test accuracy is logged beside it and ignored."""
    assert SELECTION_METRIC == "validation_accuracy"
    client, v1 = register_run(tracking, "cnn", validation_accuracy=0.90, test_accuracy=0.60)
    assert promote_if_not_worse(client, "cnn", v1, SELECTION_METRIC) == ("champion", None)
    _, v2 = register_run(tracking, "cnn", validation_accuracy=0.80, test_accuracy=1.00)  # better on test only
    assert promote_if_not_worse(client, "cnn", v2, SELECTION_METRIC) == ("challenger", 0.90)
    assert client.get_model_version_by_alias("cnn", "champion").version == v1
    _, v3 = register_run(tracking, "cnn", validation_accuracy=0.95, test_accuracy=0.50)  # worse on test only
    assert promote_if_not_worse(client, "cnn", v3, SELECTION_METRIC) == ("champion", 0.90)
    assert client.get_model_version_by_alias("cnn", "champion").version == v3
    with pytest.raises(ValueError, match="refusing to choose the champion on 'test_accuracy'"):
        promote_if_not_worse(client, "cnn", v2, "test_accuracy")
    assert client.get_model_version_by_alias("cnn", "champion").version == v3  # the refusal moved nothing


def register_counted_run(tracking, name, validation_accuracy, per_class):
    """A run with its validation accuracy and the images of each class it was measured on."""
    import mlflow

    client = tracking.activate()
    with mlflow.start_run(experiment_id=tracking.experiment_id("alias-test")) as run:
        mlflow.log_metrics(
            {
                "validation_accuracy": validation_accuracy,
                "validation_n_liquid": per_class,
                "validation_n_glass": per_class,
            }
        )
    client.create_registered_model(name) if not client.search_registered_models(f"name='{name}'") else None
    return client, client.create_model_version(name, f"runs:/{run.info.run_id}/model", run.info.run_id).version


def test_champion_selection_refuses_a_validation_split_below_the_minimum(tracking):
    """No champion is chosen on 4 + 4 validation images; one chosen on a small split (or before the counts were
    logged) is no incumbent: a version measured on ≥ 20 images per class replaces it, even at lower accuracy."""
    client, small = register_counted_run(tracking, "cnn", validation_accuracy=1.0, per_class=4)
    with pytest.raises(ValueError, match=r"4 liquid and 4 glass images, fewer than cnn.min_validation_per_class = 20"):
        promote_if_not_worse(client, "cnn", small, SELECTION_METRIC, min_per_class=20)
    assert client.get_registered_model("cnn").aliases == {}  # the refusal set no alias
    _, old = register_run(tracking, "cnn", validation_accuracy=0.95)  # no counts logged: an old champion
    assert promote_if_not_worse(client, "cnn", old, SELECTION_METRIC) == ("champion", None)
    _, resolved = register_counted_run(tracking, "cnn", validation_accuracy=0.80, per_class=20)
    assert promote_if_not_worse(client, "cnn", resolved, SELECTION_METRIC, min_per_class=20) == ("champion", 0.95)
    _, worse = register_counted_run(tracking, "cnn", validation_accuracy=0.70, per_class=25)
    assert promote_if_not_worse(client, "cnn", worse, SELECTION_METRIC, min_per_class=20)[0] == "challenger"
    assert client.get_model_version_by_alias("cnn", "champion").version == resolved


def labelled_ensembles(store: Warehouse, n_samples: int = 6) -> None:
    """Crafted ABM "quenches" without MD: a liquid (T_L) snapshot is a strongly jittered lattice, a glass (T_G)
    one a weakly jittered lattice, 64 particles each, for sample ids 0 … n_samples − 1 of both phases."""
    system = get_system("abm")
    rng = np.random.default_rng(5)
    for phase, jitter in (("liquid", 0.35), ("glass", 0.03)):
        key = ensemble_key("abm", system.temperatures[phase], QUENCHED)
        configs = [gaussian_jittered_lattice(system, 8, rng, jitter) for _ in range(n_samples)]
        samples = pl.DataFrame(
            [sample_row(key, s, s, c.n_particles, c.box, potential_energy=0.0) for s, c in enumerate(configs)]
        )
        particles = pl.concat([particle_rows(key, s, c.positions, c.types) for s, c in enumerate(configs)])
        store.replace_partition(key, {"samples": samples, "particles": particles})


#: profile → (input kind, head, input channels of an ABM image): [O]'s choice and the species-aware pooled one
CNN_CHOICES = {"paper_like": ("density", "fc", 1), "pooled": ("per_type", "gap", 2)}


def cnn_profiles(tmp_path) -> Path:
    """The tiny CNN profile with each of :data:`CNN_CHOICES`, trained for 2 epochs."""
    base = yaml.safe_load(TINY_PROFILES.read_text())["tiny_cnn"]
    path = tmp_path / "cnn_profiles.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                name: {**base, "cnn": {**base["cnn"], "epochs": 2, "input_kind": kind, "head": head}}
                for name, (kind, head, _) in CNN_CHOICES.items()
            }
        )
    )
    return path


def test_cnn_classifier_logs_its_input_head_and_split_and_chooses_on_validation(tmp_path, tracking, one_torch_thread):
    store = Warehouse(tmp_path / "w.duckdb")
    labelled_ensembles(store, n_samples=8)
    profiles = cnn_profiles(tmp_path)
    client = MlflowClient(tracking.tracking_uri, tracking.tracking_uri)
    logged = []
    for profile, (kind, head, channels) in CNN_CHOICES.items():
        resources = {
            "study": StudySettings(profile=profile, profiles_file=str(profiles), scratch_dir=str(tmp_path / "s")),
            "warehouse": WarehouseResource(path=str(store.path)),
            "mlflow_tracking": tracking,
            "simulation": LocalProcessLauncher(),
        }
        result = materialize_templates([CNN_CLASSIFIER], "abm", resources=resources)
        assert result.success
        metadata = result.asset_materializations_for_node("abm__cnn_classifier")[0].metadata
        run = client.get_run(metadata["mlflow_run_id"].value)
        params, metrics = run.data.params, run.data.metrics
        assert (params["input_kind"], params["head"], params["n_channels"]) == (kind, head, str(channels))
        # 8 quench runs, fractions 0.25 / 0.375 / 0.375 → 2 / 3 / 3 runs, each with its liquid and its glass
        assert (params["n_train"], params["n_validation"], params["n_test"]) == ("4", "6", "6")
        assert params["selection_metric"] == "validation_accuracy"
        assert {"validation_accuracy", "test_accuracy"} <= metrics.keys()
        # every accuracy with its n, binomial SE and Wilson interval
        assert (metrics["validation_n"], metrics["validation_n_glass"], metrics["test_n_liquid"]) == (6, 3, 3)
        p = metrics["validation_accuracy"]
        assert metrics["validation_accuracy_stderr"] == pytest.approx(np.sqrt(p * (1 - p) / 6))
        low, high = Accuracy.from_fraction(p, 6).interval()
        assert (metrics["validation_accuracy_wilson_low"], metrics["validation_accuracy_wilson_high"]) == (
            pytest.approx(low),
            pytest.approx(high),
        )
        assert run.data.tags["classifier_status"] == metadata["classifier_status"].value
        assert metadata["input_kind"].value == kind and metadata["head"].value == head
        gridding = logged_gridding("abm", params)
        assert (gridding.input_kind, gridding.n_channels) == (kind, channels)
        if metadata["alias"].value == "champion":  # the registered model takes the logged image kind
            assert load_champion_cnn(tracking, "abm")[0].n_channels == channels
        logged.append((metadata["model"].value.split(" v")[1], metrics["validation_accuracy"]))
    (v1, val1), (v2, val2) = logged
    champion = str(client.get_model_version_by_alias(model_name("abm"), "champion").version)
    assert champion == (v2 if val2 >= val1 else v1)


def test_grad_cam_reads_runs_logged_before_the_input_kind_was_a_choice():
    assert logged_gridding("kam", {"grid": "32", "kernel_width": "0.3"}).input_kind == "per_type"
    assert logged_gridding("kam", {"grid": "32", "kernel_width": "0.3"}).n_channels == 2


def test_correlations_on_a_crafted_case(tmp_path):
    """Γ pairs on the Grad-CAM (test) glass only; C(1−Θ, Υ) on every glass; summaries with SE and n."""
    store = Warehouse(tmp_path / "w.duckdb")
    rng = np.random.default_rng(0)
    n = 50
    upsilon = rng.uniform(size=n)
    key = {"system": "abm", "temperature": 0.05, "ensemble": "quenched"}

    def base(sample: int) -> dict:
        return {**{k: [v] * n for k, v in key.items()}, "sample": [sample] * n, "particle": np.arange(n)}

    # 1 − Θ = 1 − Υ in glasses 0 and 2 (C = −1), = Υ in glass 1 (C = +1); only glass 0 has Grad-CAM scores
    theta = {0: 1.0 - upsilon, 1: upsilon, 2: 1.0 - upsilon}
    store.replace_partition(
        key,
        {
            "descriptors": pl.concat(
                pl.DataFrame(
                    {
                        **base(s),
                        "voronoi_area": upsilon,
                        "tong_tanaka": upsilon,
                        "voronoi_area_cg": upsilon,
                        "one_minus_theta_cg": one_minus_theta,
                    }
                )
                for s, one_minus_theta in theta.items()
            )
        },
    )
    store.replace_partition(
        {"system": "abm"},
        {
            "grad_cam": pl.DataFrame(
                {
                    **base(0),
                    "label": ["glass"] * n,
                    "gamma": 2 * upsilon + 1,
                    "gamma_cg": 2 * upsilon + 1,
                    "model_name": ["m"] * n,
                    "model_version": ["1"] * n,
                    # a CNN resolved above the gate: 80 of 80 validation images (Wilson lower end 0.952)
                    "classifier_status": ["resolved"] * n,
                    "classifier_accuracy": [1.0] * n,
                    "classifier_n": [80] * n,
                }
            )
        },
    )
    resources = {
        "study": StudySettings(scratch_dir=str(tmp_path / "s")),
        "warehouse": WarehouseResource(path=str(store.path)),
    }
    result = materialize_templates([INDICATOR_CORRELATIONS], "abm", resources=resources)
    assert result.success
    rows = store.query("SELECT sample, pair, method, value, model_version FROM indicator_correlations")
    values = {(r["sample"], r["pair"], r["method"]): r["value"] for r in rows.iter_rows(named=True)}
    assert values[(0, "gamma~upsilon", "pearson")] == pytest.approx(1.0)
    assert values[(0, "gamma~upsilon", "spearman")] == pytest.approx(1.0)
    assert values[(0, "gamma~one_minus_theta", "pearson")] == pytest.approx(-1.0)
    assert values[(0, "one_minus_theta~upsilon", "spearman")] == pytest.approx(-1.0)
    assert values[(1, "one_minus_theta~upsilon", "pearson")] == pytest.approx(1.0)
    assert {s for s, pair, _ in values if pair.startswith("gamma")} == {0}  # the CNN pairs: test glasses only
    assert {s for s, pair, _ in values if pair == "one_minus_theta~upsilon"} == {0, 1, 2}  # every glass
    structural = rows.filter(pl.col("pair") == "one_minus_theta~upsilon")
    assert structural["model_version"].null_count() == structural.height  # needs no CNN

    summary = store.query("SELECT * FROM indicator_correlation_summary WHERE method = 'pearson' ORDER BY pair")
    by_pair = {r["pair"]: r for r in summary.iter_rows(named=True)}
    theta_upsilon = by_pair["one_minus_theta~upsilon"]
    assert theta_upsilon["subset"] == "all" and theta_upsilon["n"] == 3
    assert theta_upsilon["mean"] == pytest.approx(-1 / 3)
    assert theta_upsilon["stderr"] == pytest.approx(np.std([-1, 1, -1], ddof=1) / np.sqrt(3))
    assert by_pair["gamma~upsilon"]["n"] == 1 and by_pair["gamma~upsilon"]["stderr"] is None  # n = 1: NULL

    metadata = result.asset_materializations_for_node("abm__indicator_correlations")[0].metadata
    assert metadata["glass_pearson_one_minus_theta~upsilon_n"].value == 3
    assert metadata["glass_pearson_one_minus_theta~upsilon_stderr"].value == pytest.approx(theta_upsilon["stderr"])
    assert "± " in metadata["summary"].value
    # one glass cannot resolve C(Γ,Υ) > 0; −1/3 ± 0.67 cannot resolve C(1−Θ,Υ) > 0 either
    assert metadata["condition C(Γ,Υ) > 0"].value == "unresolved"
    assert metadata["condition C(1−Θ,Υ) > 0"].value == "unresolved"
    assert "| C(1−Θ,Υ) > 0 | 0.355 |" in metadata["paper_conditions"].value


@pytest.mark.lammps
def test_liquid_glass_graph_end_to_end(tmp_path, tracking):
    resources = {
        "study": StudySettings(profile="tiny_cnn", profiles_file=str(TINY_PROFILES), scratch_dir=str(tmp_path / "s")),
        "simulation": LocalProcessLauncher(),
        "warehouse": WarehouseResource(path=str(tmp_path / "w.duckdb")),
        "mlflow_tracking": tracking,
    }
    instance = DagsterInstance.ephemeral()
    for temperature in ("2.0", "0.05"):
        partition = MultiPartitionKey({"system": "abm", "temperature": temperature})
        assert materialize_templates(
            [QUENCHED_ENSEMBLES, STRUCTURAL_DESCRIPTORS],
            instance=instance,
            resources=resources,
            partition_key=partition,
        ).success
    store = Warehouse(tmp_path / "w.duckdb")
    areas = store.query("SELECT temperature, sample, sum(voronoi_area) AS a FROM descriptors GROUP BY ALL")
    box = store.query("SELECT DISTINCT box_x * box_y AS area FROM samples")["area"][0]
    assert np.allclose(areas["a"].to_numpy(), box, rtol=1e-6)  # Voronoi cells tile the periodic box

    result = materialize_templates(
        [CNN_CLASSIFIER, GRAD_CAM_SCORES, INDICATOR_CORRELATIONS],
        instance=instance,
        resources=resources,
        partition_key="abm",
    )
    assert result.success
    metadata = result.asset_materializations_for_node("abm__cnn_classifier")[0].metadata
    assert 0.0 <= metadata["test_accuracy"].value <= 1.0
    assert metadata["alias"].value == "champion"
    client = MlflowClient(tracking.tracking_uri, tracking.tracking_uri)
    version = client.get_model_version_by_alias(model_name("abm"), "champion")
    run = client.get_run(version.run_id)
    assert "abm|2.0" in run.data.tags["data.partitions"] and "test_accuracy_glass" in run.data.metrics
    assert len(client.get_metric_history(version.run_id, "train_loss")) == 3
    gamma = store.query("SELECT label, min(gamma_cg) lo, max(gamma_cg) hi FROM grad_cam GROUP BY label")
    assert gamma.height >= 1 and (gamma["lo"] >= 0).all() and (gamma["hi"] <= 1).all()

    # isoconfigurational labels of the glasses, then C(Γ, 1 − Δ) against δ(t)
    run = MultiPartitionKey({"system": "abm", "temperature": "1.0"})
    assert materialize_templates([PROPENSITY_LABELS], instance=instance, resources=resources, partition_key=run).success
    # the glasses run are the ones the CNN was tested on, never trained on
    ids = sorted(store.query("SELECT DISTINCT sample FROM samples WHERE system = 'abm'")["sample"].to_list())
    held_out = {ids[i] for i in deterministic_split(np.asarray(ids), (0.25, 0.375, 0.375), 0).test}
    assert len(held_out) == 3
    run_glasses = set(store.query("SELECT DISTINCT sample FROM propensity")["sample"].to_list())
    assert len(run_glasses) == 2 and run_glasses <= held_out
    outcome = materialize_templates(
        [GRAD_CAM_DYNAMICS], instance=instance, resources=resources, partition_key="abm", raise_on_error=False
    )
    if outcome.success:
        rows = store.query("SELECT * FROM grad_cam_dynamics")
        assert rows.height > 0 and rows["correlation"].drop_nans().is_between(-1, 1).all()
        assert (rows.filter(rows["frame"] == 0)["cage_clock"] == 0).all()
        assert not rows["in_training"].any()
    else:  # a 3-epoch CNN may call every glass a liquid, or give a constant Γ: then the asset must say so
        messages = [str(e.step_failure_data.error) for e in outcome.all_events if e.is_step_failure]
        said = ("propensity glasses is usable", "C(Γ, 1 − Δ): no defined coefficient")
        assert any(reason in m for m in messages for reason in said), messages
        assert store.query("SELECT count(*) AS n FROM grad_cam_dynamics")["n"][0] == 0  # nothing published


def gated_profile(tmp_path, name: str, **cnn_changes) -> StudySettings:
    """The tiny CNN profile with other ``cnn`` settings (the gate among them), as a study resource."""
    base = yaml.safe_load(TINY_PROFILES.read_text())["tiny_cnn"]
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump({name: {**base, "cnn": {**base["cnn"], **cnn_changes}}}))
    return StudySettings(profile=name, profiles_file=str(path), scratch_dir=str(tmp_path / "s"))


def test_a_validation_split_too_small_for_the_gate_trains_and_registers_nothing(tmp_path, tracking):
    store = Warehouse(tmp_path / "w.duckdb")
    labelled_ensembles(store, n_samples=8)  # 3 validation runs: 6 images
    client = MlflowClient(tracking.tracking_uri, tracking.tracking_uri)
    for name, changes, message in (
        ("per_class", {"min_validation_per_class": 20}, "fewer than cnn.min_validation_per_class = 20"),
        ("threshold", {"gate_accuracy": 0.95}, r"holds 6 images, too few for cnn.gate_accuracy = 0.95"),
    ):
        resources = {
            "study": gated_profile(tmp_path, name, **changes),
            "warehouse": WarehouseResource(path=str(store.path)),
            "mlflow_tracking": tracking,
            "simulation": LocalProcessLauncher(),
        }
        with pytest.raises(Failure, match=message):  # the step's error, not retried: it would recur
            materialize_templates([CNN_CLASSIFIER], "abm", resources=resources)
    assert client.search_registered_models() == []  # nothing registered
    assert client.get_experiment_by_name("liquid_vs_glass_cnn") is None  # no MLflow run was even started


def shuffled(monkeypatch, module) -> None:
    """Make ``module``'s liquid/glass data carry shuffled labels (a fixed permutation): no network can learn them."""
    real = module.labelled_configurations

    def shuffled_labels(store, system):  # noqa: ANN001, ANN202
        configs, labels, samples, keys = real(store, system)
        return configs, np.random.default_rng(3).permutation(labels), samples, keys

    monkeypatch.setattr(module, "labelled_configurations", shuffled_labels)


def _warnings(instance, result) -> list[str]:
    return [r.user_message for r in instance.all_logs(result.run_id) if r.level == logging.WARNING]


def test_a_classifier_trained_on_shuffled_labels_is_gated(tmp_path, tracking, monkeypatch, one_torch_thread):
    """[O]'s chain on a network that cannot classify: its Grad-CAM rows and the correlations built on them are
    written marked ``classifier_unresolved``, each asset warns with the accuracy and n, the summary says "no
    Grad-CAM finding" instead of the Γ means, no [O] condition on Γ is judged, and no Γ mean is published."""
    from glass_assets.liquid_glass import cnn_classifier, grad_cam_scores

    store = Warehouse(tmp_path / "w.duckdb")
    labelled_ensembles(store, n_samples=40)  # separable ensembles; the labels are shuffled below
    _store_descriptors(store)
    for module in (cnn_classifier, grad_cam_scores):  # both assets read the liquid/glass data
        shuffled(monkeypatch, module)
    instance, result = _gated_chain(tmp_path, store, tracking, "gated")
    cnn = result.asset_materializations_for_node("abm__cnn_classifier")[0].metadata
    assert cnn["classifier_status"].value == CLASSIFIER_UNRESOLVED and cnn["classifier_validation_n"].value == 40
    accuracy = cnn["classifier_validation_accuracy"].value
    assert Accuracy.from_fraction(accuracy, 40).interval()[0] < 0.9

    # every asset of the chain warns, naming the accuracy and n
    warnings = _warnings(instance, result)
    assert len([w for w in warnings if "no Grad-CAM finding" in w and "n = 40" in w]) == 3, warnings
    checks = {(c.asset_key.to_user_string(), c.check_name): c for c in result.get_asset_check_evaluations()}
    for key, name in (
        ("abm/cnn_classifier", "validation_accuracy_resolved"),
        ("abm/grad_cam_scores", "classifier_resolved"),
        ("abm/indicator_correlations", "classifier_resolved"),
    ):
        assert not checks[(key, name)].passed and checks[(key, name)].severity.value == "WARN"
        assert "no Grad-CAM finding" in checks[(key, name)].description

    # the rows are written, marked
    assert set(store.query("SELECT DISTINCT classifier_status FROM grad_cam")["classifier_status"]) == {
        CLASSIFIER_UNRESOLVED
    }
    rows = store.query("SELECT pair, classifier_status FROM indicator_correlations")
    gamma = rows.filter(pl.col("pair").str.starts_with("gamma"))
    assert gamma.height > 0 and set(gamma["classifier_status"]) == {CLASSIFIER_UNRESOLVED}
    assert rows.filter(pl.col("pair") == "one_minus_theta~upsilon")["classifier_status"].null_count() > 0
    summary = store.query("SELECT pair, classifier_status FROM indicator_correlation_summary WHERE pair LIKE 'gamma%'")
    assert set(summary["classifier_status"]) == {CLASSIFIER_UNRESOLVED}

    # … and no summary presents them as a finding
    correlations = result.asset_materializations_for_node("abm__indicator_correlations")[0].metadata
    assert "no Grad-CAM finding" in correlations["summary"].value
    assert "no Grad-CAM finding" in correlations["grad_cam_finding"].value
    assert not any(key.startswith("glass_pearson_gamma") for key in correlations)
    assert correlations["condition C(Γ,Υ) > 0"].value == "classifier unresolved"
    assert correlations["condition C(1−Θ,Υ) > 0"].value in ("pass", "fail", "unresolved")  # needs no CNN
    # [O]'s Γ means (0.552, 0.403) stand beside no Γ row
    assert "0.552" not in correlations["summary"].value and "0.403" not in correlations["summary"].value


def test_a_classifier_that_classifies_passes_the_gate(tmp_path, tracking, one_torch_thread):
    """The control: the same ensembles with their true labels (lattice jitter 0.03 against 0.35) are classified
    perfectly, the gate passes, and nothing is marked or warned."""
    store = Warehouse(tmp_path / "w.duckdb")
    labelled_ensembles(store, n_samples=40)
    _store_descriptors(store)
    instance, result = _gated_chain(tmp_path, store, tracking, "control", epochs=15)
    cnn = result.asset_materializations_for_node("abm__cnn_classifier")[0].metadata
    assert cnn["classifier_validation_accuracy"].value == 1.0 and cnn["classifier_status"].value == CLASSIFIER_RESOLVED
    assert not [w for w in _warnings(instance, result) if "Grad-CAM finding" in w]
    assert set(store.query("SELECT DISTINCT classifier_status FROM grad_cam")["classifier_status"]) == {
        CLASSIFIER_RESOLVED
    }
    correlations = result.asset_materializations_for_node("abm__indicator_correlations")[0].metadata
    assert "no Grad-CAM finding" not in correlations["summary"].value
    assert "glass_pearson_gamma~upsilon" in correlations


def _gated_chain(tmp_path, store: Warehouse, tracking, name: str, **changes: object):  # noqa: ANN001, ANN202
    """CNN, Grad-CAM and correlations of abm under a gate of 0.9 (12 / 20 / 8 runs: 40 validation images, enough for
    a perfect score to resolve 0.9, which needs 36); returns the instance and the result."""
    resources = {
        "study": gated_profile(
            tmp_path, name, gate_accuracy=0.9, min_validation_per_class=5, split_fractions=[0.3, 0.5, 0.2], **changes
        ),
        "warehouse": WarehouseResource(path=str(store.path)),
        "mlflow_tracking": tracking,
        "simulation": LocalProcessLauncher(),
    }
    instance = DagsterInstance.ephemeral()
    result = materialize_templates(
        [CNN_CLASSIFIER, GRAD_CAM_SCORES, INDICATOR_CORRELATIONS], "abm", instance=instance, resources=resources
    )
    assert result.success
    return instance, result


def _store_descriptors(store: Warehouse) -> None:
    """Structural descriptors of every crafted configuration (what indicator_correlations joins Γ with), as the
    structural_descriptors asset writes them."""
    from glass_assets.tables import configurations

    system = get_system("abm")
    for phase in ("liquid", "glass"):
        key = ensemble_key("abm", system.temperatures[phase], QUENCHED)
        configs = configurations(store.read_partition("samples", key), store.read_partition("particles", key))
        store.replace_partition(key, {"descriptors": descriptor_table(configs, key, system, 3.0)})
