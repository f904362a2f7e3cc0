"""Dynamics: observables of trajectories, whoever produced them.

Isoconfigurational propensity labels — the cage-relative squared displacement Δ_i(t) of [O] and the
bond-breaking propensity ⟨C_B^i(t)⟩ of [G] — the cage clock δ(t), relaxation times
(:mod:`.propensity`), and equilibration criteria of energy traces (:mod:`.equilibration`). Works on
arrays of positions; it never runs a simulation. Imports only :mod:`glass_core.models` and
:mod:`glass_core.structure`.
"""
