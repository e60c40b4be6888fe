"""The outcome vocabulary: what the KPI is called, its unit and the metric names built on it.

Every layer asks this object for words and names instead of writing "revenue" itself, so a
new KPI kind is one more entry here.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Outcome:
    """Words, units and metric names for one kind of KPI.

    noun: what one unit of the outcome is called in sentences ("revenue");
    is_money: whether the outcome is in the config's currency (so ROAS is a ratio);
    return_label: the per-spend ratio's short name ("ROAS").
    """

    kind: str
    noun: str
    is_money: bool
    return_label: str

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

    def amount(self, currency: str) -> str:
        """The unit of the outcome: the currency for revenue."""
        return currency if self.is_money else self.noun


OUTCOMES: dict[str, Outcome] = {
    "revenue": Outcome(kind="revenue", noun="revenue", is_money=True, return_label="ROAS"),
}


DEFAULT_KPI = "revenue"


def outcome_for(kind: str = DEFAULT_KPI) -> Outcome:
    """The vocabulary of a KPI kind (the config's `data.kpi`); unknown kinds are a programming error."""
    return OUTCOMES[kind]
