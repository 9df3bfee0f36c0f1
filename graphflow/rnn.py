"""gf.nn.static_rnn: a cell unrolled over a Python list of time steps (TF1's tf.nn.static_rnn).

    xs = gf.unstack(x, timesteps, 1)                       # [batch, depth] per step
    outputs, state = gf.nn.static_rnn(cell, xs, dtype=gf.float32)

Built in variable scope "rnn" (or `scope`); the cell makes its variables at the first step and
shares them at every later one.
"""

from __future__ import annotations

from compiler import dtypes as _dt
from compiler.graph import Node
from compiler.ops.array import shape as _shape
from compiler.ops.core import convert_to_tensor
from compiler.ops.elementwise import cast, greater_equal, where
from compiler.ops.shape import expand_dims

from .compat import zeros
from .variable_scope import get_variable_scope, variable_scope

__all__ = ["static_rnn"]


def _check_cell(cell) -> None:
    missing = [what for what, ok in (
        ("'output_size' property is missing", hasattr(cell, "output_size")),
        ("'state_size' property is missing", hasattr(cell, "state_size")),
        ("'zero_state' method is required", hasattr(cell, "zero_state")),
        ("is not callable", callable(cell))) if not ok]
    if missing:
        raise TypeError(f"The argument 'cell' ({cell!r}) is not an RNNCell: "
                        f"{', '.join(missing)}.")


def _map(fn, *structures):
    """fn applied leaf by leaf to structures of the same nesting (tuples, namedtuples, lists)."""
    first = structures[0]
    if isinstance(first, (tuple, list)):
        parts = [_map(fn, *items) for items in zip(*structures)]
        if hasattr(first, "_fields"):
            return type(first)(*parts)
        return type(first)(parts)
    return fn(*structures)


def _batch_size(first: Node):
    """The static batch size when known, else the run-time one (a scalar tensor)."""
    if first.shape is not None and first.shape and first.shape[0] is not None:
        return first.shape[0]
    return _shape(first)[0]


def _check_inputs(inputs) -> None:
    if not isinstance(inputs, (list, tuple)):
        raise TypeError(f"inputs must be a sequence (a list of [batch, depth] tensors, e.g. "
                        f"gf.unstack(x, timesteps, 1)), got {type(inputs).__name__}")
    if not inputs:
        raise ValueError("inputs must not be empty")
    for step, x in enumerate(inputs):
        if x.shape is None or len(x.shape) < 2 or None in x.shape[1:]:
            raise ValueError(f"static_rnn: input {step} '{x.op_name}' (made at {x.site}) has "
                             f"shape {x.shape}: Input size (dimension 1 of inputs) must be "
                             f"accessible via shape inference, but saw value None.")


def static_rnn(cell, inputs, initial_state=None, dtype=None, sequence_length=None,
               scope=None):
    """(outputs, final_state) of `cell` run over `inputs` (a list of [batch, depth] tensors),
    starting from initial_state (else cell.zero_state(batch, dtype): dtype is then required).
    sequence_length ([batch] ints): at steps t >= sequence_length[b], row b's output is zeros
    and its state is carried over unchanged, so the final state is each sequence's last."""
    _check_cell(cell)
    _check_inputs(inputs)
    inputs = [convert_to_tensor(x) for x in inputs]
    with variable_scope(scope or "rnn"):
        return _unroll(cell, inputs, initial_state, dtype, sequence_length,
                       "If no initial_state is provided, dtype must be specified")


def _unroll(cell, inputs, initial_state, dtype, sequence_length, no_dtype_message: str):
    """(outputs, state) of `cell` stepped over the list `inputs`, in the current variable scope;
    the cell makes its variables at the first step and shares them after (it is then built)."""
    batch_size = _batch_size(inputs[0])
    if initial_state is not None:
        state = initial_state
    elif not dtype:
        raise ValueError(no_dtype_message)
    else:
        state = cell.zero_state(batch_size, dtype)
    if sequence_length is not None:
        lengths = _lengths(sequence_length)
        zero_output = zeros([batch_size, cell.output_size], dtype or _first_leaf(state).dtype)
    outputs = []
    for time, input_ in enumerate(inputs):
        if time > 0:
            get_variable_scope().reuse_variables()  # a plain callable cell shares too
        output, new_state = cell(input_, state)
        if sequence_length is not None:
            # Rows whose sequence has ended emit zeros and keep their state, as TF1's.
            done = expand_dims(greater_equal(time, lengths), 1)
            output = where(done, zero_output, output)
            new_state = _map(lambda old, new: where(done, old, new), state, new_state)
        state = new_state
        outputs.append(output)
    return outputs, state


def _lengths(sequence_length) -> Node:
    lengths = convert_to_tensor(sequence_length)
    if lengths.shape is not None and len(lengths.shape) != 1:
        raise ValueError(f"sequence_length must be a vector of length batch_size, got shape "
                         f"{lengths.shape}")
    return cast(lengths, _dt.int32)


def _first_leaf(structure) -> Node:
    while isinstance(structure, (tuple, list)):
        structure = structure[0]
    return structure

