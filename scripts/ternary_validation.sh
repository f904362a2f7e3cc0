#!/usr/bin/env bash
# The [J] validation campaign (ternary_validation_campaign.yaml, `ternary_validation` profile): ka2d_ternary at
# N = 1290, type-A GlassMLP and tGlassMLP with the held-out test, in its own Dagster instance, warehouse, MLflow
# store and scratch under data/ternary_validation/ (the demo's data stay untouched). The graph is incremental: an
# interrupted run resumes where it stopped when started again. Extra arguments go to python -m glass_assets.demo.
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD/data/ternary_validation"
mkdir -p "$root/dagster_home"
cp dagster_home/dagster.yaml "$root/dagster_home/dagster.yaml"
export GLASS_PROFILE=ternary_validation
export DAGSTER_HOME="$root/dagster_home"
export GLASS_WAREHOUSE="$root/warehouse.duckdb"
export GLASS_SCRATCH="$root/scratch"
export MLFLOW_TRACKING_URI="sqlite:///$root/mlflow.db"
bash scripts/setup.sh
exec .venv/bin/python -m glass_assets.demo --campaign ternary_validation_campaign.yaml "$@"
