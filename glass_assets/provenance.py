"""Provenance of every row set in the warehouse: the profile it was computed with, what Dagster recorded, and the
guards that keep a stage from reading rows that are missing, changed or computed with other settings.

**Settings digests.** A profile is flattened into settings ``section.key`` (:func:`glass_assets.profiles.
setting_paths`), per-system tables narrowed to one system (``quench.n_particles`` of ``abm`` is 256, whatever
``kam`` gets). Each asset template declares the settings it reads (``AssetTemplate.profile_settings``: a section or
one key of it); with its upstream assets' settings (transitively) these are the settings its rows depend on. Their
digests (:func:`settings_digests`, 12 hex digits of a SHA-256 of the value's JSON) go

- into the asset's Dagster **code version** (``quench-v1+profile.1a2b3c4d5e6f``), so changing one setting marks
  exactly the assets that depend on it stale in the UI, and the automation's ``code_version_changed`` recomputes
  them (within one tick, as one backfill, in graph order);
- into every **row set** the asset writes (:class:`WriteContext`, recorded by
  :meth:`glass_assets.warehouse.Warehouse.replace_partitions` in the warehouse table ``row_sets``, in the same
  transaction as the rows): profile name, settings digest and each setting's digest, row count and data digest;
- into the **materialization's metadata** (``glass/profile``, ``glass/settings_digest``, ``glass/settings``,
  ``glass/row_sets``, ``glass/models``) and its **data version** (digest of the settings and of the rows' content).

**Guards before a step runs** (:func:`guard_inputs`): every upstream partition the step reads that Dagster records
as materialized must be in the warehouse as recorded (same row count and content digest, and the model versions
still in the registry), and the rows it combines must share one digest per setting (and match the run's own
settings), unless the profile lists the setting under ``provenance.allow_mixed``. Otherwise the step fails before it
computes anything, with a message naming the tables, partitions and digests.

**Audit** (:func:`audit_partition`): what Dagster recorded for a partition against what the warehouse and the
registry hold now; the ``warehouse_audit`` sensor (:mod:`glass_assets.automation.audit`) reports a partition whose
rows went missing or changed and requests it again.
"""

from __future__ import annotations

import contextvars
import dataclasses
import hashlib
import json
import math
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from glass_assets.profiles import SECTIONS, Profile, setting_paths
from glass_core.models.systems import SYSTEMS

if TYPE_CHECKING:
    from glass_assets.warehouse import Warehouse

__all__ = [
    "CHECK_NAME",
    "METADATA_MODELS",
    "METADATA_ROW_SETS",
    "VOLATILE_COLUMNS",
    "Finding",
    "MixedSettingsError",
    "WriteContext",
    "active_write",
    "audit_partition",
    "combined_digest",
    "find_conflicts",
    "mixed_settings",
    "profile_settings",
    "record_model",
    "settings_digests",
    "writing",
]

#: the check every asset reports: its rows (and model versions) are in the warehouse (and registry) as recorded
CHECK_NAME = "warehouse_holds_recorded_rows"
METADATA_ROW_SETS = "glass/row_sets"
METADATA_MODELS = "glass/models"
METADATA_SETTINGS = "glass/settings"
METADATA_DIGEST = "glass/settings_digest"
METADATA_PROFILE = "glass/profile"

#: columns that identify a run, a model version or a moment rather than data: left out of content digests, so the
#: same seeds give the same digests (a retrained model gets a new version number, a rerun a new run id)
VOLATILE_COLUMNS = frozenset(
    {"run_id", "created_at", "wall_seconds", "code_version", "model_version", "mlflow_run_id", "accepted_at"}
)

#: attribute of :class:`Profile` that holds each section
_ATTRIBUTE = {
    "descriptors": "descriptors",
    "cnn": "cnn_settings",
    "propensity": "propensity_settings",
    "swap_mc": "swap_mc_settings",
    "inherent_structures": "inherent_structures",
    "propensity_learning": "propensity_learning_settings",
    "heterogeneity": "heterogeneity",
    "large_box": "large_box_settings",
    "cooling_rate_study": "cooling_rate_study_settings",
}


# ---------------------------------------------------------------------------------------------- settings
def _plain(value: Any) -> Any:
    """A JSON-ready copy of a setting's value (dataclasses as dicts, tuples as lists, floats as repr)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, float):
        return repr(value) if math.isfinite(value) else str(value)
    return value


def _for_system(value: Any, system: str) -> Any:
    """A per-system table (a mapping whose keys are all system names) narrowed to ``system``'s entry."""
    if isinstance(value, Mapping) and value and all(str(k) in SYSTEMS for k in value):
        return value.get(system)
    return value


def profile_settings(profile: Profile, system: str) -> dict[str, Any]:
    """Every setting of ``profile`` (``section.key`` → value) as it applies to ``system``; an absent section's
    settings are ``None``."""
    values: dict[str, Any] = {
        "base_seed": profile.base_seed,
        "quench.n_samples": profile.quench.n_samples,
        "quench.n_particles": profile.quench.n_particles.get(system),
        "quench.protocol": profile.quench.protocol,
    }
    for section, cls in SECTIONS.items():
        if section in ("provenance", "compute"):  # how and where, never what: not provenance
            continue
        settings = getattr(profile, _ATTRIBUTE[section])
        for f in dataclasses.fields(cls):
            values[f"{section}.{f.name}"] = None if settings is None else _for_system(getattr(settings, f.name), system)
    return values


#: settings that change what a check says, never a number of the rows: left out of the digests
CHECK_ONLY_SETTINGS = frozenset({"propensity.tau_alpha_beyond_window"})


def _digest(value: Any) -> str:
    return hashlib.sha256(json.dumps(_plain(value), sort_keys=True).encode()).hexdigest()[:12]


def _selected(paths: Iterable[str]) -> list[str]:
    wanted, known = set(paths), setting_paths()
    unknown = {w for w in wanted if w not in known and not any(k.startswith(w + ".") for k in known)}
    if unknown:
        raise ValueError(f"unknown profile setting(s) {sorted(unknown)}; known: {known}")
    return [
        k for k in known
        if (k in wanted or any(k.startswith(w + ".") for w in wanted)) and k not in CHECK_ONLY_SETTINGS
    ]


def settings_digests(profile: Profile, system: str, paths: Iterable[str]) -> dict[str, str]:
    """Digest of each setting under ``paths`` (sections or ``section.key``) for ``system``."""
    values = profile_settings(profile, system)
    return {path: _digest(values[path]) for path in _selected(paths)}


def combined_digest(digests: Mapping[str, str]) -> str:
    """One digest of a set of settings digests (12 hex digits; that of no setting for an empty set)."""
    return hashlib.sha256(json.dumps(dict(sorted(digests.items()))).encode()).hexdigest()[:12]


def allowed(path: str, allow_mixed: Iterable[str]) -> bool:
    """Whether ``provenance.allow_mixed`` covers setting ``path`` (listed itself or by its section)."""
    return any(path == entry or path.startswith(entry + ".") for entry in allow_mixed)


# ---------------------------------------------------------------------------------------------- writes
@dataclass
class WriteContext:
    """The asset step now writing: who writes, with which settings; collects the row sets and model versions."""

    asset: str
    partition: str | None
    run_id: str
    profile: str
    settings: dict[str, str]
    code_version: str
    row_sets: list[dict[str, Any]] = field(default_factory=list)
    models: list[dict[str, str]] = field(default_factory=list)

    @property
    def digest(self) -> str:
        return combined_digest(self.settings)

    def data_version(self) -> str:
        """Digest of the settings, the content of every row set written and the model versions registered."""
        parts = {
            "settings": self.digest,
            "rows": sorted(f"{r['table']}|{r['key']}|{r['rows']}|{r['digest']}" for r in self.row_sets),
            "models": sorted(f"{m['name']}|{m['version']}" for m in self.models),
        }
        return hashlib.sha256(json.dumps(parts).encode()).hexdigest()[:16]


_ACTIVE: contextvars.ContextVar[WriteContext | None] = contextvars.ContextVar("glass_write_context", default=None)


def active_write() -> WriteContext | None:
    """The :class:`WriteContext` of the asset step running in this thread, if any."""
    return _ACTIVE.get()


class writing:  # noqa: N801 - used as a context manager: ``with writing(context): ...``
    """Make ``context`` the active write context for the duration of a ``with`` block."""

    def __init__(self, context: WriteContext) -> None:
        self.context = context
        self._token: contextvars.Token | None = None

    def __enter__(self) -> WriteContext:
        self._token = _ACTIVE.set(self.context)
        return self.context

    def __exit__(self, *_: object) -> None:
        if self._token is not None:
            _ACTIVE.reset(self._token)


def record_model(client: Any, name: str, version: str) -> None:
    """Record a registered model version with the active step (its materialization lists it; the audit checks the
    registry still holds it) and tag the version with the profile and settings digest it was trained with."""
    context = active_write()
    if context is None:
        return
    context.models.append({"name": name, "version": str(version)})
    tags = {
        "glass.profile": context.profile,
        "glass.settings_digest": context.digest,
        "glass.asset": context.asset,
        "glass.partition": context.partition or "",
        "glass.dagster_run_id": context.run_id,
    }
    for key, value in tags.items():
        client.set_model_version_tag(name, str(version), key, value)


def row_key(key: Mapping[str, object]) -> str:
    """The canonical text of a partition key of warehouse rows (column → value, sorted)."""
    return json.dumps({k: key[k] for k in sorted(key)}, default=str)


# ---------------------------------------------------------------------------------------------- audit
@dataclass(frozen=True)
class Finding:
    """Why a recorded partition is not what the warehouse or the registry holds now (``kind``: ``missing``,
    ``incomplete``, ``differs``, ``model_missing``), with the table or model and the figures."""

    kind: str
    what: str
    detail: str

    def __str__(self) -> str:
        return f"{self.what}: {self.detail}"


def recorded_row_sets(metadata: Mapping[str, Any]) -> list[dict[str, Any]] | None:
    """The row sets a materialization recorded (``None`` for one made before provenance was recorded)."""
    value = metadata.get(METADATA_ROW_SETS)
    value = getattr(value, "value", value)
    return list(value) if isinstance(value, list) else None


def recorded_models(metadata: Mapping[str, Any]) -> list[dict[str, str]]:
    value = metadata.get(METADATA_MODELS)
    value = getattr(value, "value", value)
    return list(value) if isinstance(value, list) else []


def audit_partition(
    store: Warehouse,
    row_sets: Sequence[Mapping[str, Any]],
    models: Sequence[Mapping[str, str]] = (),
    *,
    registry: Any = None,
    deep: bool = True,
    records: Mapping[tuple[str, str], Mapping[str, Any]] | None = None,
) -> list[Finding]:
    """What differs between a partition's recorded ``row_sets`` (and ``models``) and the warehouse (and the MLflow
    ``registry`` client, if given). Empty: the partition is intact.

    Every row set must still have its ``row_sets`` record with the recorded digest, and as many rows as were written;
    ``deep`` also recomputes the rows' content digest. Without a warehouse file every row set is missing.
    ``records``: the warehouse's ``row_sets`` records already read (read here otherwise).
    """
    findings: list[Finding] = []
    if records is not None:
        current = records
    else:
        current = store.row_set_records() if store.path.exists() else {}
    for recorded in row_sets:
        what = f"{recorded['table']} {recorded['key']}"
        record = current.get((recorded["table"], recorded["key"]))
        if record is None:
            findings.append(Finding("missing", what, f"the warehouse holds no such rows (recorded {recorded['rows']})"))
            continue
        if record["data_digest"] != recorded["digest"]:
            findings.append(Finding(
                "differs", what,
                f"the warehouse holds rows of run {record['run_id']} (digest {record['data_digest']}), Dagster "
                f"recorded digest {recorded['digest']}",
            ))
            continue
        rows, digest = store.row_set_content(recorded["table"], json.loads(recorded["key"]), deep=deep, records=current)
        if rows != recorded["rows"]:
            findings.append(Finding("incomplete", what, f"{rows} of the {recorded['rows']} rows written are left"))
        elif deep and digest is not None and digest != recorded["digest"]:
            findings.append(Finding("differs", what, f"content digest {digest}, recorded {recorded['digest']}"))
    for model in models:
        if registry is None:
            break
        try:
            registry.get_model_version(model["name"], str(model["version"]))
        except Exception as error:  # noqa: BLE001 - MLflow raises its own exception types for a missing version
            findings.append(Finding("model_missing", f"model {model['name']} v{model['version']}",
                                    f"the registry does not hold it ({type(error).__name__})"))
    return findings


# ---------------------------------------------------------------------------------------------- mixes
class MixedSettingsError(ValueError):
    """Rows of different settings would be combined (the message names tables, partitions and both digests)."""


@dataclass(frozen=True)
class Source:
    """Rows a step combines: ``label`` (e.g. ``abm/quenched_ensembles abm|0.05: samples, particles``) and their
    settings digests (``section.key`` → digest) with the profile they were computed with."""

    label: str
    profile: str | None
    settings: Mapping[str, str]


def find_conflicts(sources: Sequence[Source], allow_mixed: Iterable[str] = ()) -> list[str]:
    """One sentence per setting whose digest differs between two ``sources`` (unless ``allow_mixed`` covers it)."""
    allow = tuple(allow_mixed)
    first: dict[str, Source] = {}
    conflicts = []
    for source in sources:
        for path, digest in source.settings.items():
            seen = first.setdefault(path, source)
            if seen.settings[path] != digest and not allowed(path, allow):
                conflicts.append(
                    f"{path}: {seen.label} has digest {seen.settings[path]} (profile {seen.profile}), {source.label} "
                    f"has {digest} (profile {source.profile})"
                )
    return conflicts


def group_sources(records: Iterable[Mapping[str, Any]]) -> Iterator[Source]:
    """``row_sets`` records grouped per (asset, partition) into :class:`Source` objects (tables listed)."""
    groups: dict[tuple[str, str], list[Mapping[str, Any]]] = {}
    for record in records:
        if record.get("settings"):
            groups.setdefault((record["asset"] or "?", record["partition_key"] or "-"), []).append(record)
    for (asset, partition), members in sorted(groups.items()):
        tables = ", ".join(sorted({m["table_name"] for m in members}))
        settings = json.loads(members[0]["settings"])
        yield Source(f"{asset} {partition} ({tables})", members[0]["profile"], settings)


def mixed_settings(
    records: Iterable[Mapping[str, Any]], systems: Iterable[str] | None = None, allow_mixed: Iterable[str] = ()
) -> list[str]:
    """Conflicts between the row sets a whole-warehouse reader (the paper report) combines: per system, the latest
    write of every (asset, partition) — earlier model versions' rows stay in the warehouse as history — must agree
    on every setting they share."""
    latest: dict[tuple[str, str], int] = {}
    rows = [r for r in records if r.get("asset") and r.get("settings")]
    for r in rows:
        group = (r["asset"], r["partition_key"] or "-")
        latest[group] = max(latest.get(group, 0), int(r["write_seq"]))
    runs = {
        (r["asset"], r["partition_key"] or "-"): r["run_id"]
        for r in rows
        if int(r["write_seq"]) == latest[(r["asset"], r["partition_key"] or "-")]
    }
    current = [r for r in rows if r["run_id"] == runs[(r["asset"], r["partition_key"] or "-")]]
    wanted = set(systems) if systems is not None else None
    conflicts = []
    for system in sorted({r["asset"].split("/")[0] for r in current}):
        if wanted is not None and system not in wanted:
            continue
        sources = list(group_sources(r for r in current if r["asset"].split("/")[0] == system))
        conflicts += find_conflicts(sources, allow_mixed)
    return conflicts
