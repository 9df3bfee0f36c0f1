"""Every registered op is complete: shape rule, kernel, gradient rule (or the explicit marker), a
rule in every backend's lowering table, and a test against torch somewhere in the suite. And the
layering that keeps it so: an OpDef says nothing about backends, no torch code lives in compiler/
outside its backend package, and nothing outside the backends asks which backend it is."""

import dataclasses
import pathlib
import re

import pytest
import reference

from compiler import NOT_DIFFERENTIABLE, REGISTRY
from compiler.backends import BACKENDS, REFERENCE, Template
from compiler.backends.numpy.lowering import NUMPY_TABLE
from compiler.backends.torch.lowering import TORCH_TABLE
from compiler.opdef import OpDef
from compiler.ops.core import CONSTANT, PLACEHOLDER
from compiler.ops.state import GROUP, VARIABLE

# The native backend renders every op with numpy's table, then compiles runs of statements to C
# (compiler/backends/native/emit.py has the ops it compiles; tests/test_native.py checks them).
TABLES = {"numpy": NUMPY_TABLE, "native": NUMPY_TABLE, "torch": TORCH_TABLE}
COMPILER = pathlib.Path(__file__).resolve().parent.parent / "compiler"

# Ops code generation never emits (their values come from feeds, constants and the store).
NO_CODE = {PLACEHOLDER.name, CONSTANT.name, VARIABLE.name, GROUP.name}
# Ops whose torch rule runs the numpy kernel on the host, and why.
HOST_OPS = {
    "random_standard_normal": "draws from the session's numpy stream",
    "truncated_normal": "draws from the session's numpy stream",
    "random_uniform": "draws from the session's numpy stream",
    "random_shuffle": "draws from the session's numpy stream",
    "log_uniform_draw": "draws from the session's numpy stream",
    "log_uniform_expected_count": "a count from the draw's ids and tries (tiny, host-side)",
    "check_numerics": "inspects the value on the host to describe it",
    "iterator_get_next": "the element a host-side input pipeline makes",
    "iterator_init": "starts a host-side input pipeline",
    "fused": "made only by the fuse pass, which torch sessions refuse",
    "reduction_size": "a count from shapes; folded to a constant unless passes are off",
    **dict.fromkeys(("string_join", "as_string", "scalar_summary", "histogram_summary",
                     "image_summary", "text_summary", "merge_summary"),
                    "strings are host objects (numpy object arrays of bytes)"),
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
    "log_uniform_draw": "test_sampled_losses.py",
    "log_uniform_expected_count": "test_sampled_losses.py",  # needs a draw as input
    # A collective call: its value needs a process group of several workers (spawned there).
    "all_reduce_mean": "test_distribute.py",
    # Strings and summaries: torch has no strings; checked against Python's own formatting and
    # TensorBoard's reader, on every backend.
    "string_join": "test_strings.py", "as_string": "test_strings.py",
    "scalar_summary": "test_summary.py", "histogram_summary": "test_summary.py",
    "image_summary": "test_summary.py", "text_summary": "test_summary.py",
    "merge_summary": "test_summary.py",
    # Input pipelines: their values come from the session's host-side iterator state.
    "iterator_get_next": "test_tf1_data.py", "iterator_init": "test_tf1_data.py",
    # Elementwise fusion: the fused node against its own ops, one by one (numpy backend only).
    "fused": "test_pass_fuse.py",
    # A variable update made by the epilogues pass: against torch's addmm there, both backends.
    "matmul_accumulate": "test_pass_epilogues.py",
}


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_op_is_complete(name):
    op = REGISTRY[name]
    assert op.name == name
    assert callable(op.infer) and callable(op.kernel)
    assert op.grad is NOT_DIFFERENTIABLE or callable(op.grad), f"{name} has no gradient rule"


def test_every_backend_has_a_table():
    assert sorted(TABLES) == sorted(BACKENDS)


@pytest.mark.parametrize("backend", sorted(TABLES))
def test_each_table_has_one_rule_per_op(backend):
    """Exactly the registered ops that compute something, each once (an unknown name is a typo)."""
    TABLES[backend].check(REGISTRY, without=NO_CODE)


@pytest.mark.parametrize("backend", sorted(TABLES))
def test_rules_are_templates_functions_or_the_reference_kernel(backend):
    for name, rule in TABLES[backend].rules.items():
        assert isinstance(rule, Template) or callable(rule) or rule is REFERENCE, name
        if isinstance(rule, Template) and "{out}" in rule.text:
            assert backend in ("numpy", "native"), f"{backend}: {name} writes into a buffer"


def test_torch_runs_the_reference_kernel_only_where_listed():
    """HOST_OPS: the numpy kernel on host copies, each with its reason."""
    on_host = {name for name, rule in TORCH_TABLE.rules.items() if rule is REFERENCE}
    assert on_host == set(HOST_OPS)


def test_an_opdef_holds_no_backend_rule():
    fields = {f.name for f in dataclasses.fields(OpDef)}
    assert not fields & {"emit", "torch", "emit_update"}, fields


def _code_lines(path: pathlib.Path):
    """The lines of a module outside docstrings and comments."""
    text = re.sub(r'"""(.|\n)*?"""', "", path.read_text())
    return [line.split("#")[0] for line in text.splitlines()]


def test_no_torch_code_in_the_compiler_outside_its_backend():
    torch_package = COMPILER / "backends" / "torch"
    offenders = []
    for path in COMPILER.rglob("*.py"):
        if torch_package in path.parents:
            continue
        for line in _code_lines(path):
            if re.search(r"\bimport torch|\bfrom torch\b|\btorch\.|\bdev\b", line):
                offenders.append(f"{path.relative_to(COMPILER)}: {line.strip()}")
    assert not offenders, offenders


def test_nothing_outside_the_backends_asks_which_backend_it_is():
    roots = [COMPILER, COMPILER.parent / "graphflow"]
    pattern = re.compile(r"\bis (not )?NUMPY\b|backend\.name ?[!=]="
                         r"|backend ?[!=]= ?['\"](numpy|torch)"
                         r"|isinstance\([^)]*(Numpy|Torch)Backend")
    paths = [path for root in roots for path in root.rglob("*.py")
             if COMPILER / "backends" not in path.parents]
    offenders = [f"{path}: {line.strip()}" for path in paths
                 for line in _code_lines(path) if pattern.search(line)]
    assert not offenders, offenders


def test_every_op_is_checked_against_torch(request):
    """Runs last (see conftest.py); needs the op test files in the same run."""
    ran = {item.path.name for item in request.session.items}
    if not any(n.startswith("test_ops_") for n in ran):
        pytest.skip("run together with tests/test_ops_*.py to check torch coverage")
    missing = sorted(set(REGISTRY) - reference.COVERED - set(NOT_TORCH_CHECKED))
    assert not missing, f"ops with no torch comparison: {missing}"


def test_onnx_rules_are_for_registered_ops():
    from compiler.backends.onnx import ONNX_TABLE
    assert not set(ONNX_TABLE.rules) - set(REGISTRY), "rules for ops that do not exist"


def test_every_onnx_rule_is_checked_in_onnx_runtime(request):
    """Each rule of the ONNX table was exported and run by tests/test_onnx_*.py (onnx_support)."""
    import onnx_support

    from compiler.backends.onnx import ONNX_TABLE
    ran = {item.path.name for item in request.session.items}
    if not any(n.startswith("test_onnx_") for n in ran):
        pytest.skip("run together with tests/test_onnx_*.py to check ONNX coverage")
    missing = sorted(set(ONNX_TABLE.rules) - onnx_support.COVERED)
    assert not missing, f"ONNX rules never checked in ONNX Runtime: {missing}"


def test_onnx_is_imported_only_by_the_exporter():
    onnx_package = COMPILER / "backends" / "onnx"
    exporter = COMPILER.parent / "graphflow" / "onnx.py"
    offenders = []
    for root in (COMPILER, COMPILER.parent / "graphflow"):
        for path in root.rglob("*.py"):
            if onnx_package in path.parents or path == exporter:
                continue
            offenders += [f"{path}: {line.strip()}" for line in _code_lines(path)
                          if re.search(r"\bimport onnx|\bfrom onnx\b", line)]
    assert not offenders, offenders
