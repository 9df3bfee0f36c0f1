"""Every registered op is complete: shape rule, kernel, gradient rule (or the explicit marker), a
rule for each backend, and a test against torch somewhere in the suite."""

import pytest
import reference

from compiler import NOT_DIFFERENTIABLE, REGISTRY
from compiler.opdef import HOST
from compiler.ops.core import CONSTANT, PLACEHOLDER
from compiler.ops.state import GROUP, VARIABLE

# Ops code generation never emits (their values come from feeds, constants and the store).
NO_CODE = {PLACEHOLDER.name, CONSTANT.name, VARIABLE.name, GROUP.name}
# Ops whose torch rule runs the numpy kernel on the host, and why.
HOST_OPS = {
    "random_standard_normal": "draws from the session's numpy stream",
    "truncated_normal": "draws from the session's numpy stream",
    "random_uniform": "draws from the session's numpy stream",
    "random_shuffle": "draws from the session's numpy stream",
    "check_numerics": "inspects the value on the host to describe it",
    "reduction_size": "a count from shapes; folded to a constant unless passes are off",
}

# Ops whose values torch cannot check; each is tested in the file named.
NOT_TORCH_CHECKED = {
    "placeholder": "test_session.py", "variable": "test_session.py",
    "assign": "test_session.py", "assign_add": "test_session.py",
    "assign_sub": "test_session.py", "group": "test_session.py",
    "read_variable": "test_tf1_graph.py", "check_numerics": "test_numerics.py",
    # Random draws: checked by their statistics, ranges and seeds instead.
    "random_standard_normal": "test_random.py", "truncated_normal": "test_random.py",
    "random_uniform": "test_random.py", "random_shuffle": "test_random.py",
    # A collective call: its value needs a process group of several workers (spawned there).
    "all_reduce_mean": "test_distribute.py",
}


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_op_is_complete(name):
    op = REGISTRY[name]
    assert op.name == name
    assert callable(op.infer) and callable(op.kernel)
    assert op.grad is NOT_DIFFERENTIABLE or callable(op.grad), f"{name} has no gradient rule"


@pytest.mark.parametrize("name", sorted(set(REGISTRY) - NO_CODE))
def test_op_has_a_torch_rule(name):
    """The torch backend can run every op; HOST (the numpy kernel on host copies) only where
    listed with its reason."""
    rule = REGISTRY[name].torch
    assert rule is not None, f"{name} has no torch rule (OpDef.torch)"
    assert (rule is HOST) == (name in HOST_OPS), f"{name}: HOST rule not listed, or listed wrongly"
    assert isinstance(rule, str) or callable(rule) or rule is HOST


def test_every_op_is_checked_against_torch(request):
    """Runs last (see conftest.py); needs the op test files in the same run."""
    ran = {item.path.name for item in request.session.items}
    if not any(n.startswith("test_ops_") for n in ran):
        pytest.skip("run together with tests/test_ops_*.py to check torch coverage")
    missing = sorted(set(REGISTRY) - reference.COVERED - set(NOT_TORCH_CHECKED))
    assert not missing, f"ops with no torch comparison: {missing}"
