"""The project folder (the repository root): the one definition every module resolves its default paths from."""

from pathlib import Path

__all__ = ["REPO_ROOT"]

#: the checkout holding glass_core/ and glass_assets/ (data/, mlruns/, dagster_home/ and figure paths are under it)
REPO_ROOT = Path(__file__).resolve().parent.parent
