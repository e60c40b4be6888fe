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
        from mmm.estimator import MarketingMixModel

        self.model = MarketingMixModel.load(context.artifacts[POSTERIOR_ARTIFACT])

    def predict(self, context, model_input: pd.DataFrame, params=None) -> pd.DataFrame:
        from mmm.planning import forecast_plan
        from mmm.plans import plan_from_frame

        plan = plan_from_frame(pd.DataFrame(model_input), self.model.channels, self.model.data.control_names, "pyfunc input")
        result = forecast_plan(self.model, plan.spend, plan.controls)
        out = pd.DataFrame(
            {
                "week": range(1, len(result["dates"]) + 1),
                "date": result["dates"],
                "target_mean": result["target"]["mean"],
                "target_low": result["target"]["low"],
                "target_high": result["target"]["high"],
            }
        )
        for stat in ("mean", "low", "high"):
            out[f"incremental_revenue_{stat}"] = result["incremental_revenue"][stat]
        return out


mlflow.models.set_model(MMMForecaster())
