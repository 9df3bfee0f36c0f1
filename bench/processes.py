"""Benchmark contenders, each in a fresh process of its own: how long its first call takes there
with an empty compile cache and with a warm one, and its steps measured in turns with the others.

A bench module that uses this defines `feeds(batch) -> (X, Y)`, `make_step(name, batch) ->
step(X, Y)` and `TORCH`, the names of its contenders that run on PyTorch. Each process imports
that module (numpy and graphflow with it) and, for a PyTorch contender, torch, before its clock
starts: a first call counts the build of the step, its compile (numba's, the C compiler's,
TorchInductor's, their own imports included) and its first step, not the import of the framework.

The caches: `GRAPHFLOW_CACHE_DIR` (graphflow's numba loops and C modules) and
`TORCHINDUCTOR_CACHE_DIR` (torch.compile's generated code and its FX graph cache) point into a
fresh temporary folder per contender. Its first process finds them empty; the second one, which
is then measured, finds what the first left there.

Measuring: each contender lives in its own process (its own memory, caches and thread pools, as
in a training run of its own) and they take turns: each turn is a pause (PyTorch's OpenMP threads
spin after each op and would take the cores from whoever runs next) and then `block` steps of
one contender, and the rounds of turns repeat, so the machine's noise hits them alike. (Run in
one process, the contenders disturbed each other: graphflow's native step measured 25 ms there
against 19 ms on its own, while PyTorch's did not change.)
"""

from __future__ import annotations

import contextlib
import importlib
import multiprocessing
import os
import re
import statistics
import tempfile
import time


def _worker(module: str, name: str, batch: int, conn) -> None:
    """One contender in a process of its own: build its step and time the first call, send that,
    then run `block` steps each time the parent asks and send their times (None: stop)."""
    mod = importlib.import_module(module)
    if name in mod.TORCH:
        import torch
        torch.set_num_threads(2)
    X, Y = mod.feeds(batch)
    t0 = time.perf_counter()
    step = mod.make_step(name, batch)
    step(X, Y)
    first = time.perf_counter() - t0
    step(X, Y)  # a second call may still settle things (a recompile, lazy state): not measured
    conn.send(first)
    while True:
        block = conn.recv()
        if block is None:
            return
        times = []
        for _ in range(block):
            t0 = time.perf_counter()
            step(X, Y)
            times.append(time.perf_counter() - t0)
        conn.send(times)


@contextlib.contextmanager
def _caches_in(folder: str):
    """The compile caches of processes started inside the block live under `folder`."""
    names = {"GRAPHFLOW_CACHE_DIR": "graphflow", "TORCHINDUCTOR_CACHE_DIR": "inductor"}
    saved = {k: os.environ.get(k) for k in names}
    os.environ.update({k: os.path.join(folder, v) for k, v in names.items()})
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


class Contender:
    """A contender's process: started with its caches in `folder`, its first call timed."""

    def __init__(self, module: str, name: str, batch: int, folder: str):
        ctx = multiprocessing.get_context("spawn")
        self.conn, child = ctx.Pipe()
        with _caches_in(folder):
            self.proc = ctx.Process(target=_worker, args=(module, name, batch, child),
                                    daemon=True)
            self.proc.start()
        child.close()  # the child's end lives on in the child only: its exit ends the pipe
        self.name = name
        self.first_call = self._receive()

    def _receive(self):
        try:
            return self.conn.recv()
        except EOFError:
            self.proc.join(timeout=10)
            raise RuntimeError(f"benchmark contender {self.name!r}: its process ended (exit "
                               f"code {self.proc.exitcode}; its traceback is above)") from None

    def steps(self, block: int) -> list:
        self.conn.send(block)
        return self._receive()

    def stop(self) -> None:
        try:
            self.conn.send(None)
            self.proc.join(timeout=30)
        except OSError:  # it has ended already (a broken pipe)
            pass
        finally:
            if self.proc.is_alive():
                self.proc.terminate()


def _started(module: str, names, batch: int, root: str):
    """Yield (name, its first call with empty caches, its warm-cache Contender, left running)
    for each contender in turn, its caches in a folder of its own under `root`."""
    for name in names:
        folder = os.path.join(root, re.sub(r"\W+", "_", name))
        cold = Contender(module, name, batch, folder)
        cold.stop()
        yield name, cold.first_call, Contender(module, name, batch, folder)


def first_calls(module: str, names, batch: int) -> dict:
    """name -> (seconds of its first call in a fresh process with empty compile caches, and in
    the next process with the caches the first one left)."""
    result = {}
    with tempfile.TemporaryDirectory(prefix="gf-bench-") as root:
        for name, cold, warm in _started(module, names, batch, root):
            warm.stop()
            result[name] = (cold, warm.first_call)
    return result


def measure(module: str, names, batch: int, rounds: int, block=5, pause=0.5) -> dict:
    """name -> {"ms": [milliseconds of each measured step], "first_call_empty_cache": s,
    "first_call_warm_cache": s}. Processes are started one at a time, so each first call is
    timed with nothing else of the benchmark running (module docstring)."""
    result, running = {}, {}
    with tempfile.TemporaryDirectory(prefix="gf-bench-") as root:
        try:
            for name, cold, warm in _started(module, names, batch, root):
                running[name] = warm
                result[name] = {"ms": [], "first_call_empty_cache": cold,
                                "first_call_warm_cache": warm.first_call}
            for _ in range(rounds):
                for name, proc in running.items():
                    time.sleep(pause)
                    result[name]["ms"] += [t * 1e3 for t in proc.steps(block)]
        finally:
            for proc in running.values():
                proc.stop()
    return result


def summary(times_ms: list) -> tuple:
    """(median, first quartile) of a contender's step times: the quartile is less moved by
    bursts of other work on a shared machine."""
    return statistics.median(times_ms), statistics.quantiles(times_ms, n=4)[0]
