"""The native backend (gf.Session(backend="native")): runs of statements compiled to C against
the reference interpreter (the oracle, which never compiles anything) and torch; what becomes
native and what stays numpy code; layouts the C code must read right (non-contiguous feeds,
transposed views handed from one run to the next, broadcasts); the on-disk module cache
(reused, and a damaged file compiled again); and the errors when it cannot work."""

import re

import numpy as np
import pytest
import torch

import graphflow as gf
from compiler.backends.native import build, segments
from compiler.errors import BackendError

pytestmark = pytest.mark.skipif(build.compiler() is None, reason="no C compiler on this machine")
RNG = np.random.default_rng(11)


def _mlp(dtype=np.float32, optimizer="sgd"):
    """The product's MLP (hand-written BCE on sigmoid outputs), as the tests build it."""
    rng = np.random.default_rng(5)
    x = gf.placeholder(dtype, (None, 12), name="x")
    y = gf.placeholder(dtype, (None, 3), name="y")
    w1 = gf.Variable((rng.standard_normal((12, 16)) * 0.4).astype(dtype), name="W1")
    b1 = gf.Variable(np.zeros(16, dtype), name="b1")
    w2 = gf.Variable((rng.standard_normal((16, 3)) * 0.4).astype(dtype), name="W2")
    b2 = gf.Variable(np.zeros(3, dtype), name="b2")
    out = gf.sigmoid(gf.nn.relu(x @ w1 + b1) @ w2 + b2)
    loss = gf.reduce_mean(-(y * gf.log(out) + (1 - y) * gf.log(1 - out)))
    opt = (gf.train.AdamOptimizer(0.01) if optimizer == "adam"
           else gf.train.GradientDescentOptimizer(0.5))
    return x, y, [w1, b1, w2, b2], loss, opt.minimize(loss)


def _batches(dtype, n=4, batch=8):
    rng = np.random.default_rng(9)
    return [(rng.standard_normal((batch, 12)).astype(dtype),
             (rng.random((batch, 3)) < 0.5).astype(dtype)) for _ in range(n)]


def _train(backend, dtype, optimizer, **options):
    with gf.Graph().as_default():
        x, y, params, loss, train = _mlp(dtype, optimizer)
        sess = gf.Session(optimize=backend != "interpreter",
                          backend="numpy" if backend == "interpreter" else backend, **options)
        step = sess.make_callable([loss, train], [x, y])
        losses = [step(xb, yb)[0] for xb, yb in _batches(dtype)]
        return losses, sess.run(params), step


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_training_steps_match_the_interpreter(optimizer, dtype):
    want_losses, want, _ = _train("interpreter", dtype, optimizer)
    losses, got, step = _train("native", dtype, optimizer)
    tol = 2e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(losses, want_losses, rtol=tol, atol=tol)
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=tol, atol=tol)
    assert "# native: " in step.source and "static PyObject *seg0" in step.source


def test_the_sgd_step_is_two_native_calls_and_the_loss():
    _, _, step = _train("native", np.float32, "sgd")
    lines = step.source.splitlines()
    calls = [k for k, line in enumerate(lines) if line.startswith("    _native_seg")]
    assert len(calls) == 2  # forward and loss; backward and the updates
    hold = next(k for k, line in enumerate(lines) if line.startswith("    _hold"))
    assert calls[0] < hold < calls[1]  # Ctrl-C held from the run holding the first write
    assert {"matmul", "matmul_accumulate", "fused", "assign_sub"} <= set(step.ops)


def test_an_adam_update_is_one_pass_over_each_variable():
    """The moments, their copies into the slots and the weight update of each variable merge
    into one loop, and the buffers only that loop reads stay in registers."""
    _, _, step = _train("native", np.float32, "adam")
    source = step.source
    loops = [line for line in source.splitlines() if "for (npy_intp i = 0; i < 192;" in line]
    assert len(loops) == 1, loops  # W1 is 12x16: one pass for everything over its elements
    assert "float r_a" in source


def test_against_torch_a_broadcast_fused_chain_and_column_sums():
    """Row and column broadcasts, a fused chain and sums over each axis, against torch."""
    a = RNG.standard_normal((5, 4))
    row, col = RNG.standard_normal(4), RNG.standard_normal((5, 1))
    with gf.Graph().as_default():
        pa, pr, pc = (gf.placeholder(gf.float64, v.shape) for v in (a, row, col))
        h = gf.tanh(pa * pr + pc)
        outs = [gf.reduce_sum(h, axis=0), gf.reduce_mean(h, axis=1), gf.nn.relu(h - 0.1)]
        sess = gf.Session(backend="native")
        got = sess.run(outs, {pa: a, pr: row, pc: col})
    t = torch.tanh(torch.tensor(a) * torch.tensor(row) + torch.tensor(col))
    want = [t.sum(0), t.mean(1), torch.relu(t - 0.1)]
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w.numpy(), rtol=1e-13, atol=1e-15)


def test_non_contiguous_feeds_and_transposed_operands():
    big = RNG.standard_normal((8, 30)).astype(np.float32)
    x_view = big[:, 3:15]                  # rows of unit stride, row stride 30
    x_strided = big[::2, ::2][:, :12]      # no unit stride at all
    for xb in (x_view, x_strided, np.asfortranarray(big[:, :12])):
        batch = xb.shape[0]
        yb = (RNG.random((batch, 3)) < 0.5).astype(np.float32)
        results = []
        for backend in ("interpreter", "native"):
            with gf.Graph().as_default():
                x, y, params, loss, train = _mlp()
                sess = gf.Session(optimize=backend != "interpreter",
                                  backend="numpy" if backend == "interpreter" else backend)
                first = sess.run([loss, train], {x: xb, y: yb})[0]
                results.append([first] + sess.run(params))
        for g, w in zip(*results):
            np.testing.assert_allclose(g, w, rtol=2e-5, atol=2e-6)


def test_a_transposed_view_handed_to_a_later_run_is_read_through_its_strides():
    """h's transpose is made in one run and read by a GEMM in the next (a log_softmax, numpy
    code, between them): passed as the view it is, its strides checked by the C code."""
    with gf.Graph().as_default():
        x = gf.placeholder(gf.float32, (8, 12), name="x")
        w = gf.Variable(RNG.standard_normal((12, 4)).astype(np.float32), name="w")
        h = x @ w + 1.0
        t = gf.transpose(h, name="t")
        out = gf.reduce_sum(gf.nn.relu(gf.matmul(t, gf.nn.log_softmax(h)) + 0.5), axis=0)
        feed = RNG.standard_normal((8, 12)).astype(np.float32)
        sess = gf.Session(backend="native")
        prog = sess.make_callable(out, [x])
        got = prog(feed)
        want = gf.Session(optimize=False).run(out, {x: feed})
    np.testing.assert_allclose(got, want, rtol=2e-6, atol=2e-6)
    lines = prog.source.splitlines()
    assert any(line.startswith("    t = np.transpose(") for line in lines)
    calls = [line for line in lines if line.startswith("    _native_seg")]
    assert len(calls) == 2 and re.search(r"[(,] ?t[,)]", calls[1]), calls  # t itself, no copy


def test_values_computed_in_numpy_code_are_passed_contiguous():
    """A value from an op with no C rule (log_softmax) feeds a native run."""
    with gf.Graph().as_default():
        z = gf.placeholder(gf.float32, (6, 5))
        t = gf.transpose(gf.nn.log_softmax(z)) * 2.0 + 1.0
        out = gf.reduce_sum(gf.exp(t) - t, axis=1)
        feed = RNG.standard_normal((6, 5)).astype(np.float32)
        got = gf.Session(backend="native").run(out, {z: feed})
        want = gf.Session(optimize=False).run(out, {z: feed})
    np.testing.assert_allclose(got, want, rtol=1e-6)


def test_returned_arrays_survive_the_next_run():
    with gf.Graph().as_default():
        x = gf.placeholder(gf.float64, (4, 4))
        h = gf.nn.relu(x @ x + 1.0)
        out = [h, gf.reduce_sum(h * h, axis=0)]
        sess = gf.Session(backend="native")
        a = RNG.standard_normal((4, 4))
        first = [np.array(v) for v in sess.run(out, {x: a})]
        kept = sess.run(out, {x: a})
        sess.run(out, {x: a * 3})
        for k, f in zip(kept, first):
            np.testing.assert_array_equal(k, f)


def test_the_profile_has_a_row_per_native_run():
    _, _, step = _train("native", np.float32, "sgd")
    xb, yb = _batches(np.float32)[0]
    rows = step.profile(xb, yb).rows
    runs = [r for r in rows if r.op.endswith("ops compiled")]
    assert len(runs) == 2 and all(r.seconds > 0 for r in runs)
    assert sum(r.share for r in rows) == pytest.approx(1.0)


@pytest.mark.parametrize("training", [True, False])
def test_a_fused_chain_alone_is_compiled(training):
    """A fused chain between numpy statements (dropout's gradient under a fed `training` flag, as
    in the CNN step) is a native run of its own: one pass, and no numba loop to load."""
    rng = np.random.default_rng(3)
    a, m = rng.standard_normal((64, 80)), (rng.random((64, 80)) < 0.5).astype(np.float64)
    with gf.Graph().as_default():
        flag = gf.placeholder(gf.bool, (), name="training")
        x = gf.placeholder(gf.float64, (64, 80), name="x")
        keep = gf.placeholder(gf.float64, (64, 80), name="keep")
        out = gf.reduce_sum(gf.where(flag, x * keep * 2.0, x) * x)
        prog = gf.Session(backend="native").make_callable(out, [flag, x, keep])
        assert "_k_fused" not in prog.source and prog.source.count("_native_seg") == 1
        want = np.sum(np.where(training, a * m * 2.0, a) * a)
        np.testing.assert_allclose(prog(training, a, m), want, rtol=1e-12)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_add_n_joins_a_run_and_adds_in_numpy_order(dtype):
    """add_n (a backward pass's sum of a tensor's gradients) is compiled into the run around it,
    its inputs added left to right as the reference kernel does: the same bits."""
    rng = np.random.default_rng(4)
    a, b, c = (rng.standard_normal((33, 47)).astype(dtype) for _ in range(3))

    def build():
        xs = [gf.placeholder(dtype, (33, 47), name=n) for n in "abc"]
        s = gf.add_n([xs[0] * xs[1], xs[1] * xs[1], xs[2], xs[0] * 1e-3])
        return xs, gf.sqrt(gf.abs(s)) * xs[2]  # correctly rounded ops only: the same bits
    with gf.Graph().as_default():
        xs, out = build()
        want = gf.Session(optimize=False).run(out, dict(zip(xs, (a, b, c))))
    with gf.Graph().as_default():
        xs, out = build()
        prog = gf.Session(backend="native", fuse=False).make_callable(out, xs)
        got = prog(a, b, c)
    runs = [line for line in prog.source.splitlines() if line.strip().startswith("# native:")]
    assert len(runs) == 1 and "add_n" in runs[0]
    np.testing.assert_array_equal(got, want)


def test_integer_graphs_stay_numpy_code():
    with gf.Graph().as_default():
        i = gf.placeholder(gf.int32, (3,))
        out = (i * 3 + 1) // 2
        prog = gf.Session(backend="native").make_callable(out, [i])
        np.testing.assert_array_equal(prog(np.array([1, 2, -7], np.int32)), [2, 3, -10])
        assert "_native_seg" not in prog.source


def test_a_cached_module_is_loaded_without_compiling(monkeypatch):
    with gf.Graph().as_default():
        x, y, params, loss, train = _mlp()
        xb, yb = _batches(np.float32)[0]
        gf.Session(backend="native").run([loss, train], {x: xb, y: yb})
        build._LOADED.clear()  # as a new process

        def no_compiler(*args):
            raise AssertionError("compiled again although the module is in the cache")
        monkeypatch.setattr(build, "_compile", no_compiler)
        gf.Session(backend="native").run([loss, train], {x: xb, y: yb})


_ANSWER = r"""
#define PY_SSIZE_T_CLEAN
#include <Python.h>
static PyObject *answer(PyObject *self, PyObject *unused) { return PyLong_FromLong(42); }
static PyMethodDef methods[] = {{"answer", answer, METH_NOARGS, NULL}, {NULL, NULL, 0, NULL}};
static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "@NAME@", NULL, -1, methods};
PyMODINIT_FUNC PyInit_@NAME@(void) { return PyModule_Create(&module); }
"""


def test_a_damaged_cached_module_is_compiled_again(monkeypatch, tmp_path):
    """A module another process compiled into the cache, then damaged: compiled again here (a
    file this process has loaded is never written over: new files are renamed into place)."""
    import subprocess
    import sys

    code = ("import sys; from compiler.backends.native import build; "
            "print(build.load('gf_answer', sys.stdin.read()).answer())")
    env = {**__import__("os").environ, "GRAPHFLOW_CACHE_DIR": str(tmp_path)}
    done = subprocess.run([sys.executable, "-c", code], input=_ANSWER, env=env,
                          capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "42"
    (path,) = tmp_path.glob("gf_answer_*")
    path.write_bytes(b"not a shared object")
    monkeypatch.setenv("GRAPHFLOW_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(build, "_LOADED", {})
    assert build.load("gf_answer", _ANSWER).answer() == 42
    assert path.read_bytes()[:4] == b"\x7fELF"


def test_no_c_compiler_is_a_clear_error(monkeypatch):
    monkeypatch.setattr(build, "compiler", lambda: None)
    with pytest.raises(BackendError, match="needs a C compiler"):
        gf.Session(backend="native")


def test_a_compile_error_names_the_compiler(monkeypatch):
    monkeypatch.setattr(build, "_LOADED", {})
    with pytest.raises(BackendError, match="compiling a native module failed"):
        build.load("gf_broken", "this is not C @NAME@")


def test_the_native_backend_is_cpu_only():
    with pytest.raises(ValueError, match="CPU only"):
        gf.Session(backend="native", device="cuda")


def test_size_one_axes_do_not_keep_an_update_out_of_a_run():
    """A kernel of shape (5, 5, 1, 4) (one input channel) is updated inside a native run."""
    with gf.Graph().as_default():
        g = gf.placeholder(gf.float32, (5, 5, 1, 4), name="g")
        k = gf.Variable(np.ones((5, 5, 1, 4), np.float32), name="k")
        train = k.assign_sub(gf.sqrt(gf.abs(g)) * 0.5 + 0.25)
        sess = gf.Session(backend="native")
        sess.run(k.initializer)
        prog = sess.make_callable(train.op, [g])  # the op: no copy of the new value to return
        feed = RNG.standard_normal((5, 5, 1, 4)).astype(np.float32)
        prog(feed)
        np.testing.assert_allclose(sess.run(k), 1 - (np.sqrt(np.abs(feed)) * 0.5 + 0.25),
                                   rtol=1e-6)
    native = [line for line in prog.source.splitlines() if line.startswith("    # native:")]
    assert native and "assign_sub" in native[-1]


@pytest.mark.parametrize("reduce", [gf.reduce_sum, gf.reduce_mean])
@pytest.mark.parametrize("cols", [32, 5])
def test_column_sums_are_taken_into_the_loop_making_their_array(reduce, cols):
    """A bias gradient's sum over the batch rides along the loop computing what it sums (rows
    added in numpy's order: the same float32 sums), where there are enough columns; the array
    itself is still there for its other reader."""
    with gf.Graph().as_default():
        x = gf.placeholder(gf.float32, (64, cols), name="x")
        h = gf.nn.relu(x * 1.5 - 0.25)
        # (outputs are never planned buffers: the sum and the product are intermediates here)
        outs = [reduce(h, axis=0) * 3.0, gf.matmul(h, np.ones((cols, 3), np.float32)) * 2.0]
        feed = RNG.standard_normal((64, cols)).astype(np.float32)
        prog = gf.Session(backend="native").make_callable(outs, [x])
        got = prog(feed)
        want = gf.Session(optimize=False).run(outs, {x: feed})
    np.testing.assert_allclose(got[0], want[0], rtol=1e-6)
    np.testing.assert_allclose(got[1], want[1], rtol=1e-6)
    assert ("npy_intp i = r * " in prog.source) == (cols >= 16)


@pytest.mark.parametrize("transpose_a", [False, True])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_a_few_rows_times_a_transposed_matrix_is_computed_transposed(monkeypatch, dtype,
                                                                      transpose_a):
    """x @ W.T with few rows (a dense layer's input gradient at a small batch) runs as
    (W @ x.T) into scratch, copied back transposed (gemm.SWAP_MAX_ROWS): against torch, the
    left operand given plain or transposed, and the source showing the transposed GEMM."""
    monkeypatch.setattr(segments, "MIN_STATEMENTS", 1)  # the product alone is a run too
    rng = np.random.default_rng(4)
    a = rng.standard_normal((96, 12) if transpose_a else (12, 96)).astype(dtype)
    w = rng.standard_normal((300, 96)).astype(dtype)
    with gf.Graph().as_default():
        ap = gf.placeholder(dtype, a.shape, name="a")
        wp = gf.placeholder(dtype, w.shape, name="w")
        product = gf.matmul(ap, wp, transpose_a=transpose_a, transpose_b=True)
        run = gf.Session(backend="native").make_callable([gf.tanh(product) * 2.0], [ap, wp])
        (got,) = run(a, w)
    want = torch.tanh((torch.from_numpy(a).T if transpose_a else torch.from_numpy(a))
                      @ torch.from_numpy(w).T) * 2.0
    tol = 2e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(got, want.numpy(), rtol=tol, atol=tol)
    assert "the product transposed, 300 x 12" in run.source
