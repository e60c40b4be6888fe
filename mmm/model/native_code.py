"""The pieces of the C code mmm.model.native writes: values (arrays as views with strides, scalars), a writer
that names them, the C of each scalar operation and the helper functions that code calls."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

CTYPES = {
    "float64": "double",
    "float32": "float",
    "int64": "int64_t",
    "int32": "int32_t",
    "int8": "int8_t",
    "uint8": "uint8_t",
    "bool": "uint8_t",
}
FLOATS = ("double", "float")

PRELUDE = r"""
#define _DEFAULT_SOURCE
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define TAKE(ptr, type, count) do { ptr = (type*)malloc(sizeof(type) * ((count) > 0 ? (count) : 1)); \
    if (!ptr) { rc = 1; goto done; } allocs[n_allocs++] = ptr; } while (0)

static double sigmoid(double x) { return 1.0 / (1.0 + exp(-x)); }
static double softplus(double x) {
    if (x < -37.0) return exp(x);
    if (x < 18.0) return log1p(exp(x));
    if (x < 33.3) return x + exp(-x);
    return x;
}
static double log1mexp(double x) { return x < -0.6931471805599453 ? log1p(-exp(x)) : log(-expm1(x)); }
static double lgamma_safe(double x) { int sign; return lgamma_r(x, &sign); }
static int64_t floor_div(int64_t a, int64_t b) { if (b == 0) return 0; int64_t q = a / b; return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q; }
static int64_t floor_mod(int64_t a, int64_t b) { if (b == 0) return 0; int64_t r = a % b; return (r != 0 && ((r < 0) != (b < 0))) ? r + b : r; }
static double max_nan(double a, double b) { return (a != a || b != b) ? NAN : (a > b ? a : b); }
static double min_nan(double a, double b) { return (a != a || b != b) ? NAN : (a < b ? a : b); }
static double digamma(double x) {
    static const double series[] = {1.0 / 12, -691.0 / 32760, 1.0 / 132, -1.0 / 240, 1.0 / 252, -1.0 / 120, 1.0 / 12};
    double result = 0.0, inv2, tail = 0.0;
    if (isnan(x) || x == -INFINITY) return NAN;
    if (x == INFINITY) return INFINITY;
    if (x == 0.0) return -INFINITY;
    if (x < 0.0) {
        if (x == floor(x)) return NAN;
        result = -M_PI / tan(M_PI * (x - round(x)));
        x = 1.0 - x;
    }
    while (x < 10.0) { result -= 1.0 / x; x += 1.0; }
    inv2 = 1.0 / (x * x);
    for (int k = 0; k < 7; k++) tail = tail * inv2 + series[k];
    return result + log(x) - 0.5 / x - tail * inv2;
}
/* Python's slice semantics on a dimension of n: the first position, and the length, stored in *len */
static int64_t slice_start(int64_t n, int has_start, int64_t start, int has_stop, int64_t stop, int64_t step, int64_t* len) {
    if (step > 0) {
        start = has_start ? (start < 0 ? (start + n < 0 ? 0 : start + n) : (start > n ? n : start)) : 0;
        stop = has_stop ? (stop < 0 ? (stop + n < 0 ? 0 : stop + n) : (stop > n ? n : stop)) : n;
        *len = stop > start ? (stop - start + step - 1) / step : 0;
    } else {
        start = has_start ? (start < 0 ? (start + n < 0 ? -1 : start + n) : (start >= n ? n - 1 : start)) : n - 1;
        stop = has_stop ? (stop < 0 ? (stop + n < 0 ? -1 : stop + n) : (stop >= n ? n - 1 : stop)) : -1;
        *len = start > stop ? (start - stop - step - 1) / (-step) : 0;
    }
    return start;
}
"""


class UnsupportedError(Exception):
    """The graph holds an operation or a type this module does not write out."""


def ctype_of(dtype: str) -> str:
    if dtype not in CTYPES:
        raise UnsupportedError(f"dtype {dtype}")
    return CTYPES[dtype]


@dataclass
class Array:
    """An n-d value in the C code: its element pointer and, per axis, its length and stride (elements) as C expressions."""

    data: str
    ctype: str
    shape: list[str]
    strides: list[str]

    def at(self, index: list[str], broadcast: tuple[bool, ...] | None = None) -> str:
        """The element at `index` (axes marked in `broadcast` are read at 0)."""
        terms = [f"{i} * {s}" for axis, (i, s) in enumerate(zip(index, self.strides, strict=True)) if not (broadcast and broadcast[axis])]
        return f"{self.data}[{' + '.join(terms) or '0'}]"

    @classmethod
    def c_ordered(cls, data: str, ctype: str, shape: list[str]) -> Array:
        """The array at `data` laid out in C order: each axis's stride is the product of the lengths after it."""
        return cls(data, ctype, shape, [" * ".join(shape[k + 1 :]) or "1" for k in range(len(shape))])

    @property
    def size(self) -> str:
        return " * ".join(f"({n})" for n in self.shape) or "1"


@dataclass
class Scalar:
    """A 0-d value in the C code."""

    expr: str
    ctype: str


@dataclass
class Writer:
    """Writes one C function body, naming every value it computes."""

    lines: list[str] = field(default_factory=list)
    values: dict[Any, Array | Scalar] = field(default_factory=dict)
    statics: list[str] = field(default_factory=list)
    count: int = 0
    allocs: int = 0
    prefix: str = ""  # of the constant arrays' names, which are outside the function

    def fresh(self, prefix: str = "v") -> str:
        self.count += 1
        return f"{prefix}{self.count}"

    def emit(self, line: str, indent: int = 1) -> None:
        self.lines.append("    " * indent + line)

    def value(self, var: Any) -> Array | Scalar:
        """A graph variable's value: computed before, or a constant written out."""
        from pytensor.graph.basic import Constant

        if var in self.values:
            return self.values[var]
        if not isinstance(var, Constant):
            raise UnsupportedError(f"variable {var} is computed nowhere")
        data = np.asarray(var.data)
        ctype = ctype_of(var.type.dtype)
        if data.ndim == 0:
            self.values[var] = Scalar(literal(data.item(), ctype), ctype)
        else:
            name = self.fresh(f"{self.prefix}_c")
            items = ", ".join(literal(v, ctype) for v in data.ravel().tolist())
            self.statics.append(f"static const {ctype} {name}[] = {{{items}}};")
            self.values[var] = Array.c_ordered(name, ctype, [str(n) for n in data.shape])
        return self.values[var]

    def scalar(self, var: Any) -> str:
        value = self.value(var)
        if not isinstance(value, Scalar):
            raise UnsupportedError(f"{var} used as a scalar")
        return value.expr

    def new_array(self, ctype: str, shape: list[str], zero: bool = False) -> Array:
        """A C-ordered array allocated for this call (freed at the end), its lengths held in variables."""
        name = self.fresh()
        lengths = [f"{name}_n{k}" for k in range(len(shape))]
        for length, expr in zip(lengths, shape, strict=True):
            self.emit(f"const int64_t {length} = {expr};")
        array = Array.c_ordered(name, ctype, lengths)
        self.emit(f"{ctype}* {name}; TAKE({name}, {ctype}, {array.size});")
        if zero:
            self.emit(f"memset({name}, 0, sizeof({ctype}) * {array.size});")
        self.allocs += 1
        return array

    def loops(self, shape: list[str]) -> tuple[list[str], int]:
        """Open nested loops over `shape`; their index names and the body's indent (close with `close`)."""
        index = [self.fresh("i") for _ in shape]
        for depth, (i, n) in enumerate(zip(index, shape, strict=True)):
            self.emit(f"for (int64_t {i} = 0; {i} < {n}; {i}++) {{", 1 + depth)
        return index, 1 + len(shape)

    def close(self, depth: int) -> None:
        for level in range(depth, 0, -1):
            self.emit("}", level)


def literal(item: Any, ctype: str) -> str:
    if ctype in FLOATS:
        value = float(item)
        if np.isnan(value):
            return "NAN"
        if np.isinf(value):
            return "INFINITY" if value > 0 else "(-INFINITY)"
        return repr(value) if ctype == "double" else f"((float){value!r})"
    return f"(({ctype}){int(item)}LL)" if ctype == "int64_t" else f"(({ctype}){int(item)})"


def _formula(op: Any, a: list[str], ctypes_in: list[str], ctype: str) -> str:
    """The C expression of one scalar operation on the named arguments."""
    from pytensor import scalar as ps
    from pytensor.scalar import math as psm

    floats = {
        ps.Exp: "exp",
        ps.Log: "log",
        ps.Log1p: "log1p",
        ps.Expm1: "expm1",
        ps.Sqrt: "sqrt",
        ps.Tanh: "tanh",
        ps.Floor: "floor",
        ps.Ceil: "ceil",
        psm.GammaLn: "lgamma_safe",
        psm.Erf: "erf",
        psm.Erfc: "erfc",
        psm.Psi: "digamma",
        psm.Sigmoid: "sigmoid",
        psm.Softplus: "softplus",
        psm.Log1mexp: "log1mexp",
    }
    compare = {ps.GT: ">", ps.GE: ">=", ps.LT: "<", ps.LE: "<=", ps.EQ: "==", ps.NEQ: "!="}
    kind = type(op)
    if kind in floats and ctype in FLOATS:
        return f"{floats[kind]}((double){a[0]})"
    if kind is ps.Add:
        return "(" + " + ".join(a) + ")"
    if kind is ps.Mul:
        return "(" + " * ".join(a) + ")"
    if kind is ps.Sub:
        return f"({a[0]} - {a[1]})"
    if kind is ps.TrueDiv and ctype in FLOATS:
        return f"((double){a[0]} / (double){a[1]})"
    # Python's rounding towards minus infinity, not C's towards 0; by zero gives 0, as numpy does (C would stop the process)
    if kind in (ps.IntDiv, ps.Mod) and ctype not in FLOATS:
        return f"{'floor_div' if kind is ps.IntDiv else 'floor_mod'}((int64_t){a[0]}, (int64_t){a[1]})"
    if kind is ps.Pow and ctype in FLOATS:
        return f"pow((double){a[0]}, (double){a[1]})"
    if kind in compare:
        return f"({a[0]} {compare[kind]} {a[1]})"
    if kind is ps.AND:
        return "(" + " & ".join(a) + ")"
    if kind is ps.OR:
        return "(" + " | ".join(a) + ")"
    if kind is ps.Invert and ctype == "uint8_t":
        return f"(!{a[0]})"
    if kind is ps.Neg:
        return f"(-{a[0]})"
    if kind is ps.Sqr:
        return f"({a[0]} * {a[0]})"
    if kind is ps.Reciprocal and ctype in FLOATS:
        return f"(1.0 / {a[0]})"
    if kind is ps.Abs:
        return f"fabs({a[0]})" if ctype in FLOATS else f"({a[0]} < 0 ? -{a[0]} : {a[0]})"
    if kind is ps.IsNan:
        return f"isnan({a[0]})" if ctypes_in[0] in FLOATS else "0"
    if kind is ps.IsInf:
        return f"isinf({a[0]})" if ctypes_in[0] in FLOATS else "0"
    if kind is ps.Switch:
        return f"({a[0]} ? {a[1]} : {a[2]})"
    if kind in (ps.Cast, ps.Identity):
        return f"({a[0]} != 0)" if ctype == "uint8_t" and kind is ps.Cast else f"(({ctype})({a[0]}))"
    if kind is ps.Sign and ctype in FLOATS:
        return f"({a[0]} > 0 ? 1.0 : ({a[0]} < 0 ? -1.0 : {a[0]}))"  # NaN stays NaN, as in numpy
    if kind is ps.Second:
        return a[1]
    if kind in (ps.ScalarMaximum, ps.Maximum):
        return f"max_nan({a[0]}, {a[1]})" if ctype in FLOATS else f"({a[0]} > {a[1]} ? {a[0]} : {a[1]})"
    if kind in (ps.ScalarMinimum, ps.Minimum):
        return f"min_nan({a[0]}, {a[1]})" if ctype in FLOATS else f"({a[0]} < {a[1]} ? {a[0]} : {a[1]})"
    raise UnsupportedError(f"{op} giving {ctype}")


def scalar_body(writer: Writer, op: Any, args: list[str], ctypes_in: list[str], out_types: list[str], indent: int) -> list[str]:
    """Statements computing a scalar operation (a Composite's inner graph inline); the names of its results."""
    from pytensor.scalar.basic import Composite

    if not isinstance(op, Composite):
        result = writer.fresh("s")
        writer.emit(f"const {out_types[0]} {result} = {_formula(op, args, ctypes_in, out_types[0])};", indent)
        return [result]
    inner: dict[Any, tuple[str, str]] = {var: (arg, ct) for var, arg, ct in zip(op.fgraph.inputs, args, ctypes_in, strict=True)}

    def named(var: Any) -> tuple[str, str]:
        if var in inner:
            return inner[var]
        return writer.scalar(var), ctype_of(var.type.dtype)

    for node in op.fgraph.toposort():
        ins = [named(i) for i in node.inputs]
        outs = [ctype_of(o.type.dtype) for o in node.outputs]
        results = scalar_body(writer, node.op, [n for n, _ in ins], [c for _, c in ins], outs, indent)
        inner.update({o: (r, c) for o, r, c in zip(node.outputs, results, outs, strict=True)})
    return [named(o)[0] for o in op.fgraph.outputs]
