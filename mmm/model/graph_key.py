"""A fingerprint of a PyMC model's graph that is the same in every process.

It covers every operation (by class and the settings that define it), how they connect, every
variable's type and name, and every constant's values (frozen data and priors), so two models
share a fingerprint only when they compute the same thing from their inputs. Data left as inputs
(pm.Data not frozen) count by type and name only: their values reach the compiled code at run
time. Anything it cannot describe the same way twice (a closure, an object known only by its
address) gives no fingerprint at all.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial
from hashlib import sha256
from types import ModuleType
from typing import Any

import numpy as np
import pymc as pm

MAX_DEPTH = 24  # how deep settings nest before the fingerprint gives up (a cycle never ends)


class UnfingerprintableError(Exception):
    """A part of the graph has no description that is the same in every process."""


def model_key(model: pm.Model, context: str) -> str | None:
    """Hex fingerprint of `model`'s graph together with `context` (what else decides the compiled code); None if it has none."""
    from pymc.model.fgraph import fgraph_from_model

    fgraph, _ = fgraph_from_model(model)
    digest = sha256(context.encode())
    labels: dict[Any, str] = {}

    def label(var: Any) -> str:
        if var not in labels:
            labels[var] = f"v{len(labels)}"
            if var.owner is None:
                digest.update(f"{labels[var]}={_root(var)};".encode())
        return labels[var]

    try:
        for node in fgraph.toposort():
            inputs = ",".join(label(var) for var in node.inputs)
            outputs = ",".join(f"{label(var)}:{var.type}:{var.name}" for var in node.outputs)
            digest.update(f"{_describe(node.op, 0)}({inputs})->{outputs};".encode())
        digest.update(",".join(f"{label(var)}:{var.name}" for var in fgraph.outputs).encode())
    except UnfingerprintableError:
        return None
    return digest.hexdigest()


def _root(var: Any) -> str:
    """A variable no operation computes: a constant by its values, anything else (data left as inputs, a parameter's value, a random generator) by type and name."""
    from pytensor.graph.basic import Constant

    kind = type(var).__name__
    if not isinstance(var, Constant):
        return f"{kind}:{var.type}:{var.name}"
    if isinstance(var.data, np.ndarray | np.generic):
        return f"{kind}:{var.type}:{var.name}:{_array(np.asarray(var.data))}"
    return f"{kind}:{var.type}:{var.name}:{_describe(var.data, 0)}"


def _array(value: np.ndarray) -> str:
    return f"{value.dtype}{value.shape}{sha256(np.ascontiguousarray(value).tobytes()).hexdigest()}"


def _describe(obj: Any, depth: int) -> str:
    """The same text in every process for the same setting; UnfingerprintableError when there is none."""
    if depth > MAX_DEPTH:
        raise UnfingerprintableError(type(obj).__qualname__)
    if obj is None or isinstance(obj, bool | int | float | str | bytes | np.dtype | np.generic):
        return repr(obj)
    if isinstance(obj, np.ndarray):
        return _array(obj)
    if isinstance(obj, partial):
        return f"partial{_describe([obj.func, obj.args, obj.keywords], depth + 1)}"
    if isinstance(obj, type) or (callable(obj) and hasattr(obj, "__qualname__") and not hasattr(obj, "__props__")):
        if "<locals>" in obj.__qualname__ or "<lambda>" in obj.__qualname__:
            raise UnfingerprintableError(obj.__qualname__)
        owner = getattr(obj, "__self__", None)  # a bound method: what it does depends on its object too
        bound = "" if owner is None or isinstance(owner, ModuleType) else f"@{_describe(owner, depth + 1)}"
        return f"{obj.__module__}.{obj.__qualname__}{bound}"
    if isinstance(obj, tuple | list):
        return "[" + ",".join(_describe(item, depth + 1) for item in obj) + "]"
    if isinstance(obj, Mapping):
        return "{" + ",".join(sorted(f"{_describe(k, depth + 1)}:{_describe(v, depth + 1)}" for k, v in obj.items())) + "}"
    name = f"{type(obj).__module__}.{type(obj).__qualname__}"
    props = getattr(obj, "__props__", None)
    state = {p: getattr(obj, p) for p in props} if props is not None else getattr(obj, "__dict__", None)
    if state is None:
        raise UnfingerprintableError(name)
    return f"{name}{_describe(state, depth + 1)}"
