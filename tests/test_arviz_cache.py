"""ArviZ's numba ufunc is compiled once and then loaded from numba's cache (mmm.model.arviz_cache): a faster start of every fit."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from helpers import clean_env

# imports the model stage as a fit does; prints whether numba's vectorize is its own again and what ArviZ's ufunc gives
IMPORT = """
import numba, numba.np.ufunc.decorators
import mmm.model.estimator
from arviz.stats.ecdf_utils import _binom_pmf
print(numba.vectorize is numba.np.ufunc.decorators.vectorize, repr(float(_binom_pmf(2, 5, 0.3, 0))))
"""


def _import_model_stage(cache: Path) -> str:
    env = {**clean_env(), "NUMBA_CACHE_DIR": str(cache)}
    proc = subprocess.run([sys.executable, "-c", IMPORT], env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout.split()


def _cached(cache: Path) -> dict[str, float]:
    return {str(p.relative_to(cache)): p.stat().st_mtime for p in cache.rglob("*_binom_pmf*")}


def test_arvizs_ufunc_is_compiled_into_the_cache_once_and_then_loaded(tmp_path):
    from scipy.stats import binom

    restored, value = _import_model_stage(tmp_path)
    assert restored == "True"  # numba's own vectorize again: only ArviZ's module compiled with the cache
    assert float(value) == pytest.approx(binom.pmf(2, 5, 0.3), rel=1e-12)
    first = _cached(tmp_path)
    assert any(name.endswith(".nbi") for name in first) and any(name.endswith(".nbc") for name in first)
    assert _import_model_stage(tmp_path) == [restored, value]
    assert _cached(tmp_path) == first  # loaded, not compiled and written again
