"""OnnxBuilder: what a lowering rule writes ONNX with. It hands out unique value names, makes
nodes and constants (initializers), and knows the opset, so a rule reads as the formula it emits:

    @ONNX_TABLE.lowering("softplus")
    def _softplus(b, node, x):     # max(x, 0) + log(1 + exp(-|x|)): exact, and any float dtype
        return b.op("Add", b.op("Relu", x), b.op("Log", b.op("Add", b.const(1, node.dtype),
                                                              b.op("Exp", b.op("Neg", ...)))))

Values are named after the graphflow node they compute; helpers' values get the node's name
with a suffix ("dense/MatMul/shape"), so the exported graph reads like the graphflow one.
"""

from __future__ import annotations

from typing import Dict, List, Optional, Sequence, Union

import numpy as np
import onnx
from onnx import helper, numpy_helper

__all__ = ["OnnxBuilder", "tensor_type"]


def tensor_type(dtype) -> int:
    """The ONNX TensorProto element type of a numpy dtype."""
    return helper.np_dtype_to_tensor_dtype(np.dtype(dtype))


class OnnxBuilder:
    """Nodes and initializers of one ONNX graph under construction."""

    def __init__(self, opset: int):
        self.opset = opset
        self.nodes: List[onnx.NodeProto] = []
        self.initializers: List[onnx.TensorProto] = []
        self._taken: Dict[str, int] = {}
        self._consts: Dict[tuple, str] = {}
        self.prefix = "graphflow"  # the node being lowered: helper values are named after it

    # -- names -----------------------------------------------------------------------------
    def reserve(self, name: str) -> str:
        """`name` if it is free, else name_1, name_2, ...; taken from then on."""
        if name not in self._taken:
            self._taken[name] = 0
            return name
        while True:
            self._taken[name] += 1
            candidate = f"{name}_{self._taken[name]}"
            if candidate not in self._taken:
                self._taken[candidate] = 0
                return candidate

    def fresh(self, what: str) -> str:
        """A new value name for a helper of the node being lowered."""
        return self.reserve(f"{self.prefix}/{what}")

    # -- nodes -----------------------------------------------------------------------------
    def op(self, op_type: str, *inputs: Optional[str], outputs: int = 1,
           name: Optional[str] = None, **attrs) -> Union[str, List[str]]:
        """One ONNX node of `inputs` (None: an omitted optional input); its output name(s)."""
        outs = [self.fresh(op_type) if name is None or k else name for k in range(outputs)]
        self.nodes.append(helper.make_node(op_type, ["" if i is None else i for i in inputs],
                                           outs, name=outs[0], **attrs))
        return outs[0] if outputs == 1 else outs

    def const(self, value, dtype=None, name: Optional[str] = None) -> str:
        """An initializer holding `value` (of `dtype` if given); small equal constants are
        shared."""
        array = np.asarray(value, dtype=dtype)
        key = None
        if name is None and array.size <= 16:
            key = (array.dtype.str, array.shape, array.tobytes())
            if key in self._consts:
                return self._consts[key]
        out = self.reserve(name) if name is not None else self.fresh("const")
        self.initializers.append(numpy_helper.from_array(np.array(array, order="C"), out))
        if key is not None:
            self._consts[key] = out
        return out

    def ints(self, values: Sequence[int]) -> str:
        """A 1-D int64 constant (shapes, axes, pads, slice bounds)."""
        return self.const(np.asarray(list(values), dtype=np.int64).reshape(-1))

    def scalar(self, value, dtype) -> str:
        """A 0-d constant of `dtype`."""
        return self.const(np.asarray(value, dtype=dtype))

    def cast(self, x: str, dtype) -> str:
        return self.op("Cast", x, to=tensor_type(dtype))
