"""Session: runs fetches of a graph, keeps the variables' values between runs."""

from __future__ import annotations

import collections
import contextlib
import threading
from collections import OrderedDict
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np

from compiler.backends import get_backend
from compiler.errors import FeedError, FeedKeyError, FetchError, FetchNameError
from compiler.feeds import missing_feeds_error
from compiler.graph import Graph, Node, Operation, get_default_graph
from compiler.interpreter import execute
from compiler.ops.core import PLACEHOLDER
from compiler.passes import DEFAULT_PASSES, PASS_NAMES
from compiler.program import DEFAULT_CACHE_SIZE, Program, check_cache_size
from compiler.traversal import plan

from .config import ConfigProto, RunMetadata, RunOptions


def _flatten(fetches) -> Tuple[List[Any], Callable[[List[Any]], Any]]:
    """Flatten a nest of lists/tuples/dicts into a list, with the function that rebuilds it."""
    if isinstance(fetches, dict):
        keys = list(fetches)
        parts = [_flatten(fetches[k]) for k in keys]
        return _join(parts, lambda items: _same_mapping(fetches, zip(keys, items)))
    if isinstance(fetches, (list, tuple)):
        if type(fetches) in (list, tuple) and not any(
                isinstance(f, (list, tuple, dict)) for f in fetches):
            return list(fetches), type(fetches)  # flat: the common case, kept cheap
        parts = [_flatten(f) for f in fetches]
        if isinstance(fetches, tuple) and hasattr(fetches, "_fields"):  # namedtuple
            return _join(parts, lambda items: type(fetches)(*items))
        return _join(parts, lambda items: type(fetches)(items))
    return [fetches], lambda flat: flat[0]


def _same_mapping(like: dict, items) -> dict:
    """A mapping of like's type holding items (a defaultdict keeps its default factory)."""
    if isinstance(like, collections.defaultdict):
        out = type(like)(like.default_factory)
        out.update(items)
        return out
    return type(like)(items)


def _join(parts, build):
    flat, sizes = [], []
    for leaves, _ in parts:
        flat.extend(leaves)
        sizes.append(len(leaves))

    def rebuild(values):
        items, start = [], 0
        for (_, sub), n in zip(parts, sizes):
            items.append(sub(values[start:start + n]))
            start += n
        return build(items)
    return flat, rebuild


PROGRAMS_KEPT = 256  # (fetches, feeds) pairs of sess.run a session keeps compiled


class Session:
    """Runs parts of a graph. Variables live here: each is set to its initial value the first time
    a run needs it, and `gf.global_variables_initializer()` resets them all.

        with gf.Session() as sess:
            loss_value, _ = sess.run([loss, train_op], feed_dict={x: xb, y: yb})

    optimize=True (the default) compiles each (fetches, feeds) pair, per feed shape, through the
    pass pipeline into generated numpy code; optimize=False runs the reference interpreter.
    `passes` names the passes to run (default: compiler.passes.DEFAULT_PASSES, all but "fuse"),
    fuse=True adds elementwise fusion (chains of elementwise ops as one loop, compiled with numba
    where it is installed; numpy and native backends; see the README's "Fusion"; None: the
    backend's default, on for the native backend only), `check=True`
    verifies the graph after every pass, and reuse_memory=False gives every value a fresh array.
    check_numerics=True stops a run at the first node whose value holds inf or NaN, naming it
    (as you named it, also after compiler rewrites), its op, your file:line and its inputs; off,
    it costs nothing (the generated code has no trace of it).

    backend="numpy" (the default) generates numpy code; backend="native" the same with runs of
    statements compiled to C (compiler/backends/native/); backend="torch" generates torch code for
    `device` ("cpu", "cuda", "cuda:N"; None: cuda when available, else cpu), keeping the
    variables there as torch tensors. Feeds may then be numpy arrays or torch tensors; results
    are numpy arrays, or torch tensors with return_tensors=True. Checkpoints are the same .npz
    whatever the backend.

    Compiled code is cached: each (fetches, feeds) pair keeps the code (and preallocated buffers)
    of the `cache_size` feed signatures (shapes and dtypes) used most recently, and the session
    keeps the PROGRAMS_KEPT pairs of sess.run used most recently; what falls out is compiled again
    when needed. Runs of one session may come from several threads: they take turns, and each
    one either happens whole or changes nothing (see the README's "Threads").
    """

    def __init__(self, target="", graph: Optional[Graph] = None, config=None, *,
                 optimize: bool = True, passes: Optional[Sequence[str]] = None,
                 check: bool = False, reuse_memory: bool = True, check_numerics: bool = False,
                 backend: str = "numpy", device: Optional[str] = None,
                 return_tensors: bool = False, cache_size: int = DEFAULT_CACHE_SIZE,
                 fuse: Optional[bool] = None):
        # TF1's positional order is (target, graph, config); gf.Session(graph) works too.
        if isinstance(target, Graph) and graph is None:
            target, graph = None, target
        if target not in (None, "", b""):
            raise ValueError(f"Session target {target!r}: graphflow runs in this process only "
                             f"(no distributed TF1 targets)")
        if config is not None and not isinstance(config, ConfigProto):
            raise TypeError(f"config must be a gf.ConfigProto (tf.ConfigProto), but got "
                            f"{type(config).__name__}")
        self._config = config  # kept, as TF1 does; graphflow runs the same whatever it says
        self.graph = graph if graph is not None else get_default_graph()
        self.optimize = optimize
        if passes is not None:
            unknown = [p for p in passes if p not in PASS_NAMES]
            if unknown:
                raise ValueError(f"unknown pass(es) {unknown}; the passes are {list(PASS_NAMES)}")
        self.backend = get_backend(backend, device)
        if fuse is None:  # check_numerics wants each node's own value: no fusion by default
            fuse = self.backend.fuses_by_default and not check_numerics
        if fuse:
            if not self.backend.fuses:
                raise ValueError(f"fuse=True: backend={backend!r} does not run fused kernels; "
                                 f"elementwise fusion is the numpy backend's")
            passes = tuple(DEFAULT_PASSES if passes is None else passes) + ("fuse",)
        if not (optimize or self.backend.interprets):
            raise ValueError("optimize=False runs the numpy reference interpreter; with "
                             f"backend={backend!r} use passes=[] for unoptimized generated code")
        _check_return_tensors(return_tensors, self.backend)
        check_cache_size(cache_size)
        self._options = dict(passes=passes, check=check, reuse_memory=reuse_memory,
                             check_numerics=check_numerics, backend=self.backend,
                             cache_size=cache_size)
        self._return_tensors = return_tensors
        self._store = self.backend.make_store()
        self._plans: Dict[tuple, Tuple[List[Node], List[Node]]] = {}
        self._programs: "OrderedDict[tuple, Program]" = OrderedDict()  # least recent first
        self._closed = False

    # -- context manager --------------------------------------------------------------------------
    def __enter__(self) -> "Session":
        """`with gf.Session() as sess:` makes it the default session and closes it at the end."""
        _default_stack().append(self)
        return self

    def __exit__(self, *exc) -> None:
        _remove_default(self)
        self.close()

    @contextlib.contextmanager
    def as_default(self):
        """Make this the default session (for tensor.eval() and op.run()) inside the block."""
        _default_stack().append(self)
        try:
            yield self
        finally:
            _remove_default(self)

    def close(self) -> None:
        """Free the variables' values and compiled programs; the session cannot run afterwards."""
        self._closed = True
        self._store = self.backend.make_store()
        self._plans.clear()
        self._programs.clear()

    # -- running ----------------------------------------------------------------------------------
    def run(self, fetches, feed_dict: Optional[dict] = None, options=None, run_metadata=None):
        """Compute `fetches` (a tensor, an op, or a nest of lists/tuples/dicts of them; as in
        TF1, a tensor may be given by its name 'y:0' and an op by its name 'train').

        Returns the same structure holding numpy values (None for ops). Only what the fetches need
        runs, and only the placeholders they need must be fed. A run that fails changes nothing.
        `options` (a gf.RunOptions) and `run_metadata` (a gf.RunMetadata) are taken as in TF1;
        no tracing is done and run_metadata stays empty (see `program.profile()` for timings).
        """
        _check_run_options(options, run_metadata)
        self._check_open()
        flat, rebuild = _flatten(fetches)
        flat = [_fetch_element(self.graph, f) for f in flat]
        nodes = self._resolve(flat)
        feeds = self._prepare_feeds(feed_dict or {})
        if not self.optimize:
            return rebuild(self._interpret(nodes, flat, feeds))
        order = sorted(feeds, key=lambda n: n.id)
        ops = tuple(_op_fetches(flat))  # t.op fetched gives None, t itself a value
        key = (tuple(n.id for n in nodes), tuple(n.id for n in order), ops)
        program = self._programs.get(key)
        if program is None:
            program = self._programs[key] = Program(nodes, order, self._store,
                                                    op_outputs=_op_fetches(flat),
                                                    return_tensors=self._return_tensors,
                                                    **self._options)
            while len(self._programs) > PROGRAMS_KEPT:
                self._programs.popitem(last=False)
        else:
            try:
                self._programs.move_to_end(key)
            except KeyError:  # dropped meanwhile by another thread's run: still runs
                pass
        return rebuild(program.run_checked([feeds[n] for n in order]))

    def make_callable(self, fetches, feed_list: Sequence = (), *, capture: bool = False,
                      return_tensors: Optional[bool] = None):
        """A Program taking the values of `feed_list` positionally and returning what
        `run(fetches, ...)` would: the fast path of a training loop. With optimize=True it has
        `.source`, `.ops` and `.report()`.

        capture=True (torch backend on a CUDA device) records the whole step into a CUDA graph
        after a few warm-up calls and replays it: see compiler/backends/torch/capture.py.
        return_tensors overrides the session's choice of torch tensors or numpy results."""
        self._check_open()
        flat, rebuild = _flatten(fetches)
        flat = [_fetch_element(self.graph, f) for f in flat]
        nodes = self._resolve(flat)
        feed_list = [_feed_key(self.graph, t) for t in feed_list]
        twice = [t for k, t in enumerate(feed_list) if any(t is u for u in feed_list[:k])]
        if twice:
            raise FeedError(f"'{twice[0].op_name}' appears more than once in feed_list; each "
                            f"tensor can be fed one value")
        self._prepare_feeds({t: None for t in feed_list}, check_values=False)
        tensors = self._return_tensors if return_tensors is None else return_tensors
        _check_return_tensors(tensors, self.backend)
        if capture:
            options = dict(self._options)
            del options["backend"]  # the backend makes the program
            return self.backend.captured_program(
                nodes, feed_list, self._store, rebuild=rebuild, before_run=self._check_open,
                op_outputs=_op_fetches(flat), return_tensors=tensors, **options)
        if self.optimize:
            return Program(nodes, feed_list, self._store, rebuild=rebuild,
                           before_run=self._check_open, op_outputs=_op_fetches(flat),
                           return_tensors=tensors, **self._options)

        def call(*values):
            if len(values) != len(feed_list):
                raise TypeError(f"this callable takes {len(feed_list)} feed values "
                                f"({', '.join(t.op_name for t in feed_list)}), got {len(values)}")
            self._check_open()
            feeds = self._prepare_feeds(dict(zip(feed_list, values)))
            return rebuild(self._interpret(nodes, flat, feeds))
        return call

    # -- variable values (for Saver) ------------------------------------------------------------
    def _variable_values(self, variables) -> Dict[str, np.ndarray]:
        """Copies of the current values of `variables`, by name."""
        self._check_open()
        with self._store.lock:  # a consistent set: no run's writes in between
            return {v.op_name: self._store.numpy(v) for v in variables}

    def _load_variable_values(self, values: Dict[Node, np.ndarray]) -> None:
        """Set variables to the given arrays (already checked: dtype and shape match)."""
        self._check_open()
        with self._store.lock:  # all or nothing between two runs
            for var, value in values.items():
                self._store.load_key(var.key, np.asarray(value, dtype=var.dtype))

    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError("this Session is closed; create a new one")

    def _interpret(self, nodes: List[Node], flat: list, feeds: Dict[Node, np.ndarray]) -> list:
        key = (tuple(n.id for n in nodes), frozenset(n.id for n in feeds))
        if key not in self._plans:
            order = plan(nodes, feeds)
            missing = [n for n in order if n.opdef is PLACEHOLDER and n not in feeds]
            self._plans[key] = (order, missing)
        order, missing = self._plans[key]
        if missing:
            raise missing_feeds_error(missing)
        values = execute(order, feeds, self._store, self._options["check_numerics"])
        # Fresh copies: the caller may keep or change them without touching the session.
        return [None if isinstance(f, Operation) or n.dtype is None else _result(values[n])
                for f, n in zip(flat, nodes)]

    def _resolve(self, flat: list) -> List[Node]:
        nodes = []
        for f in flat:
            node = f.node if isinstance(f, Operation) else f
            if not isinstance(node, Node):
                raise FetchError(f"cannot fetch {f!r}: fetches must be tensors or ops "
                                 f"(or lists/tuples/dicts of them)")
            if node.graph is not self.graph:
                raise FetchError(f"cannot fetch '{node.op_name}' ({node.site}): it belongs to "
                                 f"another graph than this session's")
            nodes.append(node)
        return nodes

    def _prepare_feeds(self, feed_dict: dict, check_values: bool = True) -> Dict[Node, np.ndarray]:
        """Check every key and value of feed_dict; returns the values as arrays of the right dtype.
        Nothing is changed anywhere before all of them pass."""
        feeds = {}
        for key, value in feed_dict.items():
            key = _feed_key(self.graph, key)
            if not isinstance(key, Node):
                raise FeedKeyError(f"cannot feed {key!r}: feed_dict keys must be tensors (or "
                                   f"tensor names such as 'x:0')")
            if key.graph is not self.graph:
                raise FeedError(f"cannot feed '{key.op_name}': it belongs to another graph than "
                                f"this session's")
            if key.dtype is None:
                raise FeedError(f"cannot feed '{key.op_name}': the op produces no value")
            if check_values:
                feeds[key] = self.backend.feed(key, value)
        return feeds


def _check_run_options(options, run_metadata) -> None:
    if options is not None and not isinstance(options, RunOptions):
        raise TypeError(f"options must be a gf.RunOptions (tf.RunOptions), but got "
                        f"{type(options).__name__}")
    if run_metadata is not None and not isinstance(run_metadata, RunMetadata):
        raise TypeError(f"run_metadata must be a gf.RunMetadata (tf.RunMetadata), but got "
                        f"{type(run_metadata).__name__}")


def _fetch_element(graph: Graph, fetch):
    """A fetch as TF1 takes it: a name ('y:0' a tensor, 'train' an op) becomes what it names."""
    if not isinstance(fetch, (str, bytes)):
        return fetch
    try:
        return graph.as_graph_element(fetch, allow_tensor=True, allow_operation=True)
    except (KeyError, ValueError) as exc:  # TF1 raises ValueError for both: FetchNameError is
        raise FetchNameError(f"Fetch argument {fetch!r} cannot be interpreted as a Tensor: "
                             f"{exc.args[0]}") from None


def _feed_key(graph: Graph, key):
    """A feed_dict key as TF1 takes it: a tensor name ('x:0') becomes the tensor."""
    if not isinstance(key, (str, bytes)):
        return key
    try:
        return graph.as_graph_element(key, allow_tensor=True, allow_operation=False)
    except (KeyError, ValueError) as exc:  # TF1 raises TypeError for both: FeedKeyError is
        raise FeedKeyError(f"Cannot interpret feed_dict key as Tensor: {exc.args[0]}") from None


def _op_fetches(flat: list) -> list:
    """Fetching an op gives None, even where the op's node has a value (an assign's .op)."""
    return [isinstance(f, Operation) for f in flat]


def _result(value):
    out = np.array(value)
    return out[()] if out.ndim == 0 else out


class InteractiveSession(Session):
    """A session that makes itself the default until it is closed (for shells and notebooks)."""

    def __init__(self, target="", graph: Optional[Graph] = None, config=None, **options):
        super().__init__(target, graph, config, **options)
        _default_stack().append(self)

    def close(self) -> None:
        _remove_default(self)
        super().close()


# -- the default session, one stack per thread ---------------------------------------------------
_local = threading.local()


def _default_stack() -> List[Session]:
    if not hasattr(_local, "stack"):
        _local.stack = []
    return _local.stack


def _remove_default(session: Session) -> None:
    stack = _default_stack()
    for k in range(len(stack) - 1, -1, -1):
        if stack[k] is session:
            del stack[k]
            return


def get_default_session() -> Optional[Session]:
    """The innermost `with sess:` / `sess.as_default()` session or InteractiveSession, else None."""
    stack = _default_stack()
    return stack[-1] if stack else None


def _session_for(what: str, node: Node, session: Optional[Session]) -> Session:
    session = session or get_default_session()
    if session is None:
        raise ValueError(f"cannot {what} '{node.op_name}': no default session is registered; use "
                         f"`with sess.as_default():`, `with gf.Session() as sess:`, or pass "
                         f"session=sess")
    if session.graph is not node.graph:
        raise ValueError(f"cannot {what} '{node.op_name}': the session's graph is not the graph of "
                         f"'{node.op_name}'")
    return session


def _eval(tensor: Node, feed_dict: Optional[dict] = None, session: Optional[Session] = None):
    """TF1's tensor.eval(): the tensor's value in the default (or the given) session."""
    return _session_for("evaluate", tensor, session).run(tensor, feed_dict)


def _run(op: Operation, feed_dict: Optional[dict] = None, session: Optional[Session] = None):
    """TF1's op.run(): run the op in the default (or the given) session."""
    _session_for("run", op.node, session).run(op, feed_dict)


# TF1 puts eval/run on its Tensor and Operation classes; the compiler's classes know no sessions,
# so the library attaches them here.
Node.eval = _eval
Operation.run = _run


def _check_return_tensors(return_tensors: bool, backend) -> None:
    if return_tensors and not backend.has_tensors:
        raise ValueError(f"return_tensors=True needs backend='torch' (a backend with tensors "
                         f"of its own); this session uses the {backend.name} backend")
