"""dynamics layer: time-dependent observables of the glass formers — dynamic labels and their statistics
(four-point susceptibility χ4, four-point structure factor S4(q) and the dynamic lengths ξ4, chord and
attention lengths of Jung, Biroli & Berthier [J])."""
