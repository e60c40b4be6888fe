"""The shape of a review: named checks with a status, a value, its threshold and plain advice.

Used by the data checks of `mmm validate` and by the health review of every fit, so both print,
log and write JSON the same way: `{"status", "score", "checks": [{"name", "status", "value",
"threshold", "message"}]}`.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

from mmm.core.results import Result

Status = Literal["PASS", "REVIEW", "FAIL"]
STATUSES: tuple[Status, ...] = ("PASS", "REVIEW", "FAIL")  # from best to worst
_POINTS: dict[str, float] = {"PASS": 1.0, "REVIEW": 0.5, "FAIL": 0.0}


class Check(BaseModel):
    """One check: its status, the measured value and the threshold it was held to, and what it means and what to do."""

    model_config = ConfigDict(frozen=True, extra="allow")

    name: str
    status: Status
    value: float | None
    threshold: float | None
    message: str


class Review(Result):
    """Checks and their overall verdict: the worst status among them and a 0-100 score (PASS 1, REVIEW 1/2, FAIL 0 each)."""

    status: Status
    score: int
    checks: list[Check]

    @classmethod
    def of(cls, checks: list[Check]) -> Review:
        worst = max((STATUSES.index(c.status) for c in checks), default=0)
        score = round(100 * sum(_POINTS[c.status] for c in checks) / len(checks)) if checks else 100
        return cls(status=STATUSES[worst], score=score, checks=checks)

    def with_status(self, status: Status) -> list[Check]:
        """The checks that came out with this status."""
        return [c for c in self.checks if c.status == status]


def worst(*statuses: Status) -> Status:
    """The worst of several statuses (FAIL over REVIEW over PASS)."""
    return STATUSES[max(STATUSES.index(s) for s in statuses)]


class ReviewVerdict(BaseModel):
    """What a plan records of its model's review: status, score, the failed checks and whether --force overrode them."""

    model_config = ConfigDict(frozen=True)

    status: Status
    score: int
    failed_checks: list[str]
    forced: bool
