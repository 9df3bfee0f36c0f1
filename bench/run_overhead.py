"""What a run's all-or-nothing guarantee costs per step (make bench).

A compiled step runs inside Program._run, which takes the session's lock, holds Ctrl-C from the
first write to the end (compiler/interrupts.py), keeps undo copies where a statement that can
raise follows a write (none in these training steps), and with random ops keeps each stream's
state for a rollback. This script times, side by side in one run:

- the pieces: a hold/release pair, the session lock, a random stream's saved state;
- the MLP training step (784-256-10, float32, SGD and Adam; with dropout for the random state)
  called as users call it, against its bare generated function (same code, same arrays, none of
  the run's bookkeeping).

    python bench/run_overhead.py [--batches 32 128] [--repeats 200] [--out FILE.json]
"""

from __future__ import annotations

import argparse
import os
import statistics
import threading
import time
import timeit

import numpy as np
from report import machine, write_json

import graphflow as gf
from compiler import interrupts

D, H, K = 784, 256, 10


def pieces() -> dict:
    """Microseconds of each piece, the best of 7 repeats of 20,000 calls."""
    lock = threading.RLock()
    gen = np.random.default_rng(0)

    def hold_release():
        mark = interrupts.depth()
        interrupts.hold()
        interrupts.release(mark)

    def take_lock():
        with lock:
            pass

    def stream_state():
        return gen.bit_generator.state

    return {name: min(timeit.repeat(f, number=20_000, repeat=7)) / 20_000 * 1e6
            for name, f in [("hold + release", hold_release), ("session lock", take_lock),
                            ("one stream's state", stream_state)]}


def build(optimizer: str, dropout: bool):
    graph = gf.Graph()
    with graph.as_default():
        gf.set_random_seed(0)
        x = gf.placeholder(gf.float32, (None, D), name="x")
        y = gf.placeholder(gf.float32, (None, K), name="y")
        h = gf.layers.dense(x, H, activation=gf.nn.relu)
        if dropout:
            h = gf.nn.dropout(h, rate=0.1)
        logits = gf.layers.dense(h, K)
        loss = gf.reduce_mean(gf.nn.sigmoid_cross_entropy_with_logits(labels=y, logits=logits))
        opt = (gf.train.AdamOptimizer(1e-3) if optimizer == "adam"
               else gf.train.GradientDescentOptimizer(0.1))
        train = opt.minimize(loss)
    sess = gf.Session(graph=graph)
    return sess, sess.make_callable([loss, train], [x, y])


def bare(step, sess, X, Y):
    """The generated function of the step's last signature, called directly."""
    gen = step._last.generated
    variables = [sess._store.values[name] for name in gen.variable_names]
    extra = [sess._store.begin()] if gen.needs_state else []

    def call():
        mark = interrupts.depth()
        with np.errstate(all="ignore"):
            gen.function(X, Y, *variables, *extra)
        interrupts.release(mark)  # the code's own hold() before its first write
    return call, len(gen.undo)


def steps(batches, repeats) -> list:
    rows = []
    for optimizer, dropout in [("sgd", False), ("adam", False), ("sgd", True)]:
        for batch in batches:
            rng = np.random.default_rng(batch)
            X = rng.random((batch, D), dtype=np.float32)
            Y = np.eye(K, dtype=np.float32)[rng.integers(0, K, batch)]
            sess, step = build(optimizer, dropout)
            for _ in range(5):
                step(X, Y)
            call, copies = bare(step, sess, X, Y)
            times = {"step": [], "bare": []}
            for _ in range(repeats):  # interleaved, so noise hits both alike
                for name, f in (("step", lambda: step(X, Y)), ("bare", call)):
                    t0 = time.perf_counter()
                    f()
                    times[name].append(time.perf_counter() - t0)
            full, raw = (statistics.median(times[k]) * 1e6 for k in ("step", "bare"))
            rows.append({"step": f"{optimizer}{' + dropout' if dropout else ''}",
                         "batch": batch, "undo_copies": copies, "us_step": round(full, 1),
                         "us_bare": round(raw, 1), "us_overhead": round(full - raw, 1)})
    return rows


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--batches", type=int, nargs="+", default=[32, 128])
    ap.add_argument("--repeats", type=int, default=200)
    ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "results",
                                                  "run_overhead.json"))
    args = ap.parse_args()
    parts = pieces()
    for name, us in parts.items():
        print(f"{name:<20} {us:6.2f} us")
    rows = steps(args.batches, args.repeats)
    print(f"\n{'step':<15} {'batch':>5} {'copies':>6} {'us/step':>8} {'bare':>8} {'run cost':>9}")
    for r in rows:
        print(f"{r['step']:<15} {r['batch']:>5} {r['undo_copies']:>6} {r['us_step']:8.1f} "
              f"{r['us_bare']:8.1f} {r['us_overhead']:9.1f}")
    write_json(args.out, {"machine": machine(), "rows": rows,
                          "pieces_us": {k: round(v, 3) for k, v in parts.items()}})


if __name__ == "__main__":
    main()
