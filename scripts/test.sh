#!/usr/bin/env bash
# Set up, lint, then run the test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/ruff check glass_core glass_assets tests benchmarks scripts
.venv/bin/python -m pytest "$@"
