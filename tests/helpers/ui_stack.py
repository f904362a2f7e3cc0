"""A live UI stack for the browser tests: a small materialized Dagster instance, ``dagster-webserver`` and
``mlflow server`` on loopback, and headless Chromium driven by selenium.

Every server is started in its own process group and stopped by killing that group (only the PIDs started
here). Chromium and its driver are Debian's (``/usr/bin/chromium``, ``/usr/bin/chromedriver``; see
``scripts/install_browser.sh``): selenium is given both paths, so it never downloads a browser.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from contextlib import suppress
from pathlib import Path
from typing import Any

from tests.helpers.paths import ROOT

BIN = Path(sys.executable).parent
CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
#: generous: two slow cores shared with other work; every wait polls and returns as soon as it holds
UI_TIMEOUT = 60.0


def artifacts_dir() -> Path:
    """``$GLASS_TEST_ARTIFACTS/browser`` (default ``test-artifacts/browser`` at the repository root)."""
    folder = Path(os.environ.get("GLASS_TEST_ARTIFACTS", ROOT / "test-artifacts")) / "browser"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def browser_missing_reason() -> str | None:
    """Why headless Chromium cannot be driven here, or None when it can."""
    missing = [str(p) for p in (CHROMIUM, CHROMEDRIVER) if not p.exists()]
    if missing:
        return f"{', '.join(missing)} not installed; run scripts/install_browser.sh (Debian chromium, chromium-driver)"
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed; pip install -e '.[dev]'"
    return None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Service:
    """A server process in its own session (process group); :meth:`stop` kills that group only."""

    def __init__(self, name: str, command: list[str], env: dict[str, str], log: Path, cwd: Path = ROOT) -> None:
        self.name, self.log = name, log
        self.url = ""
        self._log_file = log.open("wb")
        self.process = subprocess.Popen(
            command, cwd=cwd, env=env, stdout=self._log_file, stderr=subprocess.STDOUT, start_new_session=True
        )

    def log_tail(self, n: int = 40) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-n:])

    def wait_for(self, url: str, timeout: float = 120.0, ok: Callable[[bytes], bool] = lambda body: True) -> bytes:
        """GET ``url`` until it answers 200 with a body ``ok`` accepts; fail with the log tail if the server
        exits or the time runs out."""
        deadline = time.monotonic() + timeout
        last = "no answer"
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.process.returncode}:\n{self.log_tail()}")
            try:
                with urllib.request.urlopen(url, timeout=5) as response:
                    body = response.read()
                    if response.status == 200 and ok(body):
                        return body
                    last = f"HTTP {response.status}: {body[:200]!r}"
            except (OSError, urllib.error.URLError) as error:
                last = str(error)
            time.sleep(0.5)
        raise TimeoutError(f"{self.name} did not answer {url} within {timeout:.0f} s ({last}):\n{self.log_tail()}")

    def stop(self) -> None:
        """SIGTERM to the server's process group, SIGKILL after 10 s."""
        with suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            with suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)
        # workers that outlived their parent (uvicorn/gunicorn children) are still in the group
        with suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self._log_file.close()


def start_dagster_webserver(env: dict[str, str], log_dir: Path) -> Service:
    """``dagster-webserver -w workspace.yaml`` on a free loopback port; returns at once (:func:`wait_for_dagster`)."""
    port = free_port()
    command = [str(BIN / "dagster-webserver"), "-w", str(ROOT / "workspace.yaml"), "-h", "127.0.0.1", "-p", str(port)]
    service = Service("dagster-webserver", command, env, log_dir / "dagster-webserver.log")
    service.url = f"http://127.0.0.1:{port}"
    return service


def wait_for_dagster(service: Service, timeout: float = 180.0) -> None:
    """Until ``/server_info`` answers and GraphQL reports every code location loaded (a load error fails at once)."""
    deadline = time.monotonic() + timeout
    service.wait_for(f"{service.url}/server_info", timeout=timeout)
    statuses: dict[str, tuple[str, str | None]] = {}
    while time.monotonic() < deadline:
        entries = graphql(service.url, LOCATIONS_QUERY)["workspaceOrError"]["locationEntries"]
        statuses = {e["name"]: (e["loadStatus"], (e["locationOrLoadError"] or {}).get("__typename")) for e in entries}
        if any(kind == "PythonError" for _, kind in statuses.values()):
            raise RuntimeError(f"a code location failed to load: {entries}\n{service.log_tail()}")
        if statuses and all(s == ("LOADED", "RepositoryLocation") for s in statuses.values()):
            return
        time.sleep(1)
    raise TimeoutError(f"code locations not loaded within {timeout:.0f} s: {statuses}\n{service.log_tail()}")


LOCATIONS_QUERY = """
query { workspaceOrError { ... on Workspace { locationEntries {
  name loadStatus locationOrLoadError { __typename ... on PythonError { message } } } } } }
"""


def start_mlflow_server(tracking_uri: str, artifact_root: Path, log_dir: Path, port: int | None = None) -> Service:
    """``mlflow server`` (one worker) on ``port`` (default: a free loopback port); returns at once (wait on
    ``/health``)."""
    port = port or free_port()
    command = [
        str(BIN / "mlflow"),
        "server",
        "--backend-store-uri",
        tracking_uri,
        "--default-artifact-root",
        artifact_root.as_uri(),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        "1",
    ]
    # no job runner (huey consumers): the registry UI needs none
    env = {**os.environ, "MLFLOW_DISABLE_TELEMETRY": "true", "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}
    service = Service("mlflow server", command, env, log_dir / "mlflow-server.log")
    service.url = f"http://127.0.0.1:{port}"
    return service


def graphql(url: str, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
    """POST a query to the webserver's ``/graphql``; its ``data``, or an error naming GraphQL's errors."""
    request = urllib.request.Request(
        f"{url}/graphql",
        data=json.dumps({"query": query, "variables": variables or {}}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        answer = json.loads(response.read())
    if answer.get("errors"):
        raise RuntimeError(f"GraphQL errors: {answer['errors']}")
    return answer["data"]


def chromium_driver(download_dir: Path | None = None):  # noqa: ANN201 - selenium.webdriver.Chrome
    """Headless Debian Chromium through Debian's chromedriver, 1600 × 1000 (no browser download)."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service as DriverService

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1600,1000"):
        options.add_argument(argument)
    driver = webdriver.Chrome(options=options, service=DriverService(executable_path=str(CHROMEDRIVER)))
    driver.set_page_load_timeout(UI_TIMEOUT)
    return driver


def wait_until(driver: Any, condition: Callable[[Any], Any], what: str, timeout: float = UI_TIMEOUT) -> Any:
    """WebDriverWait on ``condition``; a timeout names ``what`` and saves a screenshot of the page."""
    from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException, TimeoutException
    from selenium.webdriver.support.ui import WebDriverWait

    ignored = (NoSuchElementException, StaleElementReferenceException)
    try:
        return WebDriverWait(driver, timeout, poll_frequency=0.5, ignored_exceptions=ignored).until(condition)
    except TimeoutException:
        shot = artifacts_dir() / f"timeout_{''.join(c if c.isalnum() else '_' for c in what)[:60]}.png"
        driver.save_screenshot(str(shot))
        raise AssertionError(f"the page never showed {what} within {timeout:.0f} s (screenshot {shot})") from None


def click_icon_button(driver: Any, icon: str, what: str) -> None:
    """Click the last button showing the icon ``icon`` (its ``aria-label``), retrying while the page re-renders."""

    def click(d: Any) -> bool:
        d.find_elements("xpath", f"//button[.//*[@aria-label='{icon}']]")[-1].click()
        return True

    wait_until(driver, click, what)


def click_text(driver: Any, text: str) -> None:
    """Click the innermost element whose own text contains ``text``, retrying while the page re-renders."""

    def click(d: Any) -> bool:
        d.find_element("xpath", f"//*[contains(text(), '{text}')]").click()
        return True

    wait_until(driver, click, f"'{text}' to click")


def click_button(driver: Any, text: str) -> None:
    """Click the visible button whose text is exactly ``text``, retrying while the page re-renders."""

    def click(d: Any) -> bool:
        buttons = [b for b in d.find_elements("css selector", "button") if b.is_displayed() and b.text.strip() == text]
        buttons[0].click()
        return True

    wait_until(driver, click, f"the button '{text}'")


def close_assistant(driver: Any) -> None:
    """Close what MLflow 3 opens on a fresh browser profile at a local server, as a user would: a promotional dialog
    and the *MLflow Assistant* panel (it opens once; MLflow remembers it closed)."""
    for button in driver.find_elements("css selector", "[role=dialog] button[aria-label=Close]"):
        if button.is_displayed():
            button.click()
    wait_until(
        driver,
        lambda d: not [e for e in d.find_elements("css selector", "[role=dialog]") if e.is_displayed()],
        "the dialog closed",
    )
    for button in driver.find_elements("css selector", "button[aria-label=Close]"):
        if button.is_displayed():
            button.click()


def page_text(driver: Any) -> str:
    return driver.find_element("tag name", "body").text


def screenshot(driver: Any, name: str) -> Path:
    path = artifacts_dir() / f"{name}.png"
    driver.save_screenshot(str(path))
    return path


def copy_instance_config(home: Path) -> None:
    """A fresh DAGSTER_HOME with the platform's ``dagster.yaml`` (no "Join the community" dialog, no telemetry)."""
    home.mkdir(parents=True, exist_ok=True)
    shutil.copy(ROOT / "dagster_home" / "dagster.yaml", home / "dagster.yaml")


def register_champion(tracking_uri: str, artifact_root: Path, name: str, metric: str = "validation_accuracy") -> str:
    """A registered model ``name`` with one version (a run with ``metric`` and a small artifact), given the
    ``champion`` alias by the platform's own rule (:func:`glass_assets.registry.tracking.promote_if_not_worse`).
    Returns the version. A client of its own: mlflow's global tracking URI (and its environment variable) stay
    as they were."""
    from mlflow import MlflowClient

    from glass_assets.registry.tracking import promote_if_not_worse

    client = MlflowClient(tracking_uri, tracking_uri)
    experiment = client.create_experiment("browser_test", artifact_location=(artifact_root / "browser_test").as_uri())
    run = client.create_run(experiment, run_name="tiny_cnn")
    client.log_metric(run.info.run_id, metric, 0.75)
    note = artifact_root / "note.txt"
    note.write_text("a placeholder artifact: the browser test needs a registry entry, not a trained network\n")
    client.log_artifact(run.info.run_id, str(note), artifact_path="model")
    client.set_terminated(run.info.run_id)
    client.create_registered_model(name, description="browser test model")
    version = client.create_model_version(name, f"{run.info.artifact_uri}/model", run_id=run.info.run_id)
    alias, _ = promote_if_not_worse(client, name, version.version, metric)
    assert alias == "champion", alias
    return version.version


# ---- reading Dagster's lineage graph (its production build has no data-testids) -----------------------------


def label_matches(label: str, name: str) -> bool:
    """Whether a node label shows ``name``: equal, or middle-truncated ('dyn…_heterogeneity')."""
    if label == name:
        return True
    if "…" not in label:
        return False
    head, tail = label.split("…", 1)
    return len(name) > len(head) + len(tail) and name.startswith(head) and name.endswith(tail)


def resolve_labels(labels: list[str], names: list[str]) -> list[str | None]:
    """The asset name each label shows (``names`` may repeat: one per asset); None for a label that shows none.

    Exact labels first, then truncated ones in order, each taking a name not yet taken."""
    from collections import Counter

    left = Counter(names)
    resolved: list[str | None] = [None] * len(labels)
    for exact in (True, False):
        for i, label in enumerate(labels):
            if resolved[i] is not None or (exact and "…" in label):
                continue
            for name in sorted(left):
                if left[name] and label_matches(label, name):
                    resolved[i], left[name] = name, left[name] - 1
                    break
    return resolved


GRAPH_SCRIPT = """
const nodes = [], groups = [], edges = [];
for (const f of document.querySelectorAll('foreignObject')) {
  const box = ['x', 'y', 'width', 'height'].map(a => parseFloat(f.getAttribute(a)));
  const name = f.querySelector('[class*="AssetNode_assetName"]');
  const header = f.querySelector('[class*="ExpandedGroupNode_groupNodeHeaderBox"]');
  if (name) nodes.push([name.textContent.trim(), ...box]);
  else if (header) groups.push([header.textContent.trim(), ...box]);
}
for (const p of document.querySelectorAll('svg path')) {
  if ((p.getAttribute('stroke') || '').startsWith('var(--color-lineage')) edges.push(p.getAttribute('d'));
}
return [nodes, groups, edges];
"""


BACKGROUND_POINT_SCRIPT = """
const svg = Array.from(document.querySelectorAll('svg')).find(s => s.querySelector('foreignObject'));
const host = svg.parentElement, r = host.getBoundingClientRect();
for (let y = r.top + 8; y < r.bottom - 8; y += 16) {
  for (let x = r.left + 8; x < r.right - 80; x += 16) {
    const e = document.elementFromPoint(x, y);
    const free = e && host.contains(e) && !e.closest('foreignObject') && !e.closest('button');
    if (free && e.tagName !== 'path') return [x, y];
  }
}
return null;
"""


def zoom_lineage_to_fit(driver: Any) -> None:
    """Double-click the graph's background: Dagster's viewport zooms to fit the whole graph (at most 1:1)."""
    from selenium.webdriver.common.actions.action_builder import ActionBuilder

    point = wait_until(driver, lambda d: d.execute_script(BACKGROUND_POINT_SCRIPT), "a free spot on the graph")
    actions = ActionBuilder(driver)
    actions.pointer_action.move_to_location(int(point[0]), int(point[1])).double_click()
    actions.perform()


Box = tuple[str, float, float, float, float]  # (label or title, x, y, width, height) in the graph's coordinates


def read_lineage_graph(driver: Any) -> tuple[list[Box], list[str], list[str]]:
    """(asset nodes as (label, x, y, width, height), expanded group titles, edge paths' ``d``) as rendered now."""
    nodes, groups, edges = driver.execute_script(GRAPH_SCRIPT)
    return [tuple(n) for n in nodes], [g[0] for g in groups], edges


def read_lineage_groups(driver: Any) -> list[Box]:
    """Expanded groups as (title, x, y, width, height): a group's box encloses its nodes."""
    return [tuple(g) for g in driver.execute_script(GRAPH_SCRIPT)[1]]


def labels_by_group(nodes: list[Box], groups: list[Box]) -> dict[str, list[str]]:
    """Group title → the labels of the nodes drawn inside its box (a node outside every group: key '')."""
    out: dict[str, list[str]] = {}
    for label, x, y, w, h in nodes:
        inside = [g for g in groups if g[1] <= x and x + w <= g[1] + g[3] and g[2] <= y and y + h <= g[2] + g[4]]
        out.setdefault(inside[0][0] if inside else "", []).append(label)
    return out


def edge_ends(d: str) -> tuple[tuple[float, float], tuple[float, float]]:
    """First and last point of an SVG path ``d`` ('M x,y C … x,y')."""
    import re

    numbers = [float(v) for v in re.findall(r"-?\d+(?:\.\d+)?(?:e-?\d+)?", d)]
    return (numbers[0], numbers[1]), (numbers[-2], numbers[-1])


def nearest_node(point: tuple[float, float], nodes: list[tuple[str, float, float, float, float]]) -> int:
    """Index of the node whose box is closest to ``point`` (0 inside it): an edge starts and ends at a node's side."""

    def distance(node: tuple[str, float, float, float, float]) -> float:
        _, x, y, w, h = node
        dx = max(x - point[0], 0.0, point[0] - x - w)
        dy = max(y - point[1], 0.0, point[1] - y - h)
        return (dx * dx + dy * dy) ** 0.5

    return min(range(len(nodes)), key=lambda i: distance(nodes[i]))


PARTITION_ROWS_SCRIPT = """
return Array.from(document.querySelectorAll('[class*="AssetEventList_assetListRow"]')).map(row => {
  const title = row.querySelector('[title]');
  const dots = Array.from(row.querySelectorAll('div[style*="border-radius: 100%"]')).map(d => d.style.background);
  return [title ? title.getAttribute('title') : row.textContent.trim(), dots];
});
"""
#: colours of the status dots beside a partition on an asset's Partitions tab
DOT_STATUS = {
    "var(--color-accent-green)": "materialized",
    "var(--color-accent-gray)": "missing",
    "var(--color-accent-red)": "failed",
    "var(--color-accent-blue)": "materializing",
}


def read_partition_rows(driver: Any) -> dict[str, set[str]]:
    """Partition (or dimension value) → statuses its dots show, as listed on an asset's Partitions tab."""
    rows = driver.execute_script(PARTITION_ROWS_SCRIPT)
    return {title: {DOT_STATUS.get(dot, dot) for dot in dots} for title, dots in rows}
