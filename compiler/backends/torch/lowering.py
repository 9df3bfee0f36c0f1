"""The torch backend's lowering table: one torch expression or function per op.

Templates see `torch`, `np` and `dev` (the session's torch.device) in the generated code's
globals; {odtype} and dtype attributes are spelled as torch dtypes. There is no {out}: torch's
caching allocator reuses memory. Where torch's semantics differ from numpy's (an empty `dim`
means every axis, int32 sums become int64, slices cannot step backwards, negative indices in
index_select), a function here keeps numpy's (the reference kernel's) meaning. REFERENCE entries
run the numpy kernel on host copies: random draws (from the session's numpy streams, so both
backends draw the same numbers), check_numerics, and shape-only counts.
"""

from __future__ import annotations

import numpy as np
import torch

from ...ops.array import _span_size, _split_sizes
from ...ops.debug import label_error
from ...ops.distributed import communicator
from ...ops.generate import _range_kernel
from ...ops.indexing import _index_items, _negative_step
from ..lowering import LoweringTable

TORCH_TABLE = LoweringTable("torch")
T = TORCH_TABLE

# -- elementwise -----------------------------------------------------------------------------------
_FUNCTIONS = {  # op -> torch function of the same inputs
    "add": "add", "subtract": "sub", "multiply": "mul", "maximum": "maximum",
    "minimum": "minimum", "equal": "eq", "not_equal": "ne", "less": "lt", "less_equal": "le",
    "greater": "gt", "greater_equal": "ge", "logical_and": "logical_and",
    "logical_or": "logical_or", "matmul": "matmul",
}
_UNARY = {
    "negative": "neg", "square": "square", "sqrt": "sqrt", "exp": "exp", "log": "log",
    "abs": "abs", "sign": "sign", "sin": "sin", "cos": "cos", "log1p": "log1p",
    "logical_not": "logical_not", "relu": "relu", "sigmoid": "sigmoid", "tanh": "tanh",
}
T.templates("torch.%s({0}, {1})", _FUNCTIONS)
T.templates("torch.%s({0})", _UNARY)

# Integers divide in float64, as numpy does (torch would divide them in float32).
T.template("divide", "torch.true_divide({0}.to({odtype}), {1}.to({odtype}))")
T.template("read_variable", "{0}.clone()")
T.template("where", "torch.where({0}, {1}, {2})")
T.template("clip_by_value", "torch.clamp({0}, {1}, {2})")
T.template("cast", "{0}.to({dtype})")
T.template("identity", "{0}")
T.template("stop_gradient", "{0}")
T.template("zeros_like", "torch.zeros({0}.shape, dtype={odtype}, device=dev)")
T.template("ones_like", "torch.ones({0}.shape, dtype={odtype}, device=dev)")
# The kernel's 1 / sqrt(x) (an IEEE sqrt and division, correctly rounded) bit for bit: on the
# CPU torch.rsqrt is exactly that, while torch.sqrt of a long tensor is MKL's, off by an ulp at
# times; on CUDA torch.rsqrt is the approximate rsqrt intrinsic, while sqrt and division are IEEE.
T.template("rsqrt", "(torch.reciprocal(torch.sqrt({0})) if dev.type == 'cuda' "
                    "else torch.rsqrt({0}))")
T.template("softplus", "torch.clamp_min({0}, 0) + torch.log1p(torch.exp(-torch.abs({0})))")
T.template("softmax", "torch.softmax({0}, {axis})")
T.template("log_softmax", "torch.log_softmax({0}, {axis})")
T.template("sigmoid_cross_entropy_with_logits",
           "torch.clamp_min({1}, 0) - {1} * {0} + torch.log1p(torch.exp(-torch.abs({1})))")


@T.lowering("power")
def _power(x, y):
    """torch.pow, refusing what numpy and TF1 refuse (torch returns 0 for 2 ** -1)."""
    if not x.is_floating_point() and bool((y < 0).any()):
        raise ValueError("Integers to negative integer powers are not allowed.")
    return x.pow(y)


def _integer_divisor(y) -> None:
    if not y.is_floating_point() and not bool(y.all()):
        raise ZeroDivisionError("Integer division by zero")


@T.lowering("floordiv")
def _floordiv(x, y):
    """torch.floor_divide (floors, as Python and TF1 do)."""
    _integer_divisor(y)
    return torch.floor_divide(x, y)


@T.lowering("floormod")
def _floormod(x, y):
    """torch.remainder: the remainder has the divisor's sign, as TF1's FloorMod."""
    _integer_divisor(y)
    return torch.remainder(x, y)


# -- shape -----------------------------------------------------------------------------------------
T.template("reshape", "torch.reshape({0}, {shape})")
T.template("reshape_like", "torch.reshape({0}, {1}.shape)")
T.template("transpose", "torch.permute({0}, {perm} or tuple(range({0}.dim() - 1, -1, -1)))")
T.template("concat", "torch.cat(({args},), dim={axis})")
T.template("broadcast_to", "torch.broadcast_to({0}, {shape})")
T.template("broadcast_like", "torch.broadcast_to({0}, {1}.shape)")
T.template("stack", "torch.stack(({args},), dim={axis})")
T.template("unstack", "{0}.select({axis}, {index})")
T.template("tile", "torch.tile({0}, {multiples})")
# Their input is a ShapeOf (the op reads shapes only): a small tensor made on the device.
T.template("shape", "torch.tensor({0}.shape, dtype={odtype}, device=dev)")
T.template("size", "torch.tensor({0}.size, dtype={odtype}, device=dev)")
T.template("rank", "torch.tensor({0}.ndim, dtype={odtype}, device=dev)")


@T.lowering("expand_dims")
def _expand_dims(x, axis):
    """As np.expand_dims: the axes index the result (of rank x.dim() + len(axis)), so the size-1
    axes go in from the lowest up."""
    rank = x.dim() + len(axis)
    axes = sorted(a % rank if -rank <= a < rank else a for a in axis)
    if len(set(axes)) != len(axes):
        raise ValueError(f"repeated axis in {axis}")
    for a in axes:
        x = x.unsqueeze(a)
    return x


@T.lowering("squeeze")
def _squeeze(x, axis):
    """As np.squeeze: an axis of size other than 1 is an error (torch would leave it be)."""
    if axis is None:
        return x.squeeze()
    for a in axis:
        if x.shape[a] != 1:
            raise ValueError("cannot select an axis to squeeze out which has size not equal to "
                             "one")
    return x.squeeze(axis) if axis else x


@T.lowering("concat_part")
def _concat_part(g, *values, index, axis):
    start = sum(v.shape[axis] for v in values[:index])
    return g.narrow(axis, start, values[index].shape[axis])  # a view, as the numpy slice


@T.lowering("sum_to")
def _sum_to(x, like):
    """The sum keeps x's dtype (torch would make int32 sums int64)."""
    target = tuple(like.shape)
    if tuple(x.shape) == target:
        return x
    lead = x.dim() - len(target)
    axes = tuple(range(lead)) + tuple(
        lead + i for i, d in enumerate(target) if d == 1 and x.shape[lead + i] != 1)
    out = x.sum(dim=axes, keepdim=True, dtype=x.dtype) if axes else x  # dim=(): all axes
    return out.reshape(target)


@T.lowering("split")
def _split(x, axis, splits, span):
    axis = axis % x.dim()
    sizes = _split_sizes(x.shape[axis], splits)
    return x.narrow(axis, sum(sizes[:span[0]]), _span_size(sizes, span))  # a view


@T.lowering("tile_grad")
def _tile_grad(g, x, multiples):
    interleaved = [n for m, d in zip(multiples, x.shape) for n in (m, d)]
    if not interleaved:  # a 0-d x; and torch would read dim=() as every axis
        return g.clone()
    return g.reshape(interleaved).sum(dim=tuple(range(0, len(interleaved), 2)), dtype=g.dtype)


# -- gather and indexing ---------------------------------------------------------------------------
def _rows(indices, n: int):
    """gather's indices as rows of an axis of size n, flat: np.take counts a negative index from
    the end, torch's index ops do not. One still out of range after that makes the torch op
    raise (on a GPU: a device-side assert, as torch's own indexing does), as np.take raises."""
    return torch.where(indices < 0, indices + n, indices).reshape(-1)


@T.lowering("gather")
def _gather(params, indices, axis):
    axis = axis % params.dim()
    picked = torch.index_select(params, axis, _rows(indices, params.shape[axis]))
    return picked.reshape(params.shape[:axis] + indices.shape + params.shape[axis + 1:])


@T.lowering("gather_grad")
def _gather_grad(g, indices, params, axis):
    """g's rows added into zeros along axis with index_add_, in the order of `indices` (repeats
    summed)."""
    axis = axis % len(params.shape)
    k = indices.dim()
    rows = _rows(indices, params.shape[axis])
    # g's axes axis..axis+k-1 (indices' shape) flattened into one, at axis.
    src = g.reshape(g.shape[:axis] + (rows.numel(),) + g.shape[axis + k:])
    out = torch.zeros(params.shape, dtype=g.dtype, device=g.device)
    return out.index_add_(axis, rows, src)


def _index(index, shape):
    """A numpy basic index of an array of `shape` as (an index torch takes, the axes of the
    result to flip). torch slices cannot step backwards: a slice with a negative step becomes
    the forward slice of the same elements, whose result axis is then flipped."""
    items, flips, out_axis, axis = [], [], 0, 0
    for item in _index_items(index, len(shape)):
        if item is None:
            items.append(None)
            out_axis += 1
            continue
        if isinstance(item, slice):
            if item.step is not None and item.step < 0:
                r = range(*item.indices(shape[axis]))  # the elements, last to first
                if len(r):
                    item = slice(r[-1], r[0] + 1, -r.step)
                    flips.append(out_axis)
                else:
                    item = slice(0, 0)
            out_axis += 1
        items.append(item)
        axis += 1
    return tuple(items), flips


@T.lowering("getitem")
def _getitem(x, index):
    if not _negative_step(index):
        return x[index]
    items, flips = _index(index, x.shape)
    out = x[items]
    return torch.flip(out, flips) if flips else out


@T.lowering("getitem_grad")
def _getitem_grad(g, x, index):
    out = torch.zeros(x.shape, dtype=g.dtype, device=g.device)
    items, flips = _index(index, x.shape)
    out[items] = torch.flip(g, flips) if flips else g
    return out


T.template("one_hot", "({0}[..., None] == torch.arange({depth}, device=dev)).to({dtype})")


@T.lowering("pad")
def _pad(x, paddings, constant_values):
    """np.pad with a constant: the output filled with the constant (cast to x's dtype as numpy
    casts it), x written into its middle. Always a new tensor, as np.pad's."""
    if len(paddings) != x.dim():
        raise ValueError(f"paddings has {len(paddings)} rows; the input has rank {x.dim()}")
    numpy_dtype = torch.empty(0, dtype=x.dtype).numpy().dtype
    fill = np.asarray(constant_values).astype(numpy_dtype).item()
    shape = tuple(d + b + a for d, (b, a) in zip(x.shape, paddings))
    out = torch.full(shape, fill, dtype=x.dtype, device=x.device)
    out[tuple(slice(b, b + d) for d, (b, _) in zip(x.shape, paddings))] = x
    return out


# -- reductions ------------------------------------------------------------------------------------
def _reduction(method: str, same_dtype: bool = False):
    """x.<method>(dim=..., keepdim=...). In torch an empty dim tuple means every axis, so reducing
    over no axes is spelled out (a copy of x)."""
    def rule(x, axis, keepdims):
        if axis == ():
            return x.clone()
        dims = tuple(range(x.dim())) if axis is None else axis
        if same_dtype:  # int32 sums stay int32 (torch would make them int64)
            return getattr(x, method)(dim=dims, keepdim=keepdims, dtype=x.dtype)
        return getattr(x, method)(dim=dims, keepdim=keepdims)
    rule.__name__ = f"torch_{method}"
    return rule


T.lowering("reduce_sum")(_reduction("sum", same_dtype=True))
T.lowering("reduce_mean")(_reduction("mean"))
T.lowering("reduce_max")(_reduction("amax"))
T.lowering("reduce_min")(_reduction("amin"))
T.template("argmax", "torch.argmax({0}, {axis})")


@T.lowering("reduce_prod")
def _prod(x, axis, keepdims):
    """torch.prod reduces one axis at a time: the axes go highest first (so the lower ones keep
    their positions), in x's dtype (torch would make int32 products int64)."""
    if axis is None:
        out = x.prod(dtype=x.dtype)
        return out.reshape((1,) * x.dim()) if keepdims else out
    if axis == ():
        return x.clone()
    for a in sorted((a % x.dim() for a in axis), reverse=True):
        x = x.prod(a, keepdim=keepdims, dtype=x.dtype)
    return x


@T.lowering("argmin")
def _argmin(x, axis, output_type):
    if x.dtype == torch.bool:  # torch.argmin takes no bools; False < True as in numpy
        x = x.to(torch.uint8)
    return torch.argmin(x, axis).to(getattr(torch, output_type.name))  # int32 or int64


@T.lowering("add_n")
def _add_n(*xs):
    # Left to right, as the numpy kernel, so both round alike.
    if len(xs) == 1:
        return xs[0].clone()
    out = xs[0] + xs[1]
    for x in xs[2:]:
        out.add_(x)
    return out


# -- checks, collectives, random draws -------------------------------------------------------------
@T.lowering("check_labels")
def _check_labels(labels, classes, op):
    bad = (labels < 0) | (labels >= classes)
    if bool(bad.any()):
        raise label_error(int(labels[bad][0]), classes, op)
    return labels


@T.lowering("all_reduce_mean")
def _all_reduce_mean(x):
    """All-reduce a clone of `x` on its own device, in place (torch.distributed's default group,
    when the op's communicator says this process is in one)."""
    if communicator() is None:
        return x
    dist = torch.distributed
    out = x.clone(memory_format=torch.contiguous_format)
    dist.all_reduce(out, op=dist.ReduceOp.SUM)
    out /= dist.get_world_size()
    return out


T.reference("check_numerics", "reduction_size", "random_standard_normal", "truncated_normal",
            "random_uniform", "random_shuffle")
# candidate sampling: the session's numpy stream and the count from that draw, on the host
T.reference("log_uniform_draw", "log_uniform_expected_count")
T.reference("iterator_get_next", "iterator_init")  # input pipelines run on the host
T.reference("fused")  # made by the fuse pass only, which Session(fuse=True) runs for numpy


# -- fill, range, in_top_k (compiler/ops/generate.py, ranking.py) ---------------------------------
@T.lowering("fill")
def _fill(dims, value, *sources):
    """value broadcast to the shape dims holds (a host read of a few ints), as a new tensor."""
    shape = tuple(int(d) for d in dims.tolist())
    if any(d < 0 for d in shape):
        raise ValueError(f"dims {shape} must be non-negative")
    return value.reshape(()).expand(shape).clone()


@T.lowering("range")
def _range(start, limit, delta):
    """The three scalars read on the host and TF1's range made there (its float values are summed
    one step at a time, which torch.arange does not do), then moved to the device."""
    values = _range_kernel(*(v.cpu().numpy() for v in (start, limit, delta)))
    return torch.from_numpy(values).to(start.device)


@T.lowering("in_top_k")
def _in_top_k(predictions, targets, k):
    """As the numpy kernel: fewer than k classes strictly above the target's finite score."""
    batch, classes = predictions.shape
    valid = (targets >= 0) & (targets < classes)
    if classes == 0:
        return torch.zeros(batch, dtype=torch.bool, device=predictions.device)
    rows = torch.where(valid, targets, torch.zeros_like(targets)).long()
    picked = predictions.gather(1, rows[:, None])
    more = (predictions > picked).sum(dim=1)
    return valid & torch.isfinite(picked[:, 0]) & (more < k)

# -- strings and summaries: host objects; codegen runs every node on strings by its reference
# kernel whatever the table says (the ops marked OpDef.strings)
T.reference("string_join", "as_string", "scalar_summary", "histogram_summary", "image_summary",
            "text_summary", "merge_summary")

# -- variable updates: in place, so a tensor keeps its storage (CUDA graphs need it)
T.template("assign", "{0}.copy_({1})")
T.template("assign_add", "{0}.add_({1})")
T.template("assign_sub", "{0}.sub_({1})")
T.template("matmul_accumulate", "{0}.addmm_({1}, {2}, beta={beta}, alpha={alpha})")  # one GEMM
