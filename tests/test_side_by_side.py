"""The report's charts drawn on two cores: the same bytes, in the same order, whoever draws them."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mmm.report.side_by_side import SideBySide

pytestmark = pytest.mark.skipif(
    os.name != "posix" or (os.cpu_count() or 1) < 2, reason="charts are drawn side by side on POSIX with 2+ cores"
)


def _job(name: str, fail_in_child_of: int | None = None, seen: Path | None = None):
    """A chart that takes a moment to draw and says who drew it. With `seen`, the child leaves a mark there
    for each chart it draws, and this process waits (30 s at most) for the child's first before it draws:
    the split does not hang on how fast a loaded machine forks."""
    parent = os.getpid()

    def draw() -> bytes:
        if seen is not None and os.getpid() != parent:
            (seen / name).touch()
        elif seen is not None:
            _wait_for(lambda: any(seen.iterdir()))
        time.sleep(0.15)
        if fail_in_child_of is not None and os.getpid() != fail_in_child_of:
            raise RuntimeError("the child could not draw this one")
        return f"{name}:{os.getpid()}".encode()

    return draw


def _wait_for(condition, seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.02)


def _in_a_fresh_process(check: str, tmp_path: Path) -> None:
    """Run `check` (a function of this file) in a new interpreter: charts are drawn side by side only where
    no other thread runs (`can_fork`), and earlier tests in this worker may have left some (MLflow's idle pools)."""
    done = subprocess.run([sys.executable, __file__, check, str(tmp_path)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]


def _split(tmp_path: Path) -> None:
    names = [f"chart{i}.png" for i in range(6)]
    drawn = SideBySide({name: _job(name, seen=tmp_path) for name in names}).finish()
    assert list(drawn) == names
    assert all(drawn[name].startswith(f"{name}:".encode()) for name in names)
    pids = {png.split(b":")[1] for png in drawn.values()}
    assert str(os.getpid()).encode() in pids and len(pids) == 2


def test_charts_are_split_between_this_process_and_a_child_and_come_back_in_order(tmp_path):
    _in_a_fresh_process("_split", tmp_path)


def test_a_chart_the_child_fails_to_draw_is_drawn_here():
    names = [f"chart{i}.png" for i in range(4)]
    drawn = SideBySide({name: _job(name, fail_in_child_of=os.getpid()) for name in names}).finish()
    assert list(drawn) == names
    assert {png.split(b":")[1] for png in drawn.values()} == {str(os.getpid()).encode()}


def test_an_error_here_stops_the_child_and_reaches_the_caller():
    def broken() -> bytes:
        if os.getpid() == parent:
            raise ValueError("bad chart data")
        time.sleep(30)
        return b""

    parent = os.getpid()
    started = time.monotonic()
    with pytest.raises(ValueError, match="bad chart data"):
        SideBySide({"a.png": broken, "b.png": broken, "c.png": broken}).finish()
    assert time.monotonic() - started < 10
    with pytest.raises(ChildProcessError):
        os.waitpid(-1, os.WNOHANG)  # no child left behind


def _early(tmp_path: Path) -> None:
    names = [f"chart{i}.png" for i in range(4)]
    charts = SideBySide({name: _job(name, seen=tmp_path) for name in names})
    # logging to MLflow, say: meanwhile the child draws every chart
    _wait_for(lambda: len(list(tmp_path.iterdir())) == len(names))
    time.sleep(0.3)  # its last chart's drawing time
    drawn = charts.finish()
    assert list(drawn) == names
    assert str(os.getpid()).encode() not in {png.split(b":")[1] for png in drawn.values()}  # none drawn again here


def test_charts_started_early_are_drawn_by_the_child_while_this_process_does_other_work(tmp_path):
    _in_a_fresh_process("_early", tmp_path)


def test_stopped_charts_leave_no_child_behind():
    charts = SideBySide({f"chart{i}.png": _job(f"chart{i}.png") for i in range(4)})
    charts.stop()
    with pytest.raises(ChildProcessError):
        os.waitpid(-1, os.WNOHANG)


if __name__ == "__main__":
    {"_split": _split, "_early": _early}[sys.argv[1]](Path(sys.argv[2]))
