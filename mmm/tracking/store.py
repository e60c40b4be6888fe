"""One writer at a time on an embedded store: several fits (a batch, two terminals) may share `./mlruns.db`.

SQLite takes one writer at a time and MLflow's table creation is not safe to race, so every
process writing to the same embedded database takes the file lock `mlruns.db.lock` around its
writes (creating the run, logging the model and report, ending the run); fitting itself runs in
parallel. A tracking server serialises its own writes, so no lock is taken for one.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, suppress
from pathlib import Path
from typing import TypeVar
from urllib.parse import urlsplit

from mmm.core.errors import MMMError
from mmm.tracking.access import redact

T = TypeVar("T")

_in_process = threading.RLock()  # re-entered by the thread holding it; other threads wait
_held: set[Path] = set()


def is_local_store(uri: str) -> bool:
    """Whether the store is files on this machine (SQLite or a folder), not a server other machines can reach."""
    return uri.startswith("sqlite:") or uri.startswith("file:") or "://" not in uri


STORE_SCHEMES = ("sqlite", "http", "https", "postgresql", "databricks")  # the stores mmm's MLflow opens
SQLITE_HEADER = b"SQLite format 3\x00"  # the first bytes of every SQLite database file


def check_store_uri(uri: str) -> str:
    """`uri` when MLflow can open it as a store; else an MMMError saying what to point at instead."""
    scheme = uri.split("://", 1)[0].split("+", 1)[0].lower() if "://" in uri else "a folder"
    where = f"tracking store {redact(uri)} (--tracking-uri or MLFLOW_TRACKING_URI)"
    how = "use sqlite:///path/to/mlruns.db (the embedded store), postgresql://host/db, or the http(s):// address of an MLflow server"
    if scheme not in STORE_SCHEMES:
        raise MMMError(f"{where}: mmm does not keep its runs in {scheme if scheme == 'a folder' else repr(scheme)}; {how}")
    if scheme in ("http", "https") and not _is_server_address(uri):
        raise MMMError(f"{where}: not a server address (a host, and a port that is a number); {how}")
    db = sqlite_file(uri)
    if db is not None and (db.is_dir() or (db.is_file() and not _holds_sqlite(db))):
        raise MMMError(f"{where}: {db} is not an SQLite database; name a new file (mmm creates it) or an existing mlruns.db")
    return uri


def sqlite_file(uri: str) -> Path | None:
    """The database file an embedded store's address (sqlite:///path) names; None for any other store."""
    return Path(uri.removeprefix("sqlite:///")) if uri.startswith("sqlite:///") else None


def missing_database(uri: str) -> Path | None:
    """The SQLite file an embedded store's address names, when it does not exist yet (reading it would create it)."""
    db = sqlite_file(uri)
    return None if db is None or db.is_file() else db


def _is_server_address(uri: str) -> bool:
    """Whether an http(s) address names a host, and a numeric port if any."""
    try:
        parts = urlsplit(uri)
        return bool(parts.hostname) and (parts.port is None or parts.port > 0)
    except ValueError:  # a port that is not a number
        return False


def _holds_sqlite(path: Path) -> bool:
    """Whether the file is an SQLite database, or empty (SQLite makes it one)."""
    with path.open("rb") as fh:
        head = fh.read(len(SQLITE_HEADER))
    return not head or head == SQLITE_HEADER


@contextmanager
def store_lock(uri: str) -> Iterator[None]:
    """Hold the embedded SQLite store's write lock (across processes on this machine); a no-op for a server.

    Re-entrant within a thread, so a locked step may call another that locks.
    """
    db = sqlite_file(uri)
    if db is None:
        yield
        return
    import fcntl

    with _in_process:
        if db in _held:
            yield
            return
        db.parent.mkdir(parents=True, exist_ok=True)
        with open(db.with_name(db.name + ".lock"), "w") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            _held.add(db)
            try:
                yield
            finally:
                _held.discard(db)
                fcntl.flock(fh, fcntl.LOCK_UN)


@contextmanager
def entered_and_left_locked(uri: str, context: AbstractContextManager[T]) -> Iterator[T]:
    """Enter and leave `context` (an MLflow run: starting and ending it write to the store) under `store_lock(uri)`.

    The block inside runs unlocked, so long work (sampling) goes on in parallel with other processes.
    """
    with store_lock(uri):
        value = context.__enter__()
    try:
        yield value
    except BaseException as exc:
        with store_lock(uri):
            if not context.__exit__(type(exc), exc, exc.__traceback__):
                raise
    else:
        with store_lock(uri):
            context.__exit__(None, None, None)


def note_failure(run_id: str, uri: str, message: str) -> None:
    """Tag a FAILED run with why it failed (`mmm.error`), so the MLflow UI says it; best effort."""
    import mlflow

    # a store that refused or went away: the caller's own output still says why
    with store_lock(uri), suppress(Exception):
        mlflow.MlflowClient(tracking_uri=uri).set_tag(run_id, "mmm.error", message[:4000])


def end_abandoned(run_id: str, uri: str, message: str) -> None:
    """End a run its fit could not close (the store was gone) as FAILED, tagged with why; best effort, like note_failure."""
    import mlflow

    with store_lock(uri), suppress(Exception):
        client = mlflow.MlflowClient(tracking_uri=uri)
        if client.get_run(run_id).info.status == "RUNNING":
            client.set_terminated(run_id, "FAILED")
    note_failure(run_id, uri, message)
