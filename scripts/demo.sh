#!/usr/bin/env bash
# Set up, then run the demo campaign (campaign.yaml, demo profile) end to end into dagster_home/ and data/.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export DAGSTER_HOME="$PWD/dagster_home"
.venv/bin/python -m glass_assets.demo "$@"
