"""Python operators on tensors: + - * / // % ** @, unary -, abs(), < <= > >=, and basic indexing.

`==` stays identity (tensors are dict keys); use gf.equal for the elementwise comparison.
Each operator names its node as TF1's does (math_ops' binary operator wrappers open a scope named
"add", "sub", "mul", "truediv", "floordiv", "mod", "pow", "matmul"; unary ones and comparisons
are the plain generated ops "Neg", "Abs", "Less", ...; `__getitem__` is "strided_slice").
"""

from .graph import Node
from .ops import division
from .ops import elementwise as ew
from .ops.indexing import getitem
from .ops.linalg import matmul


def _named(fn, name):
    return lambda self, other: fn(self, other, name=name)


def _flip(fn, name):
    return lambda self, other: fn(other, self, name=name)


_BINARY = {"add": ew.add, "sub": ew.subtract, "mul": ew.multiply, "truediv": ew.divide,
           "pow": ew.power, "matmul": matmul, "floordiv": division.floordiv,
           "mod": division.floormod}

_OPERATORS = {
    "__lt__": ew.less, "__le__": ew.less_equal, "__gt__": ew.greater, "__ge__": ew.greater_equal,
    "__neg__": ew.negative, "__abs__": ew.abs, "__getitem__": getitem,
}
for _tf_name, _fn in _BINARY.items():
    _OPERATORS[f"__{_tf_name}__"] = _named(_fn, _tf_name)
    _OPERATORS[f"__r{_tf_name}__"] = _flip(_fn, _tf_name)

for _name, _fn in _OPERATORS.items():
    setattr(Node, _name, _fn)
