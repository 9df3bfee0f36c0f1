"""Where the time of one MNIST training step goes: the net of examples/train_mnist.py (hidden 1024,
BCE, Adam) on a batch of 128 random images, or the CNN of examples/mnist_cnn.py (--model cnn,
batch 50), profiled node by node (`make profile` runs both).

    python examples/profile_mnist.py [--hidden 1024] [--batch-size 128] [--repeat 10]
    python examples/profile_mnist.py --model cnn [--batch-size 50]

Prints one row per node of the generated code, slowest first: median milliseconds over the runs,
share of the step, bytes of the output; then the sum of the rows against the plain step's time.
Profiling runs on copies of the variables, so the model is not trained by it.
"""

from __future__ import annotations

import argparse

import mnist_cnn  # examples/mnist_cnn.py
import numpy as np
import train_mnist  # examples/train_mnist.py: the net is defined once; examples/ is on sys.path

import graphflow as gf


def profile_step(hidden: int = 1024, batch_size: int = 128, repeat: int = 10, loss: str = "bce",
                 optimizer: str = "adam", seed: int = 0):
    """The Profile of one training step on random data."""
    with gf.Graph().as_default():
        model = train_mnist.build_model(hidden, loss, optimizer,
                                        train_mnist.DEFAULT_LR[optimizer], seed)
        rng = np.random.default_rng(seed)
        xb = rng.random((batch_size, 784), dtype=np.float32)
        yb = rng.integers(0, train_mnist.CLASSES, batch_size)
        sess = gf.Session()
        prog = sess.make_callable([model["loss"], model["train_op"]], [model["x"], model["labels"]])
        prog(xb, yb)  # compiles this batch shape and sets the variables
        return prog.profile(xb, yb, repeat=repeat)


def profile_cnn_step(batch_size: int = 50, repeat: int = 10, seed: int = 0):
    """The Profile of one training step of the Deep MNIST CNN (dropout on) on random data."""
    with gf.Graph().as_default():
        model = mnist_cnn.build_model(1e-3, seed)
        rng = np.random.default_rng(seed)
        xb = rng.random((batch_size, 784), dtype=np.float32)
        yb = rng.integers(0, mnist_cnn.CLASSES, batch_size)
        sess = gf.Session()
        prog = sess.make_callable([model["loss"], model["train_op"]],
                                  [model["x"], model["labels"], model["training"]])
        prog(xb, yb, True)
        return prog.profile(xb, yb, True, repeat=repeat)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", choices=["mlp", "cnn"], default="mlp")
    ap.add_argument("--hidden", type=int, default=1024)
    ap.add_argument("--batch-size", type=int, default=None, help="default: 128 mlp, 50 cnn")
    ap.add_argument("--repeat", type=int, default=10)
    ap.add_argument("--loss", choices=["bce", "mse", "softmax"], default="bce")
    ap.add_argument("--optimizer", choices=["sgd", "momentum", "adam"], default="adam")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    if args.model == "cnn":
        batch = args.batch_size or 50
        print(f"Deep MNIST CNN training step, Adam, batch={batch}")
        print(profile_cnn_step(batch, args.repeat, args.seed))
        return
    args.batch_size = args.batch_size or 128
    print(f"MLP 784-{args.hidden}-10 training step, loss={args.loss}, "
          f"optimizer={args.optimizer}, batch={args.batch_size}")
    print(profile_step(args.hidden, args.batch_size, args.repeat, args.loss, args.optimizer,
                       args.seed))


if __name__ == "__main__":
    main()
