"""One Adam training step of TF1's Deep MNIST CNN (examples/mnist_cnn.py), float32: graphflow's
generated numpy code (unfused and fused), its native backend, graphflow's torch backend on the
CPU, PyTorch eager (NCHW and channels_last, 2 threads), torch.compile and a hand-written numpy
step, measured side by side in one run, with each step's share of the machine's float32 matmul
peak and each one's first call in a fresh process, with empty compile caches and with warm ones.

    python bench/conv_step.py [--batches 50 128] [--repeats 10] [--out FILE.json]

How (bench/processes.py): every contender lives in a process of its own and they take turns.
Reported: median milliseconds per step and the first quartile (less moved by bursts of other
work on a shared machine), each contender's ratio to PyTorch eager's faster layout by each
measure, the share of the 1024^3 sgemm peak (step_flops / median time), and the first calls.
"""

from __future__ import annotations

import argparse
import os
import sys

import numpy as np
import processes
from report import machine, write_json

import graphflow as gf

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "examples"))
from mlp_step import matmul_peak  # noqa: E402
from mnist_cnn import build_model  # noqa: E402

LR, B1, B2, EPS = 1e-3, 0.9, 0.999, 1e-8


def graphflow_step(backend: str, fuse=None):
    """The example's net and Adam step for `backend`: (step(X, Y), its Program)."""
    graph = gf.Graph()
    with graph.as_default():
        model = build_model(LR, seed=0)
        sess = (gf.Session(backend=backend, device="cpu") if backend == "torch"
                else gf.Session(backend=backend, fuse=fuse))
        sess.run(gf.global_variables_initializer())
        prog = sess.make_callable([model["loss"], model["train_op"]],
                                  [model["x"], model["labels"], model["training"]])
    return (lambda X, Y: prog(X, Y, True)), prog


def torch_step(channels_last: bool, compiled=False):
    """PyTorch's version of the net and its Adam step. compiled: the net through torch.compile
    (TorchInductor; AOTAutograd compiles its backward) and the optimizer step too, as PyTorch's
    tutorial on compiling the optimizer does; the loss and zero_grad stay eager."""
    import torch
    from torch import nn
    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(1, 32, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
                        nn.Conv2d(32, 64, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
                        nn.Flatten(), nn.Linear(7 * 7 * 64, 1024), nn.ReLU(), nn.Dropout(0.5),
                        nn.Linear(1024, 10))
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    net = net.to(memory_format=fmt)
    opt = torch.optim.Adam(net.parameters(), lr=LR)
    forward, update = (torch.compile(net), torch.compile(opt.step)) if compiled else (net, opt.step)

    def step(X, Y):
        x = torch.from_numpy(X).view(-1, 1, 28, 28).contiguous(memory_format=fmt)
        opt.zero_grad()
        loss = nn.functional.cross_entropy(forward(x), torch.from_numpy(Y))
        loss.backward()
        update()
        return loss.item()
    return step


def _windows(x: np.ndarray, k: int) -> np.ndarray:
    """im2col of an NHWC batch padded for a k x k SAME conv: rows (b, i, j), columns (di, dj, c)."""
    b, h, w, c = x.shape
    p = k // 2
    xp = np.pad(x, ((0, 0), (p, p), (p, p), (0, 0)))
    win = np.lib.stride_tricks.sliding_window_view(xp, (k, k), axis=(1, 2))  # b,h,w,c,k,k
    return win.transpose(0, 1, 2, 4, 5, 3).reshape(b * h * w, k * k * c)


def _col2im(dcols: np.ndarray, shape, k: int) -> np.ndarray:
    """The adjoint of _windows: each column's gradient added back onto its pixel."""
    b, h, w, c = shape
    p = k // 2
    dcols = dcols.reshape(b, h, w, k, k, c)
    out = np.zeros((b, h + 2 * p, w + 2 * p, c), dcols.dtype)
    for i in range(k):
        for j in range(k):
            out[:, i:i + h, j:j + w] += dcols[:, :, :, i, j]
    return out[:, p:p + h, p:p + w]


def _pool(a: np.ndarray):
    b, h, w, c = a.shape
    r = a.reshape(b, h // 2, 2, w // 2, 2, c)
    m = r.max(axis=(2, 4))
    return m, r == m[:, :, None, :, None, :]


class NumpyStep:
    """The same step written by hand: im2col + one GEMM per conv, col2im for the adjoint."""

    def __init__(self, seed=0):
        rng = np.random.default_rng(seed)
        shapes = [(5, 5, 1, 32), (32,), (5, 5, 32, 64), (64,), (3136, 1024), (1024,),
                  (1024, 10), (10,)]
        self.params = [(rng.standard_normal(s) * 0.05).astype(np.float32) for s in shapes]
        self.m = [np.zeros_like(p) for p in self.params]
        self.v = [np.zeros_like(p) for p in self.params]
        self.t = 0
        self.rng = rng

    def __call__(self, X, Y):
        K1, b1, K2, b2, W3, b3, W4, b4 = self.params
        n = len(X)
        x = X.reshape(n, 28, 28, 1)
        cols1 = _windows(x, 5)
        a1 = np.maximum(cols1 @ K1.reshape(25, 32) + b1, 0).reshape(n, 28, 28, 32)
        p1, m1 = _pool(a1)
        cols2 = _windows(p1, 5)
        a2 = np.maximum(cols2 @ K2.reshape(800, 64) + b2, 0).reshape(n, 14, 14, 64)
        p2, m2 = _pool(a2)
        flat = p2.reshape(n, 3136)
        h3 = np.maximum(flat @ W3 + b3, 0)
        keep = (self.rng.random(h3.shape, np.float32) >= 0.5) * np.float32(2)
        h3d = h3 * keep
        logits = h3d @ W4 + b4
        z = logits - logits.max(axis=1, keepdims=True)
        e = np.exp(z)
        probs = e / e.sum(axis=1, keepdims=True)
        loss = float(-np.log(probs[np.arange(n), Y]).mean())
        dl = probs
        dl[np.arange(n), Y] -= 1
        dl /= n
        dh3 = (dl @ W4.T) * keep * (h3 > 0)
        dp2 = (dh3 @ W3.T).reshape(n, 7, 7, 64)
        dz2 = (m2 * dp2[:, :, None, :, None, :]).reshape(n, 14, 14, 64) * (a2 > 0)
        dz2 = dz2.reshape(-1, 64)
        dp1 = _col2im(dz2 @ K2.reshape(800, 64).T, (n, 14, 14, 32), 5)
        dz1 = ((m1 * dp1[:, :, None, :, None, :]).reshape(n, 28, 28, 32) * (a1 > 0))
        dz1 = dz1.reshape(-1, 32)
        grads = [(cols1.T @ dz1).reshape(K1.shape), dz1.sum(0), (cols2.T @ dz2).reshape(K2.shape),
                 dz2.sum(0), flat.T @ dh3, dh3.sum(0), h3d.T @ dl, dl.sum(0)]
        self._adam(grads)
        return loss

    def _adam(self, grads):
        self.t += 1
        lr = LR * np.sqrt(1 - B2 ** self.t) / (1 - B1 ** self.t)  # TF1's AdamOptimizer
        for p, g, m, v in zip(self.params, grads, self.m, self.v):
            m *= B1
            m += (1 - B1) * g
            v *= B2
            v += (1 - B2) * g * g
            p -= lr * m / (np.sqrt(v) + EPS)


CONTENDERS = ("graphflow numpy", "graphflow fused", "graphflow native", "numpy by hand",
              "pytorch eager NCHW", "pytorch eager channels_last", "torch.compile",
              "graphflow torch (cpu)")
GRAPHFLOW = {"graphflow numpy": ("numpy", None), "graphflow fused": ("numpy", True),
             "graphflow native": ("native", None), "graphflow torch (cpu)": ("torch", None)}
TORCH = {"pytorch eager NCHW", "pytorch eager channels_last", "torch.compile",
         "graphflow torch (cpu)"}


def step_flops(batch: int) -> int:
    """The step's multiply-adds times 2: each convolution and dense layer forward, conv1's and
    the dense layers' filter/weight gradients, conv2's filter and input gradients, the dense
    layers' input gradients (conv1 has none: its input is fed)."""
    conv1, conv2 = 2 * batch * 784 * 25 * 32, 2 * batch * 196 * 800 * 64
    dense, dense_1 = 2 * batch * 3136 * 1024, 2 * batch * 1024 * 10
    return 2 * conv1 + 3 * conv2 + 3 * dense + 3 * dense_1


def feeds(batch: int):
    rng = np.random.default_rng(batch)
    return (rng.random((batch, 784), dtype=np.float32),
            rng.integers(0, 10, batch).astype(np.int64))


def make_step(name: str, batch: int):
    """step(X, Y) of one contender (bench/processes.py runs it in a process of its own)."""
    if name in GRAPHFLOW:
        return graphflow_step(*GRAPHFLOW[name])[0]
    if name == "numpy by hand":
        return NumpyStep()
    if name == "torch.compile":
        return torch_step(channels_last=False, compiled=True)
    return torch_step(name.endswith("channels_last"))


def run(batch: int, repeats: int, peak: float) -> list:
    got = processes.measure("conv_step", CONTENDERS, batch, repeats)
    ms = {name: processes.summary(r["ms"]) for name, r in got.items()}
    best = [min(ms["pytorch eager NCHW"][q], ms["pytorch eager channels_last"][q])
            for q in (0, 1)]
    return [{"batch": batch, "contender": name, "ms_per_step": round(t[0], 2),
             "ratio_to_pytorch_best": round(t[0] / best[0], 3),
             "ms_per_step_first_quartile": round(t[1], 2),
             "first_quartile_ratio_to_pytorch_best": round(t[1] / best[1], 3),
             "fraction_of_peak": round(step_flops(batch) / (t[0] / 1e3) / peak, 3),
             "first_call_seconds": {"empty_cache": round(got[name]["first_call_empty_cache"], 3),
                                    "warm_cache": round(got[name]["first_call_warm_cache"], 3)}}
            for name, t in ms.items()]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--batches", type=int, nargs="+", default=[50, 128])
    ap.add_argument("--repeats", type=int, default=10, help="rounds of turns")
    ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "results",
                                                  "conv_step.json"))
    args = ap.parse_args()
    peak = matmul_peak()
    rows = [row for batch in args.batches for row in run(batch, args.repeats, peak)]
    print(f"float32 matmul peak (1024^3 sgemm): {peak / 1e9:.0f} GFLOP/s")
    print(f"{'batch':>5} {'contender':<28} {'ms/step':>8} {'x PyTorch best':>14} "
          f"{'1st quartile':>12} {'x PyTorch best':>14} {'% of peak':>9}")
    for r in rows:
        first = r["first_call_seconds"]
        extra = f"   first call {first['empty_cache']} s, {first['warm_cache']} s cached"
        print(f"{r['batch']:>5} {r['contender']:<28} {r['ms_per_step']:8.1f} "
              f"{r['ratio_to_pytorch_best']:14.2f} {r['ms_per_step_first_quartile']:12.1f} "
              f"{r['first_quartile_ratio_to_pytorch_best']:14.2f} "
              f"{100 * r['fraction_of_peak']:8.0f}%{extra}")
    write_json(args.out, {"machine": machine(threads="torch: 2"),
                          "matmul_peak_gflops": round(peak / 1e9, 1), "rows": rows})


if __name__ == "__main__":
    main()
