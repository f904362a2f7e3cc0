"""MLflow 3 conventions: the propensity pyfunc is logged as code (nothing pickled) and loads by alias in a fresh
interpreter; a training run records its warehouse rows as datasets (training, validation, test) whose digests
DuckDB reproduces from the warehouse file."""

import functools
import json
import logging
import os
import subprocess
import sys
import warnings
from pathlib import Path

import duckdb
import mlflow
import numpy as np
import pytest
import torch
import yaml
from dagster import DagsterInstance

from glass_assets.graph import materialize_templates
from glass_assets.propensity_learning.tglassmlp_model import TGLASSMLP_MODEL
from glass_assets.registry.propensity import (
    PropensityEnsembleModel,
    example_input,
    load_champion_ensembles,
    log_ensembles,
)
from glass_assets.registry.tracking import MLflowResource
from glass_assets.resources import LocalProcessLauncher, StudySettings, WarehouseResource
from glass_assets.warehouse import Warehouse
from glass_core.learning.tglassmlp import TGlassMLPEnsemble
from tests.helpers.paths import TINY_PROFILES
from tests.helpers.transferability import SYSTEM, TARGETS, TEMPERATURES, write_study

pytestmark = pytest.mark.usefixtures("one_torch_thread")

#: the columns of a propensity split's rows (glass_assets.propensity_learning.datasets.SPLIT_COLUMNS)
ROW_COLUMNS = "l.system, l.temperature, l.target_cb, l.sample, l.particle, l.type, d.features, l.propensity"
LABELLED_ROWS = (
    "FROM state_point_labels AS l JOIN mlp_descriptors AS d ON d.system = l.system AND d.temperature = l.temperature "
    "AND d.sample = l.sample AND d.particle = l.particle"
)

FRESH_LOAD = """
import sys
import mlflow, numpy as np, pandas as pd
model = mlflow.pyfunc.load_model(sys.argv[1])
np.save(sys.argv[3], model.predict(pd.read_parquet(sys.argv[2])))
served = model.unwrap_python_model()
print(type(served).__name__, list(served.ensembles))
"""


@pytest.fixture
def no_requirement_inference(monkeypatch):
    """pip requirements given, so MLflow skips inferring them by loading the model in a subprocess (slow)."""
    monkeypatch.setattr(mlflow.pyfunc, "log_model", functools.partial(mlflow.pyfunc.log_model, pip_requirements=[]))


def _tracking(tmp_path) -> MLflowResource:
    return MLflowResource(tracking_uri=f"sqlite:///{tmp_path / 'mlflow.db'}", artifact_root=str(tmp_path / "artifacts"))


def test_the_propensity_pyfunc_is_code_and_loads_by_alias_in_a_fresh_interpreter(
    tmp_path, caplog, no_requirement_inference
):
    torch.manual_seed(0)
    ensemble = TGlassMLPEnsemble.build([f"x{k}" for k in range(6)], 2, 3).eval()
    with torch.no_grad():
        ensemble.features.mean.uniform_(-1.0, 1.0)
        ensemble.features.std.uniform_(0.5, 2.0)
    rng = np.random.default_rng(0)
    n = 50
    state = np.where((np.arange(n) % 2 == 0)[:, None], [0.4, 0.3], [0.5, 0.7])
    example = example_input(ensemble.feature_names, rng.normal(size=(n, 6)), rng.integers(0, 2, n), state)
    in_process = PropensityEnsembleModel()
    in_process.ensembles = {None: ensemble}
    expected = in_process.predict(None, example)

    tracking = _tracking(tmp_path)
    client = tracking.activate()
    name = "tglassmlp_lineage_test"
    mlflow_logger = logging.getLogger("mlflow")  # MLflow's loggers do not propagate to caplog's root handler
    mlflow_logger.addHandler(caplog.handler)
    try:
        with warnings.catch_warnings(record=True) as logged_warnings:
            warnings.simplefilter("always")
            with mlflow.start_run(experiment_id=tracking.experiment_id("lineage")) as run:
                version = log_ensembles({None: ensemble}, example, name)
    finally:
        mlflow_logger.removeHandler(caplog.handler)
    client.set_registered_model_alias(name, "champion", version)
    said = [str(w.message) for w in logged_warnings] + [r.getMessage() for r in caplog.records]
    assert not [m for m in said if "cloudpickle" in m.lower()]

    # a first-class logged model: named, of this run, its code and artifacts stored, no pickle
    source = client.get_model_version(name, version).source
    assert source.startswith("models:/m-")  # the version points at a logged model, not at run artifacts
    logged = mlflow.get_logged_model(source.removeprefix("models:/"))
    assert logged.name == "model" and logged.source_run_id == run.info.run_id
    files = {Path(f.path).name for f in mlflow.artifacts.list_artifacts(artifact_uri=logged.artifact_location)}
    assert "propensity_pyfunc.py" in files and "python_model.pkl" not in files and "artifacts" in files

    (tmp_path / "input").mkdir()
    example.to_parquet(tmp_path / "input" / "example.parquet")
    environment = {**os.environ, "MLFLOW_TRACKING_URI": tracking.tracking_uri}
    done = subprocess.run(
        [sys.executable, "-W", "always", "-c", FRESH_LOAD, f"models:/{name}@champion",
         str(tmp_path / "input" / "example.parquet"), str(tmp_path / "served.npy")],
        capture_output=True, text=True, env=environment, cwd=tmp_path, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "cloudpickle" not in (done.stderr + done.stdout).lower(), done.stderr
    assert done.stdout.split() == ["PropensityEnsembleModel", "[None]"]
    np.testing.assert_allclose(np.load(tmp_path / "served.npy"), expected, rtol=1e-6, atol=1e-7)

    ensembles, champion = load_champion_ensembles(client, name)  # in process, as the assets read it
    assert champion == version and list(ensembles) == [None]
    served = PropensityEnsembleModel()
    served.ensembles = ensembles
    np.testing.assert_allclose(served.predict(None, example), expected, rtol=1e-6, atol=1e-7)


@pytest.fixture
def crafted_study(tmp_path, monkeypatch):
    """The crafted warehouse of ``tests/helpers/transferability.py`` (three labelled temperatures), a tiny profile."""
    campaign = tmp_path / "campaign.yaml"
    campaign.write_text(f"systems:\n  {SYSTEM}:\n    swap_mc: {list(TEMPERATURES)}\n"
                        f"    propensity: {list(TEMPERATURES)}\n    propensity_learning: true\n")
    monkeypatch.setenv("GLASS_CAMPAIGN", str(campaign))
    profiles = yaml.safe_load(TINY_PROFILES.read_text())
    learning = profiles["tiny"]["propensity_learning"]
    learning["state_point_targets"] = list(TARGETS)
    learning["training"] = {"preset": "demo", "tglass_mse_schedule": [[4, 0.01]],
                            "tglass_glassmlp_schedule": [[4, 0.002]], "n_networks": 1, "n_networks_equal_cb": 1,
                            "tolerance": 0.9, "split_fractions": [0.6, 0.2, 0.2]}
    path = tmp_path / "profiles.yaml"
    path.write_text(yaml.safe_dump({"tiny": profiles["tiny"]}))
    resources = {
        "study": StudySettings(profile="tiny", profiles_file=str(path), scratch_dir=str(tmp_path / "scratch")),
        "simulation": LocalProcessLauncher(),
        "warehouse": WarehouseResource(path=str(tmp_path / "warehouse.duckdb")),
        "mlflow_tracking": _tracking(tmp_path),
    }
    store = Warehouse(resources["warehouse"].path)
    store.ensure_writable()
    write_study(store)
    return resources


def _digest(con: duckdb.DuckDBPyConnection, rows_sql: str) -> tuple[int, int]:
    """(rows, sum of DuckDB row hashes mod 2⁶⁴) of a query's rows, columns :data:`ROW_COLUMNS` in order."""
    rows, total = con.execute(
        "SELECT count(*), coalesce(sum(hash(system, temperature, target_cb, sample, particle, type, features, "
        f"propensity)), 0)::VARCHAR FROM ({rows_sql})"
    ).fetchone()
    return int(rows), int(total) % 2**64


def _text(digest: tuple[int, int]) -> str:
    return f"{digest[0]}:{digest[1]:016x}"


def test_a_training_run_records_its_warehouse_rows_as_datasets(crafted_study, no_requirement_inference):
    resources = crafted_study
    result = materialize_templates([TGLASSMLP_MODEL], instance=DagsterInstance.ephemeral(), resources=resources,
                                   partition_key=SYSTEM)
    assert result.success
    client = resources["mlflow_tracking"].activate()
    version = client.get_model_version_by_alias(f"tglassmlp_{SYSTEM}", "champion")
    assert version.tags["data.data_sha256"]  # the existing lineage tags stay
    run = client.get_run(version.run_id)  # the registered version's run
    inputs = {next(t.value for t in i.tags if t.key == "mlflow.data.context"): i for i in run.inputs.dataset_inputs}
    assert set(inputs) == {"training", "validation", "test"}

    warehouse = resources["warehouse"].path
    types = resources["study"].load().propensity_learning.type_indices(SYSTEM)
    with duckdb.connect(warehouse, read_only=True) as con:
        # every labelled row of the trained types, straight from the warehouse: no split, no code of the platform
        everything = _digest(con, f"SELECT {ROW_COLUMNS} {LABELLED_ROWS} WHERE l.system = '{SYSTEM}' AND "
                                  f"l.propensity IS NOT NULL AND l.type IN ({', '.join(map(str, types))})")
        digests, configurations = {}, {}
        for context, given in inputs.items():
            dataset = given.dataset
            source = json.loads(dataset.source)
            assert dataset.source_type == "duckdb_warehouse" and source["path"] == str(Path(warehouse).resolve())
            assert dataset.name == f"propensity_rows_{SYSTEM}-{context}"
            digests[context] = _digest(con, source["query"])  # the split's rows, read from the DuckDB file
            assert dataset.digest == _text(digests[context])
            keys = con.execute(f"SELECT DISTINCT temperature, sample FROM ({source['query']})").fetchall()
            configurations[context] = set(keys)
            assert json.loads(dataset.profile)["num_rows"] == digests[context][0] > 0
    # the splits are disjoint sets of whole configurations that together are every labelled row of those types
    assert not (configurations["training"] & configurations["validation"])
    assert not ((configurations["training"] | configurations["validation"]) & configurations["test"])
    together = (sum(d[0] for d in digests.values()), sum(d[1] for d in digests.values()) % 2**64)
    assert _text(together) == _text(everything)
    assert len(configurations["training"]) == int(run.data.params["n_train_configurations"])
    # the logged source reads the rows back
    rows = mlflow.data.get_source(inputs["test"]).load()
    assert rows.height == digests["test"][0] and rows.columns[-1] == "propensity"
