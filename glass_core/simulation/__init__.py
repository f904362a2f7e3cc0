"""Simulation: producing configurations and trajectories.

The LAMMPS driver and its input templates (:mod:`.lammps_driver`, ``lammps_inputs/``), quenches
(:mod:`.quench`), swap Monte Carlo equilibria (:mod:`.swap_monte_carlo`), energy minima
(:mod:`.inherent_structures`), isoconfigurational replica runs (:mod:`.isoconfigurational`), and the
worker (:mod:`.worker`), a thin dispatcher that runs one task file per process and maps task kinds to
these functions. Imports :mod:`glass_core.models`, :mod:`glass_core.structure` and :mod:`glass_core.dynamics`.
"""
