"""One training step of the product's MLP, sigma(W2 relu(X W1 + b1) + b2), H=256, float32, BCE on
the 10 sigmoid outputs, SGD: graphflow compiled (numpy backend; unfused and fused; native) vs the
reference interpreter vs hand-written numpy vs PyTorch eager vs torch.compile vs graphflow's torch
backend on the CPU, measured side by side in one run, with the share of the machine's measured
sgemm peak and each one's first call (its compile): in this process, and in a fresh process with
empty compile caches and with warm ones (bench/processes.py).

    python bench/mlp_step.py [--batches 32 128 1024] [--repeats 30] [--out FILE.json]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import numpy as np
import processes
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
                gf.Session(backend=backend) if backend == "native" else
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


def torch_compiled_step(params):
    """torch.compile's version: the forward and loss compiled (TorchInductor, C++ on the CPU; its
    backward compiled by AOTAutograd), the gradients and the SGD update as in eager mode.
    Compiling the whole step (autograd.grad inside) breaks the graph and ran slower than eager."""
    import torch
    torch.set_num_threads(2)
    ps = [torch.tensor(p, requires_grad=True) for p in params]

    def loss_of(X, Y, W1, b1, W2, b2):
        logits = torch.relu(X @ W1 + b1) @ W2 + b2
        return torch.nn.functional.binary_cross_entropy_with_logits(logits, Y)
    compiled = torch.compile(loss_of)

    def step(X, Y):
        loss = compiled(torch.from_numpy(X), torch.from_numpy(Y), *ps)
        grads = torch.autograd.grad(loss, ps)
        with torch.no_grad():
            torch._foreach_add_(ps, grads, alpha=-LR)
        return loss.item()
    return step


def first_call_seconds(make, X, Y):
    """(the step `make()` builds, seconds for building it and its first call: the compile)."""
    t0 = time.perf_counter()
    step = make()
    step(X, Y)
    return step, time.perf_counter() - t0


def matmul_peak(n=1024, repeats=20):
    a = np.random.default_rng(0).standard_normal((n, n)).astype(np.float32)
    b = a.copy()
    c = np.empty_like(a)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        np.matmul(a, b, out=c)
        times.append(time.perf_counter() - t0)
    return 2 * n ** 3 / min(times)


def step_flops(batch, hidden=H):
    """The step's multiply-adds times 2: both layers forward, both weight gradients and the
    hidden layer's input gradient (none for X: it is fed)."""
    return 2 * batch * (D * hidden + hidden * K) + 2 * batch * (hidden * K + K * hidden
                                                                + D * hidden)


def measure(steps, X, Y, repeats, block=5):
    """Median microseconds per step. The contenders take turns, `block` steps each, for `repeats`
    rounds, so noise hits them alike; within a turn a contender runs as in a training loop (its
    arrays in cache), which stepping them one by one would not let it (the interpreter's fresh
    arrays evict the others' between every step)."""
    for f in steps.values():
        for _ in range(3):
            f(X, Y)
    times = {name: [] for name in steps}
    for _ in range(repeats):
        for name, f in steps.items():
            for _ in range(block):
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


CONTENDERS = ("graphflow compiled", "graphflow fused", "graphflow native", "graphflow interpreter",
              "numpy by hand", "pytorch eager", "torch.compile", "graphflow torch (cpu)")


def markdown_table(rows) -> str:
    """The README's table: microseconds per step, the ratios the targets are about, and the
    compiled step's share of the machine's sgemm peak."""
    lines = ["| batch | graphflow compiled | fused | native | interpreter | numpy by hand "
             "| PyTorch eager | torch.compile | graphflow torch backend (CPU) "
             "| compiled / PyTorch eager | native / PyTorch eager | compiled / torch.compile "
             "| compiled, % of sgemm peak | native, % of sgemm peak |",
             "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for batch in sorted({r["batch"] for r in rows}):
        got = {r["contender"]: r for r in rows if r["batch"] == batch}
        us = {name: got[name]["us_per_step"] for name in CONTENDERS}
        c = us["graphflow compiled"]
        cells = " | ".join(f"{us[name]:.0f} µs" for name in CONTENDERS)
        n = us["graphflow native"]
        lines.append(f"| {batch} | {cells} | {c / us['pytorch eager']:.2f} "
                     f"| {n / us['pytorch eager']:.2f} | {c / us['torch.compile']:.2f} "
                     f"| {100 * got['graphflow compiled']['fraction_of_peak']:.0f}% "
                     f"| {100 * got['graphflow native']['fraction_of_peak']:.0f}% |")
    return "\n".join(lines)


def contenders(params, batch):
    """name -> a function making the step, in CONTENDERS order; the first group is measured in
    turns, the rest (PyTorch's threads) each alone."""
    return {
        "graphflow compiled": lambda: graphflow_step(params, optimize=True),
        "graphflow fused": lambda: graphflow_step(params, optimize=True, fuse=True),
        "graphflow native": lambda: graphflow_step(params, True, "native"),
        "graphflow interpreter": lambda: graphflow_step(params, optimize=False),
        "numpy by hand": lambda: NumpyStep(params, batch),
    }, {
        "pytorch eager": lambda: torch_step(params),
        "torch.compile": lambda: torch_compiled_step(params),
        "graphflow torch (cpu)": lambda: graphflow_step(params, True, "torch"),
    }


TORCH = {"pytorch eager", "torch.compile", "graphflow torch (cpu)"}


def feeds(batch):
    rng = np.random.default_rng(batch)
    return (rng.random((batch, D), dtype=np.float32),
            np.eye(K, dtype=np.float32)[rng.integers(0, K, batch)])


def make_step(name, batch):
    """step(X, Y) of one contender, for bench/processes.py's fresh processes."""
    in_turns, alone = contenders(init_params(), batch)
    return {**in_turns, **alone}[name]()


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
    print(f"{'batch':>5} {'contender':<22} {'us/step':>9} {'x numpy':>8} {'% peak':>7} "
          f"{'first call':>11}  (in a fresh process: empty caches, warm caches)")
    for batch in args.batches:
        fresh = processes.first_calls("mlp_step", CONTENDERS, batch)
        X, Y = feeds(batch)
        in_turns, alone = contenders(params, batch)
        made = {name: first_call_seconds(make, X, Y) for name, make in in_turns.items()}
        us = measure({name: step for name, (step, _) in made.items()}, X, Y, args.repeats)
        for name, make in alone.items():
            made[name] = first_call_seconds(make, X, Y)
            us[name] = measure_alone(made[name][0], X, Y, args.repeats)
        base = us["numpy by hand"]
        for name in CONTENDERS:
            t, first = us[name], made[name][1]
            frac = step_flops(batch) / (t * 1e-6) / peak
            rows.append({"batch": batch, "contender": name, "us_per_step": round(t, 1),
                         "ratio_to_numpy": round(t / base, 3), "fraction_of_peak": round(frac, 3),
                         "first_call_seconds": round(first, 4),
                         "first_call_seconds_fresh_process": {
                             "empty_cache": round(fresh[name][0], 3),
                             "warm_cache": round(fresh[name][1], 3)}})
            print(f"{batch:>5} {name:<22} {t:9.1f} {t / base:8.2f} {100 * frac:6.1f}% "
                  f"{first:10.3f}s  ({fresh[name][0]:.2f} s, {fresh[name][1]:.2f} s)")
    after = matmul_peak()  # the best of a reading before and one after: a busy moment at either
    if after > peak:      # end would otherwise make the peak look low (shares over 100%)
        for r in rows:
            r["fraction_of_peak"] = round(r["fraction_of_peak"] * peak / after, 3)
        peak = after
    coretype = os.environ.get("OPENBLAS_CORETYPE", "unset")
    result = {"machine": machine(openblas_coretype=coretype),
              "matmul_peak_gflops": round(peak / 1e9, 1), "rows": rows}
    print()
    print(markdown_table(rows))
    write_json(args.out, result)


if __name__ == "__main__":
    main()
