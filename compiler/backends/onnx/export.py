"""An optimized Function as an ONNX model: its inputs become graph inputs (None sizes symbolic),
its variables initializers holding the given values, its constants initializers, and every other
node what ONNX_TABLE's rule for its op writes. Outputs carry the names asked for.

    model = to_model(fn, input_names, output_names, variable_values, opset=17)
"""

from __future__ import annotations

from typing import Dict, List, Optional, Sequence

import numpy as np
import onnx
from onnx import helper

from ...errors import BackendError
from ...function import Function
from ...graph import Node
from ...ops.core import CONSTANT, PLACEHOLDER, READ_VARIABLE
from ...ops.state import VARIABLE
from .builder import OnnxBuilder, tensor_type
from .lowering import ONNX_TABLE

__all__ = ["to_model", "MIN_OPSET"]

MIN_OPSET = 13  # Squeeze/Unsqueeze/ReduceSum axes as inputs, Split sizes as an input


def _dims(node: Node, name: str, symbolic: bool) -> List:
    """The ONNX dims of an input: ints, or names for None sizes (dim 0: 'batch')."""
    if node.shape is None:
        raise BackendError(f"input '{name}' ({node.site}) has an unknown rank; give the "
                           f"placeholder a shape to export it")
    dims = []
    for k, size in enumerate(node.shape):
        if size is None and not symbolic:
            raise BackendError(f"input '{name}' ({node.site}) has an unknown size in dimension "
                               f"{k} (shape {tuple(node.shape)}) and dynamic_batch=False; give "
                               f"it a full shape or export with dynamic_batch=True")
        dims.append(("batch" if k == 0 else f"{name}_dim{k}") if size is None else int(size))
    return dims


def _value_info(name: str, node: Node, dims) -> onnx.ValueInfoProto:
    return helper.make_tensor_value_info(name, tensor_type(node.dtype), dims)


def _lower(b: OnnxBuilder, node: Node, names: Dict[Node, str], preset: Dict[Node, str]) -> str:
    """The node's ONNX value: its rule's result, renamed to the node's own name where the rule
    made it (so the exported graph names values as graphflow does; an output's value takes the
    output's name, `preset`)."""
    rule = ONNX_TABLE.rule(node)
    b.prefix = node.op_name
    start = len(b.nodes)
    out = rule(b, node, *[names[i] for i in node.inputs])
    made = [n for n in b.nodes[start:] if out in n.output]
    if made:
        own = preset.pop(node, None) or b.reserve(node.op_name)
        for n in b.nodes[start:]:
            if out in n.output:
                n.output[:] = [own if o == out else o for o in n.output]
                n.name = own
            n.input[:] = [own if i == out else i for i in n.input]
        out = own
    return out


def to_model(fn: Function, input_names: Sequence[str], output_names: Sequence[str],
             variables: Dict[str, np.ndarray], opset: int = 17, dynamic_batch: bool = True,
             doc: Optional[str] = None) -> onnx.ModelProto:
    """The ONNX model of `fn` (see the module docstring); variables: values by variable name."""
    if opset < MIN_OPSET:
        raise ValueError(f"opset {opset} is too old: graphflow exports opset {MIN_OPSET} or later")
    b = OnnxBuilder(opset)
    for name in list(input_names) + list(output_names):
        b.reserve(name)
    names: Dict[Node, str] = dict(zip(fn.inputs, input_names))
    preset: Dict[Node, str] = {}  # an output whose node's own value can carry its name
    for node, name in zip(fn.outputs, output_names):
        preset.setdefault(node, name)
    graph_inputs = [_value_info(name, node, _dims(node, name, dynamic_batch))
                    for node, name in zip(fn.inputs, input_names)]
    for node in fn.graph.nodes:
        if node in names:
            continue
        if node.opdef is PLACEHOLDER:
            raise BackendError(f"placeholder '{node.op_name}' ({node.site}) is needed but is not "
                               f"one of the inputs")
        if node.opdef is CONSTANT:
            names[node] = b.const(node.attrs["value"], name=node.op_name)
        elif node.opdef is VARIABLE:
            names[node] = b.const(variables[node.op_name], dtype=node.dtype, name=node.op_name)
        elif node.opdef is READ_VARIABLE:
            names[node] = names[node.inputs[0]]
        else:
            names[node] = _lower(b, node, names, preset)
    outputs = []
    for node, name in zip(fn.outputs, output_names):
        if names[node] != name:  # an input, a constant, a variable, or a second name
            b.nodes.append(helper.make_node("Identity", [names[node]], [name], name=name))
        if node.shape is None:
            raise BackendError(f"output '{name}' ({node.describe()}) has an unknown rank, which "
                               f"an ONNX graph output cannot have; reshape it to a known rank")
        outputs.append(_value_info(name, node, list(node.shape)))
    graph = helper.make_graph(b.nodes, "graphflow", graph_inputs, outputs, b.initializers,
                              doc_string=doc or "")
    return helper.make_model(graph, producer_name="graphflow",
                             opset_imports=[helper.make_opsetid("", opset)])
