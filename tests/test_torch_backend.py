"""The torch backend (gf.Session(backend="torch")) against the numpy backend and PyTorch: the MLP
training step, feeds and results, checkpoints across backends, errors, and whole-step capture.

Every op's rule is also checked against PyTorch by tests/reference.py (each op test runs the
interpreter, the numpy backend and the torch backend) and by the random-graph differential tests.
CUDA tests run only where torch sees a GPU; elsewhere they skip, saying so.
"""

import subprocess
import sys
import warnings

import numpy as np
import pytest
import torch

import graphflow as gf
from compiler.backends.torch import capture as capture_module
from compiler.errors import BackendError
from compiler.opdef import OpDef
from compiler.ops.core import apply

CUDA = pytest.mark.skipif(not torch.cuda.is_available(),
                          reason="CUDA is not available on this machine (torch sees no GPU)")


def mlp(dtype, optimizer, hidden=16, seed=0):
    """The product's MLP sigma(W2 relu(X W1 + b1) + b2) with its hand-written BCE and a train op,
    in a fresh graph. Returns (graph, x, y, loss, grads, train_op, params)."""
    rng = np.random.default_rng(seed)
    graph = gf.Graph()
    with graph.as_default():
        x = gf.placeholder(dtype, (None, 12), name="x")
        y = gf.placeholder(dtype, (None, 3), name="y")
        params = [gf.Variable(rng.standard_normal((12, hidden)).astype(dtype) * 0.3, name="W1"),
                  gf.Variable(np.zeros(hidden, dtype), name="b1"),
                  gf.Variable(rng.standard_normal((hidden, 3)).astype(dtype) * 0.3, name="W2"),
                  gf.Variable(np.zeros(3, dtype), name="b2")]
        W1, b1, W2, b2 = params
        out = gf.sigmoid(gf.relu(x @ W1 + b1) @ W2 + b2)
        loss = gf.reduce_mean(-(y * gf.log(out) + (1 - y) * gf.log(1 - out)), name="loss")
        grads = gf.gradients(loss, params)
        train_op = optimizer().minimize(loss, var_list=params)
    return graph, x, y, loss, grads, train_op, params


def batches(dtype, steps, seed=1, batch=8):
    rng = np.random.default_rng(seed)
    return [(rng.standard_normal((batch, 12)).astype(dtype),
             (rng.random((batch, 3)) > 0.5).astype(dtype)) for _ in range(steps)]


def train(backend, dtype, optimizer, steps=6):
    graph, x, y, loss, grads, train_op, params = mlp(dtype, optimizer)
    sess = gf.Session(graph, backend=backend, device="cpu" if backend == "torch" else None)
    step = sess.make_callable([loss, grads, train_op], [x, y])
    history = [step(xb, yb)[:2] for xb, yb in batches(dtype, steps)]
    return history, sess.run(params), step


OPTIMIZERS = {"sgd": lambda: gf.train.GradientDescentOptimizer(0.5),
              "momentum": lambda: gf.train.MomentumOptimizer(0.1, 0.9, use_nesterov=True),
              "adam": lambda: gf.train.AdamOptimizer(0.01)}


@pytest.mark.parametrize("optimizer", sorted(OPTIMIZERS))
@pytest.mark.parametrize("dtype,rtol", [(np.float64, 1e-12), (np.float32, 2e-5)])
def test_training_steps_match_the_numpy_backend(optimizer, dtype, rtol):
    """Loss, every gradient and the updated weights, step after step."""
    want_history, want_params, _ = train("numpy", dtype, OPTIMIZERS[optimizer])
    got_history, got_params, step = train("torch", dtype, OPTIMIZERS[optimizer])
    for k, ((want_loss, want_grads), (got_loss, got_grads)) in enumerate(
            zip(want_history, got_history)):
        assert isinstance(got_loss, np.floating) and got_loss.dtype == dtype
        np.testing.assert_allclose(got_loss, want_loss, rtol=rtol, err_msg=f"loss, step {k}")
        for g, w in zip(got_grads, want_grads):
            assert isinstance(g, np.ndarray) and g.dtype == dtype
            np.testing.assert_allclose(g, w, rtol=rtol, atol=rtol * 1e-3,
                                       err_msg=f"gradient, step {k}")
    for g, w in zip(got_params, want_params):
        np.testing.assert_allclose(g, w, rtol=rtol, atol=rtol * 1e-3, err_msg="weights")
    assert "torch.matmul(" in step.source and ".sub_(" in step.source


def test_training_step_matches_pytorch_autograd():
    """One SGD step of the MLP on the torch backend against the same step in PyTorch."""
    graph, x, y, loss, grads, train_op, params = mlp(np.float64, OPTIMIZERS["sgd"])
    sess = gf.Session(graph, backend="torch", device="cpu")
    start = sess.run(params)
    (xb, yb), = batches(np.float64, 1)
    loss_value, _ = sess.run([loss, train_op], {x: xb, y: yb})
    W1, b1, W2, b2 = [torch.tensor(p, requires_grad=True) for p in start]
    out = torch.sigmoid(torch.relu(torch.tensor(xb) @ W1 + b1) @ W2 + b2)
    t = torch.tensor(yb)
    tloss = torch.mean(-(t * torch.log(out) + (1 - t) * torch.log(1 - out)))
    tgrads = torch.autograd.grad(tloss, [W1, b1, W2, b2])
    np.testing.assert_allclose(loss_value, tloss.item(), rtol=1e-12)
    for got, p, g in zip(sess.run(params), start, tgrads):
        np.testing.assert_allclose(got, p - 0.5 * g.numpy(), rtol=1e-12, atol=1e-15)


def test_variables_live_on_the_device_and_keep_their_storage():
    graph, x, y, loss, grads, train_op, params = mlp(np.float32, OPTIMIZERS["adam"])
    sess = gf.Session(graph, backend="torch", device="cpu")
    step = sess.make_callable([loss, train_op], [x, y])
    xb, yb = batches(np.float32, 1)[0]
    step(xb, yb)
    tensors = {v.name: sess._store.values[v.key] for v in params}
    pointers = {k: t.data_ptr() for k, t in tensors.items()}
    before = {k: t.clone() for k, t in tensors.items()}
    step(xb, yb)
    for v in params:
        now = sess._store.values[v.key]
        assert isinstance(now, torch.Tensor) and now.device.type == "cpu"
        assert now.data_ptr() == pointers[v.name], f"{v.name} moved: updates must be in place"
        assert not torch.equal(now, before[v.name]), f"{v.name} was not updated"


def test_feeds_may_be_torch_tensors_and_results_may_stay_tensors():
    graph, x, y, loss, grads, train_op, params = mlp(np.float64, OPTIMIZERS["sgd"])
    xb, yb = batches(np.float64, 1)[0]
    with graph.as_default():
        numpy_sess = gf.Session(graph)
        want = numpy_sess.run(loss, {x: xb, y: yb})
    sess = gf.Session(graph, backend="torch", device="cpu")
    tensor_feed = torch.from_numpy(xb)
    assert sess.backend.feed(x, tensor_feed) is tensor_feed  # used as it is: no copy
    got = sess.run(loss, {x: tensor_feed, y: yb})
    assert isinstance(got, np.float64)
    np.testing.assert_allclose(got, want, rtol=1e-14)
    as_tensor = sess.make_callable(loss, [x, y], return_tensors=True)(xb, torch.from_numpy(yb))
    assert isinstance(as_tensor, torch.Tensor) and as_tensor.shape == ()
    np.testing.assert_allclose(as_tensor.item(), want, rtol=1e-14)
    in_tensors = gf.Session(graph, backend="torch", device="cpu", return_tensors=True)
    assert isinstance(in_tensors.run(grads[0], {x: xb, y: yb}), torch.Tensor)
    # A float32 tensor fed to a float64 placeholder is cast up; an int one cannot carry floats.
    got32 = sess.run(loss, {x: tensor_feed.float(), y: yb})
    np.testing.assert_allclose(got32, want, rtol=1e-6)
    with pytest.raises(gf.errors.FeedError, match="placeholder 'y'"):
        sess.run(loss, {x: xb, y: torch.zeros(8, 3, dtype=torch.complex64)})
    with pytest.raises(gf.errors.FeedError, match=r"shape \(8, 4\).*'x'"):
        sess.run(loss, {x: torch.zeros(8, 4, dtype=torch.float64), y: yb})


def test_returned_arrays_are_the_callers_own():
    graph, x, y, loss, grads, train_op, params = mlp(np.float64, OPTIMIZERS["sgd"])
    sess = gf.Session(graph, backend="torch", device="cpu")
    xb, yb = batches(np.float64, 1)[0]
    W1 = sess.run(params[0])
    W1[...] = 123.0  # must not reach the session's variable
    assert not np.any(sess.run(params[0]) == 123.0)
    fed = sess.run(x, {x: xb})
    fed[...] = 0.0
    assert np.any(xb != 0.0)


@pytest.mark.parametrize("save_on,restore_on", [("torch", "numpy"), ("numpy", "torch")])
def test_checkpoints_move_between_backends(tmp_path, save_on, restore_on):
    graph, x, y, loss, grads, train_op, params = mlp(np.float32, OPTIMIZERS["adam"])
    xb, yb = batches(np.float32, 1)[0]
    with graph.as_default():
        saver = gf.train.Saver()  # every variable, Adam's slots and counters included
    first = gf.Session(graph, backend=save_on, device="cpu" if save_on == "torch" else None)
    for _ in range(3):
        first.run(train_op, {x: xb, y: yb})
    path = saver.save(first, str(tmp_path / "model.npz"))
    second = gf.Session(graph, backend=restore_on,
                        device="cpu" if restore_on == "torch" else None)
    saver.restore(second, path)
    for a, b in zip(first.run(params), second.run(params)):
        np.testing.assert_array_equal(a, b)
    # Both continue training identically (the optimizer's state came along).
    first.run(train_op, {x: xb, y: yb})
    second.run(train_op, {x: xb, y: yb})
    for a, b in zip(first.run(params), second.run(params)):
        np.testing.assert_allclose(a, b, rtol=2e-6, atol=1e-7)
    with np.load(path) as archive:  # the same .npz whatever the backend: plain arrays
        assert set(archive.files) >= {"W1", "b1", "W2", "b2"}


def test_random_ops_draw_the_same_numbers_on_both_backends():
    def run(backend):
        graph = gf.Graph()
        with graph.as_default():
            gf.set_random_seed(7)
            x = gf.placeholder(gf.float32, (4, 5))
            dropped = gf.nn.dropout(x, rate=0.5)
            noise = gf.random_normal((3,))
            sess = gf.Session(graph, backend=backend, device="cpu" if backend == "torch" else None)
            return [sess.run([dropped, noise], {x: np.ones((4, 5), np.float32)})
                    for _ in range(3)]
    for (d1, n1), (d2, n2) in zip(run("numpy"), run("torch")):
        np.testing.assert_array_equal(d1, d2)
        np.testing.assert_array_equal(n1, n2)


def test_a_swap_runs_in_the_interpreter_and_writes_back_to_the_device():
    graph = gf.Graph()
    with graph.as_default():
        a = gf.Variable(np.array([1.0, 2.0]), name="a")
        b = gf.Variable(np.array([3.0, 4.0]), name="b")
        swap = gf.group(a.assign(b), b.assign(a))
    sess = gf.Session(graph, backend="torch", device="cpu")
    with pytest.warns(UserWarning, match="reference interpreter"):
        sess.run(swap)
    np.testing.assert_array_equal(sess.run(a), [3.0, 4.0])
    np.testing.assert_array_equal(sess.run(b), [1.0, 2.0])
    assert isinstance(sess._store.values["a"], torch.Tensor)


def test_check_numerics_names_the_node_on_the_torch_backend():
    graph = gf.Graph()
    with graph.as_default():
        x = gf.placeholder(gf.float64, (2,), name="x")
        y = gf.log(x, name="log_of_x")
    sess = gf.Session(graph, backend="torch", device="cpu", check_numerics=True)
    with pytest.raises(gf.errors.NumericsError, match="log_of_x"):
        sess.run(y, {x: np.array([1.0, -1.0])})
    np.testing.assert_allclose(sess.run(y, {x: np.array([1.0, np.e])}), [0.0, 1.0])


def test_a_failed_run_changes_no_variable():
    """An update, then a gather whose index is out of range: the update is undone."""
    graph = gf.Graph()
    with graph.as_default():
        v = gf.Variable(np.array([1.0, 2.0, 3.0]), name="v")
        i = gf.placeholder(gf.int64, (1,), name="i")
        with gf.control_dependencies([v.assign_add(np.array([1.0, 1.0, 1.0])).op]):
            picked = gf.gather(v, i)  # reads v after the update
    sess = gf.Session(graph, backend="torch", device="cpu")
    np.testing.assert_array_equal(sess.run(picked, {i: np.array([0])}), [2.0])
    with pytest.raises(gf.errors.OpError, match="gather"):
        sess.run(picked, {i: np.array([7])})
    np.testing.assert_array_equal(sess.run(v), [2.0, 3.0, 4.0])


def test_host_kernels_with_attributes_run_unoptimized():
    """reduction_size runs its numpy kernel on the host (passes=[] keeps it from being folded):
    the kernel gets its `axis` attribute, the wrapper only the inputs."""
    x = gf.placeholder(gf.float64, (3, None), name="x")  # the count is known at run time only
    mean = gf.reduce_mean(x, axis=1)
    (g,) = gf.gradients(mean, [x])  # divides by reduction_size(x, axis=(1,))
    step = gf.Session(backend="torch", device="cpu", passes=[]).make_callable(g, [x])
    np.testing.assert_array_equal(step(np.ones((3, 4))), np.full((3, 4), 0.25))
    assert "reduction_size" in step.ops


def test_an_op_without_a_torch_rule_is_named_when_compiling():
    lonely = OpDef("numpy_only_for_this_test", infer=lambda inputs: (inputs[0].shape,
                                                                      inputs[0].dtype),
                   kernel=lambda x: x * 2)
    graph = gf.Graph()
    with graph.as_default():
        x = gf.placeholder(gf.float32, (2,), name="x")
        y = apply(lonely, [x], "doubled")
    np.testing.assert_array_equal(gf.Session(graph).run(y, {x: np.ones(2, np.float32)}), [2, 2])
    sess = gf.Session(graph, backend="torch", device="cpu")
    with pytest.raises(BackendError, match=r"no rule for op 'numpy_only_for_this_test'.*"
                                           r"'doubled' \(test_torch_backend.py:\d+\)"):
        sess.make_callable(y, [x])(np.ones(2, np.float32))


def test_backend_and_device_errors(monkeypatch):
    with pytest.raises(ValueError, match="unknown backend 'jax'"):
        gf.Session(backend="jax")
    with pytest.raises(ValueError, match="numpy backend runs on the CPU"):
        gf.Session(device="cuda")
    with pytest.raises(ValueError, match="not a torch device"):
        gf.Session(backend="torch", device="tpu:0:x")
    with pytest.raises(ValueError, match="optimize=False"):
        gf.Session(backend="torch", device="cpu", optimize=False)
    with pytest.raises(ValueError, match="return_tensors=True needs backend='torch'"):
        gf.Session(return_tensors=True)
    if not torch.cuda.is_available():
        with pytest.raises(BackendError, match="CUDA is not available"):
            gf.Session(backend="torch", device="cuda")
    monkeypatch.setitem(sys.modules, "torch", None)  # as if torch were not installed
    with pytest.raises(BackendError, match=r"pip install 'graphflow\[torch\]'"):
        gf.Session(backend="torch")


def test_importing_graphflow_does_not_import_torch():
    """torch is an optional extra: the numpy backend, training and the tests' own imports aside,
    nothing loads it until backend="torch" is asked for."""
    code = ("import sys, numpy as np, graphflow as gf\n"
            "x = gf.placeholder(gf.float32, (2,))\n"
            "gf.Session().run(gf.exp(x), {x: np.zeros(2, np.float32)})\n"
            "print('torch' in sys.modules)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=60, check=True)
    assert out.stdout.strip() == "False", out.stdout + out.stderr


def test_capture_needs_the_torch_backend_on_cuda():
    graph, x, y, loss, grads, train_op, params = mlp(np.float32, OPTIMIZERS["sgd"])
    with pytest.raises(ValueError, match="numpy backend"):
        gf.Session(graph).make_callable([loss, train_op], [x, y], capture=True)
    with pytest.raises(ValueError, match="needs a CUDA device, and this session runs on cpu"):
        gf.Session(graph, backend="torch", device="cpu").make_callable(
            [loss, train_op], [x, y], capture=True)


class FakeGraphs:
    """Stands in for CUDA graphs on the CPU, to test the capture logic (warm-up, one recording
    per feed signature, static inputs, reasons to stay uncaptured). Recording runs nothing, as
    on CUDA; replay runs the recorded function on the static inputs."""

    def __init__(self):
        self.recorded = 0
        self.replays = 0

    def record(self, function, static_inputs, variables, torch_module):
        self.recorded += 1
        outs = []

        def replay():
            self.replays += 1
            outs[:] = [function(*static_inputs, *variables)]
        return capture_module._Captured(replay, static_inputs, lambda: outs[0])


def captured_program(monkeypatch, sess, fetches, feeds, fakes):
    monkeypatch.setattr(capture_module, "require_cuda", lambda backend: None)
    program = sess.make_callable(fetches, feeds, capture=True)
    program._record = fakes.record
    program._on_side_stream = lambda run: run()
    return program


def test_capture_logic_warms_up_records_once_and_replays(monkeypatch):
    graph, x, y, loss, grads, train_op, params = mlp(np.float64, OPTIMIZERS["adam"])
    data = batches(np.float64, 7)
    plain = gf.Session(graph, backend="torch", device="cpu")
    want = [plain.run([loss, train_op], {x: xb, y: yb})[0] for xb, yb in data]
    sess = gf.Session(graph, backend="torch", device="cpu")
    fakes = FakeGraphs()
    step = captured_program(monkeypatch, sess, [loss, train_op], [x, y], fakes)
    got = []
    for k, (xb, yb) in enumerate(data):
        xb = xb.copy()
        xb.flags.writeable = k % 3 != 0  # read-only feeds are copied in too
        got.append(step(xb, torch.from_numpy(yb) if k % 2 else yb)[0])
        assert fakes.recorded == (k >= capture_module.WARMUP)
    assert fakes.replays == len(data) - capture_module.WARMUP
    np.testing.assert_allclose(got, want, rtol=1e-13)
    for a, b in zip(sess.run(params), plain.run(params)):
        np.testing.assert_allclose(a, b, rtol=1e-13)
    assert step.capture_status == {((8, 12), (8, 3)): "captured"}
    with pytest.raises(gf.errors.FeedError, match="placeholder 'y'"):  # checked when replaying
        step(data[0][0], torch.zeros((8, 3), dtype=torch.complex64))
    # Another batch size is another signature: warmed up and recorded on its own.
    for _ in range(capture_module.WARMUP + 1):
        step(data[0][0][:4], data[0][1][:4])
    assert fakes.recorded == 2


def test_capture_says_why_a_step_stays_uncaptured(monkeypatch):
    graph = gf.Graph()
    with graph.as_default():
        x = gf.placeholder(gf.float32, (4, 3), name="x")
        w = gf.Variable(np.ones((3, 2), np.float32), name="w")
        out = gf.nn.dropout(x @ w, rate=0.5)
        train_op = w.assign_sub(0.1 * gf.gradients(gf.reduce_sum(out), [w])[0])
    sess = gf.Session(graph, backend="torch", device="cpu")
    fakes = FakeGraphs()
    step = captured_program(monkeypatch, sess, [out, train_op], [x], fakes)
    with pytest.warns(UserWarning, match=r"runs uncaptured: .*random_uniform.* runs on the host"):
        step(np.ones((4, 3), np.float32))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # said once, not at every step
        for _ in range(5):
            step(np.ones((4, 3), np.float32))
    assert fakes.recorded == 0
    assert "runs on the host" in step.capture_status[((4, 3),)]


@CUDA
def test_cuda_training_matches_the_numpy_backend():
    want_history, want_params, _ = train("numpy", np.float64, OPTIMIZERS["adam"])
    graph, x, y, loss, grads, train_op, params = mlp(np.float64, OPTIMIZERS["adam"])
    sess = gf.Session(graph, backend="torch", device="cuda")
    step = sess.make_callable([loss, grads, train_op], [x, y])
    for (xb, yb), (want_loss, _) in zip(batches(np.float64, 6), want_history):
        np.testing.assert_allclose(step(xb, yb)[0], want_loss, rtol=1e-10)
    for a, b in zip(sess.run(params), want_params):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


@CUDA
def test_cuda_capture_matches_uncaptured_steps():
    data = batches(np.float32, 8)
    results = {}
    for capture in (False, True):
        graph, x, y, loss, grads, train_op, params = mlp(np.float32, OPTIMIZERS["adam"])
        sess = gf.Session(graph, backend="torch", device="cuda")
        step = sess.make_callable([loss, train_op], [x, y], capture=capture)
        losses = [step(xb, yb)[0] for xb, yb in data]
        results[capture] = (losses, sess.run(params))
        if capture:
            assert step.capture_status == {((8, 12), (8, 3)): "captured"}
    np.testing.assert_allclose(results[True][0], results[False][0], rtol=1e-5)
    for a, b in zip(results[True][1], results[False][1]):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
