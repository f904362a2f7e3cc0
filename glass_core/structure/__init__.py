"""Structure: what can be read from one configuration's positions.

For the [O] study: Voronoi cells and areas Υ (:mod:`.voronoi`), the Tong–Tanaka order parameter Θ
(:mod:`.tong_tanaka`), exponential coarse graining at length ξ and min–max normalisation (:mod:`.coarse_graining`),
particle fields on a pixel grid and back (:mod:`.gridding`), and [O]'s indicators Υ and 1 − Θ (:mod:`.indicators`).
For the [J] study: the physics-inspired multi-scale descriptors of [G]/[J] on inherent structures (density,
potential energy, radical-Voronoi perimeter, energy variance; :mod:`.physics_descriptors`). For both: the quality
measures the checks assert (overlaps, box, crystallisation on cooling; :mod:`.ensemble_quality`).
Imports only :mod:`glass_core.models`.

References ([O], [J], [G], …): docs/bibliography.md.
"""
