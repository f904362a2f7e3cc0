"""Learning layer: networks that learn dynamics from structure, their data, training and prediction.

Per-particle propensity models of Jung, Biroli and Berthier: GlassMLP [G] (one network per state
point) and the transferable tGlassMLP [J] (state point as input, attention over the descriptors,
two-step training with self-consistent distillation to unlabelled low temperatures). The data model
(:class:`~glass_core.learning.mlp_data.PropensityDataset`), the standardisation, the settings, the
shared training loops and the ensembles are torch on the CPU, deterministic under a seed, and import
no Dagster or MLflow: the platform wires them.
"""
