"""Dagster wiring of the glass platform: partitions, resources, assets, checks, sensors."""
