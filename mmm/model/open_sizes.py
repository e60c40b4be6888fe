"""The model's log density, its gradient and its kept values as functions whose parameter sizes stay open.

nutpie lays the sampled parameters out in one flat vector and cuts it at fixed offsets, so the
number of channels and of controls is frozen into the compiled code: adding a control to a model
compiled it again (15-20 s). Here the cuts are computed in the graph from the open dimensions'
lengths, which reach the compiled code at run time with the data, so one compiled model serves
any number of channels and controls. This holds when every sampled parameter has the shape of its
named dimensions (transforms that keep the shape: log, log-odds, interval), as mmm's parameters all
do; otherwise `open_shapes` says None and nutpie compiles the model its own way, each time.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from math import prod
from typing import Any

import numpy as np
import pymc as pm


@dataclass(frozen=True)
class Shapes:
    """Where each value sits in a draw, for one model's sizes: `names` (the sampled parameters on their
    unconstrained scale, then the kept values), their `shapes` and how many of them are `sampled`."""

    names: list[str]
    shapes: list[tuple[int, ...]]
    sampled: int

    @property
    def slices(self) -> list[tuple[int, int]]:
        """Each value's (start, stop) in the flat draw."""
        stops = np.cumsum([prod(shape) for shape in self.shapes]).tolist()
        return list(zip([0, *stops[:-1]], stops, strict=True))

    @property
    def n_dim(self) -> int:
        """Sampled numbers per draw."""
        return self.slices[self.sampled - 1][1] if self.sampled else 0

    @property
    def n_expanded(self) -> int:
        """Numbers kept per draw (the sampled ones first)."""
        return self.slices[-1][1] if self.names else 0


def open_shapes(model: pm.Model, var_names: list[str], start_point: Callable[[int], dict[str, np.ndarray]]) -> Shapes | None:
    """The values of a draw and their shapes now, when every one has the shape of its named dimensions; else None.

    `start_point` gives the sampled parameters' starting values (unconstrained), whose shapes are checked.
    """
    start = start_point(0)
    sampled = [model.rvs_to_values[rv].name for rv in model.free_RVs]
    wanted = set(var_names) - set(sampled)
    kept = [var.name for var in model.unobserved_value_vars if var.name in wanted]
    shapes = []
    for rv, value in zip(model.free_RVs, sampled, strict=True):
        shape = _named_shape(model, rv.name, rv)
        if shape is None or np.shape(start[value]) != shape:
            return None
        shapes.append(shape)
    for name in kept:
        shape = _named_shape(model, name, model.named_vars[name])
        if shape is None:
            return None
        shapes.append(shape)
    return Shapes([*sampled, *kept], shapes, len(sampled))


def _named_shape(model: pm.Model, name: str, var: Any) -> tuple[int, ...] | None:
    dims = model.named_vars_to_dims.get(name)
    if dims:
        return tuple(len(model.coords[dim]) for dim in dims) if len(dims) == var.type.ndim else None
    static = var.type.shape
    return None if None in static else tuple(int(s) for s in static)


def open_functions(model: pm.Model, kept: list[str], linked: bool = True) -> tuple[Any, Any]:
    """PyTensor functions (numba) of one flat vector of sampled parameters, of any length: (log density, gradient)
    and the vector with the `kept` values after it; the named dimensions' lengths are read from the model's data.

    `linked=False` gives the same rewritten graphs, run by Python instead of compiled by numba (for a
    caller that compiles them its own way: mmm.model.native), which saves numba's preparation of each.
    """
    import pytensor
    import pytensor.tensor as pt
    from pymc.pytensorf import compile as compile_pymc
    from pytensor.compile.mode import Mode, get_mode

    logp = model.logp()
    rewrites = ["canonicalize", "stabilize"]
    if not model.check_bounds:
        rewrites.append("local_remove_check_parameter")
    logp = pytensor.graph.rewrite_graph(logp, include=rewrites)
    values = [model.rvs_to_values[rv] for rv in model.free_RVs]
    grad = pt.concatenate([pt.as_tensor(g).ravel() for g in pytensor.gradient.grad(logp, values)])

    point = pt.dvector("_unconstrained_point")
    start: Any = 0
    cut = {}
    for rv, value in zip(model.free_RVs, values, strict=True):
        shape = _symbolic_shape(model, rv.name, rv)
        size = prod(shape) if all(isinstance(s, int) for s in shape) else pt.prod(pt.stack([pt.as_tensor(s) for s in shape]))
        cut[value] = point[start : start + size].reshape(shape).astype(rv.dtype)
        start = start + size
    named = {var.name: var for var in model.unobserved_value_vars}
    logp, grad, *values_kept = pytensor.clone_replace([logp, grad, *[named[name] for name in kept]], cut)
    expanded = pt.concatenate([point, *[pt.as_tensor(value).ravel() for value in values_kept]])
    mode = "NUMBA" if linked else Mode(linker="py", optimizer=get_mode("NUMBA").provided_optimizer)
    with model, pytensor.config.change_flags(cxx="" if not linked else pytensor.config.cxx):
        logp_fn = compile_pymc((point,), (logp, grad), mode=mode)
        expand_fn = compile_pymc((point,), [expanded], mode=mode)
    return logp_fn, expand_fn


def _symbolic_shape(model: pm.Model, name: str, var: Any) -> tuple[Any, ...]:
    """A value's shape in the graph: an open dimension by its length (data), a frozen one as a number."""
    from pytensor.graph.basic import Constant

    dims = model.named_vars_to_dims.get(name)
    if not dims:
        return tuple(int(s) for s in var.type.shape)
    lengths = [model.dim_lengths[dim] for dim in dims]
    return tuple(int(length.data) if isinstance(length, Constant) else length.astype("int64") for length in lengths)
