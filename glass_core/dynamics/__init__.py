"""Dynamics layer: dynamic labels of configurations and the data sets that provide them.

Per-particle dynamic observables (bond breaking, cage-relative displacements, …) measured from
isoconfigurational trajectories, and loaders for external benchmark data (GlassBench) that carry such
trajectories, so that their labels are computed by the platform's own functions.
"""
