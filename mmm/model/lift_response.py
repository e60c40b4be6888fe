"""What the model predicts a lift test measured: the test's spend change through adstock and saturation."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

from mmm.data.lifts import LiftTest
from mmm.transforms import MediaTransform, lagged


@dataclass
class LiftDesign:
    """One test as model inputs: scaled lagged spend without and with the test, over its window and carry-over."""

    channel_index: int
    base: np.ndarray  # (period, lag, channel)
    treated: np.ndarray
    geo_share: float
    window: np.ndarray  # the design's periods, as indices into the training periods


@dataclass
class LiftRows:
    """Every design's periods stacked into rows, so any number of tests is one computation (and one compiled model).

    base, treated: (row, lag, channel) scaled lagged spend without and with the tests; channel: (row, channel)
    one-hot of the row's tested channel (a geo x channel cell on geo data); share: (row, test) the row's geo_share
    in the column of the test it belongs to, else 0; period: (row,) the row's index into the training periods.
    """

    base: Any
    treated: Any
    channel: Any
    share: Any
    period: Any

    @classmethod
    def of(cls, designs: list[LiftDesign], owners: np.ndarray | None = None, n_tests: int | None = None) -> LiftRows:
        """Stack designs; owners[j] is design j's test (default: one test per design), of n_tests tests."""
        owners = np.arange(len(designs)) if owners is None else owners
        n_tests = len(designs) if n_tests is None else n_tests
        sizes = [len(d.window) for d in designs]
        row_of = np.repeat(np.arange(len(designs)), sizes)
        channels = np.array([d.channel_index for d in designs])[row_of]
        share = np.zeros((len(row_of), n_tests))
        share[np.arange(len(row_of)), owners[row_of]] = np.array([d.geo_share for d in designs])[row_of]
        return cls(
            np.concatenate([d.base for d in designs]),
            np.concatenate([d.treated for d in designs]),
            np.eye(designs[0].base.shape[-1])[channels],
            share,
            np.concatenate([d.window for d in designs]),
        )

    def as_data(self) -> LiftRows:
        """The rows as data of the PyMC model being built (pm.Data), not as constants: the compiled model then
        serves any number of tests on any data, instead of being compiled again for each."""
        import pymc as pm

        return LiftRows(**{field: pm.Data(f"lift_{field}", value) for field, value in vars(self).items()})


def lift_designs(
    tests: list[LiftTest], dates: pd.DatetimeIndex, spend: np.ndarray, channels: list[str], spend_scale: np.ndarray, l_max: int
) -> list[LiftDesign]:
    """Inputs for each test, read as a test the data hold: the recorded spend is the spend with the test.

    The test's spend change is spread over its periods (`change_by_period`). Without the test, the market
    spent the recorded spend less that change; with it, the tested geo spent that plus the change in the
    geo's terms (divided by geo_share). Both run through adstock, the carry-over after the test included.
    """
    scaled = spend / spend_scale
    out = []
    for t in tests:
        c = channels.index(t.channel)
        idx = np.flatnonzero((dates >= pd.Timestamp(t.start)) & (dates <= pd.Timestamp(t.end)))
        change = change_by_period(t.spend_change, spend[idx, c]) / spend_scale[c]
        without = scaled.copy()
        without[idx, c] = np.maximum(without[idx, c] - change, 0.0)
        treated = without.copy()
        treated[idx, c] = np.maximum(treated[idx, c] + change / t.geo_share, 0.0)
        window = np.arange(idx[0], min(idx[-1] + l_max, len(dates)))
        out.append(LiftDesign(c, lagged(without, l_max)[window], lagged(treated, l_max)[window], t.geo_share, window))
    return out


def change_by_period(spend_change: float, recorded: np.ndarray) -> np.ndarray:
    """A test's spend change per period (currency): evenly, as a test plan runs, unless the data record less
    than an even share of the added spend in some period; then in proportion to the recorded spend, which
    holds the test and so shows when its money went."""
    even = np.full(len(recorded), spend_change / len(recorded))
    if spend_change <= 0 or (recorded >= even * (1 - 1e-9)).all():
        return even
    return spend_change * recorded / recorded.sum()


def cell_lift_designs(
    tests: list[LiftTest],
    dates: pd.DatetimeIndex,
    spend: np.ndarray,
    geos: list[str],
    channels: list[str],
    spend_scale: np.ndarray,
    l_max: int,
) -> tuple[list[LiftDesign], np.ndarray]:
    """Inputs for each test on geo data: spend (time, geo, channel), spend_scale (cell,), cells geo-major.

    A test's spend change is split over its geos (all of them for a test of the whole market) in
    proportion to each one's spend on the channel (over the test when it added spend, which the data then
    hold; over all these periods when it withheld spend), each part a design of one
    geo x channel cell. Returns the designs and, for each, the index of its test: a test's predicted
    lift is the sum over its designs.
    """
    n, n_geos, n_channels = spend.shape
    flat = spend.reshape(n, n_geos * n_channels)
    names = [f"{g}/{c}" for g in geos for c in channels]
    parts, owner = [], []
    for i, t in enumerate(tests):
        index = [geos.index(g) * n_channels + channels.index(t.channel) for g in t.geos or geos]
        during = (dates >= pd.Timestamp(t.start)) & (dates <= pd.Timestamp(t.end))
        weight = flat[during if t.spend_change > 0 else slice(None)][:, index].sum(axis=0)
        weight = weight / weight.sum() if weight.sum() > 0 else np.full(len(index), 1.0 / len(index))
        for cell, w in zip(index, weight):
            if w > 0:
                parts.append(replace(t, channel=names[cell], spend_change=t.spend_change * float(w), geo=None))
                owner.append(i)
    return lift_designs(parts, dates, flat, names, spend_scale, l_max), np.asarray(owner, dtype=int)


def predicted_lifts(
    params: dict[str, Any], rows: LiftRows, media: MediaTransform, target_scale: float, xp: Any, season_basis: Any = None
) -> Any:
    """Model-predicted lift of each test (..., test), currency (per draw when params carry a draw axis).

    Under media seasonality (season_basis: the training periods' basis) each period's gain counts
    times that period's effectiveness multiplier.
    """
    change = media.response(rows.treated, params, xp) - media.response(rows.base, params, xp)  # (..., row, channel)
    if media.season is not None and season_basis is not None:
        change = change * media.season.multiplier(season_basis[rows.period], params, xp)[..., :, None]
    gain = (change * rows.channel * params["channel_coef"][..., None, :]).sum(axis=-1)  # (..., row): the tested channel's
    return xp.dot(gain, rows.share) * target_scale
