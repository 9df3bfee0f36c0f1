"""One MNIST training step with Adam: the MLP 784-1024-10 (ReLU, softmax cross-entropy), batch
128, float32 — graphflow's numpy backend unfused and fused (gf.Session(fuse=True): elementwise
chains as one numba loop) and its native backend (runs of statements as C) against PyTorch eager
(2 threads), side by side in one run; plus each one's first call in a fresh process, with an
empty kernel cache and with a warm one.

    python bench/adam_step.py [--repeats 30] [--out FILE.json]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time

import mlp_step
import numpy as np
from mlp_step import measure, measure_alone
from report import machine, write_json

import graphflow as gf

D, H, K, BATCH, LR = 784, 1024, 10, 128, 1e-3
MODES = ("unfused", "fused", "native")


def init_params(seed=0):
    return mlp_step.init_params(seed, hidden=H)


def graphflow_step(params, mode: str):
    """mode: "unfused" (numpy backend), "fused" (numpy, Session(fuse=True)) or "native"."""
    with gf.Graph().as_default():
        x = gf.placeholder(gf.float32, (None, D), name="x")
        y = gf.placeholder(gf.int64, (None,), name="y")
        W1, b1, W2, b2 = [gf.Variable(p, name=n) for p, n in zip(params, ["W1", "b1", "W2", "b2"])]
        logits = gf.nn.relu(x @ W1 + b1) @ W2 + b2
        loss = gf.reduce_mean(gf.nn.sparse_softmax_cross_entropy_with_logits(labels=y,
                                                                            logits=logits))
        train = gf.train.AdamOptimizer(LR).minimize(loss)
        sess = (gf.Session(backend="native") if mode == "native"
                else gf.Session(fuse=mode == "fused"))
        return sess.make_callable([loss, train], [x, y])


def torch_step(params):
    import torch
    torch.set_num_threads(2)
    ps = [torch.tensor(p, requires_grad=True) for p in params]
    opt = torch.optim.Adam(ps, lr=LR)

    def step(X, Y):
        W1, b1, W2, b2 = ps
        loss = torch.nn.functional.cross_entropy(torch.relu(torch.from_numpy(X) @ W1 + b1) @ W2
                                                 + b2, torch.from_numpy(Y))
        opt.zero_grad()
        loss.backward()
        opt.step()
        return loss.item()
    return step


def first_compile_seconds(cache_dir: str, mode: str) -> float:
    """The step's build, compile and first run in a fresh process with this kernel cache (the
    JIT's or the C compiler's imports included)."""
    code = ("import sys, time; sys.path.insert(0, %r); import numpy as np, adam_step as a; "
            "t = time.perf_counter(); s = a.graphflow_step(a.init_params(), %r); "
            "s(np.zeros((a.BATCH, a.D), np.float32), np.zeros(a.BATCH, np.int64)); "
            "print(time.perf_counter() - t)" % (os.path.dirname(os.path.abspath(__file__)), mode))
    env = dict(os.environ, GRAPHFLOW_CACHE_DIR=cache_dir)
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         check=True)
    return float(out.stdout.strip().splitlines()[-1])


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=30)
    ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "results",
                                                  "adam_step.json"))
    args = ap.parse_args()
    import tempfile
    compiles = {}  # mode -> (fresh process, empty cache), (fresh process, warm cache)
    for mode in MODES:
        with tempfile.TemporaryDirectory() as cache:
            compiles[mode] = (first_compile_seconds(cache, mode),
                              first_compile_seconds(cache, mode))
    params = init_params()
    rng = np.random.default_rng(0)
    X = rng.random((BATCH, D), dtype=np.float32)
    Y = rng.integers(0, K, BATCH)
    us = measure({f"graphflow {mode}": graphflow_step(params, mode) for mode in MODES}, X, Y,
                 args.repeats)
    time.sleep(0.5)
    us["pytorch eager"] = measure_alone(torch_step(params), X, Y, args.repeats)
    base = us["pytorch eager"]
    print(f"MNIST Adam step, MLP {D}-{H}-{K}, batch {BATCH}, float32 (medians of "
          f"{args.repeats} turns of 5 steps)")
    for name, t in us.items():
        print(f"  {name:<20} {t:9.0f} us  {t / base:5.2f} x PyTorch eager")
    for mode, (cold, warm) in compiles.items():
        print(f"  first call of the {mode} step in a fresh process: {cold:.2f} s, "
              f"{warm:.2f} s with the kernel cache")
    write_json(args.out, {"machine": machine(), "us_per_step": {k: round(v, 1)
                                                                 for k, v in us.items()},
                          "first_call_seconds": {m: {"empty_cache": round(c, 3),
                                                     "warm_cache": round(w, 3)}
                                                 for m, (c, w) in compiles.items()}})


if __name__ == "__main__":
    main()
