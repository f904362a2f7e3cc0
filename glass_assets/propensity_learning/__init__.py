"""Predicting bond-breaking propensity across temperatures [J]: descriptors, state-point labels, GlassMLP and
tGlassMLP in MLflow, and predictions on swap-MC equilibria below the MD temperatures."""
