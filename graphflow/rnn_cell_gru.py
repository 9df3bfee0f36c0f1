"""gf.nn.rnn_cell.GRUCell: TF1's gated recurrent unit cell (tf.nn.rnn_cell.GRUCell).

TF1's GRU applies the reset gate to the state before the candidate's matmul
(c = tanh([x, r * h] @ W_c + b_c)), as Cho et al. v3; torch.nn.GRU applies it after, so the
two give different numbers for the same weights.
"""

from __future__ import annotations

from typing import Optional

from compiler.graph import Node
from compiler.ops.array import split
from compiler.ops.elementwise import add, multiply, subtract
from compiler.ops.linalg import matmul
from compiler.ops.nn import sigmoid, tanh
from compiler.ops.shape import concat

from .initializers import constant_initializer, zeros_initializer
from .rnn_cell import RNNCell
from .variable_scope import get_variable, variable_scope

__all__ = ["GRUCell"]


class GRUCell(RNNCell):
    """TF1's GRU cell: r, u = split(sigmoid([x, h] @ gates/kernel + gates/bias));
    c = activation([x, r * h] @ candidate/kernel + candidate/bias);
    new_h = u * h + (1 - u) * c, both output and state. Variables gru_cell/gates/kernel
    [depth + units, 2 * units], gru_cell/gates/bias (ones unless bias_initializer),
    gru_cell/candidate/kernel [depth + units, units], gru_cell/candidate/bias (zeros unless
    bias_initializer); kernels use kernel_initializer, else the scope's, else glorot_uniform."""

    _base_name = "gru_cell"

    def __init__(self, num_units: int, activation=None, reuse=None, kernel_initializer=None,
                 bias_initializer=None, name: Optional[str] = None, dtype=None):
        super().__init__(reuse=reuse, name=name, dtype=dtype)
        self._num_units = num_units
        self._activation = activation or tanh
        self._kernel_initializer = kernel_initializer
        self._bias_initializer = bias_initializer

    @property
    def state_size(self):
        return self._num_units

    @property
    def output_size(self):
        return self._num_units

    def _variables(self, scope: str, inputs: Node, width: int, default_bias):
        dtype = self._dtype or inputs.dtype
        with variable_scope(scope):
            kernel = get_variable("kernel", [inputs.shape[-1] + self._num_units, width], dtype,
                                  self._kernel_initializer)
            bias = get_variable("bias", [width], dtype, self._bias_initializer or default_bias)
        return kernel, bias

    def call(self, inputs: Node, state):
        gate_kernel, gate_bias = self._variables("gates", inputs, 2 * self._num_units,
                                                 constant_initializer(1.0))
        cand_kernel, cand_bias = self._variables("candidate", inputs, self._num_units,
                                                 zeros_initializer())
        gates = sigmoid(add(matmul(concat([inputs, state], 1), gate_kernel), gate_bias))
        r, u = split(gates, 2, axis=1)
        candidate = add(matmul(concat([inputs, multiply(r, state)], 1), cand_kernel), cand_bias)
        c = self._activation(candidate)
        new_h = add(multiply(u, state), multiply(subtract(1.0, u), c))
        return new_h, new_h
