"""gf.distribute: data-parallel training over torch.distributed (gloo on loopback).

Two workers are spawned once per module (tests/dist_worker.py, torchrun's environment, bounded in
time); their weights after a few steps must equal those of one process on the same global
batches. The rest runs in this process: buckets, identities without a process group, errors,
the all_reduce_mean op's gradient, and the chief-only Saver.
"""

import json
import os
import pathlib
import socket
import subprocess
import sys
import time

import dist_worker
import numpy as np
import pytest
import reference
from test_mnist import write_idx_dir

import graphflow as gf
from compiler.backends.torch.lowering import TORCH_TABLE
from graphflow import distribute
from graphflow.train import saver as saver_module

ROOT = pathlib.Path(__file__).resolve().parent.parent
WORKER = ROOT / "tests" / "dist_worker.py"
EXAMPLE = ROOT / "examples" / "train_mnist.py"
TIMEOUT = 120  # seconds for a whole spawned run; the workers are killed after it
TOLERANCE = {"float64": dict(rtol=1e-12, atol=1e-14), "float32": dict(rtol=1e-5, atol=1e-6)}


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def spawn(args, log_dir: pathlib.Path, world: int = 2):
    """Run `python *args` as `world` workers with torchrun's environment on loopback; returns
    each worker's output. Fails the test (killing them) if they take more than TIMEOUT s or one
    exits with an error."""
    for attempt in range(2):  # the free port may be taken in between: one retry on a new port
        port = free_port()
        procs, logs = [], []
        for rank in range(world):
            env = dict(os.environ, RANK=str(rank), LOCAL_RANK=str(rank), WORLD_SIZE=str(world),
                       MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), OMP_NUM_THREADS="1",
                       PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
            log = open(log_dir / f"worker{rank}.log", "w")
            logs.append(log)
            procs.append(subprocess.Popen([sys.executable, *map(str, args)], env=env, cwd=ROOT,
                                          stdout=log, stderr=subprocess.STDOUT))
        deadline = time.monotonic() + TIMEOUT
        try:
            for proc in procs:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            pass
        finally:
            for proc in procs:
                if proc.poll() is None:
                    proc.kill()
                    proc.wait()
            for log in logs:
                log.close()
        outputs = [(log_dir / f"worker{rank}.log").read_text() for rank in range(world)]
        codes = [proc.returncode for proc in procs]
        if all(code == 0 for code in codes):
            return outputs
        if attempt == 0 and any("address already in use" in out.lower() for out in outputs):
            continue
        shown = "\n".join(f"--- worker {r} (exit {c}) ---\n{out[-3000:]}"
                          for r, (c, out) in enumerate(zip(codes, outputs)))
        pytest.fail(f"the {world} workers failed or ran over {TIMEOUT} s:\n{shown}")


@pytest.fixture(scope="module")
def workers(tmp_path_factory):
    """What each of the two spawned dist_worker.py processes found, and their folder."""
    out = tmp_path_factory.mktemp("distributed")
    spawn([WORKER, out], out)
    found = []
    for rank in range(2):
        with np.load(out / f"rank{rank}.npz") as data:
            found.append({key: data[key] for key in data.files})
    return found, out


def one_process(dtype, optimizer):
    return dist_worker.train(dtype, optimizer, distributed=False)


# -- two workers against one process --------------------------------------------------------------
@pytest.mark.parametrize("dtype, optimizer", dist_worker.CONFIGS)
def test_two_workers_end_with_the_weights_of_one_process(workers, dtype, optimizer):
    found, _ = workers
    expected = one_process(dtype, optimizer)
    initial = dist_worker.build(dtype, optimizer, False)[-1]
    for rank in (0, 1):
        for name in dist_worker.NAMES:
            got = found[rank][f"{dtype}-{optimizer}/{name}"]
            assert got.dtype == np.dtype(dtype)
            np.testing.assert_allclose(got, expected[name], **TOLERANCE[dtype],
                                       err_msg=f"rank {rank}, {name}")
    for var in initial:  # and training moved them
        assert not np.allclose(expected[var.op.name], var.initial_value)


def test_one_all_reduce_per_step_with_default_buckets(workers):
    found, _ = workers
    for rank in (0, 1):
        for dtype, optimizer in dist_worker.CONFIGS:
            assert found[rank][f"{dtype}-{optimizer}/all_reduce_calls"] == dist_worker.STEPS
        # Buckets of 64 bytes hold one gradient each: 4 all-reduces a step, the same weights.
        assert found[rank]["small-buckets/all_reduce_calls"] == 4 * dist_worker.STEPS
        expected = one_process("float64", "sgd")
        for name in dist_worker.NAMES:
            np.testing.assert_allclose(found[rank][f"small-buckets/{name}"], expected[name],
                                       **TOLERANCE["float64"])


def test_torch_backend_workers_match_one_numpy_process(workers):
    found, _ = workers
    if "torch-skipped" in found[0]:
        pytest.skip(f"the torch backend cannot run the MLP here: {found[0]['torch-skipped']}")
    if "torch-float64-sgd/W1" not in found[0]:
        pytest.skip("gf.Session has no backend= here")
    expected = one_process("float64", "sgd")
    for rank in (0, 1):
        for name in dist_worker.NAMES:
            np.testing.assert_allclose(found[rank][f"torch-float64-sgd/{name}"], expected[name],
                                       **TOLERANCE["float64"])


def test_ranks_and_averages(workers):
    found, _ = workers
    for rank in (0, 1):
        assert found[rank]["rank"] == rank and found[rank]["world_size"] == 2
        assert found[rank]["is_chief"] == (rank == 0)
        np.testing.assert_array_equal(found[rank]["mean"], [1.5, 1.5])  # (1 + 2) / 2
        assert found[rank]["average"] == 1.5


def test_broadcast_gives_every_worker_the_roots_values(workers):
    found, _ = workers
    assert not np.array_equal(found[0]["before/a"], found[1]["before/a"])
    for rank in (0, 1):
        np.testing.assert_array_equal(found[rank]["after/a"], np.zeros((2, 3), np.float32))
        np.testing.assert_array_equal(found[rank]["after/b"], np.zeros(4, np.int64))
        np.testing.assert_array_equal(found[rank]["after/c"], [True, True])
        np.testing.assert_array_equal(found[rank]["root1/a"], np.full((2, 3), 11.0))


def test_only_the_chief_writes_checkpoints(workers):
    found, out = workers
    assert (out / "ckpt_rank0.npz").exists()
    assert not (out / "ckpt_rank1.npz").exists()
    assert str(found[1]["saved_path"]) == str(out / "ckpt_rank1.npz")


def test_train_mnist_distributed_matches_one_process(tmp_path, capsys):
    """examples/train_mnist.py --distributed on 2 workers: one voice, one set of files, and the
    checkpoint of the one-process run on the same global batches."""
    data = tmp_path / "idx"
    data.mkdir()
    write_idx_dir(data, n_train=120, n_test=30)
    common = ["--data-dir", data, "--hidden", "16", "--epochs", "2", "--batch-size", "32",
              "--optimizer", "sgd", "--lr", "0.1"]
    outputs = spawn([EXAMPLE, *common, "--out", tmp_path / "two", "--distributed"], tmp_path)
    assert outputs[0].count("test accuracy") == 1 and "2 workers" in outputs[0]
    assert outputs[1].strip() == ""
    history = json.loads((tmp_path / "two" / "metrics.json").read_text())
    assert [h["epoch"] for h in history] == [1, 2]

    import train_mnist
    with gf.Graph().as_default():
        assert train_mnist.main([*map(str, common), "--out", str(tmp_path / "one"),
                                 "--quiet"]) == 0
    capsys.readouterr()
    with np.load(tmp_path / "two" / "model.npz") as two, \
            np.load(tmp_path / "one" / "model.npz") as one:
        assert sorted(two.files) == sorted(one.files)
        for key in one.files:
            np.testing.assert_allclose(two[key], one[key], rtol=1e-5, atol=1e-6, err_msg=key)
    one_history = json.loads((tmp_path / "one" / "metrics.json").read_text())
    for a, b in zip(history, one_history):
        assert a["train_loss"] == pytest.approx(b["train_loss"], rel=1e-5)
        assert a["val_accuracy"] == b["val_accuracy"]


# -- buckets --------------------------------------------------------------------------------------
def count_all_reduces(graph) -> int:
    return sum(node.type == "all_reduce_mean" for node in graph.nodes)


@pytest.mark.parametrize("bucket_bytes, expected", [(None, 1), (1, 4), (256, 2)])
def test_gradients_travel_in_buckets(fresh_graph, bucket_bytes, expected):
    # float64 gradients: W1 240 bytes, b1 40, W2 120, b2 24; 256 bytes: [W1], [b1, W2, b2].
    dist_worker.build("float64", "sgd", True, bucket_bytes)
    assert count_all_reduces(fresh_graph) == expected


def test_buckets_keep_dtypes_apart_and_nones(fresh_graph):
    a = gf.Variable(np.zeros((2, 3), np.float32), name="a")
    b = gf.Variable(np.zeros(3), name="b")
    c = gf.Variable(np.zeros(4, np.float32), name="c")
    grads = [np.arange(6, dtype=np.float32).reshape(2, 3), np.arange(3.0),
             np.arange(4, dtype=np.float32)]
    ga, gb, gc = [gf.constant(g) for g in grads]
    pairs = distribute.average_gradients([(ga, a), (None, b), (gb, b), (gc, c)])
    assert pairs[1] == (None, b)
    assert [v for _, v in pairs] == [a, b, b, c]
    assert count_all_reduces(fresh_graph) == 2  # float32 [a, c] and float64 [b]
    values = gf.Session().run([g for g, _ in pairs if g is not None])
    for got, want in zip(values, grads):
        np.testing.assert_array_equal(got, want)
        assert got.dtype == want.dtype


def test_distributed_optimizer_in_one_process_trains_as_the_wrapped_one(fresh_graph):
    for optimizer in ("sgd", "adam"):
        plain = dist_worker.train("float64", optimizer, distributed=False)
        wrapped = dist_worker.train("float64", optimizer, distributed=True)
        for name in dist_worker.NAMES:
            np.testing.assert_allclose(wrapped[name], plain[name], rtol=1e-15, atol=0)


def test_distributed_optimizer_keeps_the_wrapped_ones_slots_and_names(fresh_graph):
    x = gf.placeholder(gf.float32, (None, 2), name="x")
    w = gf.Variable(np.ones((2, 1), np.float32), name="w")
    adam = gf.train.AdamOptimizer(0.1)
    opt = distribute.DistributedOptimizer(adam, bucket_bytes=1024)
    step = opt.minimize(gf.reduce_mean(gf.square(x @ w)))
    assert opt.get_name() == "DistributedAdam" and opt.optimizer is adam
    assert opt.bucket_bytes == 1024
    assert opt.get_slot_names() == adam.get_slot_names()
    assert opt.get_slot(w, "m").op.name == "w/Adam"
    assert step.node.name == "Adam"
    sess = gf.Session()
    sess.run(step, {x: np.ones((3, 2), np.float32)})
    assert sess.run(w)[0, 0] < 1


# -- without a process group ----------------------------------------------------------------------
def test_not_distributed_everything_is_the_identity(fresh_graph):
    assert not distribute.is_initialized()
    assert distribute.rank() == 0 and distribute.local_rank() == 0
    assert distribute.world_size() == 1 and distribute.is_chief()
    x, y = np.arange(12.0).reshape(6, 2), np.arange(6)
    xs, ys = distribute.shard((x, y))
    np.testing.assert_array_equal(xs, x)
    np.testing.assert_array_equal(ys, y)
    assert distribute.average(3) == 3.0 and isinstance(distribute.average(3), float)
    np.testing.assert_array_equal(distribute.average(np.ones(2, np.float32)), np.ones(2))
    v = gf.Variable(np.full(3, 7.0), name="v")
    sess = gf.Session()
    distribute.broadcast_variables(sess)
    np.testing.assert_array_equal(sess.run(v), np.full(3, 7.0))
    distribute.barrier()
    distribute.shutdown()
    t = gf.placeholder(gf.float32, (None, 2), name="t")
    np.testing.assert_array_equal(gf.Session().run(distribute.all_reduce_mean(t) * 2, {t: x}),
                                  2 * x)


def test_shard_gives_contiguous_equal_parts():
    x = np.arange(12).reshape(6, 2)
    assert distribute.shard(x, rank=0, world_size=3).tolist() == [[0, 1], [2, 3]]
    assert distribute.shard(x, rank=2, world_size=3).tolist() == [[8, 9], [10, 11]]
    parts = distribute.shard([x, x[:, 0]], rank=1, world_size=2)
    assert isinstance(parts, list) and parts[1].tolist() == [6, 8, 10]


def test_shard_errors():
    with pytest.raises(ValueError, match="7 examples does not split evenly over 2 workers.*"
                                         "multiple of 2"):
        distribute.shard(np.zeros((7, 3)), rank=0, world_size=2)
    with pytest.raises(ValueError, match="rank 2 is not in 0..1"):
        distribute.shard(np.zeros((4, 3)), rank=2, world_size=2)
    with pytest.raises(ValueError, match="different numbers of examples"):
        distribute.shard((np.zeros((4, 3)), np.zeros(6)), rank=0, world_size=2)
    with pytest.raises(ValueError, match="scalar"):
        distribute.shard(np.float32(1.0), rank=0, world_size=1)


def test_init_without_torchrun_says_how_to_start(monkeypatch):
    for key in ("RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT"):
        monkeypatch.delenv(key, raising=False)
    with pytest.raises(distribute.DistributedError,
                       match="RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT are not set.*torchrun "
                             "--nproc_per_node=N"):
        distribute.init()
    monkeypatch.setenv("RANK", "2")
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("MASTER_ADDR", "127.0.0.1")
    monkeypatch.setenv("MASTER_PORT", "29500")
    with pytest.raises(distribute.DistributedError, match="RANK=2 is not in 0..WORLD_SIZE-1"):
        distribute.init()
    monkeypatch.setenv("RANK", "zero")
    with pytest.raises(distribute.DistributedError, match="RANK='zero' is not an integer"):
        distribute.init()
    with pytest.raises(ValueError, match="backend 'mpi' is not one of"):
        distribute.init(backend="mpi")
    assert not distribute.is_initialized()


def test_wrong_arguments_are_named(fresh_graph):
    with pytest.raises(TypeError, match="wraps a gf.train optimizer"):
        distribute.DistributedOptimizer("adam")
    sgd = gf.train.GradientDescentOptimizer(0.1)
    with pytest.raises(TypeError, match="already distributed"):
        distribute.DistributedOptimizer(distribute.DistributedOptimizer(sgd))
    with pytest.raises(ValueError, match="bucket_bytes must be a positive integer"):
        distribute.DistributedOptimizer(sgd, bucket_bytes=0)
    w = gf.Variable(np.zeros(3), name="w")
    with pytest.raises(TypeError, match="gradient .* of variable 'w' is int32"):
        distribute.average_gradients([(gf.constant([1, 2, 3]), w)])
    with pytest.raises(ValueError, match=r"has shape \(2,\) but variable 'w' has shape \(3,\)"):
        distribute.average_gradients([(gf.constant(np.zeros(2)), w)])
    with pytest.raises(TypeError, match="is not a gf.Variable"):
        distribute.average_gradients([(gf.constant(np.zeros(3)), "w")])
    with pytest.raises(ValueError, match="root must be a rank in 0..0"):
        distribute.broadcast_variables(gf.Session(), root=1)
    with pytest.raises(TypeError, match="needs a float tensor"):
        distribute.all_reduce_mean(gf.constant([1, 2]))


def test_process_group_of_one_in_this_process(fresh_graph):
    """A real gloo group of one worker: the all-reduce and broadcast paths run (as identities)."""
    env = {"RANK": "0", "WORLD_SIZE": "1", "MASTER_ADDR": "127.0.0.1",
           "MASTER_PORT": str(free_port())}
    old = {key: os.environ.get(key) for key in env}
    os.environ.update(env)
    try:
        distribute.init(timeout=30)
        distribute.init()  # a second call does nothing
        assert distribute.is_initialized() and distribute.world_size() == 1
        with pytest.raises(distribute.DistributedError, match="already initialised"):
            distribute.init(backend="nccl")
        import torch
        t = torch.arange(3.0)
        out = TORCH_TABLE.rules["all_reduce_mean"](t)  # the torch backend's rule
        assert out is not t and torch.equal(out, t)
        assert distribute.average(np.array([1.0, 2.0])).tolist() == [1.0, 2.0]
        # Broadcast, shard and the all-reduce kernel through torch, in a world of one.
        trained = dist_worker.train("float64", "adam", distributed=True)
        expected = one_process("float64", "adam")
        for name in dist_worker.NAMES:
            np.testing.assert_array_equal(trained[name], expected[name])
    finally:
        distribute.shutdown()
        for key, value in old.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    assert not distribute.is_initialized()


# -- the op ---------------------------------------------------------------------------------------
def test_all_reduce_mean_gradient_is_the_identitys():
    def through(x):
        return gf.sin(distribute.all_reduce_mean(x)) * distribute.all_reduce_mean(x * x)

    reference.check_finite_differences(through, [np.linspace(-1.0, 1.0, 6).reshape(2, 3)])
    x = gf.placeholder(gf.float64, (2, 3), name="x")
    value = np.linspace(-1.0, 1.0, 6).reshape(2, 3)
    (g,) = gf.gradients(through(x), [x])
    (h,) = gf.gradients(gf.sin(x) * (x * x), [x])
    sess = gf.Session()
    np.testing.assert_allclose(sess.run(g, {x: value}), sess.run(h, {x: value}), rtol=1e-15)
    (second,) = gf.gradients(gf.reduce_sum(g), [x])  # differentiable again
    assert second is not None


def test_all_reduce_mean_is_never_folded_or_merged():
    c = gf.constant(np.ones(3))
    a, b = distribute.all_reduce_mean(c), distribute.all_reduce_mean(c)
    step = gf.Session().make_callable(a + b)
    np.testing.assert_array_equal(step(), 2 * np.ones(3))
    assert step.ops.count("all_reduce_mean") == 2


# -- the Saver ------------------------------------------------------------------------------------
def test_saver_writes_nothing_on_other_workers(tmp_path, monkeypatch):
    w = gf.Variable(np.ones(3), name="w")
    sess = gf.Session()
    saver = gf.train.Saver([w])
    monkeypatch.setattr(saver_module, "worker_rank", lambda: 1)
    assert saver.save(sess, tmp_path / "model") == str(tmp_path / "model.npz")
    assert saver.save(sess, tmp_path / "model", global_step=3) == str(tmp_path / "model-3.npz")
    assert os.listdir(tmp_path) == [] and saver.last_checkpoints == []
    monkeypatch.setattr(saver_module, "worker_rank", lambda: 0)
    assert saver.save(sess, tmp_path / "model") == str(tmp_path / "model.npz")
    assert sorted(os.listdir(tmp_path)) == ["checkpoint", "model.npz"]  # TF1's state file too
