"""The caller's tracking-server credentials, carried in memory to the processes that fit for them.

`mmm batch` fits on Ray workers, which do not share the caller's environment (a cluster node
was started by someone else, long before). The credentials MLflow reads from the environment or
`~/.mlflow/credentials` are gathered on the caller's machine, handed to each fit as a task
argument (in memory, never a file or Ray's `runtime_env`, which Ray records) and set in the
worker's environment only while that fit runs. They print as `***`.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

from mmm.tracking.access import redact

# How MLflow's client finds and authenticates to a server; the secrets among them are never shown.
SETTINGS = (
    "MLFLOW_TRACKING_USERNAME",
    "MLFLOW_TRACKING_PASSWORD",
    "MLFLOW_TRACKING_TOKEN",
    "MLFLOW_TRACKING_AUTH",
    "MLFLOW_TRACKING_AWS_SIGV4",
    "MLFLOW_TRACKING_INSECURE_TLS",
    "MLFLOW_TRACKING_SERVER_CERT_PATH",
    "MLFLOW_TRACKING_CLIENT_CERT_PATH",
)
SECRETS = ("MLFLOW_TRACKING_PASSWORD", "MLFLOW_TRACKING_TOKEN")


class Credentials:
    """Tracking settings and secrets of the caller (environment variable -> value), printed masked."""

    def __init__(self, values: dict[str, str]):
        self._values = {k: v for k, v in values.items() if k in SETTINGS and v}

    @classmethod
    def of_caller(cls) -> Credentials:
        """What this process's MLflow client would use: the environment, else `~/.mlflow/credentials`."""
        from mlflow.utils.credentials import read_mlflow_creds

        values = {k: os.environ.get(k, "") for k in SETTINGS}
        found = read_mlflow_creds()  # the environment first, then the credentials file
        values["MLFLOW_TRACKING_USERNAME"] = found.username or ""
        values["MLFLOW_TRACKING_PASSWORD"] = found.password or ""
        return cls(values)

    def __repr__(self) -> str:
        shown = ", ".join(f"{k}=***" if k in SECRETS else f"{k}={v}" for k, v in sorted(self._values.items()))
        return f"Credentials({shown})"

    __str__ = __repr__

    @property
    def username(self) -> str | None:
        return self._values.get("MLFLOW_TRACKING_USERNAME")

    @contextmanager
    def applied(self) -> Iterator[None]:
        """These settings, and no others of the kind, in this process's environment for the block; restored after."""
        saved = {k: os.environ.get(k) for k in (*SETTINGS, "MLFLOW_TRACKING_URI")}
        for key in SETTINGS:
            if key in self._values:
                os.environ[key] = self._values[key]
            else:
                os.environ.pop(key, None)
        try:
            yield
        finally:
            for key, value in saved.items():  # MLflow also exports the tracking URI it was given
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value

    def scrub(self, text: str) -> str:
        """`text` with every password in an address and every secret value replaced by ***."""
        text = redact(text)
        for key in SECRETS:
            if self._values.get(key):
                text = text.replace(self._values[key], "***")
        return text
