"""Fixtures shared by every test module."""

from __future__ import annotations

import os

import pytest
from helpers import MLFLOW_ENV, start_auth_server

# the suite's `mmm` processes leave no warm server behind (tests/test_warm.py turns it on where it checks it)
os.environ["MMM_WARM"] = "off"


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
