"""The C statements of each operation of a PyTensor graph that mmm.model.native writes out."""

from __future__ import annotations

from typing import Any

from mmm.model.native_code import Array, Scalar, UnsupportedError, Writer, ctype_of, scalar_body


def _elemwise(writer: Writer, node: Any) -> None:
    """An elementwise node as loops over its output's shape (a 0-d one as scalar statements)."""
    out_types = [ctype_of(o.type.dtype) for o in node.outputs]
    ins = [writer.value(i) for i in node.inputs]
    ctypes_in = [v.ctype for v in ins]
    ndim = node.outputs[0].type.ndim
    if ndim == 0:
        results = scalar_body(writer, node.op.scalar_op, [writer.scalar(i) for i in node.inputs], ctypes_in, out_types, 1)
        for var, result, ctype in zip(node.outputs, results, out_types, strict=True):
            writer.values[var] = Scalar(result, ctype)
        return
    shape = []
    for axis in range(ndim):
        source = next((v for v, i in zip(ins, node.inputs, strict=True) if not i.type.broadcastable[axis]), None)
        shape.append(source.shape[axis] if isinstance(source, Array) else "1")
    outs = [writer.new_array(ctype, shape) for ctype in out_types]
    index, body = writer.loops(outs[0].shape)
    elements = []
    for value, var in zip(ins, node.inputs, strict=True):
        if not isinstance(value, Array):
            raise UnsupportedError("a 0-d input of an n-d elementwise node")
        element = writer.fresh("e")
        writer.emit(f"const {value.ctype} {element} = {value.at(index, var.type.broadcastable)};", body)
        elements.append(element)
    results = scalar_body(writer, node.op.scalar_op, elements, ctypes_in, out_types, body)
    for array, result in zip(outs, results, strict=True):
        writer.emit(f"{array.at(index)} = {result};", body)
    writer.close(body - 1)
    writer.values.update(zip(node.outputs, outs, strict=True))


def _reduce(writer: Writer, node: Any) -> None:
    """A sum over some axes, or a sum, product, all or any over all of them."""
    from pytensor import scalar as ps

    value = writer.value(node.inputs[0])
    out = node.outputs[0]
    ctype = ctype_of(out.type.dtype)
    if not isinstance(value, Array):
        writer.values[out] = Scalar(f"(({ctype}){value.expr})", ctype)
        return
    ndim = len(value.shape)
    axes = list(range(ndim)) if node.op.axis is None else sorted(node.op.axis)
    update = {ps.Add: "{0} += {1};", ps.Mul: "{0} *= {1};", ps.AND: "{0} = {0} && {1};", ps.OR: "{0} = {0} || {1};"}
    start = {ps.Add: "0", ps.Mul: "1", ps.AND: "1", ps.OR: "0"}
    kind = type(node.op.scalar_op)
    if kind not in update or (len(axes) < ndim and kind is not ps.Add):
        raise UnsupportedError(str(node.op))
    if len(axes) == ndim:
        total = writer.fresh("t")
        writer.emit(f"{ctype} {total} = {start[kind]};")
        index, body = writer.loops(value.shape)
        writer.emit(update[kind].format(total, value.at(index)), body)
        writer.close(body - 1)
        writer.values[out] = Scalar(total, ctype)
        return
    result = writer.new_array(ctype, [n for axis, n in enumerate(value.shape) if axis not in axes], zero=True)
    index, body = writer.loops(value.shape)
    kept = [i for axis, i in enumerate(index) if axis not in axes]
    writer.emit(f"{result.at(kept)} += {value.at(index)};", body)
    writer.close(body - 1)
    writer.values[out] = result


def _dimshuffle(writer: Writer, node: Any) -> None:
    """Axes dropped (length-1 ones), reordered and added: a view of the same elements."""
    op = node.op
    value = writer.value(node.inputs[0])
    out = node.outputs[0]
    if isinstance(value, Scalar):
        box = writer.fresh("box")
        writer.emit(f"{value.ctype} {box}[1] = {{{value.expr}}};")
        value = Array(box, value.ctype, [], [])
    if out.type.ndim == 0:
        name = writer.fresh()
        writer.emit(f"const {value.ctype} {name} = {value.data}[0];")
        writer.values[out] = Scalar(name, value.ctype)
        return
    shape = ["1" if axis == "x" else value.shape[axis] for axis in op.new_order]
    strides = ["0" if axis == "x" else value.strides[axis] for axis in op.new_order]
    writer.values[out] = Array(value.data, value.ctype, shape, strides)


def _subtensor(writer: Writer, node: Any) -> None:
    """Basic indexing (slices and integer positions, some of them graph values): a view."""
    from pytensor.graph.type import Type

    value = writer.value(node.inputs[0])
    if not isinstance(value, Array):
        raise UnsupportedError("indexing a scalar")
    rest = iter(node.inputs[1:])

    def bound(entry: Any) -> tuple[str, str]:
        if entry is None:
            return "0", "0"
        return "1", writer.scalar(next(rest)) if isinstance(entry, Type) else str(int(entry))

    offset, shape, strides = [], [], []
    for axis, entry in enumerate(node.op.idx_list):
        n, stride = value.shape[axis], value.strides[axis]
        name = writer.fresh("k")
        if isinstance(entry, slice):
            (has_start, start), (has_stop, stop), (_, step) = bound(entry.start), bound(entry.stop), bound(entry.step)
            step = step if entry.step is not None else "1"
            writer.emit(
                f"int64_t {name}_len; const int64_t {name} = slice_start({n}, {has_start}, {start}, {has_stop}, {stop}, {step}, &{name}_len);"
            )
            shape.append(f"{name}_len")
            strides.append(f"({stride}) * ({step})")
        else:
            index = writer.scalar(next(rest)) if isinstance(entry, Type) else str(int(entry))
            writer.emit(f"const int64_t {name} = {index} < 0 ? {index} + {n} : {index};")
            writer.emit(f"if ({name} < 0 || {name} >= {n}) {{ rc = 1; goto done; }}")
        offset.append(f"{name} * ({stride})")
    shape += value.shape[len(node.op.idx_list) :]
    strides += value.strides[len(node.op.idx_list) :]
    data = writer.fresh("p")
    writer.emit(f"const {value.ctype}* {data} = {value.data} + {' + '.join(offset) or '0'};")
    if node.outputs[0].type.ndim == 0:
        writer.values[node.outputs[0]] = Scalar(f"{data}[0]", value.ctype)
    else:
        writer.values[node.outputs[0]] = Array(data, value.ctype, shape, strides)


def _join(writer: Writer, node: Any) -> None:
    """Arrays joined along a constant axis, copied into a new one."""
    from pytensor.graph.basic import Constant

    if not isinstance(node.inputs[0], Constant):
        raise UnsupportedError("a join along an axis known only at run time")
    parts = [writer.value(i) for i in node.inputs[1:]]
    if not all(isinstance(p, Array) for p in parts):
        raise UnsupportedError("joining scalars")
    arrays = [p for p in parts if isinstance(p, Array)]
    axis = int(node.inputs[0].data) % len(arrays[0].shape)
    shape = list(arrays[0].shape)
    shape[axis] = " + ".join(f"({a.shape[axis]})" for a in arrays)
    result = writer.new_array(ctype_of(node.outputs[0].type.dtype), shape)
    at = writer.fresh("at")
    writer.emit(f"int64_t {at} = 0;")
    for array in arrays:
        index, body = writer.loops(array.shape)
        target = [f"{i} + {at}" if k == axis else i for k, i in enumerate(index)]
        writer.emit(f"{result.at(target)} = {array.at(index)};", body)
        writer.close(body - 1)
        writer.emit(f"{at} += {array.shape[axis]};")
    writer.values[node.outputs[0]] = result


def _along(writer: Writer, shape: list[str], axis: int) -> tuple[list[str], str, int]:
    """Open loops over every axis but `axis`; the full index (the axis's entry named j_), its name and the body's indent."""
    others, body = writer.loops([n for k, n in enumerate(shape) if k != axis])
    j = writer.fresh("j")
    index = list(others)
    index.insert(axis, j)
    return index, j, body


def _softmax(writer: Writer, node: Any) -> None:
    """Softmax along an axis (shifted by the largest value, as PyTensor computes it), or its gradient."""
    from pytensor.tensor.special import Softmax

    ins = [writer.value(i) for i in node.inputs]
    arrays = [v for v in ins if isinstance(v, Array)]
    if len(arrays) != len(ins) or node.op.axis is None:
        raise UnsupportedError(str(node.op))
    axis = node.op.axis % len(arrays[0].shape)
    result = writer.new_array("double", arrays[-1].shape)
    index, j, body = _along(writer, arrays[-1].shape, axis)
    n = arrays[-1].shape[axis]
    acc = writer.fresh("acc")
    if isinstance(node.op, Softmax):
        (x,) = arrays
        top = writer.fresh("top")
        writer.emit(f"double {top} = -INFINITY, {acc} = 0.0;", body)
        writer.emit(f"for (int64_t {j} = 0; {j} < {n}; {j}++) if ({x.at(index)} > {top}) {top} = {x.at(index)};", body)
        writer.emit(
            f"for (int64_t {j} = 0; {j} < {n}; {j}++) {{ {result.at(index)} = exp({x.at(index)} - {top}); {acc} += {result.at(index)}; }}",
            body,
        )
        writer.emit(f"for (int64_t {j} = 0; {j} < {n}; {j}++) {result.at(index)} /= {acc};", body)
    else:  # SoftmaxGrad(dy, sm): (dy - sum(dy * sm)) * sm
        dy, sm = arrays
        writer.emit(f"double {acc} = 0.0;", body)
        writer.emit(f"for (int64_t {j} = 0; {j} < {n}; {j}++) {acc} += {dy.at(index)} * {sm.at(index)};", body)
        writer.emit(f"for (int64_t {j} = 0; {j} < {n}; {j}++) {result.at(index)} = ({dy.at(index)} - {acc}) * {sm.at(index)};", body)
    writer.close(body - 1)
    writer.values[node.outputs[0]] = result


def _dot(writer: Writer, node: Any) -> None:
    """A matrix product."""
    a, b = (writer.value(i) for i in node.inputs)
    if not isinstance(a, Array) or not isinstance(b, Array):
        raise UnsupportedError("a product of scalars")
    result = writer.new_array(ctype_of(node.outputs[0].type.dtype), [a.shape[0], b.shape[1]], zero=True)
    (i, k, j), body = writer.loops([a.shape[0], a.shape[1], b.shape[1]])
    writer.emit(f"{result.at([i, j])} += {a.at([i, k])} * {b.at([k, j])};", body)
    writer.close(body - 1)
    writer.values[node.outputs[0]] = result


def _gemv(writer: Writer, node: Any) -> None:
    """beta * y + alpha * A x, A a matrix, x and y vectors (BLAS's gemv: y is not read when beta is 0, and may hold anything)."""
    y, a, x = (writer.value(node.inputs[k]) for k in (0, 2, 3))
    alpha, beta = writer.scalar(node.inputs[1]), writer.scalar(node.inputs[4])
    if not isinstance(y, Array) or not isinstance(a, Array) or not isinstance(x, Array):
        raise UnsupportedError("gemv of scalars")
    result = writer.new_array(ctype_of(node.outputs[0].type.dtype), [a.shape[0]], zero=True)
    (i, k), body = writer.loops([a.shape[0], a.shape[1]])
    writer.emit(f"{result.at([i])} += {a.at([i, k])} * {x.at([k])};", body)
    writer.close(body - 1)
    (i,), body = writer.loops([a.shape[0]])
    writer.emit(f"{result.at([i])} = {alpha} * {result.at([i])} + (({beta}) == 0 ? 0 : ({beta}) * {y.at([i])});", body)
    writer.close(body - 1)
    writer.values[node.outputs[0]] = result


def _copy(writer: Writer, value: Array, ctype: str) -> Array:
    """A C-ordered copy of an array (a view's elements, laid out afresh)."""
    result = writer.new_array(ctype, value.shape)
    index, body = writer.loops(value.shape)
    writer.emit(f"{result.at(index)} = {value.at(index)};", body)
    writer.close(body - 1)
    return result


def _trailing(value: Array | Scalar, index: list[str], broadcast: tuple[bool, ...]) -> str:
    """The element of `value` at the last axes of `index` (numpy's broadcasting: a value of fewer axes lines up at the end)."""
    if isinstance(value, Scalar):
        return value.expr
    return value.at(index[len(index) - len(value.shape) :], broadcast)


def _row(writer: Writer, idx: Array, at: str, rows: str, indent: int) -> str:
    """Declare the position idx[at] in an axis of `rows` (negative counts from the end; outside it fails the call); its name."""
    row = writer.fresh("at")
    writer.emit(f"int64_t {row} = {idx.at([at])}; if ({row} < 0) {row} += {rows};", indent)
    writer.emit(f"if ({row} < 0 || {row} >= {rows}) {{ rc = 1; goto done; }}", indent)
    return row


def _alloc(writer: Writer, node: Any) -> None:
    """A value broadcast to a shape (its trailing axes)."""
    fill = writer.value(node.inputs[0])
    ctype = ctype_of(node.outputs[0].type.dtype)
    result = writer.new_array(ctype, [writer.scalar(s) for s in node.inputs[1:]])
    index, body = writer.loops(result.shape)
    writer.emit(f"{result.at(index)} = {_trailing(fill, index, node.inputs[0].type.broadcastable)};", body)
    writer.close(body - 1)
    writer.values[node.outputs[0]] = result


def _alloc_empty(writer: Writer, node: Any) -> None:
    """An array the graph writes before it reads (PyTensor leaves it uninitialised; zeros here, so every call computes the same)."""
    shape = [writer.scalar(s) for s in node.inputs]
    writer.values[node.outputs[0]] = writer.new_array(ctype_of(node.outputs[0].type.dtype), shape, zero=True)


def _reshape(writer: Writer, node: Any) -> None:
    """The elements in C order under another shape (one length may be -1: whatever the others leave)."""
    value, shape = writer.value(node.inputs[0]), writer.value(node.inputs[1])
    if not isinstance(value, Array) or not isinstance(shape, Array):
        raise UnsupportedError("reshaping a scalar")
    flat = _copy(writer, value, value.ctype)
    lengths = [writer.fresh("r") for _ in range(node.op.ndim)]
    for k, length in enumerate(lengths):
        writer.emit(f"int64_t {length} = {shape.at([str(k)])};")
    known = " * ".join(f"({n} < 0 ? 1 : {n})" for n in lengths) or "1"
    for length in lengths:
        writer.emit(f"if ({length} < 0) {length} = ({flat.size}) / ({known});")
    writer.values[node.outputs[0]] = Array.c_ordered(flat.data, flat.ctype, lengths)


def _take(writer: Writer, node: Any) -> None:
    """x[idx] along the first axis, idx an integer vector (negative positions count from the end)."""
    value, idx = writer.value(node.inputs[0]), writer.value(node.inputs[1])
    if not isinstance(value, Array) or not isinstance(idx, Array):
        raise UnsupportedError(str(node.op))
    result = writer.new_array(value.ctype, [idx.shape[0], *value.shape[1:]])
    index, body = writer.loops(result.shape)
    at = _row(writer, idx, index[0], value.shape[0], body)
    writer.emit(f"{result.at(index)} = {value.at([at, *index[1:]])};", body)
    writer.close(body - 1)
    writer.values[node.outputs[0]] = result


def _put(writer: Writer, node: Any) -> None:
    """A copy of x with y added at (or set to) rows idx of its first axis, rows repeated in idx adding up."""
    value, rows, idx = (writer.value(i) for i in node.inputs)
    if not isinstance(value, Array) or not isinstance(idx, Array):
        raise UnsupportedError(str(node.op))
    result = _copy(writer, value, value.ctype)
    index, body = writer.loops([idx.shape[0], *value.shape[1:]])
    at = _row(writer, idx, index[0], value.shape[0], body)
    element = _trailing(rows, index, node.inputs[1].type.broadcastable)
    writer.emit(f"{result.at([at, *index[1:]])} {'=' if node.op.set_instead_of_inc else '+='} {element};", body)
    writer.close(body - 1)
    writer.values[node.outputs[0]] = result


def write_node(writer: Writer, node: Any) -> None:
    """One graph node's statements."""
    from pytensor.raise_op import Assert
    from pytensor.tensor.basic import Alloc, AllocEmpty, Join, MakeVector, ScalarFromTensor, TensorFromScalar
    from pytensor.tensor.blas import Gemv
    from pytensor.tensor.elemwise import CAReduce, DimShuffle, Elemwise
    from pytensor.tensor.math import Dot
    from pytensor.tensor.shape import Reshape, Shape_i, SpecifyShape
    from pytensor.tensor.special import Softmax, SoftmaxGrad
    from pytensor.tensor.subtensor import AdvancedIncSubtensor1, AdvancedSubtensor1, Subtensor

    op, out = node.op, node.outputs[0]
    writers: dict[type, Any] = {
        Elemwise: _elemwise,
        CAReduce: _reduce,
        DimShuffle: _dimshuffle,
        Subtensor: _subtensor,
        Join: _join,
        Softmax: _softmax,
        SoftmaxGrad: _softmax,
        Dot: _dot,
        Gemv: _gemv,
        Alloc: _alloc,
        AllocEmpty: _alloc_empty,
        Reshape: _reshape,
        AdvancedSubtensor1: _take,
        AdvancedIncSubtensor1: _put,
    }
    for kind, write in writers.items():
        if isinstance(op, kind):
            return write(writer, node)
    if isinstance(op, (SpecifyShape, ScalarFromTensor, TensorFromScalar)) or type(op).__name__ == "DeepCopyOp":
        writer.values[out] = writer.value(node.inputs[0])  # the same values (shapes were checked when the graph was built)
    elif isinstance(op, Shape_i):
        value = writer.value(node.inputs[0])
        writer.values[out] = Scalar(f"((int64_t){value.shape[op.i]})" if isinstance(value, Array) else "1", "int64_t")
    elif isinstance(op, Assert):
        conditions = " && ".join(f"({writer.scalar(c)})" for c in node.inputs[1:])
        writer.emit(f"if (!({conditions})) {{ rc = 1; goto done; }}")
        writer.values[out] = writer.value(node.inputs[0])
    elif isinstance(op, MakeVector):
        result = writer.new_array(ctype_of(op.dtype), [str(len(node.inputs))])
        for k, var in enumerate(node.inputs):
            writer.emit(f"{result.data}[{k}] = {writer.scalar(var)};")
        writer.values[out] = result
    else:
        raise UnsupportedError(str(op))
