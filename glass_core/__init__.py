"""glass_core: the science of the platform, grouped by layer, with no Dagster.

It serves two studies. [O], liquid or glass: quenched binary mixtures (``abm``, ``kam``), a CNN that tells their
liquids from their glasses, its Grad-CAM field Γ and how Γ correlates with the Voronoi area Υ, the Tong–Tanaka
order Θ and the cage-relative dynamics Δ. [J] (after [G]), propensity and heterogeneity: swap-MC equilibria of the
ternary ``ka2d_ternary`` liquid, bond-breaking propensity labels by isoconfigurational MD, physics-inspired
descriptors, GlassMLP and the transferable tGlassMLP, and the dynamic heterogeneity they predict (χ4, S4(q) and
ξ4, chord and attention lengths), scored also on GlassBench [R].

Layers, lowest first; a module imports only from its own layer or from layers below it
(``tests/platform/test_layers.py`` asserts it)::

    models      model systems, pair potentials, Configuration, numpy energies, seeds, initial configurations,
                tiling, statistics (mean ± standard error, the 2-SE verdict)
    structure   Voronoi cells, Tong–Tanaka order, coarse graining, gridding, the indicators of [O],
                the physics-inspired descriptors of [G]/[J] (radical Voronoi), ensemble quality
    dynamics    propensity labels (Δ_i of [O], C_B^i of [G]/[J]), cage clock δ, equilibration criteria, overlap,
                state-point labels, χ4, S4(q)/ξ4, chord and attention lengths, the GlassBench loader
    simulation  LAMMPS driver and inputs, quench, swap Monte Carlo, inherent structures, isoconfigurational runs,
                tiled large boxes
    learning    [O]: CNN, Grad-CAM, correlations with the structural fields, the classifier gate;
                [G]/[J]: GlassMLP and tGlassMLP, their loss, data, training, inference, scores, the held-out
                transferability test; the device a network runs on, training as a task
    tasks       the worker that runs simulation and training tasks in their own processes

``glass_core.files`` (atomic file writes, where task items write results) sits below every layer and imports
nothing from glass_core. ``simulation`` and ``learning`` do not import each other.

References ([O], [J], [G], [R], …): docs/bibliography.md.
"""
