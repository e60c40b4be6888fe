"""Errors a user can fix. The CLI turns each into a message and exit status 2, never a traceback."""

from __future__ import annotations


class MMMError(Exception):
    """Bad input or a request the engine cannot meet; the message says what to fix."""

    exit_code = 2


class ConfigError(MMMError):
    """The YAML config is missing, malformed or holds an invalid key or value."""


class DataError(MMMError):
    """The data file breaks a rule; the message names file, column and rows."""


class RunNotFoundError(MMMError):
    """A tracked run cannot be loaded (unknown, not an mmm fit, failed or corrupt)."""
