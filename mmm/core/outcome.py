"""The outcome vocabulary: what the KPI is called, its unit and the metric names built on it.

Every layer asks this object for words and names instead of writing "revenue" itself, so a
new KPI kind is one more entry here.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


def cost(x: float) -> str:
    """A cost per conversion as printed: 42.50 (cents from 1 up), else three significant digits (0.0225), so that
    small costs per conversion stay apart."""
    if abs(x) >= 1 or x == 0 or not np.isfinite(x):
        return f"{x:,.2f}"
    return np.format_float_positional(x, precision=3, unique=False, fractional=False, trim="-")


def count(x: float) -> str:
    """A number of events as printed: 1,234 from 100 up, one decimal below (23.4, 0.4), two under 0.1 (0.04), so that
    small counts and their differences do not round to whole numbers."""
    if abs(x) >= 100 or x == 0 or not np.isfinite(x):
        return f"{x:,.0f}"
    return f"{x:.1f}" if abs(x) >= 0.1 else f"{x:.2f}"


@dataclass(frozen=True)
class Outcome:
    """Words, units and metric names for one kind of KPI.

    noun: what one unit of the outcome is called in sentences ("revenue");
    is_money: whether the outcome is in the config's currency (so ROAS is a ratio);
    return_label: the per-spend ratio's short name ("ROAS");
    cost_per_label: the short name of the cost of one unit of the outcome ("CPA"), for outcomes that are not money;
    is_count: whether the outcome counts whole events (conversions), so its data must be whole numbers 0 or more;
    channel_keys: per-channel quantity -> JSON key and MLflow metric stem where the outcome names it differently;
    more / less / most: what a better (worse) plan or channel does, in sentences ("a plan that earns more", "where the next dollar earns most");
    profit_of: what a margin is taken of for profit ("the extra {noun}"; see `profit_base`);
    marginal_at: what the marginal return at a plan means, with {cur}, {value} and {noun} (see `marginal_sentence`);
    headline: how the terminal table's figures are summarised;
    glossary: (term, definition, needs a value per conversion) for the report, with {cur} and {noun} filled in by `glossary_for`;
    check_titles: health-review check name -> its title in the report, where the check's name would mislead for this KPI.
    """

    kind: str
    noun: str
    is_money: bool
    return_label: str
    cost_per_label: str | None = None
    is_count: bool = False
    channel_keys: dict[str, str] = field(default_factory=dict, compare=False)
    more: str = "earns more"
    less: str = "earns less"
    most: str = "earns most"
    profit_of: str = "the extra {noun}"
    marginal_at: str = "the next {cur} brings back {value} in {noun}"
    headline: str = "each as mean (90% interval)"
    glossary: tuple[tuple[str, str, bool], ...] = field(default=(), compare=False)
    check_titles: dict[str, str] = field(default_factory=dict, compare=False)

    @property
    def incremental(self) -> str:
        """'incremental_revenue': the metric stem of the outcome a plan or channel caused."""
        return f"incremental_{self.kind}"

    @property
    def expected(self) -> str:
        """'expected_revenue': the metric stem of the forecast total outcome of a plan."""
        return f"expected_{self.kind}"

    @property
    def Noun(self) -> str:  # noqa: N802 - the capitalised word, for the start of a sentence
        return self.noun[:1].upper() + self.noun[1:]

    def figure(self, x: float) -> str:
        """An amount of the outcome in a table cell or a range, without its unit: 1,234,567 (currency), or a `count`."""
        return count(x) if self.is_count else f"{x:,.0f}"

    def signed_figure(self, x: float) -> str:
        """A change in the outcome without its unit: '+1,234', '-2.8'."""
        return self.figure(x) if x < 0 else f"+{self.figure(x)}"

    def amount(self, currency: str) -> str:
        """The unit of the outcome: the currency for revenue."""
        return currency if self.is_money else self.noun

    @property
    def has_cpa(self) -> bool:
        """Whether results speak what a unit of the outcome costs (CPA, CAC) rather than a return per unit spent."""
        return self.cost_per_label is not None

    def marginal_label(self) -> str:
        """What the optimiser's marginal return is called: 'marginal ROAS', or 'marginal CPA' for a cost-per outcome."""
        return f"marginal {self.cost_per_label or self.return_label}"

    def profit_base(self) -> str:
        """What a contribution margin is taken of: 'the extra revenue', 'the value of the extra conversions'."""
        return self.profit_of.format(noun=self.noun)

    def marginal_sentence(self, currency: str, value: str) -> str:
        """The marginal return at a plan in words; `value` is the marginal figure as the KPI speaks it (ROAS, or CPA)."""
        return self.marginal_at.format(cur=currency, value=value, noun=self.noun)

    def glossary_for(self, currency: str, valued: bool = False) -> list[tuple[str, str]]:
        """(term, definition) of every figure the report shows for this KPI; with `valued`, also those that need a value per conversion."""
        words = {"cur": currency, "noun": self.noun, "Noun": self.Noun}
        return [(t.format(**words), d.format(**words)) for t, d, needs in self.glossary if valued or not needs]

    def channel_key(self, quantity: str) -> str:
        """The JSON key and MLflow stem of a per-channel quantity ('roas' -> 'conversions_per_spend' for conversions)."""
        return self.channel_keys.get(quantity, quantity)


REVENUE_GLOSSARY = (
    (
        "ROAS",
        "Return on ad spend: extra {noun} the channel caused per {cur} 1 of media spend. Above 1, the channel earns back its media "
        "spend in {noun}.",
        False,
    ),
    (
        "Net ROI",
        "(extra {noun} - all costs of the channel) / all costs, where costs include fees and production. 0 is break-even. {Noun}, "
        "not profit: the cost of the goods sold is not deducted.",
        False,
    ),
    (
        "Marginal ROAS",
        "Extra {noun} from the next {cur} 1 at today's spend level. Lower than ROAS when a channel is past its sweet spot: it says "
        "where the next money works hardest.",
        False,
    ),
    ("Baseline", "{Noun} that would have come without paid marketing: brand, repeat customers, season, price.", False),
)
CONVERSIONS_GLOSSARY = (
    (
        "CPA",
        "Cost per acquisition: the channel's full cost per extra conversion it caused. The full cost counts the media spend and "
        "every cost line set for the channel in the config: agency or platform fees (a percentage of spend), fixed amounts per "
        "period, content production, tools, staff time and overhead. Lower is better. Shown as the median, the middle of the "
        "likely values: a cost per conversion has a long upper tail that would pull an average up.",
        False,
    ),
    (
        "CAC",
        "Customer acquisition cost: the media spend alone per extra conversion the channel caused, leaving the other costs out. "
        "It equals CPA for a channel with no cost lines. Shown as the median.",
        False,
    ),
    (
        "Marginal CPA",
        "Media spend per extra conversion from spending a little more than today. Higher than CAC when a channel is past its "
        "sweet spot: it says where the next money buys conversions most cheaply.",
        False,
    ),
    ("Conversions per {cur} 1", "Extra conversions the channel caused per {cur} 1 of media spend: 1 / CAC.", False),
    (
        "ROAS",
        "Return on ad spend: the value of the extra conversions (at the value per conversion the model was given) per {cur} 1 of "
        "media spend. Above 1, the conversions are worth more than the media spend.",
        True,
    ),
    (
        "Net ROI",
        "(value of the extra conversions - full cost of the channel) / full cost. 0 is break-even. Value, not profit: the cost "
        "of serving a customer is not deducted.",
        True,
    ),
    ("Baseline", "Conversions that would have come without paid marketing: brand, word of mouth, repeat customers, season, price.", False),
)

OUTCOMES: dict[str, Outcome] = {
    "revenue": Outcome(kind="revenue", noun="revenue", is_money=True, return_label="ROAS", glossary=REVENUE_GLOSSARY),
    "conversions": Outcome(
        kind="conversions",
        noun="conversions",
        is_money=False,
        return_label="conversions per 1 spent",
        cost_per_label="CPA",
        is_count=True,
        # the model's own ratio is conversions per unit of spend; 'roas' is kept for money ROAS on a value per conversion
        channel_keys={
            "roas": "conversions_per_spend",
            "mroas": "marginal_conversions_per_spend",
            "value_roas": "roas",
            "contribution": "incremental_conversions",
            "contribution_share": "conversions_share",
        },
        more="brings more conversions",
        less="brings fewer conversions",
        most="brings the most conversions",
        profit_of="the value of the extra {noun}",
        marginal_at="an extra conversion costs {cur} {value} in media spend",
        headline="each as mean (90% interval); CPA, CAC and marginal CPA as median (90% interval)",
        glossary=CONVERSIONS_GLOSSARY,
        check_titles={"roas_consistency": "Conversions per spend within the prior"},
    ),
}


DEFAULT_KPI = "revenue"


def outcome_for(kind: str = DEFAULT_KPI) -> Outcome:
    """The vocabulary of a KPI kind (the config's `data.kpi`); unknown kinds are a programming error."""
    return OUTCOMES[kind]
