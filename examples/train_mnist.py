"""Train the product's MLP, sigma(W2 relu(X W1 + b1) + b2), on MNIST with session.run.

    python examples/train_mnist.py                      # the defaults reach >= 98% test accuracy
    python examples/train_mnist.py --loss mse --optimizer sgd --lr 0.5
    python examples/train_mnist.py --data-dir DIR       # four MNIST IDX files instead of the cache
    python examples/train_mnist.py --backend native     # runs of statements compiled to C
    python examples/train_mnist.py --backend torch --device cuda    # generated torch code on a GPU
    torchrun --nproc_per_node=2 examples/train_mnist.py --distributed --batch-size 1024

Writes to --out (default out/mnist): model.npz (checkpoint), metrics.json and metrics.csv (per
epoch), curves.png (loss and accuracy; needs matplotlib: pip install graphflow[plot]), and
forward.dot / backward.dot (the graphs). Ctrl-C stops after saving what has been trained. The
progress bar needs tqdm (pip install graphflow[train]; `make train` installs it); without it the
running loss is printed as plain lines.

--distributed (data parallel, gf.distribute; start it with torchrun): every worker takes its
1/N of each global batch of --batch-size examples (a multiple of N; the last batch of an epoch is
cut to a multiple of N), the gradients are averaged over the workers before each update (gloo on
the CPU, nccl with --device cuda), and the weights start from rank 0's. The loss shown is the
global batch's; rank 0 alone shows the progress, evaluates, prints and writes the files.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import sys
import time

import numpy as np

import graphflow as gf
from graphflow.datasets import mnist

try:  # the progress bar is the `train` extra (pip install graphflow[train]); plain lines without
    from tqdm import tqdm
except ImportError:
    tqdm = None

CLASSES = 10
DEFAULTS = {"hidden": 1024, "loss": "bce", "optimizer": "adam", "epochs": 20, "batch_size": 128}
DEFAULT_LR = {"sgd": 0.5, "momentum": 0.05, "adam": 0.001}


class NonFiniteLoss(RuntimeError):
    """The loss became inf or NaN: training stops rather than go on with broken weights."""


def build_model(hidden: int, loss_kind: str, optimizer: str, lr: float, seed: int,
                distributed: bool = False):
    """The literal net and its training step. Returns a dict of the tensors the loop needs.

    distributed=True averages the gradients over the workers (gf.distribute.DistributedOptimizer)
    and makes "step_loss" the global batch's loss (the workers' losses averaged)."""
    gf.set_random_seed(seed)
    x = gf.placeholder(gf.float32, (None, 784), name="x")
    labels = gf.placeholder(gf.int64, (None,), name="labels")
    with gf.name_scope("layer1"):
        W1 = gf.Variable(gf.initializers.he_normal()((784, hidden)), name="W1")
        b1 = gf.Variable(np.zeros(hidden, np.float32), name="b1")
        hidden_out = gf.relu(x @ W1 + b1, name="hidden")
    with gf.name_scope("layer2"):
        W2 = gf.Variable(gf.initializers.glorot_uniform()((hidden, CLASSES)), name="W2")
        b2 = gf.Variable(np.zeros(CLASSES, np.float32), name="b2")
        logits = gf.add(hidden_out @ W2, b2, name="logits")
        out = gf.sigmoid(logits, name="out")
    with gf.name_scope("loss"):
        target = gf.one_hot(labels, CLASSES)
        if loss_kind == "bce":  # written by hand: the compiler makes it stable
            per_example = -gf.reduce_sum(target * gf.log(out) + (1 - target) * gf.log(1 - out), 1)
        elif loss_kind == "mse":  # the quadratic loss, 1/2 ||out - target||^2
            per_example = 0.5 * gf.reduce_sum(gf.square(out - target), 1)
        else:  # softmax cross-entropy on the pre-sigmoid logits
            per_example = gf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels,
                                                                         logits=logits)
        loss = gf.reduce_mean(per_example, name="loss")
    opt = {"sgd": lambda: gf.train.GradientDescentOptimizer(lr),
           "momentum": lambda: gf.train.MomentumOptimizer(lr, 0.9, use_nesterov=True),
           "adam": lambda: gf.train.AdamOptimizer(lr)}[optimizer]()
    if distributed:
        opt = gf.distribute.DistributedOptimizer(opt)
    train_op = opt.minimize(loss, var_list=[W1, b1, W2, b2])
    step_loss = gf.distribute.all_reduce_mean(loss, name="global_loss") if distributed else loss
    return {"x": x, "labels": labels, "logits": logits, "loss": loss, "train_op": train_op,
            "step_loss": step_loss, "params": [W1, b1, W2, b2]}


class PlainProgress:
    """What tqdm is used for here, where it is not installed: the running loss printed as a line
    on the first batch and every 100th after it, instead of a bar."""

    def __init__(self, iterable, total: int, desc: str, disable: bool = False, **_):
        self.iterable, self.total, self.desc, self.disable = iterable, total, desc, disable
        self.count = 0

    def __iter__(self):
        for item in self.iterable:
            self.count += 1
            yield item

    def set_postfix(self, **values) -> None:
        if not self.disable and self.count % 100 == 1:
            shown = " ".join(f"{k} {v}" for k, v in values.items())
            print(f"{self.desc} batch {self.count}/{self.total} {shown}", flush=True)


def accuracy(predict, images, labels, chunk: int = 2000) -> float:
    hits = 0
    for start in range(0, len(images), chunk):
        logits = predict(images[start:start + chunk])
        hits += int(np.sum(np.argmax(logits, 1) == labels[start:start + chunk]))
    return hits / len(images)


def write_metrics(out_dir: str, history: list) -> None:
    with open(os.path.join(out_dir, "metrics.json"), "w") as f:
        json.dump(history, f, indent=1)
    with open(os.path.join(out_dir, "metrics.csv"), "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(history[0]))
        writer.writeheader()
        writer.writerows(history)


def write_plot(out_dir: str, history: list, title: str = "graphflow MLP on MNIST") -> str:
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return "plot skipped: matplotlib is not installed (pip install graphflow[plot])"
    epochs = [h["epoch"] for h in history]
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4))
    ax1.plot(epochs, [h["train_loss"] for h in history], marker="o")
    ax1.set_xlabel("epoch")
    ax1.set_ylabel("training loss")
    ax2.plot(epochs, [100 * h["val_accuracy"] for h in history], marker="o", color="tab:green")
    ax2.set_xlabel("epoch")
    ax2.set_ylabel("validation accuracy (%)")
    fig.suptitle(title)
    fig.tight_layout()
    path = os.path.join(out_dir, "curves.png")
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return f"plot: {path}"


def write_graphs(out_dir: str, model: dict) -> list:
    """forward.dot (what the loss needs) and backward.dot (the training step)."""
    paths = []
    for name, fetch in (("forward", model["loss"]), ("backward", model["train_op"])):
        path = os.path.join(out_dir, f"{name}.dot")
        with open(path, "w") as f:
            f.write(gf.viz.to_dot(fetch).source)
        paths.append(path)
    return paths


def make_session(args) -> gf.Session:
    """A session on --backend/--device; they are passed only when given (numpy is the default)."""
    options = {}
    if args.backend != "numpy":
        options["backend"] = args.backend
    if args.device is not None:
        options["device"] = args.device
    return gf.Session(**options)


class TensorBoardLog:
    """--logdir: the loss and the batch accuracy at every logged step, histograms of the weights
    after every epoch, and the graph, in TensorBoard event files (gf.summary, TF1's
    tf.summary): `tensorboard --logdir DIR` shows them."""

    def __init__(self, logdir: str, sess: gf.Session, model: dict, predict):
        self.loss = gf.placeholder(gf.float32, [], name="loss_value")
        self.accuracy = gf.placeholder(gf.float32, [], name="batch_accuracy")
        self.scalars = gf.summary.merge([gf.summary.scalar("train/loss", self.loss),
                                         gf.summary.scalar("train/accuracy", self.accuracy)])
        self.weights = gf.summary.merge([gf.summary.histogram("weights/" + p.op.name, p)
                                         for p in model["params"]])
        self.sess, self.predict = sess, predict
        self.writer = gf.summary.FileWriter(logdir, sess.graph)

    def step(self, global_step: int, loss_value, xb, yb) -> None:
        hits = np.mean(np.argmax(self.predict(xb), 1) == yb)
        summary = self.sess.run(self.scalars, {self.loss: loss_value, self.accuracy: hits})
        self.writer.add_summary(summary, global_step)

    def epoch(self, global_step: int) -> None:
        self.writer.add_summary(self.sess.run(self.weights), global_step)
        self.writer.flush()


def load_data(args):
    """MNIST; in a distributed run rank 0 loads (and fills the cache) before the others read."""
    chief = gf.distribute.is_chief()
    if not chief:
        gf.distribute.barrier()
    data = mnist.load(args.data_dir)
    if chief:
        gf.distribute.barrier()
    return data


def train(args) -> dict:
    chief = gf.distribute.is_chief()
    log = print if chief else _silent  # rank 0 speaks for every worker
    workers = gf.distribute.world_size()
    if args.batch_size % workers:
        raise gf.distribute.DistributedError(
            f"--batch-size {args.batch_size} is not a multiple of the {workers} workers: each "
            f"worker takes an equal share of every global batch")
    (x_train, y_train), (x_val, y_val), (x_test, y_test) = load_data(args)
    if args.limit:
        x_train, y_train = x_train[:args.limit], y_train[:args.limit]
    if chief:
        os.makedirs(args.out, exist_ok=True)
    lr = args.lr if args.lr is not None else DEFAULT_LR[args.optimizer]
    model = build_model(args.hidden, args.loss, args.optimizer, lr, args.seed, args.distributed)
    sess = make_session(args)
    if args.distributed:
        gf.distribute.broadcast_variables(sess)  # every worker starts from rank 0's weights
    step = sess.make_callable([model["step_loss"], model["train_op"]],
                              [model["x"], model["labels"]])
    predict = sess.make_callable(model["logits"], [model["x"]])
    saver = gf.train.Saver(model["params"])
    board = TensorBoardLog(args.logdir, sess, model, predict) if args.logdir and chief else None
    per_epoch = math.ceil(len(x_train) / args.batch_size)
    history, started, broken = [], time.perf_counter(), False
    log(f"MLP 784-{args.hidden}-10, loss={args.loss}, optimizer={args.optimizer}, lr={lr}, "
        f"batch={args.batch_size}, {len(x_train)} training examples"
        + (f", {workers} workers ({args.batch_size // workers} examples each per step)"
           if args.distributed else ""))
    try:
        for epoch in range(1, args.epochs + 1):
            total, seen, t0 = 0.0, 0, time.perf_counter()
            batches = gf.data.batches(x_train, y_train, args.batch_size, shuffle=True,
                                      seed=args.seed * 1000 + epoch)
            bar = (tqdm or PlainProgress)(batches, total=math.ceil(len(x_train) / args.batch_size),
                       desc=f"epoch {epoch}/{args.epochs}", unit="batch", leave=False,
                       disable=args.quiet or not chief)
            for k, (xb, yb) in enumerate(bar):
                if args.distributed:
                    # A last batch not a multiple of the workers is cut to one (equal shards).
                    keep = len(xb) - len(xb) % workers
                    if keep == 0:
                        continue
                    xb, yb = xb[:keep], yb[:keep]
                    loss_value, _ = step(*gf.distribute.shard((xb, yb)))
                else:
                    loss_value, _ = step(xb, yb)
                if not np.isfinite(loss_value):
                    broken = True
                    raise NonFiniteLoss(
                        f"the loss became {loss_value} at epoch {epoch}, step {k + 1}; "
                        f"try a lower learning rate than --lr {lr}")
                total += float(loss_value) * len(xb)
                seen += len(xb)
                if k % 20 == 0:
                    if board is not None:
                        board.step((epoch - 1) * per_epoch + k, loss_value, xb, yb)
                    rate = seen / (time.perf_counter() - t0)
                    bar.set_postfix(loss=f"{total / seen:.4f}", ex_per_s=f"{rate:,.0f}")
            seconds = time.perf_counter() - t0
            # The weights are the same on every worker: rank 0 evaluates for all of them.
            val_acc = accuracy(predict, x_val, y_val) if chief else math.nan
            history.append({"epoch": epoch, "train_loss": total / seen,
                            "val_accuracy": val_acc, "seconds": seconds,
                            "examples_per_second": seen / seconds})
            log(f"epoch {epoch:2d}  loss {total / seen:.4f}  val acc {100 * val_acc:.2f}%  "
                f"{seen / seconds:,.0f} ex/s")
            if board is not None:
                board.epoch(epoch * per_epoch)
    except KeyboardInterrupt:
        log("interrupted: saving what has been trained so far")
    finally:
        if board is not None:
            board.writer.close()
        if not broken:  # never overwrite a checkpoint with non-finite weights
            path = saver.save(sess, os.path.join(args.out, "model.npz"))  # rank 0 writes
            log(f"checkpoint: {path}")
    test_acc = accuracy(predict, x_test, y_test) if chief else math.nan
    result = {"test_accuracy": test_acc, "train_seconds": time.perf_counter() - started,
              "epochs": history}
    log(f"test accuracy {100 * test_acc:.2f}%  ({result['train_seconds']:.1f} s)")
    if history and chief:
        write_metrics(args.out, history)
        log(write_plot(args.out, history))
    if chief:
        log("graphs: " + ", ".join(write_graphs(args.out, model)))
    return result


def _silent(*args, **kwargs) -> None:
    """print on the workers other than rank 0."""


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--hidden", type=int, default=DEFAULTS["hidden"])
    p.add_argument("--loss", choices=["bce", "mse", "softmax"], default=DEFAULTS["loss"])
    p.add_argument("--optimizer", choices=["sgd", "momentum", "adam"],
                   default=DEFAULTS["optimizer"])
    p.add_argument("--lr", type=float, default=None,
                   help="learning rate (default: 0.5 sgd, 0.05 momentum, 0.001 adam)")
    p.add_argument("--epochs", type=int, default=DEFAULTS["epochs"])
    p.add_argument("--batch-size", type=int, default=DEFAULTS["batch_size"])
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default=os.path.join("out", "mnist"))
    p.add_argument("--data-dir", default=None, help="a folder with the four MNIST IDX files")
    p.add_argument("--limit", type=int, default=0, help="use only this many training examples")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--logdir", default=None,
                   help="write TensorBoard event files here: loss and accuracy every 20 steps, "
                        "weight histograms every epoch, the graph")
    p.add_argument("--backend", choices=["numpy", "native", "torch"], default="numpy",
                   help="generated code: numpy (default), native (numpy with runs of "
                        "statements compiled to C; needs a C compiler) or torch")
    p.add_argument("--device", default=None,
                   help="the torch backend's device: cpu, cuda, cuda:N (default: cuda when "
                        "available); with --distributed, cuda selects nccl, else gloo")
    p.add_argument("--distributed", action="store_true",
                   help="data parallel over the workers torchrun starts: torchrun "
                        "--nproc_per_node=N examples/train_mnist.py --distributed")
    return p.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    try:
        if args.distributed:
            gf.distribute.init(device=args.device)
        train(args)
    except NonFiniteLoss as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except gf.distribute.DistributedError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    finally:
        if args.distributed:
            gf.distribute.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
