"""The report's GlassBench section on crafted warehouse rows: each GlassBench state point's type-A score (or
"undefined" with its reason) beside the same model version's test-split score nearest in ⟨C_B⟩ and [R]'s value,
only the model versions scored on GlassBench, "not materialized yet" without GlassBench rows."""

import re

import duckdb
import polars as pl
import pytest

from glass_assets.registry.tracking import MLflowResource
from glass_assets.report.build import write_report
from glass_assets.report.data import ReportData
from glass_assets.report.glassbench import glassbench_outside_test, nearest_test_score
from glass_assets.report.html import ABSENT
from glass_assets.warehouse import Warehouse

SYSTEM = "ka2d_ternary"
MODEL = "tglassmlp_ka2d_ternary"
REASON = "labels constant (all = 1) in 2 of 2 configurations: Pearson undefined"


def score(version: str, predictor: str, split: str, temperature: float, cb: float, pearson, stderr, n, **extra) -> dict:
    return {
        "system": SYSTEM,
        "model_name": MODEL,
        "model_version": version,
        "predictor": predictor,
        "temperature": temperature,
        "target_cb": cb,
        "split": split,
        "subset": extra.pop("subset", "A"),
        "pearson": pearson,
        "stderr": stderr,
        "n_configurations": n,
        "time": extra.pop("time", None),
        "reason": extra.pop("reason", None),
    }


def write_scores(store: Warehouse) -> None:
    """GlassBench rows of v2 (T = 0.23: constant labels at t = 0.1, a score at t = 1.1; T = 0.30 at [R]'s t = 158.74),
    test-split rows of v2 and of another version v1, and the labels behind the scale note."""
    rows = [
        score("2", "tglassmlp", "glassbench", 0.23, 1.0, None, None, 0, time=0.1, reason=REASON),
        score("2", "tglassmlp", "glassbench", 0.23, 0.991, 0.41, None, 1, time=1.1),
        score("2", "tglassmlp", "glassbench", 0.3, 0.83, 0.52, 0.04, 12, time=158.74),
        score("2", "tglassmlp", "glassbench", 0.3, 0.83, 0.6, 0.03, 12, time=158.74, subset="all"),
        score("2", "tglassmlp", "test", 0.5, 0.97, 0.55, 0.05, 4),
        score("2", "tglassmlp", "test", 0.4, 0.8, 0.62, 0.02, 4),
        score("2", "tglassmlp", "test", 0.4, 0.8, 0.7, 0.02, 4, subset="all"),
        score("1", "tglassmlp", "test", 0.5, 0.97, 0.11, 0.01, 4),  # not the version scored on GlassBench
    ]
    store.replace_partition({"system": SYSTEM}, {"mlp_scores": pl.DataFrame(rows)})
    labels = [
        {
            "system": SYSTEM,
            "temperature": temperature,
            "sample": sample,
            "particle": particle,
            "type": 0,
            "time": time,
            "propensity": 1.0,
            "mean_bond_breaking": 1.0,
            "n_replicas": 20,
            "source": "x.npz",
        }
        for temperature, structures in ((0.23, (0, 1)), (0.3, (0,)))
        for sample in structures
        for time in (0.1, 1.1)
        for particle in range(3)
    ]
    store.replace_partition({"system": SYSTEM}, {"glassbench_labels": pl.DataFrame(labels)})


def row_with(html: str, *texts: str) -> str:
    rows = [r for r in re.findall(r"<tr>.*?</tr>", html, flags=re.S) if all(t in r for t in texts)]
    assert len(rows) == 1, f"{len(rows)} rows contain {texts!r}"
    return rows[0]


@pytest.fixture
def store(tmp_path) -> Warehouse:
    warehouse = Warehouse(tmp_path / "warehouse.duckdb")
    warehouse.ensure_writable()
    write_scores(warehouse)
    return warehouse


def test_glassbench_state_points_beside_the_test_split(store, tmp_path):
    tracking = MLflowResource(tracking_uri=f"sqlite:///{tmp_path / 'none.db'}")
    report = write_report(tmp_path / "report.html", store, tracking, [SYSTEM])
    section = next(s for s in report.sections if s.anchor == "glassbench")
    html = section.html()
    assert section.present and 'id="glassbench"' in report.html
    undefined = row_with(html, ">0.1<", "tglassmlp_ka2d_ternary v2")
    assert ">undefined<" in undefined and REASON in undefined and ">0<" in undefined
    # beside it: v2's type-A test score nearest in ⟨C_B⟩ (0.97 at T = 0.5 for ⟨C_B⟩ = 1 and 0.991)
    assert "0.550 ± 0.050 (n = 4) at T = 0.5, ⟨C_B⟩ = 0.97" in undefined
    one = row_with(html, ">1.1<")
    assert "0.41 (no SE)" in one and "0.550 ± 0.050 (n = 4) at T = 0.5" in one
    benchmark = row_with(html, ">158.74<")
    assert "0.520 ± 0.040" in benchmark and ">12<" in benchmark and "0.413 ([R] GlassMLP)" in benchmark
    assert "0.620 ± 0.020 (n = 4) at T = 0.4, ⟨C_B⟩ = 0.8" in benchmark
    assert "0.600 ± 0.030" not in html and "0.700 ± 0.020" not in html  # type A only
    assert "0.110 ± 0.010" not in html  # a model version not scored on GlassBench
    assert "T = 0.23: 2 structure(s), 2 time(s), N = 3, 20 replicas" in html
    assert "0.620 ± 0.020" in row_with(html, ">0.4<", ">0.8<", "tglassmlp_ka2d_ternary v2")  # the test-split table
    assert html.count("data:image/png;base64,") == 1
    assert any("GlassBench: tGlassMLP type A at 3 state points, 1 undefined" in line for line in section.summary)


def test_nearest_test_score_prefers_the_lower_temperature_on_a_tie():
    test = pl.DataFrame(
        [score("2", "glassmlp", "test", t, cb, 0.5, 0.1, 3) for t, cb in ((0.5, 0.9), (0.4, 0.9), (0.4, 0.5))]
    )
    assert nearest_test_score(test, (MODEL, "2"), "glassmlp", 0.92)["temperature"] == 0.4
    assert nearest_test_score(test, (MODEL, "3"), "glassmlp", 0.92) is None
    assert nearest_test_score(None, (MODEL, "2"), "glassmlp", 0.92) is None


def test_without_glassbench_rows_or_with_an_older_mlp_scores(tmp_path):
    empty = Warehouse(tmp_path / "empty.duckdb")
    empty.ensure_writable()
    section = glassbench_outside_test(ReportData(empty), [SYSTEM])
    assert not section.present and f"{ABSENT}: GlassBench scores of ka2d_ternary" in section.html()
    old = tmp_path / "old.duckdb"
    with duckdb.connect(str(old)) as con:  # mlp_scores as written before the reason column
        con.execute(
            "CREATE TABLE mlp_scores (system VARCHAR, model_name VARCHAR, model_version VARCHAR, predictor VARCHAR, "
            "temperature DOUBLE, target_cb DOUBLE, split VARCHAR, subset VARCHAR, pearson DOUBLE, stderr DOUBLE, "
            "n_configurations INTEGER, time DOUBLE)"
        )
        con.execute(
            f"INSERT INTO mlp_scores VALUES ('{SYSTEM}', '{MODEL}', '1', 'tglassmlp', 0.3, 0.9, 'glassbench', "
            "'A', 0.3, NULL, 1, 158.74)"
        )
    section = glassbench_outside_test(ReportData(Warehouse(old)), [SYSTEM])
    assert section.present and "0.3 (no SE)" in row_with(section.html(), ">158.74<")
    assert "GlassBench labels not materialized" in section.html()
