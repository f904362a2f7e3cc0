"""Partition keys and the campaign file (the sensors and the automation: tests/platform/test_automation.py)."""

import pytest
from dagster import MultiPartitionKey

from glass_assets.campaign import load_campaign
from glass_assets.partitions import parse_partition, temperature_key


@pytest.mark.parametrize("value, key", [(0.3, "0.3"), ("0.30", "0.3"), (2, "2.0"), ("5e-2", "0.05")])
def test_temperature_keys_are_canonical(value, key):
    assert temperature_key(value) == key


@pytest.mark.parametrize("value", ["hot", -0.1, 0, "nan", "inf", None])
def test_bad_temperatures_are_rejected(value):
    with pytest.raises(ValueError, match="temperature"):
        temperature_key(value)


def test_parse_partition_names_the_problem():
    assert parse_partition(MultiPartitionKey({"system": "kam", "temperature": "0.8"})) == ("kam", 0.8)
    with pytest.raises(ValueError, match="unknown system 'lj'"):
        parse_partition(MultiPartitionKey({"system": "lj", "temperature": "0.8"}))
    with pytest.raises(ValueError, match="finite positive"):
        parse_partition(MultiPartitionKey({"system": "abm", "temperature": "-1.0"}))


def write_campaign(path, body):
    path.write_text(body)
    return path


def test_campaign_file_errors_name_file_and_entry(tmp_path):
    bad_system = write_campaign(tmp_path / "a.yaml", "systems:\n  argon:\n    quench: [1.0]\n")
    with pytest.raises(ValueError, match="a.yaml.*unknown system 'argon'"):
        load_campaign(bad_system)
    bad_t = write_campaign(tmp_path / "b.yaml", "systems:\n  abm:\n    quench: [2.0, cold]\n")
    with pytest.raises(ValueError, match=r"b.yaml: abm.quench: temperature 'cold'"):
        load_campaign(bad_t)
    bad_stage = write_campaign(tmp_path / "c.yaml", "systems:\n  abm:\n    melt: [2.0]\n")
    with pytest.raises(ValueError, match="unknown stage 'melt'"):
        load_campaign(bad_stage)


def test_per_system_stage_takes_a_boolean(tmp_path):
    body = "systems:\n  abm:\n    quench: [2.0, 0.05]\n    liquid_glass: true\n"
    campaign = load_campaign(write_campaign(tmp_path / "d.yaml", body))
    assert campaign.systems_for("liquid_glass") == ["abm"]
    with pytest.raises(ValueError, match="takes true or false"):
        load_campaign(write_campaign(tmp_path / "e.yaml", "systems:\n  abm:\n    liquid_glass: [2.0]\n"))


@pytest.mark.parametrize(
    "body, message",
    [
        ("systems:\n  abm:\n    quench: [2.0, 150]\n", r"abm.quench: temperature 150 is above 100"),
        ("systems:\n  abm:\n    swap_mc: [0.5]\n", r"abm cannot run stage 'swap_mc'"),
        ("systems:\n  ka2d_ternary:\n    quench: [0.5]\n", r"ka2d_ternary cannot run stage 'quench'"),
        ("systems:\n  abm:\n    liquid_glass: true\n", r"abm.liquid_glass needs abm.quench"),
        (
            "systems:\n  abm:\n    quench: [2.0]\n    liquid_glass: true\n",
            r"needs abm.quench to include glass T = 0.05",
        ),
        (
            "systems:\n  ka2d_ternary:\n    swap_mc: [0.5]\n    heterogeneity: true\n",
            r"heterogeneity needs ka2d_ternary.propensity_learning",
        ),
        (
            "backfill_schedule: tonight\nsystems:\n  abm:\n    quench: [2.0]\n",
            r"backfill_schedule 'tonight' is not a cron",
        ),
        ("systems:\n  abm:\n    quench: 2.0\n", r"abm.quench takes a list of temperatures"),
    ],
)
def test_a_campaign_a_system_cannot_run_is_refused_naming_file_system_and_value(tmp_path, body, message):
    with pytest.raises(ValueError, match=f"bad.yaml: .*{message}"):
        load_campaign(write_campaign(tmp_path / "bad.yaml", body))
