"""`mmm warm`: commands run on a warm server behave exactly as they do on their own: output, exit status,
folder, environment, interrupts; and only commands the server was started for use it."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from pathlib import Path

import mlflow
import pytest

from mmm.tracking.store import store_lock
from tests.helpers import clean_env, mmm_cmd

pytestmark = pytest.mark.skipif(not hasattr(signal, "SIGCHLD"), reason="the warm server forks: POSIX only")


def served(log: Path) -> list[str]:
    """The commands the server's log says it ran."""
    return [line.split(": ", 1)[1] for line in log.read_text().splitlines() if ": mmm " in line] if log.exists() else []


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """A warm server in a private socket folder; stopped at the end."""
    folder = tmp_path_factory.mktemp("warm")
    env = {**clean_env(), "MMM_WARM_DIR": str(folder / "sockets")}
    started = subprocess.run([*mmm_cmd(), "warm", "--minutes", "20"], env=env, capture_output=True, text=True, timeout=300)
    assert started.returncode == 0, started.stderr
    assert "mmm is warm" in started.stdout
    (log,) = (folder / "sockets").glob("*.log")
    yield env, folder, log
    subprocess.run([*mmm_cmd(), "warm", "--stop"], env=env, capture_output=True, timeout=60)


def run(args: list[str], env: dict[str, str], cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([*mmm_cmd(), *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout)


def test_a_command_runs_on_the_server_in_the_callers_folder_with_the_same_output(server, tmp_path):
    env, _, log = server
    warm = run(["simulate", "--scenario", "clean", "--out", "sim"], env, tmp_path)
    assert warm.returncode == 0, warm.stderr
    assert served(log)[-1] == "mmm simulate"
    assert (tmp_path / "sim" / "data.csv").is_file()  # relative to the caller's folder, not the server's
    own = run(["validate", "sim/config.yaml", "--output-json", "own.json"], {**env, "MMM_WARM_DIR": str(tmp_path / "none")}, tmp_path)
    on_server = run(["validate", "sim/config.yaml", "--output-json", "warm.json"], env, tmp_path)
    assert served(log)[-1] == "mmm validate"
    assert on_server.returncode == own.returncode == 0
    assert on_server.stdout.replace("warm.json", "own.json") == own.stdout
    assert json.loads((tmp_path / "warm.json").read_text()) == json.loads((tmp_path / "own.json").read_text())


def test_a_fit_on_the_server_gives_the_same_numbers_as_one_on_its_own(server, tmp_path):
    env, _, log = server
    run(["simulate", "--scenario", "clean", "--out", "sim"], env, tmp_path)
    fit = [
        "fit",
        "sim/config.yaml",
        "--draws",
        "100",
        "--tune",
        "100",
        "--chains",
        "2",
        "--tracking-uri",
        f"sqlite:///{tmp_path / 'store.db'}",
    ]
    own = run([*fit, "--output-json", "own.json"], {**env, "MMM_WARM_DIR": str(tmp_path / "none")}, tmp_path)
    assert own.returncode == 0, own.stderr
    on_server = run([*fit, "--output-json", "warm.json"], env, tmp_path)
    assert on_server.returncode == 0, on_server.stderr
    assert served(log)[-1] == "mmm fit"
    ours, theirs = (json.loads((tmp_path / f"{name}.json").read_text()) for name in ("own", "warm"))
    assert ours["channels"] == theirs["channels"] and ours["diagnostics"] == theirs["diagnostics"]


def test_bad_input_exits_2_with_the_message_on_stderr(server, tmp_path):
    env, _, log = server
    done = run(["validate", "missing.yaml"], env, tmp_path)
    assert served(log)[-1] == "mmm validate"
    assert done.returncode == 2
    assert "missing.yaml" in done.stderr and "Error:" in done.stderr and "Traceback" not in done.stderr


def test_the_callers_environment_reaches_the_command(server, tmp_path):
    env, _, log = server
    store = tmp_path / "store.db"
    done = run(["runs", "--output-json", "runs.json"], {**env, "MLFLOW_TRACKING_URI": f"sqlite:///{store}"}, tmp_path)
    # MLFLOW_* is read when MLflow is imported, so this command was not the server's to run, and it ran on its own
    assert done.returncode == 0, done.stderr
    assert served(log).count("mmm runs") == 0
    assert f"No tracking store at {store} yet" in done.stdout  # the store the caller named


def test_a_command_stopped_by_the_user_stops_on_the_server(server, tmp_path):
    import mlflow

    env, _, log = server
    run(["simulate", "--scenario", "clean", "--out", "sim"], env, tmp_path)
    store = f"sqlite:///{tmp_path / 'store.db'}"
    command = subprocess.Popen(
        [*mmm_cmd(), "fit", "sim/config.yaml", "--tracking-uri", store, "--draws", "100", "--tune", "100"],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )

    def statuses() -> list[str]:
        if not (tmp_path / "store.db").exists():
            return []
        with store_lock(store):  # MLflow's creation of the tables is not safe to race
            client = mlflow.MlflowClient(store)
            experiment = client.get_experiment_by_name("mmm")
            return [r.info.status for r in client.search_runs([experiment.experiment_id])] if experiment else []

    deadline = time.monotonic() + 120
    while statuses() != ["RUNNING"] and time.monotonic() < deadline:
        time.sleep(0.5)
    assert served(log)[-1] == "mmm fit"
    command.send_signal(signal.SIGINT)  # Ctrl-C reaches the command's own process only; it passes it on
    _, err = command.communicate(timeout=120)
    assert command.returncode not in (0, None)
    assert "Traceback" not in err
    assert statuses() == ["FAILED"]  # the interrupt reached the fit, which closed its run


def test_stop_and_idle_time_end_the_server(tmp_path):
    env = {**clean_env(), "MMM_WARM_DIR": str(tmp_path / "sockets")}
    assert run(["warm", "--minutes", "0.05"], env, tmp_path).returncode == 0
    assert "A warm server serves" in run(["warm", "--status"], env, tmp_path).stdout
    deadline = time.monotonic() + 60
    while list((tmp_path / "sockets").glob("*.sock")) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert not list((tmp_path / "sockets").glob("*.sock"))  # 3 s without a command
    assert "No warm server" in run(["warm", "--status"], env, tmp_path).stdout
    assert run(["warm"], env, tmp_path).returncode == 0
    assert "Stopped" in run(["warm", "--stop"], env, tmp_path).stdout
    assert "No warm server" in run(["warm", "--status"], env, tmp_path).stdout


def test_a_command_that_paid_the_start_up_leaves_a_server_for_the_next_one(tmp_path):
    env = {k: v for k, v in clean_env().items() if k != "MMM_WARM"} | {"MMM_WARM_DIR": str(tmp_path / "sockets")}
    light = run(["simulate", "--scenario", "clean", "--out", "sim"], env, tmp_path)
    assert light.returncode == 0 and "stay loaded" not in light.stderr  # it imported nothing heavy: no server
    mlflow.MlflowClient(f"sqlite:///{tmp_path / 'mlruns.db'}").search_experiments()  # a store to list: `mmm runs` imports MLflow
    off = run(["runs"], {**env, "MMM_WARM": "off"}, tmp_path)
    assert off.returncode == 0 and "stay loaded" not in off.stderr
    first = run(["runs"], env, tmp_path)
    assert first.returncode == 0 and "the libraries stay loaded in the background" in first.stderr
    try:
        deadline = time.monotonic() + 120
        while "A warm server serves" not in run(["warm", "--status"], env, tmp_path).stdout:
            assert time.monotonic() < deadline, "the server started after the command never listened"
            time.sleep(0.5)
        (log,) = (tmp_path / "sockets").glob("*.log")
        second = run(["runs"], env, tmp_path)
        assert second.returncode == 0 and second.stdout == first.stdout and "stay loaded" not in second.stderr
        assert served(log) == ["mmm runs"]
    finally:
        assert "Stopped" in run(["warm", "--stop"], env, tmp_path).stdout
