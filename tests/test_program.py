"""Program (what Session.make_callable returns with optimize=True): positional calls, `.ops`,
`.source`, `.report()`, one specialization per feed shape, feed checks, compile time; and the
compiled Session against the interpreter."""

import numpy as np
import pytest

import graphflow as gf
from compiler.passes import DEFAULT_PASSES, FINAL_PASSES

D, H, K, LR = 784, 256, 10, 0.1


def mlp(dtype, d=D, h=H, k=K, seed=0):
    """The product's net as a user writes it: sigmoid(relu(x W1 + b1) W2 + b2), hand-written
    BCE, gradients for W1, b1, W2, b2, SGD updates grouped. Returns (x, y, hidden, loss, train)."""
    rng = np.random.default_rng(seed)
    x = gf.placeholder(dtype, (None, d), name="x")
    y = gf.placeholder(dtype, (None, k), name="y")
    init = [rng.standard_normal((d, h)) * np.sqrt(2 / d), rng.standard_normal(h) * 0.1,
            rng.standard_normal((h, k)) * np.sqrt(1 / h), rng.standard_normal(k) * 0.1]
    params = [gf.Variable(p.astype(dtype), name=n) for p, n in zip(init, ["W1", "b1", "W2", "b2"])]
    W1, b1, W2, b2 = params
    hidden = gf.relu(x @ W1 + b1, name="hidden")
    out = gf.sigmoid(hidden @ W2 + b2)
    loss = gf.reduce_mean(-(y * gf.log(out) + (1 - y) * gf.log(1 - out)), name="loss")
    grads = gf.gradients(loss, params)
    train = gf.group(*[v.assign_sub(LR * g) for v, g in zip(params, grads)], name="train")
    return x, y, hidden, loss, train


def batch(n, dtype, d=D, k=K, seed=1):
    rng = np.random.default_rng(seed)
    return rng.random((n, d)).astype(dtype), np.eye(k, dtype=dtype)[rng.integers(0, k, n)]


# -- calling -------------------------------------------------------------------------------------
def test_program_is_called_positionally():
    a = gf.placeholder(gf.float32, (None,), name="a")
    b = gf.placeholder(gf.float32, (None,), name="b")
    sess = gf.Session()
    prog = sess.make_callable([a - b, {"sum": a + b}], [b, a])
    diff, rest = prog(np.float32([1, 2]), np.float32([10, 20]))  # b, then a
    np.testing.assert_array_equal(diff, [9, 18])
    np.testing.assert_array_equal(rest["sum"], [11, 22])
    assert "Program" in repr(prog)


def test_wrong_number_of_feed_values_is_a_type_error():
    a = gf.placeholder(gf.float32, (2,), name="a")
    b = gf.placeholder(gf.float32, (2,), name="b")
    prog = gf.Session().make_callable(a * b, [a, b])
    ones = np.ones(2, np.float32)
    with pytest.raises(TypeError, match="2 feed values"):
        prog(ones)
    prog(ones, ones)  # compiled now: the fast path checks the count too
    with pytest.raises(TypeError, match="2 feed values"):
        prog(ones)
    with pytest.raises(TypeError, match="2 feed values"):
        prog(ones, ones, ones)
    np.testing.assert_array_equal(prog(ones, 2 * ones), [2, 2])


def test_a_float_fed_to_an_int_placeholder_is_a_feed_error_naming_it():
    idx = gf.placeholder(gf.int32, (None,), name="idx")
    prog = gf.Session().make_callable(idx * 2, [idx])
    np.testing.assert_array_equal(prog(np.array([1, 2], np.int32)), [2, 4])
    with pytest.raises(gf.FeedError, match="'idx'"):
        prog(np.array([1.5, 2.0]))
    with pytest.raises(gf.FeedError, match="'idx'"):
        prog([1.5, 2.0])
    np.testing.assert_array_equal(prog([3, 4]), [6, 8])  # ints are cast, and it still works


def test_a_new_feed_shape_compiles_a_new_specialization_and_both_keep_working():
    x = gf.placeholder(gf.float32, (None, 3), name="x")
    W = gf.Variable(np.arange(6, dtype=np.float32).reshape(3, 2), name="W")
    y = gf.relu(x @ W - 4.0)
    prog = gf.Session().make_callable(y, [x])
    small = np.ones((2, 3), np.float32)
    big = np.arange(15, dtype=np.float32).reshape(5, 3)
    W_ = np.arange(6, dtype=np.float32).reshape(3, 2)
    expect = {2: np.maximum(small @ W_ - 4, 0), 5: np.maximum(big @ W_ - 4, 0)}
    np.testing.assert_array_equal(prog(small), expect[2])
    f_small = prog.function
    assert prog(small) is not None and prog.function is f_small  # same shape: same code
    np.testing.assert_array_equal(prog(big), expect[5])
    f_big = prog.function
    assert f_big is not f_small
    assert f_big.inputs[0].shape == (5, 3) and f_small.inputs[0].shape == (2, 3)
    for _ in range(2):
        np.testing.assert_array_equal(prog(small), expect[2])
        assert prog.function is f_small
        np.testing.assert_array_equal(prog(big), expect[5])
        assert prog.function is f_big


# -- inspecting ----------------------------------------------------------------------------------
def test_ops_lists_op_types_in_execution_order():
    x = gf.placeholder(gf.float32, (4, 3), name="x")
    W = gf.Variable(np.ones((3, 2), np.float32), name="W")
    b = gf.Variable(np.zeros(2, np.float32), name="b")
    prog = gf.Session().make_callable(gf.relu(x @ W + b), [x])
    assert prog.ops == ("matmul", "add", "relu")


def test_ops_of_a_training_step_are_lowercase_type_names_ending_with_the_updates():
    x, y, _, loss, train = mlp(np.float64, d=6, h=5, k=3)
    prog = gf.Session().make_callable([loss, train], [x, y])
    prog(*batch(4, np.float64, d=6, k=3))
    ops = prog.ops
    assert ops[:3] == ("matmul", "add", "relu")
    updates = {"assign_sub", "matmul_accumulate"}  # the weights' updates are GEMMs (epilogues)
    assert set(ops[-4:]) == updates and not updates & set(ops[:-4])
    assert ops.count("matmul") == 3 and ops.count("matmul_accumulate") == 2
    assert all(op.islower() and op.isidentifier() for op in ops)


def test_constants_are_folded_away():
    x = gf.placeholder(gf.float32, (3,), name="x")
    scale = gf.constant(2.0) * gf.constant(3.0) + gf.exp(gf.constant(0.0))  # 7.0
    prog = gf.Session().make_callable(x * scale, [x])
    assert prog.ops == ("multiply",)
    np.testing.assert_array_equal(prog(np.float32([1, 2, 3])), [7, 14, 21])
    only_constants = gf.Session().make_callable(gf.constant(2.0) * 4.0 + 1.0)
    assert only_constants.ops == ()
    assert only_constants() == 9.0


def test_report_has_one_row_per_pass_application():
    x, y, _, loss, train = mlp(np.float64, d=6, h=5, k=3)
    prog = gf.Session().make_callable([loss, train], [x, y])
    prog(*batch(4, np.float64, d=6, k=3))
    report = prog.report()
    records = report.records
    assert records and {r.name for r in records} <= set(DEFAULT_PASSES)
    # round 1: every default pass but those run once at the end (FINAL_PASSES)
    first = [p for p in DEFAULT_PASSES if p not in FINAL_PASSES]
    assert [r.name for r in records[:len(first)]] == first
    assert records[0].before == report.nodes_in
    for prev, rec in zip(records, records[1:]):
        assert rec.before == prev.after
        assert rec.round >= prev.round
    assert records[-1].after == report.nodes_out < report.nodes_in
    assert all(r.seconds >= 0 for r in records)
    assert report.total_seconds >= sum(r.seconds for r in records)
    rows = str(report).splitlines()
    assert rows[0].split()[0] == "pass"
    assert rows[1].split()[0] == "extract" and rows[-2].split()[0] == "codegen"
    assert rows[-1].split()[0] == "total"
    pass_rows = rows[2:-2]
    assert len(pass_rows) == len(records)
    for row, rec in zip(pass_rows, records):
        name, round_, before, after, ms = row.split()
        assert (name, int(round_), int(before), int(after)) == (rec.name, rec.round, rec.before,
                                                               rec.after)
        assert float(ms) == pytest.approx(rec.seconds * 1e3, abs=0.01)
    assert repr(report) == str(report)


def test_report_of_chosen_passes():
    x = gf.placeholder(gf.float32, (3,), name="x")
    prog = gf.Session(passes=["fold"]).make_callable(x * (gf.constant(1.0) + 1.0), [x])
    assert {r.name for r in prog.report().records} == {"fold"}
    assert prog.ops == ("multiply",)


def test_source_before_the_first_call_with_known_shapes():
    x = gf.placeholder(gf.float32, (2, 3), name="x")
    prog = gf.Session().make_callable(gf.tanh(x, name="t"), [x])
    source = prog.source
    assert source.startswith("def step(x):") and "t = np.tanh(x" in source
    assert prog.ops == ("tanh",)
    assert prog.report().records
    np.testing.assert_allclose(prog(np.zeros((2, 3), np.float32)), np.zeros((2, 3)))
    assert prog.source == source


def test_the_code_compiled_for_source_is_the_code_the_first_call_runs():
    x = gf.placeholder(gf.float32, (2, 3), name="x")
    prog = gf.Session().make_callable(gf.tanh(x, name="t"), [x])
    function = prog.function  # compiles for the known feed shapes
    prog(np.zeros((2, 3), np.float32))
    assert prog.function is function, "the first call compiled the same shapes again"


def test_source_before_the_first_call_with_unknown_shapes_is_a_clear_error():
    x = gf.placeholder(gf.float32, (None, 3), name="x")
    y = gf.placeholder(gf.float32, (3,), name="y")
    prog = gf.Session().make_callable(x + y, [x, y])
    for inspect in (lambda: prog.source, lambda: prog.ops, lambda: prog.report()):
        with pytest.raises(RuntimeError, match=r"\['x'\].*call the program once first"):
            inspect()
    prog(np.ones((2, 3), np.float32), np.ones(3, np.float32))
    assert "np.add(x, y" in prog.source


# -- compile time --------------------------------------------------------------------------------
def test_compiling_the_mnist_mlp_step_takes_under_100ms():
    x, y, _, loss, train = mlp(np.float32)
    X, Y = batch(128, np.float32)
    sess = gf.Session()
    totals = []
    for _ in range(3):  # fresh compilations; the min keeps a busy machine from failing this
        prog = sess.make_callable([loss, train], [x, y])
        prog(X, Y)
        totals.append(prog.report().total_seconds)
    assert min(totals) < 0.1, totals


# -- compiled against the interpreter ------------------------------------------------------------
def test_compiled_session_matches_the_interpreter_on_the_mlp_step():
    x, y, _, loss, train = mlp(np.float64, d=20, h=16, k=4)
    W2 = gf.global_variables()[2]
    compiled, interpreted = gf.Session(), gf.Session(optimize=False)
    for step in range(4):
        feed = dict(zip([x, y], batch(8, np.float64, d=20, k=4, seed=step)))
        got = compiled.run([loss, train, W2], feed_dict=feed)
        want = interpreted.run([loss, train, W2], feed_dict=feed)
        np.testing.assert_allclose(got[0], want[0], rtol=1e-12, atol=1e-12)
        assert got[1] is None and want[1] is None
        np.testing.assert_allclose(got[2], want[2], rtol=1e-12, atol=1e-12)
    for a, b in zip(compiled.run(gf.global_variables()), interpreted.run(gf.global_variables())):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)


def test_compiled_session_matches_the_interpreter_fed_an_intermediate_tensor():
    x, y, hidden, loss, _ = mlp(np.float64, d=20, h=16, k=4)
    W1, b1, W2, b2 = gf.global_variables()
    dW2, db2 = gf.gradients(loss, [W2, b2])
    rng = np.random.default_rng(3)
    h = np.maximum(rng.standard_normal((8, 16)), 0)
    _, Y = batch(8, np.float64, d=20, k=4)
    fetches = [loss, dW2, db2]
    feed = {hidden: h, y: Y}  # x is not needed: the graph is cut at `hidden`
    got = gf.Session().run(fetches, feed_dict=feed)
    want = gf.Session(optimize=False).run(fetches, feed_dict=feed)
    for a, b in zip(got, want):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-15)
    # Feeding `hidden` gives what computing it from x gives.
    X, _ = batch(8, np.float64, d=20, k=4)
    sess = gf.Session()
    h_x = sess.run(hidden, feed_dict={x: X})
    np.testing.assert_allclose(sess.run(loss, feed_dict={hidden: h_x, y: Y}),
                               sess.run(loss, feed_dict={x: X, y: Y}), rtol=1e-12)


def test_a_tensor_twice_in_feed_list_is_refused():
    x = gf.placeholder(gf.float32, (2,), name="x")
    with pytest.raises(gf.FeedError, match="'x' appears more than once"):
        gf.Session().make_callable(x * 2.0, [x, x])


def test_a_training_step_keeps_no_undo_copies_but_a_fallible_node_after_an_update_does():
    x = gf.placeholder(gf.float32, (None, 3), name="x")
    w = gf.Variable(np.ones((3, 1), np.float32), name="w")
    loss = gf.reduce_mean(gf.square(x @ w))
    step = gf.Session().make_callable(gf.train.AdamOptimizer(0.1).minimize(loss), [x])
    step(np.ones((4, 3), np.float32))
    assert step._last.generated.undo == ()  # updates are followed by arithmetic only
    v = gf.Variable(np.float32(0.0), name="v")
    idx = gf.placeholder(gf.int64, (1,), name="idx")
    bumped = v.assign_add(1.0)
    picked = gf.gather(gf.stack([bumped, bumped]), idx)  # an index can be out of range
    sess = gf.Session()
    with pytest.raises(gf.OpError):
        sess.run(picked, {idx: np.array([5])})
    assert sess.run(v) == 0.0  # the update before the failing gather was undone
    assert sess.run(picked, {idx: np.array([1])}) == [1.0]
