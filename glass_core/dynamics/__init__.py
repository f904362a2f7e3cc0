"""Dynamics: observables of trajectories and of per-particle dynamic fields, whoever produced them.

For the [O] study: the cage-relative squared displacement Δ_i(t) and the cage clock δ(t) (:mod:`.propensity`).
For the [J] study: the bond-breaking propensity ⟨C_B^i(t)⟩ of [G] and τ_α (:mod:`.propensity`), labels at the
state points (T, ⟨C_B⟩) by time–temperature superposition (:mod:`.state_points`), the four-point susceptibility
χ4 (:mod:`.four_point_susceptibility`), the four-point structure factor S4(q) and ξ4
(:mod:`.four_point_structure_factor`), the chord and attention lengths (:mod:`.length_scales`), and the GlassBench
data of [R] with labels computed by the platform (:mod:`.glassbench`). For the simulations of both: equilibration
criteria of energy traces (:mod:`.equilibration`) and the self overlap that tells when swap MC has forgotten a
state (:mod:`.overlap`). Works on arrays of positions and fields; it never runs a simulation. Imports only
:mod:`glass_core.models`, :mod:`glass_core.structure` and :mod:`glass_core.files`.

References: docs/bibliography.md.
"""
