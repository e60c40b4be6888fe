"""A conversions KPI: counts in, CPA out; recovery on simulated sign-ups with known truth, the cost
arithmetic without MCMC, the JSON and MLflow names, --target-cpa, and every bad-input path."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from helpers import SHORT_SAMPLER, all_runs, assert_clean_exit_2, invoke, isolated_workdir, store_uri
from test_optimizer import synthetic_model, wide_bounds
from test_report import text_of

from mmm.analysis import review_checks as checks
from mmm.analysis.decomposition import channel_draws
from mmm.analysis.results import FitSummary
from mmm.config import parse_config
from mmm.core.errors import ArgumentError, ConfigError
from mmm.core.outcome import cost, outcome_for
from mmm.core.stats import RatioInterval
from mmm.planning.budget import choose_budget
from mmm.planning.recommend import recommend_budget
from mmm.planning.results import OptimizationResult
from mmm.report.build import build_report
from mmm.simulation.scenarios import write_scenario

INTERVAL_KEYS = {"mean", "low", "high"}
COST_RATIOS = ("cpa", "marginal_cpa", "cac")  # costs per conversion: their interval carries a median, the headline


# --- the tiny fit: simulated sign-ups with known CPA, fitted once through the CLI -----------------


@pytest.fixture(scope="module")
def fitted(tmp_path_factory):
    """(folder, scenario files, fit JSON, store URI, run id) of one short fit of the `conversions` scenario."""
    for root in isolated_workdir(tmp_path_factory, "conversions"):
        paths = write_scenario("conversions", root / "sim")
        uri = store_uri(root / "store")
        out = root / "fit.json"
        result = invoke("fit", paths["config"], "--output-json", out, "--tracking-uri", uri, "--seed", 3, *SHORT_SAMPLER)
        assert result.exit_code == 0, result.output
        summary = json.loads(out.read_text())
        yield root, paths, summary, uri, summary["run_id"]


def test_cpa_recovered_on_simulated_conversions(fitted):
    _, paths, summary, _, _ = fitted
    truth = json.loads(paths["truth"].read_text())["channels"]
    search = summary["channels"]["search"]["cpa"]
    # the channel with most conversions is measured well even by a short fit: true CPA inside its interval, mean near it
    assert search["low"] <= truth["search"]["cpa"] <= search["high"]
    assert abs(search["mean"] - truth["search"]["cpa"]) / truth["search"]["cpa"] < 0.35
    # marketing as a whole: spend over all incremental conversions within 40% of the truth
    spend = sum(t["spend"] for t in truth.values())
    true_total = spend / sum(t["contribution"] for t in truth.values())
    fitted_total = spend / sum(c["incremental_conversions"]["mean"] for c in summary["channels"].values())
    assert abs(fitted_total - true_total) / true_total < 0.4


def test_fit_json_speaks_conversions_and_cpa(fitted):
    _, _, summary, _, _ = fitted
    assert summary["outcome"] == "conversions"
    for c in summary["channels"].values():
        for key in ("incremental_conversions", "conversions_share", "conversions_per_spend", "roas", "roi"):
            assert set(c[key]) == INTERVAL_KEYS, key  # every other interval keeps exactly its keys
        for key in COST_RATIOS:
            assert set(c[key]) == INTERVAL_KEYS | {"median"}, key
            assert c[key]["low"] <= c[key]["median"] <= c[key]["high"], key
        assert c["cpa"]["low"] <= c["cpa"]["mean"] <= c["cpa"]["high"]
        assert c["value_per_conversion"] == pytest.approx(120.0)
        assert "contribution" not in c and "mroas" not in c  # named in the KPI's words instead
    assert summary["value_per_conversion"]["source"] == "number"
    assert "120.00 per conversion" in summary["value_per_conversion"]["description"]


def test_the_fit_is_judged_against_the_chance_in_counting(fitted, tmp_path):
    """A handful of sign-ups a week scatter mostly by chance: the model of the true structure explains little of the
    weekly variation, yet all that any model can, and the review says so instead of asking for controls that do not exist."""
    _, paths, summary, uri, run_id = fitted
    run = next(r for r in all_runs(uri) if r.info.run_id == run_id)
    assert 0 < summary["fit"]["r2_attainable"] < 1
    assert run.data.metrics["r2_attainable"] == pytest.approx(summary["fit"]["r2_attainable"])
    frame = pd.read_csv(paths["data"])
    frame["conversions"] = np.random.default_rng(0).binomial(frame["conversions"], 0.08)  # about 4 a week
    frame.to_csv(tmp_path / "few.csv", index=False)
    config = yaml.safe_load(paths["config"].read_text())
    config["data"]["path"] = str(tmp_path / "few.csv")
    (tmp_path / "few.yaml").write_text(yaml.safe_dump(config))
    out = tmp_path / "few.json"
    result = invoke("fit", tmp_path / "few.yaml", "--output-json", out, "--tracking-uri", uri, "--seed", 3, *SHORT_SAMPLER)
    assert result.exit_code == 0, result.output
    few = json.loads(out.read_text())
    assert few["fit"]["r2"] < checks.R2_REVIEW and few["fit"]["r2_attainable"] < 0.5  # chance is most of the variation
    check = next(c for c in few["review"]["checks"] if c["name"] == "goodness_of_fit")
    assert check["status"] == "PASS" and "conversions a week, chance makes up" in check["message"], check
    assert "chance in counting leaves" in result.output


def test_the_report_does_not_call_a_fit_close_or_loose_for_what_is_chance(fitted):
    from mmm.report.prose import trust_verdict

    summary = FitSummary.model_validate(fitted[2])
    few = summary.fit.model_copy(update={"r2": 0.085, "mape": 0.57, "r2_attainable": 0.028})
    assert trust_verdict(summary.model_copy(update={"fit": few})).closeness == "as closely as their chance scatter allows"
    money = few.model_copy(update={"r2_attainable": None})
    assert trust_verdict(summary.model_copy(update={"fit": money})).closeness == "only loosely"


def test_a_geo_models_table_gives_each_geos_cpa_not_a_rounded_away_ratio():
    from mmm.report.formatting import _geo_lines

    def band(mean, low, high, median=None):
        return {"mean": mean, "low": low, "high": high, **({"median": median} if median else {})}

    channel = {
        "spend": 2146690.0,
        "incremental_conversions": band(106.8, 17.2, 273.1),
        "conversions_per_spend": band(5e-05, 8e-06, 1.3e-04),
        "cpa": band(42625.06, 7860.28, 124885.02, median=25794.96),
    }
    geos = {"north": {"fit": {"r2": 0.11}, "channels": {"search": channel, "tv": {"spend": 0.0, "incremental_conversions": band(0, 0, 0)}}}}
    text = "\n".join(_geo_lines({"outcome": "conversions", "geos": geos}))
    assert "CPA median" in text and "25,794.96 (7,860.28 to 124,885.02)" in text and "107 (17.2 to 273)" in text
    assert "0.00 (0.00 to 0.00)" not in text and "no spend" in text


def test_mlflow_metric_names_speak_cpa(fitted):
    _, _, _, uri, run_id = fitted
    run = next(r for r in all_runs(uri) if r.info.run_id == run_id)
    names = set(run.data.metrics)
    for stem in ("cpa", "cac", "marginal_cpa", "incremental_conversions", "roas", "roi"):
        assert f"{stem}_mean.search" in names, stem
    for stem in COST_RATIOS:
        assert f"{stem}_median.search" in names, stem
    assert "incremental_conversions_median.search" not in names
    assert "contribution_mean.search" not in names and "mroas_mean.search" not in names


@pytest.fixture(scope="module")
def cpa_plan(fitted):
    """(terminal output, optimise JSON, target) of `optimize --budget auto --target-cpa` on the short fit."""
    root, _, summary, uri, run_id = fitted
    target = 1.3 * summary["channels"]["search"]["marginal_cpa"]["mean"]
    out = root / "opt.json"
    result = invoke("optimize", "--run-id", run_id, "--budget", "auto", "--target-cpa", target, "--weeks", 8, "--force",
                    "--output-json", out, "--tracking-uri", uri)  # fmt: skip
    assert result.exit_code == 0, result.output
    return result.output, json.loads(out.read_text()), target


def test_target_cpa_spends_until_an_extra_conversion_costs_that(cpa_plan):
    output, opt, target = cpa_plan
    assert opt["budget_mode"] == "target_cpa" and opt["target_cpa"] == pytest.approx(target)
    curve = opt["budget_curve"]
    if not opt["warnings"]:  # an interior optimum: the marginal CPA of the chosen total is the target
        assert 1 / curve["recommended_mroas"] == pytest.approx(target, rel=0.02)
        assert curve["recommended_marginal_cpa"] == pytest.approx(target, rel=0.02)
    assert "marginal CPA" in output and "incremental_conversions" in json.dumps(opt)


def test_budget_curve_says_what_an_extra_conversion_costs_at_each_total(cpa_plan):
    _, opt, _ = cpa_plan
    curve = opt["budget_curve"]
    assert len(curve["marginal_cpa"]) == len(curve["budgets"]) == len(curve["marginal_roas"])  # one per point, old keys kept
    for cpa, mroas in zip(curve["marginal_cpa"], curve["marginal_roas"]):
        assert cpa == pytest.approx(1 / mroas)
    # past the best totals an extra conversion only gets dearer
    assert curve["marginal_cpa"][-1] > curve["marginal_cpa"][0]


def test_plan_output_speaks_conversions(cpa_plan):
    output, _, _ = cpa_plan
    assert "Probability that the recommended plan brings more conversions than the current mix" in output
    assert "equal marginal ROAS" not in output
    assert not re.search(r"\bearn|revenue|ROAS", output), output


def test_cost_ratio_median_is_the_reciprocal_of_the_median_rate():
    d = channel_draws(conversions_model(None))
    for ch in ("ch0", "ch1"):
        rate = d.roas.sel(channel=ch).values  # conversions per unit of media spend, per draw
        cac = RatioInterval.of(d.cac.sel(channel=ch), "sample")
        assert cac.median == pytest.approx(1 / np.median(rate), rel=1e-4)
        assert cac.point == cac.median and cac.low <= cac.median <= cac.high
        assert set(cac.model_dump()) == INTERVAL_KEYS | {"median"}


def test_report_speaks_cpa_and_cac_and_roas_only_with_a_value(fitted, cpa_plan):
    _, _, summary, _, _ = fitted
    fit = FitSummary.model_validate(summary)
    valueless = {n: c.model_copy(update={"value_roas": None, "roi": None, "value_per_conversion": None}) for n, c in fit.channels.items()}
    review = fit.review.model_copy(update={"checks": [c for c in fit.review.checks if c.name != "implausible_roas"]})
    fit = fit.model_copy(update={"value_per_conversion": None, "channels": valueless, "review": review})  # as fitted without a value
    page = build_report(fit, OptimizationResult.from_json(cpa_plan[1])).html
    text = text_of(re.sub(r"<style>.*?</style>", "", page, flags=re.S))
    glossary = dict(re.findall(r"<dt>(.*?)</dt><dd>(.*?)</dd>", page, re.S))
    assert "full cost" in glossary["CPA"] and "fees" in glossary["CPA"] and "media spend alone" in glossary["CAC"]
    assert "median CPA" in text and "chance it brings more conversions" in text
    assert "Counts of conversions scatter by chance" in text and "any model can" in text
    assert not re.search(r"\bearn|revenue", text)
    for sentence in re.split(r"(?<=[.!?])\s+", text):  # ROAS only where it says a value per conversion would give it
        assert "ROAS" not in sentence or "value per conversion" in sentence, sentence
    # with a value per conversion, ROAS is defined on that value
    valued = dict(outcome_for("conversions").glossary_for("USD", valued=True))
    assert "value of the extra conversions" in valued["ROAS"] and "ROAS" not in dict(outcome_for("conversions").glossary_for("USD"))


@pytest.mark.parametrize(
    "flags, needle",
    [
        (["--target-cpa", "0.01"], "lowest marginal CPA achievable"),
        (["--target-cpa", "-5"], "positive cost per extra conversion"),
        (["--target-mroas", "2"], "use --target-cpa"),
    ],
)
def test_bad_cpa_targets_exit_2(fitted, flags, needle):
    _, _, _, uri, run_id = fitted
    text = assert_clean_exit_2(invoke("optimize", "--run-id", run_id, "--budget", "auto", *flags, "--force", "--tracking-uri", uri))
    assert needle in text


# --- the arithmetic, without MCMC ------------------------------------------------------------------


def conversions_model(value: float | None = 100.0):
    """A 'fitted' conversions model (known posterior, no sampling): ch0 pays a 20% fee, ch1 nothing extra."""
    m = synthetic_model([0.05, 0.03], jitter=0.1, n_draws=40, channel_keys={"ch0": {"fee_rate": 0.2}})
    data = m.config.data.model_copy(update={"kpi": "conversions", "value_per_conversion": value})
    m.config = m.config.model_copy(update={"data": data})
    return m


def test_cpa_cac_roas_and_roi_arithmetic():
    d = channel_draws(conversions_model(100.0))
    np.testing.assert_allclose(d.cpa, d.cost / d.contribution)
    np.testing.assert_allclose(d.cac, d.spend / d.contribution)
    np.testing.assert_allclose(d.cpa.sel(channel="ch0"), 1.2 * d.cac.sel(channel="ch0"))  # full cost = spend + 20% fee
    np.testing.assert_allclose(d.cpa.sel(channel="ch1"), d.cac.sel(channel="ch1"))
    np.testing.assert_allclose(d.marginal_cpa, 1 / d.mroas)
    np.testing.assert_allclose(d.value_roas, 100.0 * d.contribution / d.spend)
    np.testing.assert_allclose(d.roi, (100.0 * d.contribution - d.cost) / d.cost)
    assert channel_draws(conversions_model(None)).roi is None  # no value: no net ROI


def test_margin_on_conversions_uses_the_value_and_needs_one():
    m = conversions_model(100.0)
    tiers = {c: "proven" for c in m.channels}
    result = choose_budget(m, 8, {"proven": 1.0}, tiers, wide_bounds(m, 20_000.0), margin=0.5)
    assert result.value_per_conversion == 100.0
    assert result.expected_profit.mean == pytest.approx(0.5 * 100.0 * result.forecast.incremental.mean - result.budget)
    # the profit optimum: an extra conversion costs what it earns, margin x value
    assert 1 / result.budget_curve.recommended_mroas == pytest.approx(50.0, rel=0.02)
    with pytest.raises(ArgumentError, match=r"set data\.value_per_conversion") as err:
        choose_budget(conversions_model(None), 8, {"proven": 1.0}, tiers, wide_bounds(m, 20_000.0), margin=0.5)
    assert err.value.argument == "margin"


def test_target_cpa_on_a_revenue_model_is_refused():
    m = synthetic_model([2.0, 1.0])
    with pytest.raises(ArgumentError, match="is for a conversions KPI") as err:
        recommend_budget(m, None, "auto", 8, target_cpa=40.0)  # type: ignore[arg-type]
    assert err.value.argument == "target_cpa"
    with pytest.raises(ArgumentError, match="needs --budget auto"):
        recommend_budget(m, None, 1000.0, 8, target_cpa=40.0)  # type: ignore[arg-type]


# --- bad input: the data and the config --------------------------------------------------------------


def write_conversions(folder: Path, column: list, extra: str = "") -> Path:
    """A 40-week conversions dataset with `column` as the conversions of its first rows, and its config."""
    rng = np.random.default_rng(0)
    n = 40
    conversions = rng.poisson(30, n).astype(object)
    conversions[: len(column)] = column
    df = pd.DataFrame(
        {
            "date": pd.date_range("2023-01-02", periods=n, freq="7D").strftime("%Y-%m-%d"),
            "signups": conversions,
            "search": np.round(rng.uniform(100, 500, n), 2),
        }
    )
    df.to_csv(folder / "data.csv", index=False)
    cfg = folder / "config.yaml"
    cfg.write_text(
        f"data: {{path: data.csv, target_column: signups, kpi: conversions{extra}}}\nchannels: [{{name: search, spend_column: search}}]\n"
    )
    return cfg


@pytest.mark.parametrize(
    "column, needle",
    [
        ([12.5, 30, 7.25], "whole numbers (rows 1, 3: 12.5, 7.25)"),
        ([30, -2], "cannot be negative (row 2: -2)"),
        ([386300926.3, 30], "whole numbers (row 1: 386300926.3)"),  # every digit shown, so the fraction is seen
    ],
)
def test_conversions_that_are_not_counts_exit_2(tmp_path, column, needle):
    text = assert_clean_exit_2(invoke("validate", write_conversions(tmp_path, column)))
    assert "data.csv" in text and "column 'signups'" in text and needle in text


@pytest.mark.parametrize(
    "extra, needle",
    [
        (", value_per_conversion: {colum: x}", "data.value_per_conversion.colum"),
        (", value_per_conversion: -3", "greater than 0"),
        (", value_per_conversion: {per_channel: {serch: 3}}", "unknown channel(s) serch"),
        (", value_per_conversion: {lifetime: {average_purchase_value: 40, purchase_frequency: 3}}", "lifetime.lifespan"),
        (", value_per_conversion: {column: value}", "unknown column 'value' (data.value_per_conversion.column)"),
    ],
)
def test_bad_value_per_conversion_exit_2(tmp_path, extra, needle):
    text = assert_clean_exit_2(invoke("validate", write_conversions(tmp_path, [], extra)))
    assert needle in text


def test_value_per_conversion_on_revenue_and_counts_likelihood_on_revenue_are_refused():
    base = "data: {{path: d.csv{}}}\nchannels: [{{name: a, spend_column: a}}]\n{}"
    with pytest.raises(ConfigError, match=r"applies to data\.kpi: conversions"):
        parse_config(base.format(", value_per_conversion: 50", ""))
    with pytest.raises(ConfigError, match=r"needs data\.kpi: conversions"):
        parse_config(base.format("", "model: {likelihood: negative_binomial}"))
    cfg = parse_config(base.format(", kpi: conversions, value_per_conversion: {lifetime: {average_purchase_value: 40, "
                                   "purchase_frequency: 3, lifespan: 2, per_channel: {a: {lifespan: 1}}}}", ""))  # fmt: skip
    assert cfg.model.likelihood == "negative_binomial"
    assert cfg.data.value_per_conversion.lifetime.of("a") == 120.0
    assert yaml.safe_load(cfg.to_yaml())["model"]["likelihood"] == "negative_binomial"


@pytest.mark.parametrize(
    ("value", "printed"),
    [(1234.5, "1,234"), (142.4, "142"), (23.44, "23.4"), (1.37, "1.4"), (-2.8, "-2.8"), (0.042, "0.04"), (2.3e-06, "0.00"), (0, "0")],
)
def test_small_counts_keep_a_decimal(value, printed):
    """A plan that brings 1.4 more conversions does not read as 1; counts from 100 up are whole."""
    words = outcome_for("conversions")
    assert words.figure(value) == printed
    assert outcome_for("revenue").figure(value) == f"{value:,.0f}"
    assert words.signed_figure(value) == (printed if value < 0 else f"+{printed}")


def test_a_plans_small_conversion_counts_are_printed_with_their_decimal(cpa_plan):
    output = cpa_plan[0]
    lines = [line for line in output.splitlines() if line.strip().startswith(("recommended plan:", "current mix:", "difference:"))]
    numbers = [n for line in lines for n in re.findall(r"-?[\d,]+(?:\.\d+)?", line.split(":")[1].split("CAC")[0])]
    assert len(numbers) == 9
    for n in numbers:  # whole from 100 up, else with one decimal (two under 0.1)
        assert abs(float(n.replace(",", ""))) >= 100 or "." in n, (n, lines)


@pytest.mark.parametrize(("value", "printed"), [(42.5, "42.50"), (1234.567, "1,234.57"), (0.0225, "0.0225"), (0.000012345, "0.0000123")])
def test_costs_per_conversion_below_one_keep_three_significant_digits(value, printed):
    assert cost(value) == printed
