"""Timing helper shared by the benchmarks (run them as scripts: ``python benchmarks/<name>.py``)."""

import time
from collections.abc import Callable


def best_of(function: Callable[[], object], repeats: int) -> float:
    """Smallest wall time of ``repeats`` calls, in seconds: the least disturbed by other load."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return min(times)
