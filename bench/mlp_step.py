"""One training step of the product's MLP, sigma(W2 relu(X W1 + b1) + b2), H=256, float32, BCE on
the 10 sigmoid outputs, SGD: graphflow compiled (numpy backend) vs the reference interpreter vs
hand-written numpy vs PyTorch eager vs graphflow's torch backend on the CPU, measured side by side
in one run.

    python bench/mlp_step.py [--batches 32 128 1024] [--repeats 30] [--out FILE.json]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import numpy as np
from report import machine, write_json

import graphflow as gf

D, H, K, LR = 784, 256, 10, 0.1


def init_params(seed=0, hidden=H):
    """He-initialized W1 (D x hidden), W2 (hidden x K) and zero biases, float32."""
    rng = np.random.default_rng(seed)
    return [(rng.standard_normal((D, hidden)) * np.sqrt(2 / D)).astype(np.float32),
            np.zeros(hidden, np.float32),
            (rng.standard_normal((hidden, K)) * np.sqrt(1 / hidden)).astype(np.float32),
            np.zeros(K, np.float32)]


def graphflow_step(params, optimize, backend="numpy", device="cpu", capture=False, fuse=False):
    """The product's net as a user writes it: sigmoid outputs, hand-written BCE, SGD. `backend`,
    `device` and `capture` choose how graphflow runs it (bench/peers.py, bench/gpu_step.py)."""
    graph = gf.Graph()
    with graph.as_default():
        x = gf.placeholder(gf.float32, (None, D), name="x")
        y = gf.placeholder(gf.float32, (None, K), name="y")
        W1, b1, W2, b2 = [gf.Variable(p, name=n) for p, n in zip(params, ["W1", "b1", "W2", "b2"])]
        out = gf.sigmoid(gf.relu(x @ W1 + b1) @ W2 + b2)
        loss = gf.reduce_mean(-(y * gf.log(out) + (1 - y) * gf.log(1 - out)), name="loss")
        grads = gf.gradients(loss, [W1, b1, W2, b2])
        train = gf.group(*[v.assign_sub(LR * g) for v, g in zip([W1, b1, W2, b2], grads)])
        sess = (gf.Session(optimize=optimize, fuse=fuse) if backend == "numpy" else
                gf.Session(backend=backend, device=device))
        return sess.make_callable([loss, train], [x, y], capture=capture)


class NumpyStep:
    """Hand-written numpy: preallocated buffers, out= everywhere, no gradient for X."""

    def __init__(self, params, batch):
        self.W1, self.b1, self.W2, self.b2 = [p.copy() for p in params]
        f = np.float32
        self.h = np.empty((batch, H), f)
        self.z = np.empty((batch, K), f)
        self.s = np.empty((batch, K), f)
        self.t = np.empty((batch, K), f)
        self.dW1 = np.empty((D, H), f)
        self.dW2 = np.empty((H, K), f)
        self.dh = np.empty((batch, H), f)
        self.mask = np.empty((batch, H), bool)

    def __call__(self, X, Y):
        h, z, s, t, dh = self.h, self.z, self.s, self.t, self.dh
        np.matmul(X, self.W1, out=h)
        h += self.b1
        np.maximum(h, 0, out=h)
        np.matmul(h, self.W2, out=z)
        z += self.b2
        # loss = mean(max(z, 0) - z*y + log1p(exp(-|z|)))
        np.abs(z, out=t)
        np.negative(t, out=t)
        np.exp(t, out=t)
        np.log1p(t, out=t)
        np.maximum(z, 0, out=s)
        t += s
        np.multiply(z, Y, out=s)
        t -= s
        loss = t.mean()
        # dz = (sigmoid(z) - y) / (B*K)
        np.negative(z, out=s)
        np.exp(s, out=s)
        s += 1
        np.reciprocal(s, out=s)
        s -= Y
        s *= 1.0 / s.size
        np.matmul(h.T, s, out=self.dW2)
        db2 = s.sum(axis=0)
        np.matmul(s, self.W2.T, out=dh)
        np.greater(h, 0, out=self.mask)
        dh *= self.mask
        np.matmul(X.T, dh, out=self.dW1)
        db1 = dh.sum(axis=0)
        self.dW1 *= LR
        self.W1 -= self.dW1
        self.b1 -= LR * db1
        self.dW2 *= LR
        self.W2 -= self.dW2
        self.b2 -= LR * db2
        return loss


def torch_sgd_step(torch, ps, X, Y):
    """PyTorch's version of the step on parameter tensors `ps`: forward, autograd, SGD in place;
    returns the loss tensor (shared with bench/gpu_step.py's eager and captured steps)."""
    W1, b1, W2, b2 = ps
    logits = torch.relu(X @ W1 + b1) @ W2 + b2
    loss = torch.nn.functional.binary_cross_entropy_with_logits(logits, Y)
    grads = torch.autograd.grad(loss, ps)
    with torch.no_grad():
        for p, g in zip(ps, grads):
            p.sub_(LR * g)
    return loss


def torch_step(params, device="cpu"):
    import torch
    if device == "cpu":
        torch.set_num_threads(2)
    ps = [torch.tensor(p, device=device, requires_grad=True) for p in params]

    def step(X, Y):
        if isinstance(X, np.ndarray):
            X, Y = torch.from_numpy(X), torch.from_numpy(Y)
        return torch_sgd_step(torch, ps, X, Y).item()
    return step


def matmul_peak(n=1024, repeats=5):
    a = np.random.default_rng(0).standard_normal((n, n)).astype(np.float32)
    b = a.copy()
    c = np.empty_like(a)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        np.matmul(a, b, out=c)
        times.append(time.perf_counter() - t0)
    return 2 * n ** 3 / min(times)


def step_flops(batch):
    return 2 * batch * (D * H + H * K) + 2 * batch * (H * K + K * H + D * H)


def measure(steps, X, Y, repeats):
    """Median microseconds per step, the contenders interleaved so noise hits them alike."""
    for f in steps.values():
        for _ in range(3):
            f(X, Y)
    times = {name: [] for name in steps}
    for _ in range(repeats):
        for name, f in steps.items():
            t0 = time.perf_counter()
            f(X, Y)
            times[name].append(time.perf_counter() - t0)
    return {name: statistics.median(t) * 1e6 for name, t in times.items()}


def measure_alone(step, X, Y, repeats):
    """Median microseconds per step of one contender run on its own, then a pause: PyTorch's
    OpenMP threads spin for a while after each op and would steal the cores from the numpy
    contenders if interleaved with them."""
    us = measure({"alone": step}, X, Y, repeats)["alone"]
    time.sleep(0.5)
    return us


def markdown_table(rows) -> str:
    """The README's table: microseconds per step and the ratios that the targets are about."""
    lines = ["| batch | graphflow compiled | fused | interpreter | numpy by hand | PyTorch eager "
             "| graphflow torch backend (CPU) | compiled / numpy | compiled / PyTorch "
             "| fused / PyTorch | interpreter / compiled | torch backend / PyTorch |",
             "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for batch in sorted({r["batch"] for r in rows}):
        us = {r["contender"]: r["us_per_step"] for r in rows if r["batch"] == batch}
        c, i = us["graphflow compiled"], us["graphflow interpreter"]
        n, t = us["numpy by hand"], us["pytorch eager"]
        b, f = us["graphflow torch (cpu)"], us["graphflow fused"]
        lines.append(f"| {batch} | {c:.0f} µs | {f:.0f} µs | {i:.0f} µs | {n:.0f} µs | {t:.0f} µs "
                     f"| {b:.0f} µs | {c / n:.2f} | {c / t:.2f} | {f / t:.2f} | {i / c:.2f} "
                     f"| {b / t:.2f} |")
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--batches", type=int, nargs="+", default=[32, 128, 1024])
    ap.add_argument("--repeats", type=int, default=30)
    ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "results",
                                                  "mlp_step.json"))
    args = ap.parse_args()
    params = init_params()
    peak = matmul_peak()
    rows = []
    print(f"float32 matmul peak (1024^3): {peak / 1e9:.1f} GFLOP/s; "
          f"OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE', 'unset')}")
    print(f"{'batch':>5} {'contender':<22} {'us/step':>9} {'x numpy':>8} {'% peak':>7}")
    for batch in args.batches:
        rng = np.random.default_rng(batch)
        X = rng.random((batch, D), dtype=np.float32)
        Y = np.eye(K, dtype=np.float32)[rng.integers(0, K, batch)]
        steps = {
            "graphflow compiled": graphflow_step(params, optimize=True),
            "graphflow fused": graphflow_step(params, optimize=True, fuse=True),
            "graphflow interpreter": graphflow_step(params, optimize=False),
            "numpy by hand": NumpyStep(params, batch),
        }
        us = measure(steps, X, Y, args.repeats)
        us["pytorch eager"] = measure_alone(torch_step(params), X, Y, args.repeats)
        us["graphflow torch (cpu)"] = measure_alone(graphflow_step(params, True, "torch"), X, Y,
                                                    args.repeats)
        base = us["numpy by hand"]
        for name, t in us.items():
            frac = step_flops(batch) / (t * 1e-6) / peak
            rows.append({"batch": batch, "contender": name, "us_per_step": round(t, 1),
                         "ratio_to_numpy": round(t / base, 3), "fraction_of_peak": round(frac, 3)})
            print(f"{batch:>5} {name:<22} {t:9.1f} {t / base:8.2f} {100 * frac:6.1f}%")
    coretype = os.environ.get("OPENBLAS_CORETYPE", "unset")
    result = {"machine": machine(openblas_coretype=coretype),
              "matmul_peak_gflops": round(peak / 1e9, 1), "rows": rows}
    print()
    print(markdown_table(rows))
    write_json(args.out, result)


if __name__ == "__main__":
    main()
