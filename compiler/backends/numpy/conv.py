"""The numpy backend's lowering of the conv ops (compiler/ops/conv.py): their kernels
(compiler/ops/conv_kernels.py: im2col and one GEMM, col2im), writing the final GEMM or copy into
the planned buffer (`out=`)."""

from .lowering import NUMPY_TABLE as T

_SETTINGS = "strides={strides}, dilations={dilations}, padding={padding}"

T.template("conv2d", "{kernel}({0}, {1}, " + _SETTINGS + "{out})")
T.template("conv2d_backprop_filter", "{kernel}({0}, {1}, {2}, " + _SETTINGS + "{out})")
T.template("conv2d_backprop_input", "{kernel}({args}, " + _SETTINGS + ", size={size}{out})")
