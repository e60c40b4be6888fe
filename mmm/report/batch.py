"""What `mmm batch` reports: one typed entry per config, printed as a progress line, a table and JSON."""

from __future__ import annotations

from typing import Literal

from mmm.core.results import Result
from mmm.report.formatting import table


class BatchRun(Result):
    """The outcome of fitting one config of a batch.

    `fit_seconds` is the wall time the worker spent on the config (reading, fitting, logging), in
    seconds; `error` says why a FAILED config failed; `run_id` is null when it failed before its
    MLflow run was created (bad config or data). `converged` and `review` come from the fit's summary.
    """

    config: str
    run_id: str | None
    status: Literal["FINISHED", "FAILED"]
    error: str | None
    fit_seconds: float
    converged: bool | None = None
    review: str | None = None
    node: str | None = None  # the machine that fitted it


class BatchResult(Result):
    """Every config of a batch, in the order given."""

    runs: list[BatchRun]

    @property
    def failed(self) -> list[BatchRun]:
        return [r for r in self.runs if r.status == "FAILED"]


def format_batch_line(run: BatchRun, done: int, total: int) -> str:
    """The progress line printed as each fit finishes: '[2/5] FINISHED a.yaml: run 6b96... (41 s)'."""
    head = f"[{done}/{total}] {run.status} {run.config}"
    if run.status == "FAILED":
        where = f" (run {run.run_id}, marked FAILED)" if run.run_id else ""
        return f"{head}{where} after {run.fit_seconds:.0f} s: {_indented(run.error)}"
    return f"{head}: run {run.run_id} in {run.fit_seconds:.0f} s"


def format_batch_table(result: BatchResult) -> str:
    """One row per config: status, run id, seconds, convergence, health review; then each failure's reason."""
    yes_no = {True: "yes", False: "NO", None: "-"}
    rows = [
        [r.config, r.status, r.run_id or "-", f"{r.fit_seconds:.1f}", yes_no[r.converged], r.review or "-", r.node or "-"]
        for r in result.runs
    ]
    lines = table(["config", "status", "run id", "seconds", "converged", "review", "node"], rows, left=3)
    failed = result.failed
    lines.append("")
    lines.append(f"{len(result.runs) - len(failed)} of {len(result.runs)} configs fitted" + (f"; {len(failed)} FAILED:" if failed else "."))
    lines.extend(f"  {r.config}: {_indented(r.error)}" for r in failed)
    return "\n".join(lines)


def _indented(text: str | None) -> str:
    """A message of several lines (a config's invalid keys) kept under its entry."""
    return "\n    ".join((text or "").splitlines())
