"""Meridian's side of scripts/bench_scale: Google Meridian fitting one long-format data file with its defaults.

Runs in the benchmark's own environment (.bench/meridian), never in mmm's. Reads a job file (JSON,
written by bench_scale.py: data path, columns, channels, controls, sampler settings, output path) and
writes the output JSON: Meridian's version, sampling seconds, max R-hat over its parameters,
divergences, and each channel's ROI (posterior mean and 90% interval) over all regions and, with a
geo column, per region. Spend is used as the media exposure (the data hold no impressions); a channel
bought nationally (its national total on every region's row) is split to the regions by population
share, as mmm does. Model: `ModelSpec()` defaults (ROI prior, Hill after adstock, knots by default; with a nationally
bought channel on geo data one knot fewer than periods, the smallest change Meridian accepts).
"""

from __future__ import annotations

import json
import sys
import time
import warnings

warnings.filterwarnings("ignore")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from meridian.analysis import analyzer  # noqa: E402
from meridian.data.data_frame_input_data_builder import DataFrameInputDataBuilder  # noqa: E402
from meridian.model import model, spec  # noqa: E402
from meridian.version import __version__  # noqa: E402

LOW, HIGH = 0.05, 0.95  # the 90% interval


def load(job: dict) -> tuple[pd.DataFrame, list[str], list[str]]:
    """The data with national channels split to regions; the spend columns and channel names in order."""
    df = pd.read_csv(job["data"])
    geo, pop = job["geo_column"], job["population_column"]
    names = list(job["channels"])
    columns = [job["channels"][n] for n in names]
    for name in job["national_channels"]:
        col = job["channels"][name]
        share = df[pop] / df.groupby(job["date_column"])[pop].transform("sum") if pop else 1 / df[geo].nunique()
        total = df.groupby(job["date_column"])[col].transform("max")  # the national figure of each date
        df[col] = total * share
    return df, columns, names


def interval(draws: np.ndarray) -> dict[str, float]:
    """Mean and 90% interval of draws flattened over (chain, draw)."""
    flat = draws.reshape(-1)
    return {"mean": float(flat.mean()), "low": float(np.quantile(flat, LOW)), "high": float(np.quantile(flat, HIGH))}


def main(job_path: str) -> None:
    with open(job_path) as f:
        job = json.load(f)
    df, columns, names = load(job)
    geo = job["geo_column"]
    builder = DataFrameInputDataBuilder(
        kpi_type="revenue",
        default_time_column=job["date_column"],
        default_kpi_column=job["target_column"],
        default_geo_column=geo or "geo",
    )
    builder = builder.with_kpi(df).with_media(df, columns, columns, names)
    if job["controls"]:
        builder = builder.with_controls(df, job["controls"])
    if geo and job["population_column"]:
        builder = builder.with_population(df, population_col=job["population_column"])
    data = builder.build()
    # Meridian's default for geo data is one knot per period, which it refuses when a channel is bought nationally
    # (the same in every geo, so collinear with time): one knot fewer is the smallest change it accepts
    knots = len(data.time) - 1 if geo and job["national_channels"] else None
    mmm = model.Meridian(input_data=data, model_spec=spec.ModelSpec(knots=knots))
    start = time.perf_counter()
    mmm.sample_posterior(n_chains=job["chains"], n_adapt=job["n_adapt"], n_burnin=job["n_burnin"], n_keep=job["n_keep"], seed=job["seed"])
    sample_seconds = time.perf_counter() - start
    a = analyzer.Analyzer(mmm)
    rhat = a.get_rhat()
    max_rhat = max(float(np.nanmax(np.asarray(v))) for v in rhat.values())
    stats = mmm.inference_data.sample_stats
    roi = np.asarray(a.roi())  # (chain, draw, channel)
    out = {
        "version": __version__,
        "sample_seconds": sample_seconds,
        "max_rhat": max_rhat,
        "divergences": int(np.asarray(stats["diverging"]).sum()) if "diverging" in stats else 0,
        "roi": {n: interval(roi[..., i]) for i, n in enumerate(names)},
    }
    if geo:
        by_geo = np.asarray(a.roi(aggregate_geos=False))  # (chain, draw, geo, channel)
        geos = [str(g) for g in data.geo.values]
        out["geo_roi"] = {f"{g}/{n}": interval(by_geo[:, :, j, i]) for j, g in enumerate(geos) for i, n in enumerate(names)}
    with open(job["output"], "w") as f:
        json.dump(out, f)


if __name__ == "__main__":
    main(sys.argv[1])
