"""Accepting proposals from Dagster: the ``accept_campaign_proposals`` job (the UI's one action: *Launchpad* with the
proposal ids as config) and the ``campaign_autopilot`` schedule.

The autopilot is off unless the campaign sets ``autopilot: {cpu_hours_per_night: <hours>}``. Then, at the campaign's
``backfill_schedule``, it ranks the current ``label_temperature`` proposals of every system by gain per CPU-hour (a
new temperature is a new partition; a window proposal changes code versions, which a running code location takes up
only when reloaded, so it is left to a user) and takes, greedily, those with a positive gain whose predicted cost
still fits the night's budget (:func:`glass_core.learning.campaign_gain.select_within_budget`; costs from the
accounting table), skipping stale ones; the job accepts them in one campaign edit and records each acceptance
(``accepted_by = 'autopilot'``).
"""


from dagster import (
    Config,
    DefaultScheduleStatus,
    JobDefinition,
    MetadataValue,
    OpExecutionContext,
    Output,
    RunRequest,
    ScheduleDefinition,
    ScheduleEvaluationContext,
    SkipReason,
    job,
    op,
    schedule,
)

from glass_assets.campaign import load_campaign
from glass_assets.proposals.accept import ProposalError, accept_proposals
from glass_assets.proposals.assets import campaign_digest
from glass_assets.proposals.state import inputs_digest
from glass_assets.resources import WarehouseResource
from glass_assets.warehouse import Warehouse
from glass_core.learning.campaign_gain import Candidate, select_within_budget

__all__ = ["accept_campaign_proposals", "autopilot_choice", "campaign_autopilot"]

NAME = "campaign_autopilot"


class AcceptConfig(Config):
    """The proposals to accept (ids from ``campaign_proposals``) and who accepts them."""

    proposal_ids: list[str]
    accepted_by: str = "ui"


@op(description="Accepts campaign proposals: one validated, atomic campaign edit; records each acceptance.")
def accept_proposals_op(context: OpExecutionContext, config: AcceptConfig, warehouse: WarehouseResource) -> Output[int]:
    try:
        accepted = accept_proposals(config.proposal_ids, warehouse.get(), accepted_by=config.accepted_by)
    except ProposalError as error:
        context.log.error(str(error))
        raise
    for item in accepted:
        context.log.info(f"accepted {item.proposal_id} ({item.system}): {item.edit}")
        if "settings:" in item.edit:
            context.log.warning("a campaign setting changes code versions: reload the code location (Deployment → "
                                "Reload) so the automation computes the assets that read it again")
    table = "| proposal | system | campaign line |\n|---|---|---|\n" + "\n".join(
        f"| {a.proposal_id} | {a.system} | `{a.edit}` |" for a in accepted)
    return Output(len(accepted), metadata={"accepted": MetadataValue.md(table), "by": config.accepted_by})


@job(name="accept_campaign_proposals", description=(
    "Accept campaign proposals (config: proposal_ids from the campaign_proposals table, accepted_by). Edits the "
    "campaign file atomically after validating it; the campaign sensor adds the partitions and the automation "
    "computes them. A missing or stale proposal, or a campaign file edited meanwhile, fails the run and changes "
    "nothing."))
def accept_campaign_proposals() -> None:
    accept_proposals_op()


def autopilot_choice(warehouse: Warehouse, budget: float, campaign_file_digest: str) -> list[str]:
    """The proposal ids the autopilot accepts within ``budget`` CPU-hours: new temperatures, not stale (same inputs and
    campaign file), greedy by gain per CPU-hour over every system."""
    rows = warehouse.query(  # new temperatures only: a window changes code versions, which wait for a reload
        "SELECT * FROM campaign_proposals WHERE action IN ('label_temperature') "
        "ORDER BY gain_per_cpu_hour DESC, proposal_id")
    fresh = {system: inputs_digest(warehouse, system) for system in set(rows["system"])}
    ids: dict[int, str] = {}  # candidate (by identity) → its proposal id
    ranked = []
    for r in rows.iter_rows(named=True):
        if r["inputs_digest"] != fresh[r["system"]] or r["campaign_digest"] != campaign_file_digest:
            continue
        candidate = Candidate(r["action"], r["temperature"], {}, r["gain"], r["cpu_hours"], r["objective_before"],
                              r["objective_after"], r["note"] or "")
        ids[id(candidate)] = r["proposal_id"]
        ranked.append(candidate)
    return [ids[id(chosen)] for chosen in select_within_budget(ranked, budget)]


def campaign_autopilot(backfill_schedule: str, budget: float | None) -> tuple[ScheduleDefinition, JobDefinition]:
    """The ``campaign_autopilot`` schedule (running only when the campaign sets a budget) and its job."""

    @schedule(
        name=NAME,
        cron_schedule=backfill_schedule,
        execution_timezone="UTC",
        job=accept_campaign_proposals,
        default_status=DefaultScheduleStatus.RUNNING if budget else DefaultScheduleStatus.STOPPED,
        description=(
            "Campaign autopilot: each night accepts the best campaign proposals within the campaign's "
            "autopilot.cpu_hours_per_night (off without it). See glass_assets/proposals/autopilot.py."
        ),
    )
    def _schedule(context: ScheduleEvaluationContext, warehouse: WarehouseResource) -> RunRequest | SkipReason:
        campaign = load_campaign()
        if campaign.autopilot_cpu_hours is None:
            return SkipReason("autopilot off: the campaign sets no autopilot.cpu_hours_per_night")
        ids = autopilot_choice(warehouse.get(), campaign.autopilot_cpu_hours, campaign_digest())
        if not ids:
            return SkipReason(f"no fresh campaign proposal with a gain fits {campaign.autopilot_cpu_hours:g} CPU-h")
        config = {"proposal_ids": ids, "accepted_by": "autopilot"}
        return RunRequest(run_key=f"autopilot-{'-'.join(ids)}",
                          run_config={"ops": {"accept_proposals_op": {"config": config}}})

    return _schedule, accept_campaign_proposals
