"""Errors a user can fix. The CLI turns each into a message and exit status 2, never a traceback.

Library errors speak Python: an `ArgumentError` names the function argument or config key at
fault; the CLI renames it to the flag the user typed (`holdout` -> `--holdout`).
"""

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


class ArgumentError(MMMError):
    """An argument of a library call is out of range or does not fit the model.

    `argument` is the Python name (e.g. 'holdout', 'budget'); `problem` completes the
    sentence after it. `str()` names the argument; `render(name)` names it as the caller knows it.
    """

    def __init__(self, argument: str, problem: str):
        self.argument = argument
        self.problem = problem
        super().__init__(self.render(argument))

    def render(self, name: str) -> str:
        """The message with the argument called `name` (a CLI flag, say)."""
        return self.problem.replace("{arg}", name) if "{arg}" in self.problem else f"{name} {self.problem}"


class ModelHealthError(MMMError):
    """The model failed its health review: it is not fit to advise a plan."""
