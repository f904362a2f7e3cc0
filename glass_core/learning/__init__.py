"""Learning: models trained on configurations, and how their output relates to physics.

The [O] study: the liquid-versus-glass CNN and its deterministic split (:mod:`.cnn`), the gate that says whether
its accuracy is resolved well enough for Grad-CAM to mean anything (:mod:`.classifier_gate`), Grad-CAM fields Γ
(:mod:`.grad_cam`), and Pearson/Spearman correlations between Γ, the structural indicators and the propensity
(:mod:`.correlations`).

The [J] study: GlassMLP of [G] (:mod:`.glassmlp`) and the transferable tGlassMLP (:mod:`.tglassmlp`), their
rows, splits and state-point encoding (:mod:`.mlp_data`), loss (:mod:`.propensity_loss`), settings
(:mod:`.mlp_settings`), training loop (:mod:`.mlp_training`), two-step training with distillation
(:mod:`.tglassmlp_training`), ensembles and their files (:mod:`.mlp_ensemble`, :mod:`.mlp_io`), fast inference
(:mod:`.tglassmlp_inference`), scores against the best single descriptor (:mod:`.scores`), and the held-out
test of transferability (:mod:`.transferability`).

For both: the torch device a network runs on (:mod:`.device`) and training as a worker task
(:mod:`.training_task`). Imports :mod:`glass_core.models`, :mod:`glass_core.structure`,
:mod:`glass_core.dynamics` (for labels) and :mod:`glass_core.files`; never :mod:`glass_core.simulation`.

References: docs/bibliography.md.
"""
