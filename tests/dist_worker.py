"""One worker of the data-parallel test (tests/test_distribute.py starts two, with torchrun's
environment: RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT).

    python tests/dist_worker.py OUT_DIR

Each worker trains a small MLP for STEPS steps in every configuration of CONFIGS on its shard of
the same global batches, checks broadcasting, all-reduce values and the chief-only Saver, and
writes what it found to OUT_DIR/rank<r>.npz. The test trains the same configurations in one
process (train(..., distributed=False)) and compares.
"""

from __future__ import annotations

import os
import sys

import numpy as np

import graphflow as gf

D, H, K, BATCH, STEPS = 6, 5, 3, 8, 5
CONFIGS = [("float64", "sgd"), ("float64", "adam"), ("float32", "sgd"), ("float32", "adam")]
NAMES = ["W1", "b1", "W2", "b2"]


def global_batches(dtype, steps: int = STEPS):
    """The same global batches on every worker and in the one-process run."""
    rng = np.random.default_rng(42)
    for _ in range(steps):
        x = rng.standard_normal((BATCH, D)).astype(dtype)
        y = np.eye(K, dtype=dtype)[rng.integers(0, K, BATCH)]
        yield x, y


def build(dtype: str, optimizer: str, distributed: bool, bucket_bytes=None):
    """The MLP softmax(relu(x W1 + b1) W2 + b2) with cross-entropy, and its training step; with
    distributed=True the optimizer is wrapped in gf.distribute.DistributedOptimizer."""
    rng = np.random.default_rng(0)
    x = gf.placeholder(dtype, (None, D), name="x")
    y = gf.placeholder(dtype, (None, K), name="y")
    W1 = gf.Variable(rng.standard_normal((D, H)).astype(dtype), name="W1")
    b1 = gf.Variable(np.full(H, 0.1, dtype), name="b1")
    W2 = gf.Variable(rng.standard_normal((H, K)).astype(dtype), name="W2")
    b2 = gf.Variable(np.zeros(K, dtype), name="b2")
    logits = gf.relu(x @ W1 + b1) @ W2 + b2
    loss = gf.reduce_mean(gf.nn.softmax_cross_entropy_with_logits(labels=y, logits=logits),
                          name="loss")
    opt = (gf.train.GradientDescentOptimizer(0.5) if optimizer == "sgd"
           else gf.train.AdamOptimizer(0.05))
    if distributed:
        kwargs = {} if bucket_bytes is None else {"bucket_bytes": bucket_bytes}
        opt = gf.distribute.DistributedOptimizer(opt, **kwargs)
    train_op = opt.minimize(loss)
    return x, y, loss, train_op, [W1, b1, W2, b2]


def train(dtype: str, optimizer: str, distributed: bool, session_options=None, bucket_bytes=None):
    """{variable name: value after STEPS steps} (one process: the whole global batches)."""
    with gf.Graph().as_default():
        x, y, loss, train_op, params = build(dtype, optimizer, distributed, bucket_bytes)
        sess = gf.Session(**(session_options or {}))
        if distributed:
            gf.distribute.broadcast_variables(sess)
        step = sess.make_callable([loss, train_op], [x, y])
        for xb, yb in global_batches(dtype):
            if distributed:
                xb, yb = gf.distribute.shard((xb, yb))
            step(xb, yb)
        return dict(zip(NAMES, sess.run(params)))


def count_all_reduce_calls(dist) -> dict:
    """Wrap dist.all_reduce to count its calls (the op looks it up on the module each time)."""
    calls = {"n": 0}
    real = dist.all_reduce

    def counting(*args, **kwargs):
        calls["n"] += 1
        return real(*args, **kwargs)
    dist.all_reduce = counting
    return calls


def main(out_dir: str) -> int:
    gf.distribute.init(timeout=60)
    import torch.distributed as dist  # loaded by init

    rank, size = gf.distribute.rank(), gf.distribute.world_size()
    found = {"rank": rank, "world_size": size, "is_chief": gf.distribute.is_chief()}

    # Training: every configuration, weights after STEPS steps; the all-reduces made per step.
    calls = count_all_reduce_calls(dist)
    for dtype, optimizer in CONFIGS:
        start = calls["n"]
        for name, value in train(dtype, optimizer, distributed=True).items():
            found[f"{dtype}-{optimizer}/{name}"] = value
        found[f"{dtype}-{optimizer}/all_reduce_calls"] = calls["n"] - start
    start = calls["n"]  # small buckets: one gradient each, the same weights
    for name, value in train("float64", "sgd", True, bucket_bytes=64).items():
        found[f"small-buckets/{name}"] = value
    found["small-buckets/all_reduce_calls"] = calls["n"] - start
    if "backend" in gf.Session.__init__.__code__.co_varnames:  # the torch backend, when there
        try:
            weights = train("float64", "sgd", True, {"backend": "torch", "device": "cpu"})
        except gf.errors.BackendError as exc:  # raised when compiling, before any all-reduce
            found["torch-skipped"] = str(exc)
        else:
            for name, value in weights.items():
                found[f"torch-float64-sgd/{name}"] = value

    # all_reduce_mean's value: rank r contributes r + 1.
    with gf.Graph().as_default():
        v = gf.placeholder(gf.float64, (2,), name="v")
        mean = gf.distribute.average_gradients([(v * 1.0, gf.Variable(np.zeros(2), name="z"))])
        found["mean"] = gf.Session().run(mean[0][0], {v: np.full(2, rank + 1.0)})
    found["average"] = gf.distribute.average(float(rank + 1))

    # Broadcast: each rank starts from its own values, and ends with the root's.
    with gf.Graph().as_default():
        a = gf.Variable(np.full((2, 3), rank, np.float32), name="a")
        b = gf.Variable(np.full(4, rank, np.int64), name="b")
        c = gf.Variable(np.array([rank == 0, True]), name="c")
        sess = gf.Session()
        found["before/a"] = sess.run(a)
        gf.distribute.broadcast_variables(sess)
        for var in (a, b, c):
            found[f"after/{var.op.name}"] = sess.run(var)
        sess.run(a.assign(np.full((2, 3), 10.0 + rank, np.float32)))
        gf.distribute.broadcast_variables(sess, [a], root=1)
        found["root1/a"] = sess.run(a)

        # The Saver writes on rank 0 only, and says where it (would have) written.
        path = gf.train.Saver([a]).save(sess, os.path.join(out_dir, f"ckpt_rank{rank}"))
        found["saved_path"] = path

    np.savez(os.path.join(out_dir, f"rank{rank}.npz"), **found)
    gf.distribute.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
