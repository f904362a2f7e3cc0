"""glass_core: the science of the platform, grouped by layer, with no Dagster.

Layers, lowest first; a module imports only from its own layer or from layers below it
(``tests/test_layers.py`` asserts it)::

    models      model systems, pair potentials, Configuration, numpy energies, seeds, initial configurations
    structure   Voronoi cells, Tong–Tanaka order, coarse graining, gridding, structural indicators
    dynamics    propensity labels (Δ_i, C_B^i), cage clock δ, equilibration criteria
    simulation  LAMMPS driver and inputs, quench, swap Monte Carlo, inherent structures,
                isoconfigurational runs, and the worker that dispatches them
    learning    CNN, Grad-CAM, correlations between learned and structural fields

``glass_core.files`` (atomic file writes) sits below every layer and imports nothing from glass_core.
"""
