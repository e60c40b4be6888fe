"""What one conversion is worth (`data.value_per_conversion`), for ROAS and net ROI on a conversions KPI.

Four forms, each in currency per conversion:

    value_per_conversion: 80                                   # one number for every channel
    value_per_conversion: {column: order_value}                # a column of the data: the value per period
    value_per_conversion: {per_channel: {search: 90, social: 60}}
    value_per_conversion: {lifetime: {average_purchase_value: 40, purchase_frequency: 3, lifespan: 2,
                                      per_channel: {social: {lifespan: 1}}}}

The lifetime form is a customer lifetime value: average purchase value (currency) x purchases per
year x years a customer stays; `per_channel` overrides any of the three for one channel, since
channels bring customers of different value.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag, model_validator


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class LifetimeParts(_Strict):
    """A channel's overrides of the lifetime value's parts; the ones left out are the overall ones."""

    average_purchase_value: float | None = Field(default=None, gt=0, description="Currency per purchase.")
    purchase_frequency: float | None = Field(default=None, gt=0, description="Purchases per customer per year.")
    lifespan: float | None = Field(default=None, gt=0, description="Years a customer keeps buying.")


class LifetimeValue(_Strict):
    """Customer lifetime value = average purchase value x purchase frequency x lifespan (currency per customer)."""

    average_purchase_value: float = Field(gt=0, description="Currency per purchase.")
    purchase_frequency: float = Field(gt=0, description="Purchases per customer per year.")
    lifespan: float = Field(gt=0, description="Years a customer keeps buying.")
    per_channel: dict[str, LifetimeParts] = Field(default_factory=dict, description="Per channel: the parts that differ.")

    def parts(self, channel: str) -> tuple[float, float, float]:
        """(average purchase value, purchases per year, years) for customers `channel` brings."""
        own = self.per_channel.get(channel, LifetimeParts())
        return (
            own.average_purchase_value or self.average_purchase_value,
            own.purchase_frequency or self.purchase_frequency,
            own.lifespan or self.lifespan,
        )

    def of(self, channel: str) -> float:
        """The lifetime value of a customer `channel` brings, currency."""
        apv, freq, years = self.parts(channel)
        return apv * freq * years


class ValueSpec(_Strict):
    """`data.value_per_conversion` in its mapping forms: exactly one of `column`, `per_channel`, `lifetime`."""

    column: str | None = Field(default=None, description="A data column holding the value of a conversion in each period (currency).")
    per_channel: dict[str, float] | None = Field(default=None, description="Currency per conversion, per channel (every channel).")
    lifetime: LifetimeValue | None = Field(default=None, description="A customer lifetime value.")

    @model_validator(mode="after")
    def _one_form(self) -> ValueSpec:
        given = [k for k in ("column", "per_channel", "lifetime") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError(
                "give exactly one of 'column' (a data column), 'per_channel' (a number per channel) or 'lifetime' "
                f"(average_purchase_value, purchase_frequency, lifespan); this has {', '.join(given) or 'none'}"
            )
        if self.per_channel is not None:
            bad = sorted(k for k, v in self.per_channel.items() if not v > 0)
            if bad:
                raise ValueError(f"per_channel values must be above 0 (currency per conversion); check {', '.join(bad)}")
        return self

    def channel_names(self) -> set[str]:
        """The channels the value names (to check against the config's channels)."""
        if self.per_channel is not None:
            return set(self.per_channel)
        return set(self.lifetime.per_channel) if self.lifetime is not None else set()


def _form(value: Any) -> str:
    return "<mapping>" if isinstance(value, (dict, ValueSpec)) else "<number>"


# a number or a mapping, told apart by the YAML's shape so an error speaks of the form that was meant;
# tags in <> are not keys (the loader leaves them out of the key it names)
ValuePerConversion = Annotated[
    Annotated[Annotated[float, Field(gt=0)], Tag("<number>")] | Annotated[ValueSpec, Tag("<mapping>")],
    Discriminator(_form),
]


def check_value_channels(value: ValuePerConversion | None, channels: list[str]) -> None:
    """ValueError when the value names a channel the config lacks, or `per_channel` leaves one out."""
    if not isinstance(value, ValueSpec):
        return
    unknown = sorted(value.channel_names() - set(channels))
    if unknown:
        raise ValueError(f"data.value_per_conversion names unknown channel(s) {', '.join(unknown)}; the channels are {', '.join(channels)}")
    if value.per_channel is not None:
        missing = [c for c in channels if c not in value.per_channel]
        if missing:
            raise ValueError(f"data.value_per_conversion.per_channel needs a value for every channel; it lacks {', '.join(missing)}")
