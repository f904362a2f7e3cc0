"""Which torch device a network trains and predicts on: the ``device`` setting (``auto`` | ``cpu`` | ``cuda[:n]``).

``auto`` is a CUDA device when torch sees one, else the CPU; ``cuda`` and ``cuda:<n>`` are refused with
:class:`DeviceError` (naming the setting) when torch has no such GPU, instead of silently training on the CPU.
Networks are trained on the device and handed back on the CPU, so what is saved, logged and compared never
depends on where it was trained. On the CPU, results are bitwise reproducible under a seed and a thread count
(:func:`glass_core.learning.mlp_training.deterministic_torch`); on a GPU, deterministic algorithms are on as
well, but the floating-point order of its kernels differs from the CPU's, so the same seed gives the same
scores within a tolerance, not bit for bit.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch

__all__ = ["DEVICE_CHOICES", "DeviceError", "device_label", "forked_rng", "resolve_device"]

DEVICE_CHOICES = "auto, cpu, cuda, cuda:<n>"


class DeviceError(ValueError):
    """A ``device`` setting names no device torch can use here."""


def resolve_device(setting: str | torch.device | None = "auto") -> torch.device:
    """The torch device of a ``device`` setting (module doc); :class:`DeviceError` when it cannot be used."""
    if isinstance(setting, torch.device):
        setting = str(setting)
    text = (setting or "auto").strip().lower()
    if text == "auto":
        return torch.device("cuda") if torch.cuda.is_available() else torch.device("cpu")
    if text == "cpu":
        return torch.device("cpu")
    if text != "cuda" and not (text.startswith("cuda:") and text[5:].isdigit()):
        raise DeviceError(f"device {setting!r} is not one of {DEVICE_CHOICES}")
    if not torch.cuda.is_available():
        raise DeviceError(
            f"device {setting!r} asks for a GPU, but torch {torch.__version__} sees none (CUDA build: "
            f"{torch.version.cuda or 'no, a CPU-only build'}): set device to 'auto' or 'cpu', or run on a GPU node "
            "with a CUDA build of torch (docs/cluster.md, 'A CUDA build on a GPU node')"
        )
    device = torch.device(text)
    if device.index is not None and device.index >= torch.cuda.device_count():
        raise DeviceError(f"device {setting!r}: torch sees {torch.cuda.device_count()} GPU(s), numbered from 0")
    return device


def device_label(device: torch.device) -> str:
    """``cpu`` or ``cuda:0 (NVIDIA H100 80GB HBM3)``: the device as logged with a model."""
    if device.type != "cuda":
        return device.type
    index = device.index if device.index is not None else torch.cuda.current_device()
    return f"cuda:{index} ({torch.cuda.get_device_name(index)})"


@contextlib.contextmanager
def forked_rng(device: torch.device) -> Iterator[None]:
    """Fork torch's CPU random state, and the GPU's when ``device`` is one, restoring them after the block."""
    devices = (
        [device.index if device.index is not None else torch.cuda.current_device()] if device.type == "cuda" else []
    )
    with torch.random.fork_rng(devices=devices):
        yield
