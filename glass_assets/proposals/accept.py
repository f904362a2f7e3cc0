"""Accepting proposals: one action that edits the campaign file, atomically, and records the acceptance.

:func:`accept_proposals` looks the ids up in ``campaign_proposals`` and refuses, with the campaign file unchanged,
an id that does not exist, a proposal made from other inputs than the warehouse holds now (stale), a campaign file
edited since the proposal was made, and an action the campaign cannot express (it names the profile setting to
change instead). Otherwise it writes the edited file beside the original, validates it as the campaign sensor would
(:func:`glass_assets.campaign.load_campaign`), records each acceptance (``proposal_acceptances``), and replaces the
file in one ``os.replace``; the campaign sensor and the automation take it from there.

A ``label_temperature`` proposal adds its temperature to the system's ``propensity`` list (flow style, as the
campaign files of the project write it) with a comment naming the proposal:
``propensity: [0.7, 0.6, 0.5, 0.4]  # + 0.4: proposal p-1a2b…``; an ``extend_window`` proposal sets the window in
the system's one-line ``settings`` mapping (added after the ``propensity`` line if there is none):
``settings: {propensity.max_time: {0.5: 672}}  # proposal p-3c4d…``.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import polars as pl
import yaml

from glass_assets.campaign import default_campaign_path, load_campaign
from glass_assets.proposals.assets import campaign_digest
from glass_assets.proposals.state import inputs_digest
from glass_assets.warehouse import Warehouse

__all__ = ["Accepted", "ProposalError", "accept_proposals", "add_propensity_temperature", "set_window"]

ACCEPTED_BY = ("cli", "ui", "autopilot")


class ProposalError(ValueError):
    """A proposal that cannot be accepted; the campaign file is unchanged."""


@dataclass(frozen=True)
class Accepted:
    proposal_id: str
    system: str
    edit: str


def _proposals(warehouse: Warehouse, ids: Sequence[str]) -> pl.DataFrame:
    rows = warehouse.query("SELECT * FROM campaign_proposals WHERE list_contains(?, proposal_id)", [list(ids)])
    unknown = sorted(set(ids) - set(rows["proposal_id"]))
    if unknown:
        current = warehouse.query("SELECT system, proposal_id FROM campaign_proposals WHERE rank <= 3 ORDER BY 1, rank")
        listed = ", ".join(f"{s}: {p}" for s, p in current.rows()) or "none (materialize campaign_proposals)"
        raise ProposalError(f"no proposal {', '.join(unknown)}; the current top proposals are {listed}")
    return rows


def add_propensity_temperature(text: str, system: str, temperature: float, comment: str) -> tuple[str, str]:
    """``text`` with ``temperature`` added to ``systems.<system>.propensity`` (a flow-style list on one line) and
    ``comment`` after it; (new text, the edited line). A clear error where the list is not there or not one line."""
    lines = text.splitlines(keepends=True)
    start, end, _ = _system_block(lines, system)
    for i in range(start, end):
        line = lines[i]
        match = re.match(r"^(\s+)propensity:\s*\[([^\]]*)\](.*)$", line.rstrip("\n"))
        if match:
            values = [v.strip() for v in match.group(2).split(",") if v.strip()]
            if any(abs(float(v) - temperature) < 1e-9 for v in values):
                raise ProposalError(f"{system}.propensity already lists T = {temperature:g}")
            merged = sorted([*values, f"{temperature:g}"], key=float, reverse=True)
            old_comment = match.group(3).strip()
            note = f"# {comment}" if not old_comment else f"{old_comment}; {comment}"
            edited = f"{match.group(1)}propensity: [{', '.join(merged)}]  {note}\n"
            lines[i] = edited
            return "".join(lines), edited.strip()
    raise ProposalError(f"{system} has no one-line 'propensity: [..]' list in the campaign file to add T = "
                        f"{temperature:g} to; add it by hand")


def set_window(text: str, system: str, temperature: float, window: float, comment: str) -> tuple[str, str]:
    """``text`` with ``systems.<system>.settings`` setting ``propensity.max_time`` at ``temperature`` to ``window``
    (a one-line flow mapping, created after the ``propensity`` line when absent); (new text, the edited line)."""
    lines = text.splitlines(keepends=True)
    start, end, _ = _system_block(lines, system)
    key = f"{temperature:g}"
    for i in range(start, end):
        match = re.match(r"^(\s+)settings:\s*(\{.*\})\s*(#.*)?$", lines[i].rstrip("\n"))
        if match:
            current = yaml.safe_load(match.group(2)) or {}
            current.setdefault("propensity.max_time", {})[float(key)] = window
            note = f"{match.group(3)}; {comment}" if match.group(3) else f"# {comment}"
            line = f"{match.group(1)}settings: {_flow(current)}  {note}\n"
            lines[i] = line
            return "".join(lines), line.strip()
        if re.match(r"^\s+settings:", lines[i]):
            raise ProposalError(f"{system}.settings is not a one-line {{..}} mapping; set the window by hand")
    anchor = next((i for i in range(start, end) if re.match(r"^\s+propensity:", lines[i])), None)
    if anchor is None:
        raise ProposalError(f"{system} has no propensity entry: no window to set")
    pad = " " * (len(lines[anchor]) - len(lines[anchor].lstrip()))
    line = f"{pad}settings: {_flow({'propensity.max_time': {float(key): window}})}  # {comment}\n"
    lines.insert(anchor + 1, line)
    return "".join(lines), line.strip()


def _flow(mapping: dict) -> str:
    """A one-line YAML flow mapping of ``settings`` (numbers as written: 0.5, 672)."""
    def value(v: object) -> str:
        if isinstance(v, dict):
            return "{" + ", ".join(f"{value(k)}: {value(x)}" for k, x in v.items()) + "}"
        return f"{v:g}" if isinstance(v, float) else str(v)
    return value(mapping)


def _system_block(lines: list[str], system: str) -> tuple[int, int, int]:
    """(first line, end, indent) of ``system``'s block in the campaign file's lines."""
    head = next((i for i, line in enumerate(lines) if re.match(rf"^(\s+){re.escape(system)}:\s*(#.*)?$", line)), None)
    if head is None:
        raise ProposalError(f"the campaign file has no block for system {system}")
    indent = len(lines[head]) - len(lines[head].lstrip())
    end = next((i for i in range(head + 1, len(lines)) if lines[i].strip() and not lines[i].lstrip().startswith("#")
                and len(lines[i]) - len(lines[i].lstrip()) <= indent), len(lines))
    return head + 1, end, indent


def accept_proposals(
    ids: Sequence[str], warehouse: Warehouse, campaign_path: Path | None = None, accepted_by: str = "cli"
) -> list[Accepted]:
    """Accept the proposals ``ids`` in one campaign edit (module docstring); a :class:`ProposalError` leaves the
    campaign file and the warehouse as they were."""
    if accepted_by not in ACCEPTED_BY:
        raise ProposalError(f"accepted_by must be one of {ACCEPTED_BY}, not {accepted_by!r}")
    if not ids:
        raise ProposalError("no proposal id given")
    path = Path(campaign_path or default_campaign_path())
    warehouse.ensure_writable()
    proposals = _proposals(warehouse, ids)
    text, edits, records = path.read_text(), [], []
    file_digest = campaign_digest(path)
    for row in proposals.iter_rows(named=True):
        pid, system = row["proposal_id"], row["system"]
        if row["accept_via"] != "campaign":
            raise ProposalError(f"{pid} ({row['action']}) changes a profile setting, not the campaign: "
                                f"{row['profile_edit']}; set it in the profile (glass_assets/profiles.yaml)")
        if row["campaign_digest"] != file_digest:
            raise ProposalError(f"{pid} is stale: the campaign file {path} was edited after it was made; materialize "
                                "campaign_proposals again")
        now = inputs_digest(warehouse, system)
        if row["inputs_digest"] != now:
            raise ProposalError(f"{pid} is stale: its inputs changed since it was made (digest {row['inputs_digest']} "
                                f"→ {now}); materialize campaign_proposals again")
        if row["action"] == "extend_window":
            window = json.loads(row["parameters"])["window"]
            text, edit = set_window(text, system, row["temperature"], window, f"proposal {pid}")
        else:
            text, edit = add_propensity_temperature(text, system, row["temperature"],
                                                    f"+ {row['temperature']:g}: proposal {pid}")
        edits.append(Accepted(pid, system, edit))
        records.append(_acceptance(row, accepted_by, edit, now))
    _replace_validated(path, text, lambda: _record(warehouse, records))
    return edits


def _acceptance(row: dict, accepted_by: str, edit: str, digest: str) -> dict:
    return {
        "proposal_id": row["proposal_id"], "system": row["system"], "action": row["action"],
        "temperature": row["temperature"], "parameters": row["parameters"], "accepted_by": accepted_by,
        "accepted_at": dt.datetime.now(dt.UTC).replace(tzinfo=None), "gain": row["gain"],
        "cpu_hours": row["cpu_hours"], "objective_before": row["objective_before"],
        "objective_after": row["objective_after"], "spread_before": row["spread_before"],
        "spread_after": row["spread_after"],
        "inputs_digest": digest, "campaign_edit": edit,
    }  # fmt: skip


def _record(warehouse: Warehouse, records: list[dict]) -> None:
    writes = [({"proposal_id": r["proposal_id"]}, {"proposal_acceptances": pl.DataFrame([r])}) for r in records]
    warehouse.replace_partitions(writes)


def _replace_validated(path: Path, text: str, record: object) -> None:
    """Write ``text`` beside ``path``, validate it as a campaign, run ``record``, then replace ``path`` atomically."""
    handle, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "w") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(tmp, path.stat().st_mode & 0o777)
        try:
            load_campaign(Path(tmp))
        except ValueError as error:
            raise ProposalError(f"the edited campaign would not validate: {error}") from None
        record()  # type: ignore[operator]
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
