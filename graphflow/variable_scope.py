"""TF1's variable scopes: gf.variable_scope, gf.get_variable, gf.get_variable_scope, AUTO_REUSE.

    with gf.variable_scope("foo"):
        with gf.variable_scope("bar"):
            v = gf.get_variable("v", [1])          # v.name == "foo/bar/v:0"
    with gf.variable_scope("foo", reuse=True):
        v1 = gf.get_variable("v", [1])             # v1 is v

As TF 1.15: a variable scope names the variables get_variable makes and says whether they may
be made or shared (reuse None/True/AUTO_REUSE, inherited by inner scopes); it also opens a name
scope for the ops made inside, which is made unique ("foo_1") while the variable scope is not.
gf.name_scope does not change get_variable's names. The current scope and the counters for
default names are kept per graph and per thread, in a private collection of the graph (TF1's
`_VARSCOPESTORE_KEY`); the variables themselves in variable_store.py.
"""

from __future__ import annotations

import contextlib
import enum
import functools
import threading

from compiler import dtypes as _dt
from compiler.graph import Graph, get_default_graph, graph_of

from . import variable_store as _store
from .variable_store import VariableAggregation, VariableSynchronization
from .variables import GraphKeys, get_collection

__all__ = ["AUTO_REUSE", "VariableScope", "variable_scope", "get_variable_scope",
           "get_variable", "get_local_variable", "VariableSynchronization",
           "VariableAggregation"]

_VARSCOPESTORE_KEY = ("__varscope",)


class _ReuseMode(enum.Enum):
    AUTO_REUSE = 1


AUTO_REUSE = _ReuseMode.AUTO_REUSE  # get_variable makes the variable if missing, else shares it


class VariableScope:
    """The defaults get_variable takes inside a variable_scope (TF1's tf.VariableScope): name
    (the prefix of variable names), reuse, initializer, regularizer, dtype, custom_getter, ...;
    original_name_scope is the name scope ("foo/", "foo_1/") opened with it."""

    def __init__(self, reuse, name: str = "", initializer=None, regularizer=None,
                 caching_device=None, partitioner=None, custom_getter=None, name_scope: str = "",
                 dtype=_dt.float32, use_resource=None, constraint=None):
        self._name = name
        self._initializer = initializer
        self._regularizer = regularizer
        self._reuse = reuse
        self._caching_device = caching_device
        self._partitioner = partitioner
        self._custom_getter = custom_getter
        self._name_scope = name_scope
        self._dtype = dtype
        self._use_resource = use_resource
        self._constraint = constraint

    name = property(lambda self: self._name)
    original_name_scope = property(lambda self: self._name_scope)
    reuse = property(lambda self: self._reuse)
    initializer = property(lambda self: self._initializer)
    regularizer = property(lambda self: self._regularizer)
    dtype = property(lambda self: self._dtype)
    caching_device = property(lambda self: self._caching_device)
    partitioner = property(lambda self: self._partitioner)
    custom_getter = property(lambda self: self._custom_getter)
    use_resource = property(lambda self: self._use_resource)
    constraint = property(lambda self: self._constraint)

    def reuse_variables(self) -> None:
        """From now on get_variable in this scope shares existing variables (reuse=True)."""
        self._reuse = True

    def set_initializer(self, initializer) -> None:
        self._initializer = initializer

    def set_regularizer(self, regularizer) -> None:
        self._regularizer = regularizer

    def set_dtype(self, dtype) -> None:
        self._dtype = dtype

    def set_caching_device(self, caching_device) -> None:
        self._caching_device = caching_device

    def set_partitioner(self, partitioner) -> None:
        _refuse_partitioner(partitioner)
        self._partitioner = partitioner

    def set_custom_getter(self, custom_getter) -> None:
        self._custom_getter = custom_getter

    def set_use_resource(self, use_resource) -> None:
        self._use_resource = use_resource

    def get_collection(self, name: str) -> list:
        """The items of collection `name` whose names start with this scope's name + '/'."""
        return get_collection(name, self._name + "/" if self._name else "")

    def trainable_variables(self) -> list:
        return self.get_collection(GraphKeys.TRAINABLE_VARIABLES)

    def global_variables(self) -> list:
        return self.get_collection(GraphKeys.GLOBAL_VARIABLES)

    def __repr__(self) -> str:
        return f"<gf.VariableScope '{self._name}' reuse={self._reuse}>"


def _refuse_partitioner(partitioner) -> None:
    if partitioner is not None:
        raise NotImplementedError(f"partitioner={partitioner!r}: graphflow does not split "
                                  f"variables into shards; drop the partitioner")


class _ScopeStore(threading.local):
    """One graph's current variable scope and the counts of opened scope names, per thread."""

    def __init__(self):
        super().__init__()
        self.current = VariableScope(False)
        self.counts = {}

    def open(self, name: str) -> None:
        self.counts[name] = self.counts.get(name, 0) + 1

    def close_subscopes(self, name: str) -> None:
        """Leaving scope `name` restarts the default-name counters of the scopes inside it."""
        for key in self.counts:
            if key.startswith(name + "/"):
                self.counts[key] = 0


def _scope_store(graph: Graph) -> _ScopeStore:
    return _store.collection_singleton(graph, _VARSCOPESTORE_KEY, _ScopeStore)


def get_variable_scope() -> VariableScope:
    """The current VariableScope of the default graph (the root scope, named "", outside any)."""
    return _scope_store(get_default_graph()).current


def current_name_scope(graph: Graph) -> str:
    """The graph's current name scope as TF1 writes it: "a/b/", or "" at the top."""
    scope = "/".join(graph._scope)  # read only; the Graph keeps its name-scope stack
    return scope + "/" if scope else ""


@contextlib.contextmanager
def reenter_name_scope(graph: Graph, name: str):
    """Enter the name scope `name` ("a/b/", TF1's spelling of an existing scope) as it is,
    without making it unique; yields it."""
    with graph.within_scope(name.rstrip("/")):
        yield name


def _unique_scope_name(store: _ScopeStore, prefix: str) -> str:
    """`prefix`, or prefix_1, prefix_2, ...: the first not yet opened in the current scope."""
    current = store.current.name
    name = current + "/" + prefix if current else prefix
    if store.counts.get(name, 0) == 0:
        return prefix
    index = 1
    while store.counts.get(f"{name}_{index}", 0) > 0:
        index += 1
    return f"{prefix}_{index}"


def _wrap_custom_getter(custom_getter, old_getter):
    """An inner scope's custom getter calls the outer one, which calls the real getter (TF1)."""
    if old_getter is None:
        return custom_getter

    def wrapped(getter, *args, **kwargs):
        return custom_getter(functools.partial(old_getter, getter), *args, **kwargs)

    return wrapped


class variable_scope:  # noqa: N801 - TF1's name
    """Context manager: a variable scope (and a name scope) for the ops and variables made
    inside (TF1's tf.variable_scope); `with ... as scope` gives its VariableScope.

    name_or_scope: a string (appended to the current variable scope's name) or a VariableScope
    (re-entered by its full name; a new name scope still opens, named after its last part);
    None to use `default_name`, made unique ("dense", "dense_1") among the current scope's
    subscopes. reuse: None inherits the enclosing scope's; True shares only (a missing variable
    is an error); AUTO_REUSE makes or shares; False means None. initializer, regularizer and
    dtype are the defaults for get_variable inside (inherited by inner scopes).
    auxiliary_name_scope=False keeps the current name scope. values: tensors whose graph
    becomes the default inside. partitioner and constraint raise NotImplementedError;
    caching_device and use_resource are kept on the scope and change nothing on one device.
    """

    def __init__(self, name_or_scope, default_name=None, values=None, initializer=None,
                 regularizer=None, caching_device=None, partitioner=None, custom_getter=None,
                 reuse=None, dtype=None, use_resource=None, constraint=None,
                 auxiliary_name_scope=True):
        if default_name is None and name_or_scope is None:
            raise TypeError("If default_name is None then name_or_scope is required")
        if name_or_scope is not None and not isinstance(name_or_scope, (str, VariableScope)):
            raise TypeError(f"VariableScope: name_or_scope must be a string or VariableScope, "
                            f"got {name_or_scope!r}")
        if reuse is False:  # TF1: False means None (inherit) since 1.1
            reuse = None
        if not (reuse is True or reuse is None or reuse is AUTO_REUSE):
            raise ValueError(f"The reuse parameter must be True or False or None (or "
                             f"tf.AUTO_REUSE), got {reuse!r}")
        if not isinstance(auxiliary_name_scope, bool):
            raise TypeError(f"The auxiliary_name_scope must be `True` or `False`, got "
                            f"{auxiliary_name_scope!r}")
        _refuse_partitioner(partitioner)
        if constraint is not None:
            raise NotImplementedError("variable_scope: constraint= is not supported: graphflow's "
                                      "optimizers do not project variables after updates")
        self._name_or_scope = name_or_scope
        self._default_name = default_name
        self._reuse = reuse
        self._auxiliary_name_scope = auxiliary_name_scope
        self._overrides = dict(initializer=initializer, regularizer=regularizer,
                               caching_device=caching_device, custom_getter=custom_getter,
                               dtype=dtype, use_resource=use_resource)
        self._graph = graph_of(list(values or []))
        self._exits = []

    def __enter__(self) -> VariableScope:
        stack = contextlib.ExitStack()
        self._exits.append(stack)
        try:
            stack.enter_context(self._graph.as_default())
            return self._enter(stack)
        except BaseException:
            self._exits.pop().close()
            raise

    def __exit__(self, *exc_info):
        return self._exits.pop().__exit__(*exc_info)

    def _enter(self, stack: contextlib.ExitStack) -> VariableScope:
        graph, scope = self._graph, self._name_or_scope
        name_scope = None if self._auxiliary_name_scope else current_name_scope(graph)
        if scope is None:
            if self._reuse:
                raise ValueError("reuse=True cannot be used without a name_or_scope")
            if name_scope is None:
                name_scope = self._open_name_scope(stack, self._default_name)
            store = _scope_store(graph)
            unique = _unique_scope_name(store, self._default_name)
            # TF1 passes no reuse here: a default-named scope inherits its parent's.
            return self._enter_pure(stack, unique, name_scope, reuse=None)
        short = scope if isinstance(scope, str) else scope.name.split("/")[-1]
        if not short and name_scope is None:  # entering the root scope: no name scope
            return self._enter_pure(stack, scope, None, self._reuse)
        if name_scope is None:
            name_scope = self._open_name_scope(stack, short)
        if isinstance(scope, VariableScope):
            name_scope = scope.original_name_scope
        return self._enter_pure(stack, scope, name_scope, self._reuse)

    def _open_name_scope(self, stack: contextlib.ExitStack, name: str) -> str:
        opened = stack.enter_context(self._graph.name_scope(name))
        return opened + "/" if opened else ""

    def _enter_pure(self, stack, name_or_scope, name_scope, reuse) -> VariableScope:
        """Make the VariableScope current (TF1's _pure_variable_scope) until the stack closes."""
        store = _scope_store(self._graph)
        old = store.current
        if isinstance(name_or_scope, VariableScope):
            new = _copy_scope(name_or_scope, reuse if reuse else name_or_scope.reuse)
            store.open(new.name)
            counts = dict(store.counts)  # leaving a re-entered scope restores the counters
        else:
            name = old.name + "/" + name_or_scope if old.name else name_or_scope
            new = _copy_scope(old, reuse or old.reuse, name=name,
                              name_scope=name_or_scope if name_scope is None else name_scope)
            store.open(name)
            counts = None
        self._apply_overrides(new, old if counts is None else name_or_scope)
        store.current = new
        stack.callback(_leave_scope, store, new, old, counts)
        return new

    def _apply_overrides(self, new: VariableScope, base: VariableScope) -> None:
        for key, value in self._overrides.items():
            if value is None:
                continue
            if key == "custom_getter":
                value = _wrap_custom_getter(value, base.custom_getter)
            getattr(new, "set_" + key)(_dt.as_dtype(value) if key == "dtype" else value)


def _copy_scope(scope: VariableScope, reuse, name=None, name_scope=None) -> VariableScope:
    """A new VariableScope with `scope`'s defaults (TF1 never changes an entered scope's)."""
    return VariableScope(reuse, name=scope.name if name is None else name,
                         initializer=scope.initializer, regularizer=scope.regularizer,
                         caching_device=scope.caching_device, partitioner=scope.partitioner,
                         custom_getter=scope.custom_getter,
                         name_scope=scope.original_name_scope if name_scope is None else name_scope,
                         dtype=scope.dtype, use_resource=scope.use_resource)


def _leave_scope(store: _ScopeStore, new: VariableScope, old: VariableScope, counts) -> None:
    if store.current is not new:
        raise RuntimeError("Improper nesting of variable_scope: leave the inner scopes first")
    if counts is None:
        store.close_subscopes(new.name)
    else:
        store.counts = counts
    store.current = old


def get_variable(name: str, shape=None, dtype=None, initializer=None, regularizer=None,
                 trainable=None, collections=None, caching_device=None, partitioner=None,
                 validate_shape=True, use_resource=None, custom_getter=None, constraint=None,
                 synchronization=VariableSynchronization.AUTO,
                 aggregation=VariableAggregation.NONE):
    """The variable `<scope>/<name>` of the current variable scope (TF1's tf.get_variable):
    made when the scope's reuse allows (None, AUTO_REUSE), shared when it allows (True,
    AUTO_REUSE); a ValueError says which rule a call broke and where the variable was made.

    dtype defaults to the scope's (float32). initializer: an initializer object (called with the
    shape and dtype), or a constant (a numpy array, a Python value, a tensor), which gives the
    variable its shape and dtype (shape must then be None). Without one, the scope's, else
    glorot_uniform for floats and zeros for ints and bools. regularizer(variable) (or the
    scope's) goes into GraphKeys.REGULARIZATION_LOSSES when the variable is made. collections
    without GraphKeys.GLOBAL_VARIABLES make a local variable; partitioner and constraint raise
    NotImplementedError; caching_device, use_resource, validate_shape, synchronization and
    aggregation change nothing on one device. custom_getter(getter, name, *args, **kwargs) may
    wrap the real getter, as TF1.
    """
    _refuse_partitioner(partitioner)
    if constraint is not None:
        raise NotImplementedError(f"get_variable '{name}': constraint= is not supported: "
                                  f"graphflow's optimizers do not project variables")
    graph = get_default_graph()
    scope = _scope_store(graph).current
    if dtype is not None and initializer is not None and not callable(initializer):
        init_dtype = _store.initial_dtype(initializer)
        if init_dtype != _dt.as_dtype(dtype):
            raise ValueError(f"Initializer type '{init_dtype.name}' and explicit dtype "
                             f"'{_dt.as_dtype(dtype).name}' don't match (variable '{name}')")
    getter = functools.partial(_true_getter, graph)
    custom_getter = scope.custom_getter if custom_getter is None else custom_getter
    if custom_getter is not None and not callable(custom_getter):
        raise ValueError(f"Passed a custom_getter which is not callable: {custom_getter!r}")
    arguments = dict(
        name=scope.name + "/" + name if scope.name else name, shape=shape,
        dtype=scope.dtype if dtype is None else dtype,
        initializer=scope.initializer if initializer is None else initializer,
        regularizer=scope.regularizer if regularizer is None else regularizer,
        reuse=scope.reuse, trainable=trainable, collections=collections,
        caching_device=caching_device, partitioner=partitioner, validate_shape=validate_shape,
        use_resource=use_resource, synchronization=synchronization, aggregation=aggregation)
    if custom_getter is None:
        return getter(**arguments)
    return custom_getter(getter=getter, **arguments)


def get_local_variable(name: str, shape=None, dtype=None, initializer=None, regularizer=None,
                       trainable=False, collections=None, caching_device=None, partitioner=None,
                       validate_shape=True, use_resource=None, custom_getter=None,
                       constraint=None, synchronization=VariableSynchronization.AUTO,
                       aggregation=VariableAggregation.NONE):
    """TF1's tf.get_local_variable: get_variable, in GraphKeys.LOCAL_VARIABLES (plus any
    `collections`) and never trainable (`trainable` is ignored, as in TF1). Initialized by
    gf.local_variables_initializer(), not saved by a default Saver."""
    del trainable  # TF1 accepts it and always passes False
    collections = list(collections or []) + [GraphKeys.LOCAL_VARIABLES]  # the caller's is kept
    return get_variable(name, shape, dtype, initializer, regularizer, False, collections,
                        caching_device, partitioner, validate_shape, use_resource, custom_getter,
                        constraint, synchronization, aggregation)


def _true_getter(graph, name, shape=None, dtype=_dt.float32, initializer=None, regularizer=None,
                 reuse=None, trainable=None, collections=None, caching_device=None,
                 partitioner=None, validate_shape=True, use_resource=None, constraint=None,
                 synchronization=VariableSynchronization.AUTO,
                 aggregation=VariableAggregation.NONE):
    """The getter a custom getter receives: TF1's parameters, in TF1's order."""
    _refuse_partitioner(partitioner)
    if constraint is not None:
        raise NotImplementedError(f"get_variable '{name}': constraint= is not supported")
    return _store.get_or_create(graph, name, shape, dtype, initializer, regularizer, reuse,
                                trainable, collections, validate_shape, synchronization)


@contextlib.contextmanager
def layer_scope(name, default_name: str, reuse=None):
    """The scopes a TF1 tf.layers layer builds in (tf.layers' base Layer): a variable scope
    `name` (or `default_name` made unique; or `default_name` itself when reusing), captured once
    and re-entered with the layer's `reuse`; the layer's ops go into the name scope opened when
    it was captured. Yields the VariableScope."""
    if name:
        captured = variable_scope(name)
    elif reuse:
        captured = variable_scope(default_name)
    else:
        captured = variable_scope(None, default_name=default_name)
    with captured as scope:
        pass
    with variable_scope(scope, reuse=reuse, auxiliary_name_scope=False) as entered:
        with reenter_name_scope(get_default_graph(), entered.original_name_scope):
            yield entered
