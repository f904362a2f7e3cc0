"""The cluster recipe's UIs stay private: MLflow's basic-auth app on loopback refuses anonymous and wrong credentials
and serves the platform's client with credentials from the environment; no documented command binds a UI to a public
interface."""

import base64
import configparser
import os
import re
import secrets
import urllib.error
import urllib.request
from pathlib import Path

import psutil
import pytest

from tests.helpers.paths import ROOT
from tests.helpers.ui_stack import BIN, Service, free_port

LOOPBACK = {"127.0.0.1", "localhost", "::1"}
UI_COMMANDS = ("dagster dev", "dagster-webserver", "mlflow ui", "mlflow server")


def _get(url: str, user: str | None = None, password: str | None = None) -> int:
    request = urllib.request.Request(url)
    if user is not None:
        token = base64.b64encode(f"{user}:{password}".encode()).decode()
        request.add_header("Authorization", f"Basic {token}")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


@pytest.fixture
def auth_server(tmp_path):
    """``mlflow server --app-name basic-auth`` on a free loopback port, the admin password from the environment."""
    import mlflow.server.auth as auth

    config = configparser.ConfigParser()
    config.read(Path(auth.__file__).with_name("basic_auth.ini"))
    config["mlflow"]["database_uri"] = f"sqlite:///{tmp_path / 'basic_auth.db'}"
    config["mlflow"]["default_permission"] = "NO_PERMISSIONS"
    ini = tmp_path / "basic_auth.ini"
    with ini.open("w") as handle:
        config.write(handle)
    password = secrets.token_urlsafe(16)
    port = free_port()
    env = {
        **os.environ,
        "MLFLOW_AUTH_CONFIG_PATH": str(ini),
        "MLFLOW_AUTH_ADMIN_PASSWORD": password,
        "MLFLOW_FLASK_SERVER_SECRET_KEY": secrets.token_hex(16),
        "MLFLOW_DISABLE_TELEMETRY": "true",
        "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false",
    }
    command = [
        str(BIN / "mlflow"), "server", "--app-name", "basic-auth", "--host", "127.0.0.1", "--port", str(port),
        "--workers", "1", "--backend-store-uri", f"sqlite:///{tmp_path / 'mlflow.db'}",
        "--default-artifact-root", (tmp_path / "artifacts").as_uri(),
    ]
    service = Service("mlflow basic-auth", command, env, tmp_path / "mlflow-auth.log")
    service.url = f"http://127.0.0.1:{port}"
    try:
        service.wait_for(f"{service.url}/health", timeout=180)
        yield service, config["mlflow"]["admin_username"], password
    finally:
        service.stop()


def test_the_basic_auth_server_refuses_strangers_and_serves_the_platform_with_credentials_from_the_environment(
    auth_server, tmp_path, monkeypatch
):
    service, admin, password = auth_server
    search = f"{service.url}/api/2.0/mlflow/experiments/search?max_results=1"
    assert _get(search) == 401  # anonymous
    assert _get(search, admin, password + "x") == 401  # a wrong password
    assert _get(search, admin, password) == 200

    # it listens on loopback only
    ports = {c.laddr.ip for p in [psutil.Process(service.process.pid), *psutil.Process(service.process.pid).children(
        recursive=True)] for c in p.net_connections(kind="inet") if c.status == psutil.CONN_LISTEN}
    assert ports and ports <= {"127.0.0.1"}, ports

    # the platform's client, credentials from the environment only
    import mlflow

    from glass_assets.registry.tracking import MLflowResource

    monkeypatch.setenv("MLFLOW_TRACKING_USERNAME", admin)
    monkeypatch.setenv("MLFLOW_TRACKING_PASSWORD", password)
    tracking = MLflowResource(tracking_uri=service.url, artifact_root=str(tmp_path / "client-artifacts"))
    client = tracking.activate()
    experiment = tracking.experiment_id("auth_check")
    with mlflow.start_run(experiment_id=experiment) as run:
        mlflow.log_metric("validation_accuracy", 0.9)
    client.create_registered_model("auth_check_model")
    version = client.create_model_version("auth_check_model", f"runs:/{run.info.run_id}/model", run.info.run_id)
    assert client.get_model_version("auth_check_model", version.version).run_id == run.info.run_id

    monkeypatch.setenv("MLFLOW_TRACKING_PASSWORD", "wrong")
    with pytest.raises(mlflow.exceptions.MlflowException, match="401|Unauthorized|credentials"):
        MLflowResource(tracking_uri=service.url).activate().get_experiment(experiment)


def _documented_commands() -> list[tuple[str, str]]:
    """(file: line, command) of every UI server command in the README, docs and scripts (continuations joined)."""
    files = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")), *sorted((ROOT / "scripts").glob("*.sh"))]
    found = []
    for path in files:
        text = re.sub(r"\\\n\s*", " ", path.read_text())
        for number, line in enumerate(text.splitlines(), 1):
            starts = line.lstrip().startswith((".venv", "DAGSTER_HOME"))
            if any(command in line for command in UI_COMMANDS) and ("--host" in line or " -h " in line or starts):
                found.append((f"{path.relative_to(ROOT)}:{number}", line))
    return found


def test_no_documented_command_binds_a_ui_to_a_public_interface():
    commands = _documented_commands()
    assert any("dagster-webserver" in c for _, c in commands) and any("basic-auth" in c for _, c in commands)
    for where, command in commands:
        hosts = re.findall(r"(?:--host|\s-h)[ =](\S+)", command)
        assert all(host.strip("'\"") in LOOPBACK for host in hosts), f"{where}: {command}"
