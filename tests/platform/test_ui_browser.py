"""The Dagster and MLflow UIs and the paper report as a user sees them, in headless Chromium.

One module-scoped stack (:func:`tests.helpers.ui_instance.running_stack`): a temporary Dagster instance (the platform's
``dagster.yaml``) whose campaign quenches ``abm`` and ``kam`` and learns propensities of ``ka2d_ternary``, with
``abm|2.0`` of ``abm/quenched_ensembles`` materialized for real (LAMMPS, tiny profile), a backfill of ``abm|0.05``
launched through the webserver's GraphQL API, and a small propensity study (crafted rows; the platform's
``state_point_labels``, ``glassmlp_models`` and ``tglassmlp_model`` on them, the paper report written);
``dagster-webserver`` on the repository's ``workspace.yaml`` with ``GLASS_CAMPAIGN`` pointing at that campaign;
``mlflow server`` on the SQLite store the models were logged to, whose address the links in Dagster's metadata
carry. Expected names come from ``build_definitions`` of that campaign (what the webserver loads) and the instance,
never from a list written here. Screenshots of every page go to ``$GLASS_TEST_ARTIFACTS/browser`` (default
``test-artifacts/browser``).
"""

import os
import re
from collections import Counter

import pytest

from glass_assets.partitions import partition_key
from tests.helpers.ui_instance import BACKFILL_SCHEDULE, MATERIALIZED_T, MISSING_T, QUENCH_SYSTEM, running_stack
from tests.helpers.ui_instance import SYSTEM as MODEL_SYSTEM
from tests.helpers.ui_stack import (
    browser_missing_reason,
    chromium_driver,
    click_button,
    click_icon_button,
    click_text,
    close_assistant,
    edge_ends,
    labels_by_group,
    nearest_node,
    page_text,
    read_lineage_graph,
    read_lineage_groups,
    read_partition_rows,
    resolve_labels,
    screenshot,
    wait_until,
    zoom_lineage_to_fit,
)

pytestmark = [pytest.mark.browser, pytest.mark.lammps]

SYSTEM = QUENCH_SYSTEM


@pytest.fixture(scope="module")
def chromium():
    """Headless Chromium; a missing browser skips locally and fails in CI (like the Slurm tests)."""
    reason = browser_missing_reason()
    if reason is not None:
        if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
            pytest.fail(f"CI must run the browser tests, but {reason}")
        pytest.skip(f"no headless browser: {reason}")
    driver = chromium_driver()
    yield driver
    driver.quit()


@pytest.fixture(scope="module")
def stack(chromium, tmp_path_factory):
    with running_stack(tmp_path_factory.mktemp("ui")) as built:
        yield built


def test_lineage_graph_shows_every_group_asset_and_edge(stack, chromium, request):
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.keys import Keys

    graph = stack.defs.resolve_asset_graph()
    keys = sorted(graph.get_all_asset_keys())
    groups = {graph.get(k).group_name for k in keys}
    names = [k.path[-1] for k in keys]  # a node shows its key's last component
    expected_edges = Counter((p.path[-1], k.path[-1]) for k in keys for p in graph.get(k).parent_keys)
    n_edges = sum(expected_edges.values())

    chromium.set_window_size(1920, 2000)
    request.addfinalizer(lambda: chromium.set_window_size(1600, 1000))
    chromium.get(f"{stack.dagster_url}/asset-groups")
    wait_until(
        chromium,
        lambda d: all(g in page_text(d) for g in groups) and "fetching statuses" not in page_text(d),
        f"the groups {sorted(groups)} with their statuses",
    )
    screenshot(chromium, "lineage_groups")

    # the graph's settings menu (bottom right) → "Expand all groups"; a double-click on the background fits the
    # whole graph in view (at this window size the scale stays above Dagster's 0.15, below which nodes lose
    # their names; a one-system graph is drawn at 1:1, as detailed cards)
    wait_until(chromium, lambda d: d.find_elements("css selector", "svg foreignObject"), "the graph")
    click_icon_button(chromium, "settings", "the graph's settings button")
    click_text(chromium, "Expand all groups")
    ActionChains(chromium).send_keys(Keys.ESCAPE).perform()
    wait_until(chromium, lambda d: len(read_lineage_graph(d)[1]) == len(groups), "every group expanded")
    zoom_lineage_to_fit(chromium)
    wait_until(
        chromium,
        lambda d: len(read_lineage_graph(d)[0]) == len(names) and len(read_lineage_graph(d)[2]) >= n_edges,
        f"{len(names)} asset nodes and {n_edges} edges",
    )
    nodes, expanded_groups, paths = read_lineage_graph(chromium)
    screenshot(chromium, "lineage_expanded")

    assert Counter(expanded_groups) == Counter(groups)
    # the system is visible on every node: each sits in a group named after its system, beside no namesake
    by_group = labels_by_group(nodes, read_lineage_groups(chromium))
    assert set(by_group) == groups, f"nodes outside every group: {by_group.get('')}"
    for group, labels in by_group.items():
        assert len(labels) == len(set(labels)), f"group {group} shows two nodes labelled alike: {labels}"
    systems = {k.path[0] for k in keys if len(k.path) == 2}
    for key in keys:
        if len(key.path) == 2:
            assert graph.get(key).group_name.startswith(f"{key.path[0]}_"), (key, graph.get(key).group_name)
    assert len(systems) == 3 and Counter(k.path[-1] for k in keys)["quenched_ensembles"] == 2  # namesakes exist
    labels = [n[0] for n in nodes]
    shown = resolve_labels(labels, names)
    unknown = [label for label, name in zip(labels, shown, strict=True) if name is None]
    assert not unknown, f"nodes that show no asset of the definitions: {unknown}"
    assert Counter(shown) == Counter(names), f"missing {Counter(names) - Counter(shown)}"
    drawn = Counter()
    for d in paths:
        start, end = edge_ends(d)
        drawn[(shown[nearest_node(start, nodes)], shown[nearest_node(end, nodes)])] += 1
    assert drawn == expected_edges, f"not drawn: {expected_edges - drawn}; not declared: {drawn - expected_edges}"


def test_partitions_tab_lists_the_campaign_partitions_with_their_status(stack, chromium):
    """Issue 9, item 1: "missing" means "still to do". The campaign wants SYSTEM at two temperatures, one of them
    materialized: the tab lists SYSTEM and exactly those two temperatures, nothing else."""
    key, instance = stack.quench_key, stack.instance
    wanted = stack.campaign.temperatures(SYSTEM, "quench")
    assert wanted == [MATERIALIZED_T, MISSING_T]
    partitions = stack.defs.resolve_asset_graph().get(key).partitions_def
    assert {str(p) for p in partitions.get_partition_keys(dynamic_partitions_store=instance)} == {
        stack.materialized,
        stack.missing,
    }
    assert {str(p) for p in instance.get_materialized_partitions(key)} == {stack.materialized}
    # a dimension value's dots: the statuses of the partitions that hold it
    expected = {SYSTEM: {"materialized", "missing"}, MATERIALIZED_T: {"materialized"}, MISSING_T: {"missing"}}

    chromium.get(f"{stack.dagster_url}/assets/{'/'.join(key.path)}?view=partitions")
    counts = f"{len(wanted)} Partitions Selected"
    wait_until(chromium, lambda d: counts in page_text(d) and read_partition_rows(d), f"'{counts}'")
    text = page_text(chromium)
    assert "Materialized (1)" in text and "Missing (1)" in text, text
    wait_until(chromium, lambda d: read_partition_rows(d) == expected, f"the partitions {expected}", timeout=20)
    screenshot(chromium, "partitions_all")

    # untick "Missing": only the materialized partition's values stay listed
    chromium.find_element("xpath", "//label[contains(., 'Missing (')]").click()
    materialized_only = {SYSTEM: {"materialized"}, MATERIALIZED_T: {"materialized"}}
    wait_until(
        chromium,
        lambda d: {t: s & {"materialized"} for t, s in read_partition_rows(d).items()} == materialized_only,
        f"only {stack.materialized} with Missing unticked",
    )
    screenshot(chromium, "partitions_materialized")


def test_automation_page_shows_the_nightly_backfill_as_a_schedule(stack, chromium):
    """The campaign sensor and the automation sensor are listed, and the nightly backfill is a schedule named for
    what it is, at the campaign's cron (UTC), found by the page's own filter for schedules; its page describes it."""
    repository = stack.defs.get_repository_def()
    sensors = {s.name for s in repository.sensor_defs}
    assert sensors == {"campaign_sensor", "campaign_automation", "warehouse_audit"}, sensors
    # the nightly backfill, and the campaign autopilot at the same cron (stopped: the campaign sets no budget)
    schedule, autopilot = (repository.get_schedule_def(n) for n in ("nightly_backfill", "campaign_autopilot"))
    assert {s.name for s in repository.schedule_defs} == {schedule.name, autopilot.name}
    assert schedule.name == "nightly_backfill" and schedule.cron_schedule == BACKFILL_SCHEDULE
    assert autopilot.name == "campaign_autopilot" and autopilot.cron_schedule == BACKFILL_SCHEDULE
    assert BACKFILL_SCHEDULE in repository.get_sensor_def("campaign_automation").description
    hour, minute = BACKFILL_SCHEDULE.split()[1], BACKFILL_SCHEDULE.split()[0]
    when = f"{int(hour):02d}:{int(minute):02d}"  # "03:30": the page writes the cron out

    names = sensors | {schedule.name}
    chromium.get(f"{stack.dagster_url}/automation")
    wait_until(chromium, lambda d: all(n in page_text(d).split("\n") for n in names), f"{sorted(names)}")
    wait_until(chromium, lambda d: not d.find_elements("css selector", "[class*=Skeleton]"), "each row's details")
    wait_until(chromium, lambda d: f"Scheduled At {when}" in page_text(d), f"'Scheduled At {when}'")
    screenshot(chromium, "automation")

    # a user looking for schedules: the filter the page offers for them lists the schedules and no sensor
    chromium.get(f"{stack.dagster_url}/automation?selection=type%3Aschedule")
    wait_until(chromium, lambda d: schedule.name in page_text(d).split("\n"), "the schedule under type:schedule")
    assert not sensors & set(page_text(chromium).split("\n"))
    screenshot(chromium, "automation_schedules")

    click_text(chromium, schedule.name)
    wait_until(chromium, lambda d: f"'{BACKFILL_SCHEDULE}'" in page_text(d), f"the cron '{BACKFILL_SCHEDULE}'")
    text = page_text(chromium)
    assert "Nightly backfill schedule" in text and "campaign_automation" in text, text[:2000]
    screenshot(chromium, "automation_nightly_backfill")

    # the sensor's page names the cron too (the list shows descriptions only as (i) tooltips)
    chromium.get(f"{stack.dagster_url}/automation")
    click_text(chromium, "campaign_automation")
    wait_until(chromium, lambda d: f"'{BACKFILL_SCHEDULE}'" in page_text(d), f"the cron '{BACKFILL_SCHEDULE}'")
    screenshot(chromium, "automation_campaign_automation")


def test_backfill_is_listed_under_overview_backfills(stack, chromium):
    chromium.get(f"{stack.dagster_url}/overview/backfills")
    wait_until(chromium, lambda d: stack.backfill_id in page_text(d), f"backfill {stack.backfill_id}")
    # the table row: the nearest element around the backfill's id that also names its target
    row = chromium.find_element(
        "xpath", f"//*[contains(text(), '{stack.backfill_id}')]/ancestor::*[contains(., 'partition')][1]"
    ).text
    screenshot(chromium, "backfills")
    assert "1 partition" in row and " / ".join(stack.quench_key.path) in row, row  # "abm / quenched_ensembles"


def test_mlflow_registry_shows_the_champion_alias(stack, chromium):
    chromium.get(f"{stack.mlflow_url}/#/models")
    table = "[data-testid=model-list-table]"
    wait_until(chromium, lambda d: stack.model_name in d.find_element("css selector", table).text, stack.model_name)
    close_assistant(chromium)  # a fresh profile opens a promotional dialog and an assistant panel
    row = chromium.find_element(
        "xpath",
        f"//*[@data-testid='model-list-table']//*[text()='{stack.model_name}']/ancestor::*[contains(., 'champion')][1]",
    )
    screenshot(chromium, "mlflow_models")
    assert "@ champion" in row.text and f"Version {stack.model_version}" in row.text, row.text

    chromium.find_element("link text", stack.model_name).click()
    versions = "[data-testid=model-version-table]"
    wait_until(chromium, lambda d: "champion" in d.find_element("css selector", versions).text, "the versions table")
    row = chromium.find_element(
        "xpath",
        f"//*[@data-testid='model-version-table']//*[text()='Version {stack.model_version}']"
        "/ancestor::*[contains(., 'champion')][1]",
    )
    screenshot(chromium, "mlflow_model")
    assert "@ champion" in row.text, row.text


def test_a_failing_check_names_its_partition_beside_the_failing_value(stack, chromium):
    """The warning of ``every_target_reached`` at the cold temperature: its check page shows the partition (as
    Dagster's Partition field and in the description, with T) and the target that was not reached."""
    models = stack.models
    expected = str(partition_key(MODEL_SYSTEM, models.cold))
    assert models.failing_partition == expected  # a partitioned check: the evaluation carries its partition
    chromium.get(f"{stack.dagster_url}/assets/{MODEL_SYSTEM}/state_point_labels?view=checks")
    click_text(chromium, models.failing_check)
    where = f"{MODEL_SYSTEM}, T = {models.cold} (partition {expected})"
    wait_until(chromium, lambda d: where in page_text(d), f"'{where}' on the check page")
    text = page_text(chromium)
    assert "Failed" in text and "stays above [0.97]" in text, text[:3000]
    assert f"Partition\n{expected}" in text, text[:3000]  # Dagster's own Partition field, not "—"
    screenshot(chromium, "check_failed_with_partition")

    click_text(chromium, "Execution history")
    history = "the partition in the execution history"
    wait_until(chromium, lambda d: expected in page_text(d).split("Execution history", 1)[-1], history)
    screenshot(chromium, "check_execution_history")


def _compare_tables(driver) -> tuple[dict[str, list[str]], dict[str, list[str]]]:  # noqa: ANN001 - WebDriver
    """MLflow's Compare page as (parameter row → cell texts, metric row → cell texts), one cell per run column."""
    params = driver.execute_script(COMPARE_PARAMS_SCRIPT)
    metrics = driver.execute_script(COMPARE_METRICS_SCRIPT)
    return ({row[0]: row[1:] for row in params}, metrics)


COMPARE_PARAMS_SCRIPT = """
const rows = [];
for (const table of document.querySelectorAll('table.mlflow-compare-run-table')) {
  for (const tr of table.querySelectorAll('tr')) rows.push(Array.from(tr.children).map(c => c.textContent.trim()));
}
return rows;
"""
#: the metrics section is two virtualized grids (names, values); cells are placed by their style's top and left
COMPARE_METRICS_SCRIPT = """
const label = Array.from(document.querySelectorAll('a')).find(a => a.textContent.trim() === 'test_pearson');
const box = label.closest('.du-bois-light-collapse-content-box');
const [names, values] = Array.from(box.querySelectorAll('[role=grid]'));
const byTop = {};
for (const c of names.querySelectorAll('[role=rowgroup] > *')) byTop[c.style.top] = [c.textContent.trim(), []];
for (const c of values.querySelectorAll('[role=rowgroup] > *')) {
  byTop[c.style.top][1].push([parseFloat(c.style.left), c.textContent.trim()]);
}
const out = {};
for (const [name, cells] of Object.values(byTop)) out[name] = cells.sort((a, b) => a[0] - b[0]).map(c => c[1]);
return out;
"""


def test_mlflow_compare_shows_both_models_per_state_point(stack, chromium, request):
    """The ``mlflow_compare`` link of ``tglassmlp_model`` (at the configured MLflow address) opens MLflow's Compare of
    the state-point runs: per state point GlassMLP beside tGlassMLP, the same metrics for both and no empty cell."""
    from glass_assets.registry.propensity_runs import STATE_POINT_METRICS

    chromium.set_window_size(2600, 1600)  # the metric grid draws only the columns in view
    request.addfinalizer(lambda: chromium.set_window_size(1600, 1000))
    chromium.get(f"{stack.dagster_url}/assets/{MODEL_SYSTEM}/tglassmlp_model")
    links = wait_until(chromium, lambda d: _metadata_links(d), "the mlflow_run and mlflow_compare links")
    screenshot(chromium, "tglassmlp_model_asset")
    assert all(link.startswith(f"{stack.mlflow_url}/") for link in links.values()), links  # not 127.0.0.1:5000
    # the figure MLflow serves renders inline on the asset page (Markdown under Dagster's 1000-character limit)
    figure = wait_until(chromium, lambda d: d.execute_script(SERVED_FIGURE_SCRIPT), "the inline figure, loaded")
    assert figure.startswith(f"{stack.mlflow_url}/get-artifact?"), figure
    screenshot(chromium, "tglassmlp_model_inline_figure")
    runs = [r for kind in ("glassmlp", "tglassmlp") for r in stack.models.state_point_runs[kind]]

    chromium.get(links["compare"])
    heading = f"Comparing {len(runs)} Runs"
    wait_until(chromium, lambda d: heading in page_text(d), f"'{heading}'")
    close_assistant(chromium)
    wait_until(chromium, lambda d: _compare_tables(d)[1].get("test_pearson"), "the metric rows")
    params, metrics = _compare_tables(chromium)
    screenshot(chromium, "mlflow_compare")

    kinds, points = params["model_kind"], list(zip(params["temperature"], params["target_cb"], strict=True))
    assert len(kinds) == len(runs) and set(kinds) == {"glassmlp", "tglassmlp"}, params
    for k in range(0, len(kinds), 2):  # per state point: GlassMLP, then tGlassMLP beside it
        assert kinds[k : k + 2] == ["glassmlp", "tglassmlp"] and points[k] == points[k + 1], params
    assert set(metrics) == set(STATE_POINT_METRICS), sorted(metrics)  # nothing one kind lacks
    for name, cells in metrics.items():
        assert len(cells) == len(runs), (name, cells)
        assert all(re.fullmatch(r"-?\d[\d.]*(e-?\d+)?", c) for c in cells), (name, cells)  # no NaN, no "-"


def test_the_readme_recipe_compares_per_state_point_in_three_clicks(stack, chromium):
    """docs/uis.md, *Compare models in the MLflow UI*: (with *Model training* chosen once) open the experiment
    ``propensity_learning_by_state_point``, tick the box above the table, *Compare*."""
    from glass_assets.registry.propensity_runs import STATE_POINT_EXPERIMENT

    chromium.get(f"{stack.mlflow_url}/#/experiments")
    close_assistant(chromium)
    click_text(chromium, "Model training")  # MLflow remembers it; the platform's own links carry it
    click_text(chromium, STATE_POINT_EXPERIMENT)  # 1
    select_all = wait_until(
        chromium, lambda d: d.find_element("css selector", "input[aria-label='Select all runs']"), "the runs table"
    )
    chromium.execute_script("arguments[0].click()", select_all)  # 2
    screenshot(chromium, "mlflow_state_point_runs")
    click_button(chromium, "Compare")  # 3
    n = sum(len(r) for r in stack.models.state_point_runs.values())
    wait_until(chromium, lambda d: f"Comparing {n} Runs" in page_text(d), f"'Comparing {n} Runs'")
    params = wait_until(chromium, lambda d: _compare_tables(d)[0].get("model_kind"), "the parameter rows")
    assert set(params) == {"glassmlp", "tglassmlp"}
    screenshot(chromium, "mlflow_compare_from_the_experiment")


def test_the_report_compares_the_models_per_state_point(stack, chromium):
    """The paper report's [J] table: per state point the best descriptor, GlassMLP and tGlassMLP as mean ± SE with n;
    no standard error printed as ± 0.0."""
    chromium.get(stack.models.report.as_uri() + "#model-comparison")
    wait_until(chromium, lambda d: d.find_elements("css selector", "#model-comparison table"), "the comparison table")
    table = chromium.find_element("css selector", "#model-comparison table")
    header = [th.text for th in table.find_elements("css selector", "th")]
    assert {"T", "⟨C_B⟩", "n", "best descriptor", "GlassMLP", "tGlassMLP"} <= set(header), header
    rows = [[td.text for td in tr.find_elements("css selector", "td")] for tr in table.find_elements("css selector",
                                                                                                   "tbody tr")]
    points = {(float(r[header.index("T")]), float(r[header.index("⟨C_B⟩")])) for r in rows}
    assert len(rows) == len(points) == len(stack.models.state_point_runs["tglassmlp"]), rows
    for row in rows:
        for column in ("GlassMLP", "tGlassMLP"):
            assert "±" in row[header.index(column)], row
        assert int(row[header.index("n")]) >= 2, row
    zero = re.findall(r"± 0\.0+(?![0-9])", page_text(chromium))  # "± 0.0", "± 0.00": a standard error shown as nil
    assert not zero, zero
    chromium.execute_script("document.getElementById('model-comparison').scrollIntoView()")
    screenshot(chromium, "report_model_comparison")


#: scrolls to the asset page's image served by MLflow; its URL once the browser has loaded it (else null)
SERVED_FIGURE_SCRIPT = """
const image = Array.from(document.images).find(i => i.src.includes('/get-artifact?'));
if (!image || !image.complete || image.naturalWidth === 0) return null;
image.scrollIntoView({block: 'center'});
return image.src;
"""


def _metadata_links(driver) -> dict[str, str] | None:  # noqa: ANN001 - WebDriver
    """The asset page's MLflow links: {"run": …, "compare": …} once both are shown."""
    hrefs = [a.get_attribute("href") or "" for a in driver.find_elements("css selector", "a[href]")]
    run = [h for h in hrefs if "/#/experiments/" in h and "/runs/" in h]
    compare = [h for h in hrefs if "/#/compare-runs" in h]
    return {"run": run[0], "compare": compare[0]} if run and compare else None
