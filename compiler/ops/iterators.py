"""Input pipelines in the graph (TF1's IteratorGetNext and iterator initializers): ops whose
values come from a host-side pipeline the session keeps, one live state per iterator.

    value = iterator_get_next(sources, iterator=it, call=7, index=0, shape=(None, 784),
                              dtype=float32)

The pipeline itself (datasets, shuffling, batching) lives in graphflow.data; these ops only need
an `iterator` attribute with this protocol:

    it.key            a name unique in its graph (the iterator op's name): the session's state
                      for it is kept under this key
    it.one_shot       True: the first get_next starts the state from the source values
    it.describe()     how errors name it ("iterator 'OneShotIterator' (train.py:12)")
    it.start(values, dataset=None) -> state   a fresh pass over the dataset (the iterator's
                      own or, for a reinitializable iterator, `dataset`), given the values of
                      the op's source tensors (placeholders fed at initialization)

and the state: next() -> tuple of numpy arrays (StopIteration at the end), push_back(element)
(the element is given out again next) and peek(k) (the k-th next element without taking it).

All components of one get_next call take one element per run: the first of them to run takes
it, the others read it from the run. A run that fails puts the elements it took back, so the
next run sees them again (TF1 would have consumed them: graphflow keeps a failed run's promise
to change nothing).
"""

from __future__ import annotations

from typing import Callable, Optional, Sequence

import numpy as np

from .. import dtypes as _dt
from ..errors import EndOfSequenceError, UninitializedIteratorError
from ..graph import Node
from ..opdef import NOT_DIFFERENTIABLE, OpDef, register
from .core import apply

__all__ = ["iterator_get_next", "iterator_init", "take_elements"]


def _next_infer(inputs, iterator, call, index, shape, dtype):
    return shape, dtype


def _element(run, node, source_values: Callable[[], Sequence]):
    """The element the node's get_next call takes in this run (taken once, shared);
    source_values() gives the values a one-shot iterator starts from, the first time."""
    attrs = node.attrs
    it = attrs["iterator"]
    cache_key = ("get_next", it.key, attrs["call"])
    if cache_key in run.cache:
        return run.cache[cache_key]
    states = run.store.iterators
    state = states.get(it.key)
    if state is None:
        if not it.one_shot:
            raise UninitializedIteratorError(
                f"GetNext() failed because the iterator has not been initialized: "
                f"{it.describe()}, read by {node.describe()}; run its initializer "
                f"(sess.run(iterator.initializer)) before getting the next element")
        state = states[it.key] = it.start(source_values())
        run.undo.append(lambda: states.pop(it.key, None))
    try:
        element = state.next()
    except StopIteration:
        again = ("a one-shot iterator cannot start again" if it.one_shot
                 else "run its initializer to start again")
        raise EndOfSequenceError(f"End of sequence: {it.describe()} has no more elements (read "
                                 f"by {node.describe()}); {again}") from None
    run.undo.append(lambda: state.push_back(element))
    run.cache[cache_key] = element
    return element


def _next_kernel(run, node, *values):
    value = _element(run, node, lambda: values)[node.attrs["index"]]
    return np.asarray(value, dtype=node.dtype)


def take_elements(nodes: Sequence[Node], run, evaluate: Callable[[Node], np.ndarray]) -> list:
    """The values of get_next nodes for one run, taken before the run's code (compiled code
    takes them as it takes feeds, so it is specialised to their shapes); `run` puts them back
    if rolled back. evaluate(tensor) computes a one-shot iterator's sources when it starts."""
    def sources(node):
        return lambda: [evaluate(i) for i in node.inputs]
    return [np.asarray(_element(run, n, sources(n))[n.attrs["index"]], dtype=n.dtype)
            for n in nodes]


ITERATOR_GET_NEXT = register(OpDef(
    "iterator_get_next", tf_type="IteratorGetNext", infer=_next_infer, kernel=_next_kernel,
    grad=NOT_DIFFERENTIABLE, stateful=True, stateful_kernel=True, strings=True))


def iterator_get_next(sources: Sequence[Node], iterator, call: int, index: int, shape,
                      dtype, name: Optional[str] = None) -> Node:
    """Component `index` of the element that get_next call `call` takes from `iterator` in each
    run; `sources` are the tensors a one-shot iterator starts from (none for the others)."""
    return apply(ITERATOR_GET_NEXT, list(sources), name, iterator=iterator, call=int(call),
                 index=int(index), shape=None if shape is None else tuple(shape),
                 dtype=_dt.as_dtype(dtype))


def _init_infer(inputs, iterator, dataset):
    return (), _dt.int64


def _init_kernel(run, node, *values):
    """A fresh pass over the dataset replaces the iterator's state (put back if the run fails)."""
    attrs = node.attrs
    it, states = attrs["iterator"], run.store.iterators
    old = states.get(it.key)
    states[it.key] = it.start(values, attrs["dataset"])

    def restore():
        if old is None:
            states.pop(it.key, None)
        else:
            states[it.key] = old
    run.undo.append(restore)
    return np.int64(0)


ITERATOR_INIT = register(OpDef(
    "iterator_init", tf_type="MakeIterator", infer=_init_infer, kernel=_init_kernel,
    grad=NOT_DIFFERENTIABLE, stateful=True, stateful_kernel=True, strings=True))


def iterator_init(sources: Sequence[Node], iterator, dataset, name: Optional[str] = None) -> Node:
    """Starts `iterator` over `dataset` from the values of `sources` (fed placeholders included);
    fetch its .op (TF1's iterator.initializer)."""
    return apply(ITERATOR_INIT, list(sources), name, iterator=iterator, dataset=dataset)
