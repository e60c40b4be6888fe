"""Fixtures shared by every test module."""

from __future__ import annotations

import os

import pytest
from helpers import MLFLOW_ENV, start_auth_server

from mmm.cli import collect_rarely

# the suite's `mmm` processes leave no warm server behind (tests/test_warm.py turns it on where it checks it)
os.environ["MMM_WARM"] = "off"
# the collector as the `mmm` command sets it: the suite's processes load the same libraries and fit in-process
collect_rarely()


@pytest.fixture
def isolated(workdir, tmp_path, monkeypatch):
    """A per-test working directory (tmp_path) without MLflow environment settings."""
    monkeypatch.chdir(tmp_path)
    for key in MLFLOW_ENV:
        monkeypatch.delenv(key, raising=False)
    return tmp_path


@pytest.fixture(scope="module")
def auth_server(tmp_path_factory):
    """A real MLflow basic-auth server for the module (see helpers.start_auth_server); skips without Flask-WTF."""
    yield from start_auth_server(tmp_path_factory)
