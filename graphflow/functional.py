"""Functional transforms: plain Python functions of graphflow ops, traced, compiled and cached.

    @gf.function
    def f(x, w):
        return gf.reduce_sum(gf.tanh(x @ w) ** 2)

    f(x, w)                                  # traces f into its own graph, compiles, runs
    gf.grad(f, argnums=(0, 1))(x, w)         # (df/dx, df/dw) as numpy arrays
    gf.hessian(f)(x, w); gf.jacobian(g)(x); gf.jvp(g, (x,), (t,)); gf.hvp(f, (x, w), (v, u))

Each transformed function traces its Python function once per input signature (the shape and
dtype of every argument) into a new `gf.Graph` whose placeholders stand for the arguments, adds
the derivative nodes symbolically (`gf.gradients`), compiles the result with the full pass
pipeline (`gf.Session(graph=...).make_callable`), caches it, and runs it. Later calls with the
same signature run the cached program without calling the Python function again.

Arguments: numpy arrays keep their dtype; anything else goes through `np.asarray`, so Python
floats become float64 0-d arrays, ints int64 and bools bool (numpy's rules, not TF1's float32).
Results have the structure f returns (a tensor or a nest of tuples/lists/dicts of them) with
numpy values; a 0-d result is a numpy scalar, as `Session.run` returns it.

Called with tensors instead of arrays (inside another trace), a transformed function adds its
nodes to the tensors' graph and returns tensors, so transforms compose:
`gf.jacobian(gf.grad(f))` is the Hessian, and `gf.hessian` is built exactly that way.
The conventions (argnums, result shapes, tuples) are those of torch.func and JAX.
"""

from __future__ import annotations

import inspect
import weakref
from typing import Any, Callable, Dict, List, Sequence, Tuple, Union

import numpy as np

from compiler import dtypes as _dt
from compiler.autodiff import gradients
from compiler.graph import Graph, Node, Operation, graph_of
from compiler.ops.array import stack
from compiler.ops.core import constant, placeholder
from compiler.ops.elementwise import zeros_like
from compiler.ops.reduce import add_n, reduce_sum
from compiler.ops.shape import reshape
from compiler.program import Program
from compiler.shapes import fmt, num_elements

from .session import Session, _flatten

__all__ = ["function", "grad", "value_and_grad", "jacobian", "hessian", "hvp", "jvp",
           "TracedFunction"]

ArgNums = Union[int, Tuple[int, ...]]


class _Trace:
    """One signature's traced graph, its session and the compiled program."""

    def __init__(self, graph: Graph, session: Session, program: Program, rebuild, slots):
        self.graph, self.session, self.program = graph, session, program
        self._rebuild, self._slots = rebuild, slots  # slots: False where f returned None

    def run(self, values: Sequence[np.ndarray]):
        outs = iter(self.program(*values))
        return self._rebuild([next(outs) if fetched else None for fetched in self._slots])


class TracedFunction:
    """A Python function of graphflow ops, traced and compiled once per input signature.

    Call it with arrays (or Python numbers) to run it; with tensors, to add its nodes to their
    graph. `.traces` counts the traces made so far, `.program(*args)` is the compiled Program
    for the arguments' signature (`print(fn.program(x).source)`), `.graph(*args)` its traced graph.
    """

    def __init__(self, build: Callable[..., Any], name: str, arg_names: Sequence[str] = (),
                 split: bool = False):
        self._build = build
        self.__name__ = self.__qualname__ = name
        self.arg_names = tuple(arg_names)
        self._split = split  # arguments are primals then tangents (hvp, jvp)
        self._cache: Dict[tuple, _Trace] = {}  # (shape, dtype) of each argument -> its trace
        self.traces = 0

    def __call__(self, *args):
        if any(isinstance(a, Node) for a in args):
            return self._build(*_as_tensors(args))
        values = self._values(args)
        return self._trace(values).run(values)

    def program(self, *args) -> Program:
        """The compiled Program for these arguments' signature (traced now if it is new)."""
        return self._trace(self._values(args)).program

    def graph(self, *args) -> Graph:
        """The graph traced for these arguments' signature (traced now if it is new)."""
        return self._trace(self._values(args)).graph

    cache_size = property(lambda self: len(self._cache), doc="signatures compiled so far")

    def __repr__(self) -> str:
        return f"<gf.function {self.__name__} traces={self.traces}>"

    def _values(self, args) -> List[np.ndarray]:
        values = []
        for i, a in enumerate(args):
            arr = a if isinstance(a, np.ndarray) else np.asarray(a)
            if arr.dtype not in _dt.SUPPORTED:
                raise TypeError(f"{self.__name__}: argument {i} has dtype {arr.dtype}; graphflow "
                                f"takes {', '.join(d.name for d in _dt.SUPPORTED)}")
            values.append(arr)
        return values

    def _trace(self, values: Sequence[np.ndarray]) -> _Trace:
        key = tuple((v.shape, v.dtype) for v in values)
        trace = self._cache.get(key)
        if trace is None:
            trace = self._cache[key] = self._new_trace(values)
        return trace

    def _placeholder_names(self, n: int) -> List[str]:
        """f's parameter names (arg<i> past them); tangents of products get t_<name>."""
        m = n // 2 if self._split else n
        names = [self.arg_names[i] if i < len(self.arg_names) else f"arg{i}" for i in range(m)]
        return names + [f"t_{name}" for name in names] if self._split else names

    def _new_trace(self, values: Sequence[np.ndarray]) -> _Trace:
        graph = Graph()
        with graph.as_default():
            names = self._placeholder_names(len(values))
            args = [placeholder(v.dtype, v.shape, name=n) for v, n in zip(values, names)]
            self.traces += 1
            leaves, rebuild = _flatten(self._build(*args))
            fetches = []
            for leaf in leaves:
                if leaf is None:
                    continue
                if not isinstance(leaf, (Node, Operation)):
                    leaf = constant(np.asarray(leaf), graph=graph)
                node = leaf.node if isinstance(leaf, Operation) else leaf
                if node.graph is not graph:
                    raise ValueError(
                        f"{self.__name__} returned tensor '{node.op_name}' ({node.site}) of "
                        f"another "
                        f"graph: the function is traced into a new graph, so build every tensor "
                        f"it returns inside it, or pass the value as an argument")
                fetches.append(leaf)
            session = Session(graph=graph)
            program = session.make_callable(fetches, args)
        return _Trace(graph, session, program, rebuild, [leaf is not None for leaf in leaves])


def _as_tensors(args) -> List[Node]:
    """Arguments of a call inside a trace: tensors as they are, values as constants there."""
    graph = graph_of(args)
    return [a if isinstance(a, Node) else constant(np.asarray(a), graph=graph) for a in args]


def _arg_names(f) -> List[str]:
    if isinstance(f, TracedFunction):
        return list(f.arg_names)
    try:
        params = inspect.signature(f).parameters.values()
    except (TypeError, ValueError):
        return []
    kinds = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    return [p.name for p in params if p.kind in kinds]


def _name(f) -> str:
    return getattr(f, "__name__", type(f).__name__)


def function(f: Callable) -> TracedFunction:
    """`f` traced per input signature, compiled and cached (also a decorator: `@gf.function`).

    f takes tensors (one placeholder per argument) and returns a tensor or a nest of them (None
    leaves come back as None). See the module docstring for how arguments become arrays.
    """
    return TracedFunction(f, _name(f), _arg_names(f))


# -- reverse mode ----------------------------------------------------------------------------------
def _argnums(argnums: ArgNums, n: int, what: str) -> Tuple[int, ...]:
    nums = (argnums,) if isinstance(argnums, int) else tuple(argnums)
    if not nums or not all(isinstance(i, int) for i in nums):
        raise TypeError(f"{what}: argnums must be an int or a non-empty tuple of ints, "
                        f"got {argnums!r}")
    if any(not -n <= i < n for i in nums):
        raise ValueError(f"{what}: argnums {argnums!r} is out of range for {n} argument(s)")
    nums = tuple(i % n for i in nums)
    if len(set(nums)) != len(nums):
        raise ValueError(f"{what}: argnums {argnums!r} repeats an argument")
    return nums


def _wrt(args: Sequence[Node], nums: Tuple[int, ...], what: str) -> List[Node]:
    for i in nums:
        if not _dt.is_floating(args[i].dtype):
            raise TypeError(f"{what}: argument {i} has dtype {args[i].dtype.name}; only float "
                            f"arguments can be differentiated (pass 1.0, not 1)")
    return [args[i] for i in nums]


def _pick(per_arg: List[Node], argnums: ArgNums):
    """One result for an int argnums, a tuple of them for a tuple (torch.func, JAX)."""
    return per_arg[0] if isinstance(argnums, int) else tuple(per_arg)


def _float_tensor(value, graph: Graph, what: str) -> Node:
    """An output of f that is differentiated: a float tensor (a number becomes a constant)."""
    if value is None or isinstance(value, (Operation, list, tuple, dict)):
        raise TypeError(f"{what}: f must return a tensor here, got {value!r}")
    y = value if isinstance(value, Node) else constant(np.asarray(value), graph=graph)
    if not _dt.is_floating(y.dtype):
        raise TypeError(f"{what}: output {y.describe()} has dtype {y.dtype.name}; only float "
                        f"outputs can be differentiated")
    return y


def _scalar_output(f, args, has_aux: bool, what: str):
    out = f(*args)
    aux = None
    if has_aux:
        if not (isinstance(out, (tuple, list)) and len(out) == 2):
            raise TypeError(f"{what}: with has_aux=True f must return a pair (scalar, aux)")
        out, aux = out
    y = _float_tensor(out, graph_of(args), what)
    if y.shape != ():
        raise TypeError(f"{what}: f must return a float scalar (shape ()), but it returned "
                        f"{y.describe()} of shape {fmt(y.shape)} and dtype {y.dtype.name}; use "
                        f"gf.jacobian for other outputs")
    return y, aux


def _grads_or_zeros(ys, xs: List[Node], grad_ys=None) -> List[Node]:
    """gradients() with zeros where ys do not depend on x (torch.func and JAX give zeros)."""
    return [zeros_like(x) if g is None else g
            for x, g in zip(xs, gradients(ys, xs, grad_ys=grad_ys))]


def _value_and_grad_build(f, argnums: ArgNums, has_aux: bool, what: str):
    def build(*args):
        xs = _wrt(args, _argnums(argnums, len(args), what), what)
        y, aux = _scalar_output(f, args, has_aux, what)
        return (y, aux) if has_aux else y, _pick(_grads_or_zeros(y, xs), argnums)
    return build


def value_and_grad(f: Callable, argnums: ArgNums = 0, has_aux: bool = False) -> TracedFunction:
    """A function returning (f(*args), gradient of f with respect to args[argnums]).

    f must return a float scalar. argnums an int gives one gradient, a tuple a tuple of them.
    With has_aux=True f returns (scalar, aux) and the result is ((value, aux), gradient) (JAX).
    """
    build = _value_and_grad_build(f, argnums, has_aux, "value_and_grad")
    return TracedFunction(build, f"value_and_grad({_name(f)})", _arg_names(f))


def grad(f: Callable, argnums: ArgNums = 0, has_aux: bool = False) -> TracedFunction:
    """A function returning the gradient of f (a float scalar) with respect to args[argnums]:
    one array for an int argnums, a tuple for a tuple. With has_aux=True f returns
    (scalar, aux) and the result is (gradient, aux) (torch.func.grad)."""
    inner = _value_and_grad_build(f, argnums, has_aux, "grad")

    def build(*args):
        value, g = inner(*args)
        return (g, value[1]) if has_aux else g
    return TracedFunction(build, f"grad({_name(f)})", _arg_names(f))


def _jacobian_of(y: Node, xs: List[Node], what: str) -> List[Node]:
    """dy/dx of shape y.shape + x.shape for each x, one vector-Jacobian product per element of y
    with a basis cotangent (the rows of the Jacobian), stacked and reshaped."""
    m = num_elements(y.shape)
    if m is None:
        raise ValueError(f"{what}: output '{y.op_name}' has shape {fmt(y.shape)}; its shape must "
                         f"be "
                         f"known statically (it sets the number of Jacobian rows)")
    rows: List[List[Node]] = [[] for _ in xs]
    for i in range(m):
        basis = np.zeros(m, y.dtype)
        basis[i] = 1
        cotangent = constant(basis.reshape(y.shape), graph=y.graph, name="basis")
        for k, g in enumerate(_grads_or_zeros([y], xs, grad_ys=[cotangent])):
            rows[k].append(reshape(g, (-1,)))
    out = []
    for x, r in zip(xs, rows):
        shape = tuple(y.shape) + tuple(x.shape)
        out.append(reshape(stack(r), shape) if r else
                   constant(np.zeros(shape, x.dtype), graph=y.graph))
    return out


def jacobian(f: Callable, argnums: ArgNums = 0) -> TracedFunction:
    """A function returning the Jacobian of f with respect to args[argnums], in reverse mode
    (torch.func.jacrev): for an output y, an array of shape y.shape + x.shape. f may return a nest
    of tensors: the result has its structure, each leaf one Jacobian (a tuple of them, one per
    argument, for a tuple argnums). Builds one vector-Jacobian product per output element."""
    def build(*args):
        xs = _wrt(args, _argnums(argnums, len(args), "jacobian"), "jacobian")
        leaves, rebuild = _flatten(f(*args))
        graph = graph_of(args)
        ys = [_float_tensor(y, graph, "jacobian") for y in leaves]
        return rebuild([_pick(_jacobian_of(y, xs, "jacobian"), argnums) for y in ys])
    return TracedFunction(build, f"jacobian({_name(f)})", _arg_names(f))


def hessian(f: Callable, argnums: ArgNums = 0) -> TracedFunction:
    """A function returning the Hessian of f (a float scalar): `jacobian(grad(f, argnums),
    argnums)`, of shape x.shape + x.shape; for a tuple argnums the blocks as a tuple of tuples,
    result[i][j] = d2f / dx_i dx_j (torch.func.hessian)."""
    result = jacobian(grad(f, argnums), argnums)
    result.__name__ = result.__qualname__ = f"hessian({_name(f)})"
    result.arg_names = tuple(_arg_names(f))
    return result


# -- products with a vector: hvp and jvp take values and cache their traces per f ----------------
_products: "weakref.WeakKeyDictionary[Any, Dict[str, TracedFunction]]"
_products = weakref.WeakKeyDictionary()


def _cached(kind: str, f: Callable, make: Callable[[Callable[[], Callable]], TracedFunction]):
    """The TracedFunction of `kind` for f, made once per f while f lives (keyed weakly; the
    traced function reaches f through a weak reference, so the cache never keeps f alive)."""
    try:
        ref = weakref.ref(f)
        per_f = _products.setdefault(f, {})
    except TypeError:  # not weakly referenceable: trace anew on every call
        return make(lambda: f)
    if kind not in per_f:
        per_f[kind] = make(ref)
    return per_f[kind]


def _tuple(values, what: str, name: str) -> tuple:
    if not isinstance(values, (tuple, list)):
        raise TypeError(f"{what}: {name} must be a tuple (one entry per argument of f), "
                        f"got {type(values).__name__}")
    return tuple(values)


def _check_tangents(primals: Sequence[Node], tangents: Sequence[Node], what: str) -> None:
    if len(tangents) != len(primals):
        raise ValueError(f"{what}: {len(primals)} primals but {len(tangents)} tangents")
    for i, (x, t) in enumerate(zip(primals, tangents)):
        if not _dt.is_floating(x.dtype):
            raise TypeError(f"{what}: primal {i} has dtype {x.dtype.name}; only float arguments "
                            f"have tangents")
        if t.shape != x.shape or t.dtype != x.dtype:
            raise ValueError(f"{what}: tangent {i} is {fmt(t.shape)} {t.dtype.name}, but its "
                             f"primal is {fmt(x.shape)} {x.dtype.name}; they must match")


def _dot(gs: Sequence, ts: Sequence[Node]):
    """sum_i <g_i, t_i> over the gradients that exist (None when none does)."""
    terms = [reduce_sum(g * t) for g, t in zip(gs, ts) if g is not None]
    if not terms:
        return None
    return terms[0] if len(terms) == 1 else add_n(terms)


def hvp(f: Callable, primals, tangents):
    """H(x)·v for a float-scalar f: `hvp(f, x, v)` for f of one argument, or
    `hvp(f, (x1, x2), (v1, v2))` for several (H then the full Hessian over all arguments; the
    result a tuple, (H·v)_i = sum_j d2f/dx_i dx_j · v_j). Computed as the gradient of <∇f(x), v>
    with respect to x, without forming H. Takes and returns values (arrays) like
    torch.autograd.functional.hvp's second output; traced once per f and signature."""
    single = not isinstance(primals, (tuple, list))
    xs = (primals,) if single else tuple(primals)
    vs = (tangents,) if single else _tuple(tangents, "hvp", "tangents")

    def make(ref):
        def build(*args):
            n = len(args) // 2
            ps, ts = args[:n], args[n:]
            _check_tangents(ps, ts, "hvp")
            y, _ = _scalar_output(ref(), ps, False, "hvp")
            inner = _dot(gradients(y, list(ps)), ts)
            if inner is None:
                return tuple(zeros_like(x) for x in ps)
            return tuple(_grads_or_zeros(inner, list(ps)))
        return TracedFunction(build, f"hvp({_name(f)})", _arg_names(f), split=True)

    out = _cached("hvp", f, make)(*xs, *vs)
    return out[0] if single else out


def jvp(f: Callable, primals: tuple, tangents: tuple):
    """(f(*primals), J·tangents), as torch.func.jvp: primals and tangents are tuples with one
    entry per argument of f (tangents the primals' shapes and dtypes); the second result has the
    structure of f's output. Traced once per f and signature.

    Forward mode is the transpose of reverse mode (the 'double-VJP trick'): with a dummy
    cotangent u, the VJP g(u) = J^T u is linear in u, so the gradient of <J^T u, t> with respect
    to u is J t, whatever u's value; graphflow builds both gradients symbolically and the passes
    prune what J t does not need."""
    xs = _tuple(primals, "jvp", "primals")
    ts = _tuple(tangents, "jvp", "tangents")

    def make(ref):
        def build(*args):
            n = len(args) // 2
            ps, tans = list(args[:n]), args[n:]
            _check_tangents(ps, tans, "jvp")
            leaves, rebuild = _flatten(ref()(*ps))
            ys = [_float_tensor(y, graph_of(ps), "jvp") for y in leaves]
            us = [zeros_like(y, name="dummy_cotangent") for y in ys]
            inner = _dot(gradients(ys, ps, grad_ys=us), tans)
            if inner is None:
                return rebuild(ys), rebuild([zeros_like(y) for y in ys])
            return rebuild(ys), rebuild(_grads_or_zeros(inner, us))
        return TracedFunction(build, f"jvp({_name(f)})", _arg_names(f), split=True)

    return _cached("jvp", f, make)(*xs, *ts)
