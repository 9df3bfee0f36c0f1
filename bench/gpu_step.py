"""The MLP training step of bench/mlp_step.py on a CUDA GPU: graphflow's torch backend uncaptured
and captured (make_callable(..., capture=True)) beside PyTorch eager and PyTorch with a
hand-captured CUDA graph, at batch 1024/8192/65536.

    python bench/gpu_step.py [--batches 1024 8192 65536] [--repeats 50] [--out FILE.json]

Needs torch with CUDA and a GPU; elsewhere it says so and exits with status 2. Feeds are torch
tensors already on the GPU for every contender (the step is what is timed, not the host-to-device
copy); each step's loss is read back with .item() (graphflow returns numpy values), so every
contender pays one device-to-host sync per step alike.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mlp_step import D, K, graphflow_step, init_params, torch_sgd_step, torch_step  # noqa: E402


def graphflow_cuda_step(params, capture):
    step = graphflow_step(params, True, backend="torch", device="cuda", capture=capture)
    return lambda X, Y: float(step(X, Y)[0])


def torch_graph_step(torch, params, X0, Y0):
    """PyTorch's own recipe: warm up on a side stream, capture the whole step, replay."""
    ps = [torch.tensor(p, device="cuda", requires_grad=True) for p in params]
    sx, sy = X0.clone(), Y0.clone()

    def body():
        return torch_sgd_step(torch, ps, sx, sy)

    side = torch.cuda.Stream()
    side.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(side):
        for _ in range(3):
            body()
    torch.cuda.current_stream().wait_stream(side)
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        static_loss = body()

    def step(X, Y):
        sx.copy_(X)
        sy.copy_(Y)
        graph.replay()
        return static_loss.item()
    return step


def measure(torch, step, X, Y, repeats):
    for _ in range(5):
        step(X, Y)
    torch.cuda.synchronize()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        step(X, Y)
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1e6


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--batches", type=int, nargs="+", default=[1024, 8192, 65536])
    ap.add_argument("--repeats", type=int, default=50)
    ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "results",
                                                  "gpu_step.json"))
    args = ap.parse_args()
    try:
        import torch
    except ImportError:
        print("bench/gpu_step.py needs torch with CUDA (pip install 'graphflow[torch]')")
        return 2
    if not torch.cuda.is_available():
        print(f"bench/gpu_step.py needs a CUDA GPU; torch {torch.__version__} sees none")
        return 2
    params = init_params()
    rows = []
    print(f"GPU: {torch.cuda.get_device_name()}, torch {torch.__version__}")
    print(f"{'batch':>6} {'contender':<30} {'us/step':>9}")
    for batch in args.batches:
        rng = np.random.default_rng(batch)
        X = torch.tensor(rng.random((batch, D), dtype=np.float32), device="cuda")
        Y = torch.tensor(np.eye(K, dtype=np.float32)[rng.integers(0, K, batch)], device="cuda")
        steps = {"graphflow torch": graphflow_cuda_step(params, capture=False),
                 "graphflow torch captured": graphflow_cuda_step(params, capture=True),
                 "pytorch eager": torch_step(params, device="cuda"),
                 "pytorch + cuda graph": torch_graph_step(torch, params, X, Y)}
        losses = {name: step(X, Y) for name, step in steps.items()}
        first = losses["pytorch eager"]
        for name, value in losses.items():
            if abs(value - first) > 1e-4 * max(1.0, abs(first)):
                raise SystemExit(f"{name} computes loss {value}, PyTorch {first}: "
                                 f"not the same step")
        for name, step in steps.items():
            us = measure(torch, step, X, Y, args.repeats)
            rows.append({"batch": batch, "contender": name, "us_per_step": round(us, 1)})
            print(f"{batch:>6} {name:<30} {us:9.1f}")
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "w") as f:
        json.dump({"gpu": torch.cuda.get_device_name(), "torch": torch.__version__,
                   "rows": rows}, f, indent=1)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
