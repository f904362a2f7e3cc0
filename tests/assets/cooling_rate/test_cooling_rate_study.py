"""The cooling-rate study: C(1−Θ,Υ) per glass and mean ± SE per rate from its own rows, checks before the write,
the campaign stage and its profile section."""

from pathlib import Path

import mlflow
import numpy as np
import polars as pl
import pytest
import yaml
from dagster import DagsterInstance, Failure, MultiPartitionKey

import glass_assets.cooling_rate.assets as cooling_rate_assets
from glass_assets.campaign import load_campaign
from glass_assets.checks import no_overlaps
from glass_assets.cooling_rate.assets import COOLING_RATE_STUDY
from glass_assets.cooling_rate.checks import RateGlasses, at_every_rate, slower_cooling_not_higher_energy
from glass_assets.cooling_rate.glasses import rate_ensemble
from glass_assets.cooling_rate.study_cnns import StudyCNN
from glass_assets.ensembles.assets import QUENCHED_ENSEMBLES
from glass_assets.graph import materialize_templates
from glass_assets.launchers.base import result_paths
from glass_assets.registry.cnn_split import GatedClassifier
from glass_assets.registry.tracking import MLflowResource
from glass_assets.resources import LocalProcessLauncher, SimulationLauncher, StudySettings, WarehouseResource
from glass_assets.tables import configurations, particle_rows, sample_row
from glass_assets.warehouse import Warehouse, ensemble_key
from glass_core.learning.classifier_gate import CLASSIFIER_UNRESOLVED, ClassifierGate
from glass_core.learning.cnn import GLASS, GlassCNN
from glass_core.learning.correlations import STRUCTURAL_PAIR, pearson, spearman, theta_upsilon_correlations
from glass_core.learning.grad_cam import grad_cam_particles
from glass_core.models.configuration import Configuration
from glass_core.models.statistics import Accuracy
from glass_core.models.systems import get_system
from glass_core.structure.gridding import Gridding
from glass_core.structure.indicators import normalised_coarse_grained, structural_indicators
from tests.helpers.configurations import gaussian_jittered_lattice
from tests.helpers.paths import TINY_PROFILES
from tests.helpers.studies import tiny_study

RATES = (2.0, 1.0)  # tests/tiny_profiles.yaml, profile tiny_cooling: N = 64, two glasses per rate
T_G = 0.05


@pytest.fixture
def cooling_resources(tiny_resources, tmp_path):
    return {**tiny_resources, "study": tiny_study(tmp_path, "tiny_cooling")}


def with_glasses_per_rate(resources: dict, counts: list[int]) -> StudySettings:
    """The ``tiny_cooling`` profile with other glass counts per rate, sharing the resources' scratch folder."""
    profile = yaml.safe_load(TINY_PROFILES.read_text())["tiny_cooling"]
    profile["cooling_rate_study"]["glasses_per_rate"] = counts
    name = "glasses_" + "_".join(map(str, counts))
    profiles = Path(resources["study"].scratch_dir).parent / f"{name}.yaml"
    profiles.write_text(yaml.safe_dump({name: profile}))
    return StudySettings(profile=name, profiles_file=str(profiles), scratch_dir=resources["study"].scratch_dir)


def test_the_study_writes_both_tables_and_each_mean_and_se_come_from_its_own_rows(cooling_resources):
    result = materialize_templates([COOLING_RATE_STUDY], "abm", resources=cooling_resources)
    store = Warehouse(cooling_resources["warehouse"].path)
    correlations = store.query("SELECT * FROM cooling_rate_correlations ORDER BY cooling_rate, sample, method")
    summary = store.query("SELECT * FROM cooling_rate_summary")
    assert correlations.height == len(RATES) * 2 * 2 and summary.height == len(RATES) * 2
    assert set(correlations["pair"]) == {STRUCTURAL_PAIR} and set(correlations["cooling_rate"]) == set(RATES)

    system = get_system("abm")
    seeds = set()
    for rate in RATES:
        key = ensemble_key("abm", T_G, rate_ensemble(rate))
        samples = store.read_partition("samples", key)
        glasses = configurations(samples, store.read_partition("particles", key))
        assert sorted(glasses) == [0, 1] and all(c.n_particles == 64 for c in glasses.values())
        seeds |= set(samples["seed"])
        for sample, config in glasses.items():  # the stored glass gives the stored coefficient
            fields = structural_indicators(config, system, 3.0)
            expected = {
                "pearson": pearson(fields.one_minus_theta_cg, fields.voronoi_area_cg),
                "spearman": spearman(fields.one_minus_theta_cg, fields.voronoi_area_cg),
            }
            stored = correlations.filter((pl.col("cooling_rate") == rate) & (pl.col("sample") == sample))
            for method, value in stored.select("method", "value").iter_rows():
                assert value == pytest.approx(expected[method], abs=1e-12)
        for row in summary.filter(pl.col("cooling_rate") == rate).iter_rows(named=True):
            values = correlations.filter((pl.col("cooling_rate") == rate) & (pl.col("method") == row["method"]))
            x = values["value"].to_numpy()
            assert row["n"] == 2 and row["mean"] == pytest.approx(x.mean())
            assert row["stderr"] == pytest.approx(np.std(x, ddof=1) / np.sqrt(2))
            energy = samples["energy_per_particle"].to_numpy()
            assert row["energy_per_particle"] == pytest.approx(energy.mean())
            assert row["energy_stderr"] == pytest.approx(np.std(energy, ddof=1) / np.sqrt(2))
            assert row["paper_value"] == (0.355 if row["method"] == "pearson" else None)
    assert len(seeds) == 4  # each rate draws its own glasses

    checks = {c.check_name: c.passed for c in result.get_asset_check_evaluations()}
    assert checks["no_overlaps"] and checks["lammps_energy_matches_numpy"] and checks["correlations_are_coefficients"]
    metadata = result.asset_materializations_for_node("abm__cooling_rate_study")[0].metadata
    assert "pearson_rate_2_stderr" in metadata and metadata["pearson_rate_1_n"].value == 2
    assert "| cooling rate |" in metadata["table"].value and metadata["plot_file"].value.endswith(".png")


def test_a_failing_blocking_check_writes_nothing(cooling_resources, monkeypatch):
    monkeypatch.setattr(
        cooling_rate_assets,
        "theta_upsilon_correlations",
        lambda fields: {"pearson": 1.5, "spearman": 0.2},
    )
    result = materialize_templates(
        [COOLING_RATE_STUDY],
        "abm",
        instance=DagsterInstance.ephemeral(),
        resources=cooling_resources,
        raise_on_error=False,
    )
    assert not result.success
    failure = next(e for e in result.all_events if e.is_step_failure)
    assert "correlations_are_coefficients" in failure.step_failure_data.user_failure_data.description
    store = Warehouse(cooling_resources["warehouse"].path)
    for table in ("cooling_rate_correlations", "cooling_rate_summary"):
        assert store.query(f"SELECT count(*) n FROM {table}")["n"][0] == 0, table
    assert store.query("SELECT count(*) n FROM samples")["n"][0] == 0
    folder = cooling_resources["study"].quarantine_root() / "abm" / "cooling_rate_study" / "abm"
    rejected = pl.read_parquet(folder / "cooling_rate_correlations.parquet")
    assert rejected.height == 8 and rejected["value"].max() == 1.5
    # the finished glasses stay in scratch (one folder per rate, named by its inputs) for the rerun
    scratch = Path(cooling_resources["study"].scratch_dir) / "cooling_rate_study"
    assert len(list(scratch.glob("abm_T0.05_*"))) == 2 and len(list(scratch.glob("abm_T0.05_*/sample_*.npz"))) == 4

    # with the check fixed and one glass per rate, the rerun quenches nothing: glass 0 of each rate is reused
    monkeypatch.undo()
    rerun = {**cooling_resources, "study": with_glasses_per_rate(cooling_resources, [1, 1]), "simulation": ReuseOnly()}
    assert materialize_templates([COOLING_RATE_STUDY], "abm", resources=rerun).success
    assert store.query("SELECT count(*) n FROM cooling_rate_correlations")["n"][0] == len(RATES) * 2


class ReuseOnly(SimulationLauncher):
    """A launcher that runs nothing: every item must already have its result file in scratch."""

    def run_tasks(self, kind, params, items, out_dir, on_event=None):  # noqa: ANN001, ANN201
        paths = result_paths(Path(out_dir), items)
        missing = [str(p) for p in paths if not p.exists()]
        if missing:
            raise AssertionError(f"asked to run {missing}")
        return paths


def test_a_check_at_every_rate_names_the_rate_that_fails():
    system = get_system("abm")
    rng = np.random.default_rng(3)
    good = gaussian_jittered_lattice(system, 6, rng, jitter=0.0)  # spacing 0.91: r/σ_BB = 0.78
    bad = Configuration(good.positions.copy(), good.types, good.box, "abm")
    bad.positions[1] = bad.positions[0] + 0.05  # an overlap
    samples = pl.DataFrame({"sample": [0], "potential_energy": [0.0], "energy_per_particle": [0.0]})
    glasses = {0.02: RateGlasses({0: good}, samples), 0.002: RateGlasses({0: bad}, samples)}
    outcome = at_every_rate(no_overlaps)(system=system, glasses=glasses)
    assert not outcome.passed and outcome.description.startswith("rate 0.002:")
    assert at_every_rate(no_overlaps)(system=system, glasses={0.02: glasses[0.02]}).passed


def test_slower_cooling_with_a_significantly_higher_energy_is_flagged():
    def glasses(energies: dict[float, list[float]]) -> dict[float, RateGlasses]:
        return {r: RateGlasses({}, pl.DataFrame({"energy_per_particle": e})) for r, e in energies.items()}

    annealed = {0.02: [-3.00, -3.01, -2.99], 0.002: [-3.05, -3.06, -3.04]}
    assert slower_cooling_not_higher_energy(glasses(annealed)).passed
    within_noise = {0.02: [-3.00, -3.10, -2.90], 0.002: [-2.99, -3.09, -2.89]}
    assert slower_cooling_not_higher_energy(glasses(within_noise)).passed
    wrong = {0.02: [-3.05, -3.06, -3.04], 0.002: [-3.00, -3.01, -2.99]}
    outcome = slower_cooling_not_higher_energy(glasses(wrong))
    assert not outcome.passed and "0.02→0.002" in outcome.description


def test_theta_upsilon_correlations_is_the_indicator_pipeline():
    system = get_system("abm")
    config = gaussian_jittered_lattice(system, 8, np.random.default_rng(1), jitter=0.1)
    fields = structural_indicators(config, system, 3.0)
    values = theta_upsilon_correlations(structural_indicators(config, system, 3.0))
    assert values["pearson"] == pytest.approx(pearson(fields.one_minus_theta_cg, fields.voronoi_area_cg))
    assert values["spearman"] == pytest.approx(spearman(fields.one_minus_theta_cg, fields.voronoi_area_cg))


def test_the_stage_belongs_to_quench_systems(tmp_path):
    ok = tmp_path / "ok.yaml"
    ok.write_text("systems:\n  abm:\n    quench: [2.0, 0.05]\n    cooling_rate_study: true\n")
    assert load_campaign(ok).asset_names("abm") == {
        "quenched_ensembles",
        "structural_descriptors",
        "cooling_rate_study",
    }
    no_liquid = tmp_path / "no_liquid.yaml"  # the study's CNNs train on the T_L and T_G ensembles
    no_liquid.write_text("systems:\n  abm:\n    quench: [0.05]\n    cooling_rate_study: true\n")
    with pytest.raises(ValueError, match=r"abm.cooling_rate_study needs abm.quench to include liquid T = 2.0"):
        load_campaign(no_liquid)
    bad = tmp_path / "bad.yaml"
    bad.write_text("systems:\n  ka2d_ternary:\n    cooling_rate_study: true\n")
    with pytest.raises(ValueError, match="ka2d_ternary cannot run stage 'cooling_rate_study'"):
        load_campaign(bad)
    assert load_campaign("validation_campaign.yaml").asset_names("abm") >= {"cooling_rate_study"}


def test_gridding_at_a_larger_box_keeps_the_pixel_size():
    gridding = Gridding(2, grid=16, width=0.4, input_kind="density")
    accuracy = Accuracy(6, 6)
    classifier = GatedClassifier(accuracy, ClassifierGate(0.6, 3))
    cnn = StudyCNN("density", GlassCNN(1, 16, head="gap"), gridding, 8.0, {"validation": accuracy}, classifier, "run")
    assert cnn.gridding_at_box(8.0) == gridding
    larger = cnn.gridding_at_box(12.0)
    assert larger.grid == 24 and larger.width == 0.4 and larger.input_kind == "density"


def test_cnn_correlations_of_every_glass_come_from_the_logged_network(tmp_path, one_torch_thread):
    """Both input kinds: a CNN per kind trained on the T_L / T_G ensembles (N = 64) and logged to MLflow; on the
    study's larger glasses (N = 144) the stored C(Γ,Υ), C(Γ,1−Θ) are recomputed from the logged model's Grad-CAM,
    and only glasses it classifies as glass have them."""
    resources = {
        "study": tiny_study(tmp_path, "tiny_cooling_cnn"),
        "simulation": LocalProcessLauncher(),
        "warehouse": WarehouseResource(path=str(tmp_path / "w.duckdb")),
        "mlflow_tracking": MLflowResource(
            tracking_uri=f"sqlite:///{tmp_path / 'mlflow.db'}", artifact_root=str(tmp_path / "artifacts")
        ),
    }
    instance = DagsterInstance.ephemeral()
    for temperature in ("2.0", "0.05"):
        partition = MultiPartitionKey({"system": "abm", "temperature": temperature})
        assert materialize_templates([QUENCHED_ENSEMBLES], partition, instance=instance, resources=resources).success
    result = materialize_templates([COOLING_RATE_STUDY], "abm", instance=instance, resources=resources)
    metadata = result.asset_materializations_for_node("abm__cooling_rate_study")[0].metadata
    cnns = metadata["study_cnns"].value
    assert set(cnns) == {"density", "per_type"}

    store = Warehouse(tmp_path / "w.duckdb")
    key = ensemble_key("abm", T_G, rate_ensemble(2.0))
    glasses = configurations(store.read_partition("samples", key), store.read_partition("particles", key))
    correlations = store.query("SELECT * FROM cooling_rate_correlations")
    summary = store.query("SELECT * FROM cooling_rate_summary")
    system = get_system("abm")
    resources["mlflow_tracking"].activate()
    defined = 0
    for kind, logged in cnns.items():
        model = mlflow.pytorch.load_model(f"runs:/{logged['mlflow_run_id']}/model")
        params = mlflow.get_run(logged["mlflow_run_id"]).data.params
        assert params["input_kind"] == kind and params["head"] == "gap"
        # the training box holds 64 particles, the study's 144 at the same density: 1.5 × the grid
        gridding = Gridding(system.n_types, 24, float(params["kernel_width"]), input_kind=kind)
        cam = grad_cam_particles(model, list(glasses.values()), gridding, target_class=GLASS)
        predicted_glass = [s for k, s in enumerate(glasses) if cam.cam.predictions[k] == GLASS]
        assert logged["glasses_classified_as_glass"] == {"2": len(predicted_glass)}
        rows = correlations.filter(pl.col("cnn_input") == kind)
        assert sorted(set(rows["sample"])) == sorted(predicted_glass)
        for k, sample in enumerate(glasses):
            if sample not in predicted_glass:
                continue
            fields = structural_indicators(glasses[sample], system, 3.0)
            gamma_cg = normalised_coarse_grained(glasses[sample], cam.scores[k], 3.0)
            expected = {
                "gamma~upsilon": pearson(gamma_cg, fields.voronoi_area_cg),
                "gamma~one_minus_theta": pearson(gamma_cg, fields.one_minus_theta_cg),
            }
            stored = rows.filter((pl.col("sample") == sample) & (pl.col("method") == "pearson"))
            for pair, value in stored.select("pair", "value").iter_rows():
                if np.isnan(expected[pair]):  # Γ constant over the glass: undefined, stored as NULL
                    assert value is None
                else:
                    assert value == pytest.approx(expected[pair], abs=1e-6)
                    defined += 1
        for row in summary.filter(pl.col("cnn_input") == kind).iter_rows(named=True):
            assert row["n_classified_glass"] == len(predicted_glass) and row["n_glasses"] == 3
    assert defined > 0, "no glass had a defined CNN correlation: the comparison above checked nothing"
    no_cnn = summary.filter(pl.col("cnn_input").is_null())
    assert set(no_cnn["pair"]) == {STRUCTURAL_PAIR} and set(no_cnn["n"]) == {3}  # C(1−Θ,Υ) over every glass

    # run again (the glasses are stored): the same networks are reused from MLflow, not trained again
    again = materialize_templates([COOLING_RATE_STUDY], "abm", instance=instance, resources=resources)
    repeated = again.asset_materializations_for_node("abm__cooling_rate_study")[0].metadata["study_cnns"].value
    assert {k: v["mlflow_run_id"] for k, v in repeated.items()} == {k: v["mlflow_run_id"] for k, v in cnns.items()}
    order = ["cnn_input", "cooling_rate", "sample", "pair", "method"]
    rerun = store.query("SELECT * FROM cooling_rate_correlations").sort(order, nulls_last=True)
    assert rerun.equals(correlations.sort(order, nulls_last=True))
    experiment = resources["mlflow_tracking"].experiment_id("cooling_rate_study_cnn")
    assert len(mlflow.search_runs([experiment])) == 2  # one per input kind, logged once

    # each CNN's accuracies with n, binomial SE and Wilson interval, and the gate's verdict on every row built on it
    accuracies = store.query("SELECT * FROM cooling_rate_cnns")
    for kind, logged in cnns.items():
        rows = {r["subset"]: r for r in accuracies.filter(pl.col("cnn_input") == kind).iter_rows(named=True)}
        validation = rows["validation"]
        assert validation["n"] == 6 and validation["n_particles"] == 64  # 3 runs of the quench stage
        fraction = Accuracy(validation["n_correct"], 6)
        assert validation["stderr"] == pytest.approx(fraction.stderr)
        assert (validation["wilson_low"], validation["wilson_high"]) == pytest.approx(fraction.interval())
        status = validation["classifier_status"]
        assert status == ("resolved" if fraction.resolved_above(0.6) else CLASSIFIER_UNRESOLVED)
        assert logged["classifier_status"] == status and rows["validation_glass"]["n"] == 3
        assert set(correlations.filter(pl.col("cnn_input") == kind)["classifier_status"]) <= {status}
        marked = summary.filter(pl.col("cnn_input") == kind)
        assert set(marked["classifier_status"]) == {status}
        if status == CLASSIFIER_UNRESOLVED:  # no [O] value beside a correlation that is no finding
            assert marked["paper_value"].null_count() == marked.height
            assert f"pearson_gamma~upsilon_{kind}_rate_2" not in metadata
            assert "no Grad-CAM finding" in metadata[f"grad_cam_finding_{kind}"].value


class Recording(LocalProcessLauncher):
    """The local launcher, recording which glasses it was asked to quench."""

    asked: list = []

    def run_tasks(self, kind, params, items, out_dir, on_event=None):  # noqa: ANN001, ANN201
        if kind != "training":
            Recording.asked += [(params["protocol"]["cooling_rate"], item["sample"]) for item in items]
        return super().run_tasks(kind, params, items, out_dir, on_event)


def test_more_glasses_per_rate_quench_only_the_new_ones(cooling_resources):
    assert materialize_templates([COOLING_RATE_STUDY], "abm", resources=cooling_resources).success
    store = Warehouse(cooling_resources["warehouse"].path)
    before = store.query("SELECT * FROM particles WHERE ensemble LIKE 'quenched_rate_%' ORDER BY ALL")

    Recording.asked = []
    rerun = {**cooling_resources, "study": with_glasses_per_rate(cooling_resources, [3, 3]), "simulation": Recording()}
    assert materialize_templates([COOLING_RATE_STUDY], "abm", resources=rerun).success
    assert sorted(Recording.asked) == [(1.0, 2), (2.0, 2)]  # glasses 0 and 1 of each rate come from the warehouse

    after = store.query("SELECT * FROM particles WHERE ensemble LIKE 'quenched_rate_%' AND sample < 2 ORDER BY ALL")
    assert after.equals(before)  # the stored glasses are kept as they were
    summary = store.query("SELECT * FROM cooling_rate_summary")
    assert set(summary["n"]) == {3} and set(summary["n_glasses"]) == {3}
    samples = store.query(
        "SELECT cooling_rate_seeds.* FROM samples cooling_rate_seeds WHERE ensemble LIKE 'quenched_rate_%'"
    )
    assert samples.height == 6 and samples["seed"].n_unique() == 6


def test_the_study_cnns_refuse_a_validation_split_too_small_for_the_gate(tmp_path, one_torch_thread):
    """Bad input fails before any CNN is trained or glass quenched: nothing is logged or written."""
    base = yaml.safe_load(TINY_PROFILES.read_text())["tiny_cooling_cnn"]
    profiles = tmp_path / "strict.yaml"
    profiles.write_text(yaml.safe_dump({"strict": {**base, "cnn": {**base["cnn"], "gate_accuracy": 0.95}}}))
    tracking = MLflowResource(tracking_uri=f"sqlite:///{tmp_path / 'mlflow.db'}", artifact_root=str(tmp_path / "a"))
    store = Warehouse(tmp_path / "w.duckdb")
    system = get_system("abm")
    rng = np.random.default_rng(1)
    for phase in ("liquid", "glass"):  # 8 crafted runs per phase, as the quench stage of tiny_cooling_cnn
        key = ensemble_key("abm", system.temperatures[phase], "quenched")
        configs = {s: gaussian_jittered_lattice(system, 8, rng, jitter=0.1) for s in range(8)}
        store.replace_partition(
            key,
            {
                "samples": pl.DataFrame([sample_row(key, s, s, c.n_particles, c.box, 0.0) for s, c in configs.items()]),
                "particles": pl.concat([particle_rows(key, s, c.positions, c.types) for s, c in configs.items()]),
            },
        )
    resources = {
        "study": StudySettings(profile="strict", profiles_file=str(profiles), scratch_dir=str(tmp_path / "s")),
        "simulation": Recording(),
        "warehouse": WarehouseResource(path=str(store.path)),
        "mlflow_tracking": tracking,
    }
    Recording.asked = []
    # the simulation asset turns errors into a Failure that is not retried (the same bad input would recur)
    with pytest.raises(Failure, match=r"GateError: .* holds 6 images, too few for cnn.gate_accuracy = 0.95"):
        materialize_templates([COOLING_RATE_STUDY], "abm", resources=resources)
    assert Recording.asked == []  # no glass quenched
    assert tracking.activate().get_experiment_by_name("cooling_rate_study_cnn") is None  # no CNN logged
    assert "cooling_rate_summary" not in set(store.query("SHOW TABLES")["name"]) or store.query(
        "SELECT count(*) n FROM cooling_rate_summary"
    )["n"][0] == 0
