"""Helpers shared by the test modules: running the CLI in-process or as real processes, and
reading back what it recorded in MLflow."""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import mlflow
import pytest
from click.testing import CliRunner, Result

from mmm.cli import main

SHORT_SAMPLER = ["--draws", "200", "--tune", "200", "--chains", "2"]  # fast fits: not meant to converge
MLFLOW_ENV = ("MLFLOW_TRACKING_URI", "MLFLOW_EXPERIMENT_NAME", "MLFLOW_EXPERIMENT_ID")
VENV_BIN = Path(sys.executable).parent
# Headless Chromium in a sandboxed CI container: no GPU, no network chatter, no first-run UI.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]


# The basic-auth team server's accounts (tests/conftest.py `auth_server`): fresh passwords each run
ADMIN, ADMIN_PASSWORD = "admin", "admin-" + secrets.token_hex(8)
ANALYST, ANALYST_PASSWORD = "analyst", "analyst-" + secrets.token_hex(8)
STRANGER, STRANGER_PASSWORD = "stranger", "stranger-" + secrets.token_hex(8)
CLIENT = "client-a"  # the experiment ANALYST may manage and STRANGER may not see
TEAM_ACCESS = Path(__file__).resolve().parents[1] / "scripts" / "team_access.py"


def invoke(*args: Any) -> Result:
    """Run the CLI in-process; keep the SIGTERM handler `mmm fit` installs out of pytest."""
    previous = signal.getsignal(signal.SIGTERM)
    try:
        return CliRunner().invoke(main, [str(a) for a in args])
    finally:
        signal.signal(signal.SIGTERM, previous)


def store_uri(folder: Path) -> str:
    folder.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{folder / 'mlruns.db'}"


def all_runs(uri: str) -> list[Any]:
    client = mlflow.MlflowClient(tracking_uri=uri)
    experiment_ids = [e.experiment_id for e in client.search_experiments()]
    return client.search_runs(experiment_ids) if experiment_ids else []


def printed(result: Result) -> str:
    """stdout and stderr together (click >= 8.2 already mixes them into .output)."""
    try:
        err = result.stderr
    except ValueError:  # click < 8.2 with stderr mixed into stdout
        err = ""
    return result.output if err in result.output else result.output + err


def assert_clean_exit_2(result: Result) -> str:
    """Exit status 2, an 'Error:' message and no traceback; returns everything printed."""
    text = printed(result)
    assert result.exit_code == 2, text + repr(result.exception)
    assert isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Error:" in text
    assert "Traceback" not in text
    return text


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def mmm_cmd() -> list[str]:
    exe = VENV_BIN / "mmm"
    return [str(exe)] if exe.is_file() else [sys.executable, "-m", "mmm.cli"]


def clean_env() -> dict[str, str]:
    """The environment for child processes: no tracking settings leaking in from the developer's shell."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")}
    env["PYTHONUNBUFFERED"] = "1"
    # the server's background job runner (GenAI jobs, 7 huey processes) is not used by mmm
    env["MLFLOW_SERVER_ENABLE_JOB_EXECUTION"] = "false"
    return env


def run_cmd(args: list[str], cwd: Path, timeout: float = 300, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    proc = subprocess.run(args, cwd=cwd, env=env or clean_env(), capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, (
        f"`{' '.join(map(str, args))}` exited {proc.returncode}\n--- stdout\n{proc.stdout[-4000:]}\n--- stderr\n{proc.stderr[-4000:]}"
    )
    return proc


def stop_process_group(proc: subprocess.Popen, grace: float = 20) -> None:
    """SIGTERM the session the server was started in (its workers included); wait until all of it is gone, else SIGKILL."""

    def group_alive() -> bool:
        proc.poll()  # reap the leader, so only live members count
        try:
            os.killpg(proc.pid, 0)
        except ProcessLookupError:
            return False
        return True

    if not group_alive():
        return
    os.killpg(proc.pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        if not group_alive():
            return
        time.sleep(0.2)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)


def isolated_workdir(tmp_path_factory: Any, name: str) -> Any:
    """Generator for a module-wide working directory with no MLflow settings leaking in or out
    (use as `yield from isolated_workdir(tmp_path_factory, "name")` in a module fixture)."""
    import pytest

    root = tmp_path_factory.mktemp(name)
    saved = {k: os.environ.get(k) for k in MLFLOW_ENV}
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(root)
        for key in MLFLOW_ENV:
            mp.delenv(key, raising=False)
        yield root
        mlflow.set_tracking_uri(None)  # mlflow also exports the URI it was given to the environment
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


def wait_http(url: str, proc: subprocess.Popen, log: Path, timeout: float = 90) -> None:
    """Until `url` answers 200; fails early (with the server's log) when the server process dies."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"server exited with {proc.returncode} before answering {url}:\n{log.read_text()[-4000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:
                if resp.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.5)
    pytest.fail(f"no answer from {url} within {timeout:.0f}s:\n{log.read_text()[-4000:]}")


def team_access(url: str, *args: str, password: str = "") -> str:
    """scripts/team_access.py as the server's admin (credentials in the environment, as documented)."""
    env = {**clean_env(), "MLFLOW_TRACKING_URI": url, "MLFLOW_TRACKING_USERNAME": ADMIN, "MLFLOW_TRACKING_PASSWORD": ADMIN_PASSWORD}
    if password:
        env["TEAM_USER_PASSWORD"] = password
    return run_cmd([sys.executable, str(TEAM_ACCESS), *args], cwd=TEAM_ACCESS.parent, env=env, timeout=120).stdout


def start_auth_server(tmp_path_factory: Any) -> Any:
    """Generator: `mlflow server --app-name basic-auth` with no access by default, ANALYST managing CLIENT and
    STRANGER given nothing; yields its URL, folder, log and CLIENT's experiment id (use as a module fixture)."""
    pytest.importorskip("flask_wtf", reason="MLflow's basic-auth app needs Flask-WTF: pip install -e '.[test]' (mlflow[auth])")
    work = tmp_path_factory.mktemp("auth-server")
    config = work / "basic_auth.ini"
    config.write_text(
        "[mlflow]\n"
        "default_permission = NO_PERMISSIONS\n"
        f"database_uri = sqlite:///{work / 'basic_auth.db'}\n"
        f"admin_username = {ADMIN}\n"
        f"admin_password = {ADMIN_PASSWORD}\n"
        "authorization_function = mlflow.server.auth:authenticate_request_basic_auth\n"
    )
    env = {**clean_env(), "MLFLOW_AUTH_CONFIG_PATH": str(config), "MLFLOW_FLASK_SERVER_SECRET_KEY": secrets.token_hex(16)}
    port = free_port()
    log = work / "server.log"
    cmd = [
        sys.executable, "-m", "mlflow", "server", "--app-name", "basic-auth",
        "--backend-store-uri", f"sqlite:///{work / 'mlflow.db'}", "--artifacts-destination", str(work / "artifacts"),
        "--host", "127.0.0.1", "--port", str(port), "--workers", "1",
    ]  # fmt: skip
    with open(log, "w") as fh:
        proc = subprocess.Popen(cmd, cwd=work, env=env, stdout=fh, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_http(f"{url}/health", proc, log, timeout=120)
        for user, password in ((ANALYST, ANALYST_PASSWORD), (STRANGER, STRANGER_PASSWORD)):
            assert f"user '{user}' created" in team_access(url, "add-user", user, password=password)
        granted = team_access(url, "grant", ANALYST, CLIENT, "manage")
        assert f"'{ANALYST}' has MANAGE on experiment '{CLIENT}'" in granted
        experiment_id = granted.rsplit("(id ", 1)[1].split(")")[0]
        yield {"url": url, "work": work, "log": log, "experiment_id": experiment_id}
    finally:
        stop_process_group(proc)
