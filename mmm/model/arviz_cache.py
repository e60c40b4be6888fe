"""ArviZ's numba ufunc, compiled once and then loaded from numba's cache.

ArviZ declares one numba ufunc with its signature (`arviz.stats.ecdf_utils._binom_pmf`), which
numba compiles while the module is imported, without caching it: 0.6-0.9 s of every process that
fits, before the fit can start. Imported through `CachedUfuncs`, the module's `vectorize` caches
what it compiles (where numba keeps its cache: beside the module, or `NUMBA_CACHE_DIR`), and later
imports load it in about 0.1 s. The module's code and results are ArviZ's own.
"""

from __future__ import annotations

import functools
import importlib.abc
import importlib.machinery
from collections.abc import Sequence
from types import ModuleType
from typing import Any

UFUNC_MODULE = "arviz.stats.ecdf_utils"


class CachedUfuncs(importlib.abc.MetaPathFinder):
    """Finds ArviZ's ufunc module as Python would, to be run with numba's `vectorize` caching; no other module."""

    def find_spec(self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None) -> Any:
        if fullname != UFUNC_MODULE:
            return None
        spec = importlib.machinery.PathFinder.find_spec(fullname, path, target)
        if spec is not None and spec.loader is not None:
            spec.loader = _CachingLoader(spec.loader)
        return spec


class _CachingLoader(importlib.abc.Loader):
    """Runs a module with `numba.vectorize` caching what it compiles; anything else is the module's own loader's."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType | None:
        return self.inner.create_module(spec)

    def exec_module(self, module: ModuleType) -> None:
        import numba

        plain = numba.vectorize
        numba.vectorize = functools.partial(plain, cache=True)
        try:
            self.inner.exec_module(module)
        except RuntimeError:  # numba found no folder to cache in: compiled as ArviZ does
            numba.vectorize = plain
            self.inner.exec_module(module)
        finally:
            numba.vectorize = plain

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def install() -> None:
    """Import ArviZ's ufunc module through `CachedUfuncs` from now on (once per process)."""
    import sys

    if not any(isinstance(finder, CachedUfuncs) for finder in sys.meta_path):
        sys.meta_path.insert(0, CachedUfuncs())
