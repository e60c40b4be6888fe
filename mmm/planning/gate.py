"""Only a model that passed its health review advises a plan, unless the planner forces it."""

from __future__ import annotations

from mmm.core.errors import ModelHealthError
from mmm.core.review import Review, ReviewVerdict


def admit(review: Review, run_id: str, force: bool = False) -> ReviewVerdict:
    """The verdict a plan records; raises ModelHealthError for a FAIL review unless `force`.

    The error names each failed check with what to do, so the planner knows what to fix.
    """
    failed = review.with_status("FAIL")
    if failed and not force:
        reasons = "; ".join(f"{c.name}: {c.message}" for c in failed)
        raise ModelHealthError(
            f"the model of run '{run_id}' failed its health review, so it is not fit to advise a plan. {reasons} "
            "Fix these and refit (see `mmm review --run-id RUN`), or pass --force to plan with it anyway (the override is recorded in the run)."
        )
    return ReviewVerdict(status=review.status, score=review.score, failed_checks=[c.name for c in failed], forced=bool(failed))
