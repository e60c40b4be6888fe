"""Files from real spreadsheets (semicolons, decimal commas) and the data checks of `mmm validate`:
each check built to fail or ask for a review on purpose, a clean scenario passing, and the JSON.
Nothing here samples, so the whole file runs in seconds."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from helpers import assert_clean_exit_2, invoke, isolated_workdir, printed

from mmm.config import load_config
from mmm.core.errors import DataError
from mmm.data.lifts import read_lifts
from mmm.data.loading import load_data
from mmm.data.plans import read_plan
from mmm.data.quality import (
    active_periods,
    periods_per_parameter,
    review_data,
    spend_correlation,
    spend_outliers,
    spend_variation,
    spend_vs_target,
    variance_inflation,
)
from mmm.data.reading import read_data_file, sniff_format

CHANNELS = ["search", "social", "display"]  # the `clean` scenario
CHECKS = {
    "spend_correlation",
    "variance_inflation",
    "periods_per_parameter",
    "active_periods",
    "spend_variation",
    "spend_outliers",
    "spend_vs_target",
}


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    yield from isolated_workdir(tmp_path_factory, "data_quality")


@pytest.fixture(scope="module")
def sim(workdir) -> Path:
    """`mmm simulate --scenario clean --lifts search`: 104 weekly rows, 3 channels, a price control, one lift test."""
    out = workdir / "sim"
    result = invoke("simulate", "--scenario", "clean", "--out", out, "--lifts", "search")
    assert result.exit_code == 0, result.output
    return out


def case(folder: Path, df: pd.DataFrame, channels: dict[str, str] | None = None) -> Path:
    """The clean scenario's config over `df` (written as data.csv in `folder`), with these channels; returns the config."""
    folder.mkdir(parents=True, exist_ok=True)
    df.to_csv(folder / "data.csv", index=False)
    spec = {
        "data": {"path": "data.csv", "date_column": "date", "target_column": "revenue"},
        "channels": [{"name": n, "spend_column": c} for n, c in (channels or {c: f"{c}_spend" for c in CHANNELS}).items()],
        "controls": ["price_index"],
    }
    config = folder / "config.yaml"
    config.write_text(yaml.safe_dump(spec, sort_keys=False))
    return config


def validate_json(config: Path, out: Path) -> tuple[str, dict, int]:
    """`mmm validate CONFIG --output-json OUT`: (everything printed, the JSON, the exit status)."""
    result = invoke("validate", config, "--output-json", out)
    return printed(result), json.loads(out.read_text()), result.exit_code


def check(payload: dict, name: str) -> dict:
    return next(c for c in payload["review"]["checks"] if c["name"] == name)


def european(text: str, grouped: bool = False) -> str:
    """A comma CSV as a European spreadsheet exports it: semicolons, decimal commas; optionally
    thousands grouped with points ('12.345,67') and dates as day.month.year."""
    out = []
    for line in text.splitlines():
        cells = []
        for cell in line.split(","):
            if grouped and re.fullmatch(r"\d{4}-\d{2}-\d{2}", cell):
                cell = pd.Timestamp(cell).strftime("%d.%m.%Y")
            elif re.fullmatch(r"\d+\.\d+", cell):
                whole, fraction = cell.split(".")
                cell = (f"{int(whole):,}".replace(",", ".") if grouped else whole) + "," + fraction
            cells.append(cell)
        out.append(";".join(cells))
    return "\n".join(out) + "\n"


# --- reading files from spreadsheets ---------------------------------------------------------


@pytest.mark.parametrize("grouped", [False, True], ids=["plain", "thousands-and-day-first-dates"])
def test_semicolon_decimal_comma_file_loads_the_same_numbers(sim, isolated, grouped):
    euro = isolated / "euro"
    euro.mkdir()
    (euro / "data.csv").write_text(european((sim / "data.csv").read_text(), grouped), encoding="utf-8")
    if grouped:
        assert re.search(r";\d{1,3}\.\d{3},\d+;", (euro / "data.csv").read_text())  # '12.345,67' really is in the file
    config = euro / "config.yaml"
    config.write_text((sim / "config.yaml").read_text())
    comma, semi = load_data(load_config(sim / "config.yaml")), load_data(load_config(config))
    assert (semi.dates == comma.dates).all()
    np.testing.assert_array_equal(semi.target_series(), comma.target_series())
    np.testing.assert_array_equal(semi.spend_matrix(), comma.spend_matrix())
    np.testing.assert_array_equal(semi.control_matrix(), comma.control_matrix())
    assert semi.notes[0] == "Read data.csv as semicolon-separated with decimal commas"
    assert comma.notes[0] == "Read data.csv as comma-separated with decimal points"
    assert semi.notes[1:] == comma.notes[1:]

    text, payload, status = validate_json(config, isolated / "v.json")
    assert status == 0, text
    assert "Read data.csv as semicolon-separated with decimal commas" in text
    assert payload["read_as"] == {"delimiter": ";", "decimal": ","}


def test_tab_separated_file_is_sniffed(sim, isolated):
    tsv = isolated / "data.tsv"
    pd.read_csv(sim / "data.csv").to_csv(tsv, sep="\t", index=False)
    fmt = sniff_format(tsv)
    assert (fmt.delimiter, fmt.decimal) == ("\t", ".")
    table = read_data_file(tsv)
    pd.testing.assert_frame_equal(table.frame, pd.read_csv(sim / "data.csv"))
    assert table.note(tsv) == "Read data.tsv as tab-separated with decimal points"


def test_parquet_is_read_as_parquet(sim, isolated):
    pd.read_csv(sim / "data.csv").to_parquet(isolated / "data.parquet", index=False)
    config = isolated / "config.yaml"
    config.write_text((sim / "config.yaml").read_text().replace("path: data.csv", "path: data.parquet"))
    text, payload, status = validate_json(config, isolated / "v.json")
    assert status == 0, text
    assert payload["read_as"] is None
    assert payload["notes"][0] == "Read data.parquet as Parquet"


def test_mixed_decimal_marks_exit_2_naming_both(sim, isolated):
    df = pd.read_csv(sim / "data.csv")
    text = df.to_csv(sep=";", index=False)  # points everywhere ...
    (isolated / "data.csv").write_text(text.replace("100.18", "100,18"))  # ... and one comma
    config = isolated / "config.yaml"
    config.write_text((sim / "config.yaml").read_text())
    out = assert_clean_exit_2(invoke("validate", config))
    assert "both decimal marks" in out and "'price_index' holds '100,18'" in out


def test_lift_and_plan_files_may_use_semicolons(sim, isolated):
    data = load_data(load_config(sim / "config.yaml"))
    lifts = isolated / "lifts.csv"
    lifts.write_text(european((sim / "lifts.csv").read_text()))
    assert read_lifts(lifts, data) == read_lifts(sim / "lifts.csv", data)
    plan = isolated / "plan.csv"
    plan.write_text("week;search;social;display\n1;1.200,50;800;0\n2;1.000;800,25;300\n")
    found = read_plan(plan, CHANNELS, ["price_index"])
    np.testing.assert_array_equal(found.spend, [[1200.5, 800.0, 0.0], [1000.0, 800.25, 300.0]])


# --- the data checks ---------------------------------------------------------------------------


def test_clean_scenario_passes_every_check(sim, isolated):
    text, payload, status = validate_json(sim / "config.yaml", isolated / "v.json")
    assert status == 0, text
    assert "Data checks: PASS (score 100/100)" in text
    assert "OK: the data is ready to fit." in text
    assert {c["name"] for c in payload["review"]["checks"]} == CHECKS
    assert all(c["status"] == "PASS" for c in payload["review"]["checks"])


def test_a_scaled_copy_of_a_channel_fails_correlation_and_exits_2(sim, isolated):
    df = pd.read_csv(sim / "data.csv")
    df["search_copy_spend"] = df["search_spend"] * 1.5
    config = case(isolated, df, {**{c: f"{c}_spend" for c in CHANNELS}, "search_copy": "search_copy_spend"})
    result = invoke("validate", config, "--output-json", isolated / "v.json")
    text = assert_clean_exit_2(result)
    error = next(line for line in text.splitlines() if line.startswith("Error:"))
    assert "spend_correlation" in error and "'search' and 'search_copy'" in error
    assert "Merge them into one channel or vary one of them" in error
    assert "OK:" not in text
    payload = json.loads((isolated / "v.json").read_text())  # written before the refusal
    corr = check(payload, "spend_correlation")
    assert (corr["status"], corr["threshold"]) == ("FAIL", 0.999) and corr["value"] == pytest.approx(1.0)
    assert payload["review"]["status"] == "FAIL"


def test_a_channel_that_is_the_sum_of_two_others_fails_variance_inflation(sim, isolated):
    df = pd.read_csv(sim / "data.csv")
    df["display_spend"] = df["search_spend"] + df["social_spend"]  # no pair moves together, the three do
    text = assert_clean_exit_2(invoke("validate", case(isolated, df), "--output-json", isolated / "v.json"))
    payload = json.loads((isolated / "v.json").read_text())
    assert check(payload, "spend_correlation")["status"] == "PASS"
    vif = check(payload, "variance_inflation")
    assert vif["status"] == "FAIL" and "'display'" in vif["message"]
    assert "variance_inflation" in text and "spend_correlation" not in text.split("Error:")[1]


def test_a_channel_in_cents_asks_for_a_review_naming_it(sim, isolated):
    df = pd.read_csv(sim / "data.csv")
    df["social_spend"] *= 100  # exported in cents
    text, payload, status = validate_json(case(isolated, df), isolated / "v.json")
    assert status == 0, text
    found = check(payload, "spend_vs_target")
    assert found["status"] == "REVIEW" and found["value"] > 1 and "'social'" in found["message"]
    assert "not cents or thousands" in text and "'search'" not in found["message"]


def test_spend_against_the_target_counts_conversions_at_their_value():
    spend = np.array([[50.0, 5.0], [50.0, 5.0]])
    assert spend_vs_target(spend, ["a", "b"], np.array([100.0, 100.0])).status == "PASS"
    assert spend_vs_target(spend, ["a", "b"], np.array([40.0, 40.0])).status == "REVIEW"
    assert spend_vs_target(spend, ["a", "b"], None).status == "PASS"  # conversions without a value: nothing to compare


def test_a_channel_that_mostly_follows_others_asks_for_a_review():
    rng = np.random.default_rng(3)
    a, b = rng.uniform(100, 1000, 104), rng.uniform(100, 1000, 104)
    spend = np.column_stack([a, b, a + b + rng.normal(0, 60, 104)])
    found = variance_inflation(spend, np.zeros((104, 0)), ["a", "b", "c"], [])
    assert found.status == "REVIEW" and 10 < found.value < 1000
    assert "'c' (variance inflation" in found.message


def test_a_spike_week_asks_for_a_review_naming_the_date(sim, isolated):
    df = pd.read_csv(sim / "data.csv")
    active = df["social_spend"] > 0
    row = int(np.flatnonzero(active)[20])
    df.loc[row, "social_spend"] = 20 * df.loc[active, "social_spend"].median()
    text, payload, status = validate_json(case(isolated, df), isolated / "v.json")
    assert status == 0, text
    outliers = check(payload, "spend_outliers")
    assert outliers["status"] == "REVIEW"
    assert f"'social' on {df.loc[row, 'date']}" in outliers["message"]
    assert outliers["value"] == pytest.approx(20.0, rel=0.05)  # times the median active week
    assert payload["review"]["status"] == "REVIEW"
    assert "OK: the data is ready to fit; read the checks marked REVIEW." in text


def test_few_periods_for_the_parameters_ask_for_a_review(sim, isolated):
    df = pd.read_csv(sim / "data.csv").head(60)  # 17 parameters: 3.5 periods each
    text, payload, status = validate_json(case(isolated, df), isolated / "v.json")
    assert status == 0, text
    ppp = check(payload, "periods_per_parameter")
    assert ppp["status"] == "REVIEW" and "60 periods for 17 model parameters" in ppp["message"]
    assert periods_per_parameter(30, 17).status == "FAIL"  # `load_data` refuses such data before the checks
    assert periods_per_parameter(85, 17).status == "PASS"


def test_constant_or_rare_spend_asks_for_a_review(sim, isolated):
    df = pd.read_csv(sim / "data.csv")
    df["display_spend"] = 2500.0  # a fixed sponsorship: indistinguishable from the baseline
    text, payload, status = validate_json(case(isolated, df), isolated / "v.json")
    assert status == 0, text
    assert check(payload, "spend_variation")["status"] == "REVIEW" and "'display'" in check(payload, "spend_variation")["message"]
    assert check(payload, "spend_correlation")["status"] == "PASS"  # a constant channel correlates with nothing
    spend = np.zeros((60, 2))
    spend[:, 0] = np.linspace(100, 200, 60)
    spend[[5, 40], 1] = 900.0  # 2 of 60 periods
    rare = active_periods(spend, ["a", "b"])
    assert rare.status == "REVIEW" and "'b' (3%)" in rare.message
    assert spend_variation(spend, ["a", "b"]).status == "PASS"


def test_checks_name_channels_in_plain_words():
    spend = np.column_stack([np.arange(1.0, 61.0), 3 * np.arange(1.0, 61.0) + 0.5])
    corr = spend_correlation(spend, ["tv", "radio"])
    assert corr.status == "FAIL" and "'tv' and 'radio'" in corr.message
    dates = pd.date_range("2024-01-01", periods=60, freq="7D")
    steady = np.full((60, 1), 1000.0) + np.arange(60)[:, None]
    assert spend_outliers(steady, ["search"], dates).status == "PASS"


def test_review_data_runs_every_check(sim):
    cfg = load_config(sim / "config.yaml")
    review = review_data(load_data(cfg), parameters=17)
    assert {c.name for c in review.checks} == CHECKS
    assert review.status == "PASS" and review.score == 100


def test_output_json_shape(sim, isolated):
    text, payload, status = validate_json(sim / "config.yaml", isolated / "v.json")
    assert status == 0, text
    assert set(payload) == {"source", "periods", "first_date", "last_date", "read_as", "notes", "warnings", "review", "lift_tests"}
    assert payload["source"].endswith("data.csv")
    assert (payload["periods"], payload["first_date"]) == (104, "2023-01-02")
    assert payload["last_date"] == str(pd.Timestamp("2023-01-02") + pd.Timedelta(weeks=103))[:10]
    assert payload["read_as"] == {"delimiter": ",", "decimal": "."}
    assert payload["notes"][0] == "Read data.csv as comma-separated with decimal points" and payload["warnings"] == []
    review = payload["review"]
    assert set(review) == {"status", "score", "checks"}
    for c in review["checks"]:
        assert set(c) == {"name", "status", "value", "threshold", "message"}
        assert c["status"] in ("PASS", "REVIEW", "FAIL") and isinstance(c["value"], float) and c["message"]
    assert f"Results written to {isolated / 'v.json'}" in text


def test_missing_data_file_still_exits_2(isolated):
    config = isolated / "config.yaml"
    config.write_text(yaml.safe_dump({"data": {"path": "nowhere.csv"}, "channels": [{"name": "a", "spend_column": "a"}]}))
    text = assert_clean_exit_2(invoke("validate", config))
    assert "nowhere.csv" in text and "not found" in text


def test_unreadable_decimal_comma_cell_names_its_row(sim, isolated):
    df = pd.read_csv(sim / "data.csv")
    df["social_spend"] = df["social_spend"].astype(object)
    df.loc[6, "social_spend"] = "n.a."
    (isolated / "data.csv").write_text(european(df.to_csv(index=False)))
    config = isolated / "config.yaml"
    config.write_text((sim / "config.yaml").read_text())
    with pytest.raises(DataError, match=r"'social_spend'.*row 7 holds 'n.a.'"):
        load_data(load_config(config))
