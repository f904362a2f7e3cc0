"""The asset graph: each asset is written once and built for every system whose campaign entry runs it.

An :class:`AssetTemplate` holds an asset's body and its contract (partitioning, upstream assets, checks,
kinds, code version, pool, retry policy, the profile settings it reads); :meth:`AssetTemplate.build` turns it into
the Dagster asset ``<system>/<name>`` with the system's own partitions (:mod:`glass_assets.partitions`), its declared
dependencies on the other assets built for that system, and the campaign's automation condition
(:mod:`glass_assets.automation.conditions`). The bodies read their (system, temperature) from the
partition key, so they are the same for every system.
"""

from __future__ import annotations

import functools
import inspect
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from dagster import (
    AllPartitionMapping,
    AssetCheckSpec,
    AssetDep,
    AssetKey,
    AssetsDefinition,
    AutomationCondition,
    Backoff,
    DagsterExecutionInterruptedError,
    DagsterInstance,
    ExecuteInProcessResult,
    Failure,
    IdentityPartitionMapping,
    MultiPartitionKey,
    PartitionMapping,
    PartitionsDefinition,
    PreviewWarning,
    RetryPolicy,
    asset,
    materialize,
)

from glass_assets import compute_accounting, lineage
from glass_assets.checks import Check, check_specs
from glass_assets.partitions import TO_SYSTEM, system_partitions, system_temperature_partitions, temperature_partitions
from glass_assets.profiles import Profile

__all__ = [
    "GROUP_STAGES",
    "PER_SYSTEM",
    "SIMULATION_RETRIES",
    "STEP_RETRIES",
    "AssetTemplate",
    "Upstream",
    "materialize_templates",
    "partitioned_checks",
]

#: partitioning of an asset that covers its system as a whole (a model, a summary)
PER_SYSTEM = "system"

#: stage → its name in a Dagster group, where the full one is too long for the UI to show uncut
#: (``ka2d_ternary_propensity_learning`` showed as ``ka2d_ternary_pr…ensity_learning``)
GROUP_STAGES = {"propensity_learning": "learning"}

#: a killed or crashed simulation step is retried in the same run; finished samples are reused from scratch
SIMULATION_RETRIES = RetryPolicy(max_retries=2, delay=5, backoff=Backoff.LINEAR)
#: every other step killed from outside (SIGKILL, out of memory) is retried too; its own errors are not
STEP_RETRIES = RetryPolicy(max_retries=2, delay=5, backoff=Backoff.LINEAR)


@dataclass(frozen=True)
class Upstream:
    """One upstream asset: ``same`` partition (or, between per-system and (system, T) assets, the system's
    partitions), or ``all`` partitions of the system (e.g. the propensity runs of any temperature start from
    the T_G glasses). A dependency on an asset the campaign does not build for the system is left out: a
    ``ka2d_ternary`` propensity run starts from swap-MC equilibria, an ``abm`` one from quenched glasses."""

    name: str
    partitions: Literal["same", "all"] = "same"


@dataclass(frozen=True)
class AssetTemplate:
    """An asset body with its contract, built per system as ``<system>/<name>``.

    ``partitioned_by`` is the campaign stage whose temperatures partition the asset (``quench``,
    ``swap_mc``, ``propensity``, ``large_box``, ``glassbench``) or :data:`PER_SYSTEM`. ``group_name`` is the
    asset's stage of the flow (``ensembles``, ``propensity_learning``, …); the Dagster group is that stage of one
    system, :meth:`group` (``abm_ensembles``), so the lineage view names the system of every node.
    """

    body: Callable[..., object]
    partitioned_by: str
    group_name: str
    code_version: str
    kinds: frozenset[str]
    upstream: tuple[Upstream, ...] = ()
    #: the asset's checks (:class:`glass_assets.checks.Check` by name): :meth:`build` declares their specs; the body
    #: evaluates them before it commits (:func:`glass_assets.checks.evaluate_before_commit`)
    checks: Mapping[str, Check] = field(default_factory=dict)
    pool: str | None = None
    retry_policy: RetryPolicy | None = None
    tags: Mapping[str, str] = field(default_factory=dict)
    #: the profile settings the body reads (``section`` or ``section.key``); with the upstream assets' they are in the
    #: code version and every row set's provenance (:mod:`glass_assets.lineage`)
    profile_settings: tuple[str, ...] = ()
    #: what the asset holds, in one sentence (the detail is in docs/asset-graph.md); by default the body's docstring
    description: str | None = None

    def __post_init__(self) -> None:
        if self.description is None:
            object.__setattr__(self, "description", " ".join((inspect.getdoc(self.body) or "").split()) or None)

    @property
    def name(self) -> str:
        return self.body.__name__

    def key(self, system: str) -> AssetKey:
        return AssetKey([system, self.name])

    def group(self, system: str) -> str:
        """The Dagster group of the asset built for ``system``: ``<system>_<stage>`` (``ka2d_ternary_equilibria``).

        Per system, because the node of an asset shows only the last part of its key: in a group per stage the
        three systems' ``quenched_ensembles`` were three identical nodes side by side. A long stage name is
        shortened (:data:`GROUP_STAGES`) so that the name fits Dagster's group sidebar and group headers uncut."""
        return f"{system}_{GROUP_STAGES.get(self.group_name, self.group_name)}"

    def partitions_def(self, system: str) -> PartitionsDefinition:
        if self.partitioned_by == PER_SYSTEM:
            return system_partitions(system)
        return system_temperature_partitions(system, self.partitioned_by)

    def deps(self, system: str, built: Mapping[str, AssetTemplate]) -> list[AssetDep]:
        """Dependencies on the templates ``built`` for ``system``, with their partition mappings."""
        deps = []
        for up in self.upstream:
            if up.name in built:
                mapping = _mapping(built[up.name].partitioned_by, self.partitioned_by, up.partitions)
                deps.append(AssetDep(built[up.name].key(system), partition_mapping=mapping))
        return deps

    def build(
        self,
        system: str,
        built: Mapping[str, AssetTemplate],
        automation: AutomationCondition | None,
        profile: Profile | None = None,
    ) -> AssetsDefinition:
        """The Dagster asset ``<system>/<name>``; its checks, the warehouse audit's among them
        (:func:`glass_assets.lineage.check_spec`), are partitioned as it is (:func:`partitioned_checks`); with
        ``profile``, its code version carries the digest of the settings it depends on
        (:func:`glass_assets.lineage.code_version`)."""
        key = self.key(system)
        partitions = self.partitions_def(system)
        checks = check_specs(key, self.checks)
        if "study" in inspect.signature(self.body).parameters:  # provenance is recorded from the study's profile
            checks.append(lineage.check_spec(key))
        checks = partitioned_checks(checks, partitions) if partitions else checks
        body = compute_accounting.metered(lineage.instrument(self.body, self, system, built), self.group_name)
        return asset(
            key=self.key(system),
            partitions_def=partitions,
            deps=self.deps(system, built),
            check_specs=checks,
            kinds=set(self.kinds),
            group_name=self.group(system),
            code_version=lineage.code_version(self, system, built, profile),
            pool=self.pool,
            retry_policy=self.retry_policy or STEP_RETRIES,
            automation_condition=automation,
            tags={"glass/system": system, **self.tags},
            description=self.description,
        )(_no_retry_for_errors_that_recur(body))


def partitioned_checks(specs: Sequence[AssetCheckSpec], partitions: PartitionsDefinition) -> list[AssetCheckSpec]:
    """``specs`` with the asset's partitions: each check result is then recorded for the partition it checked, and
    the UI's check history names it (Dagster 1.13 offers partitioned checks as a preview; its warning is silenced
    here, where the choice is made). The partition is also in every result's description and metadata
    (:func:`glass_assets.checks.check_results`), which the UI shows whatever the check's partitioning."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=PreviewWarning)
        return [
            AssetCheckSpec(
                spec.name,
                asset=spec.asset_key,
                description=spec.description,
                additional_deps=spec.additional_deps,
                blocking=spec.blocking,
                metadata=spec.metadata,
                automation_condition=spec.automation_condition,
                partitions_def=partitions,
            )
            for spec in specs
        ]


def _no_retry_for_errors_that_recur(body: Callable[..., object]) -> Callable[..., object]:
    """The body, with every exception but a ``Failure`` (which says itself whether a retry can help, e.g. a killed
    worker) turned into ``Failure(allow_retries=False)``: bad input or a bug would fail again, and a terminated
    run was stopped on purpose, so the retry policy is kept for steps that crash or are killed."""

    @functools.wraps(body)
    def run(*args: Any, **kwargs: Any) -> object:
        try:
            return body(*args, **kwargs)
        except Failure:
            raise
        except DagsterExecutionInterruptedError as error:  # the run was terminated: a person asked it to stop
            raise Failure(description="the run was terminated", allow_retries=False) from error
        except Exception as error:
            raise Failure(description=f"{type(error).__name__}: {error}", allow_retries=False) from error

    return run


def _mapping(upstream: str, downstream: str, partitions: str) -> PartitionMapping:
    if (upstream == PER_SYSTEM) != (downstream == PER_SYSTEM):
        return TO_SYSTEM  # every temperature of the system ↔ the system
    if partitions == "all":
        return AllPartitionMapping()
    return IdentityPartitionMapping()  # same (system, T) key, even across two stages' temperature lists


def materialize_templates(
    templates: Sequence[AssetTemplate],
    partition_key: str | MultiPartitionKey,
    instance: DagsterInstance | None = None,
    **kwargs: Any,
) -> ExecuteInProcessResult:
    """Materialize one partition of ``templates`` built for the partition's system, in this process.

    Adds the partition's temperature to the templates' temperature partitions first, as the campaign sensor
    would. For tests, benchmarks and scripts; the campaign runs through the automation instead.
    """
    system, _, temperature = str(partition_key).partition("|")
    instance = instance or DagsterInstance.ephemeral()
    for template in templates:
        if template.partitioned_by != PER_SYSTEM and temperature:
            definition = temperature_partitions(system, template.partitioned_by)
            if not instance.has_dynamic_partition(definition.name, temperature):
                instance.add_dynamic_partitions(definition.name, [temperature])
    built = {t.name: t for t in templates}
    assets = [t.build(system, built, automation=None) for t in templates]
    return materialize(assets, partition_key=partition_key, instance=instance, **kwargs)
