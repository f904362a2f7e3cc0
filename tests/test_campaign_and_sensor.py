"""Partition keys, the campaign file and the campaign sensor."""

import pytest
from dagster import DagsterInstance, MultiPartitionKey, SkipReason, build_sensor_context

from glass_assets.automation.sensors import campaign_requests
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


def test_adding_a_temperature_adds_the_partition_and_requests_its_run(tmp_path, monkeypatch):
    campaign = write_campaign(tmp_path / "campaign.yaml", "systems:\n  abm:\n    quench: [2.0]\n")
    monkeypatch.setenv("GLASS_CAMPAIGN", str(campaign))
    with DagsterInstance.ephemeral() as instance:
        first = campaign_requests(build_sensor_context(instance=instance))
        assert [r.partition_keys for r in first.dynamic_partitions_requests] == [["2.0"]]
        assert [str(r.partition_key) for r in first.run_requests] == ["abm|2.0"]
        instance.add_dynamic_partitions("temperature", ["2.0"])

        write_campaign(campaign, "systems:\n  abm:\n    quench: [2.0, 0.05]\n  kam:\n    quench: [0.05]\n")
        second = campaign_requests(build_sensor_context(instance=instance))
        assert [r.partition_keys for r in second.dynamic_partitions_requests] == [["0.05"]]
        requested = {str(r.partition_key) for r in second.run_requests}
        assert {"abm|0.05", "kam|0.05"} <= requested
        assert all(r.asset_selection[0].to_user_string() == "quenched_ensembles" for r in second.run_requests)
        # run keys make a repeated request for the same partition a no-op for the daemon
        assert len({r.run_key for r in second.run_requests}) == len(second.run_requests)


def test_sensor_skips_when_nothing_is_new(tmp_path, monkeypatch):
    campaign = write_campaign(tmp_path / "campaign.yaml", "systems:\n  abm:\n    quench: []\n")
    monkeypatch.setenv("GLASS_CAMPAIGN", str(campaign))
    with DagsterInstance.ephemeral() as instance:
        assert isinstance(campaign_requests(build_sensor_context(instance=instance)), SkipReason)


def test_per_system_stage_takes_a_boolean(tmp_path):
    campaign = load_campaign(write_campaign(tmp_path / "d.yaml", "systems:\n  abm:\n    liquid_glass: true\n"))
    assert campaign.systems_for("liquid_glass") == ["abm"]
    with pytest.raises(ValueError, match="takes true or false"):
        load_campaign(write_campaign(tmp_path / "e.yaml", "systems:\n  abm:\n    liquid_glass: [2.0]\n"))


def test_liquid_glass_waits_for_its_ensembles(tmp_path, monkeypatch):
    campaign = write_campaign(
        tmp_path / "c.yaml", "systems:\n  kam:\n    quench: [0.8, 0.05]\n    liquid_glass: true\n"
    )
    monkeypatch.setenv("GLASS_CAMPAIGN", str(campaign))
    with DagsterInstance.ephemeral() as instance:
        result = campaign_requests(build_sensor_context(instance=instance))
        stages = {r.tags["campaign/stage"] for r in result.run_requests}
        assert stages == {"quench"}  # the CNN study is requested only once both ensembles exist


def test_swap_mc_stage_requests_equilibria_and_minima(tmp_path, monkeypatch):
    campaign = write_campaign(tmp_path / "s.yaml", "systems:\n  ka2d_ternary:\n    swap_mc: [0.3]\n")
    monkeypatch.setenv("GLASS_CAMPAIGN", str(campaign))
    with DagsterInstance.ephemeral() as instance:
        result = campaign_requests(build_sensor_context(instance=instance))
        assert [str(r.partition_key) for r in result.run_requests] == ["ka2d_ternary|0.3"]
        request = result.run_requests[0]
        assert [k.to_user_string() for k in request.asset_selection] == ["swap_mc_equilibria", "inherent_structures"]
        assert request.tags["campaign/stage"] == "swap_mc"


def test_glass_propensity_waits_for_the_cnn_whose_split_it_follows(tmp_path, monkeypatch):
    from dagster import AssetKey, AssetMaterialization

    campaign = write_campaign(
        tmp_path / "p.yaml",
        "systems:\n  kam:\n    quench: [0.8, 0.05]\n    liquid_glass: true\n    propensity: [0.37]\n",
    )
    monkeypatch.setenv("GLASS_CAMPAIGN", str(campaign))
    with DagsterInstance.ephemeral() as instance:
        instance.add_dynamic_partitions("temperature", ["0.05", "0.37", "0.8"])
        for t in ("0.8", "0.05"):
            key = str(MultiPartitionKey({"system": "kam", "temperature": t}))
            for asset in ("quenched_ensembles", "structural_descriptors"):
                instance.report_runless_asset_event(AssetMaterialization(AssetKey(asset), partition=key))

        def stages():
            result = campaign_requests(build_sensor_context(instance=instance))
            return {r.tags["campaign/stage"] for r in result.run_requests}

        assert stages() == {"liquid_glass"}  # the glasses exist, but the CNN's split is not known yet
        instance.report_runless_asset_event(AssetMaterialization(AssetKey("cnn_classifier"), partition="kam"))
        assert "propensity" in stages()
