"""gf.nn.dynamic_rnn and the bidirectional RNNs (TF1's tf.nn names), unrolled in the graph.

    outputs, state = gf.nn.dynamic_rnn(cell, x, dtype=gf.float32)   # x [batch, time, depth]

TF1 builds dynamic_rnn as a while loop; graphflow has none, so these unroll the cell once per
time step: the number of time steps must be static (a None time dimension raises
NotImplementedError). Numbers, variable names (rnn/basic_lstm_cell/kernel) and
sequence_length semantics are TF1's.
"""

from __future__ import annotations

from compiler.graph import Node
from compiler.ops.array import stack, unstack
from compiler.ops.core import convert_to_tensor
from compiler.ops.elementwise import equal, subtract, where
from compiler.ops.shape import concat, expand_dims

from .rnn import _check_cell, _lengths, _unroll
from .variable_scope import variable_scope

__all__ = ["dynamic_rnn", "bidirectional_dynamic_rnn", "static_bidirectional_rnn"]


def dynamic_rnn(cell, inputs, sequence_length=None, initial_state=None, dtype=None,
                parallel_iterations=None, swap_memory=False, time_major=False, scope=None):
    """(outputs, final_state) of `cell` run over `inputs` ([batch, time, depth], or
    [time, batch, depth] when time_major), in variable scope "rnn" (or `scope`).

    outputs has the inputs' layout with depth cell.output_size. sequence_length ([batch] ints):
    outputs past a sequence's end are zeros and its state stops changing, so final_state is the
    state at its last step. Unrolled: the time dimension must be static.
    parallel_iterations and swap_memory are accepted for TF1 compatibility and do nothing."""
    _check_cell(cell)
    steps = _time_steps(inputs, time_major, "dynamic_rnn")
    with variable_scope(scope or "rnn"):
        outputs, state = _unroll(cell, steps, initial_state, dtype, sequence_length,
                                 "If there is no initial_state, you must give a dtype.")
    return stack(outputs, axis=0 if time_major else 1), state


def _time_steps(inputs, time_major: bool, caller: str) -> list:
    """inputs split into its [batch, depth] time steps (a static number of them)."""
    if isinstance(inputs, (list, tuple, dict)):
        raise NotImplementedError(f"{caller}: graphflow takes one inputs tensor, not a nested "
                                  f"structure ({type(inputs).__name__}); concatenate them")
    inputs = convert_to_tensor(inputs)
    if inputs.shape is None or len(inputs.shape) < 3:
        raise ValueError(f"{caller}: inputs '{inputs.op_name}' (made at {inputs.site}) must "
                         f"have rank 3 ([batch, time, depth]), saw shape {inputs.shape}")
    time_axis = 0 if time_major else 1
    steps = inputs.shape[time_axis]
    if steps is None:
        raise NotImplementedError(
            f"{caller}: inputs '{inputs.op_name}' (made at {inputs.site}) has shape "
            f"{inputs.shape}: graphflow unrolls the RNN in the graph, so the number of time "
            f"steps (axis {time_axis}) must be static; give the placeholder a fixed time size")
    if inputs.shape[-1] is None:
        raise ValueError(f"{caller}: Input size (depth of inputs) must be accessible via shape "
                         f"inference, but saw value None (inputs '{inputs.op_name}').")
    return unstack(inputs, steps, axis=time_axis)


def _reverse(steps: list, sequence_length) -> list:
    """The time steps reversed; with sequence_length, each row reverses only its first
    length steps and keeps the rest in place (TF1's reverse_sequence)."""
    if sequence_length is None:
        return steps[::-1]
    lengths = _lengths(sequence_length)
    reversed_steps = []
    for t, step in enumerate(steps):
        # Row b takes step length[b] - 1 - t when that is a valid step, else keeps step t.
        source = expand_dims(subtract(subtract(lengths, 1), t), 1)
        picked = step
        for s, other in enumerate(steps):
            picked = where(equal(source, s), other, picked)
        reversed_steps.append(picked)
    return reversed_steps


def _bidirectional(cell_fw, cell_bw, steps, initial_state_fw, initial_state_bw, dtype,
                   sequence_length, scope):
    """(outputs_fw, outputs_bw, state_fw, state_bw): lists of steps, bw's put back in order."""
    _check_cell(cell_fw)
    _check_cell(cell_bw)
    message = "If no initial_state is provided, dtype must be specified"
    with variable_scope(scope or "bidirectional_rnn"):
        with variable_scope("fw"):
            out_fw, state_fw = _unroll(cell_fw, steps, initial_state_fw, dtype,
                                       sequence_length, message)
        with variable_scope("bw"):
            out_bw, state_bw = _unroll(cell_bw, _reverse(steps, sequence_length),
                                       initial_state_bw, dtype, sequence_length, message)
            out_bw = _reverse(out_bw, sequence_length)
    return out_fw, out_bw, state_fw, state_bw


def bidirectional_dynamic_rnn(cell_fw, cell_bw, inputs, sequence_length=None,
                              initial_state_fw=None, initial_state_bw=None, dtype=None,
                              parallel_iterations=None, swap_memory=False, time_major=False,
                              scope=None):
    """((output_fw, output_bw), (state_fw, state_bw)): cell_fw over `inputs` and cell_bw over
    them reversed (each sequence within its sequence_length), in variable scopes
    bidirectional_rnn/fw and bidirectional_rnn/bw; output_bw is put back in time order.
    Unrolled as dynamic_rnn: the time dimension must be static."""
    steps = _time_steps(inputs, time_major, "bidirectional_dynamic_rnn")
    out_fw, out_bw, state_fw, state_bw = _bidirectional(
        cell_fw, cell_bw, steps, initial_state_fw, initial_state_bw, dtype, sequence_length,
        scope)
    axis = 0 if time_major else 1
    return (stack(out_fw, axis=axis), stack(out_bw, axis=axis)), (state_fw, state_bw)


def static_bidirectional_rnn(cell_fw, cell_bw, inputs, initial_state_fw=None,
                             initial_state_bw=None, dtype=None, sequence_length=None,
                             scope=None):
    """(outputs, state_fw, state_bw) over `inputs`, a list of [batch, depth] tensors: outputs[t]
    is concat([output_fw[t], output_bw[t]], 1). Variable scopes bidirectional_rnn/fw and
    bidirectional_rnn/bw; the backward cell sees each sequence reversed within its length."""
    if not isinstance(inputs, (list, tuple)):
        raise TypeError("inputs must be a list")
    if not inputs:
        raise ValueError("inputs must not be empty")
    steps = [convert_to_tensor(x) for x in inputs]
    out_fw, out_bw, state_fw, state_bw = _bidirectional(
        cell_fw, cell_bw, steps, initial_state_fw, initial_state_bw, dtype, sequence_length,
        scope)
    outputs: list[Node] = [concat([fw, bw], 1) for fw, bw in zip(out_fw, out_bw)]
    return outputs, state_fw, state_bw
