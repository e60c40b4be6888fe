"""Running work in forked processes, where that is safe."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from typing import Any

_JOB: tuple[Callable[[Any], Any], Sequence[Any]] | None = None  # what forked workers run: inherited, never sent


def can_fork() -> bool:
    """Whether forking this process is safe: a POSIX system and no other Python thread running.

    A forked child starts without importing the libraries again (seconds saved), but forking a
    process while another thread may hold a lock can deadlock the child.
    """
    return os.name == "posix" and hasattr(os, "fork") and threading.active_count() == 1


def fork_map(fn: Callable[[Any], Any], items: Sequence[Any]) -> list[Any]:
    """[fn(item) for item in items], spread over the machine's cores by forked processes where forking is safe.

    The workers inherit `fn` and the items (closures and large objects included), so only the results
    cross between processes; the results are what `fn` gives in this process, in the items' order.
    In this process alone when forking is not safe, on one core, or for a single item.
    """
    global _JOB
    workers = min(os.cpu_count() or 1, len(items))
    if workers < 2 or not can_fork():
        return [fn(item) for item in items]
    _JOB = (fn, items)
    try:
        with ProcessPoolExecutor(workers, mp_context=get_context("fork")) as pool:
            return list(pool.map(_run, range(len(items))))
    finally:
        _JOB = None


def _run(i: int) -> Any:
    """In a forked worker: the inherited job's function on its i-th item."""
    assert _JOB is not None
    fn, items = _JOB
    return fn(items[i])
