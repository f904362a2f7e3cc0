#!/usr/bin/env bash
# Set up, lint, check that the code location loads, then run the test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/ruff check glass_core glass_assets tests benchmarks scripts
# `dg check defs` without dagster-dg-cli (whose releases pin an exact dagster, behind ours): load workspace.yaml's
# definitions (the @definitions loader in glass_assets/definitions.py) on a temporary instance; exit 1 if they fail
home="$(mktemp -d)"
trap 'rm -rf "$home"' EXIT
DAGSTER_HOME="$home" .venv/bin/dagster definitions validate -w workspace.yaml
# two pytest workers, one test file each at a time: the daemon tests (minutes of waiting on ticks) run beside the rest
.venv/bin/python -m pytest -n 2 --dist loadfile "$@"
