"""Partitions: system (static) × temperature (dynamic, added at run time by the campaign sensor)."""

from __future__ import annotations

import math

from dagster import (
    DynamicPartitionsDefinition,
    MultiPartitionKey,
    MultiPartitionsDefinition,
    MultiToSingleDimensionPartitionMapping,
    StaticPartitionsDefinition,
)

from glass_core.models.systems import SYSTEMS, get_system

__all__ = [
    "FROM_SYSTEM_ENSEMBLES",
    "SYSTEM_PARTITIONS",
    "TEMPERATURE_PARTITIONS",
    "system_temperature_partitions",
    "parse_partition",
    "partition_key",
    "temperature_key",
]

SYSTEM_PARTITIONS = StaticPartitionsDefinition(sorted(SYSTEMS))
#: a per-system asset (CNN, Grad-CAM, …) depends on every (system, T) partition of its system
FROM_SYSTEM_ENSEMBLES = MultiToSingleDimensionPartitionMapping(partition_dimension_name="system")
TEMPERATURE_PARTITIONS = DynamicPartitionsDefinition(name="temperature")
system_temperature_partitions = MultiPartitionsDefinition(
    {"system": SYSTEM_PARTITIONS, "temperature": TEMPERATURE_PARTITIONS}
)


def temperature_key(value: float | str) -> str:
    """Canonical partition key of a temperature: the shortest float repr (0.30 → '0.3', 2 → '2.0').

    Raises ``ValueError`` for anything that is not a finite positive number.
    """
    try:
        temperature = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"temperature {value!r} is not a number") from None
    if not math.isfinite(temperature) or temperature <= 0:
        raise ValueError(f"temperature {value!r} must be a finite positive number (LJ units)")
    return repr(temperature)


def partition_key(system: str, temperature: float | str) -> MultiPartitionKey:
    get_system(system)
    return MultiPartitionKey({"system": system, "temperature": temperature_key(temperature)})


def parse_partition(key: str | MultiPartitionKey) -> tuple[str, float]:
    """(system, temperature) of a partition key; clear errors for an unknown system or bad temperature."""
    if isinstance(key, MultiPartitionKey):
        dims = key.keys_by_dimension
    else:
        system, temperature = str(key).split("|") if "|" in str(key) else (str(key), "")
        dims = {"system": system, "temperature": temperature}
    system = get_system(dims["system"]).name
    temperature_key(dims["temperature"])
    return system, float(dims["temperature"])
