"""Compile time against graph size: building a graph (gradients included) and compiling it (the
first call of sess.make_callable: extract, the passes, code generation) should both grow linearly.

    python bench/compile_time.py [--variables 100 300 1000 3000] [--chain 100000] [--out FILE]

Models: the Adam training step of a stack of N/2 small dense layers (N trainable variables:
a 4x4 kernel and a bias each, tanh between them, mean squared output as the loss); a chain of
`y = y * 1.0001 + 0.5` fetched at the end (about 4 nodes a step); the MNIST MLP's Adam step
(784-1024-10, built by examples/train_mnist.py). Targets: 1,000 variables compile in under 2 s,
the MNIST step in under 0.05 s. Times are wall-clock seconds; the compile time is the Program's
own account of it (report(): extract + passes + codegen), the best of --repeats fresh compiles.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np
from report import machine, write_json

import graphflow as gf

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(__file__)), "examples"))
from train_mnist import build_model  # noqa: E402  (examples/ is no package)

WIDTH, BATCH = 4, 8
TARGETS = {("adam", 1000): 2.0, ("mnist", 1): 0.05}  # (model, size) -> seconds
LARGE = 50000  # nodes: a graph larger than this is compiled once


def adam_step(variables: int):
    """The Adam step of variables/2 dense layers: (fetches, feeds, feed values)."""
    x = gf.placeholder(gf.float32, (None, WIDTH), name="x")
    h = x
    for i in range(variables // 2):
        kernel = gf.Variable(np.full((WIDTH, WIDTH), 0.1, np.float32), name=f"dense{i}/kernel")
        bias = gf.Variable(np.zeros(WIDTH, np.float32), name=f"dense{i}/bias")
        h = gf.tanh(h @ kernel + bias)
    loss = gf.reduce_mean(gf.square(h), name="loss")
    train = gf.train.AdamOptimizer(1e-3).minimize(loss)
    return [loss, train], [x], [np.ones((BATCH, WIDTH), np.float32)]


def chain(nodes: int):
    """y = y * 1.0001 + 0.5 repeated until the graph has about `nodes` nodes."""
    x = gf.placeholder(gf.float32, (WIDTH,), name="x")
    y = x
    for _ in range(nodes // 4):  # a constant and an op for each of * and +
        y = y * 1.0001 + 0.5
    return [y], [x], [np.ones(WIDTH, np.float32)]


def mnist(_=None):
    """The MNIST MLP's training step as examples/train_mnist.py builds it (batch 128)."""
    m = build_model(hidden=1024, loss_kind="bce", optimizer="adam", lr=1e-3, seed=0)
    feeds = [np.zeros((128, 784), np.float32), np.zeros(128, np.int64)]
    return [m["loss"], m["train_op"]], [m["x"], m["labels"]], feeds


def measure(model, size, repeats: int) -> dict:
    """Build the model in a fresh graph, then compile it `repeats` times (once where the graph
    is large); the best times."""
    builder = {"adam": adam_step, "chain": chain, "mnist": mnist}[model]
    graph = gf.Graph()
    with graph.as_default():
        t0 = time.perf_counter()
        fetches, feeds, values = builder(size)
        build = time.perf_counter() - t0
        best = None
        for _ in range(repeats if len(graph.nodes) <= LARGE else 1):
            program = gf.Session().make_callable(fetches, feeds)
            program(*values)
            report = program.report()
            if best is None or report.total_seconds < best.total_seconds:
                best = report
    passes = sum(r.seconds for r in best.records)
    return {"model": model, "size": size, "graph_nodes": len(graph.nodes),
            "nodes_in": best.nodes_in, "nodes_out": best.nodes_out,
            "build_s": round(build, 4), "compile_s": round(best.total_seconds, 4),
            "extract_s": round(best.extract_seconds, 4), "passes_s": round(passes, 4),
            "codegen_s": round(best.codegen_seconds, 4),
            "nodes_per_s": round(best.nodes_in / best.total_seconds)}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--variables", type=int, nargs="+", default=[100, 300, 1000, 3000])
    ap.add_argument("--chain", type=int, nargs="+", default=[100000])
    ap.add_argument("--repeats", type=int, default=3,
                    help="compiles per size (one above LARGE nodes)")
    ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "results",
                                                  "compile_time.json"))
    args = ap.parse_args()
    print(f"{'model':<6} {'size':>7} {'nodes':>7} {'-> out':>7} {'build s':>8} {'compile s':>9} "
          f"{'extract':>8} {'passes':>7} {'codegen':>8} {'nodes/s':>8}")
    runs = ([("adam", n) for n in args.variables] + [("chain", n) for n in args.chain]
            + [("mnist", 1)])
    rows = []
    for model, size in runs:
        row = measure(model, size, args.repeats)
        rows.append(row)
        print(f"{model:<6} {size:>7} {row['graph_nodes']:>7} {row['nodes_out']:>7} "
              f"{row['build_s']:8.3f} {row['compile_s']:9.3f} {row['extract_s']:8.3f} "
              f"{row['passes_s']:7.3f} {row['codegen_s']:8.3f} {row['nodes_per_s']:>8}")
    for (model, size), limit in TARGETS.items():
        got = [r["compile_s"] for r in rows if (r["model"], r["size"]) == (model, size)]
        if got:
            verdict = "met" if got[0] < limit else "MISSED"
            print(f"target: {model} {size}: {got[0]:.3f} s, under {limit} s: {verdict}")
    result = {"machine": machine(),
              "targets_s": {f"{m} {s}": t for (m, s), t in TARGETS.items()}, "rows": rows}
    write_json(args.out, result)


if __name__ == "__main__":
    main()
