"""A temporary campaign in this process: its own profiles, warehouse, registry and Dagster instance, built as the
code location builds it (``build_definitions`` under the environment the daemon would see)."""

from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path

import yaml
from dagster import DagsterInstance

from glass_assets.automation.sensors import sync_partitions
from glass_assets.campaign import load_campaign
from glass_assets.definitions import build_definitions
from glass_assets.warehouse import Warehouse
from tests.helpers.paths import TINY_PROFILES


def profiles_file(path: Path, changes: dict[str, dict] | None = None, base: str = "tiny") -> Path:
    """``tests/tiny_profiles.yaml`` with profile ``base`` changed by ``changes`` ({'section.key': value} or
    {'section.key.sub': value}; profile name → changes), written to ``path``."""
    profiles = yaml.safe_load(TINY_PROFILES.read_text())
    for name, edits in (changes or {}).items():
        profile = profiles.setdefault(name, yaml.safe_load(yaml.safe_dump(profiles[base])))
        for dotted, value in edits.items():
            *parents, leaf = dotted.split(".")
            node = profile
            for part in parents:
                node = node.setdefault(part, {})
            node[leaf] = value
    path.write_text(yaml.safe_dump(profiles, sort_keys=False))
    return path


def campaign_environment(folder: Path, campaign: str, profile: str = "tiny", profiles: Path = TINY_PROFILES) -> dict:
    """The environment variables of a campaign whose files all live under ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "campaign.yaml").write_text(campaign)
    return {
        "GLASS_CAMPAIGN": str(folder / "campaign.yaml"),
        "GLASS_PROFILE": profile,
        "GLASS_PROFILES_FILE": str(profiles),
        "GLASS_WAREHOUSE": str(folder / "warehouse.duckdb"),
        "GLASS_SCRATCH": str(folder / "scratch"),
        "MLFLOW_TRACKING_URI": f"sqlite:///{folder / 'mlflow.db'}",
        "GLASS_MLFLOW_ARTIFACTS": str(folder / "artifacts"),
    }


@contextmanager
def environment(values: dict[str, str]):
    """Set ``values`` in ``os.environ`` for the block (the definitions read their resources from it)."""
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


class TemporaryCampaign:
    """Definitions of a campaign file under the environment ``env``, with an instance whose partitions follow it."""

    def __init__(self, env: dict[str, str], instance: DagsterInstance):
        self.env = env
        self.instance = instance
        with environment(env):
            self.campaign = load_campaign(Path(env["GLASS_CAMPAIGN"]))
            self.defs = build_definitions(self.campaign)
        sync_partitions(instance, self.campaign)

    @property
    def warehouse(self) -> Warehouse:
        return Warehouse(self.env["GLASS_WAREHOUSE"])

    def materialize(self, keys: list, partition: str | None):  # noqa: ANN201 - an ExecuteInProcessResult
        """One run of ``keys`` at ``partition`` in this process, as the demo runner executes it."""
        job = self.defs.resolve_implicit_job_def_def_for_assets(keys)
        with environment(self.env):
            return job.execute_in_process(
                instance=self.instance, partition_key=partition, asset_selection=keys, raise_on_error=False
            )

    def run(self) -> tuple[int, int]:
        """Audit and automation ticks, executing what they request, until nothing is due: (runs, failed)."""
        from glass_assets.demo import run_campaign

        with environment(self.env):
            outcome = run_campaign(self.defs, self.instance, log=lambda _: None)
        assert outcome.complete, f"the campaign stopped at the round cap with {outcome.still_due} still due"
        return outcome.runs, outcome.failed
