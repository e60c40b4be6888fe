"""`mmm fit` (and `mmm validate`) end to end through the CLI, on temporary MLflow stores.

Every sampling fit here is short (200 draws, 200 tuning steps, 2 chains) so the file stays
fast; such runs are not expected to converge, so `converged` is only checked for its type.
Fits are shared between tests through module-scoped fixtures (four sampling fits in all).
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

import mlflow
import pandas as pd
import pytest
import yaml
from click.testing import Result
from helpers import SHORT_SAMPLER, all_runs, assert_clean_exit_2, invoke, isolated_workdir, printed, store_uri

CHANNELS = ("search", "social", "display")
METRICS = ("roas", "roi", "contribution", "contribution_share", "mroas")


# --- helpers ---------------------------------------------------------------------------------


def fit(config: Path, store: Path, json_out: Path, *extra: str) -> tuple[Result, dict[str, Any], str]:
    """`mmm fit CONFIG --output-json ... --tracking-uri ...` with the short sampler; (result, JSON, uri)."""
    uri = store_uri(store)
    result = invoke("fit", config, "--output-json", json_out, "--tracking-uri", uri, *SHORT_SAMPLER, *extra)
    assert result.exit_code == 0, result.output + repr(result.exception)
    return result, json.loads(json_out.read_text()), uri


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    """A module-wide working directory, with no MLflow settings leaking in or out."""
    yield from isolated_workdir(tmp_path_factory, "cli_fit")


@pytest.fixture(scope="module")
def sim(workdir) -> Path:
    """`mmm simulate --scenario clean`: 104 weekly rows, 3 channels."""
    out = workdir / "sim"
    result = invoke("simulate", "--scenario", "clean", "--out", out)
    assert result.exit_code == 0, result.output
    for name in ("data.csv", "truth.json", "config.yaml"):
        assert (out / name).is_file()
    df = pd.read_csv(out / "data.csv")
    assert len(df) == 104
    return out


@pytest.fixture(scope="module")
def main_fit(workdir, sim):
    return fit(sim / "config.yaml", workdir / "main_store", workdir / "main.json")


@pytest.fixture(scope="module")
def repeat_fit(workdir, sim):
    return fit(sim / "config.yaml", workdir / "repeat_store", workdir / "repeat.json")


@pytest.fixture(scope="module")
def holdout_fit(workdir, sim):
    return fit(sim / "config.yaml", workdir / "holdout_store", workdir / "holdout.json", "--holdout", "13")


@pytest.fixture(scope="module")
def fee_fit(workdir, sim):
    """The same data with full costs: `fee_rate: 0.5`, content and a tool on display; an analyst shared by all channels."""
    raw = yaml.safe_load((sim / "config.yaml").read_text())
    for ch in raw["channels"]:
        if ch["name"] == "display":
            ch["fee_rate"] = 0.5
            ch["costs"] = [
                {"name": "banners", "category": "content", "amount": 3000.0},
                {"name": "ad server", "category": "tools", "per_period": 10.0},
            ]
    raw["costs"] = [{"name": "analyst", "category": "personnel", "per_period": 300.0}]
    config = sim / "config_fee.yaml"  # beside data.csv, so data.path still resolves
    config.write_text(yaml.safe_dump(raw, sort_keys=False))
    return fit(config, workdir / "fee_store", workdir / "fee.json")


# --- the fit's output ------------------------------------------------------------------------


def test_fit_prints_a_table_naming_every_channel(main_fit):
    result, summary, _uri = main_fit
    for ch in CHANNELS:
        assert ch in result.output
    assert "ROAS" in result.output
    assert f"Run {summary['run_id']}" in result.output


def test_fit_json_has_the_contract_keys(main_fit):
    _, s, _ = main_fit
    assert {"run_id", "fit_seconds", "diagnostics", "fit", "channels"} <= set(s)
    assert {"max_rhat", "min_ess_bulk", "divergences", "converged"} <= set(s["diagnostics"])
    assert {"r2", "mape", "nrmse"} <= set(s["fit"])
    assert set(s["channels"]) == set(CHANNELS)
    assert isinstance(s["run_id"], str) and s["run_id"]
    assert isinstance(s["diagnostics"]["converged"], bool)  # not asserted true: the run is far too short
    assert isinstance(s["diagnostics"]["divergences"], int)
    assert s["data"]["periods"] == 104
    for ch, c in s["channels"].items():
        for metric in METRICS:
            assert set(c[metric]) == {"mean", "low", "high"}, (ch, metric)
            m = c[metric]
            assert m["low"] <= m["mean"] <= m["high"], (ch, metric, m)


def test_fit_json_numbers_are_finite(main_fit):
    _, s, _ = main_fit
    numbers = [s["fit_seconds"], s["data"]["target_total"]]
    numbers += [s["diagnostics"][k] for k in ("max_rhat", "min_ess_bulk", "divergences")]
    numbers += list(s["fit"].values())
    for c in s["channels"].values():
        numbers += [c["spend"], c["cost"]] + [c[m][k] for m in METRICS for k in ("mean", "low", "high")]
    for x in numbers:
        assert isinstance(x, (int, float)) and not isinstance(x, bool), x  # None would be a NaN
        assert math.isfinite(x)
    assert s["fit_seconds"] > 0
    assert 0 < s["fit"]["r2"] <= 1 and s["fit"]["mape"] >= 0 and s["fit"]["nrmse"] >= 0


def test_fit_json_metrics_are_consistent(main_fit, sim):
    _, s, _ = main_fit
    df = pd.read_csv(sim / "data.csv")
    assert s["data"]["target_total"] == pytest.approx(df["revenue"].sum(), rel=1e-9)
    for ch, c in s["channels"].items():
        spend, cost = c["spend"], c["cost"]
        assert spend == pytest.approx(df[f"{ch}_spend"].sum(), rel=1e-9)
        assert cost == pytest.approx(spend, rel=1e-12)  # no fees in the simulated config
        contrib = c["contribution"]
        for stat in ("mean", "low", "high"):  # cost is fixed, so each statistic maps exactly
            assert c["roi"][stat] == pytest.approx((contrib[stat] - cost) / cost, rel=1e-9, abs=1e-9), (ch, stat)
            assert c["roas"][stat] == pytest.approx(contrib[stat] / spend, rel=1e-9), (ch, stat)
            assert c["contribution_share"][stat] == pytest.approx(contrib[stat] / s["data"]["target_total"], rel=1e-9)
        assert c["roas"]["mean"] > 0
        # Hill with a fixed slope is concave from zero: the marginal return is below the average one
        assert 0 < c["mroas"]["mean"] <= c["roas"]["mean"]


# --- MLflow ----------------------------------------------------------------------------------


def test_fit_is_recorded_in_mlflow(main_fit, tmp_path):
    _, s, uri = main_fit
    runs = all_runs(uri)
    assert [r.info.run_id for r in runs] == [s["run_id"]]
    client = mlflow.MlflowClient(tracking_uri=uri)
    run = client.get_run(s["run_id"])
    assert run.info.status == "FINISHED"
    assert run.data.tags["mmm.kind"] == "fit"
    metrics = run.data.metrics
    assert metrics["max_rhat"] == pytest.approx(s["diagnostics"]["max_rhat"])
    for ch in CHANNELS:
        assert metrics[f"roas_mean.{ch}"] == pytest.approx(s["channels"][ch]["roas"]["mean"])
    assert run.data.params["sampler.draws"] == "200"  # the command-line override is what is recorded
    assert run.data.params["sampler.chains"] == "2"
    top = {a.path for a in client.list_artifacts(s["run_id"])}
    assert {"summary.json", "config.yaml", "model"} <= top
    assert "model/model.nc" in {a.path for a in client.list_artifacts(s["run_id"], "model")}
    logged = json.loads(Path(client.download_artifacts(s["run_id"], "summary.json", str(tmp_path))).read_text())
    assert logged["run_id"] == s["run_id"]
    assert logged["channels"] == s["channels"]


# --- reproducibility, holdout, costs ---------------------------------------------------------


def test_same_config_and_seed_give_identical_numbers(main_fit, repeat_fit):
    _, first, _ = main_fit
    _, second, _ = repeat_fit
    assert first["run_id"] != second["run_id"]
    assert second["channels"] == first["channels"]


def test_holdout_is_scored(holdout_fit):
    result, s, _ = holdout_fit
    h = s["holdout"]
    assert {"mape", "nrmse", "coverage", "periods"} <= set(h)
    assert h["periods"] == 13
    assert s["data"]["periods"] == 104 - 13
    assert 0 <= h["coverage"] <= 1
    assert math.isfinite(h["mape"]) and h["mape"] >= 0
    assert math.isfinite(h["nrmse"]) and h["nrmse"] >= 0
    assert "Holdout (13 periods" in result.output


def test_fit_without_holdout_has_no_holdout_section(main_fit):
    assert "holdout" not in main_fit[1]


def test_full_costs_enter_cost_and_net_roi_not_roas(fee_fit):
    result, s, _ = fee_fit
    channels = s["channels"]
    total_spend = sum(c["spend"] for c in channels.values())
    periods = s["data"]["periods"]
    display = channels["display"]
    expected = {
        "media spend": display["spend"],
        "fee": 0.5 * display["spend"],
        "banners": 3000.0,
        "ad server": 10.0 * periods,
        "shared analyst": 300.0 * periods * display["spend"] / total_spend,
    }
    assert display["cost_lines"] == pytest.approx(expected, rel=1e-9)
    for name, c in channels.items():
        assert c["cost"] == pytest.approx(sum(c["cost_lines"].values()), rel=1e-12), name
        assert c["cost_lines"]["shared analyst"] == pytest.approx(300.0 * periods * c["spend"] / total_spend, rel=1e-9)
        for stat in ("mean", "low", "high"):  # ROAS on media spend, net ROI on the full cost
            contribution = c["roas"][stat] * c["spend"]
            assert c["roi"][stat] == pytest.approx((contribution - c["cost"]) / c["cost"], rel=1e-9, abs=1e-9)
    assert "net ROI is on the full cost" in result.output and "shared analyst" in result.output


# --- validate --------------------------------------------------------------------------------


def test_validate_simulated_config(sim, isolated):
    result = invoke("validate", sim / "config.yaml")
    assert result.exit_code == 0, result.output
    out = result.output
    assert "104 weekly periods" in out
    assert "How each column is used" in out
    for column in ("date", "revenue", "search_spend", "social_spend", "display_spend", "price_index"):
        assert f"'{column}'" in out, column
    assert "OK" in out


def test_robyns_published_demo_data_validate_as_the_example_config_reads_them(isolated):
    """configs/robyn.yaml reads Meta Robyn's demo file as published (../shared): 208 weeks, a text column of events
    as indicators, impressions and clicks named as unused."""
    result = invoke("validate", Path(__file__).parents[1] / "configs" / "robyn.yaml")
    assert result.exit_code == 0, result.output
    out = result.output
    assert "208 weekly periods" in out and "OK" in out
    assert "'events': categorical control with 3 values" in out
    assert "not used: facebook_I, search_clicks_P" in out


def test_validate_unknown_column_exits_2_naming_it(sim, isolated):
    raw = yaml.safe_load((sim / "config.yaml").read_text())
    raw["channels"][1]["spend_column"] = "tiktok_spend"
    raw["data"]["path"] = str(sim / "data.csv")
    config = isolated / "broken.yaml"
    config.write_text(yaml.safe_dump(raw, sort_keys=False))
    text = assert_clean_exit_2(invoke("validate", config))
    assert "tiktok_spend" in text


def test_validate_bad_config_key_exits_2(sim, isolated):
    config = isolated / "typo.yaml"
    config.write_text((sim / "config.yaml").read_text().replace("sampler:", "samplr:"))
    text = assert_clean_exit_2(invoke("validate", config))
    assert "samplr" in text


# --- failures --------------------------------------------------------------------------------


def test_fit_on_bad_data_exits_2_without_a_run(sim, isolated):
    df = pd.read_csv(sim / "data.csv")
    df.loc[4, "display_spend"] = -100.0
    df.to_csv(isolated / "data.csv", index=False)
    (isolated / "config.yaml").write_text((sim / "config.yaml").read_text())
    uri = store_uri(isolated / "store")
    out_json = isolated / "fit.json"
    result = invoke("fit", isolated / "config.yaml", "--tracking-uri", uri, "--output-json", out_json, *SHORT_SAMPLER)
    text = assert_clean_exit_2(result)
    assert "display_spend" in text and "row 5" in text
    assert not out_json.exists()
    assert all_runs(uri) == []
    assert not (isolated / "mlruns.db").exists()  # nothing written to the default store either


def test_fit_that_fails_while_sampling_ends_as_failed_run(sim, isolated, monkeypatch):
    def broken_sampler(*args, **kwargs):
        raise RuntimeError("sampler exploded")

    monkeypatch.setattr("mmm.model.estimator.sample_posterior", broken_sampler)
    uri = store_uri(isolated / "store")
    out_json = isolated / "fit.json"
    result = invoke("fit", sim / "config.yaml", "--tracking-uri", uri, "--output-json", out_json, *SHORT_SAMPLER)
    assert result.exit_code == 1  # not a problem the user can fix: the traceback, passwords masked
    assert "RuntimeError: sampler exploded" in printed(result)
    assert not out_json.exists()
    runs = all_runs(uri)
    assert len(runs) == 1
    run = runs[0]
    assert run.info.status == "FAILED"
    assert run.data.tags["mmm.kind"] == "fit"
    client = mlflow.MlflowClient(tracking_uri=uri)
    assert "summary.json" not in {a.path for a in client.list_artifacts(run.info.run_id)}
    assert mlflow.active_run() is None  # the failed run was closed, not left open in the process


def test_fit_whose_logging_fails_ends_as_failed_run_and_stops_drawing_the_charts(sim, isolated, monkeypatch):
    def broken_logging(*args, **kwargs):
        raise RuntimeError("the store went away")

    monkeypatch.setattr("mmm.tracking.runs.log_fit", broken_logging)
    uri = store_uri(isolated / "store")
    result = invoke("fit", sim / "config.yaml", "--tracking-uri", uri, *SHORT_SAMPLER)
    assert result.exit_code == 1 and "RuntimeError: the store went away" in printed(result)
    assert [run.info.status for run in all_runs(uri)] == ["FAILED"]
    with pytest.raises(ChildProcessError):
        os.waitpid(-1, os.WNOHANG)  # the process drawing the charts was stopped and reaped
