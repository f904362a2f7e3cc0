"""Atomic file writes shared by every layer: a reader sees the old file or the whole new one, never half.

Each writer goes to a temporary file in the target's folder (same filesystem) and ``os.replace``s it
onto the target, which POSIX makes atomic. A worker killed mid-write therefore leaves no truncated
result for a resumed task to mistake for a finished one. The temporary file is removed if the write
fails. This module sits below every layer of :mod:`glass_core` and imports nothing from it.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np

__all__ = ["atomic_savez", "atomic_write_text"]


def _replace_through_temporary(path: Path, suffix: str, write: Callable[[str], object]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=suffix)
    os.close(fd)
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def atomic_savez(path: str | os.PathLike[str], **arrays: np.ndarray) -> Path:
    """``np.savez(path, **arrays)`` through a temporary ``.npz`` and an atomic rename; returns ``path``."""
    return _replace_through_temporary(Path(path), ".npz", lambda tmp: np.savez(tmp, **arrays))


def atomic_write_text(path: str | os.PathLike[str], text: str) -> Path:
    """Write ``text`` to ``path`` through a temporary file and an atomic rename; returns ``path``."""
    return _replace_through_temporary(Path(path), "", lambda tmp: Path(tmp).write_text(text))
