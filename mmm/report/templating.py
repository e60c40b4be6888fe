"""The Jinja2 environment of the report: templates and CSS from the package, number formats as filters.

Autoescaping is on for every template, so names from the data (channels, controls, problems,
warnings) are always escaped; only the package's own CSS and rendered macros are trusted markup.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from importlib.resources import files
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup

from mmm.core.constants import ESS_MIN, RHAT_MAX
from mmm.core.outcome import Outcome
from mmm.report.formatting import NA, amount, cost, fixed, marginal, pct, ratio


def _or_na(fmt: Callable[[float], str]) -> Callable[[float | None], str]:
    def formatted(x: float | None) -> str:
        return NA if x is None else fmt(x)

    formatted.__doc__ = fmt.__doc__
    return formatted


def money(x: float, currency: str) -> str:
    """'EUR 1,234,567' (negative: '-EUR 1,234')."""
    return f"{'-' if x < 0 else ''}{currency} {abs(x):,.0f}"


def signed_money(x: float, currency: str) -> str:
    """'+EUR 1,234' or '-EUR 1,234'."""
    return f"{'-' if x < 0 else '+'}{currency} {abs(x):,.0f}"


def quantity(x: float, outcome: Outcome, currency: str, named: bool = False) -> str:
    """An amount of the outcome: 'EUR 1,234' for revenue ('EUR 1,234 revenue' when `named`), '1,234 conversions' for a count."""
    if outcome.is_money:
        return f"{money(x, currency)} {outcome.noun}" if named else money(x, currency)
    return f"{outcome.figure(x)} {outcome.noun}"


def signed_quantity(x: float, outcome: Outcome, currency: str) -> str:
    """A change in the outcome: '+EUR 1,234', or '+1,234 conversions'."""
    return signed_money(x, currency) if outcome.is_money else f"{outcome.signed_figure(x)} {outcome.noun}"


def change_pct(x: float | None) -> str:
    """A relative change, '+12%', or 'new' for a channel without current spend."""
    return "new" if x is None else f"{x:+.0%}"


FORMATS: dict[str, Callable[..., str]] = {
    "amount": _or_na(amount),
    "ratio": _or_na(ratio),
    "cost": _or_na(cost),  # a cost per conversion (CPA, CAC): three significant digits below 1
    "pct": _or_na(pct),
    "money": money,
    "signed_money": signed_money,
    "quantity": quantity,
    "signed_quantity": signed_quantity,
    "marginal": marginal,  # a.mroas|marginal(not o.has_cpa): marginal ROAS, or marginal CPA
    "fixed": fixed,
    "change_pct": change_pct,
}


@cache
def environment() -> Environment:
    """The report's template environment (built once)."""
    env = Environment(
        loader=PackageLoader("mmm.report", "templates"), autoescape=True, undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True
    )
    env.filters.update(FORMATS)
    env.globals.update(FORMATS)  # also callable, to pass a format to a macro: cell(c.roas, ratio)
    env.globals.update(RHAT_MAX=RHAT_MAX, ESS_MIN=ESS_MIN)
    return env


@cache
def stylesheet() -> Markup:
    """The report's CSS (mmm/report/report.css), trusted as markup because it ships with the package."""
    return Markup(files("mmm.report").joinpath("report.css").read_text(encoding="utf-8"))


def render(template: str, **context: Any) -> str:
    """A template rendered with the context."""
    return environment().get_template(template).render(**context)


def macro(template: str, name: str) -> Callable[..., Markup]:
    """A macro of a template, callable from Python; it returns escaped markup."""
    return getattr(environment().get_template(template).module, name)


def squeeze(markup: Markup) -> Markup:
    """Template whitespace (line breaks, indentation) folded to single spaces; still escaped markup."""
    return Markup(" ".join(markup.split()))
