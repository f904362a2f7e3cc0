"""Learning: models trained on configurations, and how their output relates to physics.

The liquid-versus-glass CNN and its deterministic split (:mod:`.cnn`), Grad-CAM fields Γ
(:mod:`.grad_cam`), and Pearson/Spearman correlations between Γ, the structural indicators and the
propensity (:mod:`.correlations`). Imports :mod:`glass_core.models` and :mod:`glass_core.structure`
(and :mod:`glass_core.dynamics` for labels); never :mod:`glass_core.simulation`.
"""
