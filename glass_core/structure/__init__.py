"""Structure: what can be read from one configuration's positions.

Voronoi cells and areas Υ (:mod:`.voronoi`), the Tong–Tanaka order parameter Θ (:mod:`.tong_tanaka`),
Gaussian coarse graining at length ξ (:mod:`.coarse_graining`), particle fields on a pixel grid
(:mod:`.gridding`), Oyama et al.'s indicators Υ and 1 − Θ (:mod:`.indicators`), and the quality
measures the checks assert (overlaps, box, crystallisation on cooling; :mod:`.ensemble_quality`).
Imports only :mod:`glass_core.models`.
"""
