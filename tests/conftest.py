"""Fixtures shared by every test module."""

from __future__ import annotations

import pytest
from helpers import MLFLOW_ENV


@pytest.fixture
def isolated(workdir, tmp_path, monkeypatch):
    """A per-test working directory (tmp_path) without MLflow environment settings."""
    monkeypatch.chdir(tmp_path)
    for key in MLFLOW_ENV:
        monkeypatch.delenv(key, raising=False)
    return tmp_path
