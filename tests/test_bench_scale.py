"""scripts/bench_scale: its options, scoring and table work without fitting anything (the fits are the benchmark's)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "bench_scale.py"
spec = importlib.util.spec_from_file_location("bench_scale", SCRIPT)
assert spec is not None and spec.loader is not None
bench = importlib.util.module_from_spec(spec)
sys.modules["bench_scale"] = bench  # its dataclasses look their module up there
spec.loader.exec_module(bench)


def test_shapes_parse_to_regions_weeks_channels():
    args = bench.parse_args(["--shapes", "national,20x104x5", "--draws", "300", "--skip-peer"])
    assert [(s.geos, s.weeks, s.channels) for s in args.shape_list] == [(1, 104, 6), (20, 104, 5)]
    assert args.skip_peer and args.draws == "300" and args.backend == "nutpie"
    default = bench.parse_args([])
    assert [s.label for s in default.shape_list] == ["national", "20x104x5", "40x156x5"]


def test_a_bad_shape_or_draws_stops_with_a_message():
    with pytest.raises(SystemExit, match="not a shape"):
        bench.parse_args(["--shapes", "big"])
    with pytest.raises(SystemExit):
        bench.parse_args(["--draws", "many"])


def test_score_is_the_mean_absolute_percentage_error_and_the_share_covered():
    est = {"a": {"mean": 2.2, "low": 1.5, "high": 3.0}, "b": {"mean": 0.5, "low": 0.6, "high": 0.9}}
    error, coverage = bench.score(est, {"a": 2.0, "b": 1.0})
    assert error == pytest.approx((0.1 + 0.5) / 2)
    assert coverage == pytest.approx(0.5)


def test_regional_truth_is_keyed_like_the_fit():
    truth = {"channels": {"tv": {"roas": 1.2}}, "geos": {"north": {"channels": {"tv": {"roas": 1.5}}}}}
    assert bench.true_roas(truth) == ({"tv": 1.2}, {"north/tv": 1.5})
    assert bench.true_roas({"channels": {"tv": {"roas": 1.2}}})[1] == {}


def test_table_prints_every_row_and_a_dash_where_a_figure_does_not_apply():
    row = {"shape": "national", "tool": "mmm", "wall_seconds": 61.25, "compile_seconds": 9.0, "roas_error": 0.123, "coverage": 1.0}
    text = bench.table([row, {**row, "tool": "Meridian 2.1.0", "compile_seconds": None}])
    lines = text.splitlines()
    assert lines[0].startswith("shape") and "peak GiB" in lines[0] and "ROAS error" in lines[0]
    assert "61.2" in lines[2] and "12.3%" in lines[2] and "100%" in lines[2]
    assert lines[3].split()[:3] == ["national", "Meridian", "2.1.0"] and " - " in lines[3]
