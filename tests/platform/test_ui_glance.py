"""What a user reads at a glance, without a browser: groups that name the system, check results that name their
partition and put the failing value beside its threshold, figure paths relative to the project, numbers whose SE
never prints as ± 0.0, MLflow links at the configured address, the nightly backfill as a schedule, propensity runs
laid out for MLflow's Compare, and a report that names real assets and draws the largest χ4 darkest."""

import re
from collections import Counter
from types import SimpleNamespace

import matplotlib.colors
import numpy as np
import polars as pl
import pytest
from dagster import (
    AssetExecutionContext,
    AssetKey,
    DagsterInstance,
    MaterializeResult,
    RunRequest,
    build_schedule_context,
)

from glass_assets.checks import Check, CheckOutcome, check_results
from glass_assets.graph import AssetTemplate, materialize_templates
from glass_assets.plots import figure_metadata, mean_text, project_path, value_with_error
from tests.helpers.paths import ROOT, SNAPSHOTS

SNAPSHOT_CAMPAIGN = SNAPSHOTS / "campaign.yaml"


# ---- numbers ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "error", "text"),
    [
        (0.4321, 0.0567, "0.432 ± 0.057"),
        (-0.0123, 0.046, "-0.012 ± 0.046"),
        (0.4, 0.0228, "0.400 ± 0.023"),
        (12.34, 0.00042, "12.34000 ± 0.00042"),
        (1234.5, 123.0, "1230 ± 120"),
        (0.0996, 0.0996, "0.10 ± 0.10"),  # 0.0996 rounds up to 0.10: one decimal fewer
        (2.0, 1.0, "2.0 ± 1.0"),
        (1e-3, 4e-8, "(1.000000 ± 0.000040)e-03"),
        (0.85, 0.0, "0.85 ± 0"),
    ],
)
def test_value_with_error_gives_the_error_two_significant_figures_and_the_value_its_decimals(value, error, text):
    assert value_with_error(value, error) == text


def test_mean_text_never_prints_a_zero_standard_error_with_decimals():
    rng = np.random.default_rng(0)
    for _ in range(2000):
        mean, stderr = rng.normal(0, 10.0 ** rng.integers(-4, 4)), 10.0 ** rng.uniform(-7, 3)
        text = mean_text(mean, stderr, 5)
        error = text.split("± ")[1]
        assert not re.fullmatch(r"0\.0*", error.split(")")[0]), text
        assert float(error.replace(")", "").split("e")[0]) > 0, text
    assert mean_text(0.4, None, 1) == "0.4 (no SE)" and mean_text(None, 0.1, 0) == "—"


# ---- figures ----------------------------------------------------------------------------------------------------


def test_figure_files_are_named_relative_to_the_project(tmp_path, monkeypatch):
    import matplotlib.pyplot as plt

    import glass_assets.plots as plots

    monkeypatch.setattr(plots, "REPO_ROOT", tmp_path)
    inside = tmp_path / "data" / "plots" / "asset" / "abm_T2.0.png"
    metadata = figure_metadata(plt.figure(), inside)
    assert inside.is_file() and metadata["plot_file"].value == "data/plots/asset/abm_T2.0.png"
    assert metadata["plot"].value.startswith("![abm_T2.0](data:image/png;base64,")
    outside = tmp_path.parent / "elsewhere.png"
    assert project_path(outside) == outside.resolve().as_posix()  # outside the project: absolute, never '../'


def test_served_figure_is_short_enough_for_dagster_to_show_it_inline():
    from glass_assets.plots import served_figure_metadata

    entry = served_figure_metadata("http://mlflow.lab:5005/", "a" * 32, "propensity_maps.png", "tglassmlp v3")["figure"]
    assert entry.value == (
        f"![tglassmlp v3](http://mlflow.lab:5005/get-artifact?path=propensity_maps.png&run_uuid={'a' * 32})"
    )
    assert len(entry.value) < 1000  # Dagster renders Markdown metadata inline below 1000 characters


# ---- checks -----------------------------------------------------------------------------------------------------


def _failing(**_: object) -> CheckOutcome:
    return CheckOutcome(passed=False, metadata={"z": 3.0512, "threshold": 3.0, "worst_chain": 2})


def _passing(**_: object) -> CheckOutcome:
    return CheckOutcome(passed=True, metadata={"z": 0.4, "threshold": 3.0})


CHECKS = {
    "equilibrated": Check(_failing, "halves agree within 3 SE", warn_only=True),
    "finite": Check(_passing, "all finite"),
}


def _checked_asset(context: AssetExecutionContext) -> MaterializeResult:
    return MaterializeResult(check_results=check_results(CHECKS))


TEMPLATE = AssetTemplate(
    body=_checked_asset,
    partitioned_by="swap_mc",
    group_name="equilibria",
    description="a checked asset",
    code_version="1",
    kinds=frozenset({"python"}),
    checks=CHECKS,
)


def test_a_check_result_names_its_partition_and_puts_the_value_beside_its_threshold():
    result = materialize_templates([TEMPLATE], "ka2d_ternary|0.7", DagsterInstance.ephemeral())
    evaluations = {e.check_name: e for e in result.get_asset_check_evaluations()}
    failed = evaluations["equilibrated"]
    assert failed.partition == "ka2d_ternary|0.7"  # a partitioned check: the UI's Partition column shows it
    assert failed.description == (
        "ka2d_ternary, T = 0.7 (partition ka2d_ternary|0.7): warning: z = 3.05, threshold = 3, worst_chain = 2"
    )
    metadata = {k: v.value for k, v in failed.metadata.items()}
    assert metadata["partition"] == "ka2d_ternary|0.7" and metadata["temperature"] == "0.7"
    assert metadata["system"] == "ka2d_ternary" and metadata["z"] == pytest.approx(3.0512)
    assert evaluations["finite"].description == "ka2d_ternary, T = 0.7 (partition ka2d_ternary|0.7): passed"


def test_outside_a_run_a_check_result_is_what_the_check_says():
    results = {r.check_name: r for r in check_results(CHECKS)}
    assert results["equilibrated"].description == "warning: z = 3.05, threshold = 3, worst_chain = 2"
    assert results["finite"].description is None and "partition" not in results["finite"].metadata


def test_the_equilibration_check_states_its_p_value_beside_its_threshold():
    from glass_assets.equilibria.checks import EQUILIBRATION_ALPHA, equilibrated

    rng = np.random.default_rng(1)
    drifting = np.concatenate([rng.normal(-2.0, 0.001, 200), rng.normal(-2.1, 0.001, 200)])
    traces = pl.DataFrame({"chain": 0, "sweep": np.arange(400), "energy_per_particle": drifting})
    outcome = equilibrated(traces, equilibration_sweeps=-1)
    assert not outcome.passed and outcome.metadata["threshold"] == EQUILIBRATION_ALPHA  # one chain: α itself
    assert f"< threshold {EQUILIBRATION_ALPHA:.3g}" in outcome.description
    assert f"p = {outcome.metadata['p_value']:.2g}" in outcome.description


# ---- the lineage ------------------------------------------------------------------------------------------------


def test_every_group_names_its_system_and_no_two_nodes_in_a_group_share_a_label():
    from glass_assets.campaign import load_campaign
    from glass_assets.definitions import build_definitions

    graph = build_definitions(load_campaign(SNAPSHOT_CAMPAIGN)).resolve_asset_graph()
    labels: dict[str, Counter] = {}
    for key in graph.get_all_asset_keys():
        group = graph.get(key).group_name
        labels.setdefault(group, Counter())[key.path[-1]] += 1  # a node shows the last part of its key
        if len(key.path) == 2:  # <system>/<name>
            assert group.startswith(f"{key.path[0]}_"), (key, group)
    assert all(n == 1 for counter in labels.values() for n in counter.values()), labels
    assert max(map(len, labels)) <= 26, sorted(labels, key=len)[-1]  # longer names are cut in the group sidebar
    assert len({g.split("_")[0] for g in labels}) > 2  # the snapshot campaign has several systems


# ---- MLflow links -----------------------------------------------------------------------------------------------


def test_mlflow_links_use_the_configured_address_and_the_classic_view(monkeypatch):
    from glass_assets.registry.tracking import DEFAULT_UI_URL, MLflowResource
    from glass_assets.resources import default_resources

    assert MLflowResource().ui_link("3", "abc").startswith(f"{DEFAULT_UI_URL}/#/experiments/3/runs/abc")
    monkeypatch.setenv("GLASS_MLFLOW_UI_URL", "http://mlflow.lab:5005/")
    tracking = default_resources()["mlflow_tracking"].process_config_and_initialize()  # as a run resolves it
    link = tracking.ui_link("3", "abc")
    assert link == "http://mlflow.lab:5005/#/experiments/3/runs/abc?workflowType=machine_learning"
    compare = tracking.compare_link(["3"], ["r1", "r2"])
    assert compare == (
        "http://mlflow.lab:5005/#/compare-runs?runs=%5B%22r1%22%2C%20%22r2%22%5D&experiments=%5B%223%22%5D"
        "&workflowType=machine_learning"
    )


def test_a_new_experiment_opens_in_the_classic_ml_view(tmp_path):
    from glass_assets.registry.tracking import EXPERIMENT_KIND, EXPERIMENT_KIND_TAG, MLflowResource

    tracking = MLflowResource(tracking_uri=f"sqlite:///{tmp_path / 'm.db'}", artifact_root=str(tmp_path / "a"))
    experiment = tracking.activate().get_experiment(tracking.experiment_id("propensity_learning"))
    assert experiment.tags[EXPERIMENT_KIND_TAG] == EXPERIMENT_KIND == "custom_model_development"


# ---- the nightly backfill ---------------------------------------------------------------------------------------


def test_the_nightly_backfill_is_a_schedule_that_lists_what_the_night_covers(tmp_path):
    from glass_assets.automation.sensors import sync_partitions
    from glass_assets.campaign import load_campaign
    from glass_assets.definitions import build_definitions

    campaign_file = tmp_path / "campaign.yaml"
    campaign_file.write_text('backfill_schedule: "15 4 * * *"\nsystems:\n  abm:\n    quench: [2.0, 0.05]\n')
    campaign = load_campaign(campaign_file)
    repository = build_definitions(campaign).get_repository_def()
    schedule = repository.get_schedule_def("nightly_backfill")
    assert schedule.cron_schedule == "15 4 * * *" and schedule.execution_timezone == "UTC"
    assert "schedule" in schedule.description.lower() and "'15 4 * * *'" in schedule.description
    with DagsterInstance.local_temp(str(tmp_path)) as instance:  # not instance_for_test: DAGSTER_HOME stays
        sync_partitions(instance, campaign)
        with build_schedule_context(instance=instance, repository_def=repository) as context:
            data = schedule.evaluate_tick(context)
        (request,) = data.run_requests
        assert isinstance(request, RunRequest)
        missing = request.run_config["ops"]["list_missing_partitions"]["config"]["missing"]
        assert sorted(missing["abm/quenched_ensembles"]) == ["abm|0.05", "abm|2.0"]
        run = repository.get_job("nightly_backfill_plan").execute_in_process(
            run_config=request.run_config, instance=instance
        )
        assert run.success and run.output_for_node("list_missing_partitions") == sum(map(len, missing.values()))


def test_nothing_missing_is_a_skipped_tick_that_says_so(tmp_path, monkeypatch):
    import glass_assets.automation.schedules as schedules
    from glass_assets.automation.sensors import sync_partitions
    from glass_assets.campaign import load_campaign
    from glass_assets.definitions import build_definitions

    assert schedules.missing_partitions(SimpleNamespace(materializable_asset_keys=[]), None) == {}
    campaign_file = tmp_path / "campaign.yaml"
    campaign_file.write_text("systems:\n  abm:\n    quench: [2.0]\n")
    campaign = load_campaign(campaign_file)
    repository = build_definitions(campaign).get_repository_def()
    monkeypatch.setattr(schedules, "missing_partitions", lambda graph, instance: {})  # everything materialized
    with DagsterInstance.local_temp(str(tmp_path)) as instance:  # not instance_for_test: DAGSTER_HOME stays
        sync_partitions(instance, campaign)
        with build_schedule_context(instance=instance, repository_def=repository) as context:
            data = repository.get_schedule_def("nightly_backfill").evaluate_tick(context)
    assert not data.run_requests and "nothing to do" in data.skip_message


# ---- MLflow layout of the propensity models ---------------------------------------------------------------------


def _study(kind_temperatures: list[float]) -> SimpleNamespace:
    from glass_core.learning.mlp_settings import MLPTrainingSettings

    labelled = SimpleNamespace(
        temperature=np.array(kind_temperatures), state_points=lambda: np.array([[0.7, 0.37], [0.6, 0.37]])
    )
    data = SimpleNamespace(labelled=labelled, feature_names=["DEN_A_L0", "EPOT_A_L1"])
    return SimpleNamespace(training=MLPTrainingSettings(), type_label="A", distillation="labelled_temperatures",
                           data=data)


def test_both_model_kinds_log_the_same_parameter_names_and_differ_where_the_models_do():
    from glass_assets.propensity_learning.training_runs import run_params

    split = SimpleNamespace(configuration=np.array([0, 1, 1]))
    glass, tglass = (run_params(_study([0.7, 0.6]), kind, split, split, split) for kind in ("glassmlp", "tglassmlp"))
    assert glass.keys() == tglass.keys()
    differ = {k for k in glass if glass[k] != tglass[k]}
    # (n_networks differs where the profile trains different numbers; the demo's defaults are 4 and 4)
    assert {"model_kind", "networks", "first_loss", "first_schedule", "distillation", "state_input"} <= differ
    assert glass["held_out_temperature"] == "none" and glass["training_temperatures"] == "[0.6, 0.7]"
    assert not {"n_glassmlp_networks", "glassmlp_schedule", "tglass_mse_schedule"} & glass.keys()


def test_state_point_runs_have_the_same_metric_names_for_both_kinds_and_no_undefined_value():
    from glass_assets.registry.propensity_runs import STATE_POINT_METRICS, _state_point_metrics

    def rows(predictor: str, pearson: float | None) -> list[dict]:
        return [{"predictor": p, "split": split, "subset": "A", "pearson": pearson if p == predictor else 0.5,
                 "stderr": 0.02, "n_configurations": 4}
                for p in (predictor, "best_descriptor:EPOT_A_L1(+)") for split in ("validation", "test")]

    glass = _state_point_metrics(rows("glassmlp", 0.6), "glassmlp", "A", 0.01)
    tglass = _state_point_metrics(rows("tglassmlp", 0.7), "tglassmlp", "A", -0.02)
    assert set(glass) == set(tglass) == set(STATE_POINT_METRICS)
    undefined = _state_point_metrics(rows("tglassmlp", None), "tglassmlp", "A", float("nan"))
    assert "test_pearson" not in undefined and "test_cb_error" not in undefined  # left out, never NaN


def test_compare_columns_put_the_two_models_of_a_state_point_side_by_side():
    from glass_assets.registry.propensity_runs import side_by_side

    glass = {(0.6, 0.37): "g6", (0.7, 0.37): "g7", (0.7, 0.8): "g7b"}
    tglass = {(0.7, 0.37): "t7", (0.6, 0.37): "t6", (0.7, 0.8): "t7b"}
    assert side_by_side(glass, tglass) == ["g7b", "t7b", "g7", "t7", "g6", "t6"]
    assert side_by_side({}, tglass) == ["t7b", "t7", "t6"]


# ---- the report -------------------------------------------------------------------------------------------------


def test_the_report_names_assets_that_are_in_the_graph():
    from glass_assets.definitions import TEMPLATES

    names = {t.name for t in TEMPLATES}
    mentioned = []
    for path in (ROOT / "glass_assets" / "report").glob("*.py"):  # what a missing section tells the user to run
        lines = [line for line in path.read_text().splitlines() if "absent(" in line or "where = " in line]
        mentioned += [m for line in lines for m in re.findall(r"\(?assets? ([^)\"]*)", line)]
    assert mentioned
    for mention in mentioned:
        for asset in re.split(r",\s*", mention.split(", campaign")[0]):
            asset = asset.split(" ")[0]
            if "/" in asset:
                system, name = asset.split("/")
                assert system in {"{system}", "<system>"} and name in names, mention
            else:
                pytest.fail(f"the report names an asset without its system: {mention!r}")


def test_chi4_colours_make_the_coldest_temperature_the_darkest_and_never_grey():
    from glass_assets.plots import temperature_colours

    colours = temperature_colours([0.7, 0.5, 0.6, 0.5])

    def luminance(rgba: tuple) -> float:
        r, g, b = rgba[:3]
        return 0.2126 * r + 0.7152 * g + 0.0722 * b

    assert list(colours) == [0.5, 0.6, 0.7]
    assert luminance(colours[0.5]) < luminance(colours[0.6]) < luminance(colours[0.7])
    for rgba in colours.values():
        h, s, v = matplotlib.colors.rgb_to_hsv(rgba[:3])
        assert s > 0.3, rgba  # saturated: no grey


def test_check_specs_of_a_built_asset_are_partitioned_like_it():
    from glass_assets.campaign import load_campaign
    from glass_assets.definitions import build_definitions

    defs = build_definitions(load_campaign(SNAPSHOT_CAMPAIGN))
    key = AssetKey(["ka2d_ternary", "swap_mc_equilibria"])
    asset = defs.resolve_assets_def(key)
    specs = list(asset.check_specs)
    assert specs and all(s.partitions_def == asset.partitions_def for s in specs)
