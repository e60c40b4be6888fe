"""`mmm batch`: many configs fitted in parallel on Ray, each an MLflow run in the same store."""

from __future__ import annotations

import logging
import os
import socket
import time
from pathlib import Path
from typing import TYPE_CHECKING

import click

from mmm.cli.common import OUTPUT_FILE, save_json, where, with_fit_options, with_tracking
from mmm.core.errors import MMMError

if TYPE_CHECKING:
    from mmm.cli.fitting import FitRequest
    from mmm.report.batch import BatchRun
    from mmm.tracking.credentials import Credentials

LOCAL = ("", "local")  # Ray's own word for "start a new local instance"


class BatchError(MMMError):
    """The batch cannot start: no Ray cluster to fit on, or a store its workers cannot reach."""


@click.command()
@click.argument("configs", nargs=-1, required=True, type=click.Path())
@click.option(
    "--ray-address",
    envvar="RAY_ADDRESS",
    default=None,
    help="Ray cluster to fit on (HOST:PORT of its head, ray://HOST:10001, or auto); default: RAY_ADDRESS, else a local Ray for this batch.",
)
@click.option("--output-json", type=OUTPUT_FILE, help="Also write every config's outcome as JSON here.")
@with_fit_options
@click.option(
    "--cpus-per-fit",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="CPUs Ray sets aside for each fit (its chains share them).",
)
@with_tracking
def batch(
    configs: tuple[str, ...],
    ray_address: str | None,
    output_json: str | None,
    cpus_per_fit: int,
    tracking_uri: str | None,
    experiment: str | None,
    holdout: int,
    **sampler: int | None,
) -> None:
    """Fit every CONFIG as its own Ray task, each logged as an MLflow run; exit status 1 when any failed.

    A config that fails (bad key, bad data, a fit that breaks) is reported FAILED with the reason and
    does not stop the others.
    """
    if (ray_address or "") not in LOCAL:
        _check_reachable(ray_address or "")  # at once, before anything is loaded or created
    import mlflow

    from mmm.cli.fitting import FitRequest
    from mmm.report.batch import BatchResult, format_batch_table
    from mmm.tracking.credentials import Credentials
    from mmm.tracking.runs import connect

    # the store answers and lets the caller in before any fit starts; an embedded store is created here, once
    uri, experiment_id = connect(tracking_uri, experiment)
    experiment_name = mlflow.MlflowClient().get_experiment(experiment_id).name
    credentials = Credentials.of_caller()
    # absolute paths: a worker's folder is not this one
    requests = [
        FitRequest(
            str(Path(c).absolute()),
            holdout,
            draws=sampler["draws"],
            tune=sampler["tune"],
            chains=sampler["chains"],
            seed=sampler["seed"],
            tracking_uri=uri,
            experiment=experiment_name,
        )
        for c in configs
    ]
    finished = check_all(list(configs), requests, credentials)  # a misspelt key or bad data is reported now
    if len(finished) < len(requests):
        cluster = start_ray(ray_address)
        try:
            check_store_reachable(uri, ray_address)
            click.echo(
                f"Fitting {len(requests) - len(finished)} config(s) on {cluster}; runs go to experiment '{experiment_name}' in {where()}",
                err=True,
            )
            run_all(list(configs), requests, credentials, cpus_per_fit, finished)
        finally:
            import ray

            ray.shutdown()
    result = BatchResult(runs=[finished[i] for i in range(len(requests))])
    click.echo("\n" + format_batch_table(result))
    save_json(output_json, result.to_json())
    if result.failed:
        click.get_current_context().exit(1)


def start_ray(address: str | None) -> str:
    """Connect to the Ray cluster at `address`, or start a local Ray when there is none; returns what it is, in words."""
    import ray

    if (address or "") in LOCAL:
        os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")  # a local instance phones nowhere
        ray.init(address="local", include_dashboard=False, logging_level=logging.ERROR, log_to_driver=False)
        where = "a local Ray"
    else:
        assert address is not None
        try:
            ray.init(address=address, logging_level=logging.ERROR, log_to_driver=False)
        except (ConnectionError, RuntimeError, ValueError, TimeoutError) as exc:
            raise BatchError(f"could not connect to the Ray cluster at {address}: {_last_line(exc)}. {_ADDRESS_HINT}") from None
        where = f"the Ray cluster at {address}"
    nodes = [n for n in ray.nodes() if n.get("Alive")]
    cpus = ray.cluster_resources().get("CPU", 0)
    return f"{where} ({len(nodes)} node(s), {cpus:.0f} CPUs)"


_ADDRESS_HINT = (
    "Give --ray-address (or RAY_ADDRESS) as the HOST:PORT that `ray start --head` printed (or ray://HOST:10001 for Ray Client), "
    "check the cluster is up (`ray status` on its head), or leave it out to fit on a local Ray"
)


def _check_reachable(address: str) -> None:
    """Fail at once, not after Ray's long retries, when a HOST:PORT address does not answer."""
    host_port = address.removeprefix("ray://")
    if address == "auto" or ":" not in host_port:
        return
    host, _, port = host_port.rpartition(":")
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=5).close()
    except (OSError, ValueError) as exc:
        raise BatchError(f"no Ray cluster answers at {address} ({exc}). {_ADDRESS_HINT}") from None


def check_store_reachable(uri: str, address: str | None) -> None:
    """An embedded store lives on this machine: refuse a cluster with nodes on other machines, whose fits could not log to it."""
    import ray

    from mmm.tracking.access import redact
    from mmm.tracking.store import is_local_store

    if not is_local_store(uri) or (address or "") in LOCAL:
        return
    here = ray.util.get_node_ip_address()
    elsewhere = sorted({n["NodeManagerAddress"] for n in ray.nodes() if n.get("Alive")} - {here})
    if elsewhere:
        raise BatchError(
            f"the tracking store {redact(uri)} is a file on this machine, but the Ray cluster at {address} has nodes on "
            f"other machines ({', '.join(elsewhere)}), whose fits could not log to it: point --tracking-uri (or MLFLOW_TRACKING_URI) "
            "at the team's tracking server (README: Team set-up)"
        )


def check_all(shown: list[str], requests: list[FitRequest], credentials: Credentials) -> dict[int, BatchRun]:
    """Read and check every config and its data before any fit starts; the failed ones (by position), each with a line printed."""
    from mmm.cli.batch_worker import failed_run
    from mmm.cli.fitting import prepare_fit
    from mmm.report.batch import format_batch_line

    failed: dict[int, BatchRun] = {}
    for i, (config, request) in enumerate(zip(shown, requests)):
        started = time.perf_counter()
        try:
            prepare_fit(request)
        except Exception as exc:
            failed[i] = failed_run(config, exc, time.perf_counter() - started, credentials)
            click.echo(format_batch_line(failed[i], len(failed), len(requests)))
    return failed


def run_all(
    shown: list[str], requests: list[FitRequest], credentials: Credentials, cpus_per_fit: int, finished: dict[int, BatchRun]
) -> None:
    """Submit every fit not yet `finished` at once (Ray runs as many as the CPUs allow) and add each outcome as it comes, with a line."""
    import ray

    from mmm.cli.batch_worker import fit_one
    from mmm.report.batch import BatchRun, format_batch_line

    # no retries: a fit that crashed its worker would be logged twice
    task = ray.remote(fit_one).options(num_cpus=cpus_per_fit, max_retries=0, name="mmm fit")
    pending = {task.remote(requests[i], shown[i], credentials): i for i in range(len(requests)) if i not in finished}
    submitted = time.perf_counter()
    while pending:
        ready, _ = ray.wait(list(pending), num_returns=1)
        i = pending.pop(ready[0])
        try:
            run = ray.get(ready[0])
        except Exception as exc:  # the worker died (out of memory, node lost) or could not load mmm
            reason = f"the Ray worker fitting it stopped ({_last_line(exc)}); is mmm installed on every node?"
            run = BatchRun(
                config=shown[i], run_id=None, status="FAILED", error=credentials.scrub(reason), fit_seconds=time.perf_counter() - submitted
            )
        finished[i] = run
        click.echo(format_batch_line(run, len(finished), len(requests)))


def _last_line(exc: BaseException) -> str:
    """The last non-empty line of an error (Ray's carry the remote traceback above it)."""
    lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip()]
    return lines[-1] if lines else type(exc).__name__
