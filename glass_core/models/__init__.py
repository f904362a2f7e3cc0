"""Models: what a system is and how its particles interact.

The 2D model glass formers (:mod:`.systems`), their pair potentials and C²-smooth cut-offs
(:mod:`.pair_potentials`), a periodic :class:`~.configuration.Configuration` of typed particles, its
numpy potential energy (:mod:`.energy`), deterministic seeds (:mod:`.seeds`) and random initial
configurations (:mod:`.initial_configurations`), and means over configurations with their standard error
(:mod:`.statistics`, shared by every layer above). The lowest layer: it imports no other layer.

References ([O], [J], [G], …): docs/bibliography.md.
"""
