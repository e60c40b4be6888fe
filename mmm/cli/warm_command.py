"""`mmm warm`: keep the libraries imported in the background, so each command starts in a fraction of a second."""

from __future__ import annotations

import click

from mmm.cli.warm_server import running, socket_path, start, stop, supported


@click.command()
@click.option("--minutes", type=click.FloatRange(min=0.05), default=30, show_default=True, help="Stop after this long without a command.")
@click.option("--stop", "stop_it", is_flag=True, help="Stop the warm server instead.")
@click.option("--status", is_flag=True, help="Only say whether a warm server serves commands run from here.")
def warm(minutes: float, stop_it: bool, status: bool) -> None:
    """Start a background server that has imported PyMC, MLflow and the rest once; later mmm commands run on it.

    Each command still runs in a process of its own (a fork of the server), with your folder,
    environment and terminal, and gives the same numbers; it just skips the seconds of start-up.
    Only commands from the same Python, the same mmm code and the same library settings
    (PYTENSOR_FLAGS, MLFLOW_*, ...) use it; others run as before.
    """
    if not supported():
        raise click.UsageError("mmm warm needs Unix sockets and fork (Linux or macOS); on this system every command starts on its own")
    if status:
        if running():
            click.echo(
                f"A warm server serves mmm commands run from here; it lists the commands it ran in {socket_path().with_suffix('.log')}."
            )
        else:
            click.echo("No warm server serves mmm commands run from here.")
        return
    if stop_it:
        click.echo("Stopped the warm server." if stop() else "No warm server was running for commands run from here.")
        return
    click.echo("Importing the libraries once (a few seconds)...", err=True)
    path = start(minutes)
    click.echo(
        f"mmm is warm: commands run from here skip start-up until {minutes:g} min pass without one ({path}). Stop it with `mmm warm --stop`."
    )
