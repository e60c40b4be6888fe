"""What a conversion is worth, resolved from `data.value_per_conversion` against the data, and the money it brings.

The value turns a channel's incremental conversions into money (ROAS, net ROI) and, for
`mmm optimize --budget auto --margin`, sets what profit a conversion carries. The result says which
value it used, so a reader can check it.
"""

from __future__ import annotations

import numpy as np
import xarray as xr
from pydantic import BaseModel, ConfigDict, Field

from mmm.config import Config
from mmm.config.value import ValueSpec
from mmm.core.constants import DATE, GEO
from mmm.data.dataset import ModelData

VALUE_SOURCES = ("number", "column", "per_channel", "lifetime")


class ConversionValue(BaseModel):
    """The value of one conversion that ROAS and net ROI used (currency per conversion) and where it came from.

    source: number | column | per_channel | lifetime; per_channel: the value per conversion for each channel
    (for a column: its average over the fitted periods, weighted by the channel's conversions in each).
    """

    model_config = ConfigDict(frozen=True, extra="allow")

    source: str
    description: str
    per_channel: dict[str, float] = Field(default_factory=dict)


def _money(x: float, currency: str) -> str:
    return f"{currency} {x:,.2f}"


def describe_value(cfg: Config) -> tuple[str, str] | None:
    """(source, sentence) of the configured value per conversion, or None without one."""
    value, cur = cfg.data.value_per_conversion, cfg.currency
    if value is None:
        return None
    if not isinstance(value, ValueSpec):
        return "number", f"{_money(value, cur)} per conversion for every channel (data.value_per_conversion)"
    if value.column is not None:
        return "column", f"the value in column '{value.column}' of each period (data.value_per_conversion.column)"
    if value.per_channel is not None:
        each = ", ".join(f"{ch} {_money(v, cur)}" for ch, v in value.per_channel.items())
        return "per_channel", f"per channel: {each} per conversion (data.value_per_conversion.per_channel)"
    assert value.lifetime is not None
    parts = []
    for ch in cfg.channel_names:
        apv, freq, years = value.lifetime.parts(ch)
        parts.append(f"{ch} {_money(apv, cur)} x {freq:g} purchases a year x {years:g} years = {_money(apv * freq * years, cur)}")
    return "lifetime", "customer lifetime value (average purchase value x purchase frequency x lifespan): " + "; ".join(parts)


def channel_values(cfg: Config, data: ModelData | None = None, periods: slice | None = None) -> dict[str, float] | None:
    """Currency per conversion per channel, or None without a value; a column gives its plain average over `periods` of `data`."""
    value = cfg.data.value_per_conversion
    if value is None:
        return None
    if not isinstance(value, ValueSpec):
        return dict.fromkeys(cfg.channel_names, float(value))
    if value.per_channel is not None:
        return {ch: float(value.per_channel[ch]) for ch in cfg.channel_names}
    if value.lifetime is not None:
        return {ch: value.lifetime.of(ch) for ch in cfg.channel_names}
    assert data is not None and data.value is not None, "a value column needs the data it is in"
    column = data.value.sum(GEO).values[periods or slice(None)]
    return dict.fromkeys(cfg.channel_names, float(np.mean(column)))


def value_draws(cfg: Config, data: ModelData, media: xr.DataArray, total: xr.DataArray) -> xr.DataArray | None:
    """Money (sample, channel) the channels' incremental conversions are worth over the fitted periods, or None without a value.

    media: incremental conversions per period (sample, date, channel), needed only for a value column
    (each period's conversions at that period's value); total: the same summed over periods (sample, channel).
    """
    values = channel_values(cfg, data)
    if values is None:
        return None
    if data.value is None:
        return total * xr.DataArray(list(values.values()), dims=total.dims[-1:], coords={total.dims[-1]: list(values)})
    if GEO in media.dims:  # a geo model: each geo's conversions at that geo's value, per geo
        return (media * data.value.isel({DATE: slice(0, media.sizes[DATE])})).sum(DATE)
    per_period = data.value.sum(GEO).isel({DATE: slice(0, media.sizes[DATE])})
    return (media * per_period).sum(DATE)


def conversion_value(cfg: Config, contribution: xr.DataArray, money: xr.DataArray | None) -> ConversionValue | None:
    """Which value the results used: the configured one, with each channel's value per conversion
    (a column's: the channel's money over its conversions, posterior means)."""
    described = describe_value(cfg)
    if described is None or money is None:
        return None
    per_channel = channel_values(cfg) if described[0] != "column" else None
    if per_channel is None:
        ratio = (money.mean("sample") / contribution.mean("sample")).values
        per_channel = {str(c): float(r) for c, r in zip(contribution["channel"].values, ratio)}
    return ConversionValue(source=described[0], description=described[1], per_channel=per_channel)
