"""The data contract: every problem names the file, the column and the rows (row 1 is the first
line under the header); problems that make a fit meaningless are DataErrors, weaker ones warnings."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from mmm.config import load_config
from mmm.core.errors import DataError
from mmm.data.dataset import ModelData, format_rows
from mmm.data.loading import count_parameters, load_data

CHANNELS = {"google_search": "google_search_spend", "meta": "meta_spend", "tv": "tv_spend"}


def make_frame(n: int = 60, *, freq: str = "W-MON", start: str = "2023-01-02", seed: int = 0) -> pd.DataFrame:
    """n periods of plausible, independent spend, a numeric control and revenue driven by them."""
    rng = np.random.default_rng(seed)
    dates = pd.date_range(start, periods=n, freq=freq)
    df = pd.DataFrame({"date": dates.strftime("%Y-%m-%d")})
    spend = {}
    for i, col in enumerate(CHANNELS.values()):
        spend[col] = np.round(rng.uniform(100, 1000, n) * (i + 1), 2)
    price = np.round(1 + 0.05 * rng.standard_normal(n), 3)
    revenue = 5000 + sum(0.8 * s for s in spend.values()) - 2000 * (price - 1) + rng.normal(0, 100, n)
    df["revenue"] = np.round(revenue, 2)
    for col, values in spend.items():
        df[col] = values
    df["price_index"] = price
    df["notes"] = "x"  # a column the config does not use
    return df


def write_case(
    tmp_path: Path,
    df: pd.DataFrame | None,
    *,
    channels: dict[str, str] | None = None,
    controls: list[str] | None = None,
    data_name: str = "data.csv",
    model: dict | None = None,
    data: dict | None = None,
):
    """Write df (CSV or Parquet by suffix) and a config next to it; return the loaded Config."""
    channels = CHANNELS if channels is None else channels
    controls = ["price_index"] if controls is None else controls
    if df is not None:
        target = tmp_path / data_name
        if target.suffix == ".parquet":
            df.to_parquet(target, index=False)
        else:
            df.to_csv(target, index=False)
    spec = {
        "data": {"path": data_name, "date_column": "date", "target_column": "revenue", **(data or {})},
        "channels": [{"name": name, "spend_column": col, "tier": "proven"} for name, col in channels.items()],
        "controls": controls,
        "sampler": {"draws": 100, "tune": 100, "chains": 2, "seed": 1},
    }
    if model:
        spec["model"] = model
    cfg_path = tmp_path / "mmm.yaml"
    cfg_path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return load_config(cfg_path)


def data_error(cfg) -> str:
    """Load data that must fail; return the DataError message after checking the common parts."""
    with pytest.raises(DataError) as info:
        load_data(cfg)
    assert info.value.exit_code == 2
    msg = str(info.value)
    assert str(cfg.data_path()) in msg, f"message does not name the file: {msg}"
    return msg


def as_object(df: pd.DataFrame, column: str) -> pd.DataFrame:
    df[column] = df[column].astype(object)
    return df


# --- the happy path ---------------------------------------------------------------------------


def test_clean_weekly_file_loads(tmp_path):
    df = make_frame()
    cfg = write_case(tmp_path, df)
    md = load_data(cfg)
    assert isinstance(md, ModelData)
    assert md.frequency == "weekly"
    assert md.n_periods == 60
    assert md.channels == ["google_search", "meta", "tv"]
    assert md.spend.shape == (60, 1, 3)
    assert md.target.shape == (60, 1)
    assert md.spend_matrix().shape == (60, 3)
    assert md.target_series().shape == (60,)
    assert md.control_names == ["price_index"]
    assert md.controls.shape == (60, 1, 1)
    assert md.control_matrix().shape == (60, 1)
    np.testing.assert_allclose(md.target_series(), df["revenue"].to_numpy())
    np.testing.assert_allclose(md.spend.sel(geo="national", channel="meta"), df["meta_spend"].to_numpy())
    np.testing.assert_allclose(md.spend_matrix()[:, md.channels.index("meta")], df["meta_spend"].to_numpy())
    np.testing.assert_allclose(md.controls.sel(geo="national", control="price_index"), df["price_index"].to_numpy())
    assert md.dates[0] == pd.Timestamp("2023-01-02")
    assert md.dates.is_monotonic_increasing
    assert md.source == str(cfg.data_path())
    assert md.warnings == ()


def test_notes_describe_each_column_and_unused_ones(tmp_path):
    md = load_data(write_case(tmp_path, make_frame()))
    text = "\n".join(md.notes)
    assert "weekly" in text
    assert "'revenue': target" in text
    assert "google_search_spend" in text and "google_search" in text
    assert "'price_index': numeric control" in text
    assert any("not used" in n and "notes" in n for n in md.notes)


def test_data_path_is_relative_to_config_not_cwd(tmp_path, monkeypatch):
    cfg = write_case(tmp_path, make_frame())
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    assert load_data(cfg).n_periods == 60


def test_parquet_input_works(tmp_path):
    df = make_frame()
    csv_dir, pq_dir = tmp_path / "csv", tmp_path / "parquet"
    csv_dir.mkdir()
    pq_dir.mkdir()
    csv_md = load_data(write_case(csv_dir, df))
    pq_md = load_data(write_case(pq_dir, df, data_name="data.parquet"))
    assert pq_md.frequency == "weekly"
    assert pq_md.n_periods == 60
    assert pq_md.source.endswith("data.parquet")
    np.testing.assert_allclose(pq_md.spend_matrix(), csv_md.spend_matrix())
    np.testing.assert_allclose(pq_md.target_series(), csv_md.target_series())
    assert (pq_md.dates == csv_md.dates).all()


def test_parquet_with_real_datetime_column(tmp_path):
    df = make_frame()
    df["date"] = pd.to_datetime(df["date"])
    md = load_data(write_case(tmp_path, df, data_name="data.parquet"))
    assert md.frequency == "weekly"
    assert md.dates[0] == pd.Timestamp("2023-01-02")


def test_parquet_errors_name_rows_too(tmp_path):
    df = make_frame()
    df.loc[6, "tv_spend"] = -5.0
    msg = data_error(write_case(tmp_path, df, data_name="data.parquet"))
    assert "'tv_spend'" in msg and "row 7" in msg


def test_unreadable_parquet_is_a_data_error(tmp_path):
    (tmp_path / "data.parquet").write_text("this is not parquet")
    msg = data_error(write_case(tmp_path, None, data_name="data.parquet"))
    assert "cannot read" in msg
    assert "Parquet" in msg


def test_unsorted_dates_are_sorted(tmp_path):
    df = make_frame()
    shuffled = df.sample(frac=1, random_state=3).reset_index(drop=True)
    assert not pd.to_datetime(shuffled["date"]).is_monotonic_increasing
    md = load_data(write_case(tmp_path, shuffled))
    assert md.dates.is_monotonic_increasing
    assert md.frequency == "weekly"
    # every row stays together: target, spend and controls follow their dates
    np.testing.assert_allclose(md.target_series(), df["revenue"].to_numpy())
    np.testing.assert_allclose(md.spend.sum("geo").sel(channel="tv"), df["tv_spend"].to_numpy())
    np.testing.assert_allclose(md.control_matrix()[:, 0], df["price_index"].to_numpy())
    assert list(md.dates.strftime("%Y-%m-%d")) == list(df["date"])


def test_unsorted_file_reports_file_rows(tmp_path):
    df = make_frame().iloc[::-1].reset_index(drop=True)  # newest first
    df = df.drop(index=10).reset_index(drop=True)  # leaves a two-week gap between file rows 10 and 11
    msg = data_error(write_case(tmp_path, df))
    assert "weekly" in msg and "gap" in msg
    assert "rows 11" in msg and "and 10" in msg


def test_daily_data_is_accepted_and_detected(tmp_path):
    df = make_frame(n=90, freq="D")
    md = load_data(write_case(tmp_path, df))
    assert md.frequency == "daily"
    assert md.n_periods == 90
    assert any("daily" in n for n in md.notes)


def test_explicit_weekly_frequency(tmp_path):
    md = load_data(write_case(tmp_path, make_frame(), data={"frequency": "weekly"}))
    assert md.frequency == "weekly"


def test_explicit_frequency_that_does_not_match_is_an_error(tmp_path):
    msg = data_error(write_case(tmp_path, make_frame(n=90, freq="D"), data={"frequency": "weekly"}))
    assert "'date'" in msg
    assert "weekly" in msg


def test_head_keeps_the_first_periods(tmp_path):
    md = load_data(write_case(tmp_path, make_frame()))
    first = md.head(40)
    assert first.n_periods == 40
    assert first.spend_matrix().shape == (40, 3) and first.control_matrix().shape == (40, 1)
    assert first.channels == md.channels
    assert (first.dates == md.dates[:40]).all()
    np.testing.assert_allclose(first.spend_matrix(), md.spend_matrix()[:40])
    last = md.tail(20)
    assert last.n_periods == 20
    assert (last.dates == md.dates[-20:]).all()
    np.testing.assert_allclose(last.target_series(), md.target_series()[-20:])
    frame = md.to_frame()
    assert list(frame.columns) == [
        "date",
        "target",
        "spend:google_search",
        "spend:meta",
        "spend:tv",
        "control:price_index",
    ]


def test_national_data_has_named_dims_and_one_geo(tmp_path):
    md = load_data(write_case(tmp_path, make_frame()))
    assert md.geos == ["national"]
    assert md.target.dims == ("date", "geo")
    assert md.spend.dims == ("date", "geo", "channel")
    assert md.controls.dims == ("date", "geo", "control")
    assert list(md.inputs["channel"].values) == ["google_search", "meta", "tv"]
    assert list(md.inputs["control"].values) == ["price_index"]
    assert (pd.DatetimeIndex(md.inputs["date"].values) == md.dates).all()
    # selecting by name gives the same numbers as the national helpers
    np.testing.assert_allclose(md.spend.sel(geo="national").transpose("date", "channel"), md.spend_matrix())


def test_from_arrays_builds_national_data_by_name():
    dates = pd.date_range("2024-01-01", periods=4, freq="7D")
    spend = np.array([[1.0, 10.0], [2.0, 20.0], [3.0, 30.0], [4.0, 40.0]])
    md = ModelData.from_arrays(
        dates,
        "weekly",
        np.arange(4.0),
        spend,
        ["a", "b"],
        controls=np.array([5.0, 6.0, 7.0, 8.0]),
        control_names=["price"],
        warnings=["w"],
        notes=["n"],
    )
    assert md.geos == ["national"] and md.channels == ["a", "b"] and md.control_names == ["price"]
    assert md.spend.dims == ("date", "geo", "channel") and md.spend.shape == (4, 1, 2)
    np.testing.assert_allclose(md.spend.sel(channel="b", geo="national"), [10, 20, 30, 40])
    np.testing.assert_allclose(md.control_matrix()[:, 0], [5, 6, 7, 8])
    assert md.warnings == ("w",) and md.notes == ("n",)
    assert md.n_periods == 4 and md.frequency == "weekly"


# --- file and columns -------------------------------------------------------------------------


def test_missing_data_file(tmp_path):
    cfg = write_case(tmp_path, None)
    msg = data_error(cfg)
    assert "data.csv" in msg
    assert "not found" in msg


def test_unknown_spend_column_lists_file_columns(tmp_path):
    cfg = write_case(tmp_path, make_frame(), channels={**CHANNELS, "bing": "bing_spend"})
    msg = data_error(cfg)
    assert "unknown column" in msg
    assert "'bing_spend'" in msg
    assert "bing" in msg
    have = msg.split("the file has:")[1]
    for col in ["date", "revenue", "google_search_spend", "meta_spend", "tv_spend", "price_index", "notes"]:
        assert col in have


def test_unknown_target_and_control_columns_are_all_named(tmp_path):
    cfg = write_case(tmp_path, make_frame(), controls=["price_index", "temperature"], data={"target_column": "sales"})
    msg = data_error(cfg)
    assert "'sales'" in msg and "data.target_column" in msg
    assert "'temperature'" in msg and "control" in msg
    assert "the file has:" in msg


def test_unknown_date_column(tmp_path):
    msg = data_error(write_case(tmp_path, make_frame(), data={"date_column": "week"}))
    assert "'week'" in msg and "data.date_column" in msg


def test_header_only_file(tmp_path):
    df = make_frame().iloc[:0]
    msg = data_error(write_case(tmp_path, df))
    assert "no rows" in msg


# --- dates ------------------------------------------------------------------------------------


def test_unparseable_date_names_column_row_and_value(tmp_path):
    df = make_frame()
    df.loc[3, "date"] = "not a date"
    msg = data_error(write_case(tmp_path, df))
    assert "column 'date'" in msg
    assert "row 4" in msg
    assert "not a date" in msg


def test_several_unparseable_dates(tmp_path):
    df = make_frame()
    df.loc[[2, 9], "date"] = ["2023-13-45", "soon"]
    msg = data_error(write_case(tmp_path, df))
    assert "rows 3, 10" in msg


def test_missing_date(tmp_path):
    df = make_frame()
    df.loc[5, "date"] = None
    msg = data_error(write_case(tmp_path, df))
    assert "column 'date'" in msg
    assert "missing" in msg and "row 6" in msg


def test_duplicate_dates_name_both_rows(tmp_path):
    df = make_frame()
    df.loc[9, "date"] = df.loc[8, "date"]
    msg = data_error(write_case(tmp_path, df))
    assert "column 'date'" in msg
    assert "duplicate" in msg
    assert "rows 9, 10" in msg


def test_gap_in_weekly_dates(tmp_path):
    df = make_frame().drop(index=20).reset_index(drop=True)
    msg = data_error(write_case(tmp_path, df))
    assert "column 'date'" in msg
    assert "weekly" in msg
    assert "gap" in msg
    assert "14 days" in msg
    assert "rows 20" in msg and "and 21" in msg
    assert "2023-05-15" in msg and "2023-05-29" in msg  # the dates on both sides of the gap


def test_several_gaps_are_counted(tmp_path):
    df = make_frame().drop(index=[20, 40]).reset_index(drop=True)
    msg = data_error(write_case(tmp_path, df))
    assert "2 such places" in msg


def test_irregular_spacing(tmp_path):
    df = make_frame()
    df.loc[30, "date"] = (pd.Timestamp(df.loc[30, "date"]) + pd.Timedelta(days=3)).strftime("%Y-%m-%d")
    msg = data_error(write_case(tmp_path, df))
    assert "column 'date'" in msg
    assert "irregular spacing" in msg
    assert "weekly" in msg
    assert "rows 30 (2023-07-24) and 31 (2023-08-03)" in msg  # the moved date is row 31
    assert "2 such places" in msg


def test_gap_in_daily_dates(tmp_path):
    df = make_frame(n=90, freq="D").drop(index=50).reset_index(drop=True)
    msg = data_error(write_case(tmp_path, df))
    assert "daily" in msg and "gap" in msg
    assert "rows 50" in msg and "51" in msg


def test_monthly_data_is_not_supported(tmp_path):
    msg = data_error(write_case(tmp_path, make_frame(freq="MS")))
    assert "column 'date'" in msg
    assert "weekly" in msg and "daily" in msg


# --- spend --------------------------------------------------------------------------------------


def test_missing_spend(tmp_path):
    df = make_frame()
    df.loc[[4, 11], "meta_spend"] = np.nan
    msg = data_error(write_case(tmp_path, df))
    assert "column 'meta_spend'" in msg
    assert "missing" in msg
    assert "rows 5, 12" in msg


def test_negative_spend(tmp_path):
    df = make_frame()
    df.loc[6, "google_search_spend"] = -50.0
    msg = data_error(write_case(tmp_path, df))
    assert "column 'google_search_spend'" in msg
    assert "negative" in msg
    assert "row 7" in msg


def test_non_numeric_spend(tmp_path):
    df = as_object(make_frame(), "tv_spend")
    df.loc[9, "tv_spend"] = "$100"
    msg = data_error(write_case(tmp_path, df))
    assert "column 'tv_spend'" in msg
    assert "numeric" in msg
    assert "row 10" in msg
    assert "$100" in msg


@pytest.mark.parametrize("value", ["inf", "-inf", "Infinity"])
def test_infinite_spend_is_rejected(tmp_path, value):
    df = as_object(make_frame(), "meta_spend")
    df.loc[17, "meta_spend"] = value
    msg = data_error(write_case(tmp_path, df))
    assert "column 'meta_spend'" in msg
    assert "row 18" in msg
    assert "inf" in msg.lower()  # the CSV reader may turn the text into a float inf


def test_every_kind_of_bad_cell_in_a_column_is_named_at_once(tmp_path):
    """A spreadsheet export with a blank, 'n/a', text and a refund in one column: one run of validate lists them all."""
    df = as_object(make_frame(), "tv_spend")
    df.loc[4, "tv_spend"] = np.nan
    df.loc[8, "tv_spend"] = "n/a"  # read as blank
    df.loc[12, "tv_spend"] = "-"
    df.loc[20, "tv_spend"] = -75.0
    df = as_object(df, "revenue")
    df.loc[30, "revenue"] = "tbc"
    msg = data_error(write_case(tmp_path, df))
    assert "4 problems to fix" in msg
    lines = msg.splitlines()[1:]
    assert "column 'tv_spend': missing values in rows 5, 9" in lines[1]
    assert "column 'tv_spend': spend must be numeric; row 13 holds '-'" in lines[2]
    assert "column 'tv_spend': negative spend in row 21" in lines[3]
    assert "column 'revenue': the target must be numeric; row 31 holds 'tbc'" in lines[0]


def test_many_bad_rows_are_summarised(tmp_path):
    df = as_object(make_frame(), "tv_spend")
    df.loc[0:11, "tv_spend"] = "lots"
    msg = data_error(write_case(tmp_path, df))
    assert "rows 1, 2, 3, 4, 5, 6, 7, 8 and 4 more" in msg


def test_channel_with_no_spend(tmp_path):
    df = make_frame()
    df["tv_spend"] = 0.0
    msg = data_error(write_case(tmp_path, df))
    assert "column 'tv_spend'" in msg
    assert "'tv'" in msg
    assert "no spend" in msg


# --- target -------------------------------------------------------------------------------------


def test_missing_target(tmp_path):
    df = make_frame()
    df.loc[14, "revenue"] = np.nan
    msg = data_error(write_case(tmp_path, df))
    assert "column 'revenue'" in msg
    assert "missing" in msg and "row 15" in msg


def test_non_numeric_target(tmp_path):
    df = as_object(make_frame(), "revenue")
    df.loc[2, "revenue"] = "lots"
    msg = data_error(write_case(tmp_path, df))
    assert "column 'revenue'" in msg
    assert "numeric" in msg
    assert "row 3" in msg and "lots" in msg


def test_infinite_target_is_rejected(tmp_path):
    df = make_frame()
    df.loc[4, "revenue"] = np.inf
    msg = data_error(write_case(tmp_path, df))
    assert "column 'revenue'" in msg
    assert "row 5" in msg


def test_constant_target(tmp_path):
    df = make_frame()
    df["revenue"] = 1234.0
    msg = data_error(write_case(tmp_path, df))
    assert "column 'revenue'" in msg
    assert "constant" in msg


# --- controls -----------------------------------------------------------------------------------


def test_missing_control(tmp_path):
    df = make_frame()
    df.loc[29, "price_index"] = np.nan
    msg = data_error(write_case(tmp_path, df))
    assert "column 'price_index'" in msg
    assert "missing" in msg and "row 30" in msg


def test_infinite_control_is_rejected(tmp_path):
    df = make_frame()
    df.loc[[8, 9], "price_index"] = [np.inf, -np.inf]
    msg = data_error(write_case(tmp_path, df))
    assert "column 'price_index'" in msg
    assert "infinite" in msg
    assert "rows 9, 10" in msg


def test_boolean_control_is_numeric(tmp_path):
    df = make_frame()
    df["holiday"] = np.arange(60) % 13 == 0
    md = load_data(write_case(tmp_path, df, controls=["holiday"]))
    assert md.control_names == ["holiday"]
    np.testing.assert_array_equal(np.flatnonzero(md.control_matrix()[:, 0]), np.flatnonzero(df["holiday"]))


def test_constant_numeric_control(tmp_path):
    df = make_frame()
    df["price_index"] = 1.0
    msg = data_error(write_case(tmp_path, df))
    assert "column 'price_index'" in msg
    assert "constant" in msg


def test_constant_text_control(tmp_path):
    df = make_frame()
    df["events"] = "none"
    msg = data_error(write_case(tmp_path, df, controls=["price_index", "events"]))
    assert "column 'events'" in msg
    assert "constant" in msg


def test_text_control_becomes_indicators_against_most_common_level(tmp_path):
    df = make_frame()
    events = np.array(["none"] * 60, dtype=object)
    events[[5, 17, 33]] = "event1"
    events[[40, 41]] = "event2"
    df["events"] = events
    md = load_data(write_case(tmp_path, df, controls=["price_index", "events"]))
    assert md.control_names == ["price_index", "events=event1", "events=event2"]
    assert md.control_matrix().shape == (60, 3)
    np.testing.assert_array_equal(np.flatnonzero(md.controls.sel(geo="national", control="events=event1")), [5, 17, 33])
    np.testing.assert_array_equal(np.flatnonzero(md.controls.sel(geo="national", control="events=event2")), [40, 41])
    assert set(np.unique(md.control_matrix()[:, 1:])) == {0.0, 1.0}
    note = next(n for n in md.notes if n.startswith("'events'"))
    assert "categorical" in note
    assert "'none'" in note
    assert "event1" in note and "event2" in note


def test_text_control_indicators_follow_sorted_dates(tmp_path):
    df = make_frame()
    df["events"] = "none"
    df.loc[[3, 50], "events"] = "promo"
    shuffled = df.sample(frac=1, random_state=11).reset_index(drop=True)
    md = load_data(write_case(tmp_path, shuffled, controls=["events"]))
    assert md.control_names == ["events=promo"]
    np.testing.assert_array_equal(np.flatnonzero(md.controls.sel(geo="national", control="events=promo")), [3, 50])


# --- amount of data -----------------------------------------------------------------------------


def test_fewer_than_26_periods_is_an_error(tmp_path):
    msg = data_error(write_case(tmp_path, make_frame(n=25)))
    assert "only 25 periods" in msg
    assert "26" in msg


@pytest.mark.parametrize("n", [26, 51])
def test_26_to_51_periods_is_a_warning(tmp_path, n):
    # one channel and no controls keep the parameter count low enough for 26 periods
    cfg = write_case(tmp_path, make_frame(n=n), channels={"google_search": "google_search_spend"}, controls=[])
    md = load_data(cfg)
    assert md.n_periods == n
    assert any(f"only {n} periods" in w for w in md.warnings)


def test_52_periods_has_no_length_warning(tmp_path):
    md = load_data(write_case(tmp_path, make_frame(n=52)))
    assert not any("periods of data" in w for w in md.warnings)


def test_too_many_parameters_for_the_data(tmp_path):
    df = make_frame(n=30)
    df["temperature"] = np.random.default_rng(1).normal(15, 5, 30)
    df["competitor_index"] = np.random.default_rng(2).normal(1, 0.1, 30)
    cfg = write_case(tmp_path, df, controls=["price_index", "temperature", "competitor_index"], model={"seasonality_order": 10})
    n_params = count_parameters(cfg, 3)
    assert 2 * n_params > 30
    msg = data_error(cfg)
    assert "30 periods" in msg
    assert f"{n_params} parameters" in msg
    assert "seasonality_order" in msg


def test_parameter_count_grows_with_model_choices(tmp_path):
    cfg = write_case(tmp_path, make_frame())
    base = count_parameters(cfg, 1)
    assert base == 3 * 3 + 1 + 1 + 2 * 2 + 1 + 1
    assert count_parameters(cfg, 3) == base + 2
    richer = write_case(
        tmp_path,
        make_frame(),
        model={"adstock": "weibull", "hill_slope": "free", "likelihood": "student_t", "seasonality_order": 4},
    )
    assert count_parameters(richer, 1) == base + 3 + 3 + 1 + 4


# --- warnings, not errors -----------------------------------------------------------------------


def test_correlated_spend_is_a_warning(tmp_path):
    df = make_frame()
    rng = np.random.default_rng(5)
    df["meta_spend"] = np.round(df["google_search_spend"] * 1.5 + rng.normal(0, 5, 60), 2)
    md = load_data(write_case(tmp_path, df))
    hits = [w for w in md.warnings if "moves together" in w]
    assert len(hits) == 1
    assert "'google_search'" in hits[0] and "'meta'" in hits[0]
    assert re.search(r"correlation 0\.9\d|correlation 1\.00", hits[0])


def test_uncorrelated_spend_has_no_warning(tmp_path):
    md = load_data(write_case(tmp_path, make_frame()))
    assert not any("moves together" in w for w in md.warnings)


def test_rarely_active_channel_is_a_warning(tmp_path):
    df = make_frame()
    df["tv_spend"] = 0.0
    df.loc[[3, 20, 45, 50], "tv_spend"] = 5000.0  # 4 of 60 periods
    md = load_data(write_case(tmp_path, df))
    hits = [w for w in md.warnings if "'tv'" in w]
    assert len(hits) == 1
    assert "7%" in hits[0]


def test_channel_active_in_exactly_10_percent_has_no_warning(tmp_path):
    df = make_frame()
    df["tv_spend"] = 0.0
    df.loc[[0, 10, 20, 30, 40, 50], "tv_spend"] = 5000.0  # 6 of 60 periods
    md = load_data(write_case(tmp_path, df))
    assert not any("'tv'" in w for w in md.warnings)


def test_warnings_are_kept_per_problem(tmp_path):
    df = make_frame(n=40)
    df["meta_spend"] = df["google_search_spend"] * 2
    df["tv_spend"] = 0.0
    df.loc[7, "tv_spend"] = 900.0
    md = load_data(write_case(tmp_path, df, controls=[]))
    assert any("only 40 periods" in w for w in md.warnings)
    assert any("moves together" in w for w in md.warnings)
    assert any("'tv'" in w and "only" in w for w in md.warnings)


# --- helpers --------------------------------------------------------------------------------------


def test_format_rows():
    assert format_rows([3]) == "row 3"
    assert format_rows([3, 7, 12]) == "rows 3, 7, 12"
    assert format_rows(list(range(1, 13))) == "rows 1, 2, 3, 4, 5, 6, 7, 8 and 4 more"
    assert format_rows(np.array([2, 5])) == "rows 2, 5"


def test_irregular_times_are_shown_and_a_set_frequency_is_not_called_detected(tmp_path):
    df = make_frame()
    df.loc[30, "date"] = (pd.Timestamp(df.loc[30, "date"]) + pd.Timedelta(hours=2)).strftime("%Y-%m-%d %H:%M")
    msg = data_error(write_case(tmp_path, df))
    assert "02:00)" in msg and "detected weekly data" in msg
    msg = data_error(write_case(tmp_path, make_frame(), data={"frequency": "daily"}))
    assert "data.frequency is daily, but there is a gap of 7 days" in msg
