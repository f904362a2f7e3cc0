"""Dagster wiring of the glass platform: partitions, resources, assets, checks, sensors."""

import matplotlib

#: every figure of the wiring is drawn off screen (PNG files, metadata, the report): set once, before any module of
#: the package imports pyplot
matplotlib.use("Agg")
