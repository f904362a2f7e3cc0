"""Partitions: one (system, temperature) partition per state point the campaign wants, and nothing else.

Each system's assets are their own asset keys (``abm/quenched_ensembles``, built by
:mod:`glass_assets.graph`), so an asset's partitions are a two-dimensional ``system × temperature``
definition whose system dimension holds that one system and whose temperature dimension is a dynamic
partitions definition of that (system, stage): ``abm_quench_temperature`` holds exactly the
temperatures ``campaign.yaml`` lists under ``abm.quench``. The UI's "missing" is then "still to do";
the partition keys read ``abm|0.05`` as before. Assets of one system as a whole (a CNN, a tGlassMLP, a
summary) are partitioned by that system alone. Why not one 2-D definition for everything: Dagster's
multi-partitions are a full cross product (every system × every temperature of the campaign would be
offered, and declarative automation would treat each one as wanted).
"""

from __future__ import annotations

import math
from functools import cache

from dagster import (
    DynamicPartitionsDefinition,
    MultiPartitionKey,
    MultiPartitionsDefinition,
    MultiToSingleDimensionPartitionMapping,
    StaticPartitionsDefinition,
)

from glass_core.models.systems import get_system

__all__ = [
    "TO_SYSTEM",
    "parse_partition",
    "partition_key",
    "system_partitions",
    "system_temperature_partitions",
    "temperature_key",
    "temperature_partitions",
]

#: (system, T) partitions ↔ the system's one partition, in either direction
TO_SYSTEM = MultiToSingleDimensionPartitionMapping(partition_dimension_name="system")


@cache
def temperature_partitions(system: str, stage: str) -> DynamicPartitionsDefinition:
    """The temperatures of one (system, campaign stage): ``<system>_<stage>_temperature``."""
    return DynamicPartitionsDefinition(name=f"{get_system(system).name}_{stage}_temperature")


@cache
def system_partitions(system: str) -> StaticPartitionsDefinition:
    """The one partition of a per-system asset: the system's name."""
    return StaticPartitionsDefinition([get_system(system).name])


@cache
def system_temperature_partitions(system: str, stage: str) -> MultiPartitionsDefinition:
    """``system × temperature`` partitions of one (system, stage): keys ``<system>|<T>``."""
    return MultiPartitionsDefinition(
        {"system": system_partitions(system), "temperature": temperature_partitions(system, stage)}
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
