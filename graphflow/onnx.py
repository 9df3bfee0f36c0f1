"""gf.onnx: export the inference part of a graph to ONNX, for ONNX Runtime and anything else that
reads ONNX (TensorRT, OpenVINO, onnxruntime-web, ...).

    model = gf.onnx.export(sess, [x], [probabilities], "mlp.onnx")
    # onnxruntime.InferenceSession("mlp.onnx").run(None, {"x": images})

What `outputs` need from the placeholders `inputs` is extracted, optimized by graphflow's passes
and written with the ONNX lowering table (compiler/backends/onnx/); variables become
initializers holding the session's current values. Needs the `onnx` extra
(pip install 'graphflow[onnx]'; onnxruntime comes with it, to run the file).
"""

from __future__ import annotations

import os
from typing import List, Sequence, Union

from compiler.errors import BackendError, GraphflowError
from compiler.function import extract
from compiler.graph import Node, Operation
from compiler.ops.core import CONSTANT, PLACEHOLDER, READ_VARIABLE
from compiler.ops.state import VARIABLE
from compiler.passes import optimize
from compiler.traversal import plan

from .atomic_file import write_atomically
from .session import Session

__all__ = ["export", "ExportError"]

Tensors = Union[Node, Sequence[Node]]


class ExportError(GraphflowError, ValueError):
    """A graph that cannot be exported as asked (nothing is written)."""


def _as_list(value, what: str) -> List[Node]:
    items = list(value) if isinstance(value, (list, tuple)) else [value]
    if not items:
        raise ExportError(f"onnx.export: {what} is empty")
    for item in items:
        if isinstance(item, Operation) or not isinstance(item, Node) or item.dtype is None:
            raise ExportError(f"onnx.export: {what} must be tensors, got {item!r}")
    if len(set(items)) != len(items):
        raise ExportError(f"onnx.export: {what} names a tensor twice")
    return items


def _check(sess: Session, inputs: List[Node], outputs: List[Node]) -> None:
    for node in inputs + outputs:
        if node.graph is not sess.graph:
            raise ExportError(f"onnx.export: '{node.op_name}' ({node.site}) belongs to another "
                              f"graph than the session's")
    for node in inputs:
        if node.opdef is not PLACEHOLDER:
            raise ExportError(f"onnx.export: inputs must be placeholders; '{node.op_name}' "
                              f"({node.site}) is a {node.opdef.name}")
    needed = plan(outputs, inputs)
    missing = [n for n in needed if n.opdef is PLACEHOLDER and n not in inputs]
    if missing:
        raise ExportError("onnx.export: the outputs need placeholder(s) "
                          + ", ".join(f"'{n.op_name}' ({n.site})" for n in missing)
                          + " that are not in `inputs`; add them to inputs")
    for node in needed:
        op = node.opdef
        if op in (PLACEHOLDER, CONSTANT, VARIABLE, READ_VARIABLE):
            continue
        if op.updates or op.stateful or node.dtype is None:
            raise ExportError(f"onnx.export exports inference only: {node.describe()} "
                              f"{'changes a variable' if op.updates else 'is a stateful op'}; "
                              f"export the tensors that compute predictions (a graph built "
                              f"without training, random or summary ops)")


def export(sess: Session, inputs: Tensors, outputs: Tensors, path: Union[str, os.PathLike],
           opset: int = 17, dynamic_batch: bool = True):
    """Write what `outputs` compute from the placeholders `inputs` as an ONNX model at `path`,
    with the session's current variable values (variables it has not run yet are initialized
    first); returns the onnx.ModelProto. Inputs and outputs keep their graphflow names (op
    names: "x", "logits/BiasAdd"); with dynamic_batch, None sizes of the inputs are symbolic
    ("batch" for dimension 0), else they are an error. The model passes onnx.checker. A graph
    that cannot be exported (a placeholder missing from inputs, a training or random op, an op
    with no ONNX lowering: the error names it and where it was made) writes no file."""
    import onnx  # the `onnx` extra, imported only here

    from compiler.backends.onnx.export import to_model

    inputs, outputs = _as_list(inputs, "inputs"), _as_list(outputs, "outputs")
    sess._check_open()
    _check(sess, inputs, outputs)
    fn = extract(outputs, {n: (n.shape, n.dtype) for n in inputs})
    fn, _ = optimize(fn)
    variables = sess._variable_values([n for n in fn.graph.nodes if n.opdef is VARIABLE])
    try:
        model = to_model(fn, [n.op_name for n in inputs], [n.op_name for n in outputs],
                         variables, opset=opset, dynamic_batch=dynamic_batch)
    except BackendError as exc:
        raise ExportError(f"onnx.export: {exc}") from None
    onnx.checker.check_model(model)
    _write(model, os.fspath(path))
    return model


def _write(model, path: str) -> None:
    """The file appears whole or not at all."""
    os.makedirs(os.path.dirname(path) or os.curdir, exist_ok=True)
    write_atomically(path, lambda f: f.write(model.SerializeToString()))
