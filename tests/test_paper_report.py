"""The paper report on crafted warehouse rows and a crafted registry: numbers with SE and n beside the paper's values
and scales, "not materialized yet" for what is absent, a self-contained page, and the asset materializes."""

import json
import re
from pathlib import Path

import duckdb
import mlflow
import numpy as np
import polars as pl
import pytest
from dagster import AssetKey, materialize

from glass_assets.campaign import load_campaign
from glass_assets.cooling_rate.assets import cooling_rate_summary
from glass_assets.plots import value_with_error
from glass_assets.report.assets import paper_report_asset, report_inputs
from glass_assets.report.build import write_report
from glass_assets.report.data import ReportData
from glass_assets.report.html import ABSENT
from glass_assets.report.sections import cooling_rates
from glass_assets.resources import StudySettings, WarehouseResource
from glass_assets.tables import particle_rows, sample_row
from glass_assets.tracking import MLflowResource, model_name
from glass_assets.warehouse import Warehouse, ensemble_key

SNAPSHOT_CAMPAIGN = Path(__file__).parent / "snapshots" / "campaign.yaml"
N_PARTICLES = 16
PROTOCOL = json.dumps({"cooling_rate": 0.002, "t_high": 4.0})


def summary_row(label: str, pair: str, mean: float, stderr: float, n: int) -> dict:
    return {
        "system": "abm",
        "label": label,
        "pair": pair,
        "method": "pearson",
        "subset": "test" if "gamma" in pair else "all",
        "mean": mean,
        "stderr": stderr,
        "std": stderr * np.sqrt(n),
        "n": n,
        "n_undefined": 0,
        "model_version": "3" if "gamma" in pair else None,
    }


def write_quenched(store: Warehouse, rng: np.random.Generator) -> None:
    """Five ABM glasses and five liquids of N = 16 at cooling rate 0.002."""
    for temperature in (0.05, 2.0):
        key = ensemble_key("abm", temperature, "quenched")
        rows = [sample_row(key, s, s, N_PARTICLES, (4.0, 4.0), -50.0, protocol=PROTOCOL) for s in range(5)]
        particles = [particle_rows(key, s, rng.uniform(0, 4, (N_PARTICLES, 2)), np.arange(16) % 2) for s in range(5)]
        store.replace_partition(key, {"samples": pl.DataFrame(rows), "particles": pl.concat(particles)})


def write_liquid_glass(store: Warehouse, rng: np.random.Generator) -> None:
    """Grad-CAM and descriptors of glass 0, per-configuration correlations and their summary."""
    key = ensemble_key("abm", 0.05, "quenched")
    fields = {name: rng.uniform(0, 1, N_PARTICLES) for name in ("voronoi_area_cg", "one_minus_theta_cg", "gamma")}
    particle = np.arange(N_PARTICLES, dtype=np.int32)
    descriptors = pl.DataFrame(
        {
            **{k: [v] * N_PARTICLES for k, v in key.items()},
            "sample": [0] * N_PARTICLES,
            "particle": particle,
            "voronoi_area": fields["voronoi_area_cg"],
            "tong_tanaka": fields["one_minus_theta_cg"],
            "voronoi_area_cg": fields["voronoi_area_cg"],
            "one_minus_theta_cg": fields["one_minus_theta_cg"],
        }
    )
    grad_cam = pl.DataFrame(
        {
            **{k: [v] * N_PARTICLES for k, v in key.items()},
            "sample": [0] * N_PARTICLES,
            "particle": particle,
            "label": ["glass"] * N_PARTICLES,
            "gamma": fields["gamma"],
            "gamma_cg": fields["gamma"],
            "model_name": [model_name("abm")] * N_PARTICLES,
            "model_version": ["3"] * N_PARTICLES,
        }
    )
    store.replace_partition(key, {"descriptors": descriptors})
    correlations = pl.DataFrame(
        [
            {
                "system": "abm",
                "temperature": 0.05,
                "ensemble": "quenched",
                "sample": s,
                "label": "glass",
                "pair": pair,
                "method": "pearson",
                "value": float(v),
                "model_version": "3",
            }
            for s in range(5)
            for pair, v in zip(("gamma~upsilon", "one_minus_theta~upsilon"), rng.uniform(-1, 1, 2), strict=True)
        ]
    )
    summary = pl.DataFrame(
        [
            summary_row("glass", "gamma~upsilon", 0.4321, 0.0567, 37),  # > 2 SE: pass
            summary_row("glass", "gamma~one_minus_theta", 0.2468, 0.0135, 37),
            summary_row("glass", "one_minus_theta~upsilon", -0.0123, 0.0456, 40),  # within 2 SE: unresolved
            summary_row("liquid", "gamma~upsilon", -0.1111, 0.0222, 35),
        ]
    )
    store.replace_partition(
        {"system": "abm"},
        {"grad_cam": grad_cam, "indicator_correlations": correlations, "indicator_correlation_summary": summary},
    )


def write_dynamics(store: Warehouse) -> None:
    """The Fig. 4 curve at T = 1.0 (maximum 0.3456 ± 0.0211, n = 9 at δ = 0.8), per-glass maxima, run sizes."""
    frames = range(1, 5)
    curve = pl.DataFrame(
        {
            "system": "abm",
            "temperature": 1.0,
            "frame": list(frames),
            "time": [10.0 * f for f in frames],
            "cage_clock": [0.1, 0.3, 0.8, 1.2],
            "correlation": [0.05, 0.2, 0.3456, 0.3],
            "stderr": [0.03, 0.02, 0.0211, 0.02],
            "n": [9] * 4,
            "model_version": "3",
        }
    )
    maxima = pl.DataFrame(
        {
            "system": "abm",
            "temperature": 1.0,
            "sample": list(range(9)),
            "frame": 3,
            "time": 30.0,
            "cage_clock": 0.8,
            "correlation": np.linspace(0.3, 0.5, 9),
            "model_version": "3",
        }
    )
    summary = pl.DataFrame(
        {
            "system": "abm",
            "temperature": 1.0,
            "ensemble": "quenched",
            "source_temperature": 0.05,
            "sample": [s for s in range(9) for _ in frames],
            "frame": [f for _ in range(9) for f in frames],
            "time": [10.0 * f for _ in range(9) for f in frames],
            "mean_bond_breaking": 0.9,
            "cage_clock": 0.5,
            "tau_alpha": None,
            "n_replicas": 30,
        }
    )
    store.replace_partition({"system": "abm"}, {"grad_cam_dynamics_curve": curve, "grad_cam_dynamics_maxima": maxima})
    store.replace_partition({"system": "abm", "temperature": 1.0}, {"propensity_summary": summary})


def register_champion(tracking: MLflowResource) -> None:
    """A champion version of glass_cnn_abm whose run holds [O]-style parameters and metrics (no model file)."""
    client = tracking.activate()
    with mlflow.start_run(experiment_id=tracking.experiment_id("liquid_vs_glass_cnn")) as run:
        mlflow.log_params({"input_kind": "density", "head": "fc", "n_train": 6, "n_validation": 2, "n_test": 2})
        mlflow.log_metrics(
            {
                "validation_accuracy": 0.975,
                "test_accuracy": 0.9583,
                "test_accuracy_glass": 0.9167,
                "test_accuracy_liquid": 1.0,
            }
        )
        mlflow.set_tag("profile", "validation")
    client.create_registered_model(model_name("abm"))
    version = client.create_model_version(model_name("abm"), f"{run.info.artifact_uri}/model", run.info.run_id)
    client.set_registered_model_alias(model_name("abm"), "champion", version.version)


@pytest.fixture(scope="module")
def crafted(tmp_path_factory):
    root = tmp_path_factory.mktemp("report")
    store = Warehouse(root / "warehouse.duckdb")
    rng = np.random.default_rng(7)
    write_quenched(store, rng)
    write_liquid_glass(store, rng)
    write_dynamics(store)
    tracking = MLflowResource(tracking_uri=f"sqlite:///{root / 'mlflow.db'}", artifact_root=str(root / "artifacts"))
    register_champion(tracking)
    report = write_report(root / "out" / "report.html", store, tracking, ["abm", "kam", "ka2d_ternary"])
    return root, store, tracking, report


def row_with(html: str, *texts: str) -> str:
    """The table row of ``html`` that contains all ``texts`` (exactly one)."""
    rows = [r for r in re.findall(r"<tr>.*?</tr>", html, flags=re.S) if all(t in r for t in texts)]
    assert len(rows) == 1, f"{len(rows)} rows contain {texts!r}"
    return rows[0]


def test_correlations_show_mean_se_n_beside_the_paper_and_the_verdicts(crafted):
    html = crafted[3].html
    row = row_with(html, "0.432 ± 0.057", "pearson")
    assert "C(Γ, Υ)" in row and ">37<" in row and ">0.552<" in row  # n and [O]'s 0.552 in the same row
    assert ">0.355<" in row_with(html, "-0.012 ± 0.046", "pearson")  # C(1−Θ,Υ) over all 40 glasses
    assert ">pass<" in row_with(html, "C(Γ,Υ) &gt; 0")  # 0.432 > 2 × 0.057
    assert ">unresolved<" in row_with(html, "C(1−Θ,Υ) &gt; 0")  # −0.012 within 2 × 0.046
    # the scale it was measured at beside the paper's
    assert "N = 16, cooling rate 0.002, 5 glasses + 5 liquids" in html
    assert (
        "600 test glasses, N = 2000, cooling rate 8.33e-05, 5000 quench runs (train/validation/test 4000/400/600)"
        in html
    )


def test_table_ii_reads_the_champion_beside_the_paper(crafted):
    row = row_with(crafted[3].html, "glass_cnn_abm v1")
    for text in (">0.975<", ">0.958<", ">0.917<", "density / fc", "validation", ">1.000 / 1.000<", "2000"):
        assert text in row, text
    kam = row_with(crafted[3].html, "no champion glass_cnn_kam")
    assert ABSENT in kam and ">1.000 / 0.998<" in kam


def test_fig4_maximum_with_se_and_the_run_scale(crafted):
    row = row_with(crafted[3].html, "0.346 ± 0.021")
    assert ">9<" in row and "0.61" in row
    assert "9 glasses × 30 replicas, t ≤ 40" in row  # measured at
    assert "30 replicas, t ≤ 1.5e+06" in row  # [O]'s runs, from the paper profile
    assert "0.400 ± 0.023" in row  # the nine per-glass maxima 0.300, 0.325 … 0.500: sd = 0.0685, SE = sd/√9


def test_absent_sections_say_not_materialized_yet(crafted):
    sections = {s.anchor: s for s in crafted[3].sections}
    assert sections["heterogeneity"].present is False and ABSENT in sections["heterogeneity"].html()
    assert sections["four-point"].present is False and sections["cooling-rates"].present is False
    assert f"{ABSENT}: grad_cam_dynamics_curve of kam" in sections["dynamics"].html()
    assert {s.anchor for s in crafted[3].sections if s.present} == {
        "table-ii",
        "correlations",
        "indicator-maps",
        "violins",
        "dynamics",
    }


def test_the_page_is_self_contained(crafted):
    html = crafted[3].html
    assert not re.search(r"https?://", html)
    assert not re.search(r"<(script|link|iframe)\b", html)
    sources = re.findall(r'src="([^"]*)"', html)
    assert len(sources) == 3 and all(s.startswith("data:image/png;base64,") for s in sources)  # maps, Fig. 3, Fig. 4
    assert crafted[3].path.read_text() == html


def test_an_empty_or_old_warehouse_still_gives_a_report(tmp_path):
    tracking = MLflowResource(tracking_uri=f"sqlite:///{tmp_path / 'none.db'}")
    empty = write_report(tmp_path / "empty.html", Warehouse(tmp_path / "missing.duckdb"), tracking, ["abm"])
    assert not any(s.present for s in empty.sections) and empty.html.count(ABSENT) >= 6
    assert not (tmp_path / "none.db").exists()  # the report never creates a registry
    old = tmp_path / "old.duckdb"
    with duckdb.connect(str(old)) as con:  # a summary table of another schema
        con.execute("CREATE TABLE indicator_correlation_summary (system VARCHAR, label VARCHAR)")
        con.execute("INSERT INTO indicator_correlation_summary VALUES ('abm', 'glass')")
    report = write_report(tmp_path / "old.html", Warehouse(old), tracking, ["abm"])
    section = next(s for s in report.sections if s.anchor == "correlations")
    assert "could not be read" in section.html() and not section.present


def test_the_asset_depends_on_the_campaigns_summaries_and_links_the_page(crafted, tmp_path):
    root, store, tracking, _ = crafted
    campaign = load_campaign(SNAPSHOT_CAMPAIGN)
    keys = {key.to_user_string() for key in report_inputs(campaign)}
    assert {
        "abm/indicator_correlations",
        "kam/grad_cam_dynamics",
        "ka2d_ternary/heterogeneity_summary",
        "ka2d_ternary/four_point_structure_factor",
        "abm/propensity_labels",
    } <= keys
    assert not {"ka2d_ternary/cnn_classifier", "abm/heterogeneity_summary", "ka2d_ternary/propensity_labels"} & keys
    study = StudySettings(scratch_dir=str(tmp_path / "scratch"))
    result = materialize(
        [paper_report_asset(campaign, None)],
        resources={"study": study, "warehouse": WarehouseResource(path=str(store.path)), "mlflow_tracking": tracking},
    )
    assert result.success
    metadata = result.asset_materializations_for_node("paper_report")[0].metadata
    path = Path(metadata["report"].value)
    assert path == (tmp_path / "reports" / "paper_report.html").resolve() and path.is_file()
    assert metadata["open"].value == path.as_uri()
    assert "0.432 ± 0.057" in path.read_text()
    assert "C(Γ,Υ) > 0 pass" in metadata["summary"].value and ABSENT in metadata["summary"].value
    assert AssetKey("paper_report") == result.asset_materializations_for_node("paper_report")[0].asset_key


def test_cooling_rates_show_each_cnn_input_with_its_classified_glasses(tmp_path):
    """C(1−Θ,Υ) over every glass; C(Γ,Υ) per CNN input over the glasses that CNN classified as glass."""
    rng = np.random.default_rng(5)
    rows = [
        {
            "system": "abm",
            "cooling_rate": rate,
            "sample": s,
            "pair": pair,
            "cnn_input": kind,
            "method": "pearson",
            "value": float(v),
        }
        for rate in (0.02, 0.002)
        for pair, kind, count in (("one_minus_theta~upsilon", None, 4), ("gamma~upsilon", "density", 3))
        for s, v in enumerate(rng.uniform(-0.5, 0.5, count))
    ]
    correlations = pl.DataFrame(rows, schema_overrides={"cnn_input": pl.String})
    energies = {0.02: [-3.0, -3.1, -3.2, -3.1], 0.002: [-3.2, -3.3, -3.2, -3.3]}
    classified = {0.02: {"density": 3}, 0.002: {"density": 3}}
    summary = cooling_rate_summary(correlations, energies, "abm", 2000, 0.05, classified)
    store = Warehouse(tmp_path / "w.duckdb")
    store.replace_partition({"system": "abm"}, {"cooling_rate_summary": summary})
    html = cooling_rates(ReportData(store), ["abm"]).html()

    density = correlations.filter((pl.col("cnn_input") == "density") & (pl.col("cooling_rate") == 0.002))["value"]
    expected = value_with_error(density.mean(), density.std() / np.sqrt(3))
    row = row_with(html, expected)
    assert "C(Γ, Υ)" in row and ">density<" in row and ">4 (3)<" in row and ">0.552<" in row
    no_cnn = correlations.filter(pl.col("cnn_input").is_null() & (pl.col("cooling_rate") == 0.002))["value"]
    row = row_with(html, value_with_error(no_cnn.mean(), no_cnn.std() / np.sqrt(4)))
    assert "C(1−Θ, Υ)" in row and ">—<" in row and ">4<" in row and ">0.355<" in row
