"""Tasks: the worker that runs simulation and training tasks in their own processes (:mod:`.worker`).

The top layer of :mod:`glass_core`: it imports :mod:`glass_core.simulation` and :mod:`glass_core.learning` (the
task functions it dispatches to); nothing in :mod:`glass_core` imports it.
"""
