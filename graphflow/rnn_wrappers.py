"""gf.nn.rnn_cell.DropoutWrapper: dropout on a cell's inputs, outputs and state (TF1's,
non-variational: a new mask at every time step)."""

from __future__ import annotations

import numbers

from compiler.graph import Node

from .rnn_cell import LSTMStateTuple, RNNCell

__all__ = ["DropoutWrapper"]


def _keep_prob(value, name: str):
    if isinstance(value, numbers.Real) and not 0 <= value <= 1:
        raise ValueError(f"Parameter {name} must be between 0 and 1: {value}")
    return value


def _drops(keep_prob) -> bool:
    """A number 1.0 means no dropout op at all (TF1's); a tensor always drops."""
    return not (isinstance(keep_prob, numbers.Real) and keep_prob == 1)


def _default_state_filter(substate):
    """TF1's default visitor: drop every state tensor except an LSTMStateTuple's c."""
    if isinstance(substate, LSTMStateTuple):
        return LSTMStateTuple(False, True)
    return True


def _drop_mask(visitor, state):
    """Which parts of `state` to drop: the visitor's answer for each part, visited from the top
    (True on a tuple visits its parts, False keeps the whole part), as TF1's."""
    answer = visitor(state)
    if not isinstance(state, (tuple, list)):
        return bool(answer)
    answers = [answer] * len(state) if isinstance(answer, bool) else list(answer)
    return [_drop_mask(visitor, part) if keep else False for part, keep in zip(state, answers)]


class DropoutWrapper(RNNCell):
    """Wraps `cell`: dropout (gf.nn.dropout, scaled by 1 / keep_prob) on its inputs, its output,
    and its new state (all but an LSTM's c, or as dropout_state_filter_visitor says), each with
    its keep probability (a number, or a scalar tensor such as a placeholder). Adds no variable
    scope: the wrapped cell's variables keep their names. variational_recurrent=True is not
    supported."""

    def __init__(self, cell, input_keep_prob=1.0, output_keep_prob=1.0, state_keep_prob=1.0,
                 variational_recurrent=False, input_size=None, dtype=None, seed=None,
                 dropout_state_filter_visitor=None):
        super().__init__()
        from .rnn import _check_cell  # rnn imports rnn_cell, which imports this module

        _check_cell(cell)
        if variational_recurrent:
            raise NotImplementedError("DropoutWrapper: graphflow does not support "
                                      "variational_recurrent=True; drop the flag")
        self._cell = cell
        self._input_keep_prob = _keep_prob(input_keep_prob, "input_keep_prob")
        self._output_keep_prob = _keep_prob(output_keep_prob, "output_keep_prob")
        self._state_keep_prob = _keep_prob(state_keep_prob, "state_keep_prob")
        self._seed = seed
        self._filter = dropout_state_filter_visitor

    @property
    def wrapped_cell(self):
        return self._cell

    @property
    def state_size(self):
        return self._cell.state_size

    @property
    def output_size(self):
        return self._cell.output_size

    def zero_state(self, batch_size, dtype):
        return self._cell.zero_state(batch_size, dtype)

    def _dropout(self, x: Node, keep_prob, offset: int) -> Node:
        from .nn import dropout  # nn imports rnn_cell, which imports this module

        seed = None if self._seed is None else self._seed + offset
        return dropout(x, keep_prob=keep_prob, seed=seed)

    def _drop_state(self, state, keep):
        if isinstance(state, (tuple, list)) and keep is not False:
            parts = [self._drop_state(s, k) for s, k in zip(state, keep)]
            return type(state)(*parts) if hasattr(state, "_fields") else type(state)(parts)
        return self._dropout(state, self._state_keep_prob, 2) if keep else state

    def __call__(self, inputs, state, scope=None):
        """One step of the wrapped cell (in its own variable scope), with dropout applied."""
        if _drops(self._input_keep_prob):
            inputs = self._dropout(inputs, self._input_keep_prob, 0)
        output, new_state = self._cell(inputs, state, scope=scope)
        if _drops(self._state_keep_prob):
            mask = _drop_mask(self._filter or _default_state_filter, new_state)
            new_state = self._drop_state(new_state, mask)
        if _drops(self._output_keep_prob):
            output = self._dropout(output, self._output_keep_prob, 1)
        return output, new_state
