"""Atomic file writes shared by every layer, and where a worker task's items write their results.

A reader sees the old file or the whole new one, never half.

Each writer goes to a temporary file in the target's folder (same filesystem) and ``os.replace``s it
onto the target, which POSIX makes atomic. A worker killed mid-write therefore leaves no truncated
result for a resumed task to mistake for a finished one. The temporary file is removed if the write
fails. This module sits below every layer of :mod:`glass_core` and imports nothing from it.

A task item (``{"sample": 3, "seed": …}``) is finished when ``out_dir/sample_000003.npz`` exists
(:func:`item_result_path`); the launcher reads those files back, and a relaunched worker skips items whose file is
already there. Shared by the worker (:mod:`glass_core.tasks.worker`) and the task functions it dispatches to.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

__all__ = [
    "atomic_savez",
    "atomic_write_bytes",
    "atomic_write_text",
    "item_name",
    "item_result_path",
    "item_workdir",
]


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


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically (parent folders created)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)

    def write(temporary: str) -> None:
        with open(temporary, "wb") as stream:
            stream.write(data)

    return _replace_through_temporary(path, path.suffix, write)


def item_name(item: dict[str, Any]) -> str:
    """``sample_XXXXXX`` (six digits) of an item's ``sample``."""
    return f"sample_{int(item['sample']):06d}"


def item_result_path(out_dir: str | Path, item: dict[str, Any]) -> Path:
    """The result file of one item: ``out_dir/sample_XXXXXX.npz``."""
    return Path(out_dir) / f"{item_name(item)}.npz"


def item_workdir(out_dir: str | Path, item: dict[str, Any]) -> Path:
    """Scratch folder of one item (LAMMPS inputs and logs): ``out_dir/work/sample_XXXXXX``."""
    return Path(out_dir) / "work" / item_name(item)
