"""The peer's side of scripts/bench_speed: PyMC-Marketing 1.3 + nutpie fitting one data file.

Runs in the benchmark's own Python 3.12 environment (.bench/peer), never in mmm's. Model shape
matched to mmm's benchmark: geometric adstock (l_max 8), logistic saturation, yearly
seasonality of order 2, the price control; 4 chains x 1000 draws after 1000 tuning steps.
Prints one JSON line: version, fit seconds (the `fit` call), wall seconds (imports included),
max R-hat, divergences, minimum bulk ESS per sampling second.
"""

from __future__ import annotations

import json
import sys
import time
import warnings

start = time.perf_counter()
warnings.filterwarnings("ignore")

import arviz as az  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pymc_marketing  # noqa: E402
from pymc_marketing.mmm import MMM, GeometricAdstock, LogisticSaturation  # noqa: E402


def main(path: str) -> None:
    df = pd.read_csv(path, parse_dates=["date"])
    channels = [c for c in df.columns if c.endswith("_spend")]
    model = MMM(
        date_column="date",
        channel_columns=channels,
        target_column="revenue",
        control_columns=["price_index"],
        adstock=GeometricAdstock(l_max=8),
        saturation=LogisticSaturation(),
        yearly_seasonality=2,
    )
    features, target = df.drop(columns="revenue"), df["revenue"]
    fit_start = time.perf_counter()
    idata = model.fit(features, target, chains=4, draws=1000, tune=1000, nuts_sampler="nutpie", random_seed=1, progressbar=False)
    fit_seconds = time.perf_counter() - fit_start
    posterior = idata["posterior"].to_dataset() if hasattr(idata["posterior"], "to_dataset") else idata.posterior
    stats = idata["sample_stats"].to_dataset() if hasattr(idata["sample_stats"], "to_dataset") else idata.sample_stats
    names = [rv.name for rv in model.model.free_RVs]
    rhat = az.rhat(posterior[names])
    ess = az.ess(posterior[names])
    out = {
        "version": pymc_marketing.__version__,
        "fit_seconds": fit_seconds,
        "wall_seconds": time.perf_counter() - start,
        "max_rhat": float(max(np.nanmax(rhat[v].values) for v in names)),
        "divergences": int(stats["diverging"].sum()),
        "ess_per_second": float(min(np.nanmin(ess[v].values) for v in names)) / fit_seconds,
    }
    print(json.dumps(out))


if __name__ == "__main__":
    main(sys.argv[1])
