"""Code generation: the source is plain numpy, one statement per node named after the graph's
nodes; memory planning reuses buffers and writes in place without ever aliasing what the caller
holds; variables are updated in place; a failing generated line is mapped back to the user's
node."""

import ast
import inspect
import linecache
import os
import re
import traceback

import numpy as np
import pytest

import graphflow as gf

HERE = os.path.basename(__file__)


def next_line_site() -> str:
    """'test_codegen.py:N' for the line just after the caller's."""
    return f"{HERE}:{inspect.currentframe().f_back.f_lineno + 1}"


def small_mlp(seed=0, batch=8, d=6, h=5, k=3, lr=0.1):
    """sigmoid(relu(x W1 + b1) W2 + b2), hand-written BCE, SGD with grouped assign_subs (float64).
    Returns (x, y, params, loss, train, feed values)."""
    rng = np.random.default_rng(seed)
    x = gf.placeholder(gf.float64, (None, d), name="x")
    y = gf.placeholder(gf.float64, (None, k), name="y")
    params = [gf.Variable(rng.standard_normal((d, h)), name="W1"),
              gf.Variable(rng.standard_normal(h) * 0.1, name="b1"),
              gf.Variable(rng.standard_normal((h, k)), name="W2"),
              gf.Variable(rng.standard_normal(k) * 0.1, name="b2")]
    W1, b1, W2, b2 = params
    out = gf.sigmoid(gf.relu(x @ W1 + b1) @ W2 + b2)
    loss = gf.reduce_mean(-(y * gf.log(out) + (1 - y) * gf.log(1 - out)), name="loss")
    grads = gf.gradients(loss, params)
    train = gf.group(*[v.assign_sub(lr * g) for v, g in zip(params, grads)], name="train")
    X = rng.standard_normal((batch, d))
    Y = np.eye(k)[rng.integers(0, k, batch)]
    return x, y, params, loss, train, (X, Y)


def assigned_names(source: str):
    """Names assigned by `name = ...` statements of the generated function."""
    return re.findall(r"^    (\w+) = ", source, flags=re.M)


# -- the source ----------------------------------------------------------------------------------
GOLDEN = """\
def step(x):
    mul = np.multiply(x, _c0, out=_buf0)
    del x
    add = np.add(mul, _c1, out=_buf0)
    del mul
    y = np.maximum(add, 0)
    del add
    return (y,)
"""


def test_golden_source_of_a_tiny_graph():
    x = gf.placeholder(gf.float32, (2, 3), name="x")
    y = gf.relu(x * 2.0 + 1.0, name="y")
    prog = gf.Session().make_callable(y, [x])
    assert prog.source == GOLDEN
    out = prog(np.array([[-1.0, 0.0, 1.0], [-0.5, 2.0, -3.0]], np.float32))
    np.testing.assert_array_equal(out, [[0, 1, 3], [0, 5, 0]])


def test_source_is_plain_numpy_one_statement_per_node_named_after_the_nodes():
    x = gf.placeholder(gf.float32, (4, 3), name="x")
    W = gf.Variable(np.ones((3, 2), np.float32), name="W")
    b = gf.Variable(np.zeros(2, np.float32), name="b")
    with gf.name_scope("layer1"):
        logits = gf.add(gf.matmul(x, W, name="scores"), b, name="logits")
        act = gf.tanh(logits, name="act")
    prog = gf.Session().make_callable(act, [x])
    source = prog.source
    assert source.startswith("def step(x, W, b):\n")
    assert "    layer1_scores = np.matmul(x, W" in source
    assert "    layer1_logits = np.add(layer1_scores, b" in source
    assert "    layer1_act = np.tanh(layer1_logits" in source
    assert assigned_names(source) == ["layer1_scores", "layer1_logits", "layer1_act"]
    assert prog.ops == ("matmul", "add", "tanh")
    ast.parse(source)  # plain Python
    # Only numpy and bound constants/buffers/kernels are used: no interpreter, no graph objects.
    called = {n.func.value.id for n in ast.walk(ast.parse(source))
              if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute)
              and isinstance(n.func.value, ast.Name)}
    assert called <= {"np"}


def test_del_frees_each_value_after_its_last_use():
    x, y, _, loss, train, (X, Y) = small_mlp()
    prog = gf.Session().make_callable([loss, train], [x, y])
    prog(X, Y)
    source = prog.source
    body = ast.parse(source).body[0].body
    deleted_at = {}
    for i, stmt in enumerate(body):
        if isinstance(stmt, ast.Delete):
            for target in stmt.targets:
                assert target.id not in deleted_at, f"{target.id} deleted twice"
                deleted_at[target.id] = i
    assert deleted_at, source
    for name, i in deleted_at.items():
        later = [n for stmt in body[i + 1:] for n in ast.walk(stmt)
                 if isinstance(n, ast.Name) and n.id == name]
        assert not later, f"{name} is used after `del {name}`:\n{source}"
    # Every value the function computes is either deleted or returned.
    returned = {n.id for n in ast.walk(body[-1]) if isinstance(n, ast.Name)}
    for name in assigned_names(source):
        assert name in deleted_at or name in returned, f"{name} is never freed:\n{source}"


def test_generated_source_is_registered_with_linecache():
    x = gf.placeholder(gf.float32, (None,), name="x")
    biggest = gf.reduce_max(x * 2.0, name="biggest")
    prog = gf.Session().make_callable(biggest, [x])
    with pytest.raises(gf.OpError) as info:
        prog(np.zeros(0, np.float32))  # a max of nothing: the generated reduce line fails
    cause = info.value.__cause__
    assert cause is not None
    frames = [f for f in traceback.extract_tb(cause.__traceback__)
              if f.filename.startswith("<graphflow")]
    assert frames, "no frame of generated code in the traceback"
    filename = frames[-1].filename
    assert "".join(linecache.getlines(filename)) == prog.source
    # The traceback shows the generated line that failed, as it is in the source.
    assert frames[-1].line == "biggest = np.maximum.reduce(mul, axis=(0,), keepdims=False)"
    assert frames[-1].line in "".join(traceback.format_exception(cause))


# -- memory planning -----------------------------------------------------------------------------
def test_a_chain_of_elementwise_ops_reuses_one_buffer_in_place():
    x = gf.placeholder(gf.float32, (100, 100), name="x")
    h = x
    for _ in range(5):
        h = gf.tanh(h * 2.0 + 1.0)
    out = gf.reduce_sum(h, name="out")
    prog = gf.Session().make_callable(out, [x])
    source = prog.source
    assert len(prog.ops) == 16
    assert set(re.findall(r"_buf\d+", source)) == {"_buf0"}, source
    # Each op writes over its input, which dies there.
    lines = [line for line in source.splitlines() if not line.startswith("    del ")]
    add = lines.index("    add = np.add(mul, _c1, out=_buf0)")
    assert lines[add - 1] == "    mul = np.multiply(x, _c0, out=_buf0)"
    assert lines[add + 1] == "    Tanh = np.tanh(add, out=_buf0)"
    assert "del mul" in source.split("add = np.add(")[1].split("\n")[1]
    X = np.random.default_rng(0).random((100, 100), dtype=np.float32)
    expected = X
    for _ in range(5):
        expected = np.tanh(expected * np.float32(2) + np.float32(1))
    np.testing.assert_allclose(prog(X), expected.sum(), rtol=1e-5)


def test_matmul_and_ufunc_results_are_written_into_buffers():
    x, y, _, loss, train, (X, Y) = small_mlp()
    prog = gf.Session().make_callable([loss, train], [x, y])
    prog(X, Y)
    lines = prog.source.splitlines()
    matmuls = [line for line in lines if "np.matmul(" in line]
    # forward 2, backward dh; dW2 and dW1 are GEMMs into the weights (the epilogues pass)
    assert len(matmuls) == 3 and len([line for line in lines if "matmul_accumulate" in line]) == 2
    for line in matmuls:
        assert re.search(r", out=_buf\d+\)$", line), line
    for ufunc in ("np.add(", "np.multiply(", "np.negative("):
        for line in lines:
            if ufunc in line:
                assert "out=_buf" in line, line


def test_reuse_memory_false_uses_no_buffers_and_gives_the_same_values():
    x, y, _, loss, train, (X, Y) = small_mlp()
    fetches = gf.global_variables()
    reuse = gf.Session()
    fresh = gf.Session(reuse_memory=False)
    step_reuse = reuse.make_callable([loss, train], [x, y])
    step_fresh = fresh.make_callable([loss, train], [x, y])
    for _ in range(3):
        assert step_reuse(X, Y)[0] == step_fresh(X, Y)[0]
    assert "_buf" not in step_fresh.source and "out=" not in step_fresh.source
    assert "_buf" in step_reuse.source
    for u, v in zip(reuse.run(fetches), fresh.run(fetches)):
        np.testing.assert_array_equal(u, v)


def test_results_are_never_aliased_by_later_runs():
    x = gf.placeholder(gf.float32, (3, 3), name="x")
    a = x * 2.0 + 1.0                      # lives in a buffer
    fetches = [gf.transpose(a), gf.tanh(a), a * 3.0, x]
    prog = gf.Session().make_callable(fetches, [x])
    assert "_buf" in prog.source
    X1 = np.arange(9, dtype=np.float32).reshape(3, 3)
    X2 = -X1
    X1_before = X1.copy()
    first = prog(X1)
    kept = [np.array(v) for v in first]
    second = prog(X2)
    for got, want in zip(first, kept):
        np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(X1, X1_before)  # the fed array is not written over
    for got in first:
        assert not any(np.shares_memory(got, other) for other in second)
    # The caller may change what it got: later runs are unaffected.
    expected = [np.array(v) for v in second]
    for v in second:
        v[...] = 123.0
    for got, want in zip(prog(X2), expected):
        np.testing.assert_array_equal(got, want)


def test_fetched_variable_values_are_not_changed_by_later_updates():
    v = gf.Variable(np.array([1.0, 2.0]), name="v")
    dec = v.assign_sub([0.5, 0.5])
    sess = gf.Session()
    before = sess.run(v)
    after_first = sess.run(dec)
    sess.run(dec)
    np.testing.assert_array_equal(before, [1.0, 2.0])
    np.testing.assert_array_equal(after_first, [0.5, 1.5])
    np.testing.assert_array_equal(sess.run(v), [0.0, 1.0])
    after_first[...] = 99.0
    np.testing.assert_array_equal(sess.run(v), [0.0, 1.0])


def test_variables_are_updated_in_place_and_match_the_interpreter():
    x, y, params, loss, train, (X, Y) = small_mlp()
    compiled, interpreted = gf.Session(), gf.Session(optimize=False)
    step = compiled.make_callable([loss, train], [x, y])
    ref = interpreted.make_callable([loss, train], [x, y])
    step(X, Y)
    ids = {v.op_name: id(compiled._store.values[v.op_name]) for v in params}
    ref(X, Y)
    assert re.search(r"_k_matmul_accumulate_\d+\(W1, ", step.source)  # a GEMM into W1
    for _ in range(5):
        got, want = step(X, Y)[0], ref(X, Y)[0]
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)
        for v in params:
            assert id(compiled._store.values[v.op_name]) == ids[v.op_name], v.op_name
            np.testing.assert_allclose(compiled._store.values[v.op_name],
                                       interpreted._store.values[v.op_name], rtol=1e-12, atol=1e-12)
    # The variables' initial values are untouched by the in-place updates.
    compiled.run(gf.global_variables_initializer())
    for v in params:
        np.testing.assert_array_equal(compiled.run(v), v.initial_value)


def test_fetching_a_variable_with_its_update_gives_the_value_at_the_start_of_the_run():
    u = gf.Variable(np.array([1.0, 2.0]), name="u")
    M = gf.Variable(np.arange(4.0).reshape(2, 2), name="M")
    du = u.assign_sub([0.5, 0.5])
    dM = M.assign_add(np.ones((2, 2)))
    fetches = [u, du, gf.transpose(M), dM, u * 2.0]
    runs = {}
    for optimize in (True, False):
        sess = gf.Session(optimize=optimize)
        runs[optimize] = [sess.run(fetches), sess.run(fetches[::-1])]
    for a, b in zip(runs[True], runs[False]):
        for u_, v_ in zip(a, b):
            np.testing.assert_array_equal(u_, v_)
    first = runs[True][0]
    np.testing.assert_array_equal(first[0], [1.0, 2.0])
    np.testing.assert_array_equal(first[1], [0.5, 1.5])
    np.testing.assert_array_equal(first[2], [[0.0, 2.0], [1.0, 3.0]])
    np.testing.assert_array_equal(first[3], [[1.0, 2.0], [3.0, 4.0]])
    np.testing.assert_array_equal(first[4], [2.0, 4.0])


# -- errors in generated code --------------------------------------------------------------------
def test_a_failing_generated_line_names_the_users_node_and_line():
    x = gf.placeholder(gf.float32, (None,), name="x")
    site = next_line_site()
    biggest = gf.reduce_max(gf.square(x), name="biggest")
    sess = gf.Session()
    with pytest.raises(gf.OpError) as info:
        sess.run(biggest, {x: np.zeros(0, np.float32)})
    message = str(info.value)
    assert "'biggest'" in message and "reduce_max" in message
    assert re.search(re.escape(site) + r"(?!\d)", message), message
    assert isinstance(info.value.__cause__, ValueError)
    # The session keeps working, with the same program and others.
    assert sess.run(biggest, {x: [1.0, -3.0]}) == 9.0
    assert sess.run(gf.square(x), {x: [2.0]}).tolist() == [4.0]


def test_a_failed_run_leaves_the_variables_as_they_were():
    x = gf.placeholder(gf.float32, (None,), name="x")
    v = gf.Variable(np.float32(0.0), name="v")
    w = gf.Variable(np.float32(0.0), name="w")
    bump = v.assign_add(1.0)
    step = gf.group(bump, w.assign_add(gf.reduce_max(x + bump)))
    for optimize in (False, True):
        sess = gf.Session(optimize=optimize)
        with pytest.raises(gf.OpError, match="reduce_max"):
            sess.run(step, {x: np.zeros(0, np.float32)})
        assert sess.run([v, w]) == [0.0, 0.0], f"optimize={optimize}"
        sess.run(step, {x: [1.0, 2.0]})
        assert sess.run([v, w]) == [1.0, 3.0], f"optimize={optimize}"


def test_fed_shapes_that_do_not_fit_name_the_users_node_and_line():
    x = gf.placeholder(gf.float32, None, name="x")
    reshape_site = next_line_site()
    grid = gf.reshape(x, (2, 3), name="grid")
    a = gf.placeholder(gf.float32, (None, None), name="a")
    b = gf.placeholder(gf.float32, (None, None), name="b")
    matmul_site = next_line_site()
    product = gf.matmul(a, b, name="product")
    sess = gf.Session()
    cases = [(grid, {x: np.ones(5, np.float32)}, "'grid'", reshape_site),
             (product, {a: np.ones((2, 3), np.float32), b: np.ones((4, 5), np.float32)},
              "'product'", matmul_site)]
    for fetch, feed, name, site in cases:
        with pytest.raises(gf.OpError) as info:
            sess.run(fetch, feed)
        message = str(info.value)
        assert name in message, message
        assert re.search(re.escape(site) + r"(?!\d)", message), message
    # The session keeps working.
    np.testing.assert_array_equal(sess.run(grid, {x: np.arange(6)}), [[0, 1, 2], [3, 4, 5]])
    np.testing.assert_array_equal(
        sess.run(product, {a: np.ones((2, 3)), b: np.ones((3, 1))}), [[3], [3]])


@pytest.mark.parametrize("late_read", [False, True])
def test_an_assigned_value_is_computed_straight_into_the_variable(late_read):
    v = gf.Variable(np.arange(4.0), name="v")
    x = gf.placeholder(gf.float64, (4,), name="x")
    new = v.assign(v * 2.0 + x)  # the add can write into v: nothing reads v afterwards
    fetches = [new]
    if late_read:  # a read of v's old value that no data edge orders before the add
        fetches.append(gf.tanh(gf.exp(gf.tanh(v))) * 3.0)
    prog = gf.Session().make_callable(fetches, [x])
    ref = gf.Session(optimize=False).make_callable(fetches, [x])
    for k in range(3):
        xs = np.full(4, float(k))
        for got, want in zip(prog(xs), ref(xs)):
            np.testing.assert_array_equal(got, want)
    if not late_read:
        assert "out=v)" in prog.source and "[...] =" not in prog.source


def test_check_numerics_output_is_a_view_so_no_buffer_overwrites_it():
    x = gf.placeholder(gf.float64, (3,), name="x")
    z = gf.debugging.check_numerics(gf.exp(x), "exp")
    q = gf.sqrt(z) + z
    xs = np.array([0.0, 1.0, 2.0])
    np.testing.assert_allclose(gf.Session().run(q, {x: xs}), np.sqrt(np.exp(xs)) + np.exp(xs))


def test_results_of_an_interpreter_fallback_are_copies():
    v = gf.Variable([1.0], name="v")
    a, b = gf.Variable([1.0], name="a"), gf.Variable([2.0], name="b")
    swap = gf.group(a.assign(b), b.assign(a))  # cannot be done in place: interpreter
    bump = v.assign_add([1.0])
    sess = gf.Session()
    with pytest.warns(UserWarning, match="reference interpreter"):
        out = sess.run([swap, bump, v])
    out[1] += 100.0
    out[2] += 100.0
    assert sess.run(v) == [2.0]


def test_gradient_with_respect_to_the_inside_of_a_stabilized_pattern():
    x = gf.placeholder(gf.float64, (2,), name="x")
    s = gf.sigmoid(x)
    y = gf.reduce_sum(gf.log(s))
    gs, gx = gf.gradients(y, [s, x])
    xs = np.array([0.5, -1.0])
    sig = 1 / (1 + np.exp(-xs))
    got_s, got_x = gf.Session().run([gs, gx], {x: xs})
    np.testing.assert_allclose(got_s, 1 / sig)
    np.testing.assert_allclose(got_x, 1 - sig)
