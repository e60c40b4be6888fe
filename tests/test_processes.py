"""`fork_map`: work spread over the cores by forked workers, with the results of doing it here, in order."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

from helpers import clean_env

from mmm.core.processes import fork_map


def _spread() -> None:
    base = 10.0  # a closure over local state: the workers inherit it, nothing is sent to them

    def work(i: int) -> tuple[float, int]:
        return base * i + sum(range(200_000)) % 7, os.getpid()

    items = list(range(12))
    out = fork_map(work, items)
    assert [value for value, _ in out] == [work(i)[0] for i in items]
    if (os.cpu_count() or 1) > 1:
        assert os.getpid() not in {pid for _, pid in out}  # computed by the workers
        assert len({pid for _, pid in out}) > 1


def test_work_is_spread_over_forked_workers_and_comes_back_in_order():
    """In a new interpreter: earlier tests in this worker may have left threads (MLflow's idle pools), and then it never forks."""
    done = subprocess.run([sys.executable, __file__, "_spread"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]


def test_with_another_thread_running_the_work_stays_in_this_process():
    stop = threading.Event()
    other = threading.Thread(target=stop.wait)
    other.start()
    try:
        assert fork_map(lambda i: (i * i, os.getpid()), [1, 2, 3]) == [(1, os.getpid()), (4, os.getpid()), (9, os.getpid())]
    finally:
        stop.set()
        other.join()


def test_end_download_threads_lets_planning_fork_after_loading_a_fit(tmp_path: Path):
    """Loading a fit through MLflow leaves its download pool's idle thread; ended, the planning may fork."""
    script = tmp_path / "load.py"
    script.write_text(
        "import threading, mlflow, sys\n"
        "from mmm.core.processes import can_fork\n"
        "from mmm.tracking.runs import end_download_threads\n"
        f"mlflow.set_tracking_uri('sqlite:///{tmp_path}/store.db')\n"
        "with mlflow.start_run() as run:\n"
        "    mlflow.log_text('x', 'a.txt')\n"
        f"mlflow.artifacts.download_artifacts(run_id=run.info.run_id, artifact_path='a.txt', dst_path='{tmp_path}')\n"
        "before = can_fork()\n"
        "end_download_threads()\n"
        "print(before, can_fork())\n"
    )
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120, cwd=tmp_path, env=clean_env())
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.split()[-2:] == ["False", "True"]  # the download left a thread; ended, forking is safe


if __name__ == "__main__":
    globals()[sys.argv[1]]()
