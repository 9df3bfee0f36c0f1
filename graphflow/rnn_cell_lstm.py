"""gf.nn.rnn_cell.LSTMCell: TF1's LSTM cell with optional peepholes, cell clipping and an
output projection (tf.nn.rnn_cell.LSTMCell)."""

from __future__ import annotations

from typing import Optional

from compiler.graph import Node
from compiler.ops.array import split
from compiler.ops.core import convert_to_tensor
from compiler.ops.elementwise import add, clip_by_value, multiply
from compiler.ops.linalg import matmul
from compiler.ops.nn import sigmoid, tanh
from compiler.ops.shape import concat

from .initializers import zeros_initializer
from .rnn_cell import LSTMStateTuple, RNNCell
from .variable_scope import get_variable, variable_scope

__all__ = ["LSTMCell"]


def _clip(x: Node, bound) -> Node:
    return x if bound is None else clip_by_value(x, -bound, bound)


class LSTMCell(RNNCell):
    """TF1's LSTM cell. Gates i, j, f, o = split([x, m] @ kernel + bias);
    c = sigmoid(f + forget_bias [+ w_f_diag * c_prev]) * c_prev
        + sigmoid(i [+ w_i_diag * c_prev]) * activation(j), clipped to +-cell_clip;
    m = sigmoid(o [+ w_o_diag * c]) * activation(c), then m @ projection/kernel (clipped to
    +-proj_clip) when num_proj. Variables lstm_cell/kernel [depth + (num_proj or units),
    4 * units], lstm_cell/bias (zeros), w_f_diag, w_i_diag, w_o_diag [units] (use_peepholes),
    projection/kernel [units, num_proj]; `initializer` for all but the bias. Output m; state
    LSTMStateTuple(c, m), or [c, m] concatenated when state_is_tuple=False."""

    _base_name = "lstm_cell"

    def __init__(self, num_units: int, use_peepholes: bool = False, cell_clip=None,
                 initializer=None, num_proj: Optional[int] = None, proj_clip=None,
                 num_unit_shards=None, num_proj_shards=None, forget_bias: float = 1.0,
                 state_is_tuple: bool = True, activation=None, reuse=None,
                 name: Optional[str] = None, dtype=None):
        super().__init__(reuse=reuse, name=name, dtype=dtype)
        if num_unit_shards is not None or num_proj_shards is not None:
            raise NotImplementedError("LSTMCell: graphflow does not shard variables "
                                      "(num_unit_shards/num_proj_shards); leave them None")
        self._num_units = num_units
        self._use_peepholes = use_peepholes
        self._cell_clip = cell_clip
        self._initializer = initializer
        self._num_proj = num_proj
        self._proj_clip = proj_clip
        self._forget_bias = forget_bias
        self._state_is_tuple = state_is_tuple
        self._activation = activation or tanh

    @property
    def state_size(self):
        m = self._num_proj or self._num_units
        if self._state_is_tuple:
            return LSTMStateTuple(self._num_units, m)
        return self._num_units + m

    @property
    def output_size(self):
        return self._num_proj or self._num_units

    def _variable(self, name: str, shape, inputs: Node, initializer=None):
        return get_variable(name, shape, self._dtype or inputs.dtype,
                            initializer or self._initializer)

    def _gates(self, inputs: Node, m_prev: Node):
        width = 4 * self._num_units
        kernel = self._variable("kernel", [inputs.shape[-1] + self.output_size, width], inputs)
        bias = self._variable("bias", [width], inputs, zeros_initializer())
        return split(add(matmul(concat([inputs, m_prev], 1), kernel), bias), 4, axis=1)

    def call(self, inputs: Node, state):
        if self._state_is_tuple:
            c_prev, m_prev = state
        else:
            c_prev, m_prev = split(state, [self._num_units, self.output_size], axis=1)
        i, j, f, o = self._gates(inputs, m_prev)
        f = add(f, convert_to_tensor(self._forget_bias, f.dtype))
        if self._use_peepholes:
            w_f, w_i, w_o = (self._variable(name, [self._num_units], inputs)
                             for name in ("w_f_diag", "w_i_diag", "w_o_diag"))
            f, i = add(f, multiply(w_f, c_prev)), add(i, multiply(w_i, c_prev))
        c = add(multiply(sigmoid(f), c_prev), multiply(sigmoid(i), self._activation(j)))
        c = _clip(c, self._cell_clip)
        if self._use_peepholes:
            o = add(o, multiply(w_o, c))
        m = multiply(sigmoid(o), self._activation(c))
        if self._num_proj is not None:
            with variable_scope("projection"):
                proj = self._variable("kernel", [self._num_units, self._num_proj], inputs)
            m = _clip(matmul(m, proj), self._proj_clip)
        if self._state_is_tuple:
            return m, LSTMStateTuple(c, m)
        return m, concat([c, m], 1)
