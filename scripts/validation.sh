#!/usr/bin/env bash
# The validation campaign (validation_campaign.yaml, `validation` profile): ABM glasses at N = 2000 quenched at
# 2e-2, 2e-3 and 2e-4, C(1−Θ,Υ) per glass and mean ± SE per rate beside Oyama et al.'s 0.355. Extra arguments go to
# python -m glass_assets.demo; DAGSTER_HOME, GLASS_WAREHOUSE, GLASS_SCRATCH may point the run elsewhere.
set -euo pipefail
cd "$(dirname "$0")/.."
export GLASS_PROFILE=validation
exec bash scripts/demo.sh --campaign validation_campaign.yaml "$@"
