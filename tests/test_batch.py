"""`mmm batch` on a real Ray cluster: many configs fitted in parallel, one store, credentials kept secret.

The module starts its own two-node Ray cluster (`ray start --head` and a second node joining it,
one CPU each, in a temporary folder) and runs `mmm batch --ray-address` as a user would, in a
fresh process: two tiny configs fitted at the same time into the embedded SQLite store plus a
broken one, then one fit through the basic-auth tracking server with the analyst's credentials
only in the caller's environment (the cluster never had them).
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import sqlite3
import subprocess
import tempfile
import time
from pathlib import Path

import mlflow
import pytest
import yaml
from helpers import (
    ADMIN,
    ADMIN_PASSWORD,
    ANALYST,
    ANALYST_PASSWORD,
    CLIENT,
    VENV_BIN,
    all_runs,
    assert_clean_exit_2,
    clean_env,
    free_port,
    invoke,
    mmm_cmd,
    stop_process_group,
)

pytest.importorskip("ray", reason="mmm batch needs Ray: pip install -e '.[test]'")

TINY_SAMPLER = {"draws": 100, "tune": 100, "chains": 2}  # fast fits: not meant to converge
JSON_KEYS = {"config", "run_id", "status", "error", "fit_seconds"}


# ---------------------------------------------------------------- fixtures


def _ray_node(args: list[str], log: Path, env: dict[str, str]) -> subprocess.Popen:
    """`ray start --block ...` in its own session (so the whole node stops with it); waits until it says it started."""
    ray = VENV_BIN / "ray"
    with open(log, "w") as fh:
        proc = subprocess.Popen([str(ray), "start", "--block", *args], env=env, stdout=fh, stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + 120
    while "Ray runtime started" not in log.read_text():
        if proc.poll() is not None or time.monotonic() > deadline:
            stop_process_group(proc, grace=5)
            pytest.fail(f"`ray start {' '.join(args)}` did not start:\n{log.read_text()[-4000:]}")
        time.sleep(0.3)
    return proc


@pytest.fixture(scope="module")
def ray_cluster():
    """A head (two CPUs) and a second node (one) on 127.0.0.1; yields its address, the Ray temp folder and the caller's settings.

    Three CPUs on a two-core machine: the module's three fits run at once, so the time one spends
    waiting on the tracking server is spent fitting another."""
    # not pytest's tmp_path: Ray's socket paths under the temp folder must stay within 107 characters
    base = Path(tempfile.mkdtemp(prefix="mmm-ray-"))
    # token authentication, as a shared cluster should have; every node and caller carries the token
    access = {"RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": secrets.token_hex(32)}
    env = {**clean_env(), "RAY_USAGE_STATS_ENABLED": "0", **access}
    node = ["--node-ip-address", "127.0.0.1", "--object-store-memory", str(80 * 2**20), "--disable-usage-stats"]
    port = free_port()
    procs: list[subprocess.Popen] = []
    try:
        head = ["--head", "--port", str(port), "--num-cpus", "2", "--include-dashboard", "false", "--temp-dir", str(base / "ray"), *node]
        procs.append(_ray_node(head, base / "head.log", env))
        procs.append(_ray_node(["--address", f"127.0.0.1:{port}", "--num-cpus", "1", *node], base / "node.log", env))
        yield {"address": f"127.0.0.1:{port}", "temp": base / "ray", "env": access}
    finally:
        for proc in reversed(procs):
            stop_process_group(proc, grace=2)  # a Ray node drains for 30 s on SIGTERM; nothing here needs that
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="module")
def configs(tmp_path_factory):
    """Two tiny fits of the clean simulation (Hill curve named: one form, no model choice) and a config with a misspelt key."""
    from mmm.simulation.scenarios import write_scenario

    folder = tmp_path_factory.mktemp("batch-configs")
    paths = write_scenario("clean", folder / "sim")
    base = yaml.safe_load(paths["config"].read_text())
    base["data"]["path"] = str(paths["data"])
    base["model"] = {"saturation": "hill"}
    out = {}
    for name, seed in (("shop_a", 1), ("shop_b", 2)):
        out[name] = folder / f"{name}.yaml"
        out[name].write_text(yaml.safe_dump({**base, "sampler": {**TINY_SAMPLER, "seed": seed}}))
    broken = {**base, "sampler": TINY_SAMPLER, "modle": {"saturation": "hill"}}
    out["broken"] = folder / "broken.yaml"
    out["broken"].write_text(yaml.safe_dump(broken))
    return out


def start_batch(args: list[str], cwd: Path, env: dict[str, str]) -> subprocess.Popen:
    """`mmm batch ... --output-json batch.json` in a fresh process, as a user runs it; its output goes to files in `cwd`."""
    with open(cwd / "stdout.txt", "w") as out, open(cwd / "stderr.txt", "w") as err:
        cmd = [*mmm_cmd(), "batch", *map(str, args), "--output-json", str(cwd / "batch.json")]
        return subprocess.Popen(cmd, cwd=cwd, env=env, stdout=out, stderr=err, text=True)


def finish_batch(proc: subprocess.Popen, cwd: Path) -> dict:
    """Wait for a started batch; what it printed, its exit status and its JSON."""
    proc.wait(timeout=600)
    stdout, stderr = (cwd / "stdout.txt").read_text(), (cwd / "stderr.txt").read_text()
    text = f"--- stdout\n{stdout}\n--- stderr\n{stderr}"
    assert (cwd / "batch.json").is_file(), text
    return {"rc": proc.returncode, "stdout": stdout, "stderr": stderr, "text": text, "json": json.loads((cwd / "batch.json").read_text())}


@pytest.fixture(scope="module")
def batches(request, ray_cluster, configs, tmp_path_factory):
    """Two batches at once on the cluster: both tiny configs and the broken one into the embedded store of a fresh
    folder, and one tiny fit with the broken config through the basic-auth server, the analyst's credentials only in
    the caller's environment (the cluster never had them). The second is left out when the server cannot run here."""
    sqlite = tmp_path_factory.mktemp("batch-sqlite")
    shown = ["shop_a.yaml", "shop_b.yaml", "broken.yaml"]
    for name in shown:
        shutil.copy(configs[name.removesuffix(".yaml")], sqlite / name)
    started = {
        "sqlite": (start_batch([*shown, "--ray-address", ray_cluster["address"]], sqlite, {**clean_env(), **ray_cluster["env"]}), sqlite)
    }
    try:
        server = request.getfixturevalue("auth_server")
    except pytest.skip.Exception as why:
        server, skipped = None, str(why)
    if server is not None:
        auth = tmp_path_factory.mktemp("batch-auth")
        env = {
            **clean_env(),
            **ray_cluster["env"],
            "MLFLOW_TRACKING_URI": server["url"],
            "MLFLOW_TRACKING_USERNAME": ANALYST,
            "MLFLOW_TRACKING_PASSWORD": ANALYST_PASSWORD,
        }
        args = [configs["shop_a"], configs["broken"], "--ray-address", ray_cluster["address"], "--experiment", CLIENT]
        started["auth"] = (start_batch(args, auth, env), auth)
    done = {name: {**finish_batch(proc, cwd), "work": cwd} for name, (proc, cwd) in started.items()}
    done["sqlite"].update(shown=shown, uri=f"sqlite:///{sqlite / 'mlruns.db'}")
    done.setdefault("auth", {"skipped": skipped} if server is None else {})
    return done


@pytest.fixture(scope="module")
def sqlite_batch(batches):
    return batches["sqlite"]


@pytest.fixture(scope="module")
def auth_batch(batches):
    if "skipped" in batches["auth"]:
        pytest.skip(batches["auth"]["skipped"])
    return batches["auth"]


# ---------------------------------------------------------------- tests


def test_every_config_is_fitted_and_a_broken_one_does_not_stop_the_others(sqlite_batch):
    b = sqlite_batch
    assert b["rc"] == 1, b["text"]  # one config failed
    assert "Traceback" not in b["stdout"] + b["stderr"], b["text"]
    runs = b["json"]["runs"]
    assert list(b["json"]) == ["runs"]
    assert [r["config"] for r in runs] == b["shown"]  # the order given, the names as typed
    for r in runs:
        assert set(r) >= JSON_KEYS, r
        assert isinstance(r["fit_seconds"], float) and r["fit_seconds"] >= 0
    fitted, broken = runs[:2], runs[2]
    for r in fitted:
        assert r["status"] == "FINISHED" and r["error"] is None and re.fullmatch(r"[0-9a-f]{32}", r["run_id"]), r
    assert fitted[0]["run_id"] != fitted[1]["run_id"]
    assert broken["status"] == "FAILED" and broken["run_id"] is None, broken
    assert "broken.yaml" in broken["error"] and "modle (line" in broken["error"] and "unknown key" in broken["error"]

    # a progress line per config as it finishes, then the table in the order given and the failure's reason
    progress = [ln for ln in b["stdout"].splitlines() if re.match(r"\[\d/3\] ", ln)]
    assert [ln[:5] for ln in progress] == ["[1/3]", "[2/3]", "[3/3]"], b["text"]
    assert progress[0].startswith("[1/3] FAILED broken.yaml"), progress  # seconds, long before either fit ends
    for r in fitted:
        assert any(ln.startswith("[") and f"FINISHED {r['config']}: run {r['run_id']}" in ln for ln in progress), progress
    table = b["stdout"][b["stdout"].index("config ") :].splitlines()
    assert table[0].split()[:4] == ["config", "status", "run", "id"]
    rows = [ln.split() for ln in table[2:5]]
    assert [(row[0], row[1], row[2]) for row in rows] == [(r["config"], r["status"], r["run_id"] or "-") for r in runs]
    assert "2 of 3 configs fitted; 1 FAILED:" in b["stdout"]
    assert "Fitting 2 config(s) on the Ray cluster at" in b["stderr"] and "(2 node(s), 3 CPUs)" in b["stderr"]


def test_concurrent_fits_land_in_the_embedded_store_intact(sqlite_batch):
    b = sqlite_batch
    fitted = {r["run_id"] for r in b["json"]["runs"] if r["status"] == "FINISHED"}
    runs = {r.info.run_id: r for r in all_runs(b["uri"])}
    assert set(runs) == fitted  # the broken config left no run behind
    for run in runs.values():
        assert run.info.status == "FINISHED" and run.data.tags["mmm.kind"] == "fit"
        assert "roas_mean.search" in run.data.metrics
        files = {f.path for f in mlflow.MlflowClient(tracking_uri=b["uri"]).list_artifacts(run.info.run_id, "model")}
        assert "model/model.nc" in files
    # the two fits ran at the same time: each started before the other ended
    a, c = runs.values()
    assert a.info.start_time < c.info.end_time and c.info.start_time < a.info.end_time, (a.info, c.info)
    with sqlite3.connect(b["work"] / "mlruns.db") as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)


def test_credentials_reach_the_workers_and_are_never_shown(auth_batch, auth_server, ray_cluster):
    b = auth_batch
    assert b["rc"] == 1, b["text"]
    fit, broken = b["json"]["runs"]
    assert fit["status"] == "FINISHED", b["text"]
    assert broken["status"] == "FAILED" and "unknown key" in broken["error"]
    admin = mlflow.MlflowClient(tracking_uri=auth_server["url"].replace("http://", f"http://{ADMIN}:{ADMIN_PASSWORD}@"))
    run = admin.get_run(fit["run_id"])  # the cluster never had the analyst's credentials: the worker got them from the caller
    assert run.info.status == "FINISHED" and run.info.experiment_id == auth_server["experiment_id"]

    assert ANALYST_PASSWORD not in b["stdout"] + b["stderr"]
    assert ANALYST_PASSWORD not in (b["work"] / "batch.json").read_text()
    for r in admin.search_runs([auth_server["experiment_id"]]):
        assert ANALYST_PASSWORD not in json.dumps({**r.data.params, **r.data.tags})
    stored = [p for p in (auth_server["work"] / "artifacts").rglob("*") if p.is_file()]
    assert stored
    ray_files = [p for p in ray_cluster["temp"].rglob("*") if p.is_file() and not p.is_symlink()]
    assert any(p.name.startswith("worker-") for p in ray_files), "the workers' logs are where Ray keeps them"
    for path in stored + ray_files + [p for p in b["work"].rglob("*") if p.is_file()]:
        assert ANALYST_PASSWORD.encode() not in path.read_bytes(), path


def test_an_unreachable_cluster_or_no_config_is_refused_up_front(tmp_path, monkeypatch, configs):
    monkeypatch.chdir(tmp_path)
    for key in [k for k in os.environ if k.startswith(("MLFLOW_", "RAY_ADDRESS"))]:
        monkeypatch.delenv(key)
    started = time.monotonic()
    text = assert_clean_exit_2(invoke("batch", configs["shop_a"], "--ray-address", f"127.0.0.1:{free_port()}"))
    assert "no Ray cluster answers at 127.0.0.1:" in text and "--ray-address" in text, text
    assert time.monotonic() - started < 30
    assert invoke("batch").exit_code == 2  # no configs: click's usage error
    assert invoke("batch", configs["shop_a"], "--cpus-per-fit", "0").exit_code == 2


def test_an_embedded_store_is_refused_for_a_cluster_on_other_machines(monkeypatch):
    """Fits on other machines could not write the caller's ./mlruns.db: said up front, pointing at a server."""
    import ray

    from mmm.cli.batch import BatchError, check_store_reachable

    monkeypatch.setattr(ray.util, "get_node_ip_address", lambda: "10.0.0.1")
    monkeypatch.setattr(
        ray, "nodes", lambda: [{"Alive": True, "NodeManagerAddress": "10.0.0.1"}, {"Alive": True, "NodeManagerAddress": "10.0.0.2"}]
    )
    with pytest.raises(BatchError, match=r"10\.0\.0\.2.*tracking server"):
        check_store_reachable("sqlite:////tmp/x/mlruns.db", "10.0.0.1:6379")
    check_store_reachable("http://mlflow.internal:5000", "10.0.0.1:6379")  # a server is reachable from anywhere
    check_store_reachable("sqlite:////tmp/x/mlruns.db", None)  # a local Ray is this machine


def test_credentials_travel_masked_and_are_set_only_while_a_fit_runs(monkeypatch):
    from mmm.tracking.credentials import Credentials

    monkeypatch.setenv("MLFLOW_TRACKING_USERNAME", "alice")
    monkeypatch.setenv("MLFLOW_TRACKING_PASSWORD", "s3cret-pw")
    creds = Credentials.of_caller()
    assert "s3cret-pw" not in repr(creds) and "s3cret-pw" not in str(creds) and "alice" in repr(creds)
    monkeypatch.delenv("MLFLOW_TRACKING_PASSWORD")
    monkeypatch.setenv("MLFLOW_TRACKING_USERNAME", "someone-else")  # a worker's own environment
    with creds.applied():
        assert os.environ["MLFLOW_TRACKING_USERNAME"] == "alice" and os.environ["MLFLOW_TRACKING_PASSWORD"] == "s3cret-pw"
    assert os.environ["MLFLOW_TRACKING_USERNAME"] == "someone-else" and "MLFLOW_TRACKING_PASSWORD" not in os.environ
    assert creds.scrub("refused at https://bob:pw2@host/ with s3cret-pw") == "refused at https://bob:***@host/ with ***"


def test_a_fit_that_fails_after_its_run_started_ends_it_failed_with_the_reason(tmp_path, monkeypatch):
    """The worker's side without Ray or sampling: the run is real, the failure inside it is provoked."""
    from mmm.cli import batch_worker
    from mmm.cli.fitting import FitRequest
    from mmm.tracking.credentials import Credentials
    from mmm.tracking.runs import fit_run

    uri = f"sqlite:///{tmp_path / 'mlruns.db'}"

    def failing_fit(request, on_run):
        with fit_run(request.tracking_uri, None, "fit shop") as run:
            on_run(run.info.run_id)
            raise RuntimeError("sampler crashed talking to https://alice:hunter2@mlflow.internal with token hunter2")

    monkeypatch.setattr(batch_worker, "fit_config", failing_fit)
    monkeypatch.setenv("MLFLOW_TRACKING_PASSWORD", "hunter2")
    entry = batch_worker.fit_one(FitRequest("shop.yaml", tracking_uri=uri), "shop.yaml", Credentials.of_caller())
    assert entry.status == "FAILED" and entry.run_id is not None
    assert "hunter2" not in entry.error and "RuntimeError" in entry.error and "alice:***@" in entry.error, entry.error
    run = mlflow.MlflowClient(tracking_uri=uri).get_run(entry.run_id)
    assert run.info.status == "FAILED"
    assert run.data.tags["mmm.error"] == entry.error
