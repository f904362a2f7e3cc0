"""Propensity rows as written to the warehouse: τ_α beyond the run is NULL, not NaN; means carry their SE."""

import numpy as np
import polars as pl
import pytest

from glass_assets.dynamics.assets import ensemble_mean_curve, label_tables
from glass_assets.warehouse import Warehouse
from glass_core.dynamics.propensity import PropensityLabels
from tests.helpers.propensity import labels_from


def crafted_labels(decay_rate: float, n: int = 4, n_frames: int = 5) -> PropensityLabels:
    """Labels whose every particle has C_B(t) = exp(−rate·t) and Δ_i(t) = t (so δ(t) = √t)."""
    times = np.arange(n_frames, dtype=np.float64)
    bond_breaking = np.repeat(np.exp(-decay_rate * times)[:, None], n, axis=1)
    crsd = np.repeat(times[:, None], n, axis=1)
    return labels_from(crsd, bond_breaking, n_bonds=4, box=(3.0, 3.0), system="kam", temperature=0.4)


def test_tau_alpha_beyond_the_run_is_stored_as_null(tmp_path):
    labels = {0: crafted_labels(0.5), 1: crafted_labels(0.01)}  # τ_α = 2 inside the run; 100 beyond t = 4
    assert labels[0].tau_alpha == pytest.approx(2.0) and labels[1].tau_alpha is None
    source = {"system": "kam", "temperature": 0.05, "ensemble": "quenched"}
    run_key = {"system": "kam", "temperature": 0.4}
    tables = label_tables(labels, source, run_key)
    store = Warehouse(tmp_path / "w.duckdb")
    store.replace_partition(run_key, tables)
    stored = store.query("SELECT sample, max(tau_alpha) AS tau FROM propensity_summary GROUP BY sample ORDER BY 1")
    assert stored["tau"][0] == pytest.approx(2.0)
    assert stored["tau"][1] is None  # NULL: SQL aggregates skip it
    overall = store.query("SELECT max(tau_alpha) AS tau, count(tau_alpha) AS n FROM propensity_summary")
    assert overall["tau"][0] == pytest.approx(2.0) and not np.isnan(overall["tau"][0])
    assert overall["n"][0] == 5  # the five frames of sample 0 only


def test_ensemble_mean_curve_carries_standard_errors():
    summary = label_tables(
        {0: crafted_labels(0.5), 1: crafted_labels(0.1)},
        {"system": "kam", "temperature": 0.05, "ensemble": "quenched"},
        {"system": "kam", "temperature": 0.4},
    )["propensity_summary"]
    curve = ensemble_mean_curve(summary)
    last = curve.filter(pl.col("frame") == 4).row(0, named=True)
    a, b = np.exp(-2.0), np.exp(-0.4)
    assert last["mean_bond_breaking"] == pytest.approx((a + b) / 2)
    assert last["mean_bond_breaking_stderr"] == pytest.approx(abs(a - b) / 2)  # n = 2: SE = |a − b|/2
    assert last["cage_clock_stderr"] == pytest.approx(0.0) and last["n"] == 2
    single = ensemble_mean_curve(summary.filter(pl.col("sample") == 0))
    assert single["mean_bond_breaking_stderr"].null_count() == single.height  # n = 1: no SE


def test_nan_written_by_an_earlier_release_becomes_null(tmp_path):
    store = Warehouse(tmp_path / "w.duckdb")
    store.ensure_writable()
    import duckdb

    with duckdb.connect(str(store.path)) as con:  # a row as the NaN-writing release left it
        con.execute(
            "INSERT INTO propensity_summary VALUES ('kam', 0.4, 'quenched', 0.05, 0, 0, 0.0, 1.0, 0.0, 'NaN', 2)"
        )
    assert store.query("SELECT isnan(tau_alpha) AS nan FROM propensity_summary")["nan"][0]
    store.ensure_writable()  # every write opens the warehouse this way
    assert store.query("SELECT tau_alpha FROM propensity_summary")["tau_alpha"][0] is None
