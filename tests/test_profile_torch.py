"""Program.profile on the torch backend (CPU): the profiler instruments the statements of any
backend's generated code, times them with the backend's clock and copies variables with the
backend's own snapshot/restore, so profiling a torch step neither trains nor draws."""

import numpy as np
import pytest

import graphflow as gf
from compiler.profile import OUTPUTS

pytest.importorskip("torch")

N, D = 256, 128


def step(**options):
    x = gf.placeholder(gf.float64, (None, D), name="x")
    w = gf.Variable(np.full(D, 0.5), name="w")
    h = gf.tanh(x * w + 1.0, name="h")
    loss = gf.reduce_sum(gf.exp(-h * h) + gf.sqrt(h * h + 1.0), name="loss")
    (g,) = gf.gradients(loss, [w])
    train = w.assign_sub(1e-3 * g, name="train")
    sess = gf.Session(backend="torch", device="cpu", **options)
    return sess, w, sess.make_callable([loss, train], [x])


def test_a_torch_step_is_profiled_node_by_node():
    sess, w, prog = step()
    xb = np.random.default_rng(0).random((N, D))
    profile = prog.profile(xb, repeat=3)
    rows = {r.name: r for r in profile.rows}
    nodes = {s.node.op_name: s.node for s in prog._spec().generated.statements
             if s.node is not None}
    assert set(rows) == set(nodes) | {OUTPUTS}
    assert rows["h"].op == "tanh" and rows["h"].bytes == N * D * 8   # torch tensors' nbytes
    assert rows["loss"].bytes == 8
    assert profile.step_seconds > 0
    assert sum(r.share for r in profile.rows) == pytest.approx(1.0)


def test_profiling_a_torch_step_does_not_train():
    sess, w, prog = step()
    xb = np.random.default_rng(1).random((N, D))
    before = sess.run(w)
    prog.profile(xb, repeat=2)
    np.testing.assert_array_equal(sess.run(w), before)
    prog(xb)
    assert not np.array_equal(sess.run(w), before)  # the step itself still trains


def test_profiling_draws_no_random_numbers_on_the_torch_backend():
    def build():
        graph = gf.Graph()
        with graph.as_default():
            gf.set_random_seed(3)
            x = gf.placeholder(gf.float64, (4,), name="x")
            y = x + gf.random_normal((4,), dtype=gf.float64)
            return gf.Session(backend="torch", device="cpu").make_callable(y, [x])
    profiled, plain = build(), build()
    zeros = np.zeros(4)
    profiled.profile(zeros, repeat=2)
    np.testing.assert_array_equal(profiled(zeros), plain(zeros))
