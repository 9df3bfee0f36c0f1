"""gf.nn.rnn_cell: TF1's basic recurrent cells (tf.nn.rnn_cell), one time step each.

    cell = gf.nn.rnn_cell.BasicLSTMCell(128)
    output, state = cell(x_t, state)          # variables rnn/basic_lstm_cell/kernel, .../bias

A cell makes its variables with gf.get_variable on its first call, in a variable scope named
after it (basic_lstm_cell, basic_rnn_cell, multi_rnn_cell; made unique as TF1's layers), and
shares them on every later call: the same weights at every time step, as TF1.
"""

from __future__ import annotations

import collections
from typing import Optional

from compiler import dtypes as _dt
from compiler.graph import Node, get_default_graph
from compiler.ops.array import split
from compiler.ops.core import convert_to_tensor
from compiler.ops.elementwise import add, multiply
from compiler.ops.linalg import matmul
from compiler.ops.nn import sigmoid, tanh
from compiler.ops.shape import concat
from compiler.shapes import fmt

from .compat import UnsupportedError, zeros
from .initializers import zeros_initializer
from .variable_scope import (
    VariableScope,
    get_variable,
    reenter_name_scope,
    variable_scope,
)

__all__ = ["RNNCell", "BasicRNNCell", "BasicLSTMCell", "LSTMStateTuple", "MultiRNNCell",
           "GRUCell", "DropoutWrapper", "LSTMCell"]


class LSTMStateTuple(collections.namedtuple("LSTMStateTuple", ("c", "h"))):
    """An LSTM's state (c, h), in that order: c the cell state, h the output (TF1's)."""

    __slots__ = ()

    @property
    def dtype(self):
        c, h = self
        if c.dtype != h.dtype:
            raise TypeError(f"Inconsistent internal state: {c.dtype.name} vs {h.dtype.name}")
        return c.dtype


class RNNCell:
    """An RNN cell: `output, new_state = cell(inputs, state)`, with state_size, output_size and
    zero_state(batch_size, dtype). Subclasses implement `build(input_depth, dtype)` (make the
    variables) and `call(inputs, state)` (one step); __call__ handles the variable scope."""

    _base_name = "rnn_cell"

    def __init__(self, reuse=None, name: Optional[str] = None, dtype=None):
        self._reuse = reuse
        self._name = name
        self._dtype = None if dtype is None else _dt.as_dtype(dtype)
        if self._dtype is not None and not _dt.is_floating(self._dtype):
            raise ValueError(f"RNN cell only supports floating point inputs, but saw dtype: "
                             f"{self._dtype.name} (the cell's dtype=)")
        self._scope: Optional[VariableScope] = None
        self.built = False

    @property
    def state_size(self):
        raise NotImplementedError("Abstract method")

    @property
    def output_size(self):
        raise NotImplementedError("Abstract method")

    def zero_state(self, batch_size, dtype):
        """Zeros of shape [batch_size, s] for each s in state_size (in its structure)."""
        return _zero_state_of(self.state_size, batch_size, dtype)

    def __call__(self, inputs, state, scope=None):
        """One step: (output, new_state). The first call makes the variables in the cell's
        variable scope (`scope`, else the cell's name, else its default name made unique);
        later calls share them."""
        inputs = convert_to_tensor(inputs)
        if self._scope is None:
            self._capture_scope(scope)
        reuse = True if self.built else self._reuse
        with variable_scope(self._scope, reuse=reuse, auxiliary_name_scope=False) as entered:
            with reenter_name_scope(get_default_graph(), entered.original_name_scope):
                if not self.built:
                    self._check_inputs(inputs)
                    self.built = True
                return self.call(inputs, state)

    def _capture_scope(self, scope) -> None:
        if scope is not None:
            captured = variable_scope(scope)
        elif self._reuse or self._name:
            captured = variable_scope(self._name or self._base_name)
        else:
            captured = variable_scope(None, default_name=self._base_name)
        with captured as self._scope:
            pass

    def _check_inputs(self, inputs: Node) -> None:
        if inputs.shape is None or len(inputs.shape) != 2 or inputs.shape[-1] is None:
            raise ValueError(f"{type(self).__name__}: inputs '{inputs.op_name}' (made at "
                             f"{inputs.site}) must be 2-D [batch, depth] with a known depth, "
                             f"saw shape {fmt(inputs.shape)}")
        if not _dt.is_floating(inputs.dtype):
            raise ValueError(f"RNN cell only supports floating point inputs, but saw dtype: "
                             f"{inputs.dtype.name} (inputs '{inputs.op_name}'); use gf.cast")

    def call(self, inputs: Node, state):
        raise NotImplementedError("Abstract method")


def _zero_state_of(size, batch_size, dtype):
    """zero_state for one member of a tuple state_size (an int, or an LSTMStateTuple)."""
    if isinstance(size, LSTMStateTuple):
        return LSTMStateTuple(zeros([batch_size, size.c], dtype),
                              zeros([batch_size, size.h], dtype))
    if isinstance(size, tuple):
        return tuple(_zero_state_of(s, batch_size, dtype) for s in size)
    return zeros([batch_size, size], dtype)


def _linear_variables(cell: RNNCell, inputs: Node, width: int):
    """kernel [input_depth + num_units, width] (the variable scope's initializer, else
    glorot_uniform) and bias [width] (zeros), of the cell's dtype (else the inputs'), as TF1's
    cells make them."""
    dtype = cell._dtype or inputs.dtype
    kernel = get_variable("kernel", [inputs.shape[-1] + cell._num_units, width], dtype)
    bias = get_variable("bias", [width], dtype, zeros_initializer())
    return kernel, bias


class BasicRNNCell(RNNCell):
    """The most basic RNN cell (TF1's): output = new_state = activation([x, h] @ kernel + bias),
    activation tanh by default; variables basic_rnn_cell/kernel [depth + units, units] and
    basic_rnn_cell/bias [units]."""

    _base_name = "basic_rnn_cell"

    def __init__(self, num_units: int, activation=None, reuse=None, name: Optional[str] = None,
                 dtype=None):
        super().__init__(reuse=reuse, name=name, dtype=dtype)
        self._num_units = num_units
        self._activation = activation or tanh

    @property
    def state_size(self):
        return self._num_units

    @property
    def output_size(self):
        return self._num_units

    def call(self, inputs: Node, state):
        kernel, bias = _linear_variables(self, inputs, self._num_units)
        gate_inputs = add(matmul(concat([inputs, state], 1), kernel), bias)
        output = self._activation(gate_inputs)
        return output, output


class BasicLSTMCell(RNNCell):
    """TF1's basic LSTM cell: [x, h] @ kernel + bias split into gates i, j, f, o;
    new_c = c * sigmoid(f + forget_bias) + sigmoid(i) * activation(j),
    new_h = activation(new_c) * sigmoid(o). Variables basic_lstm_cell/kernel
    [depth + units, 4 * units] and basic_lstm_cell/bias [4 * units] (zeros). The state is an
    LSTMStateTuple(c, h), or [c, h] concatenated when state_is_tuple=False."""

    _base_name = "basic_lstm_cell"

    def __init__(self, num_units: int, forget_bias: float = 1.0, state_is_tuple: bool = True,
                 activation=None, reuse=None, name: Optional[str] = None, dtype=None):
        super().__init__(reuse=reuse, name=name, dtype=dtype)
        self._num_units = num_units
        self._forget_bias = forget_bias
        self._state_is_tuple = state_is_tuple
        self._activation = activation or tanh

    @property
    def state_size(self):
        if self._state_is_tuple:
            return LSTMStateTuple(self._num_units, self._num_units)
        return 2 * self._num_units

    @property
    def output_size(self):
        return self._num_units

    def call(self, inputs: Node, state):
        if self._state_is_tuple:
            c, h = state
        else:
            c, h = split(state, 2, axis=1)
        kernel, bias = _linear_variables(self, inputs, 4 * self._num_units)
        gate_inputs = add(matmul(concat([inputs, h], 1), kernel), bias)
        i, j, f, o = split(gate_inputs, 4, axis=1)
        forget = sigmoid(add(f, convert_to_tensor(self._forget_bias, f.dtype)))
        new_c = add(multiply(c, forget), multiply(sigmoid(i), self._activation(j)))
        new_h = multiply(self._activation(new_c), sigmoid(o))
        if self._state_is_tuple:
            return new_h, LSTMStateTuple(new_c, new_h)
        return new_h, concat([new_c, new_h], 1)


class MultiRNNCell(RNNCell):
    """Cells stacked in order (TF1's): cell i runs in variable scope cell_<i> of
    multi_rnn_cell, its output the next cell's input; the state is the tuple of the cells'
    states (or their concatenation when state_is_tuple=False)."""

    _base_name = "multi_rnn_cell"

    def __init__(self, cells, state_is_tuple: bool = True):
        super().__init__()
        if not cells:
            raise ValueError("Must specify at least one cell for MultiRNNCell.")
        if not isinstance(cells, (list, tuple)):
            raise TypeError(f"cells must be a list or tuple, but saw: {cells!r}.")
        self._cells = list(cells)
        self._state_is_tuple = state_is_tuple
        if not state_is_tuple and any(isinstance(c.state_size, tuple) for c in self._cells):
            raise ValueError(f"Some cells return tuples of states, but the flag state_is_tuple "
                             f"is not set.  State sizes are: "
                             f"{[c.state_size for c in self._cells]}")

    @property
    def state_size(self):
        if self._state_is_tuple:
            return tuple(cell.state_size for cell in self._cells)
        return sum(cell.state_size for cell in self._cells)

    @property
    def output_size(self):
        return self._cells[-1].output_size

    def _check_inputs(self, inputs: Node) -> None:
        pass  # each cell checks its own inputs

    def call(self, inputs: Node, state):
        if self._state_is_tuple:
            if not isinstance(state, (tuple, list)) or len(state) != len(self._cells):
                raise ValueError(f"Expected state to be a tuple of length {len(self._cells)}, "
                                 f"but received: {state!r}")
            states = list(state)
        else:
            states = split(state, [cell.state_size for cell in self._cells], axis=1)
        new_states = []
        for i, cell in enumerate(self._cells):
            with variable_scope(f"cell_{i}"):
                inputs, new_state = cell(inputs, states[i])
            new_states.append(new_state)
        return inputs, tuple(new_states) if self._state_is_tuple else concat(new_states, 1)


from .rnn_cell_gru import GRUCell  # noqa: E402  (it subclasses RNNCell, defined above)
from .rnn_cell_lstm import LSTMCell  # noqa: E402
from .rnn_wrappers import DropoutWrapper  # noqa: E402


def __getattr__(name: str):
    if name.startswith("_"):
        raise AttributeError(name)
    raise UnsupportedError(f"graphflow does not support tf.nn.rnn_cell.{name}: of "
                           f"tf.nn.rnn_cell it has {', '.join(__all__)}")
