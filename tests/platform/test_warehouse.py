"""Warehouse writes: one transaction per partition, concurrent writers, clear errors."""

import subprocess
import sys
import textwrap

import polars as pl
import pytest

from glass_assets.warehouse import Warehouse, WarehouseError, ensemble_key


def sample_rows(system: str, temperature: float, n: int, energy: float) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "system": [system] * n,
            "temperature": [temperature] * n,
            "ensemble": ["quenched"] * n,
            "sample": list(range(n)),
            "seed": list(range(1, n + 1)),
            "n_particles": [4] * n,
            "box_x": [2.0] * n,
            "box_y": [2.0] * n,
            "potential_energy": [energy] * n,
            "energy_per_particle": [energy / 4] * n,
        }
    )


def test_replacing_a_partition_is_idempotent_and_leaves_others(tmp_path):
    store = Warehouse(tmp_path / "w.duckdb")
    store.replace_partition(ensemble_key("abm", 0.05, "quenched"), {"samples": sample_rows("abm", 0.05, 3, -1.0)})
    store.replace_partition(ensemble_key("abm", 2.0, "quenched"), {"samples": sample_rows("abm", 2.0, 2, 5.0)})
    store.replace_partition(ensemble_key("abm", 0.05, "quenched"), {"samples": sample_rows("abm", 0.05, 3, -2.0)})
    rows = store.query(
        "SELECT temperature, count(*) AS n, min(potential_energy) AS e FROM samples GROUP BY 1 ORDER BY 1"
    )
    assert rows.to_dicts() == [{"temperature": 0.05, "n": 3, "e": -2.0}, {"temperature": 2.0, "n": 2, "e": 5.0}]


def test_failed_write_keeps_the_previous_rows(tmp_path):
    store = Warehouse(tmp_path / "w.duckdb")
    key = ensemble_key("kam", 0.8, "quenched")
    store.replace_partition(key, {"samples": sample_rows("kam", 0.8, 3, -1.0)})
    broken = pl.DataFrame(
        {
            "system": ["kam"] * 2,
            "temperature": [0.8] * 2,
            "ensemble": ["quenched"] * 2,
            "sample": [0, 1],
            "particle": [0, 0],
            "type": [0, 1],
            "x": [0.5, None],
            "y": [0.5, 0.5],
        }
    )
    with pytest.raises(Exception, match="(?i)not null"):  # the second table fails after the first was written
        store.replace_partition(key, {"samples": sample_rows("kam", 0.8, 5, -9.0), "particles": broken})
    assert store.read_partition("samples", key)["potential_energy"].to_list() == [-1.0, -1.0, -1.0]


def test_rows_outside_the_partition_are_refused(tmp_path):
    store = Warehouse(tmp_path / "w.duckdb")
    with pytest.raises(WarehouseError, match="outside partition"):
        store.replace_partition(ensemble_key("abm", 0.05, "quenched"), {"samples": sample_rows("abm", 2.0, 1, 0.0)})


def test_unwritable_warehouse_is_a_clear_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(WarehouseError, match="not writable"):
        Warehouse(blocker / "w.duckdb").ensure_writable()


def test_concurrent_writers_from_two_processes_both_land(tmp_path):
    path = tmp_path / "w.duckdb"
    script = textwrap.dedent(f"""
        import sys
        from tests.platform.test_warehouse import sample_rows
        from glass_assets.warehouse import Warehouse, ensemble_key
        t = float(sys.argv[1])
        store = Warehouse({str(path)!r})
        for repeat in range(15):
            rows = sample_rows("abm", t, 50, float(repeat))
            store.replace_partition(ensemble_key("abm", t, "quenched"), {{"samples": rows}})
    """)
    procs = [
        subprocess.Popen([sys.executable, "-c", script, t], stderr=subprocess.PIPE, text=True) for t in ("0.1", "0.2")
    ]
    errors = [p.communicate()[1] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], errors
    counts = Warehouse(path).query(
        "SELECT temperature, count(*) AS n, max(potential_energy) AS e FROM samples GROUP BY 1 ORDER BY 1"
    )
    assert counts.to_dicts() == [{"temperature": 0.1, "n": 50, "e": 14.0}, {"temperature": 0.2, "n": 50, "e": 14.0}]
