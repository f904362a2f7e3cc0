"""From YAML values to typed settings: :class:`ProfileError`, the conversion to each field's annotated type, and the
checks every section shares (counts ≥ 1, times, rates and lengths > 0, all finite), each error naming
``section.key``.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any, TypeVar

__all__ = ["WINDOW_DEFAULT", "ZERO_ALLOWED_FLOATS", "ZERO_ALLOWED_INTS", "ProfileError", "Section"]


class ProfileError(ValueError):
    """A profile is unknown, lacks a section a stage needs, or has a key of the wrong name or type."""


Section = TypeVar("Section")


WINDOW_DEFAULT = "default"
"""Key of a per-temperature ``propensity.max_time`` mapping that covers the temperatures it does not list."""


def _window_table(value: Any) -> float | dict[str, float | dict[str, float]]:
    """``propensity.max_time`` from YAML: a number, or per system a number or {temperature | default: number}."""
    if not isinstance(value, dict):
        return float(value)
    return {
        str(system): (
            {(WINDOW_DEFAULT if key == WINDOW_DEFAULT else repr(float(key))): float(t) for key, t in entry.items()}
            if isinstance(entry, dict)
            else float(entry)
        )
        for system, entry in value.items()
    }


def _section(profile: str, name: str, cls: type[Section], raw: Any) -> Section:
    """Build section ``name`` as ``cls``: unknown or missing keys and bad values raise naming the key."""
    if not isinstance(raw, dict):
        raise ProfileError(f"profile {profile!r}: section {name!r} must be a mapping, got {raw!r}")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(raw) - set(fields))
    if unknown:
        raise ProfileError(f"profile {profile!r}: unknown key(s) {unknown} in {name!r}; known: {sorted(fields)}")
    missing = [
        key
        for key, f in fields.items()
        if key not in raw and f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
    ]
    if missing:
        raise ProfileError(f"profile {profile!r}: {name!r} needs key(s) {missing}")
    values = {}
    for key, value in raw.items():
        kind = fields[key].type
        try:
            values[key] = _convert(kind, value)
        except (TypeError, ValueError) as error:
            raise ProfileError(f"profile {profile!r}: {name}.{key} = {value!r} is not a valid {kind}") from error
    try:
        section = cls(**values)
    except ValueError as error:  # a section's own check of its values (``__post_init__``)
        raise ProfileError(f"profile {profile!r}: {error}") from error
    for key, value in values.items():  # then what every section shares: counts ≥ 1, times > 0
        _check_number(profile, f"{name}.{key}", fields[key].type, value)
    return section


#: integer settings that may be 0; every other count (samples, replicas, chains, sweeps, epochs, …) must be ≥ 1
ZERO_ALLOWED_INTS = frozenset({"equilibration_sweeps", "seed", "base_seed", "training_threads"})
#: float settings that may be 0; every other time, rate, length, width or tolerance must be > 0
ZERO_ALLOWED_FLOATS = frozenset({"dropout", "weight_decay", "equilibration_time", "hold_time", "swap_probability"})


def _check_number(profile: str, path: str, kind: str, value: Any) -> None:
    """Counts ≥ 1, times, rates and lengths > 0 (those of :data:`ZERO_ALLOWED_INTS`/``_FLOATS`` ≥ 0), all finite;
    a bad value raises naming ``path`` (``section.key``)."""
    key = path.rsplit(".", 1)[-1]

    def bad(why: str) -> ProfileError:
        return ProfileError(f"profile {profile!r}: {path} = {value!r} {why}")

    if kind == "int":
        floor = 0 if key in ZERO_ALLOWED_INTS else 1
        if value < floor:
            raise bad(f"must be ≥ {floor}")
    elif kind == "float":
        if not math.isfinite(value):
            raise bad("must be finite")
        if value < 0 or (value == 0 and key not in ZERO_ALLOWED_FLOATS):
            raise bad("must be ≥ 0" if key in ZERO_ALLOWED_FLOATS else "must be > 0")
    elif kind.startswith("tuple[int"):
        if any(v < 1 for v in value):
            raise bad("must hold counts ≥ 1")
    elif kind.startswith("tuple[float"):
        if any(not math.isfinite(v) or v < 0 for v in value):
            raise bad("must hold finite values ≥ 0")
    elif kind.endswith("dict[str, float | dict[str, float]]"):
        numbers = [value] if not isinstance(value, dict) else [
            v for entry in value.values() for v in (entry.values() if isinstance(entry, dict) else [entry])
        ]
        if any(not math.isfinite(v) or v <= 0 for v in numbers):
            raise bad("must hold finite values > 0")
        if kind.startswith("int") and any(float(v) != int(v) for v in numbers):
            raise bad("must hold whole numbers")


def _convert(kind: str, value: Any) -> Any:
    """Convert a YAML value to the annotated type (annotations are strings under postponed evaluation)."""
    if kind in ("int", "float", "str"):
        if kind == "int" and (isinstance(value, bool) or float(value) != int(value)):
            raise ValueError("not an integer")
        return {"int": int, "float": float, "str": str}[kind](value)
    if kind == "bool":
        if not isinstance(value, bool):
            raise TypeError("not a boolean")
        return value
    if kind in ("float | dict[str, float | dict[str, float]]", "int | dict[str, float | dict[str, float]]"):
        table = _window_table(value)
        if kind.startswith("int") and not isinstance(table, dict):
            if float(table) != int(table):
                raise ValueError("not an integer")
            return int(table)
        return table
    if kind.startswith("tuple["):
        element = {"float": float, "int": int, "str": str}[kind[6:].split(",")[0].strip()]
        return tuple(element(v) for v in value)
    if kind == "dict[str, bool | tuple[float, ...]]":  # per system: true, or a list of temperatures
        if not isinstance(value, dict):
            raise TypeError("not a mapping system → true or a list of temperatures")
        return {
            str(system): entry if isinstance(entry, bool) else tuple(float(t) for t in entry)
            for system, entry in value.items()
        }
    return value
