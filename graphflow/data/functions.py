"""A user's function of one dataset element (Dataset.map's map_func, filter's predicate), built
once as a graph of its own and compiled into generated code that runs per element on the host.

As in TF1, the function is traced once, with a tensor (a placeholder here) per component of the
element: a plain tuple element is passed as separate arguments, anything else (a dict, a single
tensor, a namedtuple) as one. The graph is private to the dataset, so a function cannot use
tensors of the user's graph (TF1 would capture them): it may build its own constants and ops,
random ops included (each call draws anew, seeded from the user graph's seed).
"""

from __future__ import annotations

from typing import Callable, List, Optional, Sequence

import numpy as np

from compiler.backends import NUMPY
from compiler.errors import GraphMismatchError
from compiler.graph import Graph, Node, Operation
from compiler.ops.core import convert_to_tensor, placeholder
from compiler.program import Program

from .stages import Spec
from .structure import flatten, pack

__all__ = ["ElementFunction"]


def _call(fn: Callable, structure, args):
    if type(structure) is tuple:  # TF1 unpacks a plain tuple only
        return fn(*args)
    return fn(args)


class ElementFunction:
    """fn traced on placeholders of the element's specs; call(element) runs it on one element
    (a flat tuple of arrays) and returns the flat tuple of its results."""

    def __init__(self, fn: Callable, structure, specs: Sequence[Spec], what: str,
                 seed: Optional[int]):
        if not callable(fn):
            raise TypeError(f"{what}: expected a function, got {type(fn).__name__}")
        self.what = what
        self.graph = Graph()
        self.graph.seed = seed  # the user graph's seed: random ops in fn repeat with it
        with self.graph.as_default():
            self.inputs: List[Node] = [placeholder(dtype, shape, name=f"arg{k}")
                                       for k, (shape, dtype) in enumerate(specs)]
            try:
                result = _call(fn, structure, pack(structure, self.inputs))
            except GraphMismatchError as exc:
                raise ValueError(f"{what}: the function uses a tensor of the user's graph "
                                 f"({exc}); a graphflow dataset function runs in a graph of its "
                                 f"own: build the values it needs inside it (or pass arrays)"
                                 ) from None
            if isinstance(result, list):  # TF1 reads a returned list as a tuple
                result = tuple(result)
            self.structure = pack(result, range(len(flatten(result))))
            self.outputs = [self._tensor(v) for v in flatten(result)]
        self._program: Optional[Program] = None

    def _tensor(self, value) -> Node:
        if isinstance(value, Operation) or (isinstance(value, Node) and value.dtype is None):
            raise TypeError(f"{self.what}: the function returned an operation, not a tensor")
        if isinstance(value, Node) and value.graph is not self.graph:
            raise ValueError(f"{self.what}: the function returned '{value.op_name}', a tensor of "
                             f"the user's graph; build it inside the function")
        return convert_to_tensor(value)

    @property
    def specs(self) -> List[Spec]:
        return [(t.shape, t.dtype) for t in self.outputs]

    def __call__(self, element) -> tuple:
        if self._program is None:  # compiled on first use, once for every iterator
            self._program = Program(self.outputs, self.inputs, NUMPY.make_store())
        return tuple(np.asarray(v) for v in self._program(*element))
