"""The epilogues pass: `var -= c * (a @ b)` becomes one GEMM adding into the variable
(matmul_accumulate). Where it fires and where it must not, and that the update is the one the
ops computed one by one: against torch (float64 addmm, an independent reference), against the
reference interpreter (which never runs the pass), on the numpy and torch backends, through
numpy's own BLAS and through the numpy fallback."""

import numpy as np
import pytest
import torch

import graphflow as gf
from compiler.backends.numpy import blas
from compiler.passes import DEFAULT_PASSES

RNG = np.random.default_rng(7)
WITHOUT = tuple(p for p in DEFAULT_PASSES if p != "epilogues")


def _update(transpose_a=False, transpose_b=False, dtype=np.float32, kind="sub", scale=0.1,
            shapes=((4, 6), (6, 3)), m=4, n=3):
    """A graph updating W (m x n) by scale * matmul(a, b) with a, b placeholders of `shapes`."""
    a = gf.placeholder(dtype, shapes[0], name="a")
    b = gf.placeholder(dtype, shapes[1], name="b")
    w = gf.Variable(RNG.standard_normal((m, n)).astype(dtype), name="W")
    delta = gf.matmul(a, b, transpose_a=transpose_a, transpose_b=transpose_b)
    if scale is not None:
        delta = scale * delta
    op = w.assign_sub(delta) if kind == "sub" else w.assign_add(delta)
    return a, b, w, op


def _torch_update(w0, a, b, transpose_a, transpose_b, alpha):
    t = [torch.tensor(v, dtype=torch.float64) for v in (w0, a, b)]
    ta = t[1].T if transpose_a else t[1]
    tb = t[2].T if transpose_b else t[2]
    return torch.addmm(t[0], ta, tb, alpha=alpha).numpy()


def _ops(sess, fetch, feeds):
    prog = sess.make_callable(fetch, list(feeds))
    prog(*feeds.values())
    return prog.ops


@pytest.mark.parametrize("transpose_a,transpose_b", [(False, False), (True, False),
                                                     (False, True), (True, True)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_transposes_are_gemm_flags_and_the_update_matches_torch(transpose_a, transpose_b, dtype):
    shapes = ((6, 4) if transpose_a else (4, 6), (3, 6) if transpose_b else (6, 3))
    a, b, w, op = _update(transpose_a, transpose_b, dtype, shapes=shapes)
    feeds = {a: RNG.standard_normal(shapes[0]).astype(dtype),
             b: RNG.standard_normal(shapes[1]).astype(dtype)}
    sess = gf.Session()
    sess.run(gf.global_variables_initializer())
    w0 = sess.run(w)
    prog = sess.make_callable(op, list(feeds))
    got = prog(*feeds.values())
    assert "matmul_accumulate" in prog.ops and "matmul" not in prog.ops
    want = _torch_update(w0, *feeds.values(), transpose_a, transpose_b, -0.1)
    tol = 2e-6 if dtype == np.float32 else 1e-13
    np.testing.assert_allclose(got, want, rtol=tol, atol=tol)
    np.testing.assert_allclose(sess.run(w), want, rtol=tol, atol=tol)


@pytest.mark.parametrize("kind,scale,alpha", [("add", 0.5, 0.5), ("sub", None, -1.0),
                                              ("add", None, 1.0)])
def test_assign_add_and_unscaled_products(kind, scale, alpha):
    a, b, w, op = _update(kind=kind, scale=scale, dtype=np.float64)
    feeds = {a: RNG.standard_normal((4, 6)), b: RNG.standard_normal((6, 3))}
    sess = gf.Session()
    sess.run(gf.global_variables_initializer())
    w0 = sess.run(w)
    assert "matmul_accumulate" in _ops(sess, op, feeds)
    np.testing.assert_allclose(sess.run(w), _torch_update(w0, *feeds.values(), False, False,
                                                          alpha), rtol=1e-13)


def test_the_scale_on_the_right_and_the_variable_keeps_its_storage():
    a = gf.placeholder(gf.float32, (5, 2), name="a")
    g = gf.placeholder(gf.float32, (5, 3), name="g")
    w = gf.Variable(np.ones((2, 3), np.float32), name="W")
    op = w.assign_sub(gf.matmul(a, g, transpose_a=True) * 0.25)
    sess = gf.Session()
    sess.run(w.initializer)
    before = sess._store.read(w)
    feeds = {a: RNG.standard_normal((5, 2), dtype=np.float32),
             g: RNG.standard_normal((5, 3), dtype=np.float32)}
    assert "matmul_accumulate" in _ops(sess, op, feeds)
    want = 1.0 - 0.25 * feeds[a].T.astype(np.float64) @ feeds[g]
    np.testing.assert_allclose(sess.run(w), want, rtol=2e-6, atol=1e-6)
    assert sess._store.read(w) is before
    np.testing.assert_allclose(before, want, rtol=2e-6, atol=1e-6)  # written in place


def test_strided_and_sliced_feeds_are_read_right():
    """A feed with rows of unit stride (columns sliced off: lda > columns) and one with no unit
    stride at all (copied first), against the interpreter."""
    a, b, w, op = _update(shapes=((4, 6), (6, 3)))
    wide = RNG.standard_normal((4, 10)).astype(np.float32)[:, 2:8]
    strided = np.lib.stride_tricks.as_strided(
        RNG.standard_normal((24, 12)).astype(np.float32), (6, 3), (96, 8))
    for feeds_b in (strided, np.asfortranarray(RNG.standard_normal((6, 3)).astype(np.float32))):
        feeds = {a: wide, b: feeds_b}
        results = []
        for sess in (gf.Session(), gf.Session(optimize=False)):
            sess.run(w.initializer)
            w0 = sess.run(w)
            sess.run(op, feeds)
            results.append(sess.run(w))
        np.testing.assert_allclose(results[0], results[1], rtol=2e-6, atol=2e-6)
        np.testing.assert_allclose(results[0], w0 - 0.1 * wide.astype(np.float64) @ feeds_b,
                                   rtol=2e-6, atol=2e-6)


def test_an_empty_batch_leaves_the_variable_as_it_was():
    x = gf.placeholder(gf.float32, (None, 4), name="x")
    g = gf.placeholder(gf.float32, (None, 3), name="g")
    w = gf.Variable(RNG.standard_normal((4, 3)).astype(np.float32), name="W")
    op = w.assign_sub(0.1 * gf.matmul(x, g, transpose_a=True))
    sess = gf.Session()
    sess.run(w.initializer)
    w0 = sess.run(w)
    feeds = {x: np.zeros((0, 4), np.float32), g: np.zeros((0, 3), np.float32)}
    assert "matmul_accumulate" in _ops(sess, op, feeds)
    np.testing.assert_array_equal(sess.run(w), w0)


def test_where_it_must_not_fire():
    lr = gf.placeholder(gf.float32, (), name="lr")
    a = gf.placeholder(gf.float32, (4, 4), name="a")
    w = gf.Variable(np.eye(4, dtype=np.float32), name="W")
    v = gf.Variable(np.eye(4, dtype=np.float32), name="V")
    p = gf.matmul(a, a, name="p")
    cases = {
        "a fed scale": (w.assign_sub(lr * gf.matmul(a, a)), [], {lr: np.float32(0.5)}),
        "the product fetched too": (w.assign_sub(0.5 * p), [p], {}),
        "a variable operand": (w.assign_sub(0.5 * gf.matmul(w, a)), [], {}),
        "another variable's operand": (w.assign_sub(0.5 * gf.matmul(a, v)), [], {}),
    }
    for name, (op, extra, more) in cases.items():
        feeds = {a: RNG.standard_normal((4, 4), dtype=np.float32), **more}
        results = []
        for sess in (gf.Session(), gf.Session(optimize=False)):
            sess.run(gf.global_variables_initializer())
            if sess.optimize:
                assert "matmul_accumulate" not in _ops(sess, [op] + extra, feeds), name
            else:
                sess.run([op] + extra, feeds)
            results.append(sess.run(w))
        np.testing.assert_allclose(results[0], results[1], rtol=1e-6, err_msg=name)


def test_integer_and_batched_products_are_left_alone():
    i = gf.placeholder(gf.int32, (3, 3), name="i")
    wi = gf.Variable(np.zeros((3, 3), np.int32), name="Wi")
    x = gf.placeholder(gf.float32, (2, 3, 3), name="x")
    wb = gf.Variable(np.zeros((2, 3, 3), np.float32), name="Wb")
    ops = [wi.assign_sub(2 * gf.matmul(i, i)), wb.assign_sub(0.5 * gf.matmul(x, x))]
    sess = gf.Session()
    sess.run(gf.global_variables_initializer())
    feeds = {i: np.arange(9, dtype=np.int32).reshape(3, 3),
             x: RNG.standard_normal((2, 3, 3), dtype=np.float32)}
    assert "matmul_accumulate" not in _ops(sess, ops, feeds)
    ii = feeds[i]
    np.testing.assert_array_equal(sess.run(wi), -2 * ii @ ii)


def test_switched_off_it_leaves_the_update_as_three_ops():
    a, b, w, op = _update()
    feeds = {a: RNG.standard_normal((4, 6), dtype=np.float32),
             b: RNG.standard_normal((6, 3), dtype=np.float32)}
    sess = gf.Session(passes=WITHOUT)
    sess.run(w.initializer)
    ops = _ops(sess, op, feeds)
    assert "matmul_accumulate" not in ops and "matmul" in ops


def _mlp_sgd(backend="numpy", passes=None, optimize=True, steps=5):
    """The product's MLP trained by SGD for a few steps: the weights it ends with."""
    graph = gf.Graph()
    rng = np.random.default_rng(3)
    with graph.as_default():
        x = gf.placeholder(gf.float32, (None, 20), name="x")
        y = gf.placeholder(gf.float32, (None, 4), name="y")
        w1 = gf.Variable(rng.standard_normal((20, 16)).astype(np.float32) * 0.3, name="W1")
        b1 = gf.Variable(np.zeros(16, np.float32), name="b1")
        w2 = gf.Variable(rng.standard_normal((16, 4)).astype(np.float32) * 0.3, name="W2")
        out = gf.sigmoid(gf.nn.relu(x @ w1 + b1) @ w2)
        loss = gf.reduce_mean(-(y * gf.log(out) + (1 - y) * gf.log(1 - out)))
        train = gf.train.GradientDescentOptimizer(0.5).minimize(loss)
        options = {"backend": backend, "device": "cpu"} if backend == "torch" else {}
        sess = gf.Session(optimize=optimize, passes=passes, **options)
        sess.run(gf.global_variables_initializer())
        for _ in range(steps):
            sess.run(train, {x: rng.standard_normal((8, 20)).astype(np.float32),
                             y: (rng.random((8, 4)) < 0.5).astype(np.float32)})
        return sess.run([w1, b1, w2])


@pytest.mark.parametrize("backend", ["numpy", "torch"])
def test_a_training_run_ends_where_the_interpreter_does(backend):
    want = _mlp_sgd(optimize=False)
    for got, expected in zip(_mlp_sgd(backend), want):
        np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)


def test_the_training_step_uses_one_gemm_per_weight_matrix():
    graph = gf.Graph()
    with graph.as_default():
        x = gf.placeholder(gf.float32, (8, 20), name="x")
        w1 = gf.Variable(np.ones((20, 16), np.float32), name="W1")
        w2 = gf.Variable(np.ones((16, 4), np.float32), name="W2")
        loss = gf.reduce_sum(gf.nn.relu(x @ w1) @ w2)
        train = gf.train.GradientDescentOptimizer(0.5).minimize(loss)
        prog = gf.Session().make_callable(train, [x])
        prog(np.ones((8, 20), np.float32))
        assert prog.ops.count("matmul_accumulate") == 2


def test_without_numpys_blas_the_update_runs_as_numpy_ops(monkeypatch):
    """Where numpy's BLAS is not found (another build), the same numbers through numpy."""
    monkeypatch.setattr(blas, "gemm", lambda dtype: None)
    a, b, w, op = _update(transpose_a=True, shapes=((6, 4), (6, 3)), dtype=np.float64)
    feeds = {a: RNG.standard_normal((6, 4)), b: RNG.standard_normal((6, 3))}
    sess = gf.Session()
    sess.run(w.initializer)
    w0 = sess.run(w)
    assert "matmul_accumulate" in _ops(sess, op, feeds)
    np.testing.assert_allclose(sess.run(w), _torch_update(w0, *feeds.values(), True, False, -0.1),
                               rtol=1e-13)


def test_numpys_own_blas_is_found_here():
    """On this machine's numpy wheel (OpenBLAS) the GEMM is found: the fallback is not what the
    other tests exercised."""
    if "openblas" not in str(np.__config__.CONFIG["Build Dependencies"]["blas"]["name"]):
        pytest.skip("numpy is not built with OpenBLAS here")
    assert blas.gemm(np.float32) is not None and blas.gemm(np.float64) is not None
    assert blas.gemm(np.int32) is None


@pytest.mark.parametrize("nesterov", [False, True])
def test_momentum_buffers_are_gemms_and_training_matches_torch(nesterov):
    """accum = mu * accum + X^T G becomes one GEMM with beta = mu into the buffer (not with
    Nesterov, whose step reads the gradient again); five steps end where
    torch.optim.SGD(momentum, nesterov) does, on the numpy and native backends."""
    rng = np.random.default_rng(4)
    w0 = rng.standard_normal((6, 3)) * 0.5
    batches = [(rng.standard_normal((5, 6)), rng.standard_normal((5, 3))) for _ in range(5)]
    results = {}
    for backend in ("numpy", "native"):
        with gf.Graph().as_default():
            x = gf.placeholder(gf.float64, (5, 6))
            y = gf.placeholder(gf.float64, (5, 3))
            w = gf.Variable(w0, name="W")
            loss = gf.reduce_mean(gf.square(x @ w - y))
            opt = gf.train.MomentumOptimizer(0.1, 0.9, use_nesterov=nesterov)
            train = opt.minimize(loss)
            sess = gf.Session(backend=backend)
            sess.run(gf.global_variables_initializer())
            step = sess.make_callable(train, [x, y])
            for xb, yb in batches:
                step(xb, yb)
            accumulate = [n for n in step.function.nodes if n.type == "matmul_accumulate"]
            if nesterov:  # the gradient is also read by the step (grad + mu * accum): left alone
                assert not accumulate
            else:
                assert len(accumulate) == 1 and accumulate[0].attrs["beta"] == 0.9
            results[backend] = sess.run(w)
    tw = torch.tensor(w0, requires_grad=True)
    opt = torch.optim.SGD([tw], lr=0.1, momentum=0.9, nesterov=nesterov)
    for xb, yb in batches:
        opt.zero_grad()
        ((torch.tensor(xb) @ tw - torch.tensor(yb)) ** 2).mean().backward()
        opt.step()
    for got in results.values():
        np.testing.assert_allclose(got, tw.detach().numpy(), rtol=1e-12, atol=1e-12)


def test_a_momentum_buffer_written_twice_is_left_alone():
    """beta * buf must read the value the GEMM would start from: not so if buf is also written
    elsewhere in the run (a plain read sees the start-of-run value)."""
    a = gf.placeholder(gf.float64, (3, 3), name="a")
    buf = gf.Variable(np.ones((3, 3)), name="buf")
    first = buf.assign_add(np.full((3, 3), 2.0))
    with gf.control_dependencies([first]):
        second = gf.assign(buf, 0.5 * buf + gf.matmul(a, a))
    feeds = {a: RNG.standard_normal((3, 3))}
    results = []
    for sess in (gf.Session(), gf.Session(optimize=False)):
        sess.run(buf.initializer)
        if sess.optimize:
            assert "matmul_accumulate" not in _ops(sess, second, feeds)
        else:
            sess.run(second, feeds)
        results.append(sess.run(buf))
    np.testing.assert_allclose(results[0], results[1], rtol=1e-12)
