"""Commands over the tracking store: runs, report and the MLflow UI."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from mmm.cli.common import (
    OUTPUT_FILE,
    out_file,
    where,
    with_tracking,
    write_json,
)
from mmm.core.errors import MMMError
from mmm.tracking.access import redact, without_login

LOOPBACK = ("127.0.0.1", "localhost", "::1")


@click.command()
@click.option("--output-json", type=OUTPUT_FILE, help="Also write the list as JSON here.")
@with_tracking
def runs(output_json: str | None, tracking_uri: str | None, experiment: str | None) -> None:
    """List fitted models and the scenarios and optimisations run on them."""
    from mmm.report.formatting import format_runs_table
    from mmm.tracking.runs import list_runs, resolve_tracking_uri
    from mmm.tracking.store import missing_database

    missing = missing_database(resolve_tracking_uri(tracking_uri))
    listing = [] if missing is not None else list_runs(tracking_uri, experiment)
    if missing is not None:
        click.echo(f"No tracking store at {missing} yet: nothing has been fitted there (check --tracking-uri or MLFLOW_TRACKING_URI).")
    else:
        click.echo(format_runs_table(listing) if listing else "No fitted models yet: run `mmm fit CONFIG`.")
        click.echo(f"\nStore: {where()}")
    if output_json:
        write_json(output_json, {"runs": listing})


@click.command()
@click.option("--run-id", required=True, help="The fitted model's run id (from `mmm fit` or `mmm runs`).")
@out_file("out_html", "report.html", "Where to write the HTML report.")
@with_tracking
def report(run_id: str, out_html: str, tracking_uri: str | None, experiment: str | None) -> None:
    """Write a one-file HTML report of a fitted model and its latest optimisation, and log it to the run."""
    from mmm.tracking.reports import log_report, report_for_run

    built, optimization = report_for_run(run_id, tracking_uri)
    path = Path(out_html)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(built.html, encoding="utf-8")
    tmp.replace(path)
    log_report(run_id, built, tracking_uri)
    included = f"with optimisation run {optimization.tracking_run_id}" if optimization else "no optimisation run yet"
    click.echo(f"Report written to {path} ({len(built.images)} charts; {included}).")
    click.echo(f"Logged to run {run_id} as report/report.html in {where()}")


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind; only this machine by default.")
@click.option("--port", type=int, default=5000, show_default=True)
@click.option("--allow-remote", is_flag=True, help="Needed to bind to an address other machines can reach.")
@click.option(
    "--allowed-hosts",
    default=None,
    help="With --allow-remote: comma-separated names the UI answers to (wildcards as in 'mmm.example.com,10.0.*'); "
    "default: this machine's name, its full name and its addresses.",
)
@with_tracking
def ui(host: str, port: int, allow_remote: bool, allowed_hosts: str | None, tracking_uri: str | None, experiment: str | None) -> None:
    """Open the MLflow UI on the same store the other commands use."""
    import subprocess

    from mmm.tracking.runs import connect

    if host not in LOOPBACK and not allow_remote:
        raise MMMError(f"--host {host} would let other machines see every model and plan; add --allow-remote if that is intended")
    uri, _ = connect(tracking_uri, experiment)
    if uri.startswith(("http://", "https://")):
        address = without_login(uri)
        click.echo(
            f"{redact(uri)} is a tracking server: it serves the MLflow UI itself (and asks for the login when it has one). "
            f"Open {address} in a browser."
        )
        return
    if host not in LOOPBACK:
        click.echo(f"WARNING: the MLflow UI is reachable from other machines at http://{host}:{port} (no login).", err=True)
    shown_host = "127.0.0.1" if host == "localhost" else f"[{host}]" if ":" in host else host  # IPv6 in brackets
    click.echo(f"MLflow UI for {redact(uri)} at http://{shown_host}:{port} (Ctrl-C to stop)")
    cmd = [sys.executable, "-m", "mlflow", "ui", "--host", host, "--port", str(port), "--workers", "1"]
    if host not in LOOPBACK:  # MLflow answers only to localhost and private addresses unless told the names it is reached by
        cmd += ["--allowed-hosts", allowed_hosts or ",".join(_machine_names(host, port))]
    # the store's address (a database password, maybe) goes in the environment: a command line is visible to `ps`
    env = {"MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false", **os.environ, "MLFLOW_BACKEND_STORE_URI": uri}
    try:
        raise SystemExit(subprocess.call(cmd, env=env))
    except KeyboardInterrupt:
        pass


def _machine_names(host: str, port: int) -> list[str]:
    """The Host headers a browser on another machine may send to reach this one: MLflow's own defaults (localhost
    and private addresses), this machine's name, full name and addresses, and the bound address, with and without
    the port."""
    import contextlib
    import socket

    names = {socket.gethostname(), socket.getfqdn()}
    if host not in ("0.0.0.0", "::"):
        names.add(f"[{host}]" if ":" in host else host)
    with contextlib.suppress(OSError):  # a name that does not resolve: the other names still answer
        names.update(socket.gethostbyname_ex(socket.gethostname())[2])
    with contextlib.suppress(OSError), socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.connect(("192.0.2.1", 9))  # no packet is sent: this only picks the address other machines reach
        names.add(probe.getsockname()[0])
    from mlflow.server.security_utils import get_default_allowed_hosts

    return [*get_default_allowed_hosts(), *sorted({*names, *(f"{n}:{port}" for n in names)})]
