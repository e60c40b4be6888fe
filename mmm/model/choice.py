"""The typed result of choosing a model's adstock and saturation from the data (no sampler needed to read it)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict

CRITERION = "PSIS-LOO"


class CandidateScore(BaseModel):
    """One candidate form and how well it predicts periods left out (higher elpd_loo is better).

    elpd_loo: expected log predictive density under PSIS leave-one-out, with its standard error;
    elpd_diff / diff_se: how far behind the best candidate, and the standard error of that gap;
    p_loo: effective number of parameters; bad_pareto_k: periods whose LOO estimate is unreliable (k > 0.7);
    holdout_mape: error on the held-out last periods (fraction), when some were held out.
    """

    model_config = ConfigDict(frozen=True)

    adstock: str
    saturation: str
    elpd_loo: float
    se: float
    elpd_diff: float
    diff_se: float
    p_loo: float
    weight: float
    bad_pareto_k: int
    holdout_mape: float | None
    fit_seconds: float
    chosen: bool

    @property
    def label(self) -> str:
        return f"{self.adstock} + {self.saturation}"


class ModelChoice(BaseModel):
    """The candidates compared, best first, the form chosen and why in one sentence."""

    model_config = ConfigDict(frozen=True)

    criterion: str = CRITERION
    candidates: list[CandidateScore]
    adstock: str
    saturation: str
    reason: str
    seconds: float

    def to_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json")
