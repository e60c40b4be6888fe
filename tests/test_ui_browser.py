"""`mmm ui` in a real (headless) browser: the experiment page and MLflow's compare view of two scenarios.

A temporary embedded store gets one fit and two scenario runs nested under it (all through the
`mmm` CLI); `mmm ui` serves it on 127.0.0.1:<free port>, and headless Chromium, driven by
Playwright (the system's /usr/bin/chromium; Playwright never downloads a browser here), opens the
pages. The compare view's screenshot is kept in the test's folder (and copied to docs/mlflow-compare.png when MMM_UPDATE_DOCS=1).

Skipped (with the reason) when Chromium or the playwright package is missing. The check that
`mmm ui --host 0.0.0.0` refuses without `--allow-remote` needs neither and always runs.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
from helpers import CHROMIUM_ARGS, clean_env, free_port, mmm_cmd, run_cmd, stop_process_group
from helpers import SHORT_SAMPLER as FIT_ARGS

ROOT = Path(__file__).resolve().parents[1]
EXPERIMENT = "ui-test"
SCENARIO_METRICS = ("expected_revenue_mean", "prob_better_than_current", "incremental_revenue_mean")


def find_chromium() -> str | None:
    for name in ("chromium", "chromium-browser"):
        path = shutil.which(name)
        if path:
            return path
    return "/usr/bin/chromium" if Path("/usr/bin/chromium").is_file() else None


def port_open(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.settimeout(1)
        return s.connect_ex(("127.0.0.1", port)) == 0


def get_json(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=10) as resp:
        return json.loads(resp.read())


def close_assistant(page) -> None:
    """Close MLflow's assistant side panel when it is open, so the screenshot shows the comparison."""
    close = page.locator('[data-component-id="mlflow.assistant.chat_panel.close"]')
    if close.count() and close.first.is_visible():
        close.first.click()
        page.wait_for_timeout(300)


# ---------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def browser_bin():
    """Skip the browser tests, with the reason, when they cannot run here."""
    chromium = find_chromium()
    if chromium is None:
        pytest.skip("Chromium not installed: apt-get install chromium (Debian) to run the browser checks")
    pytest.importorskip("playwright.sync_api", reason="playwright missing: pip install -e '.[test]'")
    return chromium


@pytest.fixture(scope="module")
def store(browser_bin, tmp_path_factory):
    """An embedded store with a fit and two scenario runs nested under it, all from the CLI."""
    work = tmp_path_factory.mktemp("ui-store")
    uri = f"sqlite:///{work / 'mlruns.db'}"
    track = ["--tracking-uri", uri, "--experiment", EXPERIMENT]
    mmm = mmm_cmd()
    run_cmd([*mmm, "simulate", "--scenario", "clean", "--out", str(work / "sim")], cwd=work, timeout=120)
    run_cmd(
        [*mmm, "fit", str(work / "sim" / "config.yaml"), *FIT_ARGS, "--output-json", str(work / "fit.json"), *track], cwd=work, timeout=400
    )
    run_id = json.loads((work / "fit.json").read_text())["run_id"]
    plans = {
        "steady quarter": "search: 9000\n  social: 6000\n  display: 3000",
        "search push": "search: 16000\n  social: 3000\n  display: 1000",
    }
    scenarios = []
    for i, (name, spend) in enumerate(plans.items()):
        plan = f"plan_{name.replace(' ', '_')}.yaml"  # relative, as an analyst types it (logged as the `plan` param)
        (work / plan).write_text(f"name: {name}\nweeks: 13\nspend:\n  {spend}\n")
        out = work / f"scenario_{i}.json"
        run_cmd([*mmm, "scenario", "--run-id", run_id, "--plan", plan, "--output-json", str(out), *track], cwd=work, timeout=300)
        scenarios.append({"name": name, "run_id": json.loads(out.read_text())["tracking_run_id"]})
    return {"work": work, "uri": uri, "track": track, "fit_run_id": run_id, "scenarios": scenarios}


@pytest.fixture(scope="module")
def ui_server(store):
    """`mmm ui` on the store, on 127.0.0.1:<free port>; yields its base URL. Stopped on teardown."""
    port = free_port()
    log = store["work"] / "ui.log"
    with open(log, "w") as fh:
        proc = subprocess.Popen(
            [*mmm_cmd(), "ui", "--port", str(port), *store["track"]],
            cwd=store["work"],
            env=clean_env(),
            stdout=fh,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            if proc.poll() is not None:
                pytest.fail(f"`mmm ui` exited with {proc.returncode}:\n{log.read_text()[-4000:]}")
            try:
                with urllib.request.urlopen(f"{url}/health", timeout=2) as resp:
                    if resp.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"`mmm ui` did not answer within 120s:\n{log.read_text()[-4000:]}")
            time.sleep(0.5)
        yield {"url": url, "port": port, "log": log}
    finally:
        stop_process_group(proc)  # the whole group: mmm, mlflow ui and its uvicorn workers


@pytest.fixture(scope="module")
def browser(browser_bin, tmp_path_factory):
    """Headless Chromium with a fresh profile; yields a page (tall, so the compare view's tables fit a screenshot)."""
    from playwright.sync_api import sync_playwright

    profile = tmp_path_factory.mktemp("chromium-profile")
    with sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            str(profile),
            executable_path=browser_bin,
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": 1440, "height": 1900},
        )
        context.set_default_timeout(60_000)
        try:
            yield context.new_page()
        finally:
            context.close()


# ---------------------------------------------------------------- tests


def test_ui_with_allow_remote_answers_by_this_machines_name_and_no_other(tmp_path):
    """Other machines reach the UI by this machine's name; a name it was not told (DNS rebinding) is refused."""
    port = free_port()
    with open(tmp_path / "ui.log", "w") as fh:
        proc = subprocess.Popen(
            [*mmm_cmd(), "ui", "--host", "0.0.0.0", "--allow-remote", "--port", str(port)],
            cwd=tmp_path, env=clean_env(), stdout=fh, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip

    def status(host_header: str) -> int:
        url = f"http://127.0.0.1:{port}/ajax-api/2.0/mlflow/experiments/search?max_results=1"
        try:
            with urllib.request.urlopen(urllib.request.Request(url, headers={"Host": host_header}), timeout=5) as resp:
                return resp.status
        except urllib.error.HTTPError as exc:
            return exc.code

    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                answer = status(f"{socket.gethostname()}:{port}")
                break
            except OSError:
                assert proc.poll() is None and time.monotonic() < deadline, (tmp_path / "ui.log").read_text()[-3000:]
                time.sleep(0.5)
        assert answer == 200
        assert status("mmm.attacker.example") == 403
    finally:
        stop_process_group(proc)


def test_ui_refuses_a_public_address_without_allow_remote(tmp_path):
    port = free_port()
    proc = subprocess.run(
        [*mmm_cmd(), "ui", "--host", "0.0.0.0", "--port", str(port)],
        cwd=tmp_path,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2, (proc.stdout, proc.stderr)
    assert "--allow-remote" in proc.stderr and "0.0.0.0" in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr
    # no server was started and no store was touched
    assert "MLflow UI for" not in proc.stdout
    assert not port_open(port)
    assert not (tmp_path / "mlruns.db").exists()


def test_experiment_page_lists_the_fit(store, ui_server, browser):
    exp = get_json(f"{ui_server['url']}/api/2.0/mlflow/experiments/get-by-name?experiment_name={EXPERIMENT}")
    exp_id = exp["experiment"]["experiment_id"]
    store["experiment_id"] = exp_id
    page = browser
    # MLflow 3 opens an experiment on its GenAI overview; the runs table is the /runs tab
    page.goto(f"{ui_server['url']}/#/experiments/{exp_id}/runs")
    page.get_by_text("fit config").first.wait_for()  # the fit's run name (`fit <config stem>`)
    text = page.inner_text("body")
    assert EXPERIMENT in text
    assert "3 matching runs" in text  # the fit and the two scenarios nested under it


def test_compare_view_shows_the_scenario_metrics(store, ui_server, browser, tmp_path):
    exp_id = (
        store.get("experiment_id")
        or get_json(f"{ui_server['url']}/api/2.0/mlflow/experiments/get-by-name?experiment_name={EXPERIMENT}")["experiment"][
            "experiment_id"
        ]
    )
    run_ids = [s["run_id"] for s in store["scenarios"]]
    query = urllib.parse.urlencode({"runs": json.dumps(run_ids), "experiments": json.dumps([exp_id])})
    page = browser
    page.goto(f"{ui_server['url']}/#/compare-runs?{query}")
    for metric in SCENARIO_METRICS:
        page.get_by_text(metric, exact=False).first.wait_for()
    close_assistant(page)
    text = page.inner_text("body")
    for metric in SCENARIO_METRICS:
        assert metric in text, f"{metric} not on the compare page"
    for s in store["scenarios"]:
        assert s["name"] in text or s["run_id"] in text, f"scenario {s['name']!r} not on the compare page"

    shot = tmp_path / "mlflow-compare.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000
    if os.environ.get("MMM_UPDATE_DOCS"):  # refresh the README's screenshot on request only
        (ROOT / "docs").mkdir(exist_ok=True)
        shutil.copyfile(shot, ROOT / "docs" / "mlflow-compare.png")
