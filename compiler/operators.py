"""Python operators on tensors: + - * / ** @, unary -, abs(), < <= > >=, and basic indexing.

`==` stays identity (tensors are dict keys); use gf.equal for the elementwise comparison.
"""

from .graph import Node
from .ops import elementwise as ew
from .ops.indexing import getitem
from .ops.linalg import matmul


def _flip(fn):
    return lambda self, other: fn(other, self)


_OPERATORS = {
    "__add__": ew.add, "__radd__": _flip(ew.add),
    "__sub__": ew.subtract, "__rsub__": _flip(ew.subtract),
    "__mul__": ew.multiply, "__rmul__": _flip(ew.multiply),
    "__truediv__": ew.divide, "__rtruediv__": _flip(ew.divide),
    "__pow__": ew.power, "__rpow__": _flip(ew.power),
    "__matmul__": matmul, "__rmatmul__": _flip(matmul),
    "__lt__": ew.less, "__le__": ew.less_equal, "__gt__": ew.greater, "__ge__": ew.greater_equal,
    "__neg__": ew.negative, "__abs__": ew.abs, "__getitem__": getitem,
}

for _name, _fn in _OPERATORS.items():
    setattr(Node, _name, _fn)
