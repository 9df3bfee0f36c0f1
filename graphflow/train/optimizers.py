"""Optimizers: minimize(loss) builds the gradient graph and the update (assign) ops.

    opt = gf.train.AdamOptimizer(1e-3)
    train_op = opt.minimize(loss)                    # one op: gradients + every update
    loss_value, _ = sess.run([loss, train_op], feed_dict)

or, to change the gradients in between (TF1's split):

    grads, variables = zip(*opt.compute_gradients(loss))
    grads, norm = gf.clip_by_global_norm(grads, 5.0)
    train_op = opt.apply_gradients(zip(grads, variables))

GradientDescent, Momentum and Adam follow torch.optim's formulas step for step; RMSProp and
Adagrad (tf1_optimizers.py) follow TF1's (no torch.optim class computes them). The class
docstrings say where the two libraries differ. Slots (momentum buffers, Adam's moments and step
counter, RMSProp's mean square) are non-trainable variables named after the variable they serve
("W1/Momentum", "W1/Adam", "W1/Adam_1"). Within one run a plain read of a variable sees its value
at the start of the run, so an update that needs a slot's new value reads the tensor its assign
returns.

With a global step (TF1's), the step op also adds 1 to it:

    global_step = gf.train.get_or_create_global_step()
    lr = gf.train.exponential_decay(0.1, global_step, 1000, 0.5)
    train_op = opt.minimize(loss, global_step=global_step)

A learning rate computed from the global step sees, as in TF1, the value it had before the step's
own increment: the first step runs with the step at 0.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Dict, List, Optional, Sequence, Tuple, Union

import numpy as np

from compiler import dtypes as _dt
from compiler.autodiff import gradients
from compiler.graph import Graph, Node, Operation, graph_of
from compiler.ops.core import constant, convert_to_tensor
from compiler.ops.elementwise import cast, maximum, sqrt, square
from compiler.ops.reduce import add_n, reduce_sum
from compiler.ops.state import Variable, assign, assign_add, assign_sub, group

from ..variables import trainable_variables

__all__ = ["Optimizer", "GradientDescentOptimizer", "MomentumOptimizer", "AdamOptimizer",
           "clip_by_global_norm"]

Hyper = Union[float, Node]
GradsAndVars = List[Tuple[Node, Variable]]


class Optimizer:
    """Base class: compute_gradients, apply_gradients and minimize. A subclass names its
    hyperparameters (`_hypers`), its slots (`_slot_names`) and writes one update (`_apply_dense`).
    """

    # slot key (for get_slot) -> suffix of the slot variable's name after the optimizer's name
    _slot_names: Dict[str, str] = {}

    def __init__(self, name: str):
        self._name = name
        self._slots: Dict[str, Dict[Variable, Variable]] = {key: {} for key in self._slot_names}

    def get_name(self) -> str:
        return self._name

    def get_slot_names(self) -> List[str]:
        """The keys get_slot accepts ("momentum"; "m", "v", "step" for Adam)."""
        return sorted(self._slot_names)

    def get_slot(self, var: Variable, name: str) -> Optional[Variable]:
        """The slot variable `name` of `var`, or None before apply_gradients made it."""
        if name not in self._slots:
            raise KeyError(f"{type(self).__name__} has no slot '{name}'; its slots are "
                           f"{self.get_slot_names()}")
        return self._slots[name].get(var)

    # -- the public steps ---------------------------------------------------------------------
    def compute_gradients(self, loss: Node, var_list: Optional[Sequence[Variable]] = None
                          ) -> GradsAndVars:
        """[(gradient, variable)] of `loss` for var_list (default: the trainable variables of the
        loss's graph). Variables the loss does not depend on are left out; it is an error if that
        leaves none."""
        if not isinstance(loss, Node) or not _dt.is_floating(loss.dtype):
            raise TypeError(f"{type(self).__name__}: the loss must be a float tensor, got {loss!r}")
        if var_list is None:
            var_list = trainable_variables(graph=loss.graph)
        var_list = list(var_list)
        if not var_list:
            raise ValueError(f"no variables to optimize: graph of loss '{loss.op_name}' "
                             f"({loss.site}) has no trainable variables and var_list is empty")
        for var in var_list:
            if not isinstance(var, Variable):
                raise TypeError(f"var_list must hold gf.Variable's, got {var!r}")
        grads = gradients(loss, var_list)
        pairs = [(g, v) for g, v in zip(grads, var_list) if g is not None]
        if not pairs:
            raise ValueError(f"no gradients: loss '{loss.op_name}' ({loss.site}) depends on none "
                             f"of "
                             f"the variables {[v.op_name for v in var_list]}")
        return pairs

    def apply_gradients(self, grads_and_vars: Iterable[Tuple[Optional[Node], Variable]],
                        global_step: Optional[Variable] = None,
                        name: Optional[str] = None) -> Operation:
        """One op that applies each gradient to its variable (pairs whose gradient is None are
        skipped) and, when `global_step` is given, adds 1 to it. The op is named `name` (default:
        the optimizer's name). As in TF1, anything the step computes from a plain read of the
        global step (a learning-rate schedule) sees its value before this step's increment."""
        if global_step is not None:
            _check_global_step(global_step, "apply_gradients")
        pairs = []
        for pair in grads_and_vars:
            if not isinstance(pair, (tuple, list)) or len(pair) != 2:
                raise TypeError(f"apply_gradients takes (gradient, variable) pairs, got {pair!r}")
            grad, var = pair
            if not isinstance(var, Variable):
                raise TypeError(f"apply_gradients: {var!r} is not a gf.Variable")
            if grad is not None:
                pairs.append((_check_grad(grad, var), var))
        if not pairs:
            raise ValueError("apply_gradients: no gradients provided for any variable")
        graph = graph_of([n for pair in pairs for n in pair]
                         + ([global_step] if global_step is not None else []))
        op_name = name or self._name
        with graph.as_default():
            for _, var in pairs:
                self._create_slots(var)
            hypers: Dict[np.dtype, dict] = {}
            updates = []
            for grad, var in pairs:
                if var.dtype not in hypers:
                    hypers[var.dtype] = self._hypers(graph, var.dtype, op_name)
                with graph.name_scope(f"{op_name}/update_{var.op_name}"):
                    updates.append(self._apply_dense(grad, var, hypers[var.dtype]))
            if global_step is not None:
                # Reads of the step in this run see its old value, whatever the order; the
                # increment is made last so that the interpreter also runs it last.
                updates.append(assign_add(global_step, 1,
                                          name=f"{op_name}/increment_global_step"))
            return group(*updates, name=op_name)

    def minimize(self, loss: Node, global_step: Optional[Variable] = None,
                 var_list: Optional[Sequence[Variable]] = None, *,
                 name: Optional[str] = None) -> Operation:
        """compute_gradients then apply_gradients: one op that runs a whole training step (and
        adds 1 to `global_step` when one is given). The positional order is TF1's, (loss,
        global_step, var_list); `name` is keyword-only, where TF1 has other arguments first."""
        if global_step is not None:
            _check_global_step(global_step, "minimize")
        return self.apply_gradients(self.compute_gradients(loss, var_list),
                                    global_step=global_step, name=name)

    # -- for subclasses -----------------------------------------------------------------------
    def _create_slots(self, var: Variable) -> None:
        for key, suffix in self._slot_names.items():
            if var not in self._slots[key]:
                self._slots[key][var] = Variable(self._slot_initial_value(var, key),
                                                 name=f"{var.op_name}/{self._name}{suffix}",
                                                 trainable=False)

    def _slot_initial_value(self, var: Variable, key: str) -> np.ndarray:
        return np.zeros(var.shape, var.dtype)

    def _slot(self, var: Variable, key: str) -> Variable:
        return self._slots[key][var]

    def _hypers(self, graph: Graph, dtype: np.dtype, op_name: str) -> Dict[str, Node]:
        """The hyperparameters as scalar tensors of `dtype` (made once per dtype and step op)."""
        raise NotImplementedError

    def _apply_dense(self, grad: Node, var: Variable, hyper: Dict[str, Node]) -> Node:
        """The update of `var`: the tensor returned by its assign."""
        raise NotImplementedError


def _check_global_step(global_step, who: str) -> None:
    if isinstance(global_step, Variable) and global_step.dtype.kind in "iuf":
        if global_step.shape != ():
            raise ValueError(f"{who}: global_step '{global_step.op_name}' must be a scalar, got "
                             f"shape {global_step.shape}")
        return
    if isinstance(global_step, Variable):
        raise TypeError(f"{who}: global_step '{global_step.op_name}' must be an int or float "
                        f"variable, got {global_step.dtype.name}")
    hint = ""
    if isinstance(global_step, (list, tuple)) and who == "minimize":
        hint = ("; minimize takes (loss, global_step, var_list) in TF1's order, so pass the "
                "variables as var_list=...")
    elif isinstance(global_step, str):
        hint = "; pass the op's name as name=..."
    raise TypeError(f"{who}: global_step must be a gf.Variable (see "
                    f"gf.train.get_or_create_global_step()), got {global_step!r}{hint}")


def _check_grad(grad, var: Variable) -> Node:
    grad = convert_to_tensor(grad, graph=var.graph) if not isinstance(grad, Node) else grad
    if grad.dtype != var.dtype:
        raise TypeError(f"gradient '{grad.op_name}' is {grad.dtype.name} but variable "
                        f"'{var.op_name}' "
                        f"is {var.dtype.name}; use gf.cast")
    return grad


def _scalar(value: Hyper, dtype: np.dtype, name: str, graph: Graph) -> Node:
    """A hyperparameter as a scalar tensor of `dtype`: a number becomes a constant, a tensor
    (placeholder, variable: a schedule) of another float dtype is cast."""
    if isinstance(value, Node):
        if not _dt.is_floating(value.dtype):
            raise TypeError(f"{name} must be a float tensor, got {value.dtype.name} "
                            f"'{value.op_name}'")
        if value.shape is not None and value.shape != ():
            raise ValueError(f"{name} must be a scalar, got '{value.op_name}' of shape "
                             f"{value.shape}")
        return value if value.dtype == dtype else cast(value, dtype, name=name)
    return constant(value, dtype=dtype, name=name, graph=graph)


class GradientDescentOptimizer(Optimizer):
    """Plain gradient descent: var -= learning_rate * grad (torch.optim.SGD, TF1 alike)."""

    def __init__(self, learning_rate: Hyper, name: str = "GradientDescent"):
        super().__init__(name)
        self._learning_rate = learning_rate

    def _hypers(self, graph, dtype, op_name):
        return {"lr": _scalar(self._learning_rate, dtype, f"{op_name}/learning_rate", graph)}

    def _apply_dense(self, grad, var, hyper):
        return assign_sub(var, hyper["lr"] * grad)


class MomentumOptimizer(Optimizer):
    """Momentum (torch.optim.SGD with momentum, dampening 0), one slot "<var>/Momentum":

        accum = momentum * accum + grad
        var  -= learning_rate * accum                          (use_nesterov=False)
        var  -= learning_rate * (grad + momentum * accum)      (use_nesterov=True)

    TF1's MomentumOptimizer computes the same (its Nesterov form is written
    var -= lr * grad + lr * momentum * accum). Both keep the learning rate outside the buffer, so
    changing it mid-run rescales the whole accumulated step at once.
    """

    _slot_names = {"momentum": ""}

    def __init__(self, learning_rate: Hyper, momentum: Hyper, use_nesterov: bool = False,
                 name: str = "Momentum"):
        super().__init__(name)
        self._learning_rate = learning_rate
        self._momentum = momentum
        self._use_nesterov = bool(use_nesterov)

    def _hypers(self, graph, dtype, op_name):
        return {"lr": _scalar(self._learning_rate, dtype, f"{op_name}/learning_rate", graph),
                "mu": _scalar(self._momentum, dtype, f"{op_name}/momentum", graph)}

    def _apply_dense(self, grad, var, hyper):
        lr, mu = hyper["lr"], hyper["mu"]
        buf = self._slot(var, "momentum")
        new_buf = assign(buf, mu * buf + grad)
        step = grad + mu * new_buf if self._use_nesterov else new_buf
        return assign_sub(var, lr * step)


class AdamOptimizer(Optimizer):
    """Adam, exactly as torch.optim.Adam (amsgrad off, no weight decay). Slots "<var>/Adam" (m),
    "<var>/Adam_1" (v) and the step counter "<var>/Adam_step" (t, per variable as torch keeps it):

        t += 1;  m = beta1 m + (1 - beta1) g;  v = beta2 v + (1 - beta2) g^2
        var -= (lr / (1 - beta1^t)) * m / (sqrt(v) / sqrt(1 - beta2^t) + epsilon)

    TF1's AdamOptimizer differs in where epsilon sits: it computes
    lr_t = lr * sqrt(1 - beta2^t) / (1 - beta1^t) and var -= lr_t * m / (sqrt(v) + epsilon),
    i.e. its epsilon ("epsilon hat" of the paper) is not divided by sqrt(1 - beta2^t). The two
    agree up to that epsilon term; with TF1's default epsilon=1e-8 the difference is tiny, but
    results are not bit-identical. TF1 also keeps one beta1^t, beta2^t pair for all variables.
    """

    _slot_names = {"m": "", "v": "_1", "step": "_step"}

    def __init__(self, learning_rate: Hyper = 0.001, beta1: Hyper = 0.9, beta2: Hyper = 0.999,
                 epsilon: Hyper = 1e-8, name: str = "Adam"):
        super().__init__(name)
        self._learning_rate = learning_rate
        self._beta1 = beta1
        self._beta2 = beta2
        self._epsilon = epsilon

    def _slot_initial_value(self, var, key):
        shape = () if key == "step" else var.shape  # the step counter is one scalar per variable
        return np.zeros(shape, var.dtype)

    def _hypers(self, graph, dtype, op_name):
        return {"lr": _scalar(self._learning_rate, dtype, f"{op_name}/learning_rate", graph),
                "beta1": _scalar(self._beta1, dtype, f"{op_name}/beta1", graph),
                "beta2": _scalar(self._beta2, dtype, f"{op_name}/beta2", graph),
                "epsilon": _scalar(self._epsilon, dtype, f"{op_name}/epsilon", graph)}

    def _apply_dense(self, grad, var, hyper):
        lr, b1, b2, eps = hyper["lr"], hyper["beta1"], hyper["beta2"], hyper["epsilon"]
        m, v = self._slot(var, "m"), self._slot(var, "v")
        t = assign_add(self._slot(var, "step"), 1.0)
        new_m = assign(m, b1 * m + (1.0 - b1) * grad)
        new_v = assign(v, b2 * v + (1.0 - b2) * square(grad))
        step_size = lr / (1.0 - b1 ** t)
        denom = sqrt(new_v) / sqrt(1.0 - b2 ** t) + eps
        return assign_sub(var, step_size * (new_m / denom))


def _global_norm(tensors: List[Node]) -> Node:
    """sqrt(sum of the squares of every element of every tensor), in the first tensor's dtype."""
    dtype = tensors[0].dtype
    sums = [reduce_sum(square(t)) for t in tensors]
    sums = [s if s.dtype == dtype else cast(s, dtype) for s in sums]
    return sqrt(sums[0] if len(sums) == 1 else add_n(sums), name="global_norm")


def clip_by_global_norm(t_list: Sequence[Optional[Node]], clip_norm: Hyper,
                        use_norm: Optional[Node] = None, name: Optional[str] = None
                        ) -> Tuple[List[Optional[Node]], Node]:
    """Scale every tensor of t_list by clip_norm / max(global_norm, clip_norm), where global_norm
    is the L2 norm of all their elements together (TF1's tf.clip_by_global_norm; torch's
    clip_grad_norm_ does the same but divides by global_norm + 1e-6). None entries pass through.
    Returns (the list of clipped tensors, global_norm); `use_norm` replaces the computed norm.
    """
    if isinstance(t_list, Node) or not isinstance(t_list, Iterable):
        raise TypeError("clip_by_global_norm takes a list of tensors, not one tensor")
    t_list = [t if t is None or isinstance(t, Node) else convert_to_tensor(t) for t in t_list]
    present = [t for t in t_list if t is not None]
    if not present:
        raise ValueError("clip_by_global_norm: every entry of t_list is None")
    for t in present:
        if not _dt.is_floating(t.dtype):
            raise TypeError(f"clip_by_global_norm needs float tensors, got {t.dtype.name} "
                            f"'{t.op_name}'")
    graph = graph_of(present + ([use_norm] if use_norm is not None else []))
    with graph.as_default(), graph.name_scope(name or "clip_by_global_norm"):
        norm = _global_norm(present) if use_norm is None else use_norm
        clip = _scalar(clip_norm, norm.dtype, "clip_norm", graph)
        scale = clip / maximum(norm, clip)
        scales = {norm.dtype: scale}
        clipped = []
        for t in t_list:
            if t is None:
                clipped.append(None)
                continue
            if t.dtype not in scales:
                scales[t.dtype] = cast(scale, t.dtype)
            clipped.append(t * scales[t.dtype])
    return clipped, norm
