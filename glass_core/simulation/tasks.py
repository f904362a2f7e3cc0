"""Worker task files: where each item of a task writes its result.

A task item (``{"sample": 3, "seed": …}``) is finished when ``out_dir/sample_000003.npz`` exists; the
launcher reads those files back, and a relaunched worker skips items whose file is already there.
Shared by :mod:`.worker` (the dispatcher) and by the task functions it dispatches to, so neither has
to import the other.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

__all__ = ["TaskFunction", "item_name", "item_result_path", "item_workdir"]

#: A task function: (task params, one item, out_dir) → JSON-able info for the item_done event.
TaskFunction = Callable[[dict[str, Any], dict[str, Any], Path], dict[str, Any]]


def item_name(item: dict[str, Any]) -> str:
    """``sample_XXXXXX`` (six digits) of an item's ``sample``."""
    return f"sample_{int(item['sample']):06d}"


def item_result_path(out_dir: str | Path, item: dict[str, Any]) -> Path:
    """The result file of one item: ``out_dir/sample_XXXXXX.npz``."""
    return Path(out_dir) / f"{item_name(item)}.npz"


def item_workdir(out_dir: str | Path, item: dict[str, Any]) -> Path:
    """Scratch folder of one item (LAMMPS inputs and logs): ``out_dir/work/sample_XXXXXX``."""
    return Path(out_dir) / "work" / item_name(item)
