"""What a Ray worker runs for `mmm batch`: one config's whole `mmm fit`, its chatter kept out of the worker's log."""

from __future__ import annotations

import io
import socket
import time
from contextlib import redirect_stderr, redirect_stdout

from mmm.cli.common import error_message, quiet_libraries
from mmm.cli.fitting import FitRequest, fit_config
from mmm.report.batch import BatchRun
from mmm.tracking.credentials import Credentials


def fit_one(request: FitRequest, shown: str, credentials: Credentials) -> BatchRun:
    """Fit `request` as `mmm fit` would, with the caller's tracking credentials set only while it runs.

    Never raises for a failed fit: the failure is the returned entry (FAILED, with the reason, any
    password masked), and the MLflow run, when it got that far, ends FAILED and tagged `mmm.error`.
    `shown` is the config as the caller typed it.
    """
    from mmm.tracking.runs import resolve_tracking_uri
    from mmm.tracking.store import note_failure

    quiet_libraries()
    started = time.perf_counter()
    run_ids: list[str] = []
    chatter = io.StringIO()  # the fit's tables and stage notes: the caller prints the batch's own lines
    with credentials.applied():
        try:
            with redirect_stdout(chatter), redirect_stderr(chatter):
                summary = fit_config(request, on_run=run_ids.append)
        except Exception as exc:
            failed = failed_run(shown, exc, time.perf_counter() - started, credentials, run_ids[0] if run_ids else None)
            if failed.run_id is not None:
                note_failure(failed.run_id, resolve_tracking_uri(request.tracking_uri), failed.error or "")
            return failed
    return BatchRun(
        config=shown,
        run_id=summary.run_id,
        status="FINISHED",
        error=None,
        fit_seconds=time.perf_counter() - started,
        converged=summary.diagnostics.converged,
        review=summary.review.status if summary.review is not None else None,
        node=socket.gethostname(),
    )


def failed_run(shown: str, exc: Exception, seconds: float, credentials: Credentials, run_id: str | None = None) -> BatchRun:
    """The entry of a config that failed with `exc` after `seconds`: the reason in the CLI's words, secrets masked."""
    message = error_message(exc) or f"the fit stopped with {type(exc).__name__}: {exc}"
    return BatchRun(
        config=shown, run_id=run_id, status="FAILED", error=credentials.scrub(message), fit_seconds=seconds, node=socket.gethostname()
    )
