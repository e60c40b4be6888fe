"""`mmm optimize` and `mmm scenario` on a geo model end to end: one small fit of simulated regions (tv bought
nationally), a plan region by region or by held shares, a scenario file that plans each region, MLflow metrics
per region, and plan files with bad regions that exit 2."""

from __future__ import annotations

import json
from pathlib import Path

import mlflow
import numpy as np
import openpyxl
import pandas as pd
import pytest
from helpers import SHORT_SAMPLER, assert_clean_exit_2, invoke, store_uri

from mmm.report.spreadsheet import REGION_HEADER, REGION_SHEET

CHANNELS = ["search", "social", "tv"]
WEEKS = 13


def ok(*args):
    result = invoke(*args)
    assert result.exit_code == 0, f"mmm {' '.join(map(str, args))} exited {result.exit_code}:\n{result.output}\n{result.exception!r}"
    return result


@pytest.fixture(scope="module")
def fitted(tmp_path_factory):
    root = tmp_path_factory.mktemp("geo_plans")
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(root)
        for key in ("MLFLOW_TRACKING_URI", "MLFLOW_EXPERIMENT_NAME", "MLFLOW_EXPERIMENT_ID"):
            mp.delenv(key, raising=False)
        uri = store_uri(root / "store")
        ok("simulate", "--scenario", "geo_4x60x3", "--out", "sim")
        ok("fit", "sim/config.yaml", *SHORT_SAMPLER, "--tracking-uri", uri, "--output-json", "fit.json")
        run_id = json.loads((root / "fit.json").read_text())["run_id"]
        common = ["--run-id", run_id, "--tracking-uri", uri, "--force"]
        text = ok(
            "optimize", *common, "--budget", "900000", "--weeks", WEEKS, "--output-json", "cells.json", "--output-xlsx", "plan.xlsx"
        ).output
        ok("optimize", *common, "--budget", "900000", "--weeks", WEEKS, "--geo-allocation", "shares", "--output-json", "shares.json")
        yield root, uri, common, text


def load(root: Path, name: str) -> dict:
    return json.loads((root / name).read_text())


def test_optimize_plans_each_region_and_keeps_tv_split(fitted):
    root, uri, _, text = fitted
    out = load(root, "cells.json")
    assert out["geo_allocation"] == "cells"
    geos = out["geos"]
    regions = sorted(pd.read_csv(root / "sim" / "data.csv")["geo"].unique())
    assert sorted(geos) == regions
    for ch in CHANNELS:
        assert sum(geos[g]["channels"][ch]["total"] for g in regions) == pytest.approx(out["allocation"][ch]["total"], abs=0.05)
    assert sum(out["allocation"][ch]["total"] for ch in CHANNELS) == pytest.approx(900_000, abs=0.005)
    # tv is bought nationally: it keeps the regions' split of its current spend
    tv_now = np.array([geos[g]["channels"]["tv"]["current_total"] for g in regions])
    tv_plan = np.array([geos[g]["channels"]["tv"]["share"] for g in regions])
    np.testing.assert_allclose(tv_plan, tv_now / tv_now.sum(), rtol=1e-6)
    assert "By region (chosen region by region" in text
    child = mlflow.MlflowClient(uri).get_run(out["tracking_run_id"])
    assert child.data.metrics[f"spend.{regions[0]}.search"] == pytest.approx(geos[regions[0]]["channels"]["search"]["total"])
    assert child.data.params["geo_allocation"] == "cells"
    sheet = openpyxl.load_workbook(root / "plan.xlsx")[REGION_SHEET]
    rows = list(sheet.iter_rows(values_only=True))
    assert list(rows[0]) == REGION_HEADER and len(rows) == 1 + len(regions) * len(CHANNELS)
    assert sum(r[2] for r in rows[1:]) == pytest.approx(900_000, abs=0.05)


def test_optimize_with_held_shares_keeps_every_channels_split(fitted):
    root, *_ = fitted
    out = load(root, "shares.json")
    assert out["geo_allocation"] == "shares"
    for ch in CHANNELS:
        now = np.array([g["channels"][ch]["current_total"] for g in out["geos"].values()])
        split = np.array([g["channels"][ch]["share"] for g in out["geos"].values()])
        np.testing.assert_allclose(split, now / now.sum(), rtol=1e-6)
    assert load(root, "cells.json")["expected"]["recommended"]["mean"] >= out["expected"]["recommended"]["mean"] * 0.999


def region_plan(root: Path, rows: list[tuple[int, str]], name: str) -> Path:
    frame = pd.DataFrame([{"week": w, "geo": g, "search": 3000.0, "social": 1500.0, "tv": 2500.0} for w, g in rows])
    path = root / name
    frame.to_csv(path, index=False)
    return path


def test_scenario_reads_a_plan_by_region(fitted):
    root, _, common, _ = fitted
    regions = sorted(pd.read_csv(root / "sim" / "data.csv")["geo"].unique())
    path = region_plan(root, [(w, g) for w in range(1, 5) for g in regions], "by_region.csv")
    ok("scenario", *common, "--plan", path, "--output-json", root / "scenario.json")
    out = load(root, "scenario.json")
    assert out["spend"] == pytest.approx(4 * len(regions) * 7000.0)
    assert out["spend_by_channel"]["search"] == pytest.approx(4 * len(regions) * 3000.0)
    assert "each region" in out["geo_split"]


def test_a_plan_by_region_with_an_unknown_region_or_a_missing_week_is_refused(fitted):
    root, _, common, _ = fitted
    regions = sorted(pd.read_csv(root / "sim" / "data.csv")["geo"].unique())
    unknown = region_plan(root, [(1, g) for g in regions] + [(1, "atlantis")], "unknown.csv")
    text = assert_clean_exit_2(invoke("scenario", *common, "--plan", unknown))
    assert "unknown.csv, column 'geo': unknown region(s) atlantis in row 5" in text
    missing = region_plan(root, [(w, g) for w in (1, 2) for g in regions if (w, g) != (2, regions[1])], "missing.csv")
    text = assert_clean_exit_2(invoke("scenario", *common, "--plan", missing))
    assert "every region needs a row for every week" in " ".join(text.split())


def test_report_shows_the_plan_by_region(fitted):
    root, _, common, _ = fitted
    ok("report", *common[:4], "--out", root / "report.html")
    html = (root / "report.html").read_text()
    assert "The plan by region" in html
    regions = sorted(pd.read_csv(root / "sim" / "data.csv")["geo"].unique())
    assert all(f"<td>{g}</td>" in html for g in regions)


def test_a_bounds_file_caps_a_channel_in_one_region(fitted):
    root, _, common, _ = fitted
    regions = sorted(pd.read_csv(root / "sim" / "data.csv")["geo"].unique())
    free = load(root, "cells.json")["geos"][regions[0]]["channels"]["search"]["weekly"]
    cap = round(free / 2, 2)
    bounds = root / "region_bounds.csv"
    bounds.write_text(f"channel,geo,min,max\nsearch,{regions[0]},,{cap}\n")
    ok("optimize", *common, "--budget", "900000", "--weeks", WEEKS, "--bounds", bounds, "--output-json", root / "capped.json")
    cell = load(root, "capped.json")["geos"][regions[0]]["channels"]["search"]
    assert cell["weekly"] <= cap + 0.01 and cell["bound"] == "max"
    bad = root / "bad_bounds.csv"
    bad.write_text("channel,geo,min,max\nsearch,atlantis,,5\n")
    text = assert_clean_exit_2(invoke("optimize", *common, "--budget", "900000", "--bounds", bad))
    assert "bad_bounds.csv, row 1: no region named 'atlantis'" in text
