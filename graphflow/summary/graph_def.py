"""A graphflow Graph as TensorFlow's GraphDef protocol buffer, for TensorBoard's Graphs tab: one
NodeDef per node (its name with its name scopes, TF1's op type (OpDef.tf_type) where it has one,
its inputs, control inputs as '^name', and the attrs `dtype` and `_output_shapes`)."""

from __future__ import annotations

import numpy as np

from compiler import dtypes as _dt

_TF_DTYPES = {"float32": "DT_FLOAT", "float64": "DT_DOUBLE", "int8": "DT_INT8",
              "int16": "DT_INT16", "int32": "DT_INT32", "int64": "DT_INT64", "uint8": "DT_UINT8",
              "uint16": "DT_UINT16", "bool": "DT_BOOL", "object": "DT_STRING"}


def graph_def(graph):
    """`graph` (a gf.Graph) as a tensorboard graph_pb2.GraphDef."""
    from tensorboard.compat.proto import graph_pb2

    nodes = [_node_def(node) for node in graph.nodes]
    return graph_pb2.GraphDef(node=nodes)


def _node_def(node):
    from tensorboard.compat.proto import attr_value_pb2, node_def_pb2

    inputs = [i.op_name for i in node.inputs] + [f"^{c.op_name}" for c in node.control_inputs]
    attrs = {}
    if node.dtype is not None:
        attrs["dtype"] = attr_value_pb2.AttrValue(type=_tf_dtype(node.dtype))
        shapes = attr_value_pb2.AttrValue.ListValue(shape=[_shape(node.shape)])
        attrs["_output_shapes"] = attr_value_pb2.AttrValue(list=shapes)
    return node_def_pb2.NodeDef(name=node.op_name, op=node.opdef.tf_type or node.type,
                                input=inputs, attr=attrs)


def _tf_dtype(dtype) -> int:
    from tensorboard.compat.proto import types_pb2

    name = "object" if _dt.is_string(dtype) else np.dtype(dtype).name
    return types_pb2.DataType.Value(_TF_DTYPES.get(name, "DT_INVALID"))


def _shape(shape):
    from tensorboard.compat.proto import tensor_shape_pb2

    proto = tensor_shape_pb2.TensorShapeProto
    if shape is None:
        return proto(unknown_rank=True)
    return proto(dim=[proto.Dim(size=-1 if n is None else int(n)) for n in shape])
