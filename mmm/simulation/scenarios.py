"""Simulated weekly marketing data with known truth, for the demo, the tests and the benchmarks.

Each channel's true effect is set by its ROAS: its weekly contribution is the saturated
adstock of its spend, scaled so that contribution over the whole period / spend = ROAS.
The response uses the very functions the model fits (mmm.transforms).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from mmm.core.errors import MMMError
from mmm.simulation.seasonal_media import effectiveness_by_month, true_effectiveness
from mmm.transforms import MediaTransform, lagged

# the truth: geometric carry-over and a concave Hill curve, the very components the model fits
TRUE_SATURATION = "hill"
TRUE_MEDIA = MediaTransform.from_options({"adstock": "geometric", "saturation": TRUE_SATURATION, "l_max": 8})

L_MAX = TRUE_MEDIA.l_max


@dataclass
class TrueChannel:
    """One channel's truth: ROAS, geometric decay, half-saturation (in units of mean active spend)."""

    name: str
    tier: str
    roas: float
    alpha: float
    half_saturation: float
    level: float  # mean weekly spend when active, currency
    on_share: float = 1.0  # share of weeks with spend (flighting)
    launch_week: int = 0  # first week with spend
    follows: str | None = None  # spend moves with this channel (collinearity)


@dataclass
class Scenario:
    name: str
    description: str
    weeks: int
    channels: list[TrueChannel]
    noise: float  # residual sd as a share of mean baseline revenue
    baseline: float = 100_000.0
    trend: float = 0.15  # growth of the baseline over the whole period, as a share
    # (share of the period, growth by then): the trend runs straight to this point, then straight on to `trend`
    bend: tuple[float, float] | None = None
    seasonality: float = 0.08
    price_effect: float = -0.04  # revenue change per sd of the price index, as a share of baseline
    budget_seasonality: float = 0.25  # shared yearly swing of every budget (makes channels move together)
    spend_volatility: float = 0.35  # log-sd of week-to-week spend changes
    seed: int = 7
    # (amplitude, peak day of the year): every channel's effect times exp(amplitude x cos(2 pi (day - peak) / 365.25)), averaging 1
    media_seasonality: tuple[float, int] | None = None
    # revenue, or conversions: whole counts drawn from a negative binomial around the additive mean, `noise` its
    # overdispersion; a channel's `roas` is then conversions per unit of spend (1 / its true CPA) and the
    # config values a conversion at `value_per_conversion` (currency)
    kpi: str = "revenue"
    value_per_conversion: float | None = None


SCENARIOS: dict[str, Scenario] = {
    "clean": Scenario(
        "clean",
        "3 independently planned, flighted channels, 2 years, low noise",
        104,
        [
            TrueChannel("search", "proven", 2.5, 0.3, 1.0, 12_000, on_share=0.75),
            TrueChannel("social", "test", 1.4, 0.5, 0.8, 8_000, on_share=0.75),
            TrueChannel("display", "experimental", 0.6, 0.2, 1.2, 5_000, on_share=0.75),
        ],
        noise=0.03,
        budget_seasonality=0.0,
        spend_volatility=0.5,
    ),
    "small_business": Scenario(
        "small_business",
        "a typical small business: 6 channels, 2 years, some flighted channels",
        104,
        [
            TrueChannel("search", "proven", 3.0, 0.2, 1.0, 10_000),
            TrueChannel("social", "proven", 1.8, 0.4, 0.9, 8_000),
            TrueChannel("video", "test", 1.2, 0.6, 1.2, 9_000, on_share=0.6),
            TrueChannel("affiliate", "test", 2.2, 0.1, 0.8, 3_000),
            TrueChannel("display", "experimental", 0.55, 0.3, 1.0, 2_000),
            TrueChannel("tv", "proven", 0.9, 0.7, 1.5, 20_000, on_share=0.45),
        ],
        noise=0.05,
    ),
    "hard": Scenario(
        "hard",
        "6 channels with two collinear ones (social and display move together) and one launched late",
        104,
        [
            TrueChannel("search", "proven", 2.8, 0.2, 1.0, 10_000),
            TrueChannel("social", "proven", 2.0, 0.4, 1.0, 8_000),
            TrueChannel("display", "test", 0.5, 0.3, 1.0, 6_000, follows="social"),
            TrueChannel("video", "test", 1.1, 0.6, 1.2, 9_000, on_share=0.6),
            TrueChannel("podcast", "experimental", 1.5, 0.5, 0.8, 4_000, launch_week=70),
            TrueChannel("tv", "proven", 0.8, 0.7, 1.5, 18_000, on_share=0.5),
        ],
        noise=0.07,
    ),
}
# a small business counting sign-ups: a few dozen a week, three channels with true CPAs of 40, 70 and 150
SCENARIOS["conversions"] = Scenario(
    "conversions",
    "sign-ups of a small business (about 50 a week): 3 flighted channels with true CPA 40, 70 and 150, 2 years",
    104,
    [
        TrueChannel("search", "proven", 1 / 40, 0.3, 1.0, 500, on_share=0.75),
        TrueChannel("social", "test", 1 / 70, 0.5, 0.8, 400, on_share=0.75),
        TrueChannel("display", "experimental", 1 / 150, 0.2, 1.2, 300, on_share=0.75),
    ],
    noise=0.08,
    baseline=30.0,
    budget_seasonality=0.0,
    spend_volatility=0.5,
    kpi="conversions",
    value_per_conversion=120.0,
)
# the clean business whose baseline bends: linear-trend models leave a residual trend here
SCENARIOS["bend"] = replace(
    SCENARIOS["clean"],
    name="bend",
    description="the clean scenario's 3 channels over 2 years; the baseline grows 25% in the first year, then falls back to +5%",
    trend=0.05,
    bend=(0.5, 0.25),
)
# the clean business whose media works better before Christmas: the model needs media_seasonality to see it
SCENARIOS["seasonal"] = replace(
    SCENARIOS["clean"],
    name="seasonal",
    description="the clean scenario's 3 channels over 2 years; media works about 40% better in late November than on average, 30% worse in May",
    media_seasonality=(0.35, 330),
)


def trend_share(sc: Scenario, t: np.ndarray) -> np.ndarray:
    """The baseline's true growth since the first week, as a share of `baseline`, at times t (0 first week, 1 last)."""
    if sc.bend is None:
        return sc.trend * t
    at, growth = sc.bend
    return np.interp(t, [0.0, at, 1.0], [0.0, growth, sc.trend])


def _spend_paths(sc: Scenario, rng: np.random.Generator) -> np.ndarray:
    """Weekly spend (week, channel) in currency: seasonal budgets, noise, flighting, launches."""
    weeks = np.arange(sc.weeks)
    season = 1 + sc.budget_seasonality * np.sin(2 * np.pi * weeks / 52.18 + 1.0)
    out = np.zeros((sc.weeks, len(sc.channels)))
    names = [c.name for c in sc.channels]
    for i, ch in enumerate(sc.channels):
        if ch.follows:
            leader = out[:, names.index(ch.follows)]
            path = leader / leader[leader > 0].mean() * rng.lognormal(0, 0.08, sc.weeks)
        else:
            path = season * rng.lognormal(0, sc.spend_volatility, sc.weeks)
        if ch.on_share < 1:
            # flights of 3-6 weeks on, then off, until the on-share is reached
            on = np.zeros(sc.weeks, bool)
            week = int(rng.integers(0, 4))
            while week < sc.weeks:
                length = int(rng.integers(3, 7))
                on[week : week + length] = True
                week += length + int(rng.integers(2, max(3, int(length * (1 / ch.on_share - 1)) + 3)))
            path = path * on
        path[: ch.launch_week] = 0
        out[:, i] = path / path[path > 0].mean() * ch.level
    return np.round(out, 2)


LIFT_WEEKS = 6
LIFT_GEO_SHARE = 0.25
LIFT_RELATIVE_SE = 0.2


def _true_response(scaled_spend: np.ndarray, alpha: np.ndarray, half: np.ndarray) -> np.ndarray:
    """Saturated carried-over spend (period, channel) under the true parameters."""
    return TRUE_MEDIA.response(lagged(scaled_spend, L_MAX), {"adstock_alpha": alpha, "half_saturation": half})


def _true_lift(
    spend: np.ndarray, typical: np.ndarray, alpha: np.ndarray, half: np.ndarray, coef: np.ndarray, channel: int, start: int
) -> tuple[float, np.ndarray]:
    """(spend change, true lift per period) of a geo test doubling a channel's spend in a quarter of the market
    for LIFT_WEEKS weeks, counting carry-over; the response is the scenario's true one."""
    g = LIFT_GEO_SHARE
    extra = round(g * typical[channel], 2)  # the geo's usual weekly spend, added again (in cents, as the data record it)
    treated = spend.copy()
    treated[start : start + LIFT_WEEKS, channel] += extra / g
    window = slice(start, min(start + LIFT_WEEKS + L_MAX - 1, len(spend)))
    gain = np.zeros(len(spend))
    response = _true_response(treated / typical, alpha, half) - _true_response(spend / typical, alpha, half)
    gain[window] = g * coef[channel] * response[window, channel]
    return extra * LIFT_WEEKS, gain


def scenario_of_size(weeks: int, channels: int) -> Scenario:
    """A business of any size for speed and scale checks: `channels` always-on or flighted channels over `weeks` weeks.

    Channel parameters cycle through the small-business scenario's, so effects stay realistic.
    """
    base = SCENARIOS["small_business"].channels
    made = [
        TrueChannel(f"ch{i + 1}", t.tier, t.roas, t.alpha, t.half_saturation, t.level, on_share=t.on_share)
        for i, t in ((i, base[i % len(base)]) for i in range(channels))
    ]
    return Scenario(f"size_{weeks}x{channels}", f"{channels} channels over {weeks} weeks", weeks, made, noise=0.05)


def simulate(name: str | Scenario, seed: int | None = None, lift_channels: list[str] | None = None) -> tuple[pd.DataFrame, dict, dict]:
    """Data table, truth (JSON-ready) and a ready-to-fit config (without data.path) for a scenario.

    With lift_channels, truth also holds one simulated geo lift test per channel (key
    "lift_tests"), measured with LIFT_RELATIVE_SE relative noise.
    """
    if isinstance(name, Scenario):
        sc, name = name, name.name
    elif name in SCENARIOS:
        sc = SCENARIOS[name]
    else:
        raise MMMError(f"unknown scenario '{name}'; choose one of: {', '.join(SCENARIOS)}, or geo (regions; geo_GxWxC for other sizes)")
    rng = np.random.default_rng(sc.seed if seed is None else seed)
    dates = pd.date_range("2023-01-02", periods=sc.weeks, freq="7D")
    spend = _spend_paths(sc, rng)
    typical = np.array([col[col > 0].mean() for col in spend.T])
    alpha = np.array([c.alpha for c in sc.channels])
    half = np.array([c.half_saturation for c in sc.channels])
    roas = np.array([c.roas for c in sc.channels])
    saturated = _true_response(spend / typical, alpha, half)
    if sc.media_seasonality:  # ROAS keeps its meaning: the coefficient is solved with the effectiveness in
        saturated = saturated * true_effectiveness(*sc.media_seasonality, dates)[:, None]
    coef = roas * spend.sum(axis=0) / saturated.sum(axis=0)  # currency per unit of saturated spend
    contrib = saturated * coef

    t = np.arange(sc.weeks) / (sc.weeks - 1)
    day = (dates - pd.Timestamp("1970-01-01")).days.to_numpy() / 365.25
    price = np.round(100 + np.cumsum(rng.normal(0, 0.6, sc.weeks)), 2)
    price_z = (price - price.mean()) / price.std()
    growth = trend_share(sc, t)
    base = sc.baseline * (
        1 + growth + sc.seasonality * (np.sin(2 * np.pi * day) + 0.5 * np.cos(4 * np.pi * day)) + sc.price_effect * price_z
    )
    counts = sc.kpi == "conversions"
    if counts:
        size = 1 / sc.noise**2  # the negative binomial's alpha: variance mean + mean^2 / size
        mean = base + contrib.sum(axis=1)
        revenue = rng.negative_binomial(size, size / (size + np.maximum(mean, 1e-9))).astype(float)
    else:
        noise = rng.normal(0, sc.noise * sc.baseline, sc.weeks)
        revenue = base + contrib.sum(axis=1) + noise

    names = [c.name for c in sc.channels]
    unknown = sorted(set(lift_channels or []) - set(names))
    if unknown:
        raise MMMError(f"--lifts: unknown channel(s) {', '.join(unknown)}; scenario '{name}' has {', '.join(names)}")
    recorded, tests = spend.copy(), []  # the data hold each test: its spend and its lift
    for ch_name in lift_channels or []:
        i = names.index(ch_name)
        active = np.flatnonzero(spend[:, i] > 0)
        start = int(active[len(active) // 2])  # mid-way through the channel's active periods
        start = min(start, sc.weeks - LIFT_WEEKS - L_MAX)
        change, gain = _true_lift(spend, typical, alpha, half, coef, i, start)
        recorded[start : start + LIFT_WEEKS, i] += change / LIFT_WEEKS
        revenue = revenue + (np.round(gain) if counts else gain)
        lift = float(gain.sum())
        se = LIFT_RELATIVE_SE * abs(lift)
        tests.append(
            {
                "channel": ch_name,
                "start": str(dates[start].date()),
                "end": str(dates[start + LIFT_WEEKS - 1].date()),
                "spend_change": round(change, 2),
                "lift": round(lift + rng.normal(0, se), 2),
                "lift_se": round(se, 2),
                "geo_share": LIFT_GEO_SHARE,
                "true_lift": lift,
            }
        )

    df = pd.DataFrame({"date": dates.strftime("%Y-%m-%d"), sc.kpi: revenue.astype(int) if counts else np.round(revenue, 2)})
    for i, ch in enumerate(sc.channels):
        df[f"{ch.name}_spend"] = recorded[:, i]
    df["price_index"] = price
    total = float(revenue.sum())
    truth: dict[str, Any] = {
        "scenario": name,
        "description": sc.description,
        "adstock": "geometric",
        "saturation": "hill",
        "l_max": L_MAX,
        "noise_sd": sc.noise * sc.baseline,
        "kpi": sc.kpi,
        **({"overdispersion": sc.noise, "value_per_conversion": sc.value_per_conversion} if counts else {}),
        "channels": {
            ch.name: {
                "roas": ch.roas,
                "adstock_alpha": ch.alpha,
                "half_saturation": ch.half_saturation,
                "typical_spend": float(typical[i]),
                "spend": float(spend[:, i].sum()),
                "contribution": float(contrib[:, i].sum()),
                "contribution_share": float(contrib[:, i].sum() / total),
                **({"cpa": 1 / ch.roas, "cac": 1 / ch.roas} if counts else {}),
            }
            for i, ch in enumerate(sc.channels)
        },
        "weekly": {
            "date": df["date"].tolist(),
            "baseline": base.tolist(),
            "trend": (sc.baseline * growth).tolist(),
            **{ch.name: contrib[:, i].tolist() for i, ch in enumerate(sc.channels)},
        },
    }
    if sc.media_seasonality:
        amplitude, peak = sc.media_seasonality
        truth["media_seasonality"] = {
            "amplitude": amplitude,
            "peak_day": peak,
            "by_month": effectiveness_by_month(amplitude, peak, dates[-1].year),
        }
    if tests:
        truth["lift_tests"] = tests
    config = {
        "data": {
            "path": "data.csv",
            "date_column": "date",
            "target_column": sc.kpi,
            **({"kpi": sc.kpi} if counts else {}),
            **({"value_per_conversion": sc.value_per_conversion} if sc.value_per_conversion else {}),
        },
        "channels": [{"name": c.name, "spend_column": f"{c.name}_spend", "tier": c.tier} for c in sc.channels],
        "controls": ["price_index"],
        # the true curve (without it mmm chooses one: saturation auto), and media seasonality where the truth has it
        "model": {"saturation": TRUE_SATURATION, **({"media_seasonality": True} if sc.media_seasonality else {})},
        "sampler": {"draws": 1000, "tune": 1000, "chains": 4, "seed": 1},
    }
    return df, truth, config


def write_scenario(
    name: str | Scenario, out: str | Path, seed: int | None = None, lift_channels: list[str] | None = None
) -> dict[str, Path]:
    """Write data.csv, truth.json and config.yaml (and lifts.csv with lift_channels) into `out`."""
    return write_simulation(out, *simulate(name, seed, lift_channels))


def write_simulation(out: str | Path, df: pd.DataFrame, truth: dict, config: dict) -> dict[str, Path]:
    """Write a simulation's data.csv, truth.json and config.yaml (and lifts.csv when truth holds lift tests) into `out`."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    paths = {"data": out / "data.csv", "truth": out / "truth.json", "config": out / "config.yaml"}
    df.to_csv(paths["data"], index=False)
    paths["truth"].write_text(json.dumps(truth, indent=2))
    if truth.get("lift_tests"):
        paths["lifts"] = out / "lifts.csv"
        pd.DataFrame(truth["lift_tests"]).drop(columns="true_lift").to_csv(paths["lifts"], index=False)
    paths["config"].write_text(
        f"# Simulated scenario '{truth['scenario']}': {truth['description']}. True values in truth.json.\n"
        "# model.saturation names the simulation's true curve; delete it to let mmm choose (saturation: auto).\n"
        + yaml.safe_dump(config, sort_keys=False)
    )
    return paths
