"""Simulation: producing configurations and trajectories.

The LAMMPS driver and its input templates (:mod:`.lammps_driver`, ``lammps_inputs/``), quenches
(:mod:`.quench`), swap Monte Carlo equilibria (:mod:`.swap_monte_carlo`), energy minima
(:mod:`.inherent_structures`), isoconfigurational replica runs (:mod:`.isoconfigurational`): the task functions
that the worker (:mod:`glass_core.tasks.worker`) runs, one task file per process. Imports :mod:`glass_core.models`,
:mod:`glass_core.structure` and :mod:`glass_core.dynamics`.

References ([O], [J], [G], …): docs/bibliography.md.
"""
