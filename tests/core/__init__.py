"""Tests of glass_core, one folder per layer (models, structure, dynamics, simulation, learning): no Dagster."""
