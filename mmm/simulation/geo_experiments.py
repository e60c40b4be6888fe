"""Run a designed geo test on a simulated geo business: the weeks after the data, with the channel switched off in the treated regions.

Every region carries on as usual after the data (each channel at the region's mean weekly spend of
the last BAU_WEEKS weeks; baseline growth, seasonality and a price index that keeps wandering; each
region's noise as in the data), except that the design's channel spends nothing in its treated
regions over the design's dates. What they withhold is what they usually spend, which may differ from
the design's planned spend_change (the plan's spend for the channel): the measurement compares the
treated regions with what their history predicts, so the row states the spend withheld from that
usual level. The data are extended to the end of the test's carry-over.

The lift is measured as a real geo test would measure it, by difference-in-differences of the
treated regions' total against the other regions' total (`mmm.core.did`, as `mmm analyze-test`
does), with that method's standard error. The row states the test as it ran, as the lift-test file
reads a test the data hold: the withheld spend and the outcome lost (both negative), `geo` naming the
treated regions.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from mmm.core.did import did_lift
from mmm.core.errors import MMMError
from mmm.simulation.experiments import BAU_WEEKS, REALISE_SEED_OFFSET, DesignError, schedule
from mmm.simulation.geo_scenarios import SEED, geo_tables, geo_world, long_table


def realise_geo_design(name: str, design: dict[str, Any], seed: int | None = None) -> tuple[pd.DataFrame, dict[str, Any], dict[str, Any]]:
    """(extended data, the lift-file row with the true lift added as `true_lift`, truth) for a geo design on geo scenario `name`."""
    if design["kind"] != "geo":
        raise MMMError(
            f"scenario '{name}' holds regions: run a geo design on it (`mmm plan-test` on its fit gives them), not a {design['kind']}"
        )
    world = geo_world(name, seed)
    df, truth, _ = geo_tables(world)
    channel = design["channel"]
    if channel not in world.names:
        raise DesignError(f"key 'channel': the design tests '{channel}', which scenario '{name}' does not have ({', '.join(world.names)})")
    c = world.names.index(channel)
    if world.national[c]:
        raise DesignError(
            f"key 'channel': '{channel}' is bought nationally in scenario '{name}': it cannot be switched off in some regions only"
        )
    treated_names = list(design.get("treated_geos") or [])
    unknown = sorted(set(treated_names) - set(world.geos))
    if not treated_names or unknown:
        raise DesignError(
            f"key 'treated_geos': {'no region named ' + ', '.join(unknown) if unknown else 'names no region'}; "
            f"scenario '{name}' has {', '.join(world.geos)}"
        )
    treated = np.array([g in treated_names for g in world.geos])
    if treated.all():
        raise DesignError("key 'treated_geos': every region is treated, so none is left as control; leave some out")
    weeks = len(world.dates)
    start, end, first, test_weeks, extra = schedule(design, world.dates[-1])
    new_dates = pd.date_range(world.dates[-1] + pd.Timedelta(days=7), periods=extra, freq="7D")
    rng = np.random.default_rng((SEED if seed is None else seed) + REALISE_SEED_OFFSET)

    usual = np.concatenate([world.spend, np.repeat(np.round(world.spend[-BAU_WEEKS:].mean(axis=0), 2)[None], extra, axis=0)])
    window = np.arange(weeks + first - 1, weeks + first - 1 + test_weeks)  # the test's weeks in the extended arrays
    cells = np.ix_(window, np.flatnonzero(treated), np.array([c]))
    with_test = usual.copy()  # the treated regions withhold what they usually spend: the spend their history predicts, as a DiD reads it
    with_test[cells] = 0.0
    contribution = world.contributions(with_test)
    lift_by_week = contribution[:, :, c] - world.contributions(usual)[:, :, c]

    n_geos = len(world.geos)
    price = np.round(
        world.price[-1] + np.cumsum(rng.normal(0, 0.6, extra))[:, None] + np.cumsum(rng.normal(0, 0.2, (extra, n_geos)), axis=0), 2
    )
    revenue = np.round(
        world.baseline(new_dates, price) + contribution[weeks:].sum(axis=2) + rng.normal(0, 1, (extra, n_geos)) * world.noise_sd, 2
    )
    budget = np.repeat(np.round(world.budget[-BAU_WEEKS:].mean(axis=0), 2)[None], extra, axis=0)
    new = long_table(world, new_dates, revenue, with_test[weeks:], budget, price)
    extended = pd.concat([df, new[df.columns]], ignore_index=True).sort_values(["geo", "date"], kind="stable", ignore_index=True)

    outcome = np.concatenate([world.revenue, revenue])
    period = np.arange(weeks + extra)
    measured = period >= window[0]  # the test and its carry-over
    lift, se, _ = did_lift(outcome[:, treated].sum(axis=1), outcome[:, ~treated].sum(axis=1), period < weeks, measured)
    true_lift = float(lift_by_week[measured][:, treated].sum())
    row = {
        "channel": channel,
        "start": str(start.date()),
        "end": str(end.date()),
        "spend_change": round(float((with_test - usual)[window][:, treated, c].sum()), 2),
        "lift": round(lift, 2),
        "lift_se": round(se, 2),
        "geo_share": 1.0,
        "geo": "|".join(g for g, t in zip(world.geos, treated) if t),
        "true_lift": true_lift,
    }
    truth["test"] = {"design": design, "result": row, "weeks_added": extra}
    return extended, row, truth
