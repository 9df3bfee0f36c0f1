"""The MNIST MLP in graphflow and in PyTorch side by side: the same net, the same initial weights,
the same batches. Prints both loss curves and their largest difference (float32 rounding only:
step by step they agree to ~1e-6 relative; over hundreds of steps training amplifies such
differences), and the examples per second of each training loop.

    python examples/compare_torch.py --steps 300 --optimizer adam
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np
import torch
import train_mnist  # examples/train_mnist.py: the net is defined once; examples/ is on sys.path

import graphflow as gf
from graphflow.datasets import mnist


def torch_loop(params, loss_kind, optimizer, lr):
    """One training step in PyTorch eager for the same net and loss."""
    torch.set_num_threads(2)
    W1, b1, W2, b2 = ps = [torch.tensor(p, requires_grad=True) for p in params]
    opt = {"sgd": lambda: torch.optim.SGD(ps, lr=lr),
           "momentum": lambda: torch.optim.SGD(ps, lr=lr, momentum=0.9, nesterov=True),
           "adam": lambda: torch.optim.Adam(ps, lr=lr)}[optimizer]()
    F = torch.nn.functional

    def step(xb, yb):
        x, y = torch.from_numpy(xb), torch.from_numpy(yb)
        logits = torch.relu(x @ W1 + b1) @ W2 + b2
        target = F.one_hot(y, 10).to(logits.dtype)
        if loss_kind == "bce":
            loss = F.binary_cross_entropy_with_logits(logits, target, reduction="none").sum(1)
        elif loss_kind == "mse":
            loss = 0.5 * ((torch.sigmoid(logits) - target) ** 2).sum(1)
        else:
            loss = F.cross_entropy(logits, y, reduction="none")
        loss = loss.mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        return loss.item()
    return step


def compare(images, labels, args) -> dict:
    lr = args.lr if args.lr is not None else train_mnist.DEFAULT_LR[args.optimizer]
    with gf.Graph().as_default():
        model = train_mnist.build_model(args.hidden, args.loss, args.optimizer, lr, args.seed)
        initial = [p.initial_value for p in model["params"]]
        sess = gf.Session()
        gf_step = sess.make_callable([model["loss"], model["train_op"]],
                                     [model["x"], model["labels"]])
        batches = list(gf.data.batches(images, labels, args.batch_size, shuffle=True,
                                       seed=args.seed))[:args.steps]
        t0 = time.perf_counter()
        gf_losses = [float(gf_step(xb, yb)[0]) for xb, yb in batches]
        gf_seconds = time.perf_counter() - t0
    torch_step = torch_loop(initial, args.loss, args.optimizer, lr)
    t0 = time.perf_counter()
    torch_losses = [torch_step(xb, yb) for xb, yb in batches]
    torch_seconds = time.perf_counter() - t0
    examples = sum(len(xb) for xb, _ in batches)
    rel = np.abs(np.array(gf_losses) - np.array(torch_losses)) / np.abs(torch_losses)
    return {"graphflow": gf_losses, "torch": torch_losses,
            "max_rel_diff_first_20": float(rel[:20].max()), "max_rel_diff": float(rel.max()),
            "graphflow_examples_per_s": examples / gf_seconds,
            "torch_examples_per_s": examples / torch_seconds}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--hidden", type=int, default=1024)
    p.add_argument("--loss", choices=["bce", "mse", "softmax"], default="bce")
    p.add_argument("--optimizer", choices=["sgd", "momentum", "adam"], default="adam")
    p.add_argument("--lr", type=float, default=None)
    p.add_argument("--steps", type=int, default=300)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--every", type=int, default=25, help="print every this many steps")
    p.add_argument("--data-dir", default=None)
    args = p.parse_args(argv)
    (images, labels), _, _ = mnist.load(args.data_dir)
    result = compare(images, labels, args)
    print(f"{'step':>5} {'graphflow':>12} {'pytorch':>12} {'difference':>11}")
    for k, (a, b) in enumerate(zip(result["graphflow"], result["torch"])):
        if k % args.every == 0 or k == len(result["torch"]) - 1:
            print(f"{k + 1:>5} {a:12.6f} {b:12.6f} {a - b:11.2e}")
    print(f"largest relative difference: first 20 steps {result['max_rel_diff_first_20']:.2e} "
          f"(float32 rounding), all {len(result['torch'])} steps {result['max_rel_diff']:.2e} "
          f"(training amplifies rounding differences over many steps)")
    print(f"examples/s: graphflow {result['graphflow_examples_per_s']:,.0f}, "
          f"pytorch eager {result['torch_examples_per_s']:,.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
