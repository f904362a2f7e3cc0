"""Large tiled boxes and the dynamic length ξ4 [J]: swap-MC equilibria tiled k × k and re-equilibrated, then
S4(q) of the champion tGlassMLP's predicted propensity on them and its Ornstein–Zernike length ξ4."""
