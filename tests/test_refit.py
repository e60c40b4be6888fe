"""`mmm refit` end to end: refit drift against a known change, the run link, both forms of the new file, bad input.

The clean scenario (seed 31) is fitted on its first 84 weeks; its last 20 weeks are then rewritten
with search's true weekly contribution tripled (from the simulation's own truth), and the model
refitted on them. Search's ROAS must rise outside the previous interval; social's and display's
did not change and must not be flagged (at this seed and split the refit moves social by under
1% and display stays 0.3 inside its interval; search ends 0.6 above its previous upper bound).
Two sampling fits in all, with the short sampler.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import mlflow
import numpy as np
import pandas as pd
import pytest
import yaml
from helpers import SHORT_SAMPLER, all_runs, assert_clean_exit_2, invoke, isolated_workdir, printed, store_uri

SEED = 31
OLD_WEEKS = 84  # of 104: the previous fit's data
CHANGED, FACTOR = "search", 3.0  # search's effect in the new weeks, as a multiple of its true effect
EXPERIMENT = "shop"


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    yield from isolated_workdir(tmp_path_factory, "refit")


@pytest.fixture(scope="module")
def sim(workdir) -> Path:
    """The scenario, the first 84 weeks as the previous data (old.csv, config_old.yaml) and the changed new weeks."""
    out = workdir / "sim"
    assert invoke("simulate", "--scenario", "clean", "--seed", SEED, "--out", out).exit_code == 0
    df = pd.read_csv(out / "data.csv")
    truth = json.loads((out / "truth.json").read_text())
    df.iloc[:OLD_WEEKS].to_csv(out / "old.csv", index=False)
    raw = yaml.safe_load((out / "config.yaml").read_text())
    raw["data"]["path"] = "old.csv"
    (out / "config_old.yaml").write_text(yaml.safe_dump(raw, sort_keys=False))
    new = df.iloc[OLD_WEEKS:].copy()
    extra = (FACTOR - 1) * np.asarray(truth["weekly"][CHANGED])[OLD_WEEKS:]
    new["revenue"] = (new["revenue"] + extra).round(2)
    new.to_csv(out / "appended.csv", index=False)
    pd.concat([df.iloc[:OLD_WEEKS], new]).to_csv(out / "full.csv", index=False)
    return out


@pytest.fixture(scope="module")
def first(workdir, sim) -> tuple[str, str]:
    """The previous fit on the first 84 weeks: (run id, tracking URI)."""
    uri = store_uri(workdir / "store")
    out = workdir / "first.json"
    result = invoke("fit", sim / "config_old.yaml", "--output-json", out, "--tracking-uri", uri, "--experiment", EXPERIMENT, *SHORT_SAMPLER)
    assert result.exit_code == 0, result.output + repr(result.exception)
    return json.loads(out.read_text())["run_id"], uri


@pytest.fixture(scope="module")
def refitted(workdir, sim, first) -> tuple[Any, dict[str, Any]]:
    """`mmm refit` on the 20 new weeks alone (its sampler settings are the previous fit's): (result, JSON)."""
    run_id, uri = first
    out = workdir / "refit.json"
    result = invoke("refit", "--run-id", run_id, "--data", sim / "appended.csv", "--output-json", out, "--tracking-uri", uri)
    assert result.exit_code == 0, result.output + repr(result.exception)
    return result, json.loads(out.read_text())


# --- drift against the known change --------------------------------------------------------


def test_the_changed_channel_moved_up_outside_its_previous_interval(refitted):
    _, s = refitted
    search = s["changes"]["channels"][CHANGED]
    assert search["change"] > 0 and search["relative_change"] > 0.1
    assert search["current"]["mean"] > search["previous"]["high"]
    assert search["inside_previous_interval"] is False


def test_the_unchanged_channels_are_not_flagged(refitted):
    _, s = refitted
    for name, c in s["changes"]["channels"].items():
        if name != CHANGED:
            assert c["inside_previous_interval"] is True, (name, c)
            assert c["previous"]["low"] <= c["current"]["mean"] <= c["previous"]["high"]


def test_changes_say_what_was_added(refitted, first):
    _, s = refitted
    ch = s["changes"]
    assert ch["previous_run_id"] == first[0]
    assert (ch["added_periods"], ch["first_added"], ch["last_added"]) == (20, "2024-08-12", "2024-12-23")
    assert ch["previous_last_date"] == "2024-08-05"
    assert s["data"]["periods"] == 104 and s["data"]["last_date"] == "2024-12-23"
    assert s["run_id"] != first[0]


def test_the_move_is_printed_in_words(refitted):
    result, s = refitted
    search = s["changes"]["channels"][CHANGED]
    p = search["previous"]
    line = f"{CHANGED}: ROAS rose from {p['mean']:.2f} to {search['current']['mean']:.2f}, outside what the previous fit allowed ({p['low']:.2f}-{p['high']:.2f})"
    assert line in result.output
    assert "inside previous interval" in result.output
    assert sum("outside what the previous fit allowed" in row for row in result.output.splitlines()) == 1


# --- the run ----------------------------------------------------------------------------------


def test_the_refit_is_a_new_run_linked_to_the_previous_one(refitted, first):
    _, s = refitted
    run_id, uri = first
    client = mlflow.MlflowClient(tracking_uri=uri)
    run, previous = client.get_run(s["run_id"]), client.get_run(run_id)
    assert run.info.status == "FINISHED" and run.info.experiment_id == previous.info.experiment_id
    assert run.info.run_name == "refit config_old"
    assert run.data.tags["mmm.refit_of"] == run_id and run.data.tags["mmm.kind"] == "fit"
    assert run.data.tags["mmm.moved_outside"] == CHANGED
    m = run.data.metrics
    assert m["channels_moved_outside"] == 1
    assert m["roas_change.search"] == pytest.approx(s["changes"]["channels"]["search"]["change"])
    assert {"roas_change.social", "roas_change.display", "roas_mean.search"} <= set(m)
    summary = json.loads(
        Path(mlflow.artifacts.download_artifacts(run_id=s["run_id"], artifact_path="summary.json", tracking_uri=uri)).read_text()
    )
    assert summary["changes"] == s["changes"]


def test_the_report_says_what_changed(refitted, first):
    _, s = refitted
    html = Path(
        mlflow.artifacts.download_artifacts(run_id=s["run_id"], artifact_path="report/report.html", tracking_uri=first[1])
    ).read_text()
    assert '<section id="changes"><h2>What changed since the last fit</h2>' in html
    assert html.index('id="summary"') < html.index('id="changes"') < html.index('id="fit"')
    assert "outside what the previous fit allowed" in html


def test_a_failed_refit_leaves_a_failed_linked_run(workdir, sim, first, monkeypatch):
    import mmm.model.refit

    def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("sampler crashed")

    run_id, uri = first
    monkeypatch.setattr(mmm.model.refit, "refit", broken)
    result = invoke("refit", "--run-id", run_id, "--data", sim / "appended.csv", "--tracking-uri", uri)
    assert result.exit_code == 1 and "RuntimeError: sampler crashed" in printed(result)
    failed = [r for r in all_runs(uri) if r.info.status == "FAILED"]
    assert len(failed) == 1 and failed[0].data.tags["mmm.refit_of"] == run_id


# --- the new file: both forms, and what is refused ----------------------------------------------


def refreshed(run_id: str, uri: str, path: Path) -> Any:
    from mmm.config import with_overrides
    from mmm.data.refresh import refresh_data
    from mmm.tracking.runs import load_fit

    model, _ = load_fit(run_id, uri)
    return refresh_data(with_overrides(model.config, {"data.path": str(path)}), model.observed)


def test_the_full_export_and_the_new_weeks_alone_give_the_same_data(sim, first):
    full, appended = refreshed(*first, sim / "full.csv"), refreshed(*first, sim / "appended.csv")
    assert full.data.inputs.equals(appended.data.inputs)
    assert (full.added, full.first_added, full.last_added) == (appended.added, appended.first_added, appended.last_added)
    assert not any("differ" in w for w in full.data.warnings + appended.data.warnings)


def test_revised_earlier_figures_are_a_warning(workdir, sim, first):
    df = pd.read_csv(sim / "full.csv")
    df.loc[[3, 10], "revenue"] += 1000.0
    path = workdir / "revised.csv"
    df.to_csv(path, index=False)
    refresh = refreshed(*first, path)
    (warning,) = [w for w in refresh.data.warnings if "differ" in w]
    assert str(path) in warning and "2 earlier period(s)" in warning and "revenue in 2" in warning
    assert refresh.data.target_series()[3] == pytest.approx(df["revenue"][3])  # the new figures are used


def refit_with(first: tuple[str, str], path: Path) -> str:
    """`mmm refit` on a bad file: exit status 2, no run recorded; returns what it printed."""
    run_id, uri = first
    runs = len(all_runs(uri))
    text = assert_clean_exit_2(invoke("refit", "--run-id", run_id, "--data", path, "--tracking-uri", uri))
    assert len(all_runs(uri)) == runs
    assert str(path) in text
    return text


def test_a_gap_before_the_new_weeks_is_refused(workdir, sim, first):
    path = workdir / "gap.csv"
    pd.read_csv(sim / "appended.csv").iloc[2:].to_csv(path, index=False)
    text = refit_with(first, path)
    assert "2024-08-26 (row 1)" in text and "2024-08-05" in text and "2 weekly period(s) in between are missing" in text


def test_a_gap_inside_the_new_weeks_names_its_rows(workdir, sim, first):
    path = workdir / "inner_gap.csv"
    pd.read_csv(sim / "appended.csv").drop(index=5).to_csv(path, index=False)
    text = refit_with(first, path)
    assert "column 'date'" in text and "rows 5 (2024-09-09) and 6 (2024-09-23)" in text


def test_a_wrong_column_is_refused(workdir, sim, first):
    path = workdir / "renamed.csv"
    pd.read_csv(sim / "appended.csv").rename(columns={"search_spend": "search_cost"}).to_csv(path, index=False)
    assert "'search_spend' (spend of channel search)" in refit_with(first, path)


def test_data_ending_before_the_model_ends_is_refused(workdir, sim, first):
    path = workdir / "short.csv"
    pd.read_csv(sim / "old.csv").iloc[:60].to_csv(path, index=False)
    assert "ends on 2024-02-19, before the last period the model was fitted on (2024-08-05)" in refit_with(first, path)
