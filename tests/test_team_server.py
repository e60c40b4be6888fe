"""The team set-up end to end: a tracking server backed by PostgreSQL, driven by the `mmm` CLI.

The module starts its own throwaway PostgreSQL cluster (initdb into a temporary folder, listening
on 127.0.0.1 only) and `mlflow server` on top of it with proxied artifacts, then runs
simulate -> fit -> optimize -> scenario -> runs through `--tracking-uri http://127.0.0.1:PORT`,
and loads the logged forecaster in a fresh Python process, the way a colleague would.

Skipped (with the reason) when the PostgreSQL server binaries or the PostgreSQL driver are missing.
"""

from __future__ import annotations

import glob
import json
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import pytest
from helpers import SHORT_SAMPLER as FIT_ARGS
from helpers import clean_env, free_port, mmm_cmd, run_cmd, stop_process_group, wait_http

PG_PASSWORD = "mmm-test-secret"


# ---------------------------------------------------------------- helpers


def find_pg_bin() -> Path | None:
    """The folder holding initdb/pg_ctl/postgres: on PATH, else the newest /usr/lib/postgresql/N/bin."""
    on_path = shutil.which("initdb")
    if on_path and shutil.which("pg_ctl"):
        return Path(on_path).resolve().parent
    candidates = sorted(
        glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(Path(p).parent.name) if Path(p).parent.name.isdigit() else 0
    )
    for c in reversed(candidates):
        if all((Path(c) / exe).is_file() for exe in ("initdb", "pg_ctl", "postgres")):
            return Path(c)
    return None


def pg_driver():
    """The DB-API module SQLAlchemy (hence MLflow) uses for a plain postgresql:// URI, or skip.

    SQLAlchemy 2.1+ picks psycopg (3), older versions psycopg2; the test extra installs psycopg[binary].
    """
    try:
        from sqlalchemy.engine.url import make_url

        name = make_url("postgresql://").get_dialect().driver
    except Exception:
        name = "psycopg"
    package = {"psycopg": "psycopg[binary]", "psycopg2": "psycopg2-binary"}.get(name, name)
    return pytest.importorskip(name, reason=f"PostgreSQL driver '{name}' missing: pip install -e '.[test]' ({package})")


# ---------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def postgres():
    """A throwaway PostgreSQL cluster on 127.0.0.1:<free port> with a database `mlflow`; yields its URI."""
    pg_bin = find_pg_bin()
    if pg_bin is None:
        pytest.skip("PostgreSQL server binaries (initdb, pg_ctl) not installed: apt-get install postgresql")
    driver = pg_driver()

    as_root = os.geteuid() == 0
    if as_root:
        try:
            import pwd

            pg_user = pwd.getpwnam("postgres")
        except KeyError:
            pytest.skip("running as root but there is no 'postgres' system user to run the server as")
        if shutil.which("runuser") is None:
            pytest.skip("running as root but `runuser` is missing (postgres refuses to run as root)")

    # Not under pytest's tmp_path: its parents are private to root, and the server runs as `postgres`.
    base = Path(tempfile.mkdtemp(prefix="mmm-pg-"))
    data = base / "data"
    pwfile = base / "pwfile"
    pwfile.write_text(PG_PASSWORD + "\n")
    if as_root:
        for p in (base, pwfile):
            os.chown(p, pg_user.pw_uid, pg_user.pw_gid)

    def as_pg(args: list[str]) -> list[str]:
        return ["runuser", "-u", "postgres", "--", *args] if as_root else args

    port = free_port()
    log = base / "postgres.log"
    started = False
    try:
        run_cmd(
            as_pg(
                [
                    str(pg_bin / "initdb"),
                    "-D",
                    str(data),
                    "-U",
                    "postgres",
                    f"--pwfile={pwfile}",
                    "--auth-local=trust",
                    "--auth-host=scram-sha-256",
                    "-E",
                    "UTF8",
                    "--locale=C",
                ]
            ),
            cwd=base,
            timeout=120,
        )
        opts = f"-c listen_addresses=127.0.0.1 -p {port} -k {base} -c fsync=off -c full_page_writes=off"
        run_cmd(
            as_pg([str(pg_bin / "pg_ctl"), "-D", str(data), "-l", str(log), "-o", opts, "-w", "-t", "60", "start"]), cwd=base, timeout=90
        )
        started = True
        conn = driver.connect(f"postgresql://postgres:{PG_PASSWORD}@127.0.0.1:{port}/postgres")
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute("CREATE DATABASE mlflow")
        conn.close()
        yield {"uri": f"postgresql://postgres:{PG_PASSWORD}@127.0.0.1:{port}/mlflow", "port": port, "driver": driver}
    finally:
        if started:
            subprocess.run(
                as_pg([str(pg_bin / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"]), cwd=base, capture_output=True, timeout=60
            )
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="module")
def tracking_server(postgres, tmp_path_factory):
    """`mlflow server` on the PostgreSQL store with proxied artifacts; yields its URL and artifact folder."""
    work = tmp_path_factory.mktemp("mlflow-server")
    artifacts = work / "artifacts"
    port = free_port()
    log = work / "server.log"
    cmd = [
        sys.executable,
        "-m",
        "mlflow",
        "server",
        "--backend-store-uri",
        postgres["uri"],
        "--artifacts-destination",
        str(artifacts),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        "1",
    ]
    with open(log, "w") as fh:
        proc = subprocess.Popen(cmd, cwd=work, env=clean_env(), stdout=fh, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_http(f"{url}/health", proc, log, timeout=120)
        yield {"url": url, "artifacts": artifacts, "log": log}
    finally:
        stop_process_group(proc)


@pytest.fixture(scope="module")
def workflow(tracking_server, tmp_path_factory):
    """simulate -> fit -> optimize -> scenario -> runs, all through the server; yields what each wrote."""
    work = tmp_path_factory.mktemp("team")
    track = ["--tracking-uri", tracking_server["url"], "--experiment", "team-test"]
    mmm = mmm_cmd()
    run_cmd([*mmm, "simulate", "--scenario", "clean", "--out", str(work / "sim")], cwd=work, timeout=120)
    run_cmd(
        [*mmm, "fit", str(work / "sim" / "config.yaml"), *FIT_ARGS, "--output-json", str(work / "fit.json"), *track], cwd=work, timeout=400
    )
    fit = json.loads((work / "fit.json").read_text())
    run_id = fit["run_id"]
    run_cmd(
        [*mmm, "optimize", "--run-id", run_id, "--budget", "100000", "--weeks", "13", "--output-json", str(work / "optimize.json"), *track],
        cwd=work,
        timeout=300,
    )
    plan = work / "plan_clean_quarter.yaml"
    plan.write_text("name: clean quarter\nweeks: 13\nspend:\n  search: 9000\n  social: 6000\n  display: 3000\n")
    run_cmd(
        [*mmm, "scenario", "--run-id", run_id, "--plan", str(plan), "--output-json", str(work / "scenario.json"), *track],
        cwd=work,
        timeout=300,
    )
    run_cmd([*mmm, "runs", "--output-json", str(work / "runs.json"), *track], cwd=work, timeout=120)
    return {
        "work": work,
        "run_id": run_id,
        "fit": fit,
        "track": track,
        "optimize": json.loads((work / "optimize.json").read_text()),
        "scenario": json.loads((work / "scenario.json").read_text()),
        "runs": json.loads((work / "runs.json").read_text())["runs"],
    }


# ---------------------------------------------------------------- tests


def test_cli_workflow_through_the_server(workflow, tracking_server):
    run_id = workflow["run_id"]
    assert workflow["optimize"]["tracking_run_id"] != run_id
    assert workflow["scenario"]["tracking_run_id"] not in (run_id, workflow["optimize"]["tracking_run_id"])

    fits = [r for r in workflow["runs"] if r["run_id"] == run_id]
    assert len(fits) == 1, workflow["runs"]
    listed = fits[0]
    assert listed["status"] == "FINISHED"
    assert listed["scenarios"] == 1 and listed["optimizations"] == 1, listed
    kinds = sorted(c["kind"] for c in listed["children"])
    assert kinds == ["optimize", "scenario"]
    assert {c["run_id"] for c in listed["children"]} == {workflow["optimize"]["tracking_run_id"], workflow["scenario"]["tracking_run_id"]}
    assert listed["periods"] == 104


def test_runs_and_artifacts_live_on_the_team_store(workflow, tracking_server, postgres):
    """Run records are rows in PostgreSQL; files went through the server into --artifacts-destination."""
    conn = postgres["driver"].connect(postgres["uri"])
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT run_uuid, status FROM runs")
            rows = dict(cur.fetchall())
            cur.execute("SELECT value FROM tags WHERE run_uuid = %s AND key = 'mmm.kind'", (workflow["run_id"],))
            kind = cur.fetchone()
    finally:
        conn.close()
    assert rows.get(workflow["run_id"]) == "FINISHED"
    assert workflow["optimize"]["tracking_run_id"] in rows and workflow["scenario"]["tracking_run_id"] in rows
    assert kind == ("fit",)

    stored = {p.name for p in tracking_server["artifacts"].rglob("*") if p.is_file()}
    assert {"model.nc", "summary.json", "config.yaml", "MLmodel"} <= stored, sorted(stored)
    # nothing was written into the client's working folder: no embedded store by accident
    assert not (workflow["work"] / "mlruns.db").exists()
    assert not (workflow["work"] / "mlruns").exists()


def test_forecaster_loads_in_a_fresh_process(workflow, tracking_server):
    """A colleague's notebook: only the server URL and the run id, no mmm objects in memory."""
    script = textwrap.dedent(
        """
        import json, sys
        import mlflow
        import pandas as pd

        url, run_id = sys.argv[1], sys.argv[2]
        mlflow.set_tracking_uri(url)
        model = mlflow.pyfunc.load_model(f"runs:/{run_id}/forecaster")
        plan = pd.DataFrame({"week": range(1, 14), "search": [9000.0] * 13, "social": [6000.0] * 13, "display": [3000.0] * 13})
        out = model.predict(plan)
        print("RESULT " + json.dumps({"columns": list(out.columns), "rows": len(out),
                                      "records": json.loads(out.to_json(orient="records", date_format="iso"))}))
        """
    )
    proc = run_cmd([sys.executable, "-c", script, tracking_server["url"], workflow["run_id"]], cwd=workflow["work"], timeout=300)
    line = next(ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT "))
    result = json.loads(line.removeprefix("RESULT "))
    assert result["rows"] == 13
    for col in (
        "week",
        "date",
        "target_mean",
        "target_low",
        "target_high",
        "incremental_revenue_mean",
        "incremental_revenue_low",
        "incremental_revenue_high",
    ):
        assert col in result["columns"], result["columns"]
    target_total = workflow["fit"]["data"]["target_total"]
    weekly = target_total / workflow["fit"]["data"]["periods"]
    for rec in result["records"]:
        assert rec["target_low"] <= rec["target_mean"] <= rec["target_high"], rec
        # a forecast in the range of the data the model saw, not a unit or scaling slip
        assert 0.3 * weekly < rec["target_mean"] < 3 * weekly, (rec, weekly)
    assert result["records"][0]["incremental_revenue_mean"] > 0
    assert [r["week"] for r in result["records"]] == list(range(1, 14))

    # the same plan through `mmm scenario` on the server gives the same expected revenue
    scen = workflow["scenario"]
    if "target" in scen and "mean" in scen["target"]:
        ours = [r["target_mean"] for r in result["records"]]
        assert ours == pytest.approx(scen["target"]["mean"], rel=1e-6)


def test_ui_on_a_server_uri_points_to_the_server(tracking_server, tmp_path):
    """With a team server the server is the UI: `mmm ui` must say so, not start a second one or crash."""
    port = free_port()
    proc = subprocess.run(
        [*mmm_cmd(), "ui", "--port", str(port), "--tracking-uri", tracking_server["url"]],
        cwd=tmp_path,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    out = proc.stdout + proc.stderr
    assert proc.returncode in (0, 2), out
    assert "Traceback" not in out, out
    assert tracking_server["url"] in out
