"""Code version recorded with every materialization: the asset's logic version and the git commit."""

from __future__ import annotations

import functools
import subprocess
from pathlib import Path

__all__ = ["code_version_tag", "git_commit"]


@functools.cache
def git_commit() -> str:
    """Short hash of the checked-out commit (with ``+dirty`` for local changes), or ``unknown``."""
    root = Path(__file__).resolve().parent.parent
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=root, capture_output=True, text=True, check=True, timeout=10
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return commit + ("+dirty" if dirty else "")


def code_version_tag(asset_version: str) -> str:
    return f"{asset_version}@{git_commit()}"
