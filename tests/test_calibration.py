"""Calibration with lift tests: reading and checking lift-test files, simulated tests, the model's
predicted lift against the simulator's truth, calibrated fits (Python API and CLI), flagging a test
the data contradicts, and lift tests inside a holdout.

Sampling fits are short (200 draws, 200 tuning steps, 2 chains) and shared through module-scoped
fixtures: one `fit_calibrated` on the `hard` scenario through the Python API and one `mmm fit --lifts`
through the CLI, two sampling fits each (data alone, then with the tests): four in all.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import mlflow
import numpy as np
import pandas as pd
import pytest
import yaml
from helpers import SHORT_SAMPLER, all_runs, assert_clean_exit_2, invoke, isolated_workdir, printed, store_uri
from scipy.stats import norm

from mmm.analysis.calibration import P_VALUE_FLAG, fit_calibrated, predictive_p_value
from mmm.config import load_config, with_overrides
from mmm.core.errors import ArgumentError, MMMError
from mmm.data.lifts import REQUIRED, LiftTest, read_lifts
from mmm.data.loading import load_data
from mmm.model.estimator import MarketingMixModel, check_fit_inputs
from mmm.model.features import Scaling, channel_coefficients, media_transform
from mmm.model.lift_response import LiftRows, change_by_period, lift_designs, predicted_lifts
from mmm.simulation.scenarios import LIFT_GEO_SHARE, LIFT_WEEKS
from mmm.transforms import lagged

LIFT_COLUMNS = ["channel", "start", "end", "spend_change", "lift", "lift_se", "geo_share"]
TESTED = ("social", "display")  # the collinear pair of the `hard` scenario
CONTRADICTION = 20  # the contradicted test claims this many times the simulated lift


# --- helpers ---------------------------------------------------------------------------------


def width(iv: dict[str, float]) -> float:
    return iv["high"] - iv["low"]


def short(cfg):
    return with_overrides(cfg, {"sampler.draws": 200, "sampler.tune": 200, "sampler.chains": 2, "sampler.progress": False})


def with_true_coefficients(params, truth, dates, spend, scale, target, media) -> dict[str, np.ndarray]:
    """The true parameters in the model's units (spend over `scale`, which the recorded spend with the
    simulated tests sets) with the true channel coefficients: those of the business as usual, i.e. of the
    recorded spend without the tests."""
    usual = spend.copy()
    channels = list(truth["channels"])
    for t in truth["lift_tests"]:
        inside = (dates >= pd.Timestamp(t["start"])) & (dates <= pd.Timestamp(t["end"]))
        usual[inside, channels.index(t["channel"])] -= t["spend_change"] / inside.sum()
    typical = np.array([truth["channels"][c]["typical_spend"] for c in channels])
    params = dict(params, half_saturation=params["half_saturation"] * typical / scale)
    coef = channel_coefficients(params, lagged(usual / scale, media.l_max), usual.sum(axis=0) / target, media, np)
    return dict(params, channel_coef=coef)


# --- fixtures --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    """A module-wide working directory, with no MLflow settings leaking in or out."""
    yield from isolated_workdir(tmp_path_factory, "calibration")


@pytest.fixture(scope="module")
def sim(workdir) -> Path:
    """`mmm simulate --scenario hard --lifts social,display`."""
    out = workdir / "sim"
    result = invoke("simulate", "--scenario", "hard", "--out", out, "--lifts", ",".join(TESTED))
    assert result.exit_code == 0, printed(result)
    assert "lifts.csv" in result.output
    return out


@pytest.fixture(scope="module")
def truth(sim) -> dict:
    return json.loads((sim / "truth.json").read_text())


@pytest.fixture(scope="module")
def data(sim):
    return load_data(load_config(sim / "config.yaml"))


@pytest.fixture(scope="module")
def tests_(sim, data) -> list[LiftTest]:
    return read_lifts(sim / "lifts.csv", data)


@pytest.fixture(scope="module")
def true_params(truth, data) -> dict[str, np.ndarray]:
    """The simulator's true parameters as one posterior draw (arrays (1, channel)), without channel_coef."""
    ch = truth["channels"]
    return {
        "roas": np.array([[ch[c]["roas"] for c in data.channels]]),
        "adstock_alpha": np.array([[ch[c]["adstock_alpha"] for c in data.channels]]),
        "half_saturation": np.array([[ch[c]["half_saturation"] for c in data.channels]]),
    }


@pytest.fixture(scope="module")
def api_calibration(sim, data, tests_):
    """`fit_calibrated` through the Python API with the simulated tests on social and display."""
    cfg = short(load_config(sim / "config.yaml"))
    return fit_calibrated(cfg, data, tests_)


@pytest.fixture(scope="module")
def contradicted(workdir, sim) -> Path:
    """The simulated lift tests with display's measured lift multiplied by 20 (same small standard error)."""
    df = pd.read_csv(sim / "lifts.csv")
    df.loc[df["channel"] == "display", "lift"] *= CONTRADICTION
    path = workdir / "lifts_contradicted.csv"
    df.to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def cli_calibration(workdir, sim, contradicted):
    """`mmm fit --lifts` with the contradicted file: (result, JSON, tracking uri)."""
    uri = store_uri(workdir / "cli_store")
    out = workdir / "calibrated.json"
    result = invoke("fit", sim / "config.yaml", "--lifts", contradicted, "--output-json", out, "--tracking-uri", uri, *SHORT_SAMPLER)
    assert result.exit_code == 0, printed(result) + repr(result.exception)
    return result, json.loads(out.read_text()), uri


# --- the lift-test file ----------------------------------------------------------------------

GOOD = {
    "channel": "social",
    "start": "2024-01-01",
    "end": "2024-02-05",
    "spend_change": 12000.0,
    "lift": 6867.0,
    "lift_se": 1519.0,
    "geo_share": 0.25,
}
GOOD_2 = {**GOOD, "channel": "display", "spend_change": 9000.0, "lift": 1650.0, "lift_se": 280.0}


def write_lifts(folder: Path, second_row: dict[str, Any], name: str = "lifts.csv", drop: tuple[str, ...] = ()) -> Path:
    """A two-row lift file: a good first row and `second_row` (a change to a good row) second."""
    df = pd.DataFrame([GOOD, {**GOOD_2, **second_row}]).drop(columns=list(drop))
    path = folder / name
    df.to_csv(path, index=False)
    return path


BAD_ROWS = {
    "unknown channel": ({"channel": "tiktok"}, "channel", ["tiktok", "unknown channel"]),
    "start before the data": ({"start": "2022-06-06"}, "start", ["outside the data"]),
    "end after the data": ({"end": "2025-06-02"}, "end", ["outside the data"]),
    "end before start": ({"start": "2024-02-05", "end": "2024-01-01"}, "end", ["before"]),
    "unreadable start": ({"start": "next monday"}, "start", ["cannot read"]),
    "unreadable end": ({"end": "2024-13-45"}, "end", ["cannot read"]),
    "zero lift_se": ({"lift_se": 0}, "lift_se", ["positive"]),
    "negative lift_se": ({"lift_se": -250.0}, "lift_se", ["positive"]),
    "zero geo_share": ({"geo_share": 0}, "geo_share", ["above 0"]),
    "geo_share above 1": ({"geo_share": 1.5}, "geo_share", ["at most 1"]),
    "zero spend_change": ({"spend_change": 0}, "spend_change", ["no spend"]),
    "non-numeric lift": ({"lift": "lots"}, "lift", ["number"]),
    # the data hold the test: they must record the spend it added
    "more added than the data record": ({"spend_change": 5e7}, "spend_change", ["record only", "as it ran", "sign"]),
    "more withheld than its share spent": ({"spend_change": -5e7, "lift": -9000.0}, "geo_share", ["withholds", "25%"]),
    "a holdout far above any period's spend": (
        {"spend_change": -5e7, "lift": -9000.0, "geo_share": 1.0},
        "spend_change",
        ["per period", "3 times the most"],
    ),
}


@pytest.mark.parametrize("change, column, words", BAD_ROWS.values(), ids=BAD_ROWS.keys())
def test_bad_lift_row_names_file_column_and_row(data, tmp_path, change, column, words):
    path = write_lifts(tmp_path, change)
    with pytest.raises(MMMError) as err:
        read_lifts(path, data)
    msg = str(err.value)
    assert str(path) in msg
    assert f"column '{column}'" in msg
    assert "row 2" in msg and "row 1" not in msg
    for w in words:
        assert w in msg, msg


def test_a_test_is_spread_evenly_unless_the_data_record_less():
    even = change_by_period(600.0, np.array([200.0, 300.0, 250.0]))
    np.testing.assert_allclose(even, [200.0, 200.0, 200.0])
    uneven = change_by_period(600.0, np.array([100.0, 300.0, 400.0]))  # the first period recorded less than 200
    np.testing.assert_allclose(uneven, [75.0, 225.0, 300.0])
    np.testing.assert_allclose(change_by_period(-600.0, np.zeros(3)), [-200.0] * 3)  # a holdout the data show as nothing


def test_several_bad_rows_are_all_named(data, tmp_path):
    df = pd.DataFrame([GOOD, {**GOOD, "lift_se": -1}, GOOD_2, {**GOOD_2, "lift_se": 0}])
    path = tmp_path / "lifts.csv"
    df.to_csv(path, index=False)
    with pytest.raises(MMMError, match=r"column 'lift_se': rows 2, 4 "):
        read_lifts(path, data)


def test_dates_outside_the_data_say_what_the_data_covers(data, tmp_path):
    path = write_lifts(tmp_path, {"start": "2022-06-06"})
    with pytest.raises(MMMError) as err:
        read_lifts(path, data)
    assert str(data.dates[0].date()) in str(err.value) and str(data.dates[-1].date()) in str(err.value)


@pytest.mark.parametrize("column", REQUIRED)
def test_missing_required_column_is_named(data, tmp_path, column):
    path = write_lifts(tmp_path, {}, drop=(column,))
    with pytest.raises(MMMError) as err:
        read_lifts(path, data)
    msg = str(err.value)
    assert str(path) in msg and "missing column" in msg and column in msg


def test_missing_file_is_named(data, tmp_path):
    path = tmp_path / "no_such_lifts.csv"
    with pytest.raises(MMMError, match=r"no_such_lifts\.csv.*not found"):
        read_lifts(path, data)


def test_good_file_reads_with_geo_share_optional(data, tmp_path):
    path = write_lifts(tmp_path, {}, drop=("geo_share",))
    tests = read_lifts(path, data)
    assert [t.channel for t in tests] == ["social", "display"]
    assert all(t.geo_share == 1.0 for t in tests)
    assert tests[0] == LiftTest("social", "2024-01-01", "2024-02-05", 12000.0, 6867.0, 1519.0, 1.0)


def test_yaml_list_reads_like_the_csv(data, tmp_path):
    csv_tests = read_lifts(write_lifts(tmp_path, {}), data)
    path = tmp_path / "lifts.yaml"
    # dates unquoted: YAML reads them as dates, which must work as well as strings
    path.write_text(
        "- {channel: social, start: 2024-01-01, end: 2024-02-05, spend_change: 12000, lift: 6867, lift_se: 1519, geo_share: 0.25}\n"
        "- {channel: display, start: '2024-01-01', end: '2024-02-05', spend_change: 9000, lift: 1650, lift_se: 280, geo_share: 0.25}\n"
    )
    assert read_lifts(path, data) == csv_tests


def test_yaml_errors_name_the_file_column_and_row(data, tmp_path):
    path = tmp_path / "lifts.yml"
    path.write_text(yaml.safe_dump([GOOD, {**GOOD_2, "channel": "radio"}]))
    with pytest.raises(MMMError, match=r"lifts\.yml, column 'channel': unknown channel radio in row 2"):
        read_lifts(path, data)
    path.write_text(yaml.safe_dump(GOOD))  # a mapping, not a list of tests
    with pytest.raises(MMMError, match=r"lifts\.yml: expected a list"):
        read_lifts(path, data)


def test_fit_with_a_bad_lift_file_exits_2_without_a_run(sim, isolated):
    bad = write_lifts(isolated, {"channel": "tiktok"}, name="bad.csv")
    uri = store_uri(isolated / "store")
    out_json = isolated / "fit.json"
    result = invoke("fit", sim / "config.yaml", "--lifts", bad, "--output-json", out_json, "--tracking-uri", uri, *SHORT_SAMPLER)
    text = assert_clean_exit_2(result)
    assert "bad.csv" in text and "column 'channel'" in text and "row 2" in text and "tiktok" in text
    assert not out_json.exists()
    assert all_runs(uri) == []
    assert not (isolated / "mlruns.db").exists()  # nothing written to the default store either


def test_config_calibration_key_is_read_relative_to_the_config(sim, isolated):
    raw = yaml.safe_load((sim / "config.yaml").read_text())
    raw["data"]["path"] = str(sim / "data.csv")
    raw["calibration"] = "experiments/lifts.csv"
    (isolated / "experiments").mkdir()
    write_lifts(isolated / "experiments", {"lift_se": -3})
    config = isolated / "config.yaml"
    config.write_text(yaml.safe_dump(raw, sort_keys=False))
    uri = store_uri(isolated / "store")
    text = assert_clean_exit_2(invoke("fit", config, "--tracking-uri", uri, *SHORT_SAMPLER))
    assert str(isolated / "experiments" / "lifts.csv") in text and "column 'lift_se'" in text
    assert all_runs(uri) == []


# --- simulated lift tests --------------------------------------------------------------------


def test_simulate_writes_lift_tests(sim, truth, data):
    df = pd.read_csv(sim / "lifts.csv")
    assert list(df.columns) == LIFT_COLUMNS
    assert df["channel"].tolist() == list(TESTED)
    assert (df["spend_change"] > 0).all() and (df["lift"] > 0).all() and (df["lift_se"] > 0).all()
    assert (df["geo_share"] == LIFT_GEO_SHARE).all()
    tests = truth["lift_tests"]
    assert [t["channel"] for t in tests] == list(TESTED)
    for t, (_, row) in zip(tests, df.iterrows()):
        assert t["true_lift"] > 0
        for col in LIFT_COLUMNS:
            assert row[col] == (pytest.approx(t[col]) if isinstance(t[col], float) else t[col]), col
        start, end = pd.Timestamp(t["start"]), pd.Timestamp(t["end"])
        assert ((data.dates >= start) & (data.dates <= end)).sum() == LIFT_WEEKS
    # the simulated file is a valid lift-test file for the simulated config
    assert len(read_lifts(sim / "lifts.csv", data)) == len(TESTED)


def test_simulate_without_lifts_writes_no_lift_file(isolated):
    result = invoke("simulate", "--scenario", "clean", "--out", isolated / "plain")
    assert result.exit_code == 0, printed(result)
    assert not (isolated / "plain" / "lifts.csv").exists()
    assert "lift_tests" not in json.loads((isolated / "plain" / "truth.json").read_text())


def test_simulate_unknown_lift_channel_exits_2(isolated):
    out = isolated / "sim_bad"
    text = assert_clean_exit_2(invoke("simulate", "--scenario", "hard", "--out", out, "--lifts", "social,tiktok"))
    assert "tiktok" in text and "--lifts" in text
    assert not out.exists()  # nothing half-written


# --- the model's lift with the true parameters is the simulator's true lift -------------------


def test_predicted_lift_with_true_parameters_is_the_true_lift(truth, data, true_params, sim):
    """The spend change goes through the same adstock and saturation, carry-over included, as the truth."""
    cfg = load_config(sim / "config.yaml")
    media, scaling = media_transform(cfg.model), Scaling.from_data(data)
    scale = np.asarray(scaling.spend)
    spend = data.spend_matrix()
    params = with_true_coefficients(true_params, truth, data.dates, spend, scale, scaling.target, media)
    tests = [LiftTest(**{k: v for k, v in t.items() if k != "true_lift"}) for t in truth["lift_tests"]]
    designs = lift_designs(tests, data.dates, spend, data.channels, scale, media.l_max)
    predicted = predicted_lifts(params, LiftRows.of(designs), media, scaling.target, np)
    assert predicted.shape == (1, len(tests))  # (draw, test)
    for t, p in zip(truth["lift_tests"], predicted[0]):
        assert float(p) == pytest.approx(t["true_lift"], rel=1e-6), t["channel"]

    # the carry-over after the test counts: the window runs l_max - 1 periods past the test's end
    for d in designs:
        assert d.base.shape[0] == LIFT_WEEKS + media.l_max - 1
    during = [
        dataclasses.replace(d, base=d.base[:LIFT_WEEKS], treated=d.treated[:LIFT_WEEKS], window=d.window[:LIFT_WEEKS]) for d in designs
    ]
    for t, p in zip(truth["lift_tests"], predicted_lifts(params, LiftRows.of(during), media, scaling.target, np)[0]):
        assert float(p) < 0.95 * t["true_lift"], t["channel"]


def test_predict_lifts_of_a_fitted_model_with_true_parameters(api_calibration, truth, true_params, tests_):
    """MarketingMixModel.predict_lifts (the path calibration uses) gives the true lift for the true parameters."""
    model = api_calibration.model
    train = model.train
    assert train.n_periods == model.n_train
    spend = train.spend_matrix()
    params = with_true_coefficients(
        true_params, truth, train.dates, spend, np.asarray(model.scaling.spend), model.scaling.target, model.media
    )
    predicted = model.predict_lifts(tests_, params)
    assert predicted.shape == (1, len(tests_))
    for i, t in enumerate(truth["lift_tests"]):
        assert predicted[0, i] == pytest.approx(t["true_lift"], rel=1e-6), t["channel"]


# --- p-values --------------------------------------------------------------------------------


def test_predictive_p_value():
    draws = np.random.default_rng(3).normal(1000.0, 100.0, 4000)
    assert predictive_p_value(draws, 1000.0, 10.0) > 0.8
    assert predictive_p_value(draws, 5000.0, 10.0) == 0.0
    assert predictive_p_value(draws, -3000.0, 10.0) == 0.0
    assert predictive_p_value(draws, 1200.0, 10.0) == pytest.approx(0.05, abs=0.02)  # ~2 sd out, two-sided
    assert predictive_p_value(draws, 1200.0, 1000.0) > 0.5  # a loose test is easy to reconcile
    for measured in (0.0, 900.0, 1100.0, 2000.0):
        assert 0.0 <= predictive_p_value(draws, measured, 50.0) <= 1.0


# --- a calibrated fit (Python API) -----------------------------------------------------------


def test_calibration_report_has_one_entry_per_test(api_calibration, tests_):
    report = api_calibration.report
    assert [r["test"] for r in report] == [t.to_dict() for t in tests_]
    for r, t in zip(report, tests_):
        assert {"measured", "before", "after", "p_value", "flagged", "used", "verdict"} <= set(r)
        for key in ("measured", "before", "after"):
            assert set(r[key]) == {"mean", "low", "high"}
            assert r[key]["low"] <= r[key]["mean"] <= r[key]["high"], (t.channel, key)
        assert r["measured"]["mean"] == t.lift
        z90 = norm.ppf(0.95)  # half-width of the central 90% interval of a normal, in standard errors (1.6449)
        assert r["measured"]["low"] == pytest.approx(t.lift - z90 * t.lift_se, rel=1e-9)
        assert r["measured"]["high"] == pytest.approx(t.lift + z90 * t.lift_se, rel=1e-9)
        assert 0.0 <= r["p_value"] <= 1.0
        assert r["p_value"] >= P_VALUE_FLAG  # simulated from the true model: consistent with the data
        assert r["flagged"] is False and r["used"] is True


def test_calibrated_lifts_are_tighter_and_nearer_the_measurement(api_calibration):
    for r in api_calibration.report:
        channel, measured, se = r["test"]["channel"], r["measured"]["mean"], r["test"]["lift_se"]
        assert width(r["after"]) < width(r["before"]), channel
        # closer to the measurement, unless the data alone already predicted it within one standard error
        assert abs(r["after"]["mean"] - measured) < max(abs(r["before"]["mean"] - measured), se), channel
        assert r["after"]["low"] <= measured <= r["after"]["high"], channel


def test_calibrated_model_is_a_separate_fit_holding_the_tests(api_calibration, tests_):
    cal = api_calibration
    assert cal.model is not cal.uncalibrated
    assert cal.model.lifts == tests_
    assert cal.uncalibrated.lifts == []
    assert cal.model.fit_seconds > cal.uncalibrated.fit_seconds > 0  # both fits are counted
    # the report's numbers are the two models' predictions
    before, after = cal.uncalibrated.predict_lifts(tests_), cal.model.predict_lifts(tests_)
    for i, r in enumerate(cal.report):
        assert r["before"]["mean"] == pytest.approx(before[:, i].mean())
        assert r["after"]["mean"] == pytest.approx(after[:, i].mean())


def test_calibrated_model_survives_save_and_load(api_calibration, tests_, tmp_path):
    model = api_calibration.model
    loaded = MarketingMixModel.load(model.save(tmp_path / "model.nc"))
    assert loaded.lifts == tests_
    np.testing.assert_allclose(loaded.predict_lifts(tests_), model.predict_lifts(tests_), rtol=1e-10)


# --- the CLI, with one test the data contradicts ---------------------------------------------


def _report(summary: dict, channel: str) -> dict:
    return next(c for c in summary["calibration"] if c["test"]["channel"] == channel)


def test_contradicted_test_is_flagged_and_left_out(cli_calibration, tests_):
    _, s, _ = cli_calibration
    assert [c["test"]["channel"] for c in s["calibration"]] == list(TESTED)
    bad = _report(s, "display")
    assert bad["test"]["lift"] == pytest.approx(tests_[1].lift * CONTRADICTION)
    assert bad["flagged"] is True and bad["used"] is False
    assert bad["p_value"] < P_VALUE_FLAG
    assert "left out" in bad["verdict"]
    assert not bad["after"]["low"] <= bad["measured"]["mean"] <= bad["after"]["high"]  # not averaged in
    good = _report(s, "social")
    assert good["flagged"] is False and good["used"] is True
    assert good["p_value"] >= P_VALUE_FLAG
    assert width(good["after"]) < width(good["before"])
    assert good["after"]["low"] <= good["measured"]["mean"] <= good["after"]["high"]


def test_fit_with_lifts_prints_the_lift_test_table(cli_calibration):
    result, s, _ = cli_calibration
    out = result.output
    assert "Lift tests: measured lift vs the model's prediction before and after calibration" in out
    table = out[out.index("Lift tests:") :]
    for channel in TESTED:
        assert channel in table
    assert "2024-01-01 to 2024-02-05" in table
    assert "FLAGGED, left out" in table and "used" in table
    assert f"{_report(s, 'display')['p_value']:.3f}" in table
    assert "Calibrating with 2 lift test(s)" in printed(result)


def test_calibrated_fit_is_recorded_in_mlflow(cli_calibration, tmp_path):
    from mmm.tracking.runs import load_fit

    _, s, uri = cli_calibration
    runs = all_runs(uri)
    assert [r.info.run_id for r in runs] == [s["run_id"]]  # two fits, one run
    assert runs[0].info.status == "FINISHED"
    client = mlflow.MlflowClient(tracking_uri=uri)
    logged = json.loads(Path(client.download_artifacts(s["run_id"], "summary.json", str(tmp_path))).read_text())
    assert logged["calibration"] == s["calibration"]
    model, _ = load_fit(s["run_id"], uri)
    assert [t.channel for t in model.lifts] == ["social"]  # the model was calibrated with the used test only


# --- lift tests and the holdout --------------------------------------------------------------


def test_holdout_swallowing_a_lift_test_exits_2_before_any_run(sim, isolated):
    uri = store_uri(isolated / "store")
    out_json = isolated / "fit.json"
    result = invoke(
        "fit",
        sim / "config.yaml",
        "--lifts",
        sim / "lifts.csv",
        "--holdout",
        "52",
        "--output-json",
        out_json,
        "--tracking-uri",
        uri,
        *SHORT_SAMPLER,
    )
    text = assert_clean_exit_2(result)
    assert "social" in text and "display" in text and "--holdout" in text
    assert not out_json.exists()
    assert all_runs(uri) == []
    assert not (isolated / "mlruns.db").exists()


def test_holdout_boundary_is_the_test_end(data, tests_, sim, monkeypatch):
    """A test ending on the last fitted period is fine; one period more of holdout is not."""
    last = int(np.flatnonzero(data.dates == pd.Timestamp(tests_[0].end))[0])  # both tests end together
    ok = data.n_periods - (last + 1)
    check_fit_inputs(data, ok, tests_)
    with pytest.raises(ArgumentError, match=r"end after the last fitted period") as info:
        check_fit_inputs(data, ok + 1, tests_)
    assert info.value.argument == "holdout"
    check_fit_inputs(data, ok + 1, [])  # without tests the same holdout is fine

    def no_sampling(*args, **kwargs):
        raise AssertionError("sampled although the inputs are invalid")

    monkeypatch.setattr("mmm.model.estimator.sample_posterior", no_sampling)
    # the library names the Python argument; the CLI renders it as --holdout (see the CLI test above)
    with pytest.raises(ArgumentError, match=r"shorten holdout or drop those tests") as info:
        MarketingMixModel(load_config(sim / "config.yaml")).fit(data, holdout=ok + 1, lifts=tests_)
    assert info.value.argument == "holdout"
    assert "--holdout" not in str(info.value)
    assert "shorten --holdout" in info.value.render("--holdout")


def test_a_calibrated_models_compiled_code_serves_other_tests_and_data(sim, data, tests_, monkeypatch):
    """The tests' designs and figures are the model's data, not constants in its graph: a calibrated fit on
    other data with other results of any number of tests has the same fingerprint, so it loads the compiled model."""
    from pymc.model.transform.optimization import freeze_dims_and_data

    from mmm.model.compiled import OPEN_DIMS
    from mmm.model.graph_key import model_key

    built = []

    def fingerprint(model, *args, **kwargs):
        frozen = freeze_dims_and_data(model, dims=[dim for dim in model.coords if dim not in OPEN_DIMS], data=[])
        built.append(model_key(frozen, "ctx"))
        raise InterruptedError  # built and fingerprinted: no need to sample

    monkeypatch.setattr("mmm.model.estimator.sample_posterior", fingerprint)
    cfg = load_config(sim / "config.yaml")
    other = [dataclasses.replace(t, lift=t.lift * 1.7, lift_se=t.lift_se * 0.5, spend_change=t.spend_change * 2) for t in tests_]
    for tests, holdout in ((tests_, 0), (other, 3), (tests_[:1], 0), (tests_ + other, 0), ([], 0)):
        with pytest.raises(InterruptedError):
            MarketingMixModel(cfg).fit(data, holdout=holdout, lifts=tests)
    assert built[0] is not None
    assert built[1] == built[0]  # other results, spend changes and weeks: the same compiled model
    assert built[2] == built[0] == built[3]  # one test, or twice as many: the same compiled model too
    assert built[4] != built[0]  # no test: a model without the tests' observations


# --- known problems (expected failures; remove the marker once fixed) ------------------------


def test_test_window_between_two_weekly_periods_is_rejected(data, tmp_path):
    # Tuesday to Friday: inside the data's range, but no weekly period (Mondays) starts in it
    path = write_lifts(tmp_path, {"start": "2024-01-02", "end": "2024-01-05"})
    try:
        tests = read_lifts(path, data)
    except MMMError as exc:
        assert "row 2" in str(exc)
        return
    scaling = Scaling.from_data(data)
    lift_designs(tests, data.dates, data.spend_matrix(), data.channels, np.asarray(scaling.spend), 8)


def test_switching_off_more_spend_than_there_was_is_rejected(data, tmp_path):
    path = write_lifts(tmp_path, {"spend_change": -1_000_000.0, "lift": -5000.0})
    with pytest.raises(MMMError, match=r"row 2"):
        read_lifts(path, data)


@pytest.mark.parametrize("name, text", [("lifts.yaml", "- channel: social\n  start: [\n"), ("lifts.csv", "")])
def test_unreadable_lift_file_is_an_mmm_error(data, tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(MMMError, match=name):
        read_lifts(path, data)


def test_infinite_standard_error_is_rejected(data, tmp_path):
    path = write_lifts(tmp_path, {"lift_se": float("inf")})
    with pytest.raises(MMMError, match=r"column 'lift_se'"):
        read_lifts(path, data)


def test_a_test_starting_inside_a_period_covers_that_period(data, tmp_path):
    """Lift-study dates need not fall on the data's period dates: a test from a Tuesday covers that Tuesday's week."""
    monday = read_lifts(write_lifts(tmp_path, {}), data)[1]
    tuesday = pd.Timestamp(monday.start) + pd.Timedelta(days=1)
    shifted = read_lifts(write_lifts(tmp_path, {"start": str(tuesday.date())}, name="tuesday.csv"), data)[1]
    assert shifted == monday
