"""TF1's RMSProp and Adagrad, with TF1's update rules (no torch.optim class computes them; the
class docstrings say where torch.optim's differ)."""

from __future__ import annotations

import numpy as np

from compiler.graph import Node
from compiler.ops.elementwise import sqrt, square
from compiler.ops.state import assign, assign_add, assign_sub

from .optimizers import Hyper, Optimizer, _scalar

__all__ = ["RMSPropOptimizer", "AdagradOptimizer"]


class RMSPropOptimizer(Optimizer):
    """RMSProp, exactly as TF1's tf.train.RMSPropOptimizer. Slots "<var>/RMSProp" (ms, the mean
    square, starting at ONES), "<var>/RMSProp_1" (mom, zeros) and, when centered, the mean
    gradient mg (zeros) between them, named as TF1 names them ("rms", "mg", "momentum" for
    get_slot; with centered=True mg is "<var>/RMSProp_1" and mom "<var>/RMSProp_2"):

        ms  = decay * ms + (1 - decay) * g^2
        mg  = decay * mg + (1 - decay) * g                       (centered only)
        mom = momentum * mom + learning_rate * g / sqrt(ms - mg^2 + epsilon)   (mg = 0 if not)
        var -= mom

    torch.optim.RMSprop differs in three ways: its square_avg starts at zero (TF1's mean square
    is dominated by its initial 1 until that decays away, so the first steps differ most), its
    epsilon sits outside the square root (g / (sqrt(ms) + eps), default eps 1e-8, alpha 0.99),
    and it keeps the learning rate outside the momentum buffer (buf = momentum buf + g / avg;
    var -= lr buf), so a change of learning rate acts on the whole buffer at once there and
    gradually here.
    """

    def __init__(self, learning_rate: Hyper, decay: Hyper = 0.9, momentum: Hyper = 0.0,
                 epsilon: Hyper = 1e-10, centered: bool = False, name: str = "RMSProp"):
        self._centered = bool(centered)
        # TF1 makes the slots in this order and names them RMSProp, RMSProp_1, RMSProp_2.
        self._slot_names = ({"rms": "", "mg": "_1", "momentum": "_2"} if self._centered
                            else {"rms": "", "momentum": "_1"})
        super().__init__(name)
        self._learning_rate = learning_rate
        self._decay = decay
        self._momentum = momentum
        self._epsilon = epsilon

    def _slot_initial_value(self, var, key):
        return np.ones(var.shape, var.dtype) if key == "rms" else np.zeros(var.shape, var.dtype)

    def _hypers(self, graph, dtype, op_name):
        return {"lr": _scalar(self._learning_rate, dtype, f"{op_name}/learning_rate", graph),
                "decay": _scalar(self._decay, dtype, f"{op_name}/decay", graph),
                "momentum": _scalar(self._momentum, dtype, f"{op_name}/momentum", graph),
                "epsilon": _scalar(self._epsilon, dtype, f"{op_name}/epsilon", graph)}

    def _apply_dense(self, grad, var, hyper):
        lr, rho, mu, eps = hyper["lr"], hyper["decay"], hyper["momentum"], hyper["epsilon"]
        ms, mom = self._slot(var, "rms"), self._slot(var, "momentum")
        new_ms = assign(ms, rho * ms + (1.0 - rho) * square(grad))
        denom = new_ms
        if self._centered:
            mg = self._slot(var, "mg")
            new_mg = assign(mg, rho * mg + (1.0 - rho) * grad)
            denom = new_ms - square(new_mg)
        new_mom = assign(mom, mu * mom + lr * grad / sqrt(denom + eps))
        return assign_sub(var, new_mom)


class AdagradOptimizer(Optimizer):
    """Adagrad, exactly as TF1's tf.train.AdagradOptimizer. One slot "<var>/Adagrad"
    ("accumulator" for get_slot) starting at initial_accumulator_value:

        acc += g^2
        var -= learning_rate * g / sqrt(acc)

    torch.optim.Adagrad differs: its accumulator starts at initial_accumulator_value=0 by
    default, it adds eps=1e-10 outside the square root (g / (sqrt(acc) + eps)), and it has a
    learning-rate decay (lr_decay) TF1 lacks. With torch's initial_accumulator_value=0.1 and
    eps=0 the two agree.
    """

    _slot_names = {"accumulator": ""}

    def __init__(self, learning_rate: Hyper, initial_accumulator_value: float = 0.1,
                 name: str = "Adagrad"):
        if isinstance(initial_accumulator_value, Node):
            raise TypeError("initial_accumulator_value must be a number (it is the slot's "
                            "initial value), not a tensor")
        if not initial_accumulator_value > 0.0:
            raise ValueError(f"initial_accumulator_value must be positive: "
                             f"{initial_accumulator_value!r}")
        super().__init__(name)
        self._learning_rate = learning_rate
        self._initial_accumulator_value = float(initial_accumulator_value)

    def _slot_initial_value(self, var, key):
        return np.full(var.shape, self._initial_accumulator_value, var.dtype)

    def _hypers(self, graph, dtype, op_name):
        return {"lr": _scalar(self._learning_rate, dtype, f"{op_name}/learning_rate", graph)}

    def _apply_dense(self, grad, var, hyper):
        acc = assign_add(self._slot(var, "accumulator"), square(grad))
        return assign_sub(var, hyper["lr"] * grad / sqrt(acc))
