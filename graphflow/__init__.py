"""graphflow: a define-then-run deep-learning library in the TensorFlow-1 style, on numpy.

    import graphflow as gf
    x = gf.placeholder(gf.float32, shape=(None, 3), name="x")
    w = gf.Variable(np.ones((3, 1), np.float32), name="w")
    loss = gf.reduce_mean(gf.square(x @ w))
    (dw,) = gf.gradients(loss, [w])
    with gf.Session() as sess:
        print(sess.run([loss, dw], feed_dict={x: np.eye(3)}))
"""

import importlib
import sys

from compiler.autodiff import gradients, hessians
from compiler.device_spec import NodeDef
from compiler.dtypes import (
    bool_,
    float32,
    float64,
    int8,
    int16,
    int32,
    int64,
    string,
    uint8,
    uint16,
)
from compiler.errors import (
    DTypeError,
    FeedError,
    FetchError,
    GraphMismatchError,
    NoGradientError,
    OpError,
    ShapeError,
)
from compiler.graph import Graph, Operation, get_default_graph, graph_of, reset_default_graph
from compiler.graph import Node as Tensor
from compiler.ops.array import gather, rank, shape, size, split, stack, tile, unstack
from compiler.ops.core import constant, convert_to_tensor, placeholder
from compiler.ops.debug import check_numerics
from compiler.ops.division import floordiv, floormod, mod
from compiler.ops.elementwise import *  # noqa: F401,F403
from compiler.ops.generate import range  # noqa: A004 - TF1's tf.range
from compiler.ops.indexing import one_hot, pad
from compiler.ops.linalg import matmul
from compiler.ops.math import (
    argmin,
    cos,
    log1p,
    logical_and,
    logical_not,
    logical_or,
    rsqrt,
    sin,
)
from compiler.ops.nn import relu, sigmoid, softplus, tanh
from compiler.ops.random import random_normal, random_shuffle, random_uniform, truncated_normal
from compiler.ops.reduce import add_n, argmax
from compiler.ops.shape import (
    broadcast_to,
    concat,
    expand_dims,
    reshape,
    squeeze,
    transpose,
)
from compiler.ops.state import Variable, assign, assign_add, assign_sub, group
from compiler.ops.strings import as_string, string_join

from . import (
    app,
    compat,
    contrib,
    data,
    datasets,
    debugging,
    distribute,
    errors,
    estimator,
    flags,
    gfile,
    initializers,
    io,
    layers,
    losses,
    metrics,
    nn,
    onnx,
    random,
    strings,
    summary,
    test,
    train,
)
from . import tf_logging as logging
from .aliases import (
    arg_max,
    arg_min,
    initialize_all_variables,
    initialize_variables,
    to_double,
    to_float,
    to_int32,
    to_int64,
)
from .compat import (
    div,
    fill,
    ones,
    pow,
    reduce_max,
    reduce_mean,
    reduce_min,
    reduce_prod,
    reduce_sum,
    truediv,
    zeros,
)
from .config import (
    ConfigProto,
    GPUOptions,
    GraphOptions,
    OptimizerOptions,
    RunMetadata,
    RunOptions,
)
from .functional import function, grad, hessian, hvp, jacobian, jvp, value_and_grad
from .initializers import (
    constant_initializer,
    glorot_uniform_initializer,
    ones_initializer,
    random_normal_initializer,
    random_uniform_initializer,
    truncated_normal_initializer,
    variance_scaling_initializer,
    zeros_initializer,
)
from .nn import log_softmax, softmax
from .random import set_random_seed
from .session import InteractiveSession, Session, get_default_session
from .train.optimizers import clip_by_global_norm
from .variable_scope import (
    AUTO_REUSE,
    VariableScope,
    get_local_variable,
    get_variable,
    get_variable_scope,
    variable_scope,
)
from .variable_scope import reenter_name_scope as _reenter_name_scope
from .variables import (
    GraphKeys,
    add_to_collection,
    get_collection,
    global_variables,
    global_variables_initializer,
    local_variables,
    local_variables_initializer,
    trainable_variables,
    variables_initializer,
)


def control_dependencies(control_inputs):
    """Context manager: ops made inside run after `control_inputs` (tensors or ops); a variable
    read inside sees what those assigned. None clears the enclosing blocks' dependencies."""
    graph = graph_of(list(control_inputs or ()))
    return graph.control_dependencies(control_inputs)


def no_op(name: str = None) -> Operation:
    """An op that does nothing (a target for control dependencies)."""
    return group(name=name or "NoOp")


def device(device_name_or_function):
    """Context manager: ops made inside record this device (TF1's `op.device`, e.g.
    '/device:GPU:0'); see Graph.device. graphflow runs them all on the session's backend."""
    return get_default_graph().device(device_name_or_function)


def name_scope(name: str):
    """Context manager: ops made inside get names prefixed with `name/` (in the default graph).
    A name ending in '/' ("foo/", a scope's original_name_scope) re-enters that scope as it is."""
    if name and name.endswith("/"):
        return _reenter_name_scope(get_default_graph(), name)
    return get_default_graph().name_scope(name)


bool = bool_  # noqa: A001 - TF1 spells it tf.bool

# TF 1.15's tf.compat.v1 is the TF1 API itself, which graphflow is.
compat.v1 = sys.modules[__name__]

__version__ = "0.1.0"


def __getattr__(name: str):
    """`gf.viz` is imported on first use (it imports graphviz, which nothing else needs); TF1
    names graphflow does not have get an error that says so, not a bare AttributeError."""
    if name == "viz":
        module = importlib.import_module(".viz", __name__)
        globals()["viz"] = module
        return module
    error = compat.unsupported(name)
    if error is not None:
        raise error
    raise AttributeError(f"module 'graphflow' has no attribute {name!r}; see the README section "
                         f"'Coming from TensorFlow 1' for the TF1 names graphflow supports")
