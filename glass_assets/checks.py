"""One way to declare and report asset checks, shared by every domain.

A domain lists its checks as :class:`Check` entries (function, description, whether a failure blocks
downstream assets, whether it is only a warning). Each check is a plain function of the tables the
asset just produced that returns a :class:`CheckOutcome`, so a test can hand it crafted bad data; the
asset's :class:`glass_assets.graph.AssetTemplate` takes them (``checks=``) and declares their :func:`check_specs`,
and the asset reports :func:`check_results` with its materialization.

Check before commit: an asset calls :func:`evaluate_before_commit` on its in-memory rows before its warehouse write
(or before a model version is registered); it evaluates the checks and calls :func:`raise_on_blocking_failure`. A
failed blocking check then publishes nothing: the rejected rows go to a quarantine folder
(``data/quarantine/<asset>/<partition>/<table>.parquet`` with ``checks.json``, written atomically), and the
run fails with a :class:`dagster.Failure` that names the asset, the partition, the check's message and the
quarantine folder, so no downstream asset starts from the partition.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetExecutionContext,
    AssetKey,
    DagsterInvariantViolationError,
    Failure,
    MetadataValue,
    MultiPartitionKey,
)

from glass_core.models.configuration import Configuration
from glass_core.models.energy import potential_energy
from glass_core.models.systems import ModelSystem
from glass_core.structure.ensemble_quality import min_scaled_distance

__all__ = [
    "ENERGY_TOLERANCE",
    "OVERLAP_RATIO",
    "BlockingCheckFailed",
    "Check",
    "CheckOutcome",
    "check_results",
    "Where",
    "check_specs",
    "coefficients_in_range",
    "current_partition",
    "evaluate_before_commit",
    "figures_text",
    "lammps_energy_matches_numpy",
    "no_overlaps",
    "quarantine_folder",
    "raise_on_blocking_failure",
    "write_quarantine",
]

#: r_ij/σ_ij below this is an overlap: V(0.7σ) ≈ 3×10² ε, out of reach at T ≤ 4.
OVERLAP_RATIO = 0.7
#: relative tolerance of numpy vs LAMMPS total energy of the stored configuration.
ENERGY_TOLERANCE = 1e-8


@dataclass(frozen=True)
class CheckOutcome:
    """What one check found: pass or fail, a sentence for the UI, and the figures behind it."""

    passed: bool
    description: str = ""
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Check:
    """A declared check: a failure is an ERROR (``warn_only``: a WARNing); ``blocking`` stops downstream assets."""

    function: Callable[..., CheckOutcome]
    description: str
    blocking: bool = False
    warn_only: bool = False

    def __post_init__(self) -> None:
        if self.blocking and self.warn_only:
            raise ValueError("a check that only warns cannot block downstream assets")

    @property
    def severity(self) -> AssetCheckSeverity:
        return AssetCheckSeverity.WARN if self.warn_only else AssetCheckSeverity.ERROR


def check_specs(asset_key: AssetKey, checks: Mapping[str, Check]) -> list[AssetCheckSpec]:
    """The ``check_specs`` an asset declares for ``checks``."""
    return [
        AssetCheckSpec(name, asset=asset_key, description=check.description, blocking=check.blocking)
        for name, check in checks.items()
    ]


def check_results(checks: Mapping[str, Check], **tables: Any) -> list[AssetCheckResult]:
    """Run every check on ``tables`` (each function takes the keyword arguments it needs) as Dagster results.

    Inside an asset run each result names where it was evaluated: its description starts with the partition
    (``ka2d_ternary, T = 0.7 (partition ka2d_ternary|0.7): …``) and its metadata holds ``partition`` (and
    ``system``/``temperature``), so the UI's check pages say where a check failed even where they show no partition
    column. A failed check's description starts with ``failed:`` (or ``warning:`` for a check that only warns, which
    Dagster's UI also labels "Failed"); one without a sentence of its own describes itself by its figures (the value
    beside its threshold or tolerance, :func:`figures_text`).
    """
    where = current_partition()
    results = []
    for name, check in checks.items():
        outcome = check.function(**tables)
        text = outcome.description or ("" if outcome.passed else figures_text(outcome.metadata))
        if not outcome.passed:  # Dagster shows a failed WARN check as "Failed" too: say which it is
            text = f"{'warning' if check.warn_only else 'failed'}: {text}"
        metadata = dict(outcome.metadata)
        if where is not None:
            text = f"{where.text}: {text or 'passed'}"
            metadata |= where.metadata
        results.append(
            AssetCheckResult(
                check_name=name,
                passed=bool(outcome.passed),
                severity=check.severity,
                description=text or None,
                metadata=metadata,
            )
        )
    return results


@dataclass(frozen=True)
class Where:
    """The partition an asset run checks, as a sentence and as metadata entries."""

    key: str
    system: str
    temperature: str | None

    @property
    def text(self) -> str:
        if self.temperature is None:
            return f"{self.system} (partition {self.key})"
        return f"{self.system}, T = {self.temperature} (partition {self.key})"

    @property
    def metadata(self) -> dict[str, Any]:
        entries: dict[str, Any] = {"partition": self.key, "system": self.system}
        if self.temperature is not None:
            entries["temperature"] = MetadataValue.text(self.temperature)  # text: the UI plots numbers over time
        return entries


def current_partition() -> Where | None:
    """The partition of the asset run now executing (Dagster's current context); None outside a run (a test
    handing a check crafted rows) or for an unpartitioned asset."""
    try:
        context = AssetExecutionContext.get()
    except DagsterInvariantViolationError:
        return None
    if not context.has_partition_key:
        return None
    key = context.partition_key
    if isinstance(key, MultiPartitionKey):
        dimensions = key.keys_by_dimension
        return Where(str(key), dimensions.get("system", str(key)), dimensions.get("temperature"))
    return Where(str(key), str(key), None)


def figures_text(metadata: Mapping[str, Any]) -> str:
    """The scalar figures of a check's metadata as ``name = value`` pairs (3 significant figures), in their order:
    a check lists its measured value first and its threshold or tolerance beside it."""
    parts = []
    for name, value in metadata.items():
        value = getattr(value, "value", value)
        if isinstance(value, bool) or value is None:
            continue
        if isinstance(value, float | np.floating):
            parts.append(f"{name} = {float(value):.3g}")
        elif isinstance(value, int | np.integer | str) and len(str(value)) <= 40:
            parts.append(f"{name} = {value}")
    return ", ".join(parts) or "see the metadata"


class BlockingCheckFailed(Failure):
    """A blocking check failed on the rows an asset was about to publish; nothing was written, the run fails.

    A :class:`dagster.Failure`: its ``description`` (the check's message, naming asset and partition) is what the
    UI shows for the failed step. It does not ask for a retry: the same inputs give the same rows.
    """


def quarantine_folder(root: str | os.PathLike[str], asset: str, partition: str | None) -> Path:
    """``root/<asset>/<partition>``: the asset's key path as folders, the partition key made file-name safe
    (``abm|0.4`` → ``abm_0.4``)."""
    name = re.sub(r"[^A-Za-z0-9._=-]+", "_", str(partition)) if partition else "unpartitioned"
    return Path(root).joinpath(*asset.split("/"), name)


def write_quarantine(folder: Path, frames: Mapping[str, pl.DataFrame], report: Mapping[str, Any]) -> Path:
    """Write ``frames`` as ``<table>.parquet`` and ``report`` as ``checks.json`` into ``folder``, atomically.

    Everything is written into a staging folder beside ``folder`` and renamed onto it, so a reader sees the
    previous quarantine or the whole new one (a previous one is removed after the rename), never a half.
    """
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=folder.parent, prefix=f".{folder.name}.staging-"))
    try:
        for table, frame in frames.items():
            frame.write_parquet(staging / f"{table}.parquet")
        (staging / "checks.json").write_text(json.dumps(report, indent=2, default=str))
        previous = None
        if folder.exists():
            previous = folder.with_name(f".{folder.name}.old-{uuid.uuid4().hex[:8]}")
            os.replace(folder, previous)
        os.replace(staging, folder)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    if previous is not None:
        shutil.rmtree(previous, ignore_errors=True)
    return folder


def _message(result: AssetCheckResult, check: Check) -> str:
    """``check: description {figures}`` without the partition, which the failure message names once itself."""
    where = current_partition()
    text = result.description or check.description
    if where is not None:
        text = text.removeprefix(f"{where.text}: ")
    text = text.removeprefix("failed: ")  # the message says "blocking check failed" already
    hidden = set(where.metadata) if where is not None else set()
    figures = {k: getattr(v, "value", v) for k, v in result.metadata.items() if k not in hidden}
    return f"{result.check_name}: {text} {figures}"


def raise_on_blocking_failure(
    results: Sequence[AssetCheckResult],
    checks: Mapping[str, Check],
    context: AssetExecutionContext,
    *,
    rejected: Mapping[str, pl.DataFrame] | None = None,
    quarantine_root: str | os.PathLike[str] | None = None,
    note: str | None = None,
) -> None:
    """Fail the run, before anything is published, if a blocking check of ``results`` failed.

    Call it between evaluating the checks on the in-memory tables and the warehouse write (or the model
    registration). On a failed blocking check, ``rejected`` (table → rows that would have been written) goes
    to :func:`quarantine_folder` under ``quarantine_root`` and :class:`BlockingCheckFailed` is raised with every
    failed blocking check's message, the asset key, the partition, ``note`` (e.g. the input files) and the
    quarantine folder. Passed and
    non-blocking results are left for the caller to report with its ``MaterializeResult``.
    """
    failed = [r for r in results if not r.passed and checks[r.check_name].blocking]
    if not failed:
        return
    asset = context.asset_key.to_user_string()
    partition = str(context.partition_key) if context.has_partition_key else None
    messages = [_message(r, checks[r.check_name]) for r in failed]
    where = f"{asset} partition {partition}" if partition else asset
    if note:
        where += f" ({note})"
    description = f"{where}: nothing written to the published tables, blocking check failed: " + "; ".join(messages)
    metadata: dict[str, Any] = {"failed_checks": [r.check_name for r in failed]}
    if rejected and quarantine_root is not None:
        report = {
            "asset": asset,
            "partition": partition,
            "run_id": context.run.run_id,
            "results": [
                {
                    "check": r.check_name,
                    "passed": r.passed,
                    "blocking": checks[r.check_name].blocking,
                    "description": r.description or checks[r.check_name].description,
                    "metadata": {k: getattr(v, "value", v) for k, v in r.metadata.items()},
                }
                for r in results
            ],
        }
        folder = write_quarantine(quarantine_folder(quarantine_root, asset, partition), rejected, report)
        description += f". The rejected rows are in {folder}"
        metadata["quarantine"] = str(folder)
    context.log.error(description)
    raise BlockingCheckFailed(description=description, metadata=metadata, allow_retries=False)


def evaluate_before_commit(
    checks: Mapping[str, Check],
    context: AssetExecutionContext,
    *,
    rejected: Mapping[str, pl.DataFrame] | None = None,
    quarantine_root: str | os.PathLike[str] | None = None,
    note: str | None = None,
    **tables: Any,
) -> list[AssetCheckResult]:
    """Evaluate ``checks`` on ``tables`` (:func:`check_results`) and, if a blocking one failed, quarantine
    ``rejected`` under ``quarantine_root`` and fail the run (:func:`raise_on_blocking_failure`); else the results,
    for the caller to report with its ``MaterializeResult``. Call it before anything is published."""
    results = check_results(checks, **tables)
    raise_on_blocking_failure(
        results, checks, context, rejected=rejected, quarantine_root=quarantine_root, note=note
    )
    return results


def coefficients_in_range(values: pl.Series | np.ndarray, what: str) -> CheckOutcome:
    """Correlation coefficients: every defined value (not NULL/NaN) in [−1, 1], and at least one defined.

    A Pearson or Spearman coefficient of a constant field is undefined (NaN or NULL); one outside [−1, 1] or
    infinite is a bug upstream. ``values`` may be entirely NULL (a polars column of type Null) or a numpy object
    array holding ``None``: that is reported as "no defined coefficient", never raised.
    """
    if isinstance(values, pl.Series):
        series = values.cast(pl.Float64)
    else:  # an object array with None has no polars cast: go through Python floats
        series = pl.Series(np.asarray(values, dtype=object).ravel().tolist(), dtype=pl.Float64, strict=False)
    array = np.asarray(series.fill_null(np.nan).to_numpy(), dtype=np.float64)
    defined = array[~np.isnan(array)]
    bad = int((~np.isfinite(defined) | (np.abs(defined) > 1.0 + 1e-12)).sum())
    passed = defined.size > 0 and bad == 0
    return CheckOutcome(
        passed=bool(passed),
        metadata={
            "n_defined": int(defined.size),
            "n_undefined": int(array.size - defined.size),
            "n_out_of_range": bad,
            "min": float(np.min(defined)) if defined.size else float("nan"),
            "max": float(np.max(defined)) if defined.size else float("nan"),
        },
        description=(
            ""
            if passed
            else f"{what}: no defined coefficient"
            if defined.size == 0
            else f"{what}: {bad} coefficient(s) outside [−1, 1] or infinite"
        ),
    )


# ---------------------------------------------------------------- checks every configuration asset runs
def no_overlaps(system: ModelSystem, configs: dict[int, Configuration], **_: object) -> CheckOutcome:
    ratios = {k: min_scaled_distance(c, system) for k, c in configs.items()}
    worst = min(ratios, key=ratios.get)
    return CheckOutcome(
        passed=ratios[worst] >= OVERLAP_RATIO,
        metadata={"min_r_over_sigma": ratios[worst], "worst_sample": worst, "threshold": OVERLAP_RATIO},
        description=f"closest pair at r/σ = {ratios[worst]:.3f} (sample {worst}); overlap below {OVERLAP_RATIO}",
    )


def lammps_energy_matches_numpy(
    system: ModelSystem, configs: dict[int, Configuration], samples: pl.DataFrame, **_: object
) -> CheckOutcome:
    lammps = dict(zip(samples["sample"].to_list(), samples["potential_energy"].to_list(), strict=True))
    errors = {k: abs(potential_energy(c, system).total - lammps[k]) / abs(lammps[k]) for k, c in configs.items()}
    worst = max(errors, key=errors.get)
    return CheckOutcome(
        passed=errors[worst] <= ENERGY_TOLERANCE,
        metadata={"max_relative_difference": errors[worst], "worst_sample": worst, "tolerance": ENERGY_TOLERANCE},
    )
