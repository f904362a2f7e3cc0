#!/usr/bin/env bash
# The validation campaign (validation_campaign.yaml, `validation` profile): ABM at Oyama et al.'s box size N = 2000 —
# the T_L / T_G quench ensembles the study CNNs train on (80 runs each), then glasses quenched at 2e-2, 2e-3 and 2e-4,
# C(1−Θ,Υ), C(Γ,Υ), C(Γ,1−Θ) per glass and mean ± SE per rate beside Oyama et al.'s values, each CNN's accuracy with
# its interval and the classifier gate. Its own instance and warehouse (data/validation/), so the demo's N = 256
# ensembles are never mistaken for the study's; DAGSTER_HOME, GLASS_WAREHOUSE, GLASS_SCRATCH move them. A run that is
# stopped resumes: finished quenches are reused from scratch, stored glasses from the warehouse. Extra arguments go
# to python -m glass_assets.demo.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export GLASS_PROFILE=validation
export DAGSTER_HOME="${DAGSTER_HOME:-$PWD/data/validation/dagster_home}"
export GLASS_WAREHOUSE="${GLASS_WAREHOUSE:-$PWD/data/validation/warehouse.duckdb}"
export GLASS_SCRATCH="${GLASS_SCRATCH:-$PWD/data/validation/scratch}"
mkdir -p "$DAGSTER_HOME"
[ -f "$DAGSTER_HOME/dagster.yaml" ] || cp dagster_home/dagster.yaml "$DAGSTER_HOME/dagster.yaml"
exec .venv/bin/python -m glass_assets.demo --campaign validation_campaign.yaml "$@"
