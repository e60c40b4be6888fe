"""The `mmm` command line: a thin layer over the Python API.

Every problem the user can fix ends with a one-paragraph message and exit status 2. The commands
live in `mmm.cli.app`; this module stays light, so a command that a warm server runs (`mmm warm`)
starts without importing them.
"""

from __future__ import annotations

import gc
import os
import sys
from typing import Any

# Python's cycle collector runs after every 700 new objects by default: while a command loads
# PyMC, MLflow and their libraries (hundreds of thousands of objects, none of them garbage) it ran
# thousands of times, each older pass scanning the whole growing heap, a sixth of a `mmm fit`'s
# time. After every 100,000 it still frees what reference cycles hold, with the same peak memory.
COLLECT_AFTER = 100_000


def collect_rarely() -> None:
    """Run Python's cycle collector after every COLLECT_AFTER new objects (the youngest generation only)."""
    gc.set_threshold(COLLECT_AFTER, *gc.get_threshold()[1:])


class _UntilClosed:
    """Standard output that goes quiet once its reader has gone (`mmm optimize ... | head`): the command still
    finishes (its run recorded, its JSON written) instead of stopping on a broken pipe halfway."""

    def __init__(self, stream: Any):
        self._stream = stream

    def write(self, text: str) -> int:
        try:
            return self._stream.write(text)
        except BrokenPipeError:
            self._gone()
            return len(text)

    def flush(self) -> None:
        try:
            self._stream.flush()
        except BrokenPipeError:
            self._gone()

    def _gone(self) -> None:
        self._stream = open(os.devnull, "w")  # noqa: SIM115 - stands in for stdout until the process ends

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


def run() -> None:
    """The `mmm` console command: on a warm server when one serves it (`mmm warm`), else here."""
    from mmm.cli.warm_server import run_on_server

    sys.stdout = _UntilClosed(sys.stdout)
    collect_rarely()
    args = sys.argv[1:]
    code = None if args[:1] == ["warm"] else run_on_server(args)
    if code is None:
        from mmm.cli.app import invoke
        from mmm.cli.warm_auto import start_for_next_command

        code = invoke()
        start_for_next_command()
    exit_now(code)


def exit_now(code: int) -> None:
    """Exit with `code` without tearing down every imported module.

    After a fit that teardown takes seconds (PyTensor and numba hold large object graphs) and
    does nothing a user needs: output is flushed here, and the caller has run the exit handlers.
    """
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def __getattr__(name: str) -> Any:
    """`main` (the click group) and `invoke`, from `mmm.cli.app` on first use."""
    if name in ("main", "invoke"):
        from mmm.cli import app

        return getattr(app, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
