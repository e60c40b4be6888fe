"""The sampler's raw trace is read as nutpie itself would read it: warm-up dropped, shapes, dims and coords kept."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from arro3.core import RecordBatch
from nutpie.sample import _arrow_to_arviz

from mmm.model.trace import ArrowTrace

WARMUP = [3, 3, 3]
ROWS = [8, 6, 7]  # chains at different points: 5, 3 and 4 posterior draws
CHANNELS = ["search", "tv"]


def _list_column(values: np.ndarray) -> pa.Array:
    return pa.array([list(v) for v in values], type=pa.large_list(pa.field("item", pa.float64(), nullable=False)))


def _chain(rows: int, warmup: int, seed: int) -> tuple[pa.RecordBatch, pa.RecordBatch]:
    rng = np.random.default_rng(seed)
    roas, sigma = rng.normal(size=(rows, 2)), rng.normal(size=rows)
    draws = pa.record_batch(
        [_list_column(roas), pa.array(sigma)],
        schema=pa.schema(
            [
                pa.field("roas", pa.large_list(pa.field("item", pa.float64(), nullable=False)), metadata={"shape": "2", "dims": "channel"}),
                pa.field("sigma", pa.float64()),
            ]
        ),
    )
    stats = pa.record_batch(
        {
            "tuning": pa.array([i < warmup for i in range(rows)]),
            "diverging": pa.array(rng.random(rows) < 0.3),
            "step_size": pa.array(rng.random(rows)),
            "gradient": _list_column(rng.normal(size=(rows, 3))),
        }
    )
    return draws, stats


class Raw:
    """What nutpie's raw trace gives: arro3 record batches, one per chain."""

    def __init__(self) -> None:
        chains = [_chain(r, w, seed) for seed, (r, w) in enumerate(zip(ROWS, WARMUP, strict=True))]
        self.draws = [RecordBatch.from_arrow(d) for d, _ in chains]
        self.stats = [RecordBatch.from_arrow(s) for _, s in chains]

    def get_arrow_trace(self) -> tuple[list[RecordBatch], list[RecordBatch]]:
        return self.draws, self.stats


@pytest.fixture
def trace() -> ArrowTrace:
    return ArrowTrace(Raw(), {"channel": pd.Index(CHANNELS)})


def test_draws_every_chain_finished_after_warm_up(trace):
    assert trace.complete_draws() == 3


def test_posterior_draws_are_the_rows_after_warm_up(trace):
    raw = Raw()
    got = trace.posterior(["roas", "sigma"], 2)
    assert got["roas"].shape == (3, 2, 2) and got["sigma"].shape == (3, 2)
    for chain, batch in enumerate(raw.draws):
        arrow = pa.record_batch(batch)
        np.testing.assert_array_equal(got["sigma"][chain], arrow.column("sigma").to_numpy()[3:5])
        np.testing.assert_array_equal(got["roas"][chain], np.array(arrow.column("roas").to_pylist())[3:5])


def test_inference_data_matches_nutpies_own_reading(trace):
    raw = Raw()
    theirs = _arrow_to_arviz(raw.draws, raw.stats, skip_vars=["gradient"], coords={"channel": pd.Index(CHANNELS)})
    ours = trace.to_idata()
    assert ours.posterior.sizes["draw"] == 3
    head = theirs.posterior.isel(draw=slice(0, 3))
    for name in ("roas", "sigma"):
        assert ours.posterior[name].dims == head[name].dims
        np.testing.assert_array_equal(ours.posterior[name].values, head[name].values)
    assert list(ours.posterior["channel"].values) == CHANNELS
    np.testing.assert_array_equal(ours.sample_stats["diverging"].values, theirs.sample_stats["diverging"].isel(draw=slice(0, 3)).values)
    assert "gradient" not in ours.sample_stats
