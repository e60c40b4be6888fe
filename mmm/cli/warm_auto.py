"""After a command that paid the start-up, keep the libraries imported for the next one: `mmm warm` without asking.

An analyst iterates: fit, change a prior, fit again. The first command of a session imports PyMC,
ArviZ and MLflow (about ten seconds); every later one would pay that again. So when a command
that imported them ran on its own (no warm server served it), mmm starts a warm server in the
background as the command ends, after its results are out: the next command from the same
Python, code and settings runs on it, as under `mmm warm`, with the same numbers. The server stops
after AUTO_MINUTES without a command, or with `mmm warm --stop`; MMM_WARM=off turns this off.
"""

from __future__ import annotations

import os
import sys

from mmm.cli.warm_server import AUTO_VARIABLE, running, servers, socket_path, spawn, supported

AUTO_MINUTES = 15.0  # idle time after which a server started this way stops
MAX_SERVERS = 2  # no server starts by itself while this user runs this many (for other settings, say)
HEAVY = ("pymc", "mlflow")  # a command that imported these paid the start-up a server saves
OFF = ("off", "0", "no", "false")


def start_for_next_command() -> None:
    """Start a warm server in the background when this command imported the heavy libraries and none serves it."""
    if os.environ.get(AUTO_VARIABLE, "").strip().lower() in OFF or not supported():
        return
    if not any(name in sys.modules for name in HEAVY):
        return
    try:
        if running() or servers() >= MAX_SERVERS or spawn(socket_path(), AUTO_MINUTES) is None:
            return
    except OSError:  # a socket folder that is not private, or none can be made: commands start on their own as before
        return
    print(
        f"mmm: the libraries stay loaded in the background for {AUTO_MINUTES:g} minutes, so the next command starts at once "
        f"(`mmm warm --stop` stops it; {AUTO_VARIABLE}=off turns this off)",
        file=sys.stderr,
    )
