"""Train TF1's "Deep MNIST for experts" convolutional net on MNIST with session.run.

    python examples/mnist_cnn.py                        # the defaults reach >= 99.2% test accuracy
    python examples/mnist_cnn.py --epochs 1 --batch-size 128
    python examples/mnist_cnn.py --data-dir DIR         # four MNIST IDX files instead of the cache
    python examples/mnist_cnn.py --backend native       # convolutions, pools, the rest in C
    python examples/mnist_cnn.py --backend torch --device cuda

The net, built with gf.layers as a TF1 user writes it: conv 5x5x32 SAME + relu, max-pool 2,
conv 5x5x64 SAME + relu, max-pool 2, dense 1024 + relu, dropout 0.5 while training, dense 10;
softmax cross-entropy; Adam, its learning rate halved after each epoch. Its variables are named
as TF names them (conv2d/kernel, conv2d/bias, conv2d_1/..., dense/..., dense_1/...), so the
checkpoint reads like TF1's.

Writes to --out (default out/mnist_cnn): model.npz (checkpoint), metrics.json (per epoch, and
"test_accuracy"), curves.png (needs matplotlib: pip install graphflow[train]). The progress bar
needs tqdm (the `train` extra); without it the running loss is printed as plain lines.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time

import numpy as np
from train_mnist import PlainProgress, accuracy, make_session, tqdm, write_plot

import graphflow as gf
from graphflow.datasets import mnist

CLASSES = 10


def build_net(x, training):
    """The Deep MNIST net's logits for flat images `x`: two 5x5 conv + 2x2 max-pool stages, a
    1024-unit dense layer with dropout while `training` (a bool tensor, or False for a graph
    with no dropout at all, as examples/export_onnx.py builds it), and 10 logits."""
    images = gf.reshape(x, [-1, 28, 28, 1])
    h = gf.layers.conv2d(images, 32, 5, padding="same", activation=gf.nn.relu)
    h = gf.layers.max_pooling2d(h, 2, 2, padding="same")
    h = gf.layers.conv2d(h, 64, 5, padding="same", activation=gf.nn.relu)
    h = gf.layers.max_pooling2d(h, 2, 2, padding="same")
    h = gf.layers.dense(gf.layers.flatten(h), 1024, activation=gf.nn.relu)
    h = gf.layers.dropout(h, rate=0.5, training=training)
    return gf.layers.dense(h, CLASSES)


def build_model(lr: float, seed: int, decay: float = 1.0, steps_per_epoch: int = 1) -> dict:
    """The Deep MNIST net and its Adam step: the tensors the loop needs. The learning rate is
    multiplied by `decay` after each epoch of `steps_per_epoch` steps (TF1's
    tf.train.exponential_decay with staircase=True)."""
    gf.set_random_seed(seed)
    x = gf.placeholder(gf.float32, (None, 784), name="x")
    labels = gf.placeholder(gf.int64, (None,), name="labels")
    training = gf.placeholder(gf.bool_, (), name="training")
    logits = build_net(x, training)
    loss = gf.reduce_mean(gf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels,
                                                                         logits=logits),
                          name="loss")
    step = gf.train.get_or_create_global_step()
    rate = gf.train.exponential_decay(lr, step, steps_per_epoch, decay, staircase=True)
    train_op = gf.train.AdamOptimizer(rate).minimize(loss, global_step=step)
    return {"x": x, "labels": labels, "training": training, "logits": logits, "loss": loss,
            "train_op": train_op}


def train(args) -> dict:
    (x_train, y_train), (x_val, y_val), (x_test, y_test) = mnist.load(args.data_dir)
    if args.limit:
        x_train, y_train = x_train[:args.limit], y_train[:args.limit]
    os.makedirs(args.out, exist_ok=True)
    model = build_model(args.lr, args.seed, args.lr_decay,
                        math.ceil(len(x_train) / args.batch_size))
    sess = make_session(args)
    step = sess.make_callable([model["loss"], model["train_op"]],
                              [model["x"], model["labels"], model["training"]])
    infer = sess.make_callable(model["logits"], [model["x"], model["training"]])
    predict = lambda images: infer(images, False)  # noqa: E731  (no dropout when evaluating)
    history, started = [], time.perf_counter()
    print(f"Deep MNIST CNN, Adam lr={args.lr} (x{args.lr_decay} each epoch), "
          f"batch={args.batch_size}, {len(x_train)} training examples, backend={args.backend}")
    try:
        for epoch in range(1, args.epochs + 1):
            history.append(_epoch(args, step, predict, epoch, (x_train, y_train),
                                  (x_val, y_val)))
    except KeyboardInterrupt:
        print("interrupted: saving what has been trained so far")
    path = gf.train.Saver().save(sess, os.path.join(args.out, "model.npz"))
    test_acc = accuracy(predict, x_test, y_test, chunk=500)
    result = {"test_accuracy": test_acc, "train_seconds": time.perf_counter() - started,
              "epochs": history}
    with open(os.path.join(args.out, "metrics.json"), "w") as f:
        json.dump(result, f, indent=1)
    print(f"checkpoint: {path}")
    print(f"test accuracy {100 * test_acc:.2f}%  ({result['train_seconds']:.1f} s)")
    if history:
        print(write_plot(args.out, history, title="graphflow Deep MNIST CNN"))
    return result


def _epoch(args, step, predict, epoch: int, train_data, val_data) -> dict:
    """One pass over the training data, then the validation accuracy."""
    total, seen, t0 = 0.0, 0, time.perf_counter()
    batches = gf.data.batches(*train_data, args.batch_size, shuffle=True,
                              seed=args.seed * 1000 + epoch)
    bar = (tqdm or PlainProgress)(batches, total=math.ceil(len(train_data[0]) / args.batch_size),
                                  desc=f"epoch {epoch}/{args.epochs}", unit="batch",
                                  leave=False, disable=args.quiet)
    for k, (xb, yb) in enumerate(bar):
        loss_value, _ = step(xb, yb, True)
        if not np.isfinite(loss_value):
            raise FloatingPointError(f"the loss became {loss_value} at epoch {epoch}, step "
                                     f"{k + 1}; try a lower learning rate than --lr {args.lr}")
        total += float(loss_value) * len(xb)
        seen += len(xb)
        if k % 10 == 0:
            bar.set_postfix(loss=f"{total / seen:.4f}",
                            ex_per_s=f"{seen / (time.perf_counter() - t0):,.0f}")
    seconds = time.perf_counter() - t0
    val_acc = accuracy(predict, *val_data, chunk=500)
    print(f"epoch {epoch:2d}  loss {total / seen:.4f}  val acc {100 * val_acc:.2f}%  "
          f"{seen / seconds:,.0f} ex/s  {seconds:.0f} s")
    return {"epoch": epoch, "train_loss": total / seen, "val_accuracy": val_acc,
            "seconds": seconds, "examples_per_second": seen / seconds}


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--epochs", type=int, default=5)
    p.add_argument("--batch-size", type=int, default=50)
    p.add_argument("--lr", type=float, default=1e-3, help="Adam's learning rate at first")
    p.add_argument("--lr-decay", type=float, default=0.5,
                   help="the learning rate is multiplied by this after each epoch")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default=os.path.join("out", "mnist_cnn"))
    p.add_argument("--data-dir", default=None, help="a folder with the four MNIST IDX files")
    p.add_argument("--limit", type=int, default=0, help="use only this many training examples")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--backend", choices=["numpy", "native", "torch"], default="numpy",
                   help="generated code: numpy (default), native (runs of statements compiled "
                        "to C) or torch")
    p.add_argument("--device", default=None,
                   help="the torch backend's device: cpu, cuda, cuda:N (default: cuda when "
                        "available)")
    return p.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    try:
        train(args)
    except FloatingPointError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
