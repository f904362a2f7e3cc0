#!/usr/bin/env bash
# Build the documentation site into site/: `mkdocs build --strict`, so any warning — a broken link, anchor or
# cross-reference, a page missing from the nav, a docstring griffe cannot parse — fails the build (and CI).
# Installs the `docs` extra of pyproject.toml into the virtualenv (VENV, default .venv, created if missing; the
# platform itself is not needed: the API reference is read from the source). Extra arguments go to mkdocs build.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
VENV=${VENV:-.venv}
if [ ! -x "$VENV/bin/python" ]; then
  "$PYTHON" -m venv "$VENV"
fi
mapfile -t requirements < <("$VENV/bin/python" -c '
import tomllib
print("\n".join(tomllib.load(open("pyproject.toml", "rb"))["project"]["optional-dependencies"]["docs"]))')
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "${requirements[@]}"
export NO_MKDOCS_2_WARNING=1   # Material's notice about MkDocs 2 is advice, not a problem of these pages
"$VENV/bin/python" -m mkdocs build --strict --site-dir site "$@"
echo "docs ok: site/index.html"
