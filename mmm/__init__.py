"""mmm: a Bayesian marketing-mix model and budget optimiser for planners."""


def __getattr__(name: str) -> str:
    """`__version__`, read from the installed package's metadata on first use (that module is slow to import)."""
    if name != "__version__":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("mmm")
    except PackageNotFoundError:  # running from a source tree that is not installed
        return "0.0.0+local"
