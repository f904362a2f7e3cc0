"""``campaign_proposals``: candidate actions ranked by predicted gain per CPU-hour, and the outcomes of accepted ones.

The gain model is :mod:`glass_core.learning.campaign_gain` (its docstring states it); the inputs are read by
:mod:`glass_assets.proposals.state`. Each proposal has an id (a digest of the system, the action, its parameters and
the inputs), the digest of the inputs and of the campaign file it was made from (so accepting a stale one is
refused), and how it is accepted: ``campaign`` (a campaign edit, :mod:`glass_assets.proposals.accept`: a temperature
added to ``propensity``, or a window in the system's ``settings``) or ``profile`` (more equilibria at one swap-MC
temperature, which no setting expresses per temperature: the proposal names the settings).

Every accepted proposal whose work is done (its temperature labelled, its inputs changed) gets outcome rows: the
objective and the mean relative network spread before, predicted and realised (``proposal_outcomes``), so the gain
model is judged by what it predicts.
"""


import hashlib
import json
import math

import polars as pl
from dagster import AssetExecutionContext, MaterializeResult, MetadataValue

from glass_assets.campaign import default_campaign_path, load_campaign
from glass_assets.checks import evaluate_before_commit
from glass_assets.graph import PER_SYSTEM, AssetTemplate, Upstream
from glass_assets.plots import figure_metadata, markdown_table
from glass_assets.proposals.checks import PROPOSAL_CHECKS
from glass_assets.proposals.plots import proposals_figure
from glass_assets.proposals.state import campaign_state, inputs_digest
from glass_assets.resources import StudySettings, WarehouseResource
from glass_assets.versioning import PROPOSALS_CODE_VERSION
from glass_assets.warehouse import Warehouse
from glass_core.learning.campaign_gain import (
    CampaignState,
    Candidate,
    candidates,
    error_parts,
    fit_error_model,
    realised_spread,
)
from glass_core.models.systems import get_system

__all__ = ["CAMPAIGN_PROPOSALS", "campaign_digest", "proposal_rows"]

#: the actions a campaign edit expresses (a temperature in ``propensity``, a window in ``settings``); the others
#: change profile settings the campaign cannot set per temperature (more equilibria per swap-MC temperature)
CAMPAIGN_ACTIONS = frozenset({"label_temperature", "extend_window"})
#: the profile key each other action sets
PROFILE_KEYS = {
    "add_configurations": "propensity.n_samples and swap_mc.samples_per_chain",
    "add_equilibria": "swap_mc.samples_per_chain",
}
GAIN_MODEL = (
    "E²(T, ⟨C_B⟩) = s_conf² + s_net(x)² + e_tr(x)² of the predicted χ4 (relative), summed over every swap-MC "
    "temperature and target ⟨C_B⟩; s_conf the configuration bootstrap SE (∝ 1/√n), s_net(x) = a + b·x the network "
    "spread fitted against the extrapolation distance x, e_tr(x) = e_h·x/x_h the transfer error calibrated on the "
    "held-out test. Gain = ΔE² an action predicts; cost = measured CPU-hours (compute_usage); ranked by gain per "
    "CPU-hour. See glass_core.learning.campaign_gain."
)


def campaign_digest(path: object = None) -> str:
    """Digest of the campaign file's bytes: an edit since a proposal was made makes it stale."""
    return hashlib.sha256(open(path or default_campaign_path(), "rb").read()).hexdigest()[:16]  # noqa: SIM115


def _proposal_id(system: str, candidate: Candidate, digest: str) -> str:
    blob = json.dumps([system, candidate.action, candidate.temperature, dict(candidate.parameters), digest])
    return "p-" + hashlib.sha256(blob.encode()).hexdigest()[:10]


def _profile_edit(system: str, candidate: Candidate) -> str | None:
    if candidate.action in CAMPAIGN_ACTIONS:
        return None
    added = next(iter(candidate.parameters.values()))
    return f"{PROFILE_KEYS[candidate.action]}: {added:g} more for {system} at T = {candidate.temperature:g}"


def proposal_rows(
    system: str, ranked: list[Candidate], digest: str, campaign: str, coldest: float | None, spread: float
) -> pl.DataFrame:
    """The ``campaign_proposals`` rows of ``system``: one per candidate, ranked; ``naive`` marks the next temperature
    0.1 below the coldest labelled one (the choice a user makes by hand). ``spread``: the measured mean relative
    network spread now; each proposal's predicted spread is it plus the model's change."""
    rows = []
    for rank, c in enumerate(ranked, start=1):
        rows.append({
            "system": system, "proposal_id": _proposal_id(system, c, digest), "rank": rank, "action": c.action,
            "temperature": c.temperature, "parameters": json.dumps(dict(c.parameters)), "gain": c.gain,
            "cpu_hours": c.cpu_hours, "gain_per_cpu_hour": c.gain_per_cpu_hour, "objective_before": c.objective_before,
            "objective_after": c.objective_after, "spread_before": spread,
            "spread_after": spread + c.spread_after - c.spread_before, "note": c.note,
            "accept_via": "campaign" if c.action in CAMPAIGN_ACTIONS else "profile",
            "profile_edit": _profile_edit(system, c),
            "naive": c.action == "label_temperature" and coldest is not None
            and math.isclose(c.temperature, round(coldest - 0.1, 6)),
            "inputs_digest": digest, "campaign_digest": campaign,
        })  # fmt: skip
    return pl.DataFrame(rows, schema_overrides={"temperature": pl.Float64, "rank": pl.Int32})


def _done(acceptance: dict, state: CampaignState, digest: str) -> bool:
    """An accepted proposal's work is done when the inputs changed since and, for new labels, the temperature has
    MD state points."""
    if acceptance["inputs_digest"] == digest:
        return False
    if acceptance["action"] == "label_temperature":
        return bool(state.md_reached.get(acceptance["temperature"]))
    return True


def outcome_rows(warehouse: Warehouse, system: str, state: CampaignState, digest: str) -> pl.DataFrame:
    """Predicted against realised for every accepted proposal of ``system`` whose work is done."""
    accepted = warehouse.query("SELECT * FROM proposal_acceptances WHERE system = ? ORDER BY accepted_at", [system])
    parts = error_parts(state, fit_error_model(state))
    now = {"objective": parts["se2"] + parts["spread2"] + parts["transfer2"],
           "mean_relative_spread": realised_spread(state.points)}
    rows = []
    for a in accepted.iter_rows(named=True):
        if not _done(a, state, digest):
            continue
        for metric, before, predicted in (("objective", a["objective_before"], a["objective_after"]),
                                          ("mean_relative_spread", a["spread_before"], a["spread_after"])):
            realised = now[metric]
            rows.append({"system": system, "proposal_id": a["proposal_id"], "action": a["action"],
                         "temperature": a["temperature"], "metric": metric, "before": before, "predicted": predicted,
                         "realised": realised, "predicted_change": predicted - before,
                         "realised_change": realised - before, "cpu_hours_predicted": a["cpu_hours"]})
    return pl.DataFrame(rows, schema=OUTCOME_SCHEMA)


OUTCOME_SCHEMA = {
    "system": pl.String, "proposal_id": pl.String, "action": pl.String, "temperature": pl.Float64,
    "metric": pl.String, "before": pl.Float64, "predicted": pl.Float64, "realised": pl.Float64,
    "predicted_change": pl.Float64, "realised_change": pl.Float64, "cpu_hours_predicted": pl.Float64,
}  # fmt: skip


def campaign_proposals(
    context: AssetExecutionContext, study: StudySettings, warehouse: WarehouseResource
) -> MaterializeResult:
    """Where the next CPU-hours buy the most: candidate actions ranked by predicted gain per CPU-hour."""
    system = get_system(context.partition_key).name
    campaign = load_campaign()
    labelled = sorted(float(t) for t in campaign.temperatures(system, "propensity"))
    swap_mc = sorted(float(t) for t in campaign.temperatures(system, "swap_mc"))
    store = warehouse.get()
    store.ensure_writable()  # a warehouse made before the proposal tables gains them
    state = campaign_state(store, study.load(), system, labelled, swap_mc)
    model = fit_error_model(state)
    digest = inputs_digest(store, system)
    ranked = candidates(state)
    table = proposal_rows(system, ranked, digest, campaign_digest(), labelled[0] if labelled else None,
                          realised_spread(state.points))
    outcomes = outcome_rows(store, system, state, digest)
    results = evaluate_before_commit(PROPOSAL_CHECKS, context, rejected={"campaign_proposals": table},
                                     quarantine_root=study.quarantine_root(), table=table, costs=dict(state.costs))
    written = store.replace_partition({"system": system}, {"campaign_proposals": table, "proposal_outcomes": outcomes})
    for row in table.head(3).iter_rows(named=True):
        context.log.info(f"rank {row['rank']} {row['proposal_id']}: {row['note']} — gain {row['gain']:.3g} for "
                         f"{row['cpu_hours']:.3g} CPU-h ({row['accept_via']})")
    figure = proposals_figure(state, model, table, f"{system}: campaign proposals")
    shown = table.select("rank", "proposal_id", "action", "temperature", "gain", "cpu_hours", "gain_per_cpu_hour",
                         "accept_via", "naive", "note")
    return MaterializeResult(
        check_results=results,
        metadata={
            "top_proposal": MetadataValue.text(
                f"{table['proposal_id'][0]}: {table['note'][0]}" if table.height else ""),
            "proposals": MetadataValue.md(markdown_table(shown)),
            "gain_model": MetadataValue.md(GAIN_MODEL),
            "model_fit": MetadataValue.json({"spread_floor_a": model.spread_floor, "spread_slope_b": model.spread_slope,
                                             "transfer_per_span": model.transfer_per_span,
                                             "held_out_x_e": list(state.held_out) if state.held_out else None}),
            "costs_cpu_s": MetadataValue.json(dict(state.costs)),
            "inputs_digest": digest,
            "outcomes": MetadataValue.md(markdown_table(outcomes) if outcomes.height else "no accepted proposal done"),
            "rows_written": MetadataValue.json(written),
            **figure_metadata(figure, study.plot_path("campaign_proposals", f"{system}.png")),
        },
    )


CAMPAIGN_PROPOSALS = AssetTemplate(
    body=campaign_proposals,
    partitioned_by=PER_SYSTEM,
    upstream=(Upstream("heterogeneity_summary"), Upstream("transferability")),
    checks=PROPOSAL_CHECKS,
    kinds=frozenset({"duckdb"}),
    group_name="proposals",
    code_version=PROPOSALS_CODE_VERSION,
    profile_settings=("propensity", "swap_mc", "propensity_learning"),
)
