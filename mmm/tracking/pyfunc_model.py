"""The fitted model as an MLflow pyfunc model, logged as code (no pickles).

`mlflow.pyfunc.load_model(uri).predict(plan_df)` takes a spend plan (a `week` column 1..N
and one column per channel, spend in currency per period; optional control columns) and
returns the week-by-week forecast of the target: columns week, date, target_mean,
target_low, target_high (90% interval), plus the plan's incremental revenue (mean, low,
high) repeated on every row.
"""

from __future__ import annotations

import mlflow
import pandas as pd

POSTERIOR_ARTIFACT = "posterior"


class MMMForecaster(mlflow.pyfunc.PythonModel):
    """Forecasts the target for a spend plan from a fitted mmm model file (netCDF)."""

    def load_context(self, context) -> None:
        from mmm.model.estimator import MarketingMixModel

        self.model = MarketingMixModel.load(context.artifacts[POSTERIOR_ARTIFACT])

    def predict(self, context, model_input: pd.DataFrame, params=None) -> pd.DataFrame:
        from mmm.core.constants import INTERVAL_STATS
        from mmm.core.outcome import outcome_for
        from mmm.data.plans import plan_from_frame
        from mmm.planning.forecast import forecast_plan

        plan = plan_from_frame(pd.DataFrame(model_input), self.model.channels, self.model.train.control_names, "pyfunc input")
        result, _ = forecast_plan(self.model, plan.spend, plan.controls)
        out = pd.DataFrame(
            {
                "week": range(1, len(result.dates) + 1),
                "date": result.dates,
                "target_mean": result.target.mean,
                "target_low": result.target.low,
                "target_high": result.target.high,
            }
        )
        incremental = outcome_for(result.outcome).incremental
        for stat in INTERVAL_STATS:
            out[f"{incremental}_{stat}"] = getattr(result.incremental, stat)
        return out


mlflow.models.set_model(MMMForecaster())
