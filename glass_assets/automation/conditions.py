"""When an asset of the campaign is materialized: Dagster's declarative automation, nothing hand-written.

One condition for every asset (evaluated by the ``campaign_automation`` sensor, :mod:`.sensors`):

- **within seconds** (:meth:`AutomationCondition.eager` triggers): a partition the campaign sensor just
  added, an input that was updated, or a new code version;
- **nightly** (the campaign's ``backfill_schedule`` cron, default 02:00 UTC): every partition that is still
  missing, failed runs included, so nothing is skipped forever; the partitions of one tick are launched as
  one Dagster backfill (*Overview → Backfills*);
- **on the first evaluation** of the condition: every missing partition, so a fresh instance or a changed
  condition starts the whole campaign;

and never while the partition or any of its inputs is in progress, or while an input is missing (so a
model waits for every temperature of its system). A partition requested once is not requested again by
the same trigger: retries come from the run's retry policy and the instance's ``run_retries``.
"""

from dagster import AutomationCondition

from glass_assets.campaign import DEFAULT_BACKFILL_SCHEDULE

__all__ = ["campaign_condition"]


def campaign_condition(backfill_schedule: str = DEFAULT_BACKFILL_SCHEDULE) -> AutomationCondition:
    """eager ∪ (missing ∧ (cron tick ∨ first evaluation)), all guarded by inputs present and nothing running."""
    soon = (
        AutomationCondition.newly_missing()
        | AutomationCondition.any_deps_updated()
        | AutomationCondition.code_version_changed()
    ).since_last_handled()
    # since_last_handled() counts the first evaluation as handled, so the first evaluation is its own clause
    nightly = AutomationCondition.missing() & (
        AutomationCondition.cron_tick_passed(backfill_schedule).since_last_handled()
        | AutomationCondition.initial_evaluation()
    )
    return (
        (
            soon.with_label("new partition, updated input or new code")
            | nightly.with_label(f"missing at {backfill_schedule}")
        )
        & ~AutomationCondition.any_deps_missing()
        & ~AutomationCondition.any_deps_in_progress()
        & ~AutomationCondition.in_progress()
    ).with_label("campaign")
