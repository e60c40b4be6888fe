"""`mmm fit` as a user runs it, with the fit in a forked process while the command sets up MLflow (mmm.cli.fit_apart).

What must hold is what one process gives: the same numbers and the same run logged, bad input
stopped before any run exists with one message, a fit that breaks ends its run FAILED, and the
command's own process never imports PyMC (that is the time saved).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import mlflow
import pytest
from helpers import all_runs, clean_env

from mmm.cli.fitting import FitRequest, fit_config
from mmm.simulation.scenarios import write_scenario

SAMPLER = {"draws": 100, "tune": 100, "chains": 2, "seed": 3}
TIMINGS = ("fit_seconds", "compile_seconds", "sample_seconds", "ess_per_second")

# fit_config(apart=True) in a fresh process whose output goes to files, as `mmm fit` runs; prints what the test checks
APART = """
import json, sys
from mmm.cli.fitting import FitRequest, fit_config
config, uri, sampler = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
summary = fit_config(FitRequest(config, tracking_uri=uri, **sampler), apart=True)
here = {name: name in sys.modules for name in ("pymc", "matplotlib")}
print("RESULT " + json.dumps({"here": here, "summary": summary.to_json()}))
"""

# `mmm fit ARGS` with the engine's fit replaced by one that fails (MODE: error) or is killed (MODE: killed), or with
# a report chart that fails (MODE: chart)
BROKEN = """
import os, signal, sys
import mmm.cli.fitting as fitting
import mmm.report.plots as plots
from mmm.core.errors import MMMError
mode = sys.argv[1]

def broken(prepared, request, run_id):
    if mode == "error":
        raise MMMError("the fit broke on purpose: nothing to fix")
    os.kill(os.getpid(), signal.SIGKILL)

def broken_chart(*args):
    raise MMMError("the chart broke on purpose: nothing to fix")

if mode == "chart":
    plots.fit_chart = broken_chart
else:
    fitting.fit_and_summarise = broken
sys.argv = ["mmm", *sys.argv[2:]]
from mmm.cli import run
run()
"""


def _env() -> dict[str, str]:
    return {**clean_env(), "MMM_WARM": "off", "PYTHONWARNINGS": "ignore"}


def _python(script: str, *args: object, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", script, *map(str, args)], cwd=cwd, env=_env(), capture_output=True, text=True, timeout=600)


def _without_timings(value: object) -> object:
    if isinstance(value, dict):
        return {k: _without_timings(v) for k, v in value.items() if k not in (*TIMINGS, "run_id", "sampling")}
    if isinstance(value, list):
        return [_without_timings(v) for v in value]
    return value


def _artifacts(client: mlflow.MlflowClient, run_id: str, path: str = "") -> list[str]:
    found: list[str] = []
    for f in client.list_artifacts(run_id, path):
        found += _artifacts(client, run_id, f.path) if f.is_dir else [f.path]
    return sorted(found)


@pytest.fixture(scope="module")
def sim(tmp_path_factory) -> Path:
    return write_scenario("clean", tmp_path_factory.mktemp("apart"))["config"]


def test_a_fit_apart_gives_the_numbers_and_the_run_of_a_fit_in_one_process(sim, tmp_path):
    apart_uri, here_uri = f"sqlite:///{tmp_path / 'apart.db'}", f"sqlite:///{tmp_path / 'here.db'}"
    proc = _python(APART, sim, apart_uri, json.dumps(SAMPLER), cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    result = json.loads(next(line for line in proc.stdout.splitlines() if line.startswith("RESULT "))[7:])
    assert result["here"] == {"pymc": False, "matplotlib": False}  # the command's process left PyMC and drawing to the engine
    for said in ("Fitting 3 channels", "Summarising", "Logging the model to MLflow", "Writing the report"):
        assert said in proc.stderr
    here = fit_config(FitRequest(str(sim), tracking_uri=here_uri, **SAMPLER))  # apart=False: the fit in this process
    assert _without_timings(result["summary"]) == _without_timings(here.to_json())

    (apart,), (alone,) = all_runs(apart_uri), all_runs(here_uri)
    assert apart.info.status == alone.info.status == "FINISHED"
    assert result["summary"]["run_id"] == apart.info.run_id
    assert apart.data.params == alone.data.params
    assert {k: v for k, v in apart.data.metrics.items() if k not in TIMINGS} == {
        k: v for k, v in alone.data.metrics.items() if k not in TIMINGS
    }
    tags = {k: v for k, v in alone.data.tags.items() if not k.startswith("mlflow.")}
    assert {k: v for k, v in apart.data.tags.items() if not k.startswith("mlflow.")} == tags
    listed = _artifacts(mlflow.MlflowClient(apart_uri), apart.info.run_id)
    assert listed == _artifacts(mlflow.MlflowClient(here_uri), alone.info.run_id)
    assert {"model/model.nc", "summary.json", "config.yaml", "report/report.html"} <= set(listed)
    charts = [path for path in listed if path.endswith(".png")]
    assert len(charts) >= 5
    for path in charts:  # drawn by the engine from its results, they are the charts drawn here from the summary
        drawn_apart = Path(mlflow.MlflowClient(apart_uri).download_artifacts(apart.info.run_id, path, str(tmp_path / "apart")))
        drawn_here = Path(mlflow.MlflowClient(here_uri).download_artifacts(alone.info.run_id, path, str(tmp_path / "here")))
        assert drawn_apart.read_bytes() == drawn_here.read_bytes(), path


def test_bad_input_stops_before_any_run_with_one_message(sim, tmp_path):
    data = tmp_path / "data.csv"
    lines = (sim.parent / "data.csv").read_text().splitlines()
    head = lines[0].split(",")
    spend = head.index(next(c for c in head if c.endswith("_spend")))
    row = lines[5].split(",")
    row[spend] = "abc"
    data.write_text("\n".join([*lines[:5], ",".join(row), *lines[6:]]) + "\n")
    config = tmp_path / "config.yaml"
    config.write_text(sim.read_text().replace("path: data.csv", f"path: {data}"))
    db = tmp_path / "store.db"
    proc = subprocess.run(
        [sys.executable, "-m", "mmm.cli", "fit", str(config), "--tracking-uri", f"sqlite:///{db}"],
        cwd=tmp_path,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.count("Error:") == 1
    assert f"column '{head[spend]}'" in proc.stderr and "row 5 holds 'abc'" in proc.stderr
    assert "Traceback" not in proc.stderr and "Fitting" not in proc.stderr
    assert not db.exists()  # no store created, no run


@pytest.mark.parametrize(
    ("mode", "said"),
    [
        ("error", "Error: the fit broke on purpose: nothing to fix"),
        ("killed", "Error: the fit's process ended without a result"),
        ("chart", "Error: the chart broke on purpose: nothing to fix"),
    ],
)
def test_a_fit_that_breaks_ends_its_run_failed(sim, tmp_path, mode, said):
    uri = f"sqlite:///{tmp_path / 'store.db'}"
    proc = _python(BROKEN, mode, "fit", sim, "--tracking-uri", uri, "--draws", "50", "--tune", "50", cwd=tmp_path)
    assert proc.returncode == 2, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert proc.stderr.count("Error:") == 1 and said in proc.stderr
    (run,) = all_runs(uri)
    assert run.info.status == "FAILED"
