"""Simulated weekly data by region (geo) with known truth, for tests, the geo model and the scale benchmark.

Regions differ in size: populations drawn from a log-normal, each region's baseline revenue in
proportion to its population (with its own growth, seasonal amplitude and price response). Each
channel has a national ROAS; each region's ROAS is drawn around it on the log scale (the hierarchy
the geo model estimates), and its weekly contribution is the saturated adstock of the region's spend,
scaled so that its contribution / spend over the whole period is that regional ROAS. Carry-over and
saturation (in units of the region's own typical spend) are shared by all regions. Regional spend
follows the national budget with regional variation; `tv` is bought nationally: the data hold its
national total on every region's row, and the region's spend is that total times its population
share (what `mmm.data.geo` does when it reads the file). Noise is per region, relatively larger in
smaller regions. The national truth of a channel is the sum over regions: ROAS = contribution / spend.

Scenario names: `geo` (6 regions x 104 weeks x 4 channels), or `geo_GxWxC` for G regions, W weeks
and C channels (`geo_20x104x5`, `geo_40x156x5`: the shapes of the scale benchmark).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mmm.core.errors import MMMError
from mmm.simulation.geo_lifts import lift_tests
from mmm.simulation.scenarios import (
    L_MAX,
    TRUE_SATURATION,
    Scenario,
    TrueChannel,
    _spend_paths,
    _true_response,
    write_simulation,
)

GEO_SCENARIO = "geo"
_SHAPE = re.compile(r"geo_(\d+)x(\d+)x(\d+)")
DEFAULT_SHAPE = (6, 104, 4)  # regions, weeks, channels of the scenario `geo`
MAX_SHAPE = (200, 520, 20)
# national channels: name, tier, ROAS, decay, half-saturation, national weekly spend when active (currency), share of weeks on
_CHANNELS = [
    TrueChannel("search", "proven", 2.6, 0.2, 1.0, 60_000),
    TrueChannel("social", "proven", 1.7, 0.4, 0.9, 40_000),
    TrueChannel("tv", "proven", 1.0, 0.6, 1.4, 120_000, on_share=0.55),
    TrueChannel("video", "test", 1.2, 0.5, 1.2, 45_000, on_share=0.7),
    TrueChannel("display", "experimental", 0.6, 0.3, 1.0, 15_000),
    TrueChannel("affiliate", "test", 2.0, 0.1, 0.8, 20_000),
]
NATIONAL_CHANNELS = ("tv",)  # bought nationally: one spend series, split by population
POPULATION = 60_000_000  # people in all regions together
POPULATION_SPREAD = 0.8  # log-sd of region sizes
GEO_ROAS_SPREAD = 0.25  # log-sd of a region's ROAS around the channel's
GEO_SPEND_SPREAD = 0.3  # log-sd of a region's weekly spend around its population share of the national budget
BASELINE_MULTIPLE = 3.0  # national baseline revenue per week as a multiple of the channels' expected weekly contribution
NOISE = 0.04  # residual sd as a share of an average-sized region's mean baseline
SEED = 11


@dataclass(frozen=True)
class GeoShape:
    """The size of a geo scenario: regions, weeks and channels."""

    geos: int
    weeks: int
    channels: int

    @property
    def name(self) -> str:
        return GEO_SCENARIO if (self.geos, self.weeks, self.channels) == DEFAULT_SHAPE else f"geo_{self.geos}x{self.weeks}x{self.channels}"


def is_geo_scenario(name: str) -> bool:
    """Whether `name` is a geo scenario name (`geo` or `geo_GxWxC`)."""
    return name == GEO_SCENARIO or bool(_SHAPE.fullmatch(name))


def geo_shape(name: str) -> GeoShape:
    """The shape a geo scenario name stands for; MMMError when the name or its sizes are out of range."""
    if name == GEO_SCENARIO:
        return GeoShape(*DEFAULT_SHAPE)
    match = _SHAPE.fullmatch(name)
    if not match:
        raise MMMError(f"unknown geo scenario '{name}'; use 'geo' or geo_GxWxC, e.g. geo_20x104x5 (20 regions, 104 weeks, 5 channels)")
    shape = GeoShape(*(int(v) for v in match.groups()))
    low, high = (2, 30, 1), MAX_SHAPE
    for what, value, lo, hi in zip(("regions", "weeks", "channels"), (shape.geos, shape.weeks, shape.channels), low, high):
        if not lo <= value <= hi:
            raise MMMError(f"scenario '{name}': {value} {what} is out of range; use {lo} to {hi} {what}")
    return shape


def _channels(count: int) -> list[TrueChannel]:
    """The first `count` channels, cycling through _CHANNELS with a number added to repeated names."""
    out = []
    for i in range(count):
        base = _CHANNELS[i % len(_CHANNELS)]
        suffix = "" if i < len(_CHANNELS) else str(i // len(_CHANNELS) + 1)
        out.append(
            TrueChannel(base.name + suffix, base.tier, base.roas, base.alpha, base.half_saturation, base.level, on_share=base.on_share)
        )
    return out


def _populations(rng: np.random.Generator, geos: int) -> np.ndarray:
    """People per region (geo,), largest first, adding up to about POPULATION."""
    sizes = np.sort(rng.lognormal(0.0, POPULATION_SPREAD, geos))[::-1]
    return np.round(sizes / sizes.sum() * POPULATION)


@dataclass
class GeoWorld:
    """Everything a geo scenario drew: its regions, channels, spend (week, geo, channel), true effects and baseline."""

    shape: GeoShape
    channels: list[TrueChannel]
    national: np.ndarray  # (channel,) bought nationally
    geos: list[str]
    population: np.ndarray
    dates: pd.DatetimeIndex
    budget: np.ndarray  # national spend (week, channel)
    spend: np.ndarray  # (week, geo, channel)
    roas: np.ndarray  # (geo, channel) true regional ROAS
    typical: np.ndarray  # (geo, channel) mean weekly spend in weeks with spend
    contrib: np.ndarray  # (week, geo, channel)
    level: float
    growth: np.ndarray  # (geo,)
    amplitude: np.ndarray
    price: np.ndarray  # (week, geo)
    price_effect: np.ndarray
    base: np.ndarray  # (week, geo)
    noise_sd: np.ndarray
    revenue: np.ndarray  # (week, geo)
    rng: np.random.Generator  # where the draws continue

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.channels]

    @property
    def share(self) -> np.ndarray:
        """Each region's share of the population (geo,)."""
        return self.population / self.population.sum()

    @property
    def alpha(self) -> np.ndarray:
        return np.array([c.alpha for c in self.channels])

    @property
    def half(self) -> np.ndarray:
        return np.array([c.half_saturation for c in self.channels])

    def baseline(self, dates: pd.DatetimeIndex, price: np.ndarray) -> np.ndarray:
        """(week, geo) baseline revenue at these dates and price indexes: growth, seasonality, price response."""
        weeks = len(self.dates)
        t = ((dates - self.dates[0]).days.to_numpy() / 7) / (weeks - 1)
        day = (dates - pd.Timestamp("1970-01-01")).days.to_numpy() / 365.25
        season = np.sin(2 * np.pi * day) + 0.5 * np.cos(4 * np.pi * day)
        price_z = (price - self.price.mean()) / self.price.std()
        return self.level * self.share * (1 + self.growth * t[:, None] + self.amplitude * season[:, None] + self.price_effect * price_z)

    def contributions(self, spend: np.ndarray) -> np.ndarray:
        """(week, geo, channel) true contribution of spend (week, geo, channel) whose first weeks are the data's."""
        out = np.stack([self.region_contribution(g, spend[:, g, :]) for g in range(len(self.geos))], axis=1)
        assert np.allclose(out[: len(self.dates)], self.contrib)
        return out

    def region_contribution(self, g: int, spend: np.ndarray) -> np.ndarray:
        """(week, channel) true contribution of region g's spend (week, channel), at the region's true ROAS over its history."""
        history = _true_response(self.spend[:, g, :] / self.typical[g], self.alpha, self.half)
        coef = self.roas[g] * self.spend[:, g, :].sum(axis=0) / history.sum(axis=0)
        return _true_response(spend / self.typical[g], self.alpha, self.half) * coef


def geo_world(name: str, seed: int | None = None) -> GeoWorld:
    """Draw a geo scenario's regions, spend, true effects and baseline."""
    shape = geo_shape(name)
    rng = np.random.default_rng(SEED if seed is None else seed)
    channels = _channels(shape.channels)
    national = np.array([c.name in NATIONAL_CHANNELS for c in channels])
    n_geos, weeks = shape.geos, shape.weeks
    geos = [f"region_{i + 1:02d}" for i in range(n_geos)]
    population = _populations(rng, n_geos)
    share = population / population.sum()
    dates = pd.date_range("2023-01-02", periods=weeks, freq="7D")

    # spend (week, geo, channel): the national budget's path, split by population with regional variation
    budget = _spend_paths(Scenario(shape.name, "", weeks, channels, noise=NOISE), rng)  # national totals (week, channel)
    spread = rng.lognormal(-(GEO_SPEND_SPREAD**2) / 2, GEO_SPEND_SPREAD, (weeks, n_geos, len(channels)))
    spread[:, :, national] = 1.0
    spend = budget[:, None, :] * share[None, :, None] * spread
    spend[:, :, ~national] = np.round(spend[:, :, ~national], 2)

    alpha = np.array([c.alpha for c in channels])
    half = np.array([c.half_saturation for c in channels])
    center = np.array([c.roas for c in channels])
    roas = center * rng.lognormal(-(GEO_ROAS_SPREAD**2) / 2, GEO_ROAS_SPREAD, (n_geos, len(channels)))
    contrib = np.zeros_like(spend)
    typical = np.zeros((n_geos, len(channels)))
    for g in range(n_geos):
        x = spend[:, g, :]
        typical[g] = [col[col > 0].mean() for col in x.T]
        saturated = _true_response(x / typical[g], alpha, half)
        contrib[:, g, :] = saturated * roas[g] * x.sum(axis=0) / saturated.sum(axis=0)

    # baseline (week, geo): in proportion to population, with regional growth, seasonal amplitude and price response
    level = BASELINE_MULTIPLE * float(np.sum(center * np.array([c.level * c.on_share for c in channels])))
    growth = 0.12 + rng.normal(0, 0.05, n_geos)
    amplitude = 0.08 * rng.lognormal(0, 0.3, n_geos)
    price = np.round(100 + np.cumsum(rng.normal(0, 0.6, weeks))[:, None] + np.cumsum(rng.normal(0, 0.2, (weeks, n_geos)), axis=0), 2)
    price_effect = -0.04 * rng.lognormal(0, 0.2, n_geos)
    noise_sd = NOISE * level * share * np.sqrt(share.mean() / share)  # relatively noisier in small regions
    world = GeoWorld(
        shape,
        channels,
        national,
        geos,
        population,
        dates,
        budget,
        spend,
        roas,
        typical,
        contrib,
        level,
        growth,
        amplitude,
        price,
        price_effect,
        np.zeros((weeks, n_geos)),
        noise_sd,
        np.zeros((weeks, n_geos)),
        rng,
    )
    world.base = world.baseline(dates, price)
    world.revenue = np.round(world.base + contrib.sum(axis=2) + rng.normal(0, 1, (weeks, n_geos)) * noise_sd, 2)
    return world


def long_table(
    world: GeoWorld, dates: pd.DatetimeIndex, revenue: np.ndarray, spend: np.ndarray, budget: np.ndarray, price: np.ndarray
) -> pd.DataFrame:
    """The data file's rows (one per week and region, region by region as exports list them) for these weeks."""
    weeks, n_geos = revenue.shape
    rows = pd.MultiIndex.from_product([range(n_geos), range(weeks)], names=["g", "w"])
    g_idx, w_idx = rows.get_level_values("g").to_numpy(), rows.get_level_values("w").to_numpy()
    df = pd.DataFrame(
        {
            "date": dates.strftime("%Y-%m-%d")[w_idx],
            "geo": np.array(world.geos)[g_idx],
            "population": world.population[g_idx].astype(int),
            "revenue": revenue[w_idx, g_idx],
        }
    )
    for i, ch in enumerate(world.names):
        # a national channel's column holds the national total of the week on every region's row
        df[f"{ch}_spend"] = budget[w_idx, i] if world.national[i] else spend[w_idx, g_idx, i]
    df["price_index"] = price[w_idx, g_idx]
    return df


def simulate_geo(name: str, seed: int | None = None, lift_channels: list[str] | None = None) -> tuple[pd.DataFrame, dict, dict]:
    """Long-format data table (one row per week and region), truth (JSON-ready) and a ready-to-fit config for a geo scenario.

    With lift_channels, truth also holds one simulated lift test per channel, run in one mid-sized region
    (key "lift_tests", each with its `geo`), measured with LIFT_RELATIVE_SE relative noise.
    """
    return geo_tables(geo_world(name, seed), lift_channels)


def geo_tables(w: GeoWorld, lift_channels: list[str] | None = None) -> tuple[pd.DataFrame, dict, dict]:
    """The data table, truth and config of a drawn geo scenario (see `simulate_geo`)."""
    shape, channels, national, geos, population, share, dates = w.shape, w.channels, w.national, w.geos, w.population, w.share, w.dates
    names, spend, contrib, typical, roas, base, revenue, noise_sd = (
        w.names,
        w.spend,
        w.contrib,
        w.typical,
        w.roas,
        w.base,
        w.revenue,
        w.noise_sd,
    )
    n_geos, weeks = shape.geos, shape.weeks
    tests, recorded_spend, recorded_revenue = lift_tests(lift_channels or [], w)  # the data hold the tests
    df = long_table(w, dates, recorded_revenue, recorded_spend, w.budget, w.price)
    total = float(revenue.sum())
    truth: dict[str, Any] = {
        "scenario": shape.name,
        "description": _description(shape),
        "adstock": "geometric",
        "saturation": TRUE_SATURATION,
        "l_max": L_MAX,
        "kpi": "revenue",
        "shape": {"geos": n_geos, "weeks": weeks, "channels": len(channels)},
        "geo_roas_spread": GEO_ROAS_SPREAD,
        "channels": {
            ch.name: {
                "roas": float(contrib[:, :, i].sum() / spend[:, :, i].sum()),
                "roas_center": ch.roas,
                "national": bool(national[i]),
                "adstock_alpha": ch.alpha,
                "half_saturation": ch.half_saturation,
                "spend": float(spend[:, :, i].sum()),
                "contribution": float(contrib[:, :, i].sum()),
                "contribution_share": float(contrib[:, :, i].sum() / total),
            }
            for i, ch in enumerate(channels)
        },
        "geos": {
            geo: {
                "population": int(population[g]),
                "population_share": float(share[g]),
                "baseline": float(base[:, g].sum()),
                "revenue": float(revenue[:, g].sum()),
                "noise_sd": float(noise_sd[g]),
                "channels": {
                    ch: {
                        "roas": float(roas[g, i]),
                        "spend": float(spend[:, g, i].sum()),
                        "contribution": float(contrib[:, g, i].sum()),
                        "typical_spend": float(typical[g, i]),
                    }
                    for i, ch in enumerate(names)
                },
            }
            for g, geo in enumerate(geos)
        },
        "weekly": {
            "date": list(dates.strftime("%Y-%m-%d")),
            "baseline": base.sum(axis=1).tolist(),
            **{ch: contrib[:, :, i].sum(axis=1).tolist() for i, ch in enumerate(names)},
        },
    }
    if tests:
        truth["lift_tests"] = tests
    config = {
        "data": {
            "path": "data.csv",
            "date_column": "date",
            "target_column": "revenue",
            "geo_column": "geo",
            "population_column": "population",
        },
        "channels": [
            {"name": c.name, "spend_column": f"{c.name}_spend", "tier": c.tier, **({"national": True} if national[i] else {})}
            for i, c in enumerate(channels)
        ],
        "controls": ["price_index"],
        "model": {"saturation": TRUE_SATURATION},
        "sampler": {"draws": 1000, "tune": 1000, "chains": 4, "seed": 1},
    }
    return df, truth, config


def _description(shape: GeoShape) -> str:
    return (
        f"{shape.geos} regions of different sizes, {shape.weeks} weeks, {shape.channels} channels "
        f"({'tv bought nationally, ' if shape.channels > 2 else ''}regional ROAS spread around the national one)"
    )


def write_geo_scenario(name: str, out: str | Path, seed: int | None = None, lift_channels: list[str] | None = None) -> dict[str, Path]:
    """Write data.csv (long format), truth.json and config.yaml (and lifts.csv with lift_channels) into `out`."""
    return write_simulation(out, *simulate_geo(name, seed, lift_channels))
