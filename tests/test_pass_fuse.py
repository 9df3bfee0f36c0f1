"""The fuse pass (gf.Session(fuse=True)): which chains become one fused node, that a fused node
computes what its ops computed one by one (against the reference interpreter, which never fuses),
that it runs after the other passes have settled, and that it is off by default and numpy-only."""

import numpy as np
import pytest

import graphflow as gf
from compiler.ops.fused import describe_steps
from compiler.passes import DEFAULT_PASSES, PASS_NAMES
from compiler.passes.fuse import FUSABLE

RNG = np.random.default_rng(0)


def compiled(outputs, feeds, fuse=True):
    prog = gf.Session(fuse=fuse).make_callable(outputs, list(feeds))
    values = prog(*feeds.values())
    return prog, values


def fused_nodes(prog):
    return [n for n in prog.function.nodes if n.type == "fused"]


def test_a_chain_becomes_one_node_reading_its_leaves():
    x = gf.placeholder(gf.float32, (4, 3), name="x")
    b = gf.placeholder(gf.float32, (3,), name="b")  # a bias row
    g = gf.placeholder(gf.float32, (4, 3), name="g")
    y = gf.multiply(gf.nn.relu(x + b), g, name="y")
    feeds = {x: RNG.standard_normal((4, 3), dtype=np.float32),
             b: RNG.standard_normal(3, dtype=np.float32),
             g: RNG.standard_normal((4, 3), dtype=np.float32)}
    prog, value = compiled(y, feeds)
    (node,) = fused_nodes(prog)
    assert [s.op for s in node.attrs["steps"]] == ["add", "relu", "multiply"]
    assert [i.op_name for i in node.inputs] == ["x", "b", "g"] and node.op_name == "y"
    assert describe_steps(node.attrs["steps"], 3) == ("%3 = add(%0, %1); %4 = relu(%3); "
                                                      "%5 = multiply(%4, %2)")
    want = gf.Session(optimize=False).run(y, feeds)
    np.testing.assert_array_equal(value, want)


def test_values_read_elsewhere_and_outputs_are_not_swallowed():
    x = gf.placeholder(gf.float64, (5,), name="x")
    e = gf.exp(x, name="e")            # read by two ops: a root of its own
    s = gf.sqrt(e + 1.0, name="s")
    t = gf.tanh(e * 2.0, name="t")
    u = gf.negative(t, name="u")       # t is also an output: computed on its own
    feeds = {x: RNG.standard_normal(5)}
    prog, values = compiled([s, t, u], feeds)
    roots = {n.op_name for n in fused_nodes(prog)}
    assert roots == {"s", "t"}  # e fused into neither; u = -t stays a single op
    want = gf.Session(optimize=False).run([s, t, u], feeds)
    for got, expected in zip(values, want):
        np.testing.assert_allclose(got, expected, rtol=1e-15)


def test_general_broadcasts_are_left_unfused():
    col = gf.placeholder(gf.float64, (4, 1), name="col")  # a column: not a row or a scalar
    x = gf.placeholder(gf.float64, (4, 3), name="x")
    y = gf.exp(x * col)
    feeds = {col: RNG.standard_normal((4, 1)), x: RNG.standard_normal((4, 3))}
    prog, value = compiled(y, feeds)
    assert not fused_nodes(prog)
    np.testing.assert_allclose(value, gf.Session(optimize=False).run(y, feeds), rtol=1e-15)


def test_fusion_runs_after_the_other_passes_settled():
    z = gf.placeholder(gf.float32, (3, 2), name="z")
    y = gf.placeholder(gf.float32, (3, 2), name="y")
    p = gf.sigmoid(z)
    loss = -gf.reduce_mean(y * gf.log(p) + (1.0 - y) * gf.log(1.0 - p))
    (dz,) = gf.gradients(loss, [z])
    feeds = {z: RNG.standard_normal((3, 2), dtype=np.float32),
             y: RNG.random((3, 2), dtype=np.float32)}
    prog, (value, grad) = compiled([loss, dz], feeds)
    report = prog.report()
    assert report.records[-1].name == "fuse"
    assert "sigmoid_cross_entropy_with_logits" in prog.ops  # the losses pass saw the pattern
    plain, (value0, grad0) = compiled([loss, dz], feeds, fuse=False)
    np.testing.assert_allclose(value, value0, rtol=1e-6)
    np.testing.assert_allclose(grad, grad0, rtol=1e-6)


def test_a_training_step_with_fusion_trains_as_without():
    def step(fuse):
        with gf.Graph().as_default():
            gf.set_random_seed(3)
            x = gf.placeholder(gf.float32, (None, 6), name="x")
            y = gf.placeholder(gf.float32, (None, 2), name="y")
            h = gf.layers.dense(x, 8, activation=gf.nn.relu)
            out = gf.sigmoid(gf.layers.dense(h, 2))
            loss = gf.reduce_mean(-(y * gf.log(out) + (1 - y) * gf.log(1 - out)))
            train = gf.train.AdamOptimizer(0.01).minimize(loss)
            sess = gf.Session(fuse=fuse)
            run = sess.make_callable([loss, train], [x, y])
            xs = np.random.default_rng(1).random((16, 6), dtype=np.float32)
            ys = (xs[:, :2] > 0.5).astype(np.float32)
            return [run(xs, ys)[0] for _ in range(20)], run
    losses, run = step(True)
    plain, _ = step(False)
    assert any(op == "fused" for op in run.ops)
    np.testing.assert_allclose(losses, plain, rtol=1e-5)


def test_off_by_default_and_numpy_only():
    assert "fuse" in PASS_NAMES and "fuse" not in DEFAULT_PASSES
    x = gf.placeholder(gf.float32, (3,), name="x")
    prog, _ = compiled(gf.exp(x) + 1.0, {x: np.ones(3, np.float32)}, fuse=False)
    assert "fused" not in prog.ops
    with pytest.raises(ValueError, match="fuse=True.*numpy"):
        gf.Session(backend="torch", device="cpu", fuse=True)


def test_every_fusable_op_has_a_loop_rule():
    jit = pytest.importorskip("compiler.backends.numpy.fused_jit")
    assert FUSABLE <= jit.SUPPORTED


def test_program_source_shows_each_fused_loop():
    x = gf.placeholder(gf.float32, (4, 3), name="x")
    b = gf.placeholder(gf.float32, (3,), name="b")
    y = gf.multiply(gf.nn.relu(x + b), 2.0, name="y")
    prog, _ = compiled(y, {x: np.ones((4, 3), np.float32), b: np.ones(3, np.float32)})
    source = prog.source
    assert "# y = fused(x, b, " in source and "%4 = relu(%3)" in source
    pytest.importorskip("numba")
    assert 'njit(error_model="numpy", cache=True)' in source and "def kernel(" in source


def test_comparisons_of_strings_are_not_fused():
    """equal(strings) gives bools, but its inputs are host objects no loop can read."""
    a = gf.placeholder(gf.string, (3,), name="a")
    b = gf.placeholder(gf.string, (3,), name="b")
    flipped = gf.logical_not(gf.equal(a, b), name="flipped")
    feeds = {a: np.array([b"x", b"y", b"z"], dtype=object),
             b: np.array([b"x", b"q", b"z"], dtype=object)}
    prog, value = compiled(flipped, feeds)
    assert not fused_nodes(prog)
    np.testing.assert_array_equal(value, [False, True, False])


def test_check_numerics_turns_the_native_backends_default_fusion_off():
    """check_numerics names the node whose value went bad: fused away, it could not."""
    x = gf.placeholder(gf.float64, (3,), name="x")
    bad = gf.log(x - 1.0, name="bad_log")
    out = gf.square(bad) * 2.0
    sess = gf.Session(backend="native", check_numerics=True)
    with pytest.raises(gf.errors.InvalidArgumentError, match="bad_log"):
        sess.run(out, {x: np.array([0.5, 2.0, 3.0])})
