"""The Dagster and MLflow UIs as a user sees them, in headless Chromium.

One module-scoped stack: a temporary Dagster instance (the platform's ``dagster.yaml``) whose campaign file
wants ``abm`` quenched at T = 2.0 and 0.05 and its liquid-versus-glass stage, with ``abm/quenched_ensembles``
materialized for real at 2.0 (LAMMPS, tiny profile) and a backfill of 0.05 launched through the webserver's
GraphQL API; ``dagster-webserver`` on the repository's ``workspace.yaml`` with ``GLASS_CAMPAIGN`` pointing at
that file; ``mlflow server`` on a temporary SQLite store holding one registered model with the ``champion``
alias. Expected names come from ``build_definitions`` of that campaign (what the webserver loads) and the
instance, never from a list written here. Screenshots of every page go to ``$GLASS_TEST_ARTIFACTS/browser`` (default
``test-artifacts/browser``).
"""

import os
from collections import Counter
from dataclasses import dataclass

import pytest

from tests.conftest import tiny_study
from tests.ui_stack import (
    Service,
    browser_missing_reason,
    chromium_driver,
    click_icon_button,
    click_text,
    copy_instance_config,
    edge_ends,
    graphql,
    nearest_node,
    page_text,
    read_lineage_graph,
    read_partition_rows,
    register_champion,
    resolve_labels,
    screenshot,
    start_dagster_webserver,
    start_mlflow_server,
    wait_for_dagster,
    wait_until,
    zoom_lineage_to_fit,
)

pytestmark = [pytest.mark.browser, pytest.mark.lammps]

SYSTEM = "abm"
MATERIALIZED_T, MISSING_T = "2.0", "0.05"  # abm's T_L and T_G, which its liquid_glass stage needs
#: not the default "0 2 * * *", so the Automation page can only show it if it comes from this file
BACKFILL_SCHEDULE = "30 3 * * *"
CAMPAIGN = (
    f'backfill_schedule: "{BACKFILL_SCHEDULE}"\n'
    f"systems:\n  {SYSTEM}:\n    quench: [{MATERIALIZED_T}, {MISSING_T}]\n    liquid_glass: true\n"
)
QUENCH_ASSET = "quenched_ensembles"

LAUNCH_BACKFILL = """
mutation($params: LaunchBackfillParams!) { launchPartitionBackfill(backfillParams: $params) {
  __typename
  ... on LaunchBackfillSuccess { backfillId }
  ... on PythonError { message }
  ... on UnauthorizedError { message }
  ... on PartitionSetNotFoundError { message }
  ... on InvalidSubsetError { message }
} }
"""


@dataclass
class Stack:
    dagster_url: str
    mlflow_url: str
    defs: object  # Definitions the webserver builds from the temporary campaign
    campaign: object  # that Campaign
    instance: object  # DagsterInstance on the webserver's DAGSTER_HOME
    quench_key: object  # AssetKey abm/quenched_ensembles
    materialized: str  # its partition key at MATERIALIZED_T
    missing: str  # its partition key at MISSING_T
    backfill_id: str
    model_name: str
    model_version: str


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
    from dagster import AssetKey, DagsterInstance

    from glass_assets.automation.sensors import sync_partitions
    from glass_assets.campaign import load_campaign
    from glass_assets.definitions import build_definitions
    from glass_assets.ensembles.assets import QUENCHED_ENSEMBLES
    from glass_assets.graph import materialize_templates
    from glass_assets.partitions import partition_key
    from glass_assets.resources import LocalProcessLauncher, WarehouseResource
    from glass_assets.tracking import MLflowResource, model_name

    base = tmp_path_factory.mktemp("ui")
    home = base / "dagster_home"
    copy_instance_config(home)
    campaign_file = base / "campaign.yaml"
    campaign_file.write_text(CAMPAIGN)
    campaign = load_campaign(campaign_file)
    # what the webserver builds from GLASS_CAMPAIGN at import (this process's definitions follow campaign.yaml)
    defs = build_definitions(campaign)
    dagster_tracking = f"sqlite:///{base / 'dagster_mlflow.db'}"
    env = {
        **os.environ,
        "DAGSTER_HOME": str(home),
        "GLASS_CAMPAIGN": str(campaign_file),
        "GLASS_WAREHOUSE": str(base / "warehouse.duckdb"),
        "GLASS_SCRATCH": str(base / "scratch"),
        "MLFLOW_TRACKING_URI": dagster_tracking,
    }
    services: list[Service] = []
    instance = None
    try:
        # the instance's storage is created here, before the webserver opens it: two processes creating the same
        # sqlite schema at once race on its migration table (seen on a loaded machine)
        instance = DagsterInstance.from_config(str(home))
        # the webserver loads the code location while the instance gets its data
        dagster = start_dagster_webserver(env, base)
        services.append(dagster)
        registry_uri, registry_artifacts = f"sqlite:///{base / 'registry.db'}", base / "registry_artifacts"
        registry_artifacts.mkdir()
        name = model_name(SYSTEM)
        version = register_champion(registry_uri, registry_artifacts, name)
        mlflow = start_mlflow_server(registry_uri, registry_artifacts, base)
        services.append(mlflow)

        changes = sync_partitions(instance, campaign)  # what campaign_sensor's tick does
        assert changes, "the campaign added no partition"
        key = QUENCHED_ENSEMBLES.key(SYSTEM)
        assert key in defs.resolve_asset_graph().get_all_asset_keys(), key
        assert key == AssetKey([SYSTEM, QUENCH_ASSET])
        materialized, missing = str(partition_key(SYSTEM, MATERIALIZED_T)), str(partition_key(SYSTEM, MISSING_T))
        resources = {
            "study": tiny_study(base),
            "simulation": LocalProcessLauncher(),
            "warehouse": WarehouseResource(path=str(base / "warehouse.duckdb")),
            "mlflow_tracking": MLflowResource(tracking_uri=dagster_tracking, artifact_root=str(base / "artifacts")),
        }
        result = materialize_templates([QUENCHED_ENSEMBLES], materialized, instance, resources=resources)
        assert result.success

        wait_for_dagster(dagster)
        mlflow.wait_for(f"{mlflow.url}/health", timeout=120)
        launched = graphql(
            dagster.url,
            LAUNCH_BACKFILL,
            {
                "params": {
                    "partitionNames": [missing],
                    "assetSelection": [{"path": list(key.path)}],
                    "title": "browser test backfill",
                }
            },
        )["launchPartitionBackfill"]
        assert launched["__typename"] == "LaunchBackfillSuccess", launched
        yield Stack(
            dagster.url,
            mlflow.url,
            defs,
            campaign,
            instance,
            key,
            materialized,
            missing,
            launched["backfillId"],
            name,
            version,
        )
    finally:
        for service in reversed(services):
            service.stop()
        if instance is not None:
            instance.dispose()


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


def test_automation_page_lists_both_sensors_and_the_nightly_cron(stack, chromium):
    """The campaign sensor and the automation sensor are listed; the nightly backfill is the cron clause of the
    assets' automation condition (no schedule), named in campaign_automation's description."""
    repository = stack.defs.get_repository_def()
    assert not repository.schedule_defs, [s.name for s in repository.schedule_defs]
    names = {s.name for s in repository.sensor_defs}
    assert names == {"campaign_sensor", "campaign_automation"}, names
    assert BACKFILL_SCHEDULE in repository.get_sensor_def("campaign_automation").description

    chromium.get(f"{stack.dagster_url}/automation")
    wait_until(chromium, lambda d: all(n in page_text(d).split("\n") for n in names), f"{sorted(names)}")
    wait_until(chromium, lambda d: not d.find_elements("css selector", "[class*=Skeleton]"), "each row's details")
    screenshot(chromium, "automation")

    # the list shows each sensor's description only as an (i) tooltip: its page shows it as text
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
    # a fresh profile opens a promotional dialog and an assistant panel: close both, as a user would
    for button in chromium.find_elements("css selector", "[role=dialog] button[aria-label=Close]"):
        button.click()
    wait_until(
        chromium,
        lambda d: not [e for e in d.find_elements("css selector", "[role=dialog]") if e.is_displayed()],
        "the dialog closed",
    )
    for button in chromium.find_elements("css selector", "button[aria-label=Close]"):
        if button.is_displayed():
            button.click()
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
