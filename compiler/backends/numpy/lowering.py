"""The numpy backend's lowering table: one numpy expression per op, writing into a preallocated
buffer (`{out}`) where the memory plan gives the node one; the op's reference kernel where numpy
has no better spelling (also for ops registered outside compiler/ops, which have no entry here).
See compiler/backends/lowering.py for what an entry may be."""

from __future__ import annotations

from ..lowering import REFERENCE, LoweringTable

NUMPY_TABLE = LoweringTable("numpy", fallback=REFERENCE)
T = NUMPY_TABLE

# -- elementwise: numpy ufuncs, np.<ufunc>(inputs, out=...)
_UFUNCS = {
    "add": "add", "subtract": "subtract", "multiply": "multiply", "divide": "divide",
    "power": "power", "maximum": "maximum", "minimum": "minimum", "equal": "equal",
    "not_equal": "not_equal", "less": "less", "less_equal": "less_equal", "greater": "greater",
    "greater_equal": "greater_equal", "logical_and": "logical_and", "logical_or": "logical_or",
}
_UNARY_UFUNCS = {
    "negative": "negative", "square": "square", "sqrt": "sqrt", "exp": "exp", "log": "log",
    "abs": "absolute", "sign": "sign", "sin": "sin", "cos": "cos", "log1p": "log1p",
    "tanh": "tanh", "logical_not": "logical_not",
}
T.templates("np.%s({0}, {1}{out})", _UFUNCS)
T.templates("np.%s({0}{out})", _UNARY_UFUNCS)

T.template("read_variable", "np.array({0})")
T.template("where", "np.where({0}, {1}, {2})")
T.template("clip_by_value", "np.clip({0}, {1}, {2}{out})")
T.template("cast", "{kernel}({0}, {dtype}{out})")
T.template("identity", "{0}")
T.template("stop_gradient", "{0}")
T.template("relu", "np.maximum({0}, 0{out})")
# Kernels written to take out= themselves (numerically stable forms).
T.templates("%s({0}{out})", dict.fromkeys(("rsqrt", "sigmoid", "softplus"), "{kernel}"))
T.reference("zeros_like", "ones_like")
T.template("fused", "{prepared}({args}{out})")  # one compiled loop (fused_jit.py)

# -- shape and array -------------------------------------------------------------------------------
T.template("reshape", "np.reshape({0}, {shape})")
T.template("transpose", "np.transpose({0}, {perm})")
T.template("expand_dims", "np.expand_dims({0}, {axis})")
T.template("squeeze", "np.squeeze({0}, {axis})")
T.template("concat", "np.concatenate(({args},), axis={axis})")
T.template("broadcast_to", "np.broadcast_to({0}, {shape})")
T.template("stack", "np.stack(({args},), axis={axis})")
T.template("unstack", "np.moveaxis({0}, {axis}, 0)[{index}]")
T.template("gather", "np.take({0}, {1}, axis={axis})")
T.template("tile", "np.tile({0}, {multiples})")
T.template("shape", "np.array({0}.shape, dtype={odtype})")
T.template("size", "np.array({0}.size, dtype={odtype})")
T.template("rank", "np.array({0}.ndim, dtype={odtype})")
T.template("getitem", "{0}[{index}]")
T.template("pad", "np.pad({0}, {paddings}, constant_values={constant_values})")
T.reference("reshape_like", "concat_part", "broadcast_like", "sum_to", "split", "gather_grad",
            "tile_grad", "getitem_grad", "one_hot")

# -- linear algebra and reductions -----------------------------------------------------------------
T.template("matmul", "np.matmul({0}, {1}{out})")
T.template("reduce_sum",
           "np.add.reduce({0}, axis={axis}, keepdims={keepdims}, dtype={odtype}{out})")
T.template("reduce_prod",
           "np.multiply.reduce({0}, axis={axis}, keepdims={keepdims}, dtype={odtype}{out})")
T.template("reduce_max", "np.maximum.reduce({0}, axis={axis}, keepdims={keepdims}{out})")
T.template("reduce_min", "np.minimum.reduce({0}, axis={axis}, keepdims={keepdims}{out})")
T.template("reduce_mean", "{kernel}({0}, {axis}, {keepdims}{out})")
T.template("add_n", "{kernel}({args}{out})")
T.template("argmin", "np.argmin({0}, axis={axis}).astype({output_type}, copy=False)")
T.reference("reduction_size", "argmax")

# -- nn, random, debugging, collectives
T.reference("softmax", "log_softmax")
T.template("sigmoid_cross_entropy_with_logits", "{kernel}({0}, {1}{out})")
T.reference("random_standard_normal", "truncated_normal", "random_uniform", "random_shuffle")
T.reference("log_uniform_draw", "log_uniform_expected_count")  # candidate sampling
T.reference("floordiv", "floormod")  # an integer divisor of zero raises, as in TF1
T.reference("iterator_get_next", "iterator_init")  # input pipelines: host-side state
T.reference("check_numerics", "check_labels", "all_reduce_mean")
T.reference("fill", "range", "in_top_k")  # np.full, TF1's accumulated range, a ranking count

# -- strings and summaries: host objects; codegen runs every node on strings by its reference
# kernel whatever the table says (the ops marked OpDef.strings)
T.reference("string_join", "as_string", "scalar_summary", "histogram_summary", "image_summary",
            "text_summary", "merge_summary")

# -- variable updates: statements writing input 0 in place -----------------------------------------
T.template("assign", "{0}[...] = {1}")
T.template("assign_add", "{0} += {1}")
T.template("assign_sub", "{0} -= {1}")
T.template("matmul_accumulate", "{prepared}({0}, {1}, {2})")  # one GEMM into {0} (blas.py)
