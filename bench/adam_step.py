"""One MNIST training step with Adam: the MLP 784-1024-10 (ReLU, softmax cross-entropy), batch
128, float32 — graphflow's numpy backend unfused and fused (gf.Session(fuse=True): elementwise
chains as one numba loop), its native backend (runs of statements as C), a hand-written numpy
step, PyTorch eager and torch.compile (2 threads), measured side by side in one run, with each
step's share of the machine's float32 matmul peak and each one's first call in a fresh process,
with empty compile caches and with warm ones.

    python bench/adam_step.py [--repeats 10] [--out FILE.json]

How (bench/processes.py): every contender lives in a process of its own and they take turns.
"""

from __future__ import annotations

import argparse
import os

import mlp_step
import numpy as np
import processes
from mlp_step import matmul_peak
from report import machine, write_json

import graphflow as gf

D, H, K, BATCH, LR = 784, 1024, 10, 128, 1e-3
B1, B2, EPS = 0.9, 0.999, 1e-8
GRAPHFLOW = {"graphflow unfused": "unfused", "graphflow fused": "fused",
             "graphflow native": "native"}
CONTENDERS = (*GRAPHFLOW, "numpy by hand", "pytorch eager", "torch.compile")
TORCH = {"pytorch eager", "torch.compile"}


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


class NumpyStep:
    """Hand-written numpy: every array of the batch's or the weights' size preallocated and
    written with out= or in place, no gradient for X; Adam as graphflow's AdamOptimizer and
    torch.optim.Adam compute it (epsilon after the bias correction of sqrt(v))."""

    def __init__(self, params, batch):
        f = np.float32
        self.params = [p.copy() for p in params]
        self.grads = [np.empty_like(p) for p in params]
        self.m = [np.zeros_like(p) for p in params]
        self.v = [np.zeros_like(p) for p in params]
        self.tmp = [np.empty_like(p) for p in params]
        self.t = 0
        self.h, self.dh = np.empty((batch, H), f), np.empty((batch, H), f)
        self.z = np.empty((batch, K), f)
        self.mask = np.empty((batch, H), bool)
        self.rows = np.arange(batch)

    def __call__(self, X, Y):
        W1, b1, W2, b2 = self.params
        gW1, gb1, gW2, gb2 = self.grads
        h, dh, z = self.h, self.dh, self.z
        np.matmul(X, W1, out=h)
        h += b1
        np.maximum(h, 0, out=h)
        np.matmul(h, W2, out=z)
        z += b2
        z -= z.max(axis=1, keepdims=True)
        picked = z[self.rows, Y]
        np.exp(z, out=z)
        total = z.sum(axis=1, keepdims=True)
        loss = float(np.mean(np.log(total[:, 0]) - picked))
        z /= total                      # softmax, then its cross-entropy's gradient
        z[self.rows, Y] -= 1
        z *= np.float32(1 / len(X))
        np.matmul(h.T, z, out=gW2)
        np.sum(z, axis=0, out=gb2)
        np.matmul(z, W2.T, out=dh)
        np.greater(h, 0, out=self.mask)
        dh *= self.mask
        np.matmul(X.T, dh, out=gW1)
        np.sum(dh, axis=0, out=gb1)
        self._adam()
        return loss

    def _adam(self):
        self.t += 1
        step_size = np.float32(LR / (1 - B1 ** self.t))
        root = np.float32(np.sqrt(1 - B2 ** self.t))
        for p, g, m, v, tmp in zip(self.params, self.grads, self.m, self.v, self.tmp):
            m *= np.float32(B1)
            np.multiply(g, np.float32(1 - B1), out=tmp)
            m += tmp
            v *= np.float32(B2)
            np.square(g, out=tmp)
            tmp *= np.float32(1 - B2)
            v += tmp
            np.sqrt(v, out=tmp)
            tmp /= root
            tmp += np.float32(EPS)
            np.divide(m, tmp, out=tmp)
            tmp *= step_size
            p -= tmp


def torch_step(params, compiled=False):
    """PyTorch's step. compiled: the forward and loss through torch.compile (TorchInductor, C++
    on the CPU; AOTAutograd compiles the backward) and the optimizer step too, as PyTorch's
    tutorial on compiling the optimizer does."""
    import torch
    ps = [torch.tensor(p, requires_grad=True) for p in params]
    opt = torch.optim.Adam(ps, lr=LR)

    def loss_of(X, Y, W1, b1, W2, b2):
        return torch.nn.functional.cross_entropy(torch.relu(X @ W1 + b1) @ W2 + b2, Y)
    forward, update = ((torch.compile(loss_of), torch.compile(opt.step)) if compiled
                       else (loss_of, opt.step))

    def step(X, Y):
        opt.zero_grad()
        loss = forward(torch.from_numpy(X), torch.from_numpy(Y), *ps)
        loss.backward()
        update()
        return loss.item()
    return step


def feeds(batch: int):
    rng = np.random.default_rng(0)
    return rng.random((batch, D), dtype=np.float32), rng.integers(0, K, batch)


def make_step(name: str, batch: int):
    """step(X, Y) of one contender (bench/processes.py runs it in a process of its own)."""
    params = init_params()
    if name in GRAPHFLOW:
        return graphflow_step(params, GRAPHFLOW[name])
    if name == "numpy by hand":
        return NumpyStep(params, batch)
    return torch_step(params, compiled=name == "torch.compile")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=10, help="rounds of turns")
    ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "results",
                                                  "adam_step.json"))
    args = ap.parse_args()
    peak = matmul_peak()
    got = processes.measure("adam_step", CONTENDERS, BATCH, args.repeats)
    ms = {name: processes.summary(r["ms"]) for name, r in got.items()}
    base = ms["pytorch eager"]
    flops = mlp_step.step_flops(BATCH, hidden=H)
    print(f"MNIST Adam step, MLP {D}-{H}-{K}, batch {BATCH}, float32; sgemm peak "
          f"{peak / 1e9:.0f} GFLOP/s")
    print(f"{'contender':<20} {'ms/step':>8} {'x eager':>8} {'1st quartile':>12} {'x eager':>8} "
          f"{'% of peak':>9}  first call (fresh process): empty cache, warm cache")
    rows = []
    for name, (median, quartile) in ms.items():
        first = (round(got[name]["first_call_empty_cache"], 3),
                 round(got[name]["first_call_warm_cache"], 3))
        frac = flops / (median / 1e3) / peak
        rows.append({"contender": name, "ms_per_step": round(median, 3),
                     "ratio_to_pytorch_eager": round(median / base[0], 3),
                     "ms_per_step_first_quartile": round(quartile, 3),
                     "first_quartile_ratio_to_pytorch_eager": round(quartile / base[1], 3),
                     "fraction_of_peak": round(frac, 3),
                     "first_call_seconds": {"empty_cache": first[0], "warm_cache": first[1]}})
        print(f"{name:<20} {median:8.2f} {median / base[0]:8.2f} {quartile:12.2f} "
              f"{quartile / base[1]:8.2f} {100 * frac:8.0f}%  {first[0]:.2f} s, {first[1]:.2f} s")
    write_json(args.out, {"machine": machine(threads="torch: 2"),
                          "matmul_peak_gflops": round(peak / 1e9, 1), "rows": rows})


if __name__ == "__main__":
    main()
