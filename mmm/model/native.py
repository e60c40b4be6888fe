"""A model's log density and gradient as one C function, compiled in about a second on a first fit.

PyTensor's numba backend compiles every node of the graph, and every scalar operation inside a
fused node, as a numba function of its own: a small model's log density and gradient are about
400 of them, and numba's fixed cost per function made a model's first fit spend 35-45 s
compiling (written as a single numba function instead, numba still takes 17 s). Here the graph
PyTensor built (after its rewrites and differentiation) is written out node by node as the body
of one C function with nutpie's callback signature: elementwise nodes as loops over their
broadcast shape with their scalar formula inline, reductions as loops, reshuffles and slices as
views. The C compiler takes about a second; the library is kept in the compile cache under a hash
of its source, so later fits load it in milliseconds. A graph with an operation not written here,
or a machine without a C compiler, gives None, and the model compiles with numba as before.
"""

from __future__ import annotations

import ctypes
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from hashlib import sha256
from pathlib import Path
from typing import Any

from mmm.model.native_code import PRELUDE, Array, Scalar, UnsupportedError, Writer, ctype_of
from mmm.model.native_nodes import write_node

__all__ = ["EXPAND", "LOGP", "NativeFunction", "UnsupportedError", "build", "function_source", "library_path", "library_source", "load"]

# part of the cache keys (the library's, and the model's layout, which says whether C or numba compiled it):
# change it when the code written changes or more operations are written, so a model numba compiled is written in C
SOURCE_VERSION = "mmm native 2"
# -O3 vectorises the elementwise loops: a gradient 40 -> 28 us for a 0.6 s longer first compile; no fast-math, so the
# sums keep their order and the draws their bits
CFLAGS = ["-O3", "-std=c99", "-fPIC", "-shared", "-fno-fast-math"]
LOGP, EXPAND = "mmm_logp", "mmm_expand"


def function_source(fgraph: Any, data_offsets: list[int], kind: str) -> str:
    """C source of nutpie's callback `kind` (LOGP or EXPAND) computing `fgraph`, whose first input is the flat
    draw and the others the model's data, read from nutpie's user-data table at `data_offsets` (the address,
    then the lengths). Raises UnsupportedError for an operation or a type not written here."""
    writer = Writer(prefix=kind)
    point, *data = fgraph.inputs
    writer.values[point] = Array("x", "double", ["(int64_t)dim"], ["1"])
    for var, at in zip(data, data_offsets, strict=True):
        ctype = ctype_of(var.type.dtype)
        pointer = f"((const {ctype}*)(uintptr_t)table[{at}])"
        if var.type.ndim == 0:
            writer.values[var] = Scalar(f"{pointer}[0]", ctype)
            continue
        shape = [f"(int64_t)table[{at + 1 + k}]" for k in range(var.type.ndim)]
        writer.values[var] = Array.c_ordered(pointer, ctype, shape)
    for node in fgraph.toposort():
        write_node(writer, node)
    outputs = [writer.value(o) for o in fgraph.outputs]
    if kind == LOGP:
        logp, grad = outputs
        if not isinstance(logp, Scalar) or not isinstance(grad, Array):
            raise UnsupportedError("log density and gradient of unexpected shapes")
        head = f"int64_t {LOGP}(uint64_t dim, const double* x, double* out, double* logp, const uint64_t* table) {{"
        tail = [
            f"    if ({grad.shape[0]} != (int64_t)dim) {{ rc = 1; goto done; }}",
            f"    for (int64_t j = 0; j < (int64_t)dim; j++) out[j] = {grad.at(['j'])};",
            f"    *logp = {logp.expr};",
            "    for (int64_t j = 0; j < (int64_t)dim; j++) if (!isfinite(out[j])) { rc = 3; goto done; }",
            "    if (!isfinite(*logp)) { rc = 4; goto done; }",
        ]
        check = "    if (dim != table[0]) return -1;"
    else:
        (values,) = outputs
        if not isinstance(values, Array):
            raise UnsupportedError("kept values of unexpected shape")
        head = f"int64_t {EXPAND}(uint64_t dim, uint64_t expanded, const double* x, double* out, const uint64_t* table) {{"
        tail = [f"    for (int64_t j = 0; j < (int64_t)expanded; j++) out[j] = {values.at(['j'])};"]
        check = "    if (dim != table[0] || expanded != table[1]) return -1;"
    body = [
        head,
        check,
        f"    int64_t rc = 0; int n_allocs = 0; void* allocs[{max(writer.allocs, 1)}];",
        *writer.lines,
        *tail,
        "done:",
        "    while (n_allocs > 0) free(allocs[--n_allocs]);",
        "    return rc == 1 ? -2 : rc;" if kind == EXPAND else "    return rc;",  # nutpie's code for a failed expansion
        "}",
    ]
    return "\n".join([*writer.statics, *body, ""])


def library_source(functions: list[str]) -> str:
    """The C source of a library holding the `functions` (from `function_source`)."""
    return "\n".join([PRELUDE, *functions])


@dataclass(frozen=True)
class NativeFunction:
    """A compiled callback: nutpie reads its `address`; the library stays loaded while this object lives."""

    library: Any
    address: int


def compiler() -> str | None:
    """The C compiler to use ($CC, else cc or gcc on the PATH), or None."""
    return os.environ.get("CC") or shutil.which("cc") or shutil.which("gcc")


def library_path(cache: Path, source: str) -> Path:
    """Where the library compiled from `source` is kept: named by a hash of the source and the compiler's flags."""
    digest = sha256("|".join([SOURCE_VERSION, *CFLAGS, source]).encode()).hexdigest()
    return cache / f"{digest}.so"


def build(source: str, target: Path) -> bool:
    """Compile `source` into the shared library `target` (written atomically: another process may load it at the
    same time); False when it cannot be compiled or written (no compiler, a compiler error, a read-only cache)."""
    cc = compiler()
    if cc is None:
        return False
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=target.parent) as tmp:
            c_file, partial = Path(tmp) / "model.c", Path(tmp) / "model.so"
            c_file.write_text(source)
            done = subprocess.run([cc, *CFLAGS, "-o", str(partial), str(c_file), "-lm"], capture_output=True, text=True)
            if done.returncode != 0:
                return False
            partial.replace(target)
    except OSError:
        return False
    return True


def load(path: Path, name: str) -> NativeFunction | None:
    """The callback `name` of the library at `path`, or None when there is none."""
    try:
        library = ctypes.CDLL(str(path))
        return NativeFunction(library, ctypes.cast(getattr(library, name), ctypes.c_void_p).value or 0)
    except (OSError, AttributeError):
        return None
