"""TF1's default op names: a node built without name= is named as TensorFlow 1.15 names it, so
`graph.get_tensor_by_name("MatMul:0")` and TensorBoard's Graphs tab see what TF1 shows.

Expected strings are hand-written from TF 1.15's Python sources (the rule each row cites): a
generated op wrapper (gen_*_ops) names a node after its op type; a Python wrapper that opens
`ops.name_scope(name, "<default>", ...)` and passes the scope as the op's name uses that default;
the operator overloads of math_ops (`binary_op_wrapper`) open a scope named after the lowercase
operator ("add", "sub", "mul", "truediv", "pow", "matmul"); `Tensor.__getitem__` is
array_ops._slice_helper, named "strided_slice".
"""

import numpy as np
import pytest

import graphflow as gf
from compiler import REGISTRY


def _a():
    return gf.placeholder(gf.float32, (2, 2), name="a")


def _b():
    return gf.constant(np.ones((2, 2), np.float32), name="b")


# (built from placeholders a, b of shape (2, 2), TF1 1.15's default name, where TF1 sets it)
CASES = [
    (lambda a, b: gf.matmul(a, b), "MatMul:0"),  # math_ops.matmul: name_scope(name, "MatMul")
    (lambda a, b: a @ b, "matmul:0"),  # math_ops: _OverrideBinaryOperatorHelper(matmul, "matmul")
    (lambda a, b: a + b, "add:0"),  # binary_op_wrapper for __add__: scope "add"
    (lambda a, b: b + a, "add:0"),  # r_binary_op_wrapper (__radd__) uses the same scope name
    (lambda a, b: a - b, "sub:0"),  # _OverrideBinaryOperatorHelper(gen_math_ops.sub, "sub")
    (lambda a, b: a * b, "mul:0"),  # _OverrideBinaryOperatorHelper(_mul_dispatch, "mul")
    (lambda a, b: a / b, "truediv:0"),  # _OverrideBinaryOperatorHelper(_truediv_python3, ...)
    (lambda a, b: a ** 2, "pow:0"),  # _OverrideBinaryOperatorHelper(pow, "pow")
    (lambda a, b: 2.0 - a, "sub:0"),  # __rsub__: r_binary_op_wrapper, scope "sub"
    (lambda a, b: -a, "Neg:0"),  # Tensor.__neg__ = gen_math_ops.neg
    (lambda a, b: abs(a), "Abs:0"),  # Tensor.__abs__ = math_ops.abs: name_scope(name, "Abs")
    (lambda a, b: a < b, "Less:0"),  # Tensor.__lt__ = gen_math_ops.less
    (lambda a, b: a >= b, "GreaterEqual:0"),  # Tensor.__ge__ = gen_math_ops.greater_equal
    (lambda a, b: a[0], "strided_slice:0"),  # array_ops._slice_helper: scope "strided_slice"
    (lambda a, b: gf.add(a, b), "Add:0"),  # tf.add is gen_math_ops.add
    (lambda a, b: gf.subtract(a, b), "Sub:0"),  # tf.subtract is gen_math_ops.sub
    (lambda a, b: gf.multiply(a, b), "Mul:0"),  # tf.multiply is gen_math_ops.mul
    (lambda a, b: gf.divide(a, b), "truediv:0"),  # math_ops.divide: x / y when name is None
    (lambda a, b: gf.negative(a), "Neg:0"),  # tf.negative is gen_math_ops.neg
    (lambda a, b: gf.square(a), "Square:0"),  # gen_math_ops.square
    (lambda a, b: gf.sqrt(a), "Sqrt:0"),  # gen_math_ops.sqrt
    (lambda a, b: gf.exp(a), "Exp:0"),  # gen_math_ops.exp
    (lambda a, b: gf.log(a), "Log:0"),  # gen_math_ops.log
    (lambda a, b: gf.maximum(a, b), "Maximum:0"),  # gen_math_ops.maximum
    (lambda a, b: gf.equal(a, b), "Equal:0"),  # gen_math_ops.equal
    (lambda a, b: gf.cast(a, gf.int32), "Cast:0"),  # math_ops.cast: name_scope(name, "Cast")
    (lambda a, b: gf.reduce_mean(a), "Mean:0"),  # math_ops.reduce_mean: gen_math_ops.mean
    (lambda a, b: gf.reduce_sum(a), "Sum:0"),  # math_ops.reduce_sum: gen_math_ops._sum
    (lambda a, b: gf.reduce_max(a), "Max:0"),  # math_ops.reduce_max: gen_math_ops._max
    (lambda a, b: gf.argmax(a, 1), "ArgMax:0"),  # math_ops.argmax: gen_math_ops.arg_max
    (lambda a, b: gf.argmax(a, 1, output_type=gf.int32), "ArgMax:0"),  # the same op, int32
    (lambda a, b: gf.reshape(a, [4]), "Reshape:0"),  # gen_array_ops.reshape
    (lambda a, b: gf.identity(a), "Identity:0"),  # array_ops.identity: gen_array_ops.identity
    (lambda a, b: gf.shape(a), "Shape:0"),  # array_ops.shape: gen_array_ops.shape
    (lambda a, b: gf.transpose(a), "transpose:0"),  # array_ops.transpose: scope "transpose"
    (lambda a, b: gf.concat([a, b], 0), "concat:0"),  # array_ops.concat(values, axis, "concat")
    (lambda a, b: gf.stack([a, b]), "stack:0"),  # array_ops.stack(values, axis, "stack")
    (lambda a, b: gf.expand_dims(a, 0), "ExpandDims:0"),  # gen_array_ops.expand_dims
    (lambda a, b: gf.zeros_like(a), "zeros_like:0"),  # array_ops.zeros_like: scope "zeros_like"
    (lambda a, b: gf.ones_like(a), "ones_like:0"),  # array_ops.ones_like: scope "ones_like"
    (lambda a, b: gf.zeros([2]), "zeros:0"),  # array_ops.zeros: name_scope(name, "zeros")
    (lambda a, b: gf.ones([2]), "ones:0"),  # array_ops.ones: name_scope(name, "ones")
    (lambda a, b: gf.fill([2], 1.0), "Fill:0"),  # gen_array_ops.fill
    (lambda a, b: gf.range(3), "range:0"),  # math_ops.range(..., name="range")
    (lambda a, b: gf.one_hot([1], 3), "one_hot:0"),  # array_ops.one_hot: scope "one_hot"
    (lambda a, b: gf.where(a < b, a, b), "Select:0"),  # v1 where(cond, x, y): gen_math_ops.select
    (lambda a, b: gf.clip_by_value(a, 0.0, 1.0), "clip_by_value:0"),  # scope "clip_by_value"
    (lambda a, b: gf.random_normal([2]), "random_normal:0"),  # scope "random_normal"
    (lambda a, b: gf.truncated_normal([2]), "truncated_normal:0"),  # scope "truncated_normal"
    (lambda a, b: gf.random_uniform([2]), "random_uniform:0"),  # scope "random_uniform"
    (lambda a, b: gf.nn.relu(a), "Relu:0"),  # gen_nn_ops.relu
    (lambda a, b: gf.nn.sigmoid(a), "Sigmoid:0"),  # math_ops.sigmoid: scope "Sigmoid"
    (lambda a, b: gf.tanh(a), "Tanh:0"),  # math_ops.tanh: scope "Tanh"
    (lambda a, b: gf.nn.softmax(a), "Softmax:0"),  # nn_ops._softmax: gen_nn_ops.softmax
    (lambda a, b: gf.nn.bias_add(a, [1.0, 2.0]), "BiasAdd:0"),  # nn_ops.bias_add: "BiasAdd"
    (lambda a, b: gf.nn.l2_loss(a), "L2Loss:0"),  # nn_ops.l2_loss is gen_nn_ops.l2_loss
    # nn_ops.dropout_v2: scope "dropout"; ret = x * scale * cast(keep_mask) -> mul, mul_1
    (lambda a, b: gf.nn.dropout(a, keep_prob=0.5), "dropout/mul_1:0"),
    # nn_ops.softmax_cross_entropy_with_logits (v1): scope "..._sg", cost reshaped (Reshape_2)
    (lambda a, b: gf.nn.softmax_cross_entropy_with_logits(labels=b, logits=a),
     "softmax_cross_entropy_with_logits_sg/Reshape_2:0"),
    (lambda a, b: gf.nn.softmax_cross_entropy_with_logits_v2(labels=b, logits=a),
     "softmax_cross_entropy_with_logits/Reshape_2:0"),  # v2: scope without "_sg"
    # nn_ops.sparse_softmax_cross_entropy_with_logits: the op of that name inside its scope
    (lambda a, b: gf.nn.sparse_softmax_cross_entropy_with_logits(labels=[0, 1], logits=a),
     "SparseSoftmaxCrossEntropyWithLogits/SparseSoftmaxCrossEntropyWithLogits:0"),
    (lambda a, b: gf.Variable(1.0), "Variable:0"),  # variables.RefVariable: default "Variable"
    (lambda a, b: gf.constant(1.0), "Const:0"),  # constant_op.constant(name="Const")
]


@pytest.mark.parametrize("build, expected", CASES, ids=[c[1] for c in CASES])
def test_default_names_are_tf1s(build, expected):
    assert build(_a(), _b()).name == expected


def test_group_is_named_group_deps():
    # control_flow_ops.group: name_scope(name, "group_deps"), a NoOp of that name
    op = gf.group(_a(), _b())
    assert op.name == "group_deps"
    assert op.node.opdef.tf_type == "NoOp"


def test_a_given_name_still_wins():
    a, b = _a(), _b()
    assert gf.matmul(a, b, name="logits").name == "logits:0"
    assert gf.multiply(a, b, name="m").name == "m:0"


def test_repeated_defaults_count_up_as_tf1():
    a, b = _a(), _b()
    names = [gf.matmul(a, b).name, gf.matmul(a, b).name, (a * b).name, (a * b).name]
    assert names == ["MatMul:0", "MatMul_1:0", "mul:0", "mul_1:0"]


def test_names_are_unique_ignoring_case_as_tf1():
    # ops.Graph.unique_name keys names_in_use by name.lower(): "MatMul" then "matmul" is matmul_1
    a, b = _a(), _b()
    assert gf.matmul(a, b).name == "MatMul:0"
    assert (a @ b).name == "matmul_1:0"
    assert gf.multiply(a, b).name == "Mul:0"
    assert (a * b).name == "mul_1:0"


def test_default_names_are_looked_up_by_name():
    a, b = _a(), _b()
    y = gf.reduce_mean(gf.nn.relu(gf.matmul(a, b)))
    g = gf.get_default_graph()
    assert g.get_tensor_by_name("MatMul:0") is y.op.inputs[0].op.inputs[0]
    assert g.get_tensor_by_name("Mean:0") is y


def test_names_under_a_scope():
    with gf.name_scope("layer"):
        y = gf.nn.relu(gf.matmul(_a(), _b()))
    assert y.name == "layer/Relu:0"
    assert y.op.inputs[0].name == "layer/MatMul:0"


def _graphflow_op(op) -> bool:
    """Ops the project registers (tests register throwaway ops of their own)."""
    return getattr(op.infer, "__module__", "").startswith("compiler.")


# Ops with no TF1 counterpart: autodiff and pass helpers, and composites TF1 builds from others.
GRAPHFLOW_ONLY = {
    "reshape_like", "concat_part", "broadcast_like", "sum_to", "reduction_size", "gather_grad",
    "tile_grad", "check_labels", "all_reduce_mean", "sigmoid_cross_entropy_with_logits",
    "fused",
}


@pytest.mark.parametrize("name", sorted(n for n, op in REGISTRY.items() if _graphflow_op(op)))
def test_every_op_has_a_tf_type_or_is_listed_as_graphflow_only(name):
    op = REGISTRY[name]
    if name in GRAPHFLOW_ONLY:
        assert op.tf_type == "", f"{name} has tf_type {op.tf_type!r}: take it off GRAPHFLOW_ONLY"
    else:
        assert op.tf_type, f"op {name!r}: set tf_type (TF1's op type) or list it GRAPHFLOW_ONLY"
        assert op.tf_type[0].isupper() and op.tf_type.isalnum()  # TF1 op types are CamelCase


def test_graphflow_only_lists_registered_ops():
    assert GRAPHFLOW_ONLY <= set(REGISTRY)


def test_tensorboard_graph_def_shows_tf1_op_types():
    from graphflow.summary.graph_def import graph_def

    a, b = _a(), _b()
    gf.reduce_mean(gf.nn.relu(a @ b))
    ops = {n.name: n.op for n in graph_def(gf.get_default_graph()).node}
    # TF1's GraphDef: node "matmul" (from @) is of op type MatMul, "Mean" of type Mean
    assert ops == {"a": "Placeholder", "b": "Const", "matmul": "MatMul", "Relu": "Relu",
                   "Mean": "Mean"}
