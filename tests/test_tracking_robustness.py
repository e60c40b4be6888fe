"""Tracking under stress: a fit killed mid-way ends FAILED; two fits started at once on one
embedded store both succeed; a fit whose tracking server goes away before it is logged is kept
and recorded later. All run `mmm fit` as real processes, as an analyst would."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import mlflow
import pytest
from helpers import assert_clean_exit_2, clean_env, free_port, invoke, run_cmd, stop_process_group, wait_http

from mmm.simulation.scenarios import write_scenario

MMM = [sys.executable, "-m", "mmm.cli"]


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")}
    env["PYTHONWARNINGS"] = "ignore"
    return env


def _running(db: Path) -> bool:
    """Whether the store holds a RUNNING run, read with plain sqlite3 so this test never races
    the fitting process while it creates the store's tables."""
    try:
        with sqlite3.connect(db) as con:
            return bool(con.execute("select count(*) from runs where status = 'RUNNING'").fetchone()[0])
    except sqlite3.Error:
        return False


def _runs(db: Path) -> list:
    client = mlflow.MlflowClient(tracking_uri=f"sqlite:///{db}")
    exps = client.search_experiments()
    return client.search_runs([e.experiment_id for e in exps]) if exps else []


@pytest.fixture(scope="module")
def sim(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("sim")
    return write_scenario("clean", out)["config"]


def test_a_fit_killed_mid_way_ends_failed(sim, tmp_path):
    db = tmp_path / "mlruns.db"
    proc = subprocess.Popen(
        [*MMM, "fit", str(sim), "--draws", "20000", "--tune", "500", "--chains", "2", "--tracking-uri", f"sqlite:///{db}"],
        cwd=tmp_path,
        env=_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.time() + 120
        while time.time() < deadline and not (db.exists() and _running(db)):
            assert proc.poll() is None, proc.stdout.read()
            time.sleep(0.5)
        time.sleep(3)  # into compilation or sampling
        proc.send_signal(signal.SIGTERM)
        # the interrupt lands when compilation hands back to Python: under a loaded machine (two test workers) that can take a while
        proc.wait(timeout=180)
    finally:
        if proc.poll() is None:
            proc.kill()
            pytest.fail(f"the fit ignored SIGTERM for 180 s:\n{proc.communicate()[0][-3000:]}")
    runs = _runs(db)
    assert len(runs) == 1
    assert runs[0].info.status == "FAILED"
    assert proc.returncode != 0


def test_two_fits_at_once_on_one_embedded_store_both_succeed(sim, tmp_path):
    db = tmp_path / "mlruns.db"  # a fresh store: both processes race to create its tables
    cmd = [*MMM, "fit", str(sim), "--draws", "100", "--tune", "100", "--chains", "1", "--tracking-uri", f"sqlite:///{db}"]
    procs = [
        subprocess.Popen([*cmd, "--seed", str(i)], cwd=tmp_path, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        for i in (1, 2)
    ]
    outputs = [p.communicate(timeout=300)[0] for p in procs]
    for p, out in zip(procs, outputs):
        assert p.returncode == 0, out
    runs = _runs(db)
    assert len(runs) == 2
    assert {r.info.status for r in runs} == {"FINISHED"}
    assert len({r.info.experiment_id for r in runs}) == 1


def _tracking_server(folder: Path, port: int) -> subprocess.Popen:
    """A plain `mlflow server` on `folder`'s SQLite store and artifacts, in its own session (stop_process_group stops it)."""
    log = folder / "server.log"
    cmd = [sys.executable, "-m", "mlflow", "server", "--host", "127.0.0.1", "--port", str(port), "--workers", "1"]
    cmd += ["--backend-store-uri", f"sqlite:///{folder / 'server.db'}", "--artifacts-destination", str(folder / "artifacts")]
    proc = subprocess.Popen(cmd, cwd=folder, env=clean_env(), stdout=log.open("a"), stderr=subprocess.STDOUT, start_new_session=True)
    wait_http(f"http://127.0.0.1:{port}/health", proc, log)
    return proc


def test_a_fit_whose_server_goes_away_is_kept_and_recorded_later(sim, tmp_path):
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server = _tracking_server(tmp_path, port)
    fit = [*MMM, "fit", str(sim), "--draws", "100", "--tune", "100", "--chains", "1", "--tracking-uri", url]
    proc = subprocess.Popen(
        fit, cwd=tmp_path, env={**clean_env(), "MMM_WARM": "off"}, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        lines = []
        for line in proc.stdout:
            lines.append(line)
            if line.startswith("Summarising"):  # fitted: the server goes away before the fit is logged
                stop_process_group(server)
        proc.wait(timeout=120)
    finally:
        stop_process_group(server)
        if proc.poll() is None:
            proc.kill()
    out = "".join(lines)
    assert proc.returncode == 2, out
    assert "cannot reach the tracking server" in out and "Traceback" not in out
    (kept,) = (tmp_path / "unrecorded-fits").iterdir()
    assert f"once the tracking store answers, record it with `mmm record {kept}`" in out
    assert sorted(p.name for p in kept.iterdir()) == ["model.nc", "recording.json", "summary.json"]

    server = _tracking_server(tmp_path, port)  # back again, on the same store
    try:
        done = run_cmd([*MMM, "record", str(kept), "--tracking-uri", url, "--output-json", "recorded.json"], cwd=tmp_path)
        assert not kept.exists()
        client = mlflow.MlflowClient(tracking_uri=url)
        runs = {r.info.status: r for r in client.search_runs([e.experiment_id for e in client.search_experiments()])}
        assert set(runs) == {"FAILED", "FINISHED"}  # the run the fit could not end, and the one recorded
        new = runs["FINISHED"]
        assert new.info.run_id in done.stdout and new.info.run_name == runs["FAILED"].info.run_name
        assert new.data.tags["mmm.kind"] == "fit" and new.data.metrics
        assert new.info.run_id in runs["FAILED"].data.tags["mmm.error"]
        review = run_cmd([*MMM, "review", "--run-id", new.info.run_id, "--tracking-uri", url], cwd=tmp_path)
        assert "Health review" in review.stdout
    finally:
        stop_process_group(server)


def test_record_refuses_a_folder_that_holds_no_kept_fit(tmp_path):
    text = assert_clean_exit_2(invoke("record", tmp_path, "--tracking-uri", f"sqlite:///{tmp_path / 'mlruns.db'}"))
    assert "not a kept fit (missing model.nc, summary.json, recording.json)" in text


@pytest.mark.parametrize("command", [["review"], ["plan-test", "--budget", "1000"], ["optimize", "--budget", "1000"]])
def test_a_run_looked_up_in_a_store_that_does_not_exist_leaves_no_store_behind(tmp_path, command):
    db = tmp_path / "nowhere.db"
    text = assert_clean_exit_2(invoke(*command, "--run-id", "abc", "--tracking-uri", f"sqlite:///{db}"))
    assert f"no tracking store at {db}" in text
    assert not db.exists()


def test_listing_a_store_that_does_not_exist_says_so_and_creates_nothing(tmp_path):
    db = tmp_path / "typo" / "mlruns.db"
    result = invoke("runs", "--tracking-uri", f"sqlite:///{db}")
    assert result.exit_code == 0 and f"No tracking store at {db} yet" in result.output
    assert not db.parent.exists()
