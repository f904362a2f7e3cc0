"""glass_core: the science of the platform, grouped by layer, with no Dagster.

Layers, lowest first; a module imports only from its own layer or from layers below it
(``tests/platform/test_layers.py`` asserts it)::

    models      model systems, pair potentials, Configuration, numpy energies, seeds, initial configurations
    structure   Voronoi cells, Tong–Tanaka order, coarse graining, gridding, structural indicators
    dynamics    propensity labels (Δ_i, C_B^i), cage clock δ, equilibration criteria
    simulation  LAMMPS driver and inputs, quench, swap Monte Carlo, inherent structures, isoconfigurational runs
    learning    CNN, Grad-CAM, correlations between learned and structural fields, GlassMLP and tGlassMLP,
                the device a network runs on, training as a task
    tasks       the worker that runs simulation and training tasks in their own processes

``glass_core.files`` (atomic file writes, where task items write results) sits below every layer and imports
nothing from glass_core. ``simulation`` and ``learning`` do not import each other.
"""
