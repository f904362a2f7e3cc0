"""Accepting campaign proposals: a valid campaign diff and nothing else, refusals that leave the file unchanged,
the autopilot within its budget, and predicted-against-realised rows once the accepted work is in."""

import json

import polars as pl
import pytest

from glass_assets.campaign import load_campaign
from glass_assets.proposals.accept import ProposalError, accept_proposals, add_propensity_temperature
from glass_assets.proposals.assets import campaign_digest, outcome_rows, proposal_rows
from glass_assets.proposals.autopilot import autopilot_choice
from glass_assets.proposals.state import inputs_digest
from glass_assets.warehouse import Warehouse
from glass_core.learning.campaign_gain import CampaignState, Candidate, StatePointError

SYSTEM = "ka2d_ternary"
CAMPAIGN = """\
# a campaign of the tests
systems:
  ka2d_ternary:
    swap_mc: [0.7, 0.6, 0.5, 0.4]  # equilibria
    propensity: [0.7, 0.6]         # MD labels
    propensity_learning: true
    heterogeneity: true
    proposals: true
"""


def heterogeneity_rows(temperature: float, chi4: float) -> pl.DataFrame:
    return pl.DataFrame({
        "system": [SYSTEM], "temperature": [temperature], "target_cb": [0.8], "time": [None], "source": ["ml"],
        "observable": ["chi4"], "value": [chi4], "stderr": [0.01], "n_configurations": [8], "particle_type": ["A"],
        "network_spread": [0.02], "n_networks": [4],
    }, schema_overrides={"time": pl.Float64})  # fmt: skip


def candidate(action: str, temperature: float, gain: float, hours: float) -> Candidate:
    parameters = {"add_equilibria": 8} if action == "add_equilibria" else {"window": 700, "n_configurations": 8}
    return Candidate(action, temperature, parameters, gain, hours, 2.0, 2.0 - gain, "", 0.5, 0.4)


@pytest.fixture
def study(tmp_path):
    """A warehouse with χ4 rows of two temperatures, a campaign file, and proposals made from both."""
    campaign = tmp_path / "campaign.yaml"
    campaign.write_text(CAMPAIGN)
    warehouse = Warehouse(tmp_path / "warehouse.duckdb")
    for t in (0.7, 0.5):
        warehouse.replace_partition({"system": SYSTEM, "temperature": t}, {"heterogeneity": heterogeneity_rows(t, 0.1)})
    ranked = [candidate("label_temperature", 0.5, 1.0, 0.5), candidate("add_equilibria", 0.6, 3.0, 0.2),
              candidate("label_temperature", 0.4, 2.0, 1.0), candidate("extend_window", 0.6, 1.0, 0.2)]
    table = proposal_rows(SYSTEM, ranked, inputs_digest(warehouse, SYSTEM), campaign_digest(campaign), 0.6, 0.5)
    warehouse.replace_partition({"system": SYSTEM}, {"campaign_proposals": table})
    return warehouse, campaign, table


def test_accepting_adds_the_temperature_and_changes_nothing_else(study):
    warehouse, campaign, table = study
    before = campaign.read_text()
    pid = table.filter(pl.col("temperature") == 0.5)["proposal_id"][0]
    [accepted] = accept_proposals([pid], warehouse, campaign)
    after = campaign.read_text()
    changed = [(a, b) for a, b in zip(before.splitlines(), after.splitlines(), strict=True) if a != b]
    assert changed == [("    propensity: [0.7, 0.6]         # MD labels",
                        f"    propensity: [0.7, 0.6, 0.5]  # MD labels; + 0.5: proposal {pid}")]
    assert load_campaign(campaign).temperatures(SYSTEM, "propensity") == ["0.7", "0.6", "0.5"]
    assert accepted.edit == changed[0][1].strip()
    row = warehouse.query("SELECT * FROM proposal_acceptances").row(0, named=True)
    assert (row["proposal_id"], row["accepted_by"], row["temperature"]) == (pid, "cli", 0.5)
    assert json.loads(row["parameters"]) == {"window": 700, "n_configurations": 8}


def test_accepting_a_window_sets_it_in_the_system_settings(study):
    warehouse, campaign, table = study
    before = campaign.read_text()
    pid = table.filter(pl.col("action") == "extend_window")["proposal_id"][0]
    accept_proposals([pid], warehouse, campaign)
    added = [line for line in campaign.read_text().splitlines() if line not in before.splitlines()]
    assert added == [f"    settings: {{propensity.max_time: {{0.6: 700}}}}  # proposal {pid}"]
    assert load_campaign(campaign).settings == (("ka2d_ternary", "propensity.max_time", "0.6", 700.0),)


def test_refusals_leave_the_campaign_file_and_the_warehouse_unchanged(study):
    warehouse, campaign, table = study
    text = campaign.read_bytes()
    label = table.filter(pl.col("temperature") == 0.5)["proposal_id"][0]
    equilibria = table.filter(pl.col("action") == "add_equilibria")["proposal_id"][0]
    with pytest.raises(ProposalError, match="no proposal p-0000000000"):
        accept_proposals(["p-0000000000"], warehouse, campaign)
    with pytest.raises(ProposalError, match=r"profile setting.*swap_mc\.samples_per_chain"):
        accept_proposals([equilibria], warehouse, campaign)
    # inputs changed since the proposal was made: stale
    warehouse.replace_partition({"system": SYSTEM, "temperature": 0.5}, {"heterogeneity": heterogeneity_rows(0.5, 0.2)})
    with pytest.raises(ProposalError, match="stale: its inputs changed"):
        accept_proposals([label], warehouse, campaign)
    assert campaign.read_bytes() == text
    assert warehouse.query("SELECT count(*) AS n FROM proposal_acceptances")["n"][0] == 0


def test_a_campaign_edited_meanwhile_refuses_the_proposal(study):
    warehouse, campaign, table = study
    campaign.write_text(campaign.read_text() + "# a comment added by hand\n")
    edited = campaign.read_bytes()
    with pytest.raises(ProposalError, match="campaign file .* was edited after it was made"):
        accept_proposals([table["proposal_id"][0]], warehouse, campaign)
    assert campaign.read_bytes() == edited


def test_an_edit_that_would_not_validate_is_refused(tmp_path):
    text = CAMPAIGN.replace("propensity: [0.7, 0.6]", "propensity: [0.7, 0.6]").replace("heterogeneity: true\n", "")
    edited, _ = add_propensity_temperature(text, SYSTEM, 0.5, "x")
    assert "propensity: [0.7, 0.6, 0.5]  # MD labels; x" in edited
    with pytest.raises(ProposalError, match="already lists T = 0.7"):
        add_propensity_temperature(text, SYSTEM, 0.7, "x")
    with pytest.raises(ProposalError, match="no block for system kam"):
        add_propensity_temperature(text, "kam", 0.5, "x")


def test_the_autopilot_takes_the_best_fresh_campaign_proposals_within_its_budget(study):
    warehouse, campaign, table = study
    by_t = {r["temperature"]: r["proposal_id"] for r in table.filter(pl.col("action") == "label_temperature").iter_rows(
        named=True)}
    digest = campaign_digest(campaign)
    # gain per CPU-hour: labels 0.5 → 2, 0.4 → 2; a window (5) changes code versions and the profile action (15)
    # needs a profile edit: neither is the autopilot's
    assert autopilot_choice(warehouse, 0.6, digest) == [by_t[0.5]]
    assert sorted(autopilot_choice(warehouse, 1.5, digest)) == sorted([by_t[0.5], by_t[0.4]])
    assert autopilot_choice(warehouse, 0.4, digest) == []
    assert autopilot_choice(warehouse, 1.5, "another-campaign") == []  # stale against the campaign file
    with pytest.raises(ValueError, match="positive number"):
        autopilot_choice(warehouse, -1.0, digest)


def test_campaign_settings_override_one_system_at_one_temperature(tmp_path):
    from glass_assets.campaign import with_campaign_settings
    from glass_assets.profiles import load_profile

    path = tmp_path / "campaign.yaml"
    path.write_text(CAMPAIGN.replace("    proposals: true\n", "    settings: {propensity.max_time: {0.6: 700}}\n"))
    profile = with_campaign_settings(load_profile("demo"), load_campaign(path))
    assert profile.propensity.max_time_for(SYSTEM, 0.6) == 700.0
    assert profile.propensity.max_time_for(SYSTEM, 0.7) == load_profile("demo").propensity.max_time_for(SYSTEM, 0.7)
    assert profile.propensity.max_time_for("kam", 0.37) == load_profile("demo").propensity.max_time_for("kam", 0.37)
    for bad, error in (("{propensity.max_time: {0.5: 700}}", "not in that system's propensity list"),
                       ("{propensity.max_time: {0.6: -1}}", "not a positive number"),
                       ("{propensity.n_samples: {0.6: 1}}", "not an integer ≥ 2"),
                       ("{swap_mc.n_chains: {0.6: 4}}", "cannot be set by a campaign")):
        path.write_text(CAMPAIGN.replace("    proposals: true\n", f"    settings: {bad}\n"))
        with pytest.raises(ValueError, match=error):
            load_campaign(path)


def test_the_campaign_budget_must_be_a_positive_number(tmp_path):
    path = tmp_path / "campaign.yaml"
    path.write_text(CAMPAIGN + "autopilot: {cpu_hours_per_night: 2.5}\n")
    assert load_campaign(path).autopilot_cpu_hours == 2.5
    for bad in ("-1", "0", "nan", "'two'", "true"):
        path.write_text(CAMPAIGN + f"autopilot: {{cpu_hours_per_night: {bad}}}\n")
        with pytest.raises(ValueError, match="autopilot takes"):
            load_campaign(path)


def test_outcomes_appear_once_the_accepted_labels_are_in(study):
    warehouse, campaign, table = study
    pid = table.filter(pl.col("temperature") == 0.5)["proposal_id"][0]
    accept_proposals([pid], warehouse, campaign)
    points = (StatePointError(0.7, 0.8, 0.1, 0.01, 0.02, 8), StatePointError(0.5, 0.8, 0.1, 0.01, 0.03, 8))
    state = CampaignState(points, {0.7: (0.8,), 0.6: (0.8,)}, {0.7: 400.0, 0.6: 400.0}, {}, {0.7: 8, 0.6: 8},
                          (0.7, 0.6, 0.5), None, {})
    # the inputs did not change yet: no outcome
    assert outcome_rows(warehouse, SYSTEM, state, inputs_digest(warehouse, SYSTEM)).is_empty()
    # new χ4 rows, but T = 0.5 has no MD state point yet: still none
    warehouse.replace_partition({"system": SYSTEM, "temperature": 0.5}, {"heterogeneity": heterogeneity_rows(0.5, 0.3)})
    assert outcome_rows(warehouse, SYSTEM, state, inputs_digest(warehouse, SYSTEM)).is_empty()
    done = CampaignState(points, {**state.md_reached, 0.5: (0.8,)}, state.windows, {}, state.n_labelled,
                         state.swap_mc, None, {})
    rows = outcome_rows(warehouse, SYSTEM, done, inputs_digest(warehouse, SYSTEM))
    spread = rows.filter(pl.col("metric") == "mean_relative_spread").row(0, named=True)
    assert spread["proposal_id"] == pid
    assert spread["before"] == 0.5 and spread["predicted"] == pytest.approx(0.4)
    assert spread["realised"] == pytest.approx((0.2 + 0.3) / 2)  # the measured spreads / χ4 now
    assert spread["realised_change"] == pytest.approx(0.25 - 0.5)
    assert set(rows["metric"]) == {"objective", "mean_relative_spread"}


def _usage(asset: str, partition: str, component: str, items: int | None, cpu: float) -> dict:
    return {"asset": f"{SYSTEM}/{asset}", "partition_key": partition, "run_id": "r", "stage": "s",
            "component": component, "source": "worker", "n_tasks": 1, "n_items": items, "cpus": 1.0, "wall_s": cpu,
            "cpu_s": cpu}


def _state_points(temperature: float, times: dict[float, float]) -> pl.DataFrame:
    return pl.DataFrame({"system": SYSTEM, "temperature": temperature, "target_cb": list(times),
                         "time": list(times.values()), "mean_bond_breaking": list(times), "n_configurations": 2,
                         "n_replicas": 2, "split_half_r": 0.5, "ceiling": 0.8, "particle_type": "A"})


def test_the_asset_ranks_prices_and_judges_an_accepted_proposal(tmp_path, monkeypatch):
    """On crafted rows whose spread grows below the labels, the asset proposes labels at the coldest swap-MC
    temperature its window can reach, and after that proposal is accepted and its labels are in, it writes the
    predicted and the realised change."""
    from dagster import DagsterInstance

    from glass_assets.graph import materialize_templates
    from glass_assets.proposals.assets import CAMPAIGN_PROPOSALS
    from glass_assets.resources import WarehouseResource
    from tests.helpers.studies import tiny_study

    campaign = tmp_path / "campaign.yaml"
    campaign.write_text(CAMPAIGN.replace("[0.7, 0.6, 0.5, 0.4]", "[0.7, 0.6, 0.5]"))
    monkeypatch.setenv("GLASS_CAMPAIGN", str(campaign))
    resources = {"study": tiny_study(tmp_path), "warehouse": WarehouseResource(path=str(tmp_path / "w.duckdb"))}
    store = Warehouse(tmp_path / "w.duckdb")
    store.ensure_writable()
    for t, chi4 in ((0.7, 0.1), (0.6, 0.1), (0.5, 0.1)):
        rows = heterogeneity_rows(t, chi4).with_columns(network_spread=pl.lit({0.7: 0.01, 0.6: 0.01, 0.5: 0.05}[t]))
        store.replace_partition({"system": SYSTEM, "temperature": t}, {"heterogeneity": rows})
    # Arrhenius times of ⟨C_B⟩ = 0.99 (the tiny profile's first target): 0.5 reaches it at t = 1.6 < window 3
    for t, time in ((0.7, 0.5), (0.6, 0.8)):
        store.replace_partition({"system": SYSTEM, "temperature": t}, {"state_points": _state_points(t, {0.99: time})})
    store.record_compute_usage(pl.DataFrame([
        _usage("propensity_labels", f"{SYSTEM}|0.7", "isoconfigurational", 2, 6.0),
        _usage("swap_mc_equilibria", f"{SYSTEM}|0.7", "swap_mc", 2, 8.0),
        _usage("tglassmlp_model", SYSTEM, "training", 1, 30.0),
        _usage("mlp_descriptors", f"{SYSTEM}|0.7", "step", None, 2.0),
    ]))
    result = materialize_templates([CAMPAIGN_PROPOSALS], instance=DagsterInstance.ephemeral(), resources=resources,
                                   partition_key=SYSTEM)
    assert result.success
    proposals = store.query("SELECT * FROM campaign_proposals ORDER BY rank")
    label = proposals.filter(pl.col("action") == "label_temperature").row(0, named=True)
    assert label["temperature"] == 0.5 and label["accept_via"] == "campaign" and label["naive"]
    # cost: 2 configurations × (6 CPU-s / (2 items × window 3)) × window 3 + the retraining's 30 CPU-s
    assert label["cpu_hours"] == pytest.approx((2 * 1.0 * 3.0 + 30.0) / 3600)
    metadata = result.asset_materializations_for_node(f"{SYSTEM}__campaign_proposals")[0].metadata
    assert {"proposals", "gain_model", "model_fit", "costs_cpu_s", "plot"} <= set(metadata)
    assert all(c.passed for c in result.get_asset_check_evaluations())

    accept_proposals([label["proposal_id"]], store, campaign)
    # the accepted work: MD labels at 0.5, and the tGlassMLP's χ4 there with a smaller spread
    store.replace_partition({"system": SYSTEM, "temperature": 0.5}, {"state_points": _state_points(0.5, {0.99: 1.6})})
    store.replace_partition({"system": SYSTEM, "temperature": 0.5}, {"heterogeneity": heterogeneity_rows(0.5, 0.1)})
    materialize_templates([CAMPAIGN_PROPOSALS], instance=DagsterInstance.ephemeral(), resources=resources,
                          partition_key=SYSTEM)
    outcome = store.query("SELECT * FROM proposal_outcomes WHERE metric = 'mean_relative_spread'").row(0, named=True)
    assert outcome["proposal_id"] == label["proposal_id"]
    assert outcome["before"] == pytest.approx((0.1 + 0.1 + 0.5) / 3)
    assert outcome["realised"] == pytest.approx((0.1 + 0.1 + 0.2) / 3)
    assert outcome["predicted"] == pytest.approx(label["spread_after"])


def test_a_campaign_setting_changes_the_code_versions_of_that_system_only(tmp_path):
    """The window of one ternary temperature re-runs what reads it, for that system; other systems' assets and the
    ternary assets that do not read it keep their code versions."""
    from glass_assets.definitions import build_definitions
    from glass_assets.profiles import load_profile
    from tests.helpers.paths import SNAPSHOTS

    text = (SNAPSHOTS / "campaign.yaml").read_text()
    edited = tmp_path / "campaign.yaml"
    window = "    settings: {propensity.max_time: {0.5: 700}}"
    edited.write_text(text.replace("    proposals: true", f"    proposals: true\n{window}"))

    def versions(path):
        graph = build_definitions(load_campaign(path), load_profile("demo")).resolve_asset_graph()
        return {key.to_user_string(): graph.get(key).code_version for key in graph.get_all_asset_keys()}

    before, after = versions(SNAPSHOTS / "campaign.yaml"), versions(edited)
    changed = {key for key in before if before[key] != after[key]}
    assert "ka2d_ternary/propensity_labels" in changed and "ka2d_ternary/tglassmlp_model" in changed
    assert not {key for key in changed if not key.startswith("ka2d_ternary/")}
    assert "ka2d_ternary/swap_mc_equilibria" not in changed and "ka2d_ternary/mlp_descriptors" not in changed
