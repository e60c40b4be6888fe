"""The sampler's draws while it runs: nutpie's raw trace read cheaply, and as ArviZ InferenceData at the end.

nutpie keeps each chain's draws as an Arrow record batch (warm-up rows first). Counting them costs
milliseconds; nutpie's own `inspect()` converts every draw to InferenceData (half a second and
more while the chains compete for the cores), which made polling for convergence cost more than
the sampling itself.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

import arviz as az
import numpy as np


class Trace(Protocol):
    """Draws so far, per chain."""

    def complete_draws(self) -> int:
        """Posterior draws (after warm-up) every chain has finished."""

    def posterior(self, names: list[str], draws: int) -> dict[str, np.ndarray]:
        """The first `draws` posterior draws of each named parameter, shaped (chain, draw, *shape)."""

    def to_idata(self, draws: int | None = None) -> az.InferenceData:
        """The first `draws` posterior draws of every chain (None: those every chain finished) as InferenceData."""


class ArrowTrace:
    """nutpie's raw trace (`return_raw_trace=True`): one draws batch and one statistics batch per chain."""

    def __init__(self, raw: Any, coords: Mapping[str, Any]):
        import pyarrow as pa

        draw_batches, stat_batches = raw.get_arrow_trace()
        self._draws = [pa.record_batch(b) for b in draw_batches]
        self._stats = [pa.record_batch(b) for b in stat_batches]
        self._warmup = [int(s.column("tuning").to_numpy(zero_copy_only=False).sum()) for s in self._stats]
        self._coords = coords

    def complete_draws(self) -> int:
        return min((b.num_rows - w for b, w in zip(self._draws, self._warmup, strict=True)), default=0)

    def posterior(self, names: list[str], draws: int) -> dict[str, np.ndarray]:
        return {name: self._stacked(self._draws, name, draws) for name in names}

    def to_idata(self, draws: int | None = None) -> az.InferenceData:
        n = self.complete_draws() if draws is None else draws
        first_draws, first_stats = self._draws[0], self._stats[0]
        posterior = {name: self._stacked(self._draws, name, n) for name in first_draws.schema.names}
        # per-draw vectors (gradients, mass matrix) are only filled when asked for; the scalars are what ArviZ reads
        scalars = [f.name for f in first_stats.schema if not _is_list(f.type)]
        stats = {name: self._stacked(self._stats, name, n) for name in scalars}
        dims = {f.name: f.metadata[b"dims"].decode().split(",") for f in first_draws.schema if f.metadata and b"dims" in f.metadata}
        coords = {d: self._coords[d] for names in dims.values() for d in names if d in self._coords}
        return az.from_dict(posterior=posterior, sample_stats=stats, dims=dims, coords=coords)

    def _stacked(self, batches: list[Any], name: str, draws: int) -> np.ndarray:
        """(chain, draw, *shape) array of a column's first `draws` rows after warm-up."""
        field = batches[0].schema.field(name)
        shape = [int(s) for s in field.metadata[b"shape"].decode().split(",")] if field.metadata and b"shape" in field.metadata else []
        chains = []
        for batch, warmup in zip(batches, self._warmup, strict=True):
            column = batch.column(name).slice(warmup, draws)
            values = column.flatten() if _is_list(column.type) else column
            chains.append(values.to_numpy(zero_copy_only=False).reshape(draws, *shape))
        return np.stack(chains)


def _is_list(arrow_type: Any) -> bool:
    import pyarrow as pa

    return bool(pa.types.is_list(arrow_type) or pa.types.is_large_list(arrow_type) or pa.types.is_fixed_size_list(arrow_type))
