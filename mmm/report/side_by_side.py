"""Drawing a report's charts on two cores at once.

Drawing is most of a report's time and uses one core. Where forking is safe, a forked child
draws charts alongside this process: both take the next chart from a shared queue (a pipe of
chart numbers), so the work splits evenly whatever each chart costs. The child writes its PNGs to
a temporary folder; any chart it did not finish (it failed, or was slow beyond reason) is drawn
here afterwards. Charts are pure functions of the results, so the bytes are the same either way.
"""

from __future__ import annotations

import os
import signal
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from mmm.core.processes import can_fork

CHILD_GRACE_SECONDS = 60.0  # how long the child may still run after this process has drawn its share


def draw_all(jobs: dict[str, Callable[[], bytes]]) -> dict[str, bytes]:
    """Each job's PNG bytes by name (in the jobs' order): on two cores where forking is safe, else one after another."""
    names = list(jobs)
    if len(names) < 2 or (os.cpu_count() or 1) < 2 or not can_fork() or len(names) > 255:
        return {name: jobs[name]() for name in names}
    queue_out, queue_in = os.pipe()
    os.write(queue_in, bytes(range(len(names))))
    os.close(queue_in)  # once both sides have read every number, the queue reads as empty
    with tempfile.TemporaryDirectory(prefix="mmm-charts-") as folder:
        pid = os.fork()
        if pid == 0:
            _draw_in_child(jobs, names, queue_out, Path(folder))
        drawn: dict[str, bytes] = {}
        try:
            while number := os.read(queue_out, 1):  # take the next chart, draw it, then take another
                drawn[names[number[0]]] = jobs[names[number[0]]]()
        except BaseException:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            raise
        finally:
            os.close(queue_out)
        _wait_or_stop(pid, time.monotonic() + CHILD_GRACE_SECONDS)
        for i, name in enumerate(names):
            if name not in drawn:
                png = Path(folder) / f"{i}.png"
                drawn[name] = png.read_bytes() if png.exists() else jobs[name]()
    return {name: drawn[name] for name in names}


def _draw_in_child(jobs: dict[str, Callable[[], bytes]], names: list[str], queue: int, folder: Path) -> None:
    """The child's share: draw charts from the queue until it is empty, each PNG written whole; never returns."""
    code = 1
    try:
        while number := os.read(queue, 1):
            i = number[0]
            partial = folder / f"{i}.partial"
            partial.write_bytes(jobs[names[i]]())
            partial.replace(folder / f"{i}.png")
        code = 0
    finally:
        os._exit(code)  # the parent's clean-up (temporary folder, open runs) is not the child's to do


def _wait_or_stop(pid: int, deadline: float) -> None:
    """Reap the child, stopping it if it is still drawing at `deadline`."""
    while time.monotonic() < deadline:
        done, _ = os.waitpid(pid, os.WNOHANG)
        if done:
            return
        time.sleep(0.005)
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
