"""`mmm fit` in two processes: the fit in a forked child while this process sets up MLflow.

A fresh `mmm fit` imports PyMC and its stack for the fit (3-4 s) and MLflow with its store (2-3
s); in one process they queue on one core while the other waits. Here the command forks before
either: the child (the engine) reads and checks the inputs, then fits and summarises; this
process imports MLflow and opens the store meanwhile, starts the run once the inputs pass, and logs
the fit from what the child saved (the netCDF model, the JSON summary, the config as fitted). The
child then draws the report's charts, on both cores, from the moment the results exist, while this
process prints them and logs the model. What the user sees is what one process does: bad input stops before any run
exists, with the same message and exit status; a failed fit ends its run FAILED; the numbers are
the same, as the child runs the same code on the same inputs.
"""

from __future__ import annotations

import importlib
import json
import os
import shutil
import signal
import sys
import tempfile
import time
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, NoReturn

import click

from mmm.cli.common import say_error
from mmm.cli.unrecorded import MODEL_FILE, SUMMARY_FILE
from mmm.core.errors import MMMError
from mmm.core.processes import can_fork

if TYPE_CHECKING:
    from mmm.analysis.results import FitSummary
    from mmm.config import Config
    from mmm.report.side_by_side import Charts

CONFIG_FILE = "config.yaml"
CHARTS_FOLDER = "charts"
# the modules of logging a model and writing its report, imported here while the engine fits
WHILE_FITTING = ("mlflow.pyfunc", "mmm.cli.publish", "mmm.report.build", "mmm.tracking.reports")
INTERRUPTED = 130  # the shell's status for a command stopped by Ctrl-C
PR_SET_PDEATHSIG = 1  # prctl option (linux/prctl.h): a signal for this process when its parent dies
LEAVE_SECONDS = 2.0  # how long an engine told nothing more has to leave before it is stopped


@dataclass(frozen=True)
class FittedFile:
    """A fitted model as the engine saves it: all that logging it and keeping it (`mmm record`) need of a model.

    `saved()` returns once the engine has written the file at `path`.
    """

    config: Config
    channels: list[str]
    path: Path
    saved: Callable[[], None]

    def save(self, path: str | Path) -> Path:
        """Write the model as one netCDF file (a copy of the engine's)."""
        self.saved()
        shutil.copyfile(self.path, path)
        return Path(path)


def worth_fitting_apart() -> bool:
    """Whether fitting in a forked child saves time and is safe here.

    Yes on a machine with two cores or more where forking is safe, when the fit's libraries are not
    imported yet (a warm server has them: nothing to gain) and the command writes to real files
    (the child writes its stages there; a test's captured output is not one).
    """
    return "pymc" not in sys.modules and (os.cpu_count() or 1) >= 2 and can_fork() and _to_file(sys.stdout) and _to_file(sys.stderr)


def _to_file(stream: Any) -> bool:
    try:
        stream.fileno()
    except (AttributeError, OSError, ValueError):  # io.UnsupportedOperation is an OSError and a ValueError
        return False
    return True


def ready_store(tracking_uri: str | None) -> None:
    """Import MLflow and, for a store that exists already, open it: the slow part of starting a run, done ahead.

    A database that does not exist yet is not created, nor are a database's tables (bad input must
    leave nothing behind), and any problem is left for starting the run to report, in its turn.
    """
    import mlflow

    from mmm.tracking.runs import resolve_tracking_uri
    from mmm.tracking.store import sqlite_file, store_lock

    with suppress(Exception):
        uri = resolve_tracking_uri(tracking_uri)
        db = sqlite_file(uri)
        if (db is not None and db.is_file()) or uri.startswith(("http://", "https://")):  # a server is not asked anything yet
            with store_lock(uri):  # MLflow's table set-up is not safe to race
                mlflow.MlflowClient(tracking_uri=uri)  # builds the store and keeps it for this URI


class EngineProcess:
    """The fit in a forked child: `prepare()` reads and checks the inputs at once; `fit(prepared, run_id)`
    runs when `fit(run_id)` is called here and returns (model, summary), whose charts the child then draws.
    Messages go both ways as JSON lines on two pipes."""

    def __init__(self, prepare: Callable[[], Any], fit: Callable[[Any, str], tuple[Any, FitSummary]]) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="mmm-fit-"))
        up_read, up_write = os.pipe()
        down_read, down_write = os.pipe()
        sys.stdout.flush()
        sys.stderr.flush()
        parent = os.getpid()
        self.pid = os.fork()
        if self.pid == 0:
            _end_with(parent)
            os.close(up_read)
            os.close(down_write)
            _engine(prepare, fit, self.folder, os.fdopen(down_read), os.fdopen(up_write, "w"))
        os.close(up_write)
        os.close(down_read)
        self._replies: IO[str] = os.fdopen(up_read)
        self._orders: IO[str] | None = os.fdopen(down_write, "w")
        self._busy = False  # working for the command: a command that stops then stops it at once
        self._saved = False

    def prepared(self) -> None:
        """Wait until the engine has read and checked the inputs; exits as it did when they failed."""
        self._reply("prepared")

    def fit(self, run_id: str) -> tuple[FittedFile, FitSummary, Charts]:
        """Let the engine fit, for run `run_id`: the fitted model (as the file it is writing) and its summary, once the
        summary is written, and the report's charts, which it is drawing by then (this engine: see `finish`)."""
        assert self._orders is not None
        self._busy = True
        self._orders.write(json.dumps({"run_id": run_id}) + "\n")
        self._orders.flush()
        for module in WHILE_FITTING:
            importlib.import_module(module)
        from mmm.analysis.results import FitSummary
        from mmm.config.loading import parse_config

        done = self._reply("summarised")
        summary = FitSummary.model_validate(json.loads((self.folder / SUMMARY_FILE).read_text()))
        config = parse_config((self.folder / CONFIG_FILE).read_text())
        return FittedFile(config, list(done["channels"]), self.folder / MODEL_FILE, self._wait_saved), summary, self

    def _wait_saved(self) -> None:
        if not self._saved:
            self._reply("saved")
            self._saved = True

    def finish(self) -> dict[str, bytes]:
        """The report's charts the engine drew, by file name in the report's order, once it has drawn them all (it then
        leaves by itself): with `stop`, the engine stands for the charts it draws (report.side_by_side.Charts)."""
        self._wait_saved()
        names = self._reply("charts")["names"]
        self._busy = False
        return {name: (self.folder / CHARTS_FOLDER / name).read_bytes() for name in names}

    def stop(self) -> None:
        """Stop the engine's drawing (the command no longer waits for the charts) once it has written the model
        file, which the command may still keep for `mmm record`; its files stay until `close`."""
        with suppress(Exception):  # an engine that failed or died has said so, or the command's next step says it
            self._wait_saved()
        self._busy = True
        self._end()

    def close(self) -> None:
        """Stop the engine if it still runs, wait for it and remove its files.

        An engine not yet told to fit, or done with the charts, leaves by itself when its orders end; one
        fitting or drawing is stopped as Ctrl-C stops a fit.
        """
        self._end()
        shutil.rmtree(self.folder, ignore_errors=True)

    def _end(self) -> None:
        if self._orders is not None:
            with suppress(OSError):
                self._orders.close()
            self._orders = None
        with suppress(OSError):
            self._replies.close()
        with suppress(ChildProcessError):
            waited = 0.0
            while os.waitpid(self.pid, os.WNOHANG) == (0, 0):
                if self._busy or waited >= LEAVE_SECONDS:
                    with suppress(ProcessLookupError):
                        os.kill(self.pid, signal.SIGTERM)
                    os.waitpid(self.pid, 0)
                    break
                time.sleep(0.02)
                waited += 0.02

    def _reply(self, expected: str) -> dict[str, Any]:
        line = "" if self._replies.closed else self._replies.readline()
        message = json.loads(line) if line else {}
        if expected in message:
            return dict(message[expected] or {})
        if "failed" in message:  # the engine said why, as the command would have
            raise click.exceptions.Exit(int(message["failed"]))
        status = "unknown"
        with suppress(ChildProcessError):  # not reaped yet
            status = str(os.waitstatus_to_exitcode(os.waitpid(self.pid, 0)[1]))
        raise MMMError(
            f"the fit's process ended without a result (exit status {status}; "
            "a negative status is the signal that stopped it, -9 often the system short of memory); run the command again"
        )


def _engine(
    prepare: Callable[[], Any], fit: Callable[[Any, str], tuple[Any, FitSummary]], folder: Path, orders: IO[str], replies: IO[str]
) -> NoReturn:
    """The child's part: prepare, wait for the run, fit, save; any error said on stderr as the command says it. Never returns."""
    code = 0
    try:
        try:
            prepared = prepare()
            _say(replies, {"prepared": None})
            from mmm.report.charts import start_charts  # imported while the command starts the run

            order = orders.readline()
            if order:  # else the command stopped before starting the run (the store refused): nothing to do
                model, summary = fit(prepared, json.loads(order)["run_id"])
                charts = start_charts(summary)  # a second core draws from now on
                try:
                    (folder / SUMMARY_FILE).write_text(json.dumps(summary.to_json()))
                    (folder / CONFIG_FILE).write_text(model.config.to_yaml())
                    _say(replies, {"summarised": {"channels": list(model.channels)}})  # printed while the model is written
                    model.save(folder / MODEL_FILE)
                    _say(replies, {"saved": None})
                except BaseException:
                    charts.stop()
                    raise
                images = charts.finish()
                (folder / CHARTS_FOLDER).mkdir()
                for name, png in images.items():
                    (folder / CHARTS_FOLDER / name).write_bytes(png)
                _say(replies, {"charts": {"names": list(images)}})
        except Exception as exc:
            code = say_error(exc)
            with suppress(OSError):
                _say(replies, {"failed": code})
        except BaseException:  # Ctrl-C or `kill`: the command stops too, and ends its run
            code = INTERRUPTED
        finally:
            # from here no signal may raise: an exception leaving this function would run the command's own code on
            for number in (signal.SIGINT, signal.SIGTERM):
                signal.signal(number, signal.SIG_IGN)
            with suppress(Exception):
                sys.stdout.flush()
                sys.stderr.flush()
    finally:
        os._exit(code)


def _end_with(parent: int) -> None:
    """Have the system stop this child (as `kill` does) when the command's process dies, killed outright or not (Linux)."""
    with suppress(Exception):
        import ctypes

        ctypes.CDLL(None).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    if os.getppid() != parent:  # it died before that took hold
        os._exit(INTERRUPTED)


def _say(replies: IO[str], message: dict[str, Any]) -> None:
    replies.write(json.dumps(message) + "\n")
    replies.flush()
