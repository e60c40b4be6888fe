"""mmm: a Bayesian marketing-mix model and budget optimiser for planners."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("mmm")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0+local"
