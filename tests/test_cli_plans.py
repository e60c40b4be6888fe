"""`mmm optimize` and `mmm scenario` end to end: one real fit (small), JSON contracts, runs nested
under the fit in MLflow with the same metric names, and bad input that exits 2 with a message."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import mlflow
import pytest
import yaml
from click.testing import CliRunner

from mmm.cli import main

CHANNELS = ["search", "social", "display"]  # the `clean` scenario
STAT = {"mean", "low", "high"}
PLAN_METRICS = {
    "expected_revenue_mean",
    "expected_revenue_low",
    "expected_revenue_high",
    "incremental_revenue_mean",
    "roas_mean",
    "prob_better_than_current",
    *(f"spend_{c}" for c in CHANNELS),
}


def invoke(args: list[str]):
    result = CliRunner().invoke(main, args, catch_exceptions=True)
    return result


def ok(args: list[str]):
    result = invoke(args)
    assert result.exit_code == 0, f"mmm {' '.join(args)} exited {result.exit_code}:\n{result.output}\n{result.exception!r}"
    return result


def write_csv_plan(path: Path, rows: list[dict]) -> Path:
    cols = list(rows[0])
    path.write_text(",".join(cols) + "\n" + "".join(",".join(str(r[c]) for c in cols) + "\n" for r in rows))
    return path


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    """One small fit, one optimisation and two scenarios on a fresh embedded MLflow store."""
    root = tmp_path_factory.mktemp("cli_plans")
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(root)
        mp.delenv("MLFLOW_TRACKING_URI", raising=False)
        mp.delenv("MLFLOW_EXPERIMENT_NAME", raising=False)
        uri = f"sqlite:///{root / 'mlruns.db'}"
        ok(["simulate", "--scenario", "clean", "--out", "sim"])
        ok(
            [
                "fit",
                "sim/config.yaml",
                "--draws",
                "200",
                "--tune",
                "200",
                "--chains",
                "2",
                "--tracking-uri",
                uri,
                "--output-json",
                "fit.json",
            ]
        )
        fit = json.loads((root / "fit.json").read_text())
        run_id = fit["run_id"]
        common = ["--run-id", run_id, "--tracking-uri", uri]

        plan_files = ["--output-csv", "opt.csv", "--output-xlsx", "plans/opt.xlsx"]  # the plan by week, for a spreadsheet
        opt_out = ok(["optimize", *common, "--budget", "130000", "--weeks", "13", "--output-json", "opt.json", *plan_files])
        optimized = json.loads((root / "opt.json").read_text())

        csv_plan = write_csv_plan(
            root / "flighted.csv", [{"week": w, "search": 8000, "social": 3000 if w % 2 else 0, "display": 1000} for w in range(1, 14)]
        )
        yaml_plan = root / "steady.yaml"
        yaml_plan.write_text(
            yaml.safe_dump({"name": "steady quarter", "weeks": 13, "spend": {"search": 7000, "social": [2000] * 13, "display": 1000}})
        )
        scenarios = {}
        for key, plan in (("csv", csv_plan), ("yaml", yaml_plan)):
            out = root / f"scenario_{key}.json"
            files = ["--output-csv", f"scenario_{key}.csv", "--output-xlsx", f"scenario_{key}.xlsx"] if key == "csv" else []
            ok(["scenario", *common, "--plan", str(plan), "--output-json", str(out), *files])
            scenarios[key] = json.loads(out.read_text())
        yield SimpleNamespace(
            root=root,
            uri=uri,
            run_id=run_id,
            fit=fit,
            optimized=optimized,
            optimize_output=opt_out.output,
            scenarios=scenarios,
            common=common,
        )


@pytest.fixture(autouse=True)
def _isolated(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.delenv("MLFLOW_EXPERIMENT_NAME", raising=False)


def client(store) -> mlflow.MlflowClient:
    mlflow.set_tracking_uri(store.uri)
    return mlflow.MlflowClient()


def all_runs(store) -> list:
    c = client(store)
    exp = c.get_experiment_by_name("mmm")
    return c.search_runs([exp.experiment_id], max_results=1000)


# --- contracts -------------------------------------------------------------------------------------


def test_optimize_json_contract(store):
    r = store.optimized
    assert r["run_id"] == store.run_id
    assert r["budget"] == 130000.0 and r["weeks"] == 13
    assert set(r["allocation"]) == set(CHANNELS)
    for ch, a in r["allocation"].items():
        assert {"total", "weekly", "tier", "mroas"} <= set(a), ch
        assert a["weekly"] == pytest.approx(a["total"] / 13)
        assert a["total"] >= 0 and a["mroas"] > 0
    assert {a["tier"] for a in r["allocation"].values()} == {"proven", "test", "experimental"}
    assert r["tiers"] == pytest.approx({"proven": 0.7, "test": 0.2, "experimental": 0.1}, abs=1e-9)
    assert sum(a["total"] for a in r["allocation"].values()) == pytest.approx(130000.0, abs=0.005)
    for plan in ("recommended", "current"):
        e = r["expected"][plan]
        assert set(e) >= STAT and e["low"] <= e["mean"] <= e["high"]
    assert 0.0 <= r["prob_better"] <= 1.0
    assert r["tracking_run_id"] and r["tracking_run_id"] != store.run_id
    assert "Tier totals: proven 91,000, test 26,000, experimental 13,000." in store.optimize_output
    assert f"under model run {store.run_id}" in store.optimize_output


def test_scenarios_forecast_each_week(store):
    for _key, s in store.scenarios.items():
        assert s["run_id"] == store.run_id
        assert len(s["dates"]) == 13 and len(s["target"]["mean"]) == 13
        assert set(s["expected_revenue"]) >= STAT and set(s["incremental_revenue"]) >= STAT
        assert 0.0 <= s["prob_better_than_current"] <= 1.0
    csv, steady = store.scenarios["csv"], store.scenarios["yaml"]
    assert csv["spend_by_channel"] == {"search": 104000.0, "social": 21000.0, "display": 13000.0}
    assert steady["name"] == "steady quarter" and steady["spend"] == 130000.0
    assert csv["name"] == "flighted"


def test_optimised_plan_forecast_matches_a_scenario_of_the_same_plan(store, tmp_path):
    """The optimiser's forecast and `mmm scenario` of its plan are the same numbers (same draws)."""
    weekly = {ch: a["weekly"] for ch, a in store.optimized["allocation"].items()}
    plan = write_csv_plan(tmp_path / "optimum.csv", [{"week": w, **weekly} for w in range(1, 14)])
    ok(["scenario", *store.common, "--plan", str(plan), "--output-json", "optimum.json"])
    s = json.loads(Path("optimum.json").read_text())
    assert s["incremental_revenue"]["mean"] == pytest.approx(store.optimized["incremental_revenue"]["mean"], rel=1e-6)
    assert s["incremental_revenue"]["mean"] == pytest.approx(store.optimized["expected"]["recommended"]["mean"], rel=1e-6)


def test_plans_export_to_csv_and_xlsx_that_add_up_to_the_budget(store):
    """--output-csv / --output-xlsx: one row per week and channel, spend in cents adding up to the budget exactly."""
    import csv

    import openpyxl

    assert "Plan by week written to opt.csv" in store.optimize_output and "Plan by week written to plans/opt.xlsx" in store.optimize_output
    sheet = openpyxl.load_workbook(store.root / "plans" / "opt.xlsx")["Plan by week"]
    header, *rows = sheet.iter_rows(values_only=True)
    spend, phase, channel = header.index("spend"), header.index("phase"), header.index("channel")
    weeks = [r for r in rows if r[phase] != "total"]
    assert {r[channel] for r in weeks} == set(CHANNELS) and all(isinstance(r[spend], (int, float)) for r in weeks)
    assert sum(round(r[spend] * 100) for r in weeks) == 130000 * 100
    totals = {r[channel]: r[spend] for r in rows if r[phase] == "total"}
    assert totals == {**{ch: pytest.approx(a["total"], abs=1e-9) for ch, a in store.optimized["allocation"].items()}, "all": 130000.0}
    with (store.root / "opt.csv").open(encoding="utf-8", newline="") as f:
        csv_rows = list(csv.DictReader(f))
    assert sum(round(float(r["spend"]) * 100) for r in csv_rows if r["phase"] != "total") == 130000 * 100
    assert len(csv_rows) == len(rows) and "incremental_revenue_mean" in csv_rows[0]
    assert store.optimized["weekly_plan"]["budget"] == 130000.0  # the report's plan by month comes from here
    scenario = openpyxl.load_workbook(store.root / "scenario_csv.xlsx")["Plan by week"]
    spent = [r[spend] for r in scenario.iter_rows(min_row=2, values_only=True) if r[phase] != "total"]
    assert sum(round(x * 100) for x in spent) == (104000 + 21000 + 13000) * 100
    assert (store.root / "scenario_csv.csv").is_file()
    c = client(store)
    for run, names in (
        (store.optimized["tracking_run_id"], {"opt.csv", "opt.xlsx"}),
        (store.scenarios["csv"]["tracking_run_id"], {"scenario_csv.csv", "scenario_csv.xlsx"}),
    ):
        assert names <= {a.path for a in c.list_artifacts(run)}


# --- MLflow ------------------------------------------------------------------------------------


def test_plan_runs_are_nested_under_the_fit_run(store):
    c = client(store)
    assert c.get_run(store.run_id).data.tags["mmm.kind"] == "fit"
    opt = c.get_run(store.optimized["tracking_run_id"])
    assert opt.data.tags["mlflow.parentRunId"] == store.run_id and opt.data.tags["mmm.kind"] == "optimize"
    for s in store.scenarios.values():
        run = c.get_run(s["tracking_run_id"])
        assert run.data.tags["mlflow.parentRunId"] == store.run_id and run.data.tags["mmm.kind"] == "scenario"
        assert run.info.experiment_id == c.get_run(store.run_id).info.experiment_id
    assert c.get_run(store.scenarios["yaml"]["tracking_run_id"]).info.run_name == "steady quarter"


def test_plan_runs_share_metric_names(store):
    c = client(store)
    ids = [store.optimized["tracking_run_id"], *(s["tracking_run_id"] for s in store.scenarios.values())]
    metrics = [c.get_run(i).data.metrics for i in ids]
    names = [set(m) for m in metrics]
    assert names[0] == names[1] == names[2], names
    assert names[0] >= PLAN_METRICS
    opt = metrics[0]
    for ch in CHANNELS:
        assert opt[f"spend_{ch}"] == pytest.approx(store.optimized["allocation"][ch]["total"])
    assert opt["expected_revenue_mean"] == pytest.approx(store.optimized["expected_revenue"]["mean"])
    assert opt["prob_better_than_current"] == pytest.approx(store.optimized["prob_better_than_current"])
    assert metrics[1]["spend_social"] == 21000.0 and metrics[2]["spend_search"] == 7000.0 * 13


def test_runs_lists_the_plans_under_the_fit(store):
    ok(["runs", "--tracking-uri", store.uri, "--output-json", "runs.json"])
    listing = json.loads(Path("runs.json").read_text())["runs"]
    mine = next(r for r in listing if r["run_id"] == store.run_id)
    assert mine["optimizations"] >= 1 and mine["scenarios"] >= 2


# --- bad input: exit 2, a message, no traceback, no run recorded -----------------------------------


def expect_error(store, args: list[str], *needles: str) -> str:
    before = len(all_runs(store))
    result = invoke(args)
    out = result.output
    assert result.exit_code == 2, f"exit {result.exit_code}, wanted 2:\n{out}\n{result.exception!r}"
    assert isinstance(result.exception, SystemExit)
    assert "Traceback" not in out
    assert result.stderr.startswith("Error: "), result.stderr
    for n in needles:
        assert n in result.stderr, f"{n!r} not in: {result.stderr}"
    assert len(all_runs(store)) == before, "a failed command recorded a run"
    return result.stderr


def test_plan_with_an_unknown_channel(store, tmp_path):
    plan = write_csv_plan(tmp_path / "tv.csv", [{"week": w, "search": 1, "social": 1, "display": 1, "tv": 5000} for w in (1, 2)])
    expect_error(store, ["scenario", *store.common, "--plan", str(plan)], str(plan), "unknown column(s) tv", "search, social, display")
    yml = tmp_path / "tv.yaml"
    yml.write_text(yaml.safe_dump({"weeks": 2, "spend": {"search": 1, "social": 1, "display": 1, "tv": 9}}))
    expect_error(store, ["scenario", *store.common, "--plan", str(yml)], "unknown column(s) tv")


def test_plan_with_missing_weeks(store, tmp_path):
    plan = write_csv_plan(tmp_path / "gap.csv", [{"week": w, "search": 1, "social": 1, "display": 1} for w in (1, 2, 4, 5)])
    expect_error(store, ["scenario", *store.common, "--plan", str(plan)], str(plan), "column 'week'", "missing week(s) 3")
    yml = tmp_path / "short.yaml"
    yml.write_text(yaml.safe_dump({"weeks": 4, "spend": {"search": [1, 2, 3], "social": 1, "display": 1}}))
    expect_error(store, ["scenario", *store.common, "--plan", str(yml)], "spend.search lists 3 weeks but the plan has 4")


def test_plan_with_negative_spend(store, tmp_path):
    plan = write_csv_plan(tmp_path / "neg.csv", [{"week": w, "search": -5 if w == 2 else 1, "social": 1, "display": 1} for w in (1, 2)])
    expect_error(store, ["scenario", *store.common, "--plan", str(plan)], "column 'search'", "negative spend in row 2")


@pytest.mark.parametrize("budget", ["-5", "0"])
def test_non_positive_budget(store, budget):
    expect_error(store, ["optimize", *store.common, f"--budget={budget}"], "--budget must be a positive amount")


def test_bounds_that_cannot_meet_a_tier_share(store, tmp_path):
    bounds = tmp_path / "bounds.csv"
    bounds.write_text("channel,min,max\ndisplay,,10\n")
    expect_error(
        store,
        ["optimize", *store.common, "--budget", "130000", "--bounds", str(bounds)],
        "tier 'experimental' must spend 13,000.00 (10% of the budget)",
        "(display) can take only 0.00 to 130.00",
        "widen their bounds",
    )


def test_bounds_with_min_above_max(store, tmp_path):
    bounds = tmp_path / "bounds.yaml"
    bounds.write_text(yaml.safe_dump({"search": {"min": 5000, "max": 100}}))
    expect_error(
        store,
        ["optimize", *store.common, "--budget", "130000", "--bounds", str(bounds)],
        "bounds.yaml, key 'search': min 5,000.00 is above max 100.00",
    )


def test_unknown_run_id(store, tmp_path):
    plan = write_csv_plan(tmp_path / "p.csv", [{"week": 1, "search": 1, "social": 1, "display": 1}])
    for args in (["optimize", "--budget", "1000"], ["scenario", "--plan", str(plan)]):
        expect_error(
            store,
            [*args, "--run-id", "0123456789abcdef0123456789abcdef", "--tracking-uri", store.uri],
            "run '0123456789abcdef0123456789abcdef' not found",
            "mmm runs",
        )


def test_run_id_of_a_scenario_is_not_a_model(store, tmp_path):
    scenario_run = store.scenarios["csv"]["tracking_run_id"]
    plan = write_csv_plan(tmp_path / "p.csv", [{"week": 1, "search": 1, "social": 1, "display": 1}])
    for args in (["optimize", "--budget", "1000"], ["scenario", "--plan", str(plan)]):
        expect_error(store, [*args, "--run-id", scenario_run, "--tracking-uri", store.uri], f"run '{scenario_run}' is not an mmm model fit")


def test_a_plan_that_the_tier_shares_make_worse_than_today_says_so(store, tmp_path):
    """Forcing 80% of the budget into the experimental tier loses against today's mix, and the warning says what
    the rule costs and which --policy keeps today's split; the default plan warns only when it too loses."""
    ok(["optimize", *store.common, "--budget", "130000", "--policy", "10/10/80", "--output-json", "forced.json"])
    forced = json.loads((tmp_path / "forced.json").read_text())
    assert forced["uplift"]["mean"] < 0
    (warning,) = [w for w in forced["warnings"] if "tier shares" in w]
    spent = {
        t: sum(a["current_total"] for a in forced["allocation"].values() if a["tier"] == t) for t in ("proven", "test", "experimental")
    }
    today = "/".join(str(round(100 * v / sum(spent.values()))) for v in spent.values())
    assert "keeping to the 10/10/80 tier shares" in warning and f"--policy {today}" in warning
    ok(["optimize", *store.common, "--budget", "130000", "--policy", today])  # the policy it suggests is one optimize takes
    default_loses = store.optimized["uplift"]["mean"] < 0
    assert any("tier shares" in w for w in store.optimized["warnings"]) == default_loses
