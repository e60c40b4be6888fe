"""Run a designed test on a simulated business: the weeks after the data, with the test applied, from the true model.

The business carries on as usual after the data (each channel at its mean weekly spend of the last
BAU_WEEKS weeks; the baseline's trend, seasonality and price index continue; noise as in the data),
except that over the design's dates the design's channel is switched off (`holdout`: it would have
spent what the design withholds, -spend_change / its weeks, as the plan had it) or raised by
spend_change / its weeks (`scale_up`). The data are extended to the end of the test's carry-over
(l_max - 1 weeks after it). The measured lift is the outcome over the test and its carry-over minus
what those weeks would have brought without the test: the true lift plus those weeks' noise (the
simulation knows the counterfactual; a real time-based test gets it from a forecast or control
regions), so its standard error is the noise sd x sqrt(weeks measured), as `mmm plan-test` states.

The row states the test as it ran, as the lift-test file reads a test the data hold: a holdout's
spend_change and lift are negative (the spend withheld, the revenue lost), a scale-up's positive.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from mmm.core.errors import MMMError
from mmm.data.reading import read_date
from mmm.simulation.scenarios import L_MAX, SCENARIOS, _true_response, simulate, trend_share

BAU_WEEKS = 13
REALISE_SEED_OFFSET = 1_000_003  # the test's noise is drawn apart from the data's


def read_design(path: str | Path, geo: bool = False) -> dict[str, Any]:
    """The design to run: one design object, or the best design of a `mmm plan-test` JSON that the scenario can
    run (a geo design on a `geo` scenario, else a holdout or scale-up)."""
    path = Path(path)
    try:
        raw = json.loads(path.read_text())
    except FileNotFoundError:
        raise MMMError(f"{path}: test design file not found; write one with `mmm plan-test --output-json`") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise MMMError(f"{path}: not a JSON test design ({exc})") from None
    if isinstance(raw, dict) and "designs" in raw:
        if not raw["designs"]:
            raise MMMError(f"{path}: key 'designs' holds no design; `mmm plan-test` found no test worth running")
        runnable = [d for d in raw["designs"] if isinstance(d, dict) and (d.get("kind") == "geo") == geo]
        if not runnable:
            wanted = "geo design" if geo else "holdout or scale_up design"
            raise MMMError(f"{path}: key 'designs' holds no {wanted}, which this scenario needs; write one with `mmm plan-test`")
        raw = runnable[0]
    needed = ("channel", "kind", "start", "end", "spend_change")
    missing = [k for k in needed if not isinstance(raw, dict) or k not in raw]
    if missing:
        raise MMMError(
            f"{path}: the design lacks {', '.join(missing)}; a design needs {', '.join(needed)} (as `mmm plan-test` writes them)"
        )
    if raw["kind"] not in ("holdout", "scale_up", "geo"):
        raise MMMError(f"{path}, key 'kind': '{raw['kind']}' is not a test mmm runs; use a holdout, scale_up or geo design")
    for key in ("start", "end"):
        raw[key] = str(read_date(raw[key], f"{path}, key '{key}'").date())
    change = raw["spend_change"]
    if isinstance(change, bool) or not isinstance(change, int | float) or not np.isfinite(change):
        raise MMMError(
            f"{path}, key 'spend_change': {change!r} is not a number; give the spend the test adds (negative: removes), currency"
        )
    if (change < 0) != (raw["kind"] != "scale_up") or change == 0:
        sign = "positive (the spend it adds)" if raw["kind"] == "scale_up" else "negative (the spend it withholds)"
        raise MMMError(f"{path}, key 'spend_change': a {raw['kind']} design's change is {sign}, not {change:,.2f}")
    if not isinstance(raw["channel"], str):
        raise MMMError(f"{path}, key 'channel': {raw['channel']!r} is not a channel name; give one name, e.g. \"search\"")
    treated = raw.get("treated_geos")
    if treated is not None and (not isinstance(treated, list) or not all(isinstance(g, str) for g in treated)):
        raise MMMError(f'{path}, key \'treated_geos\': {treated!r} is not a list of region names; write e.g. ["north", "west"]')
    return raw


class DesignError(MMMError):
    """A design that does not fit the scenario it is run on; the message starts with the design's key at fault."""


def schedule(design: dict[str, Any], last: pd.Timestamp) -> tuple[pd.Timestamp, pd.Timestamp, int, int, int]:
    """(start, end, first, test_weeks, extra) of a design after data ending `last`: `first` is the week after the data
    it starts in (1: right after), `extra` the weeks to add to the data, through its carry-over."""
    start, end = pd.Timestamp(design["start"]), pd.Timestamp(design["end"])
    if end < start:
        raise DesignError(f"keys 'start', 'end': the design ends ({design['end']}) before it starts ({design['start']}); swap them")
    if start <= last:
        raise DesignError(
            f"keys 'start', 'end': the design runs {design['start']} to {design['end']}; a test runs after the data, which end {last.date()}"
        )
    for key, day in (("start", start), ("end", end)):
        if (day - last).days % 7:
            raise DesignError(
                f"key '{key}': {day.date()} is not a period of the data, whose weeks start on {last.day_name()}s "
                f"(the last on {last.date()}); give the first day of a week"
            )
    first = int((start - last).days // 7)
    test_weeks = int((end - start).days // 7) + 1
    return start, end, first, test_weeks, first - 1 + test_weeks + L_MAX - 1


def realise_design(name: str, design: dict[str, Any], seed: int | None = None) -> tuple[pd.DataFrame, dict[str, Any], dict[str, Any]]:
    """(extended data, the lift-file row with the true lift added as `true_lift`, truth) for a design on scenario `name`."""
    sc = SCENARIOS.get(name)
    if sc is None:
        raise MMMError(f"unknown scenario '{name}'; choose one of: {', '.join(SCENARIOS)}")
    if sc.kpi != "revenue":
        raise MMMError(f"scenario '{name}' counts {sc.kpi}; tests are simulated on revenue scenarios only")
    if design["kind"] == "geo":
        raise MMMError(f"a geo design treats regions: run it on a geo scenario (geo or geo_GxWxC), not on '{name}'")
    df, truth, _ = simulate(name, seed)
    names = [c.name for c in sc.channels]
    if design["channel"] not in names:
        raise DesignError(
            f"key 'channel': the design tests '{design['channel']}', which scenario '{name}' does not have ({', '.join(names)})"
        )
    dates = pd.to_datetime(df["date"])
    start, end, first, test_weeks, extra = schedule(design, dates.iloc[-1])
    n = len(df)
    new_dates = pd.date_range(dates.iloc[-1] + pd.Timedelta(days=7), periods=extra, freq="7D")
    rng = np.random.default_rng((sc.seed if seed is None else seed) + REALISE_SEED_OFFSET)

    spend_cols = [f"{c}_spend" for c in names]
    history = df[spend_cols].to_numpy(float)
    usual = np.tile(history[-BAU_WEEKS:].mean(axis=0), (extra, 1))
    c = names.index(design["channel"])
    window = np.arange(n + first - 1, n + first - 1 + test_weeks)  # the test's weeks in the extended table
    untreated = np.vstack([history, usual])
    change = float(design["spend_change"]) / test_weeks
    if design["kind"] == "holdout":
        untreated[window, c] = -change  # the plan's spend, which the test withholds
    untreated = np.round(untreated, 2)
    treated = untreated.copy()
    treated[window, c] = 0.0 if design["kind"] == "holdout" else np.round(untreated[window, c] + change, 2)

    tc = [truth["channels"][k] for k in names]
    typical = np.array([t["typical_spend"] for t in tc])
    alpha = np.array([t["adstock_alpha"] for t in tc])
    half = np.array([t["half_saturation"] for t in tc])
    coef = np.array([t["contribution"] for t in tc]) / _true_response(history / typical, alpha, half).sum(axis=0)
    with_test = _true_response(treated / typical, alpha, half) * coef
    without = _true_response(untreated / typical, alpha, half) * coef

    t = np.arange(n, n + extra) / (n - 1)
    day = (new_dates - pd.Timestamp("1970-01-01")).days.to_numpy() / 365.25
    price_old = df["price_index"].to_numpy(float)
    price = np.round(price_old[-1] + np.cumsum(rng.normal(0, 0.6, extra)), 2)
    price_z = (price - price_old.mean()) / price_old.std()
    base = sc.baseline * (
        1 + trend_share(sc, t) + sc.seasonality * (np.sin(2 * np.pi * day) + 0.5 * np.cos(4 * np.pi * day)) + sc.price_effect * price_z
    )
    noise = rng.normal(0, sc.noise * sc.baseline, extra)
    revenue = base + with_test[n:].sum(axis=1) + noise

    new = pd.DataFrame({"date": new_dates.strftime("%Y-%m-%d"), "revenue": np.round(revenue, 2)})
    for i, col in enumerate(spend_cols):
        new[col] = treated[n:, i]
    new["price_index"] = price
    extended = pd.concat([df, new[df.columns]], ignore_index=True)

    measured = np.arange(window[0], n + extra)  # the test and its carry-over
    true_lift = float((with_test - without)[measured, c].sum())
    row = {
        "channel": design["channel"],
        "start": str(start.date()),
        "end": str(end.date()),
        "spend_change": round(float((treated - untreated)[window, c].sum()), 2),
        "lift": round(true_lift + float(noise[measured - n].sum()), 2),
        "lift_se": round(sc.noise * sc.baseline * float(np.sqrt(len(measured))), 2),
        "geo_share": 1.0,
        "true_lift": true_lift,
    }
    truth["test"] = {"design": design, "result": row, "weeks_added": extra}
    return extended, row, truth


def write_realised(name: str, out: str | Path, design_path: str | Path, seed: int | None = None) -> dict[str, Path]:
    """Realise the design in `design_path` on scenario `name` and write data.csv (extended), lifts.csv (the
    test's row), truth.json and config.yaml into `out`."""
    from mmm.simulation.geo_experiments import realise_geo_design
    from mmm.simulation.geo_scenarios import is_geo_scenario, simulate_geo

    geo = is_geo_scenario(name)
    design = read_design(design_path, geo)
    try:
        extended, row, truth = (realise_geo_design if geo else realise_design)(name, design, seed)
    except DesignError as exc:
        raise MMMError(f"{design_path}, {exc}") from None
    _, _, config = (simulate_geo if geo else simulate)(name, seed)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    paths = {"data": out / "data.csv", "truth": out / "truth.json", "config": out / "config.yaml", "lifts": out / "lifts.csv"}
    extended.to_csv(paths["data"], index=False)
    pd.DataFrame([{k: v for k, v in row.items() if k != "true_lift"}]).to_csv(paths["lifts"], index=False)
    paths["truth"].write_text(json.dumps(truth, indent=2))
    paths["config"].write_text(
        f"# Simulated scenario '{name}' with the test of {row['channel']} ({design['kind']}, {row['start']} to {row['end']}) "
        "run after the data; true values in truth.json.\n# Calibrate with: mmm fit config.yaml --lifts lifts.csv\n"
        + yaml.safe_dump(config, sort_keys=False)
    )
    return paths
