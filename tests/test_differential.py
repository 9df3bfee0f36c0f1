"""Property-based differential tests: random graphs through the compiler, the interpreter and torch.

Hypothesis draws small expression programs: one to three placeholders whose shapes come from one
broadcast family (a base shape such as (2, 3) and its partners (), (3,), (1, 3), (2, 1), ...),
declared with known or unknown sizes or rank, then a list of steps, each an op of the op set
applied to earlier values (placeholders, constants, earlier results; reusing them, and repeating
whole steps, gives CSE shared subexpressions to merge). Steps include the patterns the simplifier
and the stabilizer rewrite (x*1, x+0, --x, log(sigmoid(x)), log(1 - sigmoid(x)), log(softmax(x)),
transpose(transpose(x)), reshape chains, broadcast_to, sums over size-1 axes, ...).

One step list is interpreted by one function over three small "libraries": graphflow, torch
(float64) and text (for failure messages), so both sides are built from the same description.
Properties:
- float64: the compiled Program (all passes, Session(check=True); and a random subset of the
  passes), the reference interpreter (Session(optimize=False)) and torch agree on the output, on
  fetched intermediate values and on the gradients of reduce_sum(out * cotangent) with respect to
  every placeholder (rtol 1e-9, atol 1e-11). A second run with other feed values must not touch
  the arrays the first run returned, and must agree with the interpreter.
- the torch backend (generated torch code on the CPU) agrees with torch and with the numpy
  backend on the same, in float64; in float32 with the numpy backend to about 1e-5.
- float32: compiled and interpreted results agree to about 1e-5.
- without the stabilizer, the passes are exact: compiled and interpreted results are the same bits.

Domains are safe by construction: log and sqrt only see positive expressions (softplus(x) + 0.1,
exp(3 tanh(x))), exp and the stabilizer patterns only tanh-bounded values, divisions are by
1 + y**2. Inputs are random normals with some exact zeros of either sign: the kinks of relu, abs,
maximum, clip, ... are met only at exact ties, where graphflow follows torch's conventions
(documented in the op modules), so those must agree too. Examples whose torch results are not
finite or exceed LIMIT are dropped.
"""

from __future__ import annotations

import functools
import itertools
import warnings
from dataclasses import dataclass
from typing import Callable, Dict, List, Optional, Tuple
from unittest import mock

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import HealthCheck, Phase, assume, given, settings
from hypothesis import strategies as st

import graphflow as gf
from compiler.backends.native import segments
from compiler.passes import DEFAULT_PASSES

RTOL, ATOL = 1e-9, 1e-11          # float64: every executor against torch
RTOL32, ATOL32 = 1e-5, 1e-6       # float32: compiled against the interpreter
LIMIT = 1e6                       # examples whose values or gradients exceed this are dropped

# Derandomized: CI runs the same examples every time (no example database either).
DIFFERENTIAL = settings(max_examples=300, deadline=None, derandomize=True, database=None,
                        suppress_health_check=[HealthCheck.too_slow,
                                               HealthCheck.filter_too_much])
FLOAT32 = settings(DIFFERENTIAL, max_examples=150)

Shape = Tuple[int, ...]


# -- the three "libraries" a program is interpreted with -------------------------------------------
class GFLib:
    """graphflow, building into the default graph."""

    def __init__(self, dtype):
        self.dtype = np.dtype(dtype)
        self.other = np.dtype(np.float32 if self.dtype == np.float64 else np.float64)

    add, sub, mul, div = (staticmethod(f) for f in (gf.add, gf.subtract, gf.multiply, gf.divide))
    neg, square, exp, log, sqrt, abs = (staticmethod(f) for f in (
        gf.negative, gf.square, gf.exp, gf.log, gf.sqrt, gf.abs))
    tanh, sigmoid, relu, softplus = (staticmethod(f) for f in (
        gf.tanh, gf.sigmoid, gf.relu, gf.softplus))
    maximum, minimum, pow, greater = (staticmethod(f) for f in (
        gf.maximum, gf.minimum, gf.power, gf.greater))
    matmul, identity, stop_gradient = (staticmethod(f) for f in (
        gf.matmul, gf.identity, gf.stop_gradient))
    ones_like, zeros_like, broadcast_to = (staticmethod(f) for f in (
        gf.ones_like, gf.zeros_like, gf.broadcast_to))
    add_n = staticmethod(lambda xs: gf.add_n(xs))
    where = staticmethod(lambda c, a, b: gf.where(c, a, b))
    clip = staticmethod(lambda x, lo, hi: gf.clip_by_value(x, lo, hi))
    reduce_sum = staticmethod(lambda x, axis, keepdims: gf.reduce_sum(x, axis, keepdims))
    reduce_mean = staticmethod(lambda x, axis, keepdims: gf.reduce_mean(x, axis, keepdims))
    reduce_max = staticmethod(lambda x, axis, keepdims: gf.reduce_max(x, axis, keepdims))
    softmax = staticmethod(lambda x, axis: gf.softmax(x, axis))
    log_softmax = staticmethod(lambda x, axis: gf.log_softmax(x, axis))
    reshape = staticmethod(lambda x, shape: gf.reshape(x, shape))
    transpose = staticmethod(lambda x, perm: gf.transpose(x, perm))
    expand_dims = staticmethod(lambda x, axis: gf.expand_dims(x, axis))
    squeeze = staticmethod(lambda x, axis: gf.squeeze(x, axis))
    concat = staticmethod(lambda a, b, axis: gf.concat([a, b], axis))
    getitem = staticmethod(lambda x, index: x[index])
    sxent = staticmethod(lambda z, x: gf.nn.sigmoid_cross_entropy_with_logits(labels=z, logits=x))

    def one_hot_argmax(self, x, axis, depth):
        return gf.one_hot(gf.argmax(x, axis), depth, dtype=self.dtype)

    def cast_same(self, x):
        return gf.cast(x, self.dtype)

    def cast_roundtrip(self, x):
        return gf.cast(gf.cast(x, self.other), self.dtype)

    def const(self, value):
        return gf.constant(np.asarray(value, self.dtype))


def _dims(x, axis):
    return tuple(range(x.ndim)) if axis is None else axis


class TorchLib:
    """torch in float64: the reference."""

    def __init__(self, dtype=np.float64):
        assert np.dtype(dtype) == np.float64

    add = staticmethod(lambda a, b: a + b)
    sub = staticmethod(lambda a, b: a - b)
    mul = staticmethod(lambda a, b: a * b)
    div = staticmethod(lambda a, b: a / b)
    neg = staticmethod(lambda a: -a)
    pow = staticmethod(lambda a, c: a ** c)
    greater = staticmethod(lambda a, b: a > b)
    square, exp, log, sqrt, abs = torch.square, torch.exp, torch.log, torch.sqrt, torch.abs
    tanh, sigmoid, relu = torch.tanh, torch.sigmoid, torch.relu
    maximum, minimum, matmul = torch.maximum, torch.minimum, torch.matmul
    ones_like, zeros_like, broadcast_to = torch.ones_like, torch.zeros_like, torch.broadcast_to
    identity = staticmethod(lambda x: x)
    stop_gradient = staticmethod(lambda x: x.detach())
    add_n = staticmethod(lambda xs: functools.reduce(lambda a, b: a + b, xs))
    clip = staticmethod(lambda x, lo, hi: torch.clamp(x, lo, hi))
    softmax = staticmethod(lambda x, axis: torch.softmax(x, axis))
    log_softmax = staticmethod(lambda x, axis: torch.log_softmax(x, axis))
    reshape = staticmethod(lambda x, shape: torch.reshape(x, shape))
    expand_dims = staticmethod(lambda x, axis: torch.unsqueeze(x, axis))
    squeeze = staticmethod(lambda x, axis: torch.squeeze(x, axis))
    concat = staticmethod(lambda a, b, axis: torch.cat([a, b], axis))
    getitem = staticmethod(lambda x, index: x[index])
    cast_same = staticmethod(lambda x: x)
    cast_roundtrip = staticmethod(lambda x: x.to(torch.float32).to(torch.float64))

    @staticmethod
    def softplus(x):
        # Exact everywhere, gradient sigmoid(x) (F.softplus switches to x above its threshold).
        return torch.logaddexp(x, torch.zeros_like(x))

    @staticmethod
    def where(c, a, b):
        return torch.where(torch.as_tensor(c), a, b)

    @staticmethod
    def reduce_sum(x, axis, keepdims):
        return x.sum() if x.ndim == 0 else torch.sum(x, _dims(x, axis), keepdim=keepdims)

    @staticmethod
    def reduce_mean(x, axis, keepdims):
        return x.mean() if x.ndim == 0 else torch.mean(x, _dims(x, axis), keepdim=keepdims)

    @staticmethod
    def reduce_max(x, axis, keepdims):
        return x if x.ndim == 0 else torch.amax(x, _dims(x, axis), keepdim=keepdims)

    @staticmethod
    def transpose(x, perm):
        return x.permute(*(reversed(range(x.ndim)) if perm is None else perm))

    @staticmethod
    def sxent(z, x):
        return torch.logaddexp(x, torch.zeros_like(x)) - x * z  # gradient sigmoid(x) - z at 0 too

    @staticmethod
    def one_hot_argmax(x, axis, depth):
        return F.one_hot(torch.argmax(x, axis), depth).to(x.dtype)

    @staticmethod
    def const(value):
        return torch.tensor(np.asarray(value, np.float64))


class TextLib:
    """Source-like text of each step, for failure messages."""

    def __init__(self, dtype=None):
        pass

    def __getattr__(self, name):
        def fmt(*args):
            return f"{name}({', '.join(map(_text, args))})"
        return fmt

    add = staticmethod(lambda a, b: f"({_text(a)} + {_text(b)})")
    sub = staticmethod(lambda a, b: f"({_text(a)} - {_text(b)})")
    mul = staticmethod(lambda a, b: f"({_text(a)} * {_text(b)})")
    div = staticmethod(lambda a, b: f"({_text(a)} / {_text(b)})")
    neg = staticmethod(lambda a: f"(-{_text(a)})")
    getitem = staticmethod(lambda x, index: f"{x}[{_text(index)}]")

    @staticmethod
    def const(value):
        value = np.asarray(value)
        if value.size and np.all(value == value.flat[0]):
            return f"constant(np.full({value.shape}, {value.flat[0]!r}))"
        return f"constant(<random {value.shape}>)"


def _text(v):
    if isinstance(v, list):
        return f"[{', '.join(map(_text, v))}]"
    return v if isinstance(v, str) else repr(v)


# -- shapes ----------------------------------------------------------------------------------------
# Square shapes too: a rewrite that mixes up axes of equal size is only visible in the values.
BASES: Tuple[Shape, ...] = ((2, 3), (4,), (2, 3, 2), (3, 3), (2, 2, 2))


def family(base: Shape) -> List[Shape]:
    """base and every shape that broadcasts to it: trailing parts with any sizes set to 1."""
    out = []
    for k in range(len(base) + 1):
        tail = base[len(base) - k:]
        for mask in itertools.product((False, True), repeat=k):
            out.append(tuple(1 if m else d for d, m in zip(tail, mask)))
    return out


def broadcastable(*shapes: Shape) -> bool:
    try:
        np.broadcast_shapes(*shapes)
        return True
    except ValueError:
        return False


# -- ops: how to draw a step's operands and parameters, and how to build it ------------------------
@dataclass(frozen=True)
class Op:
    draw: Callable      # (draw, shapes) -> params tuple, or None where the op cannot apply
    build: Callable     # (lib, values, *params) -> value


OPS: Dict[str, Op] = {}


def op(name: str, draw: Callable):
    def register(build):
        OPS[name] = Op(draw, build)
        return build
    return register


def _pick(draw, candidates: list):
    """One of the candidates (earlier values), the most recent one half the time, so that steps
    chain into deep expressions rather than many shallow ones."""
    if not candidates:
        return None
    if draw(st.booleans()):
        return candidates[-1]
    return candidates[draw(st.integers(0, len(candidates) - 1))]


def _any(draw, shapes, rank=0):
    """Index of an earlier value of at least this rank (None if there is none)."""
    return _pick(draw, [i for i, s in enumerate(shapes) if len(s) >= rank])


def _partner(draw, shapes, *indices):
    """Index of a value that broadcasts with all the given ones (at least themselves do)."""
    return _pick(draw, [j for j, s in enumerate(shapes)
                        if broadcastable(s, *(shapes[i] for i in indices))])


def unary(draw, shapes):
    return (_any(draw, shapes),)


def binary(draw, shapes):
    i = _any(draw, shapes)
    return i, _partner(draw, shapes, i)


def bounded(L, x):
    """3 * tanh(x): keeps exp/sigmoid patterns away from overflow and from 1 - sigmoid(x) == 0."""
    return L.mul(L.tanh(x), 3.0)


def positive(L, x):
    return L.add(L.softplus(x), 0.1)


def _unary_ops():
    table = {
        "negative": lambda L, x: L.neg(x),
        "square": lambda L, x: L.square(x),
        "tanh": lambda L, x: L.tanh(x),
        "sigmoid": lambda L, x: L.sigmoid(x),
        "relu": lambda L, x: L.relu(x),
        "softplus": lambda L, x: L.softplus(x),
        "abs": lambda L, x: L.abs(x),
        "exp_bounded": lambda L, x: L.exp(L.tanh(x)),
        "log_positive": lambda L, x: L.log(positive(L, x)),
        "sqrt_positive": lambda L, x: L.sqrt(positive(L, x)),
        "sqrt_exp": lambda L, x: L.sqrt(L.exp(bounded(L, x))),
        "clip": lambda L, x: L.clip(x, -0.7, 0.6),
        "times_zero": lambda L, x: L.mul(x, 0.0),  # -0.0 where x < 0 (and never folded to 0)
        # simplifier patterns
        "mul_one": lambda L, x: L.mul(x, 1.0),
        "one_mul": lambda L, x: L.mul(1.0, x),
        "mul_minus_one": lambda L, x: L.mul(x, -1.0),
        "add_zero": lambda L, x: L.add(x, 0.0),
        "zero_add": lambda L, x: L.add(0.0, x),
        "sub_zero": lambda L, x: L.sub(x, 0.0),
        "zero_sub": lambda L, x: L.sub(0.0, x),
        "div_one": lambda L, x: L.div(x, 1.0),
        "pow_one": lambda L, x: L.pow(x, 1.0),
        "neg_neg": lambda L, x: L.neg(L.neg(x)),
        "identity": lambda L, x: L.identity(x),
        "stop_gradient": lambda L, x: L.add(x, L.stop_gradient(L.square(x))),
        "cast_same": lambda L, x: L.cast_same(x),
        "cast_roundtrip": lambda L, x: L.cast_roundtrip(x),
        "add_n_one": lambda L, x: L.add_n([x]),
        # stabilizer patterns
        "log_sigmoid": lambda L, x: L.log(L.sigmoid(bounded(L, x))),
        "log_one_minus_sigmoid": lambda L, x: L.log(L.sub(1.0, L.sigmoid(bounded(L, x)))),
        "log_one_plus_exp": lambda L, x: L.log(L.add(1.0, L.exp(bounded(L, x)))),
        "log_exp_plus_one": lambda L, x: L.log(L.add(L.exp(bounded(L, x)), 1.0)),
        "log_exp": lambda L, x: L.log(L.exp(bounded(L, x))),
    }
    for name, fn in table.items():
        op(name, unary)(lambda L, v, i, fn=fn: fn(L, v[i]))


def _binary_ops():
    table = {
        "add": lambda L, a, b: L.add(a, b),
        "subtract": lambda L, a, b: L.sub(a, b),
        "multiply": lambda L, a, b: L.mul(a, b),
        "maximum": lambda L, a, b: L.maximum(a, b),
        "minimum": lambda L, a, b: L.minimum(a, b),
        "divide": lambda L, a, b: L.div(a, L.add(1.0, L.square(b))),
        "where_greater": lambda L, a, b: L.where(L.greater(a, b), a, b),
        "sigmoid_xent": lambda L, a, b: L.sxent(L.sigmoid(a), b),
        # simplifier patterns
        "add_negative": lambda L, a, b: L.add(a, L.neg(b)),
        "negative_add": lambda L, a, b: L.add(L.neg(a), b),
        "sub_negative": lambda L, a, b: L.sub(a, L.neg(b)),
        "neg_times_neg": lambda L, a, b: L.mul(L.neg(a), L.neg(b)),
        "neg_of_neg_times": lambda L, a, b: L.neg(L.mul(L.neg(a), b)),
        "neg_of_times_neg": lambda L, a, b: L.neg(L.mul(a, L.neg(b))),
        "times_ones_like": lambda L, a, b: L.mul(a, L.ones_like(b)),
        "plus_zeros_like": lambda L, a, b: L.add(a, L.zeros_like(b)),
        "where_true": lambda L, a, b: L.where(True, a, b),
        "where_false": lambda L, a, b: L.where(False, a, b),
    }
    for name, fn in table.items():
        op(name, binary)(lambda L, v, i, j, fn=fn: fn(L, v[i], v[j]))


_unary_ops()
_binary_ops()


def _pow_draw(draw, shapes):
    return _any(draw, shapes), draw(st.sampled_from([2.0, 3.0, 0.5, -1.5, 1.0]))


@op("power", _pow_draw)
def _power(L, v, i, c):
    base = v[i] if float(c).is_integer() else positive(L, v[i])
    return L.pow(base, c)


def _where4_draw(draw, shapes):
    a = _any(draw, shapes)
    b = _partner(draw, shapes, a)
    c = _partner(draw, shapes, a, b)
    return a, b, c, _partner(draw, shapes, a, b, c)


@op("where", _where4_draw)
def _where4(L, v, a, b, c, d):
    return L.where(L.greater(v[a], v[b]), v[c], v[d])


def _axis_draw(draw, rank):
    """None, one axis or two (as a tuple), possibly negative."""
    if rank == 0:
        return None
    kind = draw(st.sampled_from(["none", "one", "two"] if rank > 1 else ["none", "one"]))
    if kind == "none":
        return None
    axes = draw(st.permutations(range(rank)))[:1 if kind == "one" else 2]
    axes = tuple(a - rank if draw(st.booleans()) else a for a in axes)
    return axes[0] if kind == "one" else axes


def _reduce_draw(draw, shapes):
    i = _any(draw, shapes)
    return i, _axis_draw(draw, len(shapes[i])), draw(st.booleans())


for _name in ("reduce_sum", "reduce_mean", "reduce_max"):
    op(_name, _reduce_draw)(
        lambda L, v, i, axis, keep, _name=_name: getattr(L, _name)(v[i], axis, keep))


def _softmax_draw(draw, shapes):
    i = _any(draw, shapes, rank=1)
    if i is None:
        return None
    rank = len(shapes[i])
    return i, draw(st.integers(-rank, rank - 1))


op("softmax", _softmax_draw)(lambda L, v, i, axis: L.softmax(v[i], axis))
op("log_softmax", _softmax_draw)(lambda L, v, i, axis: L.log_softmax(v[i], axis))
op("log_of_softmax", _softmax_draw)(  # stabilizer: log(softmax(x)) -> log_softmax(x)
    lambda L, v, i, axis: L.log(L.softmax(bounded(L, v[i]), axis)))


def _swap_last(s: Shape) -> Shape:
    return s[:-2] + s[-1:] + s[-2:-1] if len(s) >= 2 else s


def _swap_perm(rank: int):
    return tuple(range(rank - 2)) + (rank - 1, rank - 2)


def _matmul_ok(a: Shape, b: Shape) -> bool:
    if not a or not b or a[-1] != (b[0] if len(b) == 1 else b[-2]):
        return False
    return broadcastable(a[:-2], b[:-2])


def _matmul_draw(draw, shapes):
    i = _any(draw, shapes, rank=1)
    if i is None:
        return None
    ok = [(j, _swap_perm(len(s)) if t else None) for j, s in enumerate(shapes)
          for t in (False, True)
          if (len(s) >= 2 or not t) and _matmul_ok(shapes[i], _swap_last(s) if t else s)]
    return (i,) + _pick(draw, ok)  # never empty: x @ x (1-D) or x @ x^T


@op("matmul", _matmul_draw)
def _matmul(L, v, i, j, perm):
    return L.matmul(v[i], v[j] if perm is None else L.transpose(v[j], perm))


def _perm_draw(draw, rank):
    return draw(st.one_of(st.none(), st.permutations(range(rank)).map(tuple)))


def _transpose_draw(draw, shapes):
    i = _any(draw, shapes, rank=1)
    if i is None:
        return None
    return i, _perm_draw(draw, len(shapes[i]))


op("transpose", _transpose_draw)(lambda L, v, i, perm: L.transpose(v[i], perm))


def _transpose2_draw(draw, shapes):
    i = _any(draw, shapes, rank=1)
    if i is None:
        return None
    rank = len(shapes[i])
    p = draw(st.permutations(range(rank)).map(tuple))
    kind = draw(st.sampled_from(["inverse", "random", "none"]))
    if kind == "inverse":
        q = tuple(int(k) for k in np.argsort(p))
    else:
        q = None if kind == "none" else draw(st.permutations(range(rank)).map(tuple))
    return i, p, q


# simplifier: transpose(transpose(x, p), q) -> x or one transpose
op("transpose_transpose", _transpose2_draw)(
    lambda L, v, i, p, q: L.transpose(L.transpose(v[i], p), q))


def _reshapes(s: Shape) -> List[Shape]:
    n = int(np.prod(s))
    out = {(n,), (-1,), (1, n), (n, 1), tuple(reversed(s)), s + (1,), (1,) + s}
    out.update((a, n // a) for a in range(1, n + 1) if n % a == 0)
    out.update((a, -1, 1) for a in range(1, n + 1) if n % a == 0)
    if len(s) >= 2:
        out.add((-1, s[-1]))
    return sorted(out)


def _reshape2_draw(draw, shapes):
    i = _any(draw, shapes)
    s = shapes[i]
    first = draw(st.sampled_from(_reshapes(s)))
    second = draw(st.sampled_from([s] + _reshapes(s)))
    return i, first, second


# simplifier: reshape(reshape(x)) -> reshape(x), or x itself on a round trip
op("reshape_reshape", _reshape2_draw)(
    lambda L, v, i, s1, s2: L.reshape(L.reshape(v[i], s1), s2))


def _expand_draw(draw, shapes):
    i = _any(draw, shapes)
    rank = len(shapes[i])
    return i, draw(st.integers(-rank - 1, rank))


op("expand_dims", _expand_draw)(lambda L, v, i, axis: L.expand_dims(v[i], axis))
op("expand_squeeze", _expand_draw)(
    lambda L, v, i, axis: L.squeeze(L.expand_dims(v[i], axis), axis))


def _squeeze_draw(draw, shapes):
    return _pick(draw, [(i, a) for i, s in enumerate(shapes) for a in range(len(s)) if s[a] == 1])


op("squeeze", _squeeze_draw)(lambda L, v, i, axis: L.squeeze(v[i], axis))


def _concat_draw(draw, shapes):
    i = _any(draw, shapes, rank=1)
    if i is None:
        return None
    s = shapes[i]
    axis = draw(st.integers(-len(s), len(s) - 1))
    a = axis % len(s)
    ok = [j for j, t in enumerate(shapes)
          if len(t) == len(s) and t[:a] == s[:a] and t[a + 1:] == s[a + 1:]]
    return i, _pick(draw, ok), axis


op("concat", _concat_draw)(lambda L, v, i, j, axis: L.concat(v[i], v[j], axis))


def _tied_draw(draw, shapes):
    i = _any(draw, shapes, rank=1)
    if i is None:
        return None
    rank = len(shapes[i])
    return i, draw(st.integers(-rank, rank - 1)), draw(st.booleans())


# exact ties: the gradient is split evenly among them, by every executor and by torch
op("reduce_max_tied", _tied_draw)(
    lambda L, v, i, axis, keep: L.reduce_max(L.concat(v[i], v[i], axis), axis, keep))
op("maximum_tied", unary)(lambda L, v, i: L.maximum(v[i], L.identity(v[i])))


def _index_draw(draw, shapes):
    i = _any(draw, shapes, rank=1)
    if i is None:
        return None
    s = shapes[i]
    axis = draw(st.integers(0, len(s) - 1))
    d = s[axis]
    if draw(st.booleans()):
        item = draw(st.integers(-d, d - 1))
    else:
        start = draw(st.integers(0, d - 1))
        item = slice(start, draw(st.integers(start + 1, d)))
    index = (slice(None),) * axis + (item,)
    if draw(st.booleans()):
        index = (Ellipsis,) + index[axis:] if axis == len(s) - 1 else index + (None,)
    return i, index


op("getitem", _index_draw)(lambda L, v, i, index: L.getitem(v[i], index))


def _broadcast_draw(draw, shapes):
    i, j = binary(draw, shapes)
    return i, j, np.broadcast_shapes(shapes[i], shapes[j])


op("broadcast_to", _broadcast_draw)(lambda L, v, i, j, s: L.broadcast_to(v[i], s))
# simplifier: f(broadcast_to(x)) -> broadcast_to(f(x)); broadcast_to(a) * b -> a * b
op("negative_of_broadcast", _broadcast_draw)(
    lambda L, v, i, j, s: L.neg(L.broadcast_to(v[i], s)))
op("broadcast_times", _broadcast_draw)(
    lambda L, v, i, j, s: L.mul(L.broadcast_to(v[i], s), v[j]))


def _add_n_draw(draw, shapes):
    i = _any(draw, shapes)
    same = [j for j, s in enumerate(shapes) if s == shapes[i]]
    return (tuple([i] + draw(st.lists(st.sampled_from(same), min_size=1, max_size=3))),)


op("add_n", _add_n_draw)(lambda L, v, idx: L.add_n([v[i] for i in idx]))


def _argmax_draw(draw, shapes):
    i = _any(draw, shapes, rank=1)
    if i is None:
        return None
    axis = draw(st.integers(0, len(shapes[i]) - 1))
    return i, axis, shapes[i][axis]


# not differentiable: argmax's result is an int tensor, so no gradient is asked through it
op("one_hot_argmax", _argmax_draw)(
    lambda L, v, i, axis, depth: L.one_hot_argmax(v[i], axis, depth))


def _const_draw(draw, shapes):
    kind = draw(st.sampled_from(["random", "random", "ones", "zeros", "minus_ones"]))
    if kind != "random" and draw(st.booleans()):
        shape = shapes[_any(draw, shapes)]  # same shape as a value: x * ones -> x
    else:
        shape = draw(st.sampled_from(shapes.family))
    return shape, kind, draw(st.integers(0, 2**16))


@op("constant", _const_draw)
def _constant(L, v, shape, kind, seed):
    if kind == "random":
        value = np.random.default_rng(seed).standard_normal(shape)
    else:
        value = np.full(shape, {"ones": 1.0, "zeros": 0.0, "minus_ones": -1.0}[kind])
    return L.const(value)


class Shapes(list):
    """The shapes of the values built so far, and the broadcast family of the program."""

    family: List[Shape] = []
OP_NAMES = sorted(OPS)


# -- programs --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Program:
    inputs: Tuple[Shape, ...]
    steps: Tuple[Tuple[str, tuple], ...]
    fetch_extra: Tuple[int, ...]   # indices of values fetched besides the output
    seed: int
    # How each placeholder is declared: "known" (its shape), "batch" (first size None), "sizes"
    # (every size None) or "rank" (shape=None). Unknown sizes leave autodiff's run-time-shaped
    # helpers (sum_to, broadcast_like, reshape_like) for the compiler to make static.
    declared: Tuple[str, ...] = ()

    def declared_shape(self, i: int):
        kind = self.declared[i] if self.declared else "known"
        s = self.inputs[i]
        if kind == "rank":
            return None
        if kind == "sizes":
            return (None,) * len(s)
        if kind == "batch" and s:
            return (None,) + s[1:]
        return s

    def build(self, lib, inputs) -> list:
        values = list(inputs)
        for name, params in self.steps:
            values.append(OPS[name].build(lib, values, *params))
        return values

    def output_shape(self) -> Shape:
        with torch.no_grad():
            zeros = [torch.zeros(s, dtype=torch.float64) for s in self.inputs]
            return tuple(self.build(TorchLib(), zeros)[-1].shape)

    def arrays(self, dtype) -> List[np.ndarray]:
        """Random normals, about one in six of them a zero of either sign: exact zeros meet the
        kinks (relu, abs, maximum, clip...) where every executor follows torch's conventions, and
        signed zeros test that rewrites keep them."""
        rng = np.random.default_rng(self.seed)
        out = []
        for s in self.inputs:
            a = rng.standard_normal(s)
            zero = rng.random(s) < 1 / 6
            a = np.where(zero, np.copysign(0.0, a), a)
            out.append(np.asarray(a, dtype))
        return out

    def text(self) -> str:
        """The program as pseudo-code, one line per step."""
        lines = [f"x{i} = placeholder(shape={self.declared_shape(i)})  # fed {s}"
                 for i, s in enumerate(self.inputs)]
        names = [f"x{i}" for i in range(len(self.inputs))]
        for name, params in self.steps:
            expr = OPS[name].build(TextLib(), names, *params)
            names.append(f"v{len(names)}")
            lines.append(f"{names[-1]} = {expr}  # {name}")
        lines.append(f"fetch {names[-1]}, extra {[names[k] for k in self.fetch_extra]}, "
                     f"seed {self.seed}")
        return "\n".join(lines)


@st.composite
def programs(draw, max_steps: int = 10, ops: Tuple[str, ...] = ()) -> Program:
    """A random program of at most max_steps steps of the given ops (default: all)."""
    ops = ops or OP_NAMES
    base = draw(st.sampled_from(BASES))
    shapes_of_family = family(base)
    n_inputs = draw(st.integers(1, 3))
    inputs = [base] + [draw(st.sampled_from(shapes_of_family)) for _ in range(n_inputs - 1)]
    inputs = list(draw(st.permutations(inputs)))
    values = [torch.zeros(s, dtype=torch.float64) for s in inputs]
    shapes = Shapes(inputs)
    shapes.family = shapes_of_family
    steps = []
    lib = TorchLib()
    for _ in range(draw(st.integers(1, max_steps))):
        if steps and draw(st.integers(0, 9)) == 0:
            step = draw(st.sampled_from(steps))  # the same expression again: work for CSE
        else:
            name = draw(st.sampled_from(ops))
            params = OPS[name].draw(draw, shapes)
            if params is None:  # the op does not apply to these shapes
                name, params = "tanh", unary(draw, shapes)
            step = (name, params)
        with torch.no_grad():
            value = OPS[step[0]].build(lib, values, *step[1])
        steps.append(step)
        values.append(value)
        shapes.append(tuple(value.shape))
    extra = draw(st.lists(st.integers(0, len(shapes) - 2), max_size=2, unique=True)
                 if len(shapes) > 1 else st.just([]))
    declared = tuple(draw(st.sampled_from(DECLARED)) for _ in inputs)
    return Program(tuple(inputs), tuple(steps), tuple(extra), draw(st.integers(0, 2**32 - 1)),
                   declared)


DECLARED = ("known", "known", "batch", "sizes", "rank")


# -- running a program -----------------------------------------------------------------------------
def _cotangent(prog: Program, shape: Shape, dtype) -> np.ndarray:
    return np.asarray(np.random.default_rng(prog.seed + 1).standard_normal(shape), dtype)


def _labels(prog: Program) -> List[str]:
    return (["output"] + [f"value of {'x' if k < len(prog.inputs) else 'v'}{k}"
                          for k in prog.fetch_extra]
            + [f"gradient of x{i}" for i in range(len(prog.inputs))])


def run_torch(prog: Program, arrays: List[np.ndarray]) -> List[np.ndarray]:
    """Output, extra fetches and the gradient of sum(out * cotangent) for every input."""
    xs = [torch.tensor(a, requires_grad=True) for a in arrays]
    values = prog.build(TorchLib(), xs)
    out = values[-1]
    cot = _cotangent(prog, tuple(out.shape), np.float64)
    loss = torch.sum(out * torch.tensor(cot))
    grads = (torch.autograd.grad(loss, xs, allow_unused=True) if loss.requires_grad
             else [None] * len(xs))
    return ([out.detach().numpy()] + [values[k].detach().numpy() for k in prog.fetch_extra]
            + [np.zeros_like(a) if g is None else g.numpy() for a, g in zip(arrays, grads)])


class Unsupported(Exception):
    """The program uses a documented limitation (indexing or matmul of a tensor of unknown rank)."""


class GFProgram:
    """The program built in its own graph, with the gradient of sum(out * cotangent)."""

    def __init__(self, prog: Program, dtype):
        self.prog = prog
        self.graph = gf.Graph()
        with self.graph.as_default():
            self.xs = [gf.placeholder(dtype, shape=prog.declared_shape(i), name=f"x{i}")
                       for i in range(len(prog.inputs))]
            try:
                values = prog.build(GFLib(dtype), self.xs)
            except gf.ShapeError as exc:
                if "rank" in prog.declared and "known rank" in str(exc):
                    raise Unsupported(str(exc)) from None
                raise
            out = values[-1]
            cot = _cotangent(prog, prog.output_shape(), dtype)
            self.grads = gf.gradients(gf.reduce_sum(out * gf.constant(cot)), self.xs)
        self.fetches = ([out] + [values[k] for k in prog.fetch_extra]
                        + [g for g in self.grads if g is not None])

    def session(self, optimize: bool, passes=None, backend: str = "numpy") -> gf.Session:
        device = "cpu" if backend == "torch" else None
        return gf.Session(self.graph, optimize=optimize, check=optimize, passes=passes,
                          backend=backend, device=device)

    def run(self, sess: gf.Session, arrays: List[np.ndarray]) -> List[np.ndarray]:
        with warnings.catch_warnings():
            # The compiled path must not fall back to the interpreter.
            warnings.filterwarnings("error", message="graphflow:")
            got = iter(sess.run(self.fetches, dict(zip(self.xs, arrays))))
        n = 1 + len(self.prog.fetch_extra)
        head = [np.asarray(next(got)) for _ in range(n)]
        return head + [np.zeros_like(a) if g is None else np.asarray(next(got))
                       for a, g in zip(arrays, self.grads)]


def well_behaved(results: List[np.ndarray]) -> bool:
    return all(np.all(np.isfinite(r)) and np.all(np.abs(r) <= LIMIT) for r in results)


def assert_agree(prog: Program, got: List[np.ndarray], want: List[np.ndarray], what: str,
                 rtol: float, atol: float):
    for label, g, w in zip(_labels(prog), got, want):
        assert g.shape == w.shape, f"{label}: shape {g.shape} != {w.shape} ({what})\n{prog.text()}"
        np.testing.assert_allclose(g, w, rtol=rtol, atol=atol,
                                   err_msg=f"{label} ({what})\n{prog.text()}")


def check_program(prog: Program, passes: Optional[List[str]] = None, accept=assume,
                  backend: str = "numpy"):
    """Interpreter, compiled program (every pass, and the `passes` subset when given, on
    `backend`) and torch agree in float64; the compiled program's results survive a second run
    with other feeds, which agrees with the interpreter too. `accept(condition)` drops examples
    outside the domain."""
    arrays = prog.arrays(np.float64)
    want = run_torch(prog, arrays)
    accept(well_behaved(want))
    try:
        gfp = GFProgram(prog, np.float64)
    except Unsupported:
        accept(False)
        return
    interpreter, compiled = gfp.session(optimize=False), gfp.session(optimize=True)
    interpreted = gfp.run(interpreter, arrays)
    assert_agree(prog, interpreted, want, "interpreter vs torch", RTOL, ATOL)
    first = gfp.run(compiled, arrays)
    assert_agree(prog, first, want, "compiled vs torch", RTOL, ATOL)
    assert_agree(prog, first, interpreted, "compiled vs interpreter", RTOL, ATOL)
    on_torch = gfp.run(gfp.session(optimize=True, backend="torch"), arrays)
    assert_agree(prog, on_torch, want, "torch backend vs torch", RTOL, ATOL)
    assert_agree(prog, on_torch, first, "torch backend vs numpy backend", RTOL, ATOL)
    if passes is not None:
        session = gfp.session(optimize=True, passes=passes, backend=backend)
        some = gfp.run(session, arrays)
        assert_agree(prog, some, want, f"{backend}, passes {passes} vs torch", RTOL, ATOL)
        if backend != "numpy":  # and again with other feeds: buffers reused, nothing stale
            again = gfp.run(session, [a * 0.5 + 0.25 for a in arrays])
            other = gfp.run(interpreter, [a * 0.5 + 0.25 for a in arrays])
            if well_behaved(other):
                assert_agree(prog, again, other, f"{backend}, second feed", RTOL, ATOL)

    kept = [np.array(r) for r in first]
    other = [a * 0.5 + 0.25 for a in arrays]
    again = gfp.run(compiled, other)
    for label, r, k in zip(_labels(prog), first, kept):
        np.testing.assert_array_equal(r, k, err_msg=f"{label}: a later run overwrote a returned "
                                                    f"array\n{prog.text()}")
    expected = gfp.run(interpreter, other)
    if well_behaved(expected):
        assert_agree(prog, again, expected, "compiled vs interpreter, second feed", RTOL, ATOL)


def _require(condition: bool):
    assert condition, "the hand-picked example left the domain of the generator"


# -- the properties --------------------------------------------------------------------------------
@DIFFERENTIAL
@given(programs(), st.lists(st.sampled_from(DEFAULT_PASSES), unique=True))
def test_compiled_interpreter_and_torch_agree(prog, passes):
    check_program(prog, passes)


# Fused chains (numba loops where installed) against the interpreter, which never fuses; fewer
# examples, since each new chain is a compile.
@settings(DIFFERENTIAL, max_examples=40)
@given(programs())
def test_fused_programs_agree(prog):
    check_program(prog, list(DEFAULT_PASSES) + ["fuse"])


# The native backend (runs of statements compiled to C) against the same references; as few
# examples as the fused test, each new run being a compile.
@settings(DIFFERENTIAL, max_examples=40)
@given(programs())
def test_native_programs_agree(prog):
    with mock.patch.object(segments, "MIN_STATEMENTS", 1):  # single ops compiled too
        check_program(prog, list(DEFAULT_PASSES), backend="native")


@FLOAT32
@given(programs())
def test_float32_compiled_matches_float32_interpreter(prog):
    arrays = prog.arrays(np.float32)
    try:
        gfp = GFProgram(prog, np.float32)
    except Unsupported:
        assume(False)
    interpreted = gfp.run(gfp.session(optimize=False), arrays)
    assume(well_behaved(interpreted))
    compiled = gfp.run(gfp.session(optimize=True), arrays)
    on_torch = gfp.run(gfp.session(optimize=True, backend="torch"), arrays)
    for r in compiled + on_torch:
        assert r.dtype == np.float32, r.dtype
    assert_agree(prog, compiled, interpreted, "float32 compiled vs interpreter", RTOL32, ATOL32)
    assert_agree(prog, on_torch, compiled, "float32 torch vs numpy backend", RTOL32, ATOL32)


SWEEP_SHAPES = ((2, 3), (3,), (2, 1))


@pytest.mark.parametrize("declared", [("known",) * 3, ("batch", "sizes", "rank")],
                         ids=["known-shapes", "unknown-shapes"])
@pytest.mark.parametrize("name", OP_NAMES)
def test_each_op_of_the_generator(name, declared):
    """Every op of the generator at least once, whatever hypothesis happens to draw: a program of
    that one step, its parameters the first that the op's strategy draws."""
    shapes = Shapes(SWEEP_SHAPES)
    shapes.family = family(SWEEP_SHAPES[0])
    params = first_draw(lambda draw: OPS[name].draw(draw, shapes))
    assert params is not None, name
    check_program(Program(SWEEP_SHAPES, ((name, params),), (), 7, declared), accept=_require)


def first_draw(fn):
    """What fn(draw) returns for hypothesis's first (simplest) choices."""
    found = []

    @settings(max_examples=1, database=None, derandomize=True, phases=[Phase.generate])
    @given(st.data())
    def run(data):
        found.append(fn(data.draw))
    run()
    return found[0]


# -- exactness -------------------------------------------------------------------------------------
# Without the stabilizer (whose rewrites change values on purpose) the passes claim to be exact:
# fold runs the kernels themselves, CSE merges equal nodes, the simplifier's rewrites are "exact
# rewrites only" (compiler/passes/simplify.py). So compiled and interpreted results must be the
# same bits, signed zeros included (1 / -0.0 is -inf). matmul is left out: BLAS may pick another
# summation order for another memory layout.
EXACT_PASSES = [p for p in DEFAULT_PASSES if p != "stabilize"]
EXACT_OPS = tuple(n for n in OP_NAMES if n != "matmul")


def assert_same_bits(prog: Program, got: List[np.ndarray], want: List[np.ndarray], what: str):
    for label, g, w in zip(_labels(prog), got, want):
        assert g.shape == w.shape, f"{label}: shape {g.shape} != {w.shape} ({what})\n{prog.text()}"
        same = (g == w) & (np.signbit(g) == np.signbit(w)) | (np.isnan(g) & np.isnan(w))
        if not np.all(same):
            raise AssertionError(f"{label} ({what}): {g[~same] if g.ndim else g} != "
                                 f"{w[~same] if w.ndim else w}\n{prog.text()}")


@settings(DIFFERENTIAL, max_examples=150)
@given(programs(ops=EXACT_OPS))
def test_passes_without_stabilizer_are_exact(prog):
    arrays = prog.arrays(np.float64)
    try:
        gfp = GFProgram(prog, np.float64)
    except Unsupported:
        assume(False)
    interpreted = gfp.run(gfp.session(optimize=False), arrays)
    compiled = gfp.run(gfp.session(optimize=True, passes=EXACT_PASSES), arrays)
    assert_same_bits(prog, compiled, interpreted, "compiled without stabilize vs interpreter")


# -- regressions found by the properties above -----------------------------------------------------
# The simplifier's "exact" rewrites x + 0 -> x, 0 + x -> x, 0 - x -> -x and "a sum or mean over
# size-1 axes is a reshape" do not keep the sign of a zero: in IEEE arithmetic (numpy, torch, the
# interpreter) -0.0 + 0 and 0 - 0.0 are +0.0, and numpy's sum of [-0.0] is +0.0, but the rewritten
# graph returns -0.0. 1 / that is -inf instead of +inf. (Found by
# test_passes_without_stabilizer_are_exact; the tolerance-based tests cannot see a zero's sign.)
SIGNED_ZERO_CASES = {
    "x + 0": lambda L, x: L.add(x, 0.0),
    "0 + x": lambda L, x: L.add(0.0, x),
    "0 - x": lambda L, x: L.sub(0.0, x),
    "x + zeros_like(x)": lambda L, x: L.add(x, L.zeros_like(x)),
    "reduce_sum over a size-1 axis": lambda L, x: L.reduce_sum(L.expand_dims(x, 1), 1, False),
    "reduce_mean over a size-1 axis": lambda L, x: L.reduce_mean(L.expand_dims(x, 1), 1, False),
}


@pytest.mark.parametrize("case", sorted(SIGNED_ZERO_CASES))
def test_simplifier_keeps_the_sign_of_zero(case):
    build = SIGNED_ZERO_CASES[case]
    value = np.array([-0.0, 0.0, 2.0])
    want = (1.0 / build(TorchLib(), torch.tensor(value))).numpy()  # IEEE: [inf, inf, 0.5]
    x = gf.placeholder(gf.float64, (3,))
    y = 1.0 / build(GFLib(np.float64), x)
    for sess in (gf.Session(optimize=False), gf.Session(check=True)):
        got = sess.run(y, {x: value})
        np.testing.assert_array_equal(got, want, err_msg=f"1 / ({case}) at x = {value}, "
                                                         f"optimize={sess.optimize}")
