"""Files as analysts export them, and the ways they go wrong: each is read the way its author meant, or
refused with exit status 2 and a message naming the file, column and rows (or key) to fix.

Nothing here samples, so the whole file runs in seconds."""

from __future__ import annotations

import json
import time

import numpy as np
import pandas as pd
import pytest
import yaml
from helpers import assert_clean_exit_2, invoke, isolated_workdir, printed

from mmm.config import load_config
from mmm.core.errors import DataError, MMMError
from mmm.data.loading import load_data
from mmm.data.plans import read_bounds, read_plan
from mmm.data.reading import read_data_file, read_dates
from mmm.tracking.access import caller, redact, without_login

CHANNELS = ["search", "social", "display"]  # the `clean` scenario


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    yield from isolated_workdir(tmp_path_factory, "file_reading")


@pytest.fixture(scope="module")
def sim(workdir):
    out = workdir / "sim"
    assert invoke("simulate", "--scenario", "clean", "--out", out).exit_code == 0
    return out


@pytest.fixture()
def isolated(tmp_path):
    return tmp_path


def with_data(sim, folder, df: pd.DataFrame | None = None, text: bytes | None = None):
    """The clean scenario's config beside a data file holding `df` (or these bytes); returns the config path."""
    (folder / "config.yaml").write_text((sim / "config.yaml").read_text())
    if text is None:
        assert df is not None
        df.to_csv(folder / "data.csv", index=False)
    else:
        (folder / "data.csv").write_bytes(text)
    return folder / "config.yaml"


@pytest.mark.parametrize("form", ["%d/%m/%Y", "%m/%d/%Y", "%d.%m.%Y", "%Y-%m-%d"])
def test_dates_with_slashes_are_read_in_one_order_for_the_whole_column(form):
    dates = pd.date_range("2023-01-02", periods=104, freq="7D")
    assert read_dates(pd.Series(dates.strftime(form))).tolist() == list(dates)


def test_day_first_data_fits_the_same_weeks_as_iso(sim, isolated):
    df = pd.read_csv(sim / "data.csv")
    iso = load_data(load_config(sim / "config.yaml"))
    df["date"] = pd.to_datetime(df["date"]).dt.strftime("%d/%m/%Y")
    data = load_data(load_config(with_data(sim, isolated, df)))
    assert list(data.dates) == list(iso.dates)


@pytest.mark.parametrize(("encoding", "sep"), [("cp1252", ","), ("utf-16", "\t")], ids=["csv-windows-1252", "unicode-text"])
def test_a_windows_spreadsheet_export_is_read(sim, isolated, encoding, sep):
    df = pd.read_csv(sim / "data.csv").assign(note="café")
    data = load_data(load_config(with_data(sim, isolated, text=df.to_csv(index=False, sep=sep).encode(encoding))))
    np.testing.assert_allclose(data.target_series(), load_data(load_config(sim / "config.yaml")).target_series())


@pytest.mark.parametrize(
    ("content", "says"),
    [
        (b"", "the file is empty"),
        (b"PK\x03\x04 a zipped workbook", "spreadsheet workbook, not a CSV"),
        (b"\x00\x01\x02binary", "not a text file"),
        (b"date,search_spend,search_spend\n2024-01-01,1,2\n", "'search_spend' is columns 2, 3"),
        (b"date,revenue\n2024-01-01,1,2\n2024-01-08,3,4\n", "more fields than the header"),
    ],
    ids=["empty", "workbook", "binary", "column-twice", "ragged"],
)
def test_a_file_that_is_not_a_table_exits_2_saying_why(sim, isolated, content, says):
    text = assert_clean_exit_2(invoke("validate", with_data(sim, isolated, text=content)))
    assert "data.csv" in text and says in text


def test_validate_names_every_problem_at_once(sim, isolated):
    df = pd.read_csv(sim / "data.csv")
    df["date"] = df["date"].astype(object)
    df.loc[30, "date"] = "not a date"
    df.loc[7, "search_spend"] = -5.0
    df.loc[20, "social_spend"] = None
    text = assert_clean_exit_2(invoke("validate", with_data(sim, isolated, df)))
    assert "3 problems to fix" in text
    for needle in (
        "column 'date': cannot read dates in row 31",
        "column 'search_spend': negative spend in row 8",
        "column 'social_spend': missing values in row 21",
    ):
        assert needle in text


def test_one_text_cell_in_a_numeric_control_names_its_row(sim, isolated):
    df = pd.read_csv(sim / "data.csv")
    df["price_index"] = df["price_index"].astype(object)
    df.loc[5, "price_index"] = "abc"
    with pytest.raises(DataError, match=r"column 'price_index': row 6 holds 'abc' in a column of numbers"):
        load_data(load_config(with_data(sim, isolated, df)))


def test_a_key_given_twice_in_the_config_is_refused_with_both_lines(sim, isolated):
    config = with_data(sim, isolated, pd.read_csv(sim / "data.csv"))
    lines = config.read_text().splitlines()
    config.write_text("\n".join([*lines, "seed: 3", "seed: 4"]) + "\n")
    text = assert_clean_exit_2(invoke("validate", config))
    assert f"seed (lines {len(lines) + 1}, {len(lines) + 2})" in text


def test_validate_reads_the_lift_tests_the_config_names(sim, isolated):
    config = with_data(sim, isolated, pd.read_csv(sim / "data.csv"))
    spec = yaml.safe_load(config.read_text()) | {"calibration": "lifts.csv"}
    config.write_text(yaml.safe_dump(spec))
    assert "lifts.csv" in assert_clean_exit_2(invoke("validate", config))
    (isolated / "lifts.csv").write_text("channel,start,end,spend_change,lift,lift_se\nsearch,2024-01-01,2024-02-26,-40000,-60000,-1\n")
    assert "lift_se" in assert_clean_exit_2(invoke("validate", config))


# --- plans and bounds ------------------------------------------------------------------------


def plan(folder, text: str, name: str = "plan.csv"):
    (folder / name).write_text(text)
    return folder / name


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("week,search,social,display\n", "holds no weeks"),
        ("week,search,social,display\n1,1,1,1\n1,1,1,1\n", "column 'week': rows 1, 2 repeat a week number"),
        ("week,search,social,display\n1,1,1,1\n1.5,1,1,1\n", "column 'week': row 2 holds '1.5'"),
        ("week,search,social,display,price_index\n1,1,1,1,abc\n2,1,1,1,100\n", "column 'price_index': row 1 holds 'abc'"),
    ],
    ids=["no-rows", "repeated-week", "half-week", "text-control"],
)
def test_a_bad_plan_csv_names_the_column_and_rows(isolated, text, says):
    with pytest.raises(MMMError, match=f"plan.csv, {says}" if "column" in says else says):
        read_plan(plan(isolated, text), CHANNELS, ["price_index"])


def test_a_plan_yaml_with_an_unknown_key_or_a_text_control_is_refused(isolated):
    with pytest.raises(MMMError, match=r"unknown key\(s\) control;"):
        read_plan(
            plan(isolated, "weeks: 2\nspend: {search: 1, social: 1, display: 1}\ncontrol: {price_index: 1}\n", "p.yaml"),
            CHANNELS,
            ["price_index"],
        )
    with pytest.raises(MMMError, match=r"column 'price_index': rows 1, 2 hold 'high';"):
        read_plan(
            plan(isolated, "weeks: 2\nspend: {search: 1, social: 1, display: 1}\ncontrols: {price_index: high}\n", "p.yaml"),
            CHANNELS,
            ["price_index"],
        )


def test_a_plan_gives_every_control_or_none(isolated):
    text = "week,search,social,display,price_index\n1,1,1,1,100\n"
    np.testing.assert_array_equal(read_plan(plan(isolated, text), CHANNELS, ["price_index"]).controls, [[100.0]])
    assert read_plan(plan(isolated, "week,search,social,display\n1,1,1,1\n"), CHANNELS, ["price_index"]).controls is None
    with pytest.raises(MMMError, match="price_index but not promo"):
        read_plan(plan(isolated, text), CHANNELS, ["price_index", "promo"])


def test_a_bound_whose_min_is_above_its_max_names_the_row(isolated):
    with pytest.raises(MMMError, match=r"bounds.csv, row 2: min 900.00 is above max 100.00"):
        read_bounds(plan(isolated, "channel,min,max\nsearch,,500\nsocial,900,100\n", "bounds.csv"))


def test_a_channel_bounded_twice_names_both_rows_and_a_misspelt_key_is_named(isolated):
    with pytest.raises(MMMError, match=r"bounds.csv, column 'channel': rows 1 and 3 both limit search"):
        read_bounds(plan(isolated, "channel,min,max\nsearch,,500\nsocial,,900\nsearch,,300\n", "bounds.csv"))
    with pytest.raises(MMMError, match=r"key 'search': unknown key 'maxx'"):
        read_bounds(plan(isolated, "search: {min: 100, maxx: 500}\n", "bounds.yaml"))


# --- stores, dates typed on the command line, test designs ---------------------------------------


def test_a_tracking_store_that_is_not_one_exits_2(isolated):
    (isolated / "notes.txt").write_text("not a database")
    text = assert_clean_exit_2(invoke("runs", "--tracking-uri", f"sqlite:///{isolated / 'notes.txt'}"))
    assert "is not an SQLite database" in text
    assert "does not keep its runs in 'nosuchscheme'" in assert_clean_exit_2(invoke("runs", "--tracking-uri", "nosuchscheme://host"))


def test_a_test_design_with_a_bad_date_or_amount_names_the_key(isolated):
    good = {"channel": "search", "kind": "scale_up", "start": "2025-01-06", "end": "2025-02-03", "spend_change": 60000}
    for key, value in (("start", "garbage"), ("spend_change", "lots")):
        design = isolated / f"{key}.json"
        design.write_text(json.dumps(good | {key: value}))
        text = assert_clean_exit_2(invoke("simulate", "--scenario", "small_business", "--out", isolated / key, "--test-design", design))
        assert f"key '{key}'" in text and repr(value) in text


def test_analyze_test_names_a_start_that_is_not_a_date(workdir):
    geo = workdir / "geo"
    assert invoke("simulate", "--scenario", "geo", "--out", geo).exit_code == 0
    region = pd.read_csv(geo / "data.csv")["geo"].iloc[0]
    result = invoke(
        "analyze-test", geo / "data.csv", "--channel", "social", "--treated", region, "--start", "notadate", "--end", "2024-11-11"
    )
    text = assert_clean_exit_2(result)
    assert "--start" in text and "'notadate' is not a date" in printed(result)


def test_validate_model_checks_its_folds_before_it_starts(workdir):
    result = invoke("validate-model", "--run-id", "0" * 32, "--folds", "1", "--tracking-uri", f"sqlite:///{workdir / 'none.db'}")
    assert "Fitting" not in assert_clean_exit_2(result)


def test_read_data_file_names_where_the_path_came_from(isolated):
    with pytest.raises(DataError, match=r"not found \(check --data\)"):
        read_data_file(isolated / "missing.csv", "--data")


@pytest.mark.parametrize(
    ("uri", "says"),
    [
        ("127.0.0.1:5000", "does not keep its runs in a folder"),
        ("file:///tmp/runs", "does not keep its runs in 'file'"),
        ("mysql://user@host/db", "does not keep its runs in 'mysql'"),
        ("http://127.0.0.1:notaport", "not a server address"),
        ("http://127.0.0.1:9", "cannot reach the tracking server"),  # nothing listens on the discard port
    ],
)
def test_a_store_address_mmm_cannot_use_exits_2_in_seconds(uri, says):
    started = time.monotonic()
    assert says in assert_clean_exit_2(invoke("runs", "--tracking-uri", uri))
    assert time.monotonic() - started < 60


def test_passwords_are_masked_in_addresses_tracebacks_and_browser_links(monkeypatch):
    monkeypatch.setenv("MLFLOW_TRACKING_PASSWORD", "S3cret-from-env")
    text = "http://dave:Dave@S3cret-4455@127.0.0.1:5000/api and the env's S3cret-from-env"
    assert redact(text) == "http://dave:***@127.0.0.1:5000/api and the env's ***"
    assert without_login("http://alice:pw@127.0.0.1:5000") == "http://127.0.0.1:5000"
    assert caller("http://alice:pw@127.0.0.1:5000") == "user 'alice'"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://alice:Leaky-Pass-77@127.0.0.1:9")

    def broken(*args, **kwargs):
        raise RuntimeError("failed at http://alice:Leaky-Pass-77@127.0.0.1:9/api")

    monkeypatch.setattr("mmm.tracking.runs.resolve_tracking_uri", broken)
    result = invoke("runs")
    assert result.exit_code == 1 and "RuntimeError" in printed(result) and "Leaky-Pass-77" not in printed(result)


def test_a_reader_that_closes_early_stops_neither_the_command_nor_its_json(tmp_path):
    """`mmm ... | head -1` or `| true`: output the reader no longer takes goes nowhere, quietly, and the JSON is still written."""
    import shlex
    import subprocess

    from helpers import clean_env, mmm_cmd

    from mmm.simulation.scenarios import write_scenario

    config = write_scenario("clean", tmp_path / "sim")["config"]
    out = tmp_path / "checks.json"
    command = " ".join(shlex.quote(a) for a in [*mmm_cmd(), "validate", str(config), "--output-json", str(out)])
    # `true` has left before mmm writes a line: every write meets a closed pipe
    done = subprocess.run(f"{command} | true", shell=True, capture_output=True, text=True, env={**clean_env(), "MMM_WARM": "off"})
    assert "Traceback" not in done.stderr and "BrokenPipe" not in done.stderr, done.stderr
    assert out.is_file() and json.loads(out.read_text())["periods"] > 0


def test_us_thousands_separators_trailing_empty_rows_and_a_stray_comma(tmp_path):
    """Quoted '22,358.35' is a number; rows of empty cells at the end (a spreadsheet's export) are dropped; a row with
    one field too many names its line and says to quote the value."""
    good = tmp_path / "good.csv"
    good.write_text('date,revenue,tv\n2024-01-01,"1,234,567.50","22,358.35"\n2024-01-08,1200000,900\n,,\n,,\n')
    frame = read_data_file(good).frame
    assert len(frame) == 2 and frame["tv"].tolist() == [22358.35, 900.0] and frame["revenue"][0] == 1234567.5
    bad = tmp_path / "bad.csv"
    bad.write_text("date,revenue,tv\n2024-01-01,1000,900\n2024-01-08,1000,22,358\n")
    with pytest.raises(DataError, match=r"bad.csv, line 3: 4 fields where the header has 3; .* put that value in double quotes"):
        read_data_file(bad)


def test_a_categorical_control_is_planned_as_the_data_hold_it(isolated):
    """`events` as text ('na', 'event1') or in YAML, not the model's indicator columns `events=event1`."""
    controls = ["price_index", "events=event1", "events=event2"]
    text = "week,search,social,display,price_index,events\n1,100,50,20,1.0,na\n2,100,50,20,1.0,event2\n"
    planned = read_plan(plan(isolated, text), CHANNELS, controls)
    assert planned.controls is not None and planned.controls.tolist() == [[1.0, 0.0, 0.0], [1.0, 0.0, 1.0]]
    yml = plan(
        isolated, "weeks: 2\nspend: {search: 100, social: 50, display: 20}\ncontrols: {price_index: 1.0, events: event1}\n", "p.yaml"
    )
    assert read_plan(yml, CHANNELS, controls).controls.tolist() == [[1.0, 1.0, 0.0]] * 2


def test_an_output_path_that_cannot_be_written_is_refused_before_any_work(tmp_path):
    (tmp_path / "notes.txt").write_text("a file, not a folder")
    db = tmp_path / "mlruns.db"
    result = invoke("runs", "--tracking-uri", f"sqlite:///{db}", "--output-json", tmp_path / "notes.txt" / "runs.json")
    assert result.exit_code == 2 and "does not take files" in printed(result)
    assert not db.exists()
