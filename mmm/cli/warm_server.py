"""A warm mmm: a background process that has already imported the libraries, forking one copy per command.

Starting `mmm` costs seconds before any work: importing PyMC, PyTensor, ArviZ, MLflow and
matplotlib. `mmm warm` starts a server that imports them once and waits on a Unix socket. Each
later `mmm` command connects, hands over its terminal (stdin, stdout, stderr), working folder,
environment and arguments, and the server forks: the copy runs the command as a fresh process
would, from the same imported state, and its exit status comes back to the command. Nothing
is shared between commands, so the same data, config and seed still give the same numbers.

The server only serves commands it was started for: the same Python, the same mmm code (any
edit to a module starts a new key) and the same settings that libraries read when they are
imported (PYTENSOR_FLAGS, MLFLOW_*, ...). Any other command runs on its own as before. The server
stops after `--minutes` without a command, or with `mmm warm --stop`.
"""

from __future__ import annotations

import atexit
import gc
import hashlib
import json
import os
import select
import signal
import socket
import struct
import subprocess
import sys
import sysconfig
import time
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import mmm

# settings read when a library is imported: a command with other values needs other imports
IMPORT_SETTINGS = ("PYTENSOR", "NUMBA", "MLFLOW", "OMP_", "OPENBLAS", "MKL", "JAX", "XLA", "MPL", "PYTHON", "LANG", "LC_", "MMM_")
DIR_VARIABLE = "MMM_WARM_DIR"  # where the servers' sockets live (default: a private folder in the temp dir)
AUTO_VARIABLE = "MMM_WARM"  # "off": no server starts after a command by itself (`mmm.cli.warm_auto`); not an import setting
START_SECONDS = 120  # how long `mmm warm` waits for the imports
LENGTH = struct.Struct("!Q")
CALLER_ENVIRONMENT = dict(os.environ)  # as the user started mmm, before any command sets its own variables


def socket_dir(create: bool = True) -> Path:
    """The private folder (mode 0700) that holds this user's servers' sockets."""
    base = os.environ.get(DIR_VARIABLE) or os.path.join(os.environ.get("XDG_RUNTIME_DIR") or "/tmp", f"mmm-warm-{os.getuid()}")
    path = Path(base)
    if create:
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
    info = path.stat()
    if info.st_uid != os.getuid() or info.st_mode & 0o077:
        raise PermissionError(f"{path} must belong to you with mode 0700, so no one else can run commands as you")
    return path


def supported() -> bool:
    """Whether this system can run a warm server: Unix sockets that pass open files, and fork (Linux, macOS, BSD)."""
    return os.name == "posix" and hasattr(socket, "send_fds") and hasattr(os, "fork")


def server_key() -> str:
    """What a command must share with a server to use it: Python and its installed packages, mmm's code, the import-time settings."""
    package = Path(mmm.__file__).parent
    newest = max(p.stat().st_mtime_ns for p in package.rglob("*.py"))
    installed = Path(sysconfig.get_paths()["purelib"]).stat().st_mtime_ns  # changes when a package is installed or upgraded
    settings = sorted((k, v) for k, v in CALLER_ENVIRONMENT.items() if k.startswith(IMPORT_SETTINGS) and k != AUTO_VARIABLE)
    text = json.dumps([sys.executable, installed, str(package), newest, settings])
    return hashlib.sha256(text.encode()).hexdigest()[:24]


def socket_path(create: bool = True) -> Path:
    """The socket of the server this command may use."""
    return socket_dir(create) / f"{server_key()}.sock"


@contextmanager
def _address(path: Path) -> Iterator[str]:
    """The socket's address, short enough for the system (about 100 bytes): on Linux a long one goes through the folder's descriptor."""
    if len(os.fsencode(path)) < 100 or not Path("/proc/self/fd").is_dir():
        yield str(path)
        return
    folder = os.open(path.parent, os.O_RDONLY)
    try:
        yield f"/proc/self/fd/{folder}/{path.name}"
    finally:
        os.close(folder)


# ---- the command's side ------------------------------------------------------------------------------------
def run_on_server(args: list[str]) -> int | None:
    """Run `mmm ARGS` on a warm server: its exit status, or None when no server serves this command."""
    if not supported():
        return None
    conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        with _address(socket_path(create=False)) as address:
            conn.connect(address)
    except OSError:  # no server, or a socket folder that is not private (then no server is used)
        conn.close()
        return None
    with conn:
        try:
            socket.send_fds(conn, [b"F"], [0, 1, 2])
            request = json.dumps({"args": args, "cwd": os.getcwd(), "env": dict(os.environ), "umask": _umask()}).encode()
            conn.sendall(LENGTH.pack(len(request)) + request)
            reply = conn.makefile("r")
            pid = int(reply.readline() or 0)
        except OSError:  # no terminal to hand over (a closed stdin), or a server going away: run here
            return None
        if not pid:
            return None
        forward = _forward_signals(pid)
        try:
            status = reply.readline()
        finally:
            forward()
    if not status:
        print("Error: the warm mmm server stopped during the command; run it again (without `mmm warm`).", file=sys.stderr)
        return 1
    return int(status)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _forward_signals(pid: int) -> Callable[[], None]:
    """Pass Ctrl-C, `kill` and a closed terminal on to the command's process; returns what restores the handlers."""
    signals = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
    before = {s: signal.signal(s, lambda signum, _frame: os.kill(pid, signum)) for s in signals}

    def restore() -> None:
        for s, handler in before.items():
            signal.signal(s, handler)

    return restore


# ---- the server's side -------------------------------------------------------------------------------------
def start(minutes: float) -> Path:
    """Start a server for commands like this one in the background; returns its socket once it listens."""
    path = socket_path()
    if _listening(path):
        return path
    server = spawn(path, minutes)  # None: one is importing already (started after a command), so wait for it
    log = path.with_suffix(".log")
    deadline = time.monotonic() + START_SECONDS
    while not _listening(path):
        if (server is not None and server.poll() is not None) or time.monotonic() > deadline:
            if server is not None:
                server.kill()
            path.with_suffix(".starting").unlink(missing_ok=True)
            raise RuntimeError(f"the warm server did not start; what it said is in {log}:\n{log.read_text()[-2000:]}")
        time.sleep(0.1)
    return path


def spawn(path: Path, minutes: float) -> subprocess.Popen | None:
    """Start a server on socket `path` in the background without waiting; None when one is starting already."""
    marker = path.with_suffix(".starting")  # claimed by one starter at a time, removed once the server listens
    with suppress(FileNotFoundError):
        if time.time() - marker.stat().st_mtime > START_SECONDS:
            marker.unlink()  # left by a server that never came up
    try:
        os.close(os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
    except FileExistsError:
        return None
    with open(path.with_suffix(".log"), "w") as errors:
        return subprocess.Popen(
            [
                sys.executable,
                "-c",
                "import sys; from mmm.cli.warm_server import serve; serve(sys.argv[1], float(sys.argv[2]))",
                str(path),
                str(minutes),
            ],
            start_new_session=True,  # not stopped by the terminal's Ctrl-C, nor by closing it
            env=CALLER_ENVIRONMENT,  # as the user started mmm: the settings the server's key stands for
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=errors,
        )


def servers() -> int:
    """How many warm servers of this user run now, for any settings."""
    alive = 0
    for pid_file in socket_dir().glob("*.pid"):
        with suppress(OSError, ValueError):
            os.kill(int(pid_file.read_text()), 0)
            alive += 1
    return alive


def stop() -> bool:
    """Stop the server for commands like this one; False when none was running."""
    path = socket_path()
    pid_file = path.with_suffix(".pid")
    if not _listening(path) or not pid_file.exists():
        return False
    os.kill(int(pid_file.read_text()), signal.SIGTERM)
    deadline = time.monotonic() + 10
    while path.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    return True


def running() -> bool:
    """Whether a server serves commands like this one."""
    return _listening(socket_path())


def _listening(path: Path) -> bool:
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
            with _address(path) as address:
                probe.connect(address)
            probe.sendall(b"P")  # a probe, not a command
        return True
    except OSError:
        return False


def serve(socket_file: str, minutes: float) -> None:
    """Import what commands use, then fork one process per command until `minutes` pass without one."""
    path = Path(socket_file)
    _import_everything()
    # half a million objects now live as long as the server: a command's full garbage collections skip them
    # (each took half a second, twice per fit) and its pages stay shared with the server
    gc.freeze()
    if path.exists():
        path.unlink()
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    with _address(path) as address:
        listener.bind(address)
    listener.listen(16)
    path.with_suffix(".starting").unlink(missing_ok=True)
    pid_file = path.with_suffix(".pid")
    pid_file.write_text(str(os.getpid()))
    stopping: list[int] = []  # not an exception: the signal may arrive while a fork runs its handlers, which ignore one
    signal.signal(signal.SIGTERM, lambda signum, _frame: stopping.append(signum))
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # handlers are reaped by the system
    last = time.monotonic()
    try:
        while not stopping and (time.monotonic() - last < minutes * 60 or _busy()):
            ready, _, _ = select.select([listener], [], [], 1.0)
            if not ready:
                continue
            conn, _ = listener.accept()
            last = time.monotonic()
            if os.fork() == 0:
                listener.close()
                _handle(conn)  # never returns
            conn.close()
    finally:
        listener.close()
        for done in (path, pid_file, path.with_suffix(".log"), path.with_suffix(".starting")):
            done.unlink(missing_ok=True)


def _busy() -> bool:
    """Whether a command forked by this server still runs (the server then outlives its idle time)."""
    try:
        children = Path(f"/proc/{os.getpid()}/task/{os.getpid()}/children").read_text().split()
    except OSError:
        return False
    return bool(children)


def _import_everything() -> None:
    """The libraries and every mmm module a command may import (Ray only when a batch needs it)."""
    import importlib
    import pkgutil

    import mmm.tracking  # first: it keeps MLflow from starting a telemetry thread, which a fork would copy half-way

    for module in pkgutil.walk_packages(mmm.__path__, "mmm."):
        if not module.name.endswith("__main__"):
            importlib.import_module(module.name)
    import mlflow.store.tracking.sqlalchemy_store  # noqa: F401  # the embedded store's code, imported on first use
    from mlflow.utils import requirements_utils

    # which module belongs to which installed package: MLflow works it out (1-2 s) each time a model is logged
    with suppress(AttributeError):
        requirements_utils._init_modules_to_packages_map()


def _handle(conn: socket.socket) -> None:
    """In a forked copy of the server: run one command in a fresh fork, report its pid and exit status."""
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    try:
        _, fds, _, _ = socket.recv_fds(conn, 1, 3)
        if len(fds) != 3 or not _same_user(conn):  # a probe, or someone else (the folder's mode should stop them already)
            os._exit(0)
        request = json.loads(_read_exactly(conn, LENGTH.unpack(_read_exactly(conn, LENGTH.size))[0]))
        pid = os.fork()
        if pid == 0:
            conn.close()
            _become_the_command(request, fds)
        # the server's log (its stderr) names each command it ran, not its arguments: they may hold an address with a password
        print(f"{time.strftime('%Y-%m-%d %H:%M:%S')} process {pid}: mmm {(request['args'] or ['--help'])[0]}", file=sys.stderr, flush=True)
        for fd in fds:
            os.close(fd)
        conn.sendall(f"{pid}\n".encode())
        conn.sendall(f"{_wait_while_connected(pid, conn)}\n".encode())
    except BaseException as exc:  # whatever happens, this fork must not fall back into the server's loop
        if not isinstance(exc, OSError):  # a caller gone away is not news
            traceback.print_exception(exc)
    finally:
        os._exit(0)


def _same_user(conn: socket.socket) -> bool:
    """Whether the process at the other end runs as this user (Linux tells; elsewhere the folder's mode is the check)."""
    if not hasattr(socket, "SO_PEERCRED"):
        return True
    _pid, uid, _gid = struct.unpack("3i", conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i")))
    return uid == os.getuid()


def _read_exactly(conn: socket.socket, n: int) -> bytes:
    data = b""
    while len(data) < n:
        chunk = conn.recv(n - len(data))
        if not chunk:
            raise ConnectionError("the command went away")
        data += chunk
    return data


def _wait_while_connected(pid: int, conn: socket.socket) -> int:
    """The command's exit status (128 + signal when a signal ended it); a command whose caller went away is stopped.

    On Linux a descriptor of the process wakes the wait the moment it ends; elsewhere it is checked every 0.2 s.
    """
    ended = os.pidfd_open(pid) if hasattr(os, "pidfd_open") else None
    try:
        while True:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                code = os.waitstatus_to_exitcode(status)
                return code if code >= 0 else 128 - code
            watched = [conn.fileno()] if ended is None else [conn.fileno(), ended]
            readable, _, _ = select.select(watched, [], [], 0.2)
            if conn.fileno() in readable and not conn.recv(1):
                os.kill(pid, signal.SIGTERM)
    finally:
        if ended is not None:
            os.close(ended)


def _become_the_command(request: dict, fds: list[int]) -> None:
    """Take over the caller's terminal, folder, environment and arguments, and run `mmm` as it would have."""
    import io

    for target, fd in enumerate(fds):
        os.dup2(fd, target)
        os.close(fd)
    os.setsid()
    os.chdir(request["cwd"])
    os.umask(request["umask"])
    os.environ.clear()
    os.environ.update(request["env"])
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGHUP, signal.SIG_DFL)
    encoding = sys.stdout.encoding
    sys.stdin = io.TextIOWrapper(io.FileIO(0, "r", closefd=False), encoding=encoding)
    sys.stdout = io.TextIOWrapper(io.FileIO(1, "w", closefd=False), encoding=encoding, line_buffering=os.isatty(1))
    sys.stderr = io.TextIOWrapper(io.FileIO(2, "w", closefd=False), encoding=encoding, errors="backslashreplace", line_buffering=True)
    sys.argv = ["mmm", *request["args"]]
    from mmm.cli import exit_now
    from mmm.cli.app import invoke

    try:
        code = invoke()
    except BaseException as exc:  # as Python ends on an error nothing caught: print it, exit 1 (130 on Ctrl-C)
        traceback.print_exception(exc)
        atexit._run_exitfuncs()
        code = 130 if isinstance(exc, KeyboardInterrupt) else 1
    exit_now(code)
