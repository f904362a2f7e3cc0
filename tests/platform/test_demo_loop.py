"""The demo runner's own loop (``python -m glass_assets.demo``) on a tiny asset graph, no LAMMPS: due assets are
grouped into one run per partition in graph order, a small graph is finished, and a graph still requesting runs at
the round cap is reported (a warning, what is still due, exit status 3), not left silently half done."""

from __future__ import annotations

import pytest
from dagster import AssetKey, DagsterInstance, Definitions, StaticPartitionsDefinition, asset

from glass_assets import demo
from glass_assets.automation.conditions import campaign_condition
from glass_assets.demo import CampaignOutcome, group_runs, run_campaign, run_rounds
from tests.helpers.campaigns import campaign_environment
from tests.helpers.paths import TINY_PROFILES

TEMPERATURES = StaticPartitionsDefinition(["0.1", "0.2"])
CONDITION = campaign_condition()


@asset(partitions_def=TEMPERATURES, automation_condition=CONDITION)
def quench() -> None:
    pass


@asset(partitions_def=TEMPERATURES, deps=[quench], automation_condition=CONDITION)
def study() -> None:
    pass


@asset(deps=[study], automation_condition=CONDITION)
def summary() -> None:
    """Unpartitioned, over every temperature of ``study``."""


@asset(automation_condition=CONDITION)
def a_root() -> None:
    """Unpartitioned, no inputs: first in graph order, so its run holds a key whose run must wait."""


DEFS = Definitions(assets=[quench, study, summary, a_root])
GRAPH = DEFS.resolve_asset_graph()
QUENCH, STUDY, SUMMARY, ROOT = (AssetKey(name) for name in ("quench", "study", "summary", "a_root"))
ALL = [(QUENCH, "0.1"), (QUENCH, "0.2"), (STUDY, "0.1"), (STUDY, "0.2"), (SUMMARY, None), (ROOT, None)]


class FakeAutomation:
    """Requests what is missing once its inputs exist (as ``campaign_condition``), and records each run."""

    def __init__(self, fails: tuple = ()) -> None:
        self.done: set[tuple] = set()
        self.runs: list[tuple] = []
        self.fails = fails

    def due_now(self) -> list[tuple]:
        def inputs_done(key: AssetKey, partition: str | None) -> bool:
            parents = GRAPH.get(key).parent_keys
            return all((p, q) in self.done for p in parents for q in ([partition] if partition else ["0.1", "0.2"]))

        return [(k, p) for k, p in reversed(ALL) if (k, p) not in self.done and inputs_done(k, p)]

    def execute(self, keys: list, partition: str | None, counter: str) -> bool:
        self.runs.append((partition, list(keys), counter))
        if (keys[0], partition) in self.fails:
            return False
        self.done |= {(key, partition) for key in keys}
        return True


def test_due_assets_are_grouped_one_run_per_partition_and_each_run_after_the_runs_of_its_inputs():
    runs = group_runs(GRAPH, list(reversed(ALL)) + ALL[:2])  # any order, duplicates
    assert runs[:2] == [("0.1", [QUENCH, STUDY]), ("0.2", [QUENCH, STUDY])]
    # the unpartitioned assets share one run; a_root comes first in graph order, but summary needs every study
    assert runs[2][0] is None and set(runs[2][1]) == {ROOT, SUMMARY} and len(runs) == 3
    # a key's run waits for the run of its input even at another partition
    assert group_runs(GRAPH, [(STUDY, "0.1"), (QUENCH, "0.2")]) == [("0.2", [QUENCH]), ("0.1", [STUDY])]
    assert group_runs(GRAPH, []) == []


def test_the_loop_finishes_a_small_graph_in_as_many_rounds_as_it_is_deep():
    automation, lines = FakeAutomation(), []
    outcome = run_rounds(GRAPH, automation.due_now, automation.execute, lines.append, max_rounds=3)
    assert outcome == CampaignOutcome(runs=6, failed=0) and outcome.complete
    assert automation.done == set(ALL)
    assert [(p, [k.path[-1] for k in keys]) for p, keys, _ in automation.runs] == [
        (None, ["a_root"]), ("0.1", ["quench"]), ("0.2", ["quench"]),  # round 1: graph order
        ("0.1", ["study"]), ("0.2", ["study"]),  # round 2
        (None, ["summary"]),  # round 3
    ]
    assert [counter for *_, counter in automation.runs] == ["1/3", "2/3", "3/3", "1/2", "2/2", "1/1"]
    assert lines == ["campaign complete: no asset is due"]


def test_a_graph_not_done_at_the_round_cap_is_reported_with_what_is_still_due():
    automation, lines = FakeAutomation(), []
    outcome = run_rounds(GRAPH, automation.due_now, automation.execute, lines.append, max_rounds=2)
    assert not outcome.complete and outcome.still_due == ((SUMMARY, None),) and outcome.runs == 5
    assert lines == [
        "warning: stopped after 2 rounds with 1 asset partition still due, the campaign is not complete: summary"
    ]
    # a run that fails every time is requested again every round: the cap ends it, and says so
    failing, lines = FakeAutomation(fails=((QUENCH, "0.2"),)), []
    outcome = run_rounds(GRAPH, failing.due_now, failing.execute, lines.append, max_rounds=4)
    assert outcome.failed == 4 and outcome.still_due == ((QUENCH, "0.2"),)
    assert lines[-1].startswith("warning: stopped after 4 rounds") and lines[-1].endswith("quench 0.2")


def test_run_campaign_materializes_a_tiny_graph_through_dagsters_automation(tmp_path):
    lines = []
    with DagsterInstance.local_temp(str(tmp_path)) as instance:
        outcome = run_campaign(DEFS, instance, lines.append, max_rounds=1, audit=lambda *_: [])
        # the first evaluation requests a_root, and quench with study (Dagster counts an input requested in the same
        # tick as present): one run per partition; summary waits for a second round the cap does not allow
        assert not outcome.complete and outcome.still_due == ((SUMMARY, None),)
        assert (outcome.runs, outcome.failed) == (3, 0)
        assert lines[-1].startswith("warning: stopped after 1 round with 1 asset partition")
        # a second demo goes on where the first stopped
        outcome = run_campaign(DEFS, instance, lines.append, audit=lambda *_: [])
        assert outcome == CampaignOutcome(runs=1, failed=0) and lines[-1] == "campaign complete: no asset is due"
        for key in (QUENCH, STUDY):
            assert instance.get_materialized_partitions(key) == {"0.1", "0.2"}
        assert all(instance.get_latest_materialization_event(key) for key in (ROOT, SUMMARY))


def test_the_demo_exits_with_status_3_when_it_stops_before_the_campaign_is_complete(tmp_path, monkeypatch, capsys):
    env = campaign_environment(tmp_path / "campaign", "systems:\n  abm:\n    quench: [2.0]\n", profiles=TINY_PROFILES)
    for name, value in {**env, "DAGSTER_HOME": str(tmp_path)}.items():
        monkeypatch.setenv(name, value)
    stopped = CampaignOutcome(runs=50, failed=0, still_due=((SUMMARY, None),))
    monkeypatch.setattr(demo, "run_campaign", lambda defs, instance: stopped)
    assert demo.main([]) == 3
    out, err = capsys.readouterr()
    assert "demo stopped in" in out
    assert "error: the campaign is not complete: 1 asset partition still due after 50 rounds" in err
    monkeypatch.setattr(demo, "run_campaign", lambda defs, instance: CampaignOutcome(runs=3, failed=1))
    assert demo.main([]) == 1
    assert "demo finished in" in capsys.readouterr().out


@pytest.mark.parametrize("max_rounds", [0, 1])
def test_no_round_is_needed_for_a_graph_with_nothing_due(max_rounds):
    lines = []
    outcome = run_rounds(GRAPH, lambda: [], lambda *_: pytest.fail("nothing to execute"), lines.append, max_rounds)
    assert outcome == CampaignOutcome(0, 0) and lines == ["campaign complete: no asset is due"]


def test_a_code_version_changed_between_demos_is_computed_again(tmp_path):
    """The demo keeps its automation cursor in the instance, so a setting that changes a code version between two
    demos (a profile edit, a campaign ``settings`` override) is recomputed by the next demo, as by the daemon."""

    def graph(version: str) -> Definitions:
        @asset(partitions_def=TEMPERATURES, deps=[quench], automation_condition=CONDITION, code_version=version)
        def study() -> None:
            pass

        return Definitions(assets=[quench, study, summary, a_root])

    with DagsterInstance.local_temp(str(tmp_path)) as instance:
        assert run_campaign(graph("v1"), instance, lambda _: None, audit=lambda *_: []).complete
        outcome = run_campaign(graph("v1"), instance, lambda _: None, audit=lambda *_: [])
        assert outcome == CampaignOutcome(runs=0, failed=0)  # nothing changed: nothing due
        outcome = run_campaign(graph("v2"), instance, lambda _: None, audit=lambda *_: [])
        assert outcome.complete and outcome.runs >= 2  # both study partitions again (then summary, downstream)
        latest = {r.tags.get("dagster/partition") for r in instance.get_runs()[: outcome.runs]}
        assert {"0.1", "0.2"} <= latest


def test_runs_that_wait_on_each_other_are_split_in_graph_order():
    """A per-system model, per-temperature predictions from it and a per-system summary of those, all due at once (a
    changed setting): the model runs first, then the predictions, then the summary — never the summary before the
    predictions it reads."""

    @asset
    def model() -> None:
        pass

    @asset(partitions_def=TEMPERATURES, deps=[model])
    def predictions() -> None:
        pass

    @asset(deps=[predictions])
    def lengths() -> None:
        pass

    graph = Definitions(assets=[model, predictions, lengths]).resolve_asset_graph()
    keys = {name: AssetKey(name) for name in ("model", "predictions", "lengths")}
    due = [(keys["lengths"], None), (keys["predictions"], "0.1"), (keys["model"], None), (keys["predictions"], "0.2")]
    assert group_runs(graph, due) == [
        (None, [keys["model"]]), ("0.1", [keys["predictions"]]), ("0.2", [keys["predictions"]]),
        (None, [keys["lengths"]]),
    ]
