"""A team store that lets no one in where they don't belong: MLflow's basic-auth server, driven by `mmm`.

The module starts a real `mlflow server --app-name basic-auth` (its own user database, an admin
account, a server secret key; run records in SQLite here, PostgreSQL in tests/test_team_server.py),
creates one experiment per client and two users through the server's API, then checks that an
analyst with permission fits and plans in their client's experiment, that a user without it and
an anonymous caller are refused cleanly (exit 2, one line saying who, on what and what to do, no
traceback, a run never called missing), and that a password in the tracking address never shows
up in what mmm prints, records or writes.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import mlflow
import pytest
from click.testing import CliRunner
from helpers import (
    ADMIN,
    ADMIN_PASSWORD,
    ANALYST,
    ANALYST_PASSWORD,
    CLIENT,
    STRANGER,
    STRANGER_PASSWORD,
    TEAM_ACCESS,
    clean_env,
    mmm_cmd,
    printed,
    run_cmd,
    team_access,
)
from helpers import SHORT_SAMPLER as FIT_ARGS

from mmm.cli import main

pytest.importorskip("flask_wtf", reason="MLflow's basic-auth app needs Flask-WTF: pip install -e '.[test]' (mlflow[auth])")


def as_user(user: str | None, password: str | None, uri: str) -> dict[str, str]:
    env = {**clean_env(), "MLFLOW_TRACKING_URI": uri}
    if user:
        env.update({"MLFLOW_TRACKING_USERNAME": user, "MLFLOW_TRACKING_PASSWORD": password or ""})
    return env


@pytest.fixture(scope="module")
def analyst_work(auth_server, tmp_path_factory):
    """The analyst fits and optimises in their client's experiment, the address carrying their password."""
    work = tmp_path_factory.mktemp("analyst")
    secret_uri = auth_server["url"].replace("http://", f"http://{ANALYST}:{ANALYST_PASSWORD}@")
    env = as_user(None, None, secret_uri)  # credentials only in the address, to prove it never leaks
    mmm = mmm_cmd()
    run_cmd([*mmm, "simulate", "--scenario", "clean", "--out", str(work / "sim")], cwd=work)
    fit = run_cmd(
        [*mmm, "fit", str(work / "sim" / "config.yaml"), *FIT_ARGS, "--experiment", CLIENT, "--output-json", str(work / "fit.json")],
        cwd=work, env=env, timeout=400,
    )  # fmt: skip
    run_id = json.loads((work / "fit.json").read_text())["run_id"]
    opt = run_cmd(
        [*mmm, "optimize", "--run-id", run_id, "--budget", "100000", "--weeks", "13", "--output-json", str(work / "optimize.json")],
        cwd=work, env=env, timeout=300,
    )  # fmt: skip
    plan = work / "plan.yaml"
    plan.write_text("weeks: 13\nspend:\n  search: 9000\n  social: 6000\n  display: 3000\n")
    return {"work": work, "run_id": run_id, "plan": plan, "printed": [fit.stdout + fit.stderr, opt.stdout + opt.stderr]}


def test_an_analyst_with_permission_fits_and_plans_in_their_clients_experiment(auth_server, analyst_work):
    client = mlflow.MlflowClient(tracking_uri=auth_server["url"].replace("http://", f"http://{ADMIN}:{ADMIN_PASSWORD}@"))
    run = client.get_run(analyst_work["run_id"])
    assert run.info.experiment_id == auth_server["experiment_id"] and run.info.status == "FINISHED"
    children = client.search_runs([auth_server["experiment_id"]], filter_string="tags.`mmm.kind` = 'optimize'")
    assert [c.data.tags["mlflow.parentRunId"] for c in children] == [analyst_work["run_id"]]


def refused(args: list[str], env: dict[str, str], cwd: Path) -> str:
    """Run the command in-process (as a user would, the environment carrying who they are); its one Error line."""
    caller = {k: None for k in os.environ if k.startswith("MLFLOW_")} | {k: v for k, v in env.items() if k.startswith("MLFLOW_")}
    result = CliRunner().invoke(main, args, env=caller)
    text = printed(result)
    assert result.exit_code == 2, text + repr(result.exception)
    assert "Traceback" not in text and "403 != 200" not in text and "401 != 200" not in text, text
    errors = [line for line in text.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1, text
    assert "not found" not in errors[0], text  # a run the caller may not read is never called missing
    return errors[0]


@pytest.mark.parametrize("command", ["runs", "optimize", "scenario", "report"])
def test_a_user_without_permission_is_refused_cleanly(auth_server, analyst_work, command):
    env = as_user(STRANGER, STRANGER_PASSWORD, auth_server["url"])
    run_id = analyst_work["run_id"]
    args = {
        "runs": ["runs", "--experiment", CLIENT],
        "optimize": ["optimize", "--run-id", run_id, "--budget", "100000"],
        "scenario": ["scenario", "--run-id", run_id, "--plan", str(analyst_work["plan"])],
        "report": ["report", "--run-id", run_id, "--out", str(analyst_work["work"] / "stranger.html")],
    }[command]
    message = refused(args, env, analyst_work["work"])
    assert f"refused user '{STRANGER}'" in message
    assert (CLIENT if command == "runs" else run_id) in message
    assert "ask the server's admin for permission" in message
    assert not (analyst_work["work"] / "stranger.html").exists()


@pytest.mark.parametrize("command", ["runs", "optimize"])
def test_an_anonymous_caller_is_refused_cleanly(auth_server, analyst_work, command):
    env = as_user(None, None, auth_server["url"])
    args = ["runs", "--experiment", CLIENT] if command == "runs" else ["optimize", "--run-id", analyst_work["run_id"], "--budget", "1000"]
    message = refused(args, env, analyst_work["work"])
    assert "anonymous caller" in message and "MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD" in message


def test_a_password_in_the_tracking_address_never_shows(auth_server, analyst_work):
    for text in analyst_work["printed"]:
        assert ANALYST_PASSWORD not in text
        assert f"{ANALYST}:***@" in text  # the address is shown, its password masked
    for name in ("fit.json", "optimize.json"):
        assert ANALYST_PASSWORD not in (analyst_work["work"] / name).read_text()
    client = mlflow.MlflowClient(tracking_uri=auth_server["url"].replace("http://", f"http://{ADMIN}:{ADMIN_PASSWORD}@"))
    for run in client.search_runs([auth_server["experiment_id"]]):
        assert ANALYST_PASSWORD not in json.dumps({**run.data.params, **run.data.tags})
    stored = [p for p in (auth_server["work"] / "artifacts").rglob("*") if p.is_file()]
    assert stored, "the fit's artifacts were stored on the server"
    for path in stored:
        assert ANALYST_PASSWORD.encode() not in path.read_bytes(), path


def test_a_password_on_the_command_line_is_refused(analyst_work, auth_server):
    secret_uri = auth_server["url"].replace("http://", f"http://{ANALYST}:{ANALYST_PASSWORD}@")
    proc = subprocess.run([*mmm_cmd(), "runs", "--tracking-uri", secret_uri], cwd=analyst_work["work"], env=clean_env(),
                          capture_output=True, text=True, timeout=120)  # fmt: skip
    assert proc.returncode == 2
    assert ANALYST_PASSWORD not in proc.stdout + proc.stderr
    assert "MLFLOW_TRACKING_PASSWORD" in proc.stderr


@pytest.mark.parametrize(
    ("args", "admin_password", "needle"),
    [
        (["grant", ANALYST, CLIENT, "read"], "not-the-admin-password", "team_access: "),
        (["add-user", "carol"], ADMIN_PASSWORD, "team_access: "),  # with a password too short for the server
    ],
    ids=["wrong admin password", "short user password"],
)
def test_team_access_refuses_in_one_line(auth_server, tmp_path, args, admin_password, needle):
    env = {**clean_env(), "MLFLOW_TRACKING_URI": auth_server["url"], "MLFLOW_TRACKING_USERNAME": ADMIN}
    env |= {"MLFLOW_TRACKING_PASSWORD": admin_password, "TEAM_USER_PASSWORD": "short"}
    proc = subprocess.run([sys.executable, str(TEAM_ACCESS), *args], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1 and needle in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr and admin_password not in proc.stderr


def test_a_viewer_can_read_a_model_but_a_refused_plan_leaves_no_file(auth_server, analyst_work):
    """READ on the client's experiment: the plan may be computed from the model, but recording it is refused,
    and then neither the spreadsheet nor the CSV asked for is written."""
    password = "viewer-" + "x" * 16
    team_access(auth_server["url"], "add-user", "viewer", password=password)
    team_access(auth_server["url"], "grant", "viewer", CLIENT, "read")
    work = analyst_work["work"]
    out = {"xlsx": work / "viewer.xlsx", "csv": work / "viewer.csv"}
    args = [
        "optimize",
        "--run-id",
        analyst_work["run_id"],
        "--budget",
        "100000",
        "--output-xlsx",
        str(out["xlsx"]),
        "--output-csv",
        str(out["csv"]),
    ]
    message = refused(args, as_user("viewer", password, auth_server["url"]), work)
    assert "refused user 'viewer'" in message
    assert not out["xlsx"].exists() and not out["csv"].exists()
