"""A third backend for tests/test_new_backend.py, written as a user would add one: a lowering
table (every op by its reference kernel, each listed, but the variable updates), a Backend
subclass, make_backend(). Its values are numpy arrays; it plans no buffers. Nothing in compiler/
or graphflow/ knows it."""

import numpy as np

from compiler.backends import Backend, LoweringTable
from compiler.feeds import check_feed
from compiler.interpreter import evaluate
from compiler.opdef import REGISTRY
from compiler.store import VariableStore

NO_CODE = {"placeholder", "constant", "variable", "group"}
# Variable updates must be statements writing in place; everything else runs its kernel.
UPDATES = {"assign": "{0}[...] = {1}", "assign_add": "{0} += {1}", "assign_sub": "{0} -= {1}"}
TOY_TABLE = LoweringTable("toy")
TOY_TABLE.reference(*(name for name in REGISTRY if name not in NO_CODE | set(UPDATES)))
for _op, _text in UPDATES.items():
    TOY_TABLE.template(_op, _text)


class ToyBackend(Backend):
    name = "toy"
    table = TOY_TABLE
    modules = {"np": np}
    copy = "np.array({})"
    scalar_results = True

    def __init__(self):
        self.kernels_run = 0

    def dtype(self, dtype):
        return f"np.{dtype.name}"

    def constant(self, value):
        return value

    def reference(self, kernel, stateful):
        def run(*args):
            self.kernels_run += 1
            return kernel(*args)
        return run

    def make_store(self):
        return VariableStore(evaluate)

    def feed(self, node, value):
        return check_feed(node, value)

    def results(self, outs, as_tensors=False):
        return outs

    def snapshot(self, value):
        return np.array(value)

    def restore(self, target, value):
        np.copyto(target, value)

    def to_numpy(self, value):
        return value


def make_backend(device=None):
    return ToyBackend()
