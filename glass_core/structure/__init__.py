"""Structure layer: per-particle structural fields of a configuration.

Fields computed from one configuration alone (positions, types, box and the system's pair potential):
tessellation-based measures, energies and their spatial coarse grainings, which the learning layer
takes as inputs. Nothing here knows about dynamics or about Dagster.
"""
