"""Pictures of the MNIST MLP training step: forward, backward and what the compiler runs.

    python examples/export_graphs.py [--out out/graphs]

Writes forward, backward and optimized as .dot and .svg (the .svg needs Graphviz's `dot`
program: apt-get install graphviz; without it the .dot files are still written).
"""

from __future__ import annotations

import argparse
import os
import sys

import numpy as np
import train_mnist  # examples/train_mnist.py: the net is defined once; examples/ is on sys.path

import graphflow as gf


def build():
    return train_mnist.build_model(hidden=256, loss_kind="bce", optimizer="sgd", lr=0.1, seed=0)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", default=os.path.join("out", "graphs"))
    args = p.parse_args(argv)
    model = build()
    step = gf.Session().make_callable([model["loss"], model["train_op"]],
                                      [model["x"], model["labels"]])
    step(np.zeros((128, 784), np.float32), np.zeros(128, np.int64))  # compile for batch 128
    pictures = {
        "forward": gf.viz.forward(model["loss"], title="forward: the loss of the MNIST MLP"),
        "backward": gf.viz.backward(model["loss"], model["params"],
                                    title="backward: gradients of the loss"),
        "optimized": gf.viz.optimized(step, title="optimized: the training step as compiled"),
    }
    missing = False
    for name, dot in pictures.items():
        try:
            print(gf.viz.save(dot, os.path.join(args.out, f"{name}.svg")))
        except gf.viz.GraphvizMissing as exc:
            missing = True
            print(exc, file=sys.stderr)
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
