"""Checking the model on data it has not seen, through the CLI on a temporary MLflow store:
`mmm fit --holdout`, `mmm validate-model` (rolling-origin cross-validation) and `mmm check`
(prior and posterior predictive checks).

Sampling fits are short and shared through module-scoped fixtures: one `mmm fit --holdout 13`
(200 draws) and one `mmm validate-model --folds 2` (two fold fits of 150 draws): three in all.
Such short runs are not expected to converge, so convergence is only checked for its type.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import mlflow
import numpy as np
import pandas as pd
import pytest
from helpers import SHORT_SAMPLER, all_runs, assert_clean_exit_2, invoke, isolated_workdir, printed, store_uri

FOLD_SAMPLER = ["--draws", "150", "--tune", "150", "--chains", "2"]
CHANNELS = ("search", "social", "display")
PERIODS, HOLDOUT, FOLDS, HORIZON = 104, 13, 2, 13


# --- helpers ---------------------------------------------------------------------------------


def finite_number(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


# --- fixtures --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    """A module-wide working directory, with no MLflow settings leaking in or out."""
    yield from isolated_workdir(tmp_path_factory, "validation_cli")


@pytest.fixture(scope="module")
def sim(workdir) -> Path:
    """`mmm simulate --scenario clean`: 104 weekly rows, 3 channels."""
    out = workdir / "sim"
    result = invoke("simulate", "--scenario", "clean", "--out", out)
    assert result.exit_code == 0, printed(result)
    return out


@pytest.fixture(scope="module")
def uri(workdir) -> str:
    return store_uri(workdir / "store")


@pytest.fixture(scope="module")
def holdout_fit(workdir, sim, uri):
    """`mmm fit --holdout 13 --output-json`: (result, JSON)."""
    out = workdir / "holdout.json"
    result = invoke("fit", sim / "config.yaml", "--holdout", HOLDOUT, "--output-json", out, "--tracking-uri", uri, *SHORT_SAMPLER)
    assert result.exit_code == 0, printed(result) + repr(result.exception)
    return result, json.loads(out.read_text())


@pytest.fixture(scope="module")
def run_id(holdout_fit) -> str:
    return holdout_fit[1]["run_id"]


@pytest.fixture(scope="module")
def loaded(run_id, uri):
    """The fitted model as every command on a run id loads it."""
    from mmm.tracking.runs import load_fit

    model, _ = load_fit(run_id, uri)
    return model


@pytest.fixture(scope="module")
def validation(workdir, run_id, uri):
    """`mmm validate-model --folds 2 --horizon 13 --output-json`: (result, JSON)."""
    out = workdir / "validate.json"
    result = invoke(
        "validate-model",
        "--run-id",
        run_id,
        "--folds",
        FOLDS,
        "--horizon",
        HORIZON,
        *FOLD_SAMPLER,
        "--output-json",
        out,
        "--tracking-uri",
        uri,
    )
    assert result.exit_code == 0, printed(result) + repr(result.exception)
    return result, json.loads(out.read_text())


@pytest.fixture(scope="module")
def check(workdir, run_id, uri):
    """`mmm check --out checks_plot.png --output-json`: (result, JSON, PNG path)."""
    png, out = workdir / "checks_plot.png", workdir / "checks.json"
    result = invoke("check", "--run-id", run_id, "--out", png, "--output-json", out, "--tracking-uri", uri)
    assert result.exit_code == 0, printed(result) + repr(result.exception)
    return result, json.loads(out.read_text()), png


@pytest.fixture(scope="module")
def api_checks(loaded):
    from mmm.analysis.checks import predictive_checks

    return predictive_checks(loaded)


# --- mmm fit --holdout -----------------------------------------------------------------------


def test_holdout_section_in_json_and_output(holdout_fit):
    result, s = holdout_fit
    h = s["holdout"]
    assert {"mape", "nrmse", "coverage", "periods"} <= set(h)
    assert h["periods"] == HOLDOUT
    assert s["data"]["periods"] == PERIODS - HOLDOUT  # the fit saw only the periods before the holdout
    for key in ("mape", "nrmse", "coverage"):
        assert finite_number(h[key]), key
    assert h["mape"] >= 0 and h["nrmse"] >= 0 and 0 <= h["coverage"] <= 1
    assert h["coverage"] * HOLDOUT == pytest.approx(round(h["coverage"] * HOLDOUT))  # a share of 13 periods
    assert f"Holdout ({HOLDOUT} periods not used in fitting)" in result.output


def test_holdout_metrics_are_on_the_mlflow_run(holdout_fit, uri):
    _, s = holdout_fit
    run = mlflow.MlflowClient(tracking_uri=uri).get_run(s["run_id"])
    m = run.data.metrics
    for key in ("mape", "nrmse", "coverage", "periods"):
        assert m[f"holdout_{key}"] == pytest.approx(s["holdout"][key]), key


def test_holdout_scores_the_last_periods_out_of_sample(holdout_fit, loaded, sim):
    """The holdout MAPE is the model's point forecast against the last 13 actuals, which it never saw."""
    _, s = holdout_fit
    actual = pd.read_csv(sim / "data.csv")["revenue"].to_numpy()
    assert loaded.n_train == PERIODS - HOLDOUT
    assert loaded.observed.n_periods == PERIODS  # the holdout travels with the model, for checking later
    point = loaded.in_sample_components()["mean"].sum("geo").mean("sample").values[-HOLDOUT:]
    held = actual[-HOLDOUT:]
    assert s["holdout"]["mape"] == pytest.approx(np.mean(np.abs(held - point) / held), rel=1e-9)


# --- mmm validate-model ----------------------------------------------------------------------


def test_validate_model_prints_folds_and_roas_across_folds(validation, sim):
    result, v = validation
    out = result.output
    dates = pd.read_csv(sim / "data.csv")["date"]
    assert f"Rolling-origin cross-validation, {FOLDS} folds forecasting {HORIZON} periods each" in out
    assert f"{dates[78]} to {dates[90]}" in out and f"{dates[91]} to {dates[103]}" in out
    assert "ROAS across folds" in out
    table = out[out.index("ROAS across folds") :]
    for ch in CHANNELS:
        assert ch in table
    assert f"Logged as run {v['tracking_run_id']} under model run {v['run_id']}" in out


def test_validate_model_json_folds(validation, sim, run_id):
    _, v = validation
    dates = pd.read_csv(sim / "data.csv")["date"]
    assert v["run_id"] == run_id
    assert v["horizon"] == HORIZON
    folds = v["folds"]
    assert len(folds) == FOLDS
    for k, f in enumerate(folds):
        origin = PERIODS - (FOLDS - k) * HORIZON  # the last fold forecasts the last periods
        assert f["fold"] == k + 1
        assert f["train_periods"] == origin
        assert f["test_start"] == dates[origin] and f["test_end"] == dates[origin + HORIZON - 1]
        for key in ("mape", "nrmse", "coverage"):
            assert finite_number(f[key]), (k, key)
        assert f["mape"] >= 0 and f["nrmse"] >= 0 and 0 <= f["coverage"] <= 1
        assert isinstance(f["converged"], bool)
    for key in ("mape", "nrmse", "coverage"):
        assert v["mean"][key] == pytest.approx(np.mean([f[key] for f in folds])), key


def test_validate_model_json_roas_stability(validation):
    _, v = validation
    stability = v["roas_stability"]
    assert set(stability) == set(CHANNELS)
    for ch, st in stability.items():
        by_fold = st["roas_by_fold"]
        assert len(by_fold) == FOLDS
        assert all(finite_number(x) and x > 0 for x in by_fold), ch
        assert st["mean"] == pytest.approx(np.mean(by_fold))
        assert st["min"] == pytest.approx(min(by_fold)) and st["max"] == pytest.approx(max(by_fold))
        assert st["cv"] == pytest.approx(np.std(by_fold) / np.mean(by_fold))


def test_validate_model_is_a_nested_mlflow_run(validation, uri, run_id, tmp_path):
    _, v = validation
    client = mlflow.MlflowClient(tracking_uri=uri)
    child = client.get_run(v["tracking_run_id"])
    assert child.info.status == "FINISHED"
    assert child.data.tags["mmm.kind"] == "validate"
    assert child.data.tags["mlflow.parentRunId"] == run_id
    assert child.info.experiment_id == client.get_run(run_id).info.experiment_id
    assert child.data.params["folds"] == str(FOLDS) and child.data.params["horizon"] == str(HORIZON)
    for key in ("mape", "nrmse", "coverage"):
        assert child.data.metrics[f"cv_{key}_mean"] == pytest.approx(v["mean"][key])
    for ch in CHANNELS:
        assert child.data.metrics[f"cv_roas_cv.{ch}"] == pytest.approx(v["roas_stability"][ch]["cv"])
    logged = json.loads(Path(client.download_artifacts(child.info.run_id, "validate.json", str(tmp_path))).read_text())
    assert logged["folds"] == v["folds"]
    # the folds are not logged as model fits of their own
    fits = [r for r in all_runs(uri) if r.data.tags.get("mmm.kind") == "fit"]
    assert [r.info.run_id for r in fits] == [run_id]


@pytest.mark.parametrize(
    "args, words",
    [
        (["--folds", "10"], ["10 folds", "--folds"]),
        (["--folds", "1"], ["--folds", "at least 2"]),
        (["--horizon", "0"], ["--horizon"]),
    ],
    ids=["too many folds", "one fold", "no horizon"],
)
def test_validate_model_impossible_folds_exit_2(run_id, uri, args, words):
    before = len(all_runs(uri))
    text = assert_clean_exit_2(invoke("validate-model", "--run-id", run_id, *args, *FOLD_SAMPLER, "--tracking-uri", uri))
    for w in words:
        assert w in text, text
    assert len(all_runs(uri)) == before  # nothing fitted, nothing logged


def test_validate_model_unknown_run_exits_2(uri):
    text = assert_clean_exit_2(invoke("validate-model", "--run-id", "0" * 32, "--folds", "2", "--tracking-uri", uri))
    assert "not found" in text


# --- mmm check -------------------------------------------------------------------------------


def test_check_writes_a_png_that_decodes(check):
    from PIL import Image

    _, _, png = check
    with Image.open(png) as img:
        img.verify()
    with Image.open(png) as img:
        assert img.format == "PNG"
        w, h = img.size
        assert w > 300 and h > 300
        img.load()


def test_check_logs_the_plot_to_the_run(check, run_id, uri, tmp_path):
    _, _, png = check
    client = mlflow.MlflowClient(tracking_uri=uri)
    assert f"checks/{png.name}" in {a.path for a in client.list_artifacts(run_id, "checks")}
    copy = Path(client.download_artifacts(run_id, f"checks/{png.name}", str(tmp_path)))
    assert copy.read_bytes() == png.read_bytes()
    assert client.get_run(run_id).info.status == "FINISHED"  # logging to it again leaves the fit finished


def test_check_prints_coverage_and_p_values(check, run_id):
    result, c, png = check
    out = result.output
    assert "Prior predictive (priors only)" in out and "Posterior predictive (fitted)" in out
    assert f"{c['posterior']['coverage']:.0%} of periods inside the 90% band" in out
    assert f"Plot written to {png} and logged to run {run_id}" in out


def test_check_json(check, run_id):
    _, c, _ = check
    assert c["run_id"] == run_id
    for key in ("prior", "posterior"):
        assert set(c[key]) == {"coverage", "p_value_mean", "p_value_sd"}, key  # the bands stay out of the JSON
        for stat, value in c[key].items():
            assert finite_number(value) and 0 <= value <= 1, (key, stat, value)
    assert c["posterior"]["coverage"] > 0.5


def test_prior_band_is_wider_than_the_posterior_band(check, api_checks, loaded):
    _, c, _ = check
    n = loaded.n_train
    assert len(api_checks["dates"]) == len(api_checks["actual"]) == n  # training periods only
    for key in ("prior", "posterior"):
        band = api_checks[key]["band"]
        assert len(band["low"]) == len(band["high"]) == len(band["median"]) == n
        assert all(lo <= md <= hi for lo, md, hi in zip(band["low"], band["median"], band["high"])), key
        for stat in ("coverage", "p_value_mean", "p_value_sd"):  # the same seed gives the CLI's numbers
            assert api_checks[key][stat] == pytest.approx(c[key][stat]), (key, stat)

    def mean_width(key: str) -> float:
        band = api_checks[key]["band"]
        return float(np.mean(np.subtract(band["high"], band["low"])))

    assert mean_width("prior") > 2 * mean_width("posterior")
    assert api_checks["posterior"]["coverage"] > 0.5
