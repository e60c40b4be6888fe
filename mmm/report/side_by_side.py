"""Drawing a report's charts on two cores at once.

Drawing is most of a report's time and uses one core. Where forking is safe, a forked child
draws charts alongside this process: both take the next chart from a shared queue (a pipe of
chart numbers), so the work splits evenly whatever each chart costs. The child can start before
this process is free to draw (while it logs to MLflow, say). It writes its PNGs to a temporary
folder; any chart it did not finish (it failed, or was slow beyond reason) is drawn here
afterwards. Charts are pure functions of the results, so the bytes are the same either way.
"""

from __future__ import annotations

import os
import signal
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from mmm.core.processes import can_fork

CHILD_GRACE_SECONDS = 60.0  # how long the child may still run after this process has drawn its share


class Charts(Protocol):
    """A report's charts being drawn: `finish()` gives every PNG by file name; `stop()` abandons them (call one, once)."""

    def finish(self) -> dict[str, bytes]: ...

    def stop(self) -> None: ...


class SideBySide:
    """Charts being drawn: by a forked child from creation on, and by this process in `finish`.

    Where forking is not safe, or there is one core, every chart is drawn in `finish`. Call
    `finish` (the charts) or `stop` (an error elsewhere: the child is ended) exactly once.
    """

    def __init__(self, jobs: dict[str, Callable[[], bytes]]) -> None:
        self.jobs, self.names = jobs, list(jobs)
        self.pid: int | None = None
        if len(self.names) < 2 or len(self.names) > 255 or (os.cpu_count() or 1) < 2 or not can_fork():
            return
        self.folder = tempfile.TemporaryDirectory(prefix="mmm-charts-")
        self.queue, queue_in = os.pipe()
        os.write(queue_in, bytes(range(len(self.names))))
        os.close(queue_in)  # once both sides have read every number, the queue reads as empty
        self.pid = os.fork()
        if self.pid == 0:
            self._draw_in_child()

    def finish(self) -> dict[str, bytes]:
        """Every chart's PNG bytes by name, in the jobs' order."""
        if self.pid is None:
            return {name: self.jobs[name]() for name in self.names}
        drawn: dict[str, bytes] = {}
        try:
            while number := os.read(self.queue, 1):  # take the next chart, draw it, then take another
                drawn[self.names[number[0]]] = self.jobs[self.names[number[0]]]()
        except BaseException:
            self.stop()
            raise
        self._reap(time.monotonic() + CHILD_GRACE_SECONDS)
        folder = Path(self.folder.name)
        for i, name in enumerate(self.names):
            if name not in drawn:
                png = folder / f"{i}.png"
                drawn[name] = png.read_bytes() if png.exists() else self.jobs[name]()
        self.folder.cleanup()
        return {name: drawn[name] for name in self.names}

    def stop(self) -> None:
        """End the child and clean up, the charts unused."""
        if self.pid is None:
            return
        self._reap(time.monotonic())
        self.folder.cleanup()

    def _draw_in_child(self) -> None:
        """The child's share: draw charts from the queue until it is empty, each PNG written whole; never returns."""
        code = 1
        try:
            while number := os.read(self.queue, 1):
                partial = Path(self.folder.name) / f"{number[0]}.partial"
                partial.write_bytes(self.jobs[self.names[number[0]]]())
                partial.replace(partial.with_suffix(".png"))
            code = 0
        finally:
            os._exit(code)  # the parent's clean-up (temporary folder, open runs) is not the child's to do

    def _reap(self, deadline: float) -> None:
        """Close the queue and reap the child, stopping it if it is still drawing at `deadline`."""
        assert self.pid is not None
        os.close(self.queue)
        while time.monotonic() < deadline:
            if os.waitpid(self.pid, os.WNOHANG)[0]:
                return
            time.sleep(0.005)
        os.kill(self.pid, signal.SIGKILL)
        os.waitpid(self.pid, 0)
