"""Data parallel on the CPU: steps/s of the bench MLP (784-256-10, float32, BCE, SGD; see
mlp_step.py) at a global batch of 1024, in one plain process and in 1 and 2 gloo workers
(gf.distribute over torch.distributed, loopback), with what the all-reduce costs.

    python bench/data_parallel.py [--steps 40] [--rounds 5] [--backends numpy torch] [--out FILE]

Every configuration runs in fresh processes, rounds interleaved (plain, gloo 1, gloo 2, plain,
...); each number is the median over rounds of a round's median step time on rank 0 (the best
round is shown too: on a shared machine a busy core slows a round of 2-thread BLAS badly).
Threads are split between the workers (2 cores: 2 BLAS threads for one process, 1 each for two).
Besides the training step, each worker times the same step without the all-reduce (its own
shard, the plain optimizer: "compute only") and a bare all-reduce of the gradient bucket, so the
overhead of averaging the gradients shows directly.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np
from mlp_step import LR, D, H, K, init_params
from report import machine, write_json

import graphflow as gf
from compiler.ops.distributed import ALL_REDUCE_MEAN

GLOBAL_BATCH = 1024
MODES = (("plain", 1), ("gloo", 1), ("gloo", 2))  # (how, workers)
TIMEOUT = 600  # seconds for one spawned configuration


# -- one worker ----------------------------------------------------------------------------------
def build_step(backend: str, distributed: bool):
    """The bench MLP's training step as a callable (x, y) -> loss, in a fresh graph; with
    distributed=True the optimizer averages the gradients over the workers."""
    graph = gf.Graph()
    with graph.as_default():
        x = gf.placeholder(gf.float32, (None, D), name="x")
        y = gf.placeholder(gf.float32, (None, K), name="y")
        params = [gf.Variable(p, name=n) for p, n in zip(init_params(), ["W1", "b1", "W2", "b2"])]
        W1, b1, W2, b2 = params
        out = gf.sigmoid(gf.relu(x @ W1 + b1) @ W2 + b2)
        loss = gf.reduce_mean(-(y * gf.log(out) + (1 - y) * gf.log(1 - out)), name="loss")
        opt = gf.train.GradientDescentOptimizer(LR)
        if distributed:
            opt = gf.distribute.DistributedOptimizer(opt)
        train = opt.minimize(loss, var_list=params)
        sess = gf.Session() if backend == "numpy" else gf.Session(backend=backend, device="cpu")
        if distributed:
            gf.distribute.broadcast_variables(sess)
        return sess.make_callable([loss, train], [x, y])


def timed(step, xs, ys, steps: int) -> float:
    """Median seconds per call over `steps` calls, every worker starting together."""
    gf.distribute.barrier()
    times = []
    for _ in range(steps):
        t0 = time.perf_counter()
        step(xs, ys)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def worker(args) -> None:
    """Time the steps in this process (one of the workers when RANK is set); rank 0 writes the
    medians to args.result."""
    if args.backend == "torch":
        import torch
        torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))
    distributed = "RANK" in os.environ
    if distributed:
        gf.distribute.init(timeout=120)
    rng = np.random.default_rng(0)
    X = rng.random((GLOBAL_BATCH, D), dtype=np.float32)
    Y = np.eye(K, dtype=np.float32)[rng.integers(0, K, GLOBAL_BATCH)]
    xs, ys = gf.distribute.shard((X, Y))
    local = build_step(args.backend, distributed=False)
    steps = {"local": local}
    if distributed:
        steps["step"] = build_step(args.backend, distributed=True)
    for step in steps.values():  # compile and warm up
        for _ in range(3):
            step(xs, ys)
    result = {name: [] for name in steps}
    result["allreduce"] = []
    bucket = np.zeros(D * H + H + H * K + K, np.float32)  # every gradient: one bucket
    for _ in range(3):  # interleaved blocks
        for name, step in steps.items():
            result[name].append(timed(step, xs, ys, args.steps))
        if distributed:
            result["allreduce"].append(timed_allreduce(bucket, args.steps))
    if gf.distribute.is_chief():
        with open(args.result, "w") as f:
            json.dump({k: statistics.median(v) if v else None for k, v in result.items()}, f)
    gf.distribute.shutdown()


def timed_allreduce(bucket: np.ndarray, steps: int) -> float:
    """Median seconds of one all-reduce of `bucket` as the op makes it (host copy included)."""
    gf.distribute.barrier()
    times = []
    for _ in range(steps):
        t0 = time.perf_counter()
        ALL_REDUCE_MEAN.kernel(bucket)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


# -- the launcher --------------------------------------------------------------------------------
def spawn(backend: str, how: str, workers: int, steps: int) -> dict:
    """Run one configuration in fresh processes; returns rank 0's medians (seconds)."""
    cores = os.cpu_count() or 1
    threads = str(max(1, cores // workers))
    port = free_port()
    with tempfile.TemporaryDirectory() as tmp:
        result = os.path.join(tmp, "result.json")
        procs = []
        for rank in range(workers):
            env = dict(os.environ, OMP_NUM_THREADS=threads, OPENBLAS_NUM_THREADS=threads,
                       MKL_NUM_THREADS=threads)
            if how == "gloo":
                env.update(RANK=str(rank), LOCAL_RANK=str(rank), WORLD_SIZE=str(workers),
                           MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
            cmd = [sys.executable, __file__, "--worker", "--backend", backend,
                   "--steps", str(steps), "--result", result]
            procs.append(subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE,
                                          stderr=subprocess.STDOUT, text=True))
        outputs = []
        for proc in procs:
            try:
                outputs.append(proc.communicate(timeout=TIMEOUT)[0])
            except subprocess.TimeoutExpired:
                for p in procs:
                    p.kill()
                raise RuntimeError(f"{how} x{workers} ({backend}) ran over {TIMEOUT} s") from None
        if any(p.returncode for p in procs):
            raise RuntimeError(f"{how} x{workers} ({backend}) failed:\n" + "\n".join(outputs))
        with open(result) as f:
            return json.load(f)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def torch_backend_works() -> str:
    """'' when gf.Session(backend="torch") runs the MLP here, else why not."""
    try:
        step = build_step("torch", distributed=False)
        step(np.zeros((2, D), np.float32), np.zeros((2, K), np.float32))
    except Exception as exc:  # the reason is printed and recorded
        return f"{type(exc).__name__}: {exc}"
    return ""


def summarize(runs: dict) -> dict:
    """steps/s and the overhead of the all-reduce, from each configuration's rounds (the median
    over rounds of each round's median seconds); the rounds themselves are kept, in ms."""
    medians = {name: {key: statistics.median(r[key] for r in rs) if rs[0][key] is not None
                      else None for key in rs[0]}
               for name, rs in runs.items()}
    plain, one, two = medians["plain x1"], medians["gloo x1"], medians["gloo x2"]
    return {
        "steps_per_second": {"plain x1": 1 / plain["local"], "gloo x1": 1 / one["step"],
                             "gloo x2": 1 / two["step"],
                             "gloo x2 compute only": 1 / two["local"]},
        "ms_per_step": {"plain x1": 1e3 * plain["local"], "gloo x1": 1e3 * one["step"],
                        "gloo x2": 1e3 * two["step"], "gloo x2 compute only": 1e3 * two["local"]},
        "allreduce_ms": {"gloo x1": 1e3 * one["allreduce"], "gloo x2": 1e3 * two["allreduce"]},
        "allreduce_share_of_step_x2": (two["step"] - two["local"]) / two["step"],
        "speedup_x2_over_plain": plain["local"] / two["step"],
        # The best round of each: what the machine does when nothing else runs on it.
        "best_ms_per_step": {"plain x1": best(runs["plain x1"], "local"),
                             "gloo x1": best(runs["gloo x1"], "step"),
                             "gloo x2": best(runs["gloo x2"], "step"),
                             "gloo x2 compute only": best(runs["gloo x2"], "local")},
        "rounds_ms": {name: [{key: None if v is None else round(1e3 * v, 3)
                              for key, v in r.items()} for r in rs]
                      for name, rs in runs.items()},
    }


def best(rounds: list, key: str) -> float:
    return 1e3 * min(r[key] for r in rounds)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=40, help="timed steps per block")
    ap.add_argument("--rounds", type=int, default=5, help="fresh launches per configuration")
    ap.add_argument("--backends", nargs="+", choices=["numpy", "torch"],
                    default=["numpy", "torch"])
    ap.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                                  "results", "data_parallel.json"))
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--backend", default="numpy", help=argparse.SUPPRESS)
    ap.add_argument("--result", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        worker(args)
        return
    bucket_mb = (D * H + H + H * K + K) * 4 / 2**20
    print(f"bench MLP {D}-{H}-{K} float32, SGD, global batch {GLOBAL_BATCH}, {os.cpu_count()} "
          f"cores; one gradient bucket of {bucket_mb:.2f} MiB per step")
    results, skipped = {}, {}
    for backend in args.backends:
        if backend == "torch":
            why = torch_backend_works()
            if why:
                skipped[backend] = why
                print(f"torch backend skipped: {why}")
                continue
        runs = {f"{how} x{n}": [] for how, n in MODES}
        for _ in range(args.rounds):
            for how, n in MODES:
                runs[f"{how} x{n}"].append(spawn(backend, how, n, args.steps))
        results[backend] = summarize(runs)
        show(backend, results[backend])
    report = {"machine": machine(),
              "global_batch": GLOBAL_BATCH, "steps_per_block": args.steps,
              "rounds": args.rounds, "results": results, "skipped": skipped}
    write_json(args.out, report)


def show(backend: str, r: dict) -> None:
    print(f"\n{backend} backend      steps/s   ms/step (median)   ms/step (best round)")
    for name, rate in r["steps_per_second"].items():
        print(f"  {name:<22} {rate:7.1f}  {r['ms_per_step'][name]:7.2f}  "
              f"{r['best_ms_per_step'][name]:18.2f}")
    print(f"  all-reduce of the bucket: {r['allreduce_ms']['gloo x2']:.2f} ms with 2 workers, "
          f"{r['allreduce_ms']['gloo x1']:.2f} ms with 1; "
          f"{100 * r['allreduce_share_of_step_x2']:.0f}% of the 2-worker step; "
          f"2 workers / 1 plain process: {r['speedup_x2_over_plain']:.2f}x")


if __name__ == "__main__":
    main()
