"""One training step of the product's MLP (bench/mlp_step.py's net, data and SGD) in graphflow and
in its peers: TensorFlow 1 graph mode, JAX jit, PyTorch eager, and graphflow's torch backend where
it is there, measured side by side in one run after checking that all compute the same loss.

    python bench/peers.py [--batches 32 128 1024] [--repeats 30] [--rounds 5] [--out FILE.json]

A contender whose library is missing is skipped with the reason printed.
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import numpy as np
from mlp_step import LR, D, K, graphflow_step, init_params, measure, step_flops, torch_step
from report import write_json

THREADS = 2  # the machine's cores
BASE = "graphflow numpy"


def graphflow_torch_step(params):
    """graphflow_step's graph, run by graphflow's torch backend on the CPU."""
    return graphflow_step(params, True, backend="torch", device="cpu")


def tf1_step(params):
    """TensorFlow 1 as a TF1 user writes it: placeholders, variables, the optimizer's minimize,
    a session callable."""
    import tensorflow as tf

    v1 = tf.compat.v1
    v1.disable_eager_execution()
    graph = tf.Graph()
    with graph.as_default():
        x = v1.placeholder(tf.float32, (None, D), name="x")
        y = v1.placeholder(tf.float32, (None, K), name="y")
        W1, b1, W2, b2 = [v1.Variable(p, name=n) for p, n in zip(params, ["W1", "b1", "W2", "b2"])]
        logits = tf.matmul(tf.nn.relu(tf.matmul(x, W1) + b1), W2) + b2
        loss = tf.reduce_mean(tf.nn.sigmoid_cross_entropy_with_logits(labels=y, logits=logits))
        train = v1.train.GradientDescentOptimizer(LR).minimize(loss)
        init = v1.global_variables_initializer()
    config = v1.ConfigProto(intra_op_parallelism_threads=THREADS,
                            inter_op_parallelism_threads=THREADS)
    sess = v1.Session(graph=graph, config=config)
    sess.run(init)
    return sess.make_callable([loss, train], [x, y])


def jax_step(params):
    """JAX: one jitted function (params, X, Y) -> (loss, new params), the params donated so XLA
    updates them in place; each step waits for its results."""
    import jax
    import jax.numpy as jnp

    def loss_fn(ps, X, Y):
        W1, b1, W2, b2 = ps
        z = jax.nn.relu(X @ W1 + b1) @ W2 + b2
        # the stable BCE-with-logits, as TF's and torch's
        return jnp.mean(jnp.maximum(z, 0) - z * Y + jnp.log1p(jnp.exp(-jnp.abs(z))))

    def update(ps, X, Y):
        loss, grads = jax.value_and_grad(loss_fn)(ps, X, Y)
        return loss, [p - LR * g for p, g in zip(ps, grads)]

    update = jax.jit(update, donate_argnums=0)
    cpu = jax.devices("cpu")[0]
    state = [jax.device_put(np.array(p), cpu) for p in params]

    def step(X, Y):
        nonlocal state
        loss, state = update(state, X, Y)
        jax.block_until_ready((loss, state))
        return loss
    return step


# name -> builder of a step (X, Y) -> loss from the initial params
CONTENDERS = {
    "tensorflow 1 graph": tf1_step,
    "jax jit": jax_step,
    "pytorch eager": torch_step,
    "graphflow torch": graphflow_torch_step,
}


def first_float(value) -> float:
    """The loss out of what a step returns: a number, a 0-d array/tensor, or [loss, None]."""
    if isinstance(value, (list, tuple)):
        value = value[0]
    return float(value)


def build(params, skipped):
    """Every contender whose library is there, each from its own copy of the params."""
    steps = {BASE: graphflow_step([p.copy() for p in params], optimize=True)}
    for name, builder in CONTENDERS.items():
        if name in skipped:
            continue
        try:
            steps[name] = builder([p.copy() for p in params])
        except (ImportError, TypeError) as e:  # library missing, or Session lacks backend=
            skipped[name] = f"{type(e).__name__}: {e}"
            print(f"skipping {name}: {skipped[name]}")
    return steps


def check_same_loss(steps, X, Y, skipped, rtol=1e-5):
    """The first step's loss of each contender against graphflow's, from the same params and
    batch: a benchmark of different computations would be worthless."""
    losses = {}
    for name, f in steps.items():
        losses[name] = first_float(f(X, Y))
    base = losses[BASE]
    bad = []
    for name, loss in losses.items():
        rel = abs(loss - base) / abs(base)
        print(f"  first-step loss {name:<20} {loss:.8f}  rel. diff {rel:.1e}")
        if rel > rtol:
            bad.append(name)
    if bad:
        raise SystemExit(f"first-step losses differ from {BASE}'s by more than {rtol}: {bad}")
    return losses


def measure_rounds(steps, X, Y, repeats, rounds):
    """Median microseconds per step. Each contender runs `repeats` steps on its own then pauses
    (TF's, XLA's and torch's thread pools spin after each op and would steal the two cores from
    whatever runs next), and the contenders take turns over `rounds` rounds so that drifts in
    the machine's speed hit them alike. Returns each contender's per-round medians."""
    per_round = {name: [] for name in steps}
    for _ in range(rounds):
        for name, f in steps.items():
            per_round[name].append(measure({name: f}, X, Y, repeats)[name])
            time.sleep(0.5)
    return per_round


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def versions() -> dict:
    out = {"python": platform.python_version(), "numpy": np.__version__}
    for mod in ["graphflow", "tensorflow", "jax", "jaxlib", "torch"]:
        try:
            out[mod] = __import__(mod).__version__
        except (ImportError, AttributeError):
            out[mod] = None
    return out


def threads() -> dict:
    out = {"tensorflow": f"intra_op={THREADS}, inter_op={THREADS}",
           "jax": os.environ.get("XLA_FLAGS") or "XLA CPU default (one thread per core)"}
    try:
        import torch
        out["torch"] = f"set_num_threads({torch.get_num_threads()})"
    except ImportError:
        pass
    try:
        from threadpoolctl import threadpool_info
        out["numpy blas"] = [f"{i['internal_api']} {i.get('architecture')} x{i['num_threads']}"
                             for i in threadpool_info() if i["user_api"] == "blas"]
    except ImportError:
        pass
    return out


def markdown_table(rows, names) -> str:
    """Microseconds per step, each with its ratio to graphflow numpy."""
    lines = ["| batch | " + " | ".join(names) + " |", "|---:|" + "---:|" * len(names)]
    for batch in sorted({r["batch"] for r in rows}):
        by = {r["contender"]: r for r in rows if r["batch"] == batch}
        cells = [f"{by[n]['us_per_step']:.0f} µs ({by[n]['ratio_to_graphflow']:.2f}x)"
                 if n in by else "–" for n in names]
        lines.append(f"| {batch} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--batches", type=int, nargs="+", default=[32, 128, 1024])
    ap.add_argument("--repeats", type=int, default=30)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "results",
                                                  "peers.json"))
    args = ap.parse_args()
    params = init_params()
    skipped = {}
    rows = []
    info = versions()
    thread_info = threads()
    print(f"CPU: {cpu_model()} ({os.cpu_count()} cores); "
          f"OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE', 'unset')}")
    print("versions: " + ", ".join(f"{k} {v}" for k, v in info.items() if v))
    print("threads: " + "; ".join(f"{k}: {v}" for k, v in thread_info.items()))
    for batch in args.batches:
        rng = np.random.default_rng(batch)
        X = rng.random((batch, D), dtype=np.float32)
        Y = np.eye(K, dtype=np.float32)[rng.integers(0, K, batch)]
        print(f"batch {batch}:")
        steps = build(params, skipped)
        losses = check_same_loss(steps, X, Y, skipped)
        per_round = measure_rounds(steps, X, Y, args.repeats, args.rounds)
        us = {name: float(np.median(r)) for name, r in per_round.items()}
        for name, t in us.items():
            rows.append({"batch": batch, "contender": name, "us_per_step": round(t, 1),
                         "ratio_to_graphflow": round(t / us[BASE], 3),
                         "gflops": round(step_flops(batch) / (t * 1e-6) / 1e9, 1),
                         "us_per_round": [round(r, 1) for r in per_round[name]],
                         "first_step_loss": losses[name]})
    names = [BASE] + [n for n in CONTENDERS if n not in skipped]
    print()
    print(f"{'batch':>5} {'contender':<20} {'us/step':>9} {'x gf numpy':>10} {'GFLOP/s':>8}"
          "  rounds (us)")
    for r in rows:
        spread = " ".join(f"{u:.0f}" for u in r["us_per_round"])
        print(f"{r['batch']:>5} {r['contender']:<20} {r['us_per_step']:9.1f} "
              f"{r['ratio_to_graphflow']:10.2f} {r['gflops']:8.1f}  {spread}")
    print()
    print(markdown_table(rows, names))
    result = {"machine": {"cpu": cpu_model(), "cpus": os.cpu_count(),
                          "openblas_coretype": os.environ.get("OPENBLAS_CORETYPE", "unset")},
              "versions": info, "threads": thread_info,
              "method": {"repeats": args.repeats, "rounds": args.rounds,
                         "statistic": "median over rounds of the median per-step time"},
              "skipped": skipped, "rows": rows}
    write_json(args.out, result)


if __name__ == "__main__":
    main()
