"""A graphflow Graph as TensorFlow's GraphDef protocol buffer, for TensorBoard's Graphs tab: one
NodeDef per node (its name with its name scopes, TF1's op type name where graphflow's differs,
its inputs, control inputs as '^name', and the attrs `dtype` and `_output_shapes`)."""

from __future__ import annotations

import numpy as np

from compiler import dtypes as _dt

# graphflow op -> TF1 op type, where they differ (the rest keep graphflow's name).
TF_OP_TYPES = {
    "constant": "Const", "placeholder": "Placeholder", "variable": "VariableV2",
    "read_variable": "Identity", "assign": "Assign", "assign_add": "AssignAdd",
    "assign_sub": "AssignSub", "group": "NoOp", "identity": "Identity",
    "stop_gradient": "StopGradient", "add": "Add", "subtract": "Sub", "multiply": "Mul",
    "divide": "RealDiv", "negative": "Neg", "power": "Pow", "square": "Square", "sqrt": "Sqrt",
    "rsqrt": "Rsqrt", "exp": "Exp", "log": "Log", "log1p": "Log1p", "abs": "Abs", "sign": "Sign",
    "maximum": "Maximum", "minimum": "Minimum", "equal": "Equal", "not_equal": "NotEqual",
    "less": "Less", "less_equal": "LessEqual", "greater": "Greater",
    "greater_equal": "GreaterEqual", "logical_and": "LogicalAnd", "logical_or": "LogicalOr",
    "logical_not": "LogicalNot", "where": "Select", "cast": "Cast",
    "clip_by_value": "ClipByValue", "zeros_like": "ZerosLike", "ones_like": "OnesLike",
    "matmul": "MatMul", "reduce_sum": "Sum", "reduce_mean": "Mean", "reduce_max": "Max",
    "reduce_min": "Min", "reduce_prod": "Prod", "argmax": "ArgMax", "argmin": "ArgMin",
    "add_n": "AddN", "relu": "Relu", "sigmoid": "Sigmoid", "tanh": "Tanh",
    "softplus": "Softplus", "softmax": "Softmax", "log_softmax": "LogSoftmax",
    "reshape": "Reshape", "transpose": "Transpose", "expand_dims": "ExpandDims",
    "squeeze": "Squeeze", "concat": "ConcatV2", "stack": "Pack", "unstack": "Unpack",
    "gather": "GatherV2", "tile": "Tile", "shape": "Shape", "size": "Size", "rank": "Rank",
    "getitem": "StridedSlice", "pad": "Pad", "one_hot": "OneHot",
    "broadcast_to": "BroadcastTo", "conv2d": "Conv2D", "max_pool": "MaxPool",
    "avg_pool": "AvgPool", "random_uniform": "RandomUniform",
    "random_standard_normal": "RandomStandardNormal", "truncated_normal": "TruncatedNormal",
    "random_shuffle": "RandomShuffle", "check_numerics": "CheckNumerics",
    "string_join": "StringJoin", "as_string": "AsString", "scalar_summary": "ScalarSummary",
    "histogram_summary": "HistogramSummary", "image_summary": "ImageSummary",
    "text_summary": "TensorSummaryV2", "merge_summary": "MergeSummary",
}

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
    return node_def_pb2.NodeDef(name=node.op_name, op=TF_OP_TYPES.get(node.type, node.type),
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
