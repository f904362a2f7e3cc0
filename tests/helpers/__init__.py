"""Builders the tests share (plain functions and constants; the fixtures stay in ``tests/conftest.py``).

- :mod:`.paths`: the repository root, ``tests/tiny_profiles.yaml`` and ``tests/snapshots/``;
- :mod:`.studies`: study settings of a tiny profile;
- :mod:`.configurations`: lattices and random configurations with known geometry;
- :mod:`.propensity`: crafted isoconfigurational labels;
- :mod:`.series`: AR(1) series and swap-MC energy traces of known statistics;
- :mod:`.mlp_datasets`: propensity data sets with a known answer for GlassMLP, tGlassMLP (``synthetic``, ``crafted``);
- :mod:`.transferability`: the crafted held-out-temperature study as the warehouse rows an asset reads;
- :mod:`.training`: quick tGlassMLP training arguments and a weight comparison;
- :mod:`.campaigns`: temporary campaign files, profiles and environments with their Definitions;
- :mod:`.ui_stack`, :mod:`.ui_instance`: the Dagster and MLflow UIs on a throw-away instance (browser tests).
"""
