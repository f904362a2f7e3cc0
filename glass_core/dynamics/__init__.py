"""Dynamics layer: time-dependent observables of configurations — propensities, state-point labels,
dynamic heterogeneity and its length scales. Builds on the models and structure layers; never imports
the simulation or learning layers."""
