"""micrograd's demo on graphflow: a 2-16-16-1 MLP learns two interleaving moons.

    python examples/moons.py [--steps 100] [--seed 0] [--out out/moons.png]

As in micrograd's demo.ipynb: 100 points with noise 0.1 and labels ±1, ReLU hidden layers and a
linear output, the max-margin loss mean(relu(1 - y·score)) plus 1e-4 times the sum of the
squared parameters (micrograd sums model.parameters(): weights and biases), and plain SGD with
the learning rate 1.0 - 0.9·k/steps. The parameters are numpy arrays and the loop is plain
Python over gf.value_and_grad, which traces and compiles the loss and its gradient once.
Prints the loss and accuracy every 10 steps and saves the decision boundary to --out (needs
matplotlib: pip install graphflow[plot]; without it the plot is skipped).
"""

from __future__ import annotations

import argparse
import os
from typing import List, Tuple

import numpy as np

import graphflow as gf

SIZES = (2, 16, 16, 1)
ALPHA = 1e-4


def make_moons(n: int = 100, noise: float = 0.1, seed: int = 0) -> Tuple[np.ndarray, np.ndarray]:
    """Two interleaving half circles (as sklearn.datasets.make_moons), labels -1 and +1."""
    rng = np.random.default_rng(seed)
    n_upper = n // 2
    t_upper = np.linspace(0.0, np.pi, n_upper)
    t_lower = np.linspace(0.0, np.pi, n - n_upper)
    upper = np.stack([np.cos(t_upper), np.sin(t_upper)], axis=1)
    lower = np.stack([1.0 - np.cos(t_lower), 0.5 - np.sin(t_lower)], axis=1)
    x = np.concatenate([upper, lower]) + rng.normal(scale=noise, size=(n, 2))
    y = np.concatenate([-np.ones(n_upper), np.ones(n - n_upper)])
    order = rng.permutation(n)
    return x[order], y[order]


def init_params(seed: int) -> List[np.ndarray]:
    """[W1, b1, W2, b2, W3, b3]: weights uniform in [-1, 1] and zero biases, as micrograd's."""
    rng = np.random.default_rng(seed)
    params = []
    for fan_in, fan_out in zip(SIZES[:-1], SIZES[1:]):
        params += [rng.uniform(-1.0, 1.0, (fan_in, fan_out)), np.zeros(fan_out)]
    return params


def scores(params, x):
    """The MLP's score for each point (graphflow tensors in, a tensor of shape (n,) out)."""
    h = x
    for k in range(0, len(params) - 2, 2):
        h = gf.relu(h @ params[k] + params[k + 1])
    return (h @ params[-2] + params[-1])[:, 0]


@gf.function
def predict(w1, b1, w2, b2, w3, b3, x):
    """The scores of the points x (arrays in, an array out; traced once per number of points)."""
    return scores([w1, b1, w2, b2, w3, b3], x)


def loss(w1, b1, w2, b2, w3, b3, x, y):
    """Max-margin loss plus L2 regularization; the scores come back as the auxiliary output."""
    params = [w1, b1, w2, b2, w3, b3]
    s = scores(params, x)
    data_loss = gf.reduce_mean(gf.relu(1.0 - y * s))
    reg_loss = ALPHA * gf.add_n([gf.reduce_sum(p * p) for p in params])
    return data_loss + reg_loss, s


def train(steps: int, seed: int, log=print):
    """SGD over the whole data set; returns (params, x, y, history of (step, loss, accuracy)),
    the history ending with the trained parameters' loss and accuracy (at step `steps`)."""
    x, y = make_moons(100, noise=0.1, seed=seed)
    params = init_params(seed)
    step = gf.value_and_grad(loss, argnums=tuple(range(len(params))), has_aux=True)
    history = []
    for k in range(steps + 1):
        (value, s), grads = step(*params, x, y)
        accuracy = float(np.mean((s > 0) == (y > 0)))
        history.append((k, float(value), accuracy))
        if k % 10 == 0 or k == steps:
            log(f"step {k:3d}  loss {value:.4f}  accuracy {accuracy * 100:.0f}%")
        if k == steps:  # the last evaluation measures the trained parameters
            break
        learning_rate = 1.0 - 0.9 * k / steps
        params = [p - learning_rate * g for p, g in zip(params, grads)]
    return params, x, y, history


def save_plot(params, x, y, path: str) -> str:
    """The decision boundary over a grid (micrograd's picture), as a PNG; returns a message."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return "plot skipped: matplotlib is not installed (pip install graphflow[plot])"
    h = 0.25
    xx, yy = np.meshgrid(np.arange(x[:, 0].min() - 1, x[:, 0].max() + 1, h),
                         np.arange(x[:, 1].min() - 1, x[:, 1].max() + 1, h))
    grid = np.c_[xx.ravel(), yy.ravel()]
    z = predict(*params, grid)
    fig, ax = plt.subplots(figsize=(5, 5))
    ax.contourf(xx, yy, (z > 0).reshape(xx.shape), cmap=plt.cm.Spectral, alpha=0.8)
    ax.scatter(x[:, 0], x[:, 1], c=y, s=40, cmap=plt.cm.Spectral, edgecolors="k")
    ax.set_xlim(xx.min(), xx.max())
    ax.set_ylim(yy.min(), yy.max())
    ax.set_title("graphflow: 2-16-16-1 MLP on two moons")
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    fig.savefig(path, dpi=100, bbox_inches="tight")
    plt.close(fig)
    return f"plot: {path}"


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=100)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default=os.path.join("out", "moons.png"))
    args = p.parse_args(argv)
    if args.steps < 0:
        p.error("--steps must be 0 or more")
    params, x, y, history = train(args.steps, args.seed)
    _, final_loss, final_accuracy = history[-1]
    print(f"final: loss {final_loss:.4f}, training accuracy {final_accuracy * 100:.0f}% "
          f"after {args.steps} steps")
    print(save_plot(params, x, y, args.out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
