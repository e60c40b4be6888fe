"""The report's charts drawn on two cores: the same bytes, in the same order, whoever draws them."""

from __future__ import annotations

import os
import time

import pytest

from mmm.report.side_by_side import SideBySide

pytestmark = pytest.mark.skipif(
    os.name != "posix" or (os.cpu_count() or 1) < 2, reason="charts are drawn side by side on POSIX with 2+ cores"
)


def _job(name: str, fail_in_child_of: int | None = None):
    def draw() -> bytes:
        time.sleep(0.15)
        if fail_in_child_of is not None and os.getpid() != fail_in_child_of:
            raise RuntimeError("the child could not draw this one")
        return f"{name}:{os.getpid()}".encode()

    return draw


def test_charts_are_split_between_this_process_and_a_child_and_come_back_in_order():
    names = [f"chart{i}.png" for i in range(6)]
    drawn = SideBySide({name: _job(name) for name in names}).finish()
    assert list(drawn) == names
    assert all(drawn[name].startswith(f"{name}:".encode()) for name in names)
    pids = {png.split(b":")[1] for png in drawn.values()}
    assert str(os.getpid()).encode() in pids and len(pids) == 2


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


def test_charts_started_early_are_drawn_by_the_child_while_this_process_does_other_work():
    names = [f"chart{i}.png" for i in range(4)]
    charts = SideBySide({name: _job(name) for name in names})
    time.sleep(1.0)  # logging to MLflow, say: the child has drawn every chart meanwhile
    started = time.monotonic()
    drawn = charts.finish()
    assert time.monotonic() - started < 0.5
    assert list(drawn) == names and {png.split(b":")[1] for png in drawn.values()} != {str(os.getpid()).encode()}


def test_stopped_charts_leave_no_child_behind():
    charts = SideBySide({f"chart{i}.png": _job(f"chart{i}.png") for i in range(4)})
    charts.stop()
    with pytest.raises(ChildProcessError):
        os.waitpid(-1, os.WNOHANG)
