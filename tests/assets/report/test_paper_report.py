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
from glass_assets.registry.tracking import MLflowResource, model_name
from glass_assets.report.assets import paper_report_asset, report_inputs
from glass_assets.report.build import write_report
from glass_assets.report.cooling_rate_study import cooling_rates
from glass_assets.report.data import ReportData
from glass_assets.report.html import ABSENT
from glass_assets.resources import StudySettings, WarehouseResource
from glass_assets.tables import particle_rows, sample_row
from glass_assets.warehouse import Warehouse, ensemble_key
from tests.helpers.paths import SNAPSHOTS

SNAPSHOT_CAMPAIGN = SNAPSHOTS / "campaign.yaml"
N_PARTICLES = 16
PROTOCOL = json.dumps({"cooling_rate": 0.002, "t_high": 4.0})


def summary_row(label: str, pair: str, mean: float, stderr: float, n: int, status: str = "resolved") -> dict:
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
        "classifier_status": status if "gamma" in pair else None,
    }


def write_quenched(store: Warehouse, rng: np.random.Generator) -> None:
    """Five ABM glasses and five liquids of N = 16 at cooling rate 0.002."""
    for temperature in (0.05, 2.0):
        key = ensemble_key("abm", temperature, "quenched")
        rows = [sample_row(key, s, s, N_PARTICLES, (4.0, 4.0), -50.0, protocol=PROTOCOL) for s in range(5)]
        particles = [particle_rows(key, s, rng.uniform(0, 4, (N_PARTICLES, 2)), np.arange(16) % 2) for s in range(5)]
        store.replace_partition(key, {"samples": pl.DataFrame(rows), "particles": pl.concat(particles)})


def write_liquid_glass(store: Warehouse, rng: np.random.Generator, status: str = "resolved") -> None:
    """Grad-CAM and descriptors of glass 0, per-configuration correlations and their summary; ``status``: the
    classifier gate's verdict on the CNN behind Γ."""
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
            "classifier_status": [status] * N_PARTICLES,
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
                "classifier_status": status if pair.startswith("gamma") else None,
            }
            for s in range(5)
            for pair, v in zip(("gamma~upsilon", "one_minus_theta~upsilon"), rng.uniform(-1, 1, 2), strict=True)
        ]
    )
    summary = pl.DataFrame(
        [
            summary_row("glass", "gamma~upsilon", 0.4321, 0.0567, 37, status),  # > 2 SE: pass
            summary_row("glass", "gamma~one_minus_theta", 0.2468, 0.0135, 37, status),
            summary_row("glass", "one_minus_theta~upsilon", -0.0123, 0.0456, 40),  # within 2 SE: unresolved
            summary_row("liquid", "gamma~upsilon", -0.1111, 0.0222, 35, status),
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
            "classifier_status": "resolved",
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
            "classifier_status": "resolved",
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


def register_champion(tracking: MLflowResource, validation: tuple[int, int] = (78, 80), gate: float = 0.9) -> None:
    """A champion version of glass_cnn_abm whose run holds [O]-style parameters and metrics (no model file):
    ``validation`` = (correct, n) of 80 validation images, 46 of 48 test images (22/24 glass, 24/24 liquid),
    the gate it ran under. 78 of 80 has its Wilson lower end at 0.91: resolved above 0.9."""
    client = tracking.activate()
    with mlflow.start_run(experiment_id=tracking.experiment_id("liquid_vs_glass_cnn")) as run:
        split = {"n_train": 60, "n_validation": 80, "n_test": 48}
        mlflow.log_params({"input_kind": "density", "head": "fc", **split, "gate_accuracy": gate})
        mlflow.log_metrics(
            {
                "validation_accuracy": validation[0] / validation[1],
                "validation_n": validation[1],
                "test_accuracy": 46 / 48,
                "test_n": 48,
                "test_accuracy_glass": 22 / 24,
                "test_n_glass": 24,
                "test_accuracy_liquid": 1.0,
                "test_n_liquid": 24,
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
    for text in (
        "0.975 ± 0.017 (n = 80; Wilson 0.91–0.99)",  # 78/80: √(0.975·0.025/80) = 0.017
        "0.958 ± 0.029 (n = 48;",
        "0.917 ± 0.056 (n = 24;",
        "density / fc",
        "validation",
        ">1.000 / 1.000<",
        "2000",
        "0.9: resolved",
    ):
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


def cooling_rate_rows(status: str) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Crafted cooling-rate correlations (4 glasses a rate, 3 classified as glass by the density CNN) and their summary
    with the density CNN's gate verdict ``status``."""
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
            "classifier_status": None if kind is None else status,
        }
        for rate in (0.02, 0.002)
        for pair, kind, count in (("one_minus_theta~upsilon", None, 4), ("gamma~upsilon", "density", 3))
        for s, v in enumerate(rng.uniform(-0.5, 0.5, count))
    ]
    correlations = pl.DataFrame(rows, schema_overrides={"cnn_input": pl.String, "classifier_status": pl.String})
    energies = {0.02: [-3.0, -3.1, -3.2, -3.1], 0.002: [-3.2, -3.3, -3.2, -3.3]}
    classified = {0.02: {"density": 3}, 0.002: {"density": 3}}
    summary = cooling_rate_summary(correlations, energies, "abm", 2000, 0.05, classified, {"density": status})
    return correlations, summary


def test_cooling_rates_show_each_cnn_input_with_its_classified_glasses(tmp_path):
    """C(1−Θ,Υ) over every glass; C(Γ,Υ) per CNN input over the glasses that CNN classified as glass."""
    correlations, summary = cooling_rate_rows("resolved")
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


def test_cooling_rates_of_an_unresolved_cnn_are_no_finding(tmp_path):
    """The density CNN at 0.625 on 80 validation images: its C(Γ,Υ) rows say "no Grad-CAM finding", stand beside no
    [O] value, and its accuracy is shown with n and its interval; C(1−Θ,Υ) is reported as before."""
    correlations, summary = cooling_rate_rows("classifier_unresolved")
    assert summary.filter(pl.col("cnn_input") == "density")["paper_value"].null_count() == 2  # no [O] beside them
    cnns = pl.DataFrame(
        [
            {
                "system": "abm",
                "cnn_input": "density",
                "subset": "validation",
                "n_particles": 2000,
                "accuracy": 0.625,
                "n": 80,
                "n_correct": 50,
                "stderr": float(np.sqrt(0.625 * 0.375 / 80)),
                "wilson_low": 0.51,
                "wilson_high": 0.73,
                "gate_accuracy": 0.95,
                "classifier_status": "classifier_unresolved",
                "mlflow_run_id": "r",
            }
        ]
    )
    store = Warehouse(tmp_path / "w.duckdb")
    store.replace_partition({"system": "abm"}, {"cooling_rate_summary": summary, "cooling_rate_cnns": cnns})
    section = cooling_rates(ReportData(store), ["abm"])
    html = section.html()
    density = correlations.filter((pl.col("cnn_input") == "density") & (pl.col("cooling_rate") == 0.002))["value"]
    assert value_with_error(density.mean(), density.std() / np.sqrt(3)) not in html
    rows = [r for r in re.findall(r"<tr>.*?</tr>", html, flags=re.S) if ">density<" in r and "C(Γ, Υ)" in r]
    assert len(rows) == 2 and all("no Grad-CAM finding" in r and "0.552" not in r for r in rows)
    # the table recomputes SE and interval from k of n: 50/80 → SE 0.054, Wilson [0.51, 0.72]
    assert "0.625 ± 0.054 (n = 80; Wilson 0.51–0.72)" in row_with(html, ">validation<")
    assert any("classifier below the gate: no Grad-CAM finding" in line for line in section.summary)
    no_cnn = correlations.filter(pl.col("cnn_input").is_null() & (pl.col("cooling_rate") == 0.002))["value"]
    assert ">0.355<" in row_with(html, value_with_error(no_cnn.mean(), no_cnn.std() / np.sqrt(4)))


def test_an_unresolved_champion_gives_no_grad_cam_finding_in_the_report(tmp_path):
    """[O] §IV C and Fig. 3 from a champion at chance (5 of 8 validation images): the Γ rows say "no Grad-CAM
    finding" and stand beside no [O] value, its conditions are not judged, C(1−Θ,Υ) is reported as usual."""
    store = Warehouse(tmp_path / "warehouse.duckdb")
    rng = np.random.default_rng(7)
    write_quenched(store, rng)
    write_liquid_glass(store, rng, status="classifier_unresolved")
    tracking = MLflowResource(tracking_uri=f"sqlite:///{tmp_path / 'mlflow.db'}", artifact_root=str(tmp_path / "a"))
    register_champion(tracking, validation=(5, 8), gate=0.95)
    report = write_report(tmp_path / "report.html", store, tracking, ["abm"])
    html = report.html
    assert "0.432 ± 0.057" not in html  # the Γ mean is no finding
    gamma = row_with(html, "no Grad-CAM finding (classifier unresolved)", ">glass<", "C(Γ, Υ)")
    assert ">0.552<" not in gamma
    assert ">classifier unresolved<" in row_with(html, "C(Γ,Υ) &gt; 0")
    assert ">0.355<" in row_with(html, "-0.012 ± 0.046", "pearson")  # C(1−Θ,Υ) needs no CNN
    assert "classifier at chance: no Grad-CAM finding (validation accuracy 0.625 ± 0.17 (n = 8" in html
    assert "0.95: classifier_unresolved" in row_with(html, "glass_cnn_abm v1")
