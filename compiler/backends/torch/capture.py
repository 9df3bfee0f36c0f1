"""Whole-step CUDA graph capture for the torch backend.

    step = sess.make_callable([loss, train_op], [x, y], capture=True)   # torch backend, cuda
    for xb, yb in batches:
        loss_value, _ = step(xb, yb)

A training step is hundreds of small kernel launches; at small and medium batch sizes launching
them costs more than running them. CUDA graphs record the launches once and replay them with one
call. graphflow's generated step is straight-line code over tensors whose storage never moves
(variables are updated in place; feeds are copied into static input buffers), which is exactly
what capture needs, so the whole step (forward, backward, optimizer updates) is captured:

1. the first WARMUP calls of a feed signature run the generated code normally (each is a real
   step), on a side stream, so lazy initialisation (cuBLAS handles, allocator pools) is done;
2. the next call records the step into a torch.cuda.CUDAGraph, reading feeds from static input
   tensors, then replays it once (recording runs nothing, so this call's step happens exactly
   once);
3. later calls copy the feeds into the static inputs and replay.

A step that cannot be captured says why (a warning naming the reason: an op that runs on the host,
such as a random draw from the session's numpy streams; check_numerics; a step run by the
reference interpreter; too many feed shapes; or the error capture raised) and runs uncaptured.
`program.capture_status` tells, per feed signature, "captured", "warming up" or the reason.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Callable, Dict, List, Optional

import numpy as np

from ... import interrupts
from ...feeds import check_feed
from ...program import Program, Specialization
from ..lowering import REFERENCE
from .lowering import TORCH_TABLE

WARMUP = 3           # uncaptured steps per feed signature before capture
MAX_CAPTURES = 8     # more feed signatures than this: the shapes are dynamic, stop capturing


@dataclass
class _Captured:
    """One recorded step: replay() runs it; static inputs and outputs live at fixed addresses."""

    replay: Callable[[], None]
    static_inputs: List[object]
    outputs: Callable[[], tuple]


@dataclass
class _State:
    calls: int = 0
    captured: Optional[_Captured] = None
    reason: Optional[str] = None      # why this signature runs uncaptured


def record(function, static_inputs, variables, torch) -> _Captured:
    """Record function(*static_inputs, *variables) into a CUDA graph (nothing runs yet)."""
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        outs = function(*static_inputs, *variables)
    return _Captured(graph.replay, static_inputs, lambda: outs)


def require_cuda(backend) -> None:
    """A ValueError unless `backend` (the torch backend) runs on a CUDA device."""
    if backend.device.type != "cuda":
        raise ValueError(f"capture=True records the step into a CUDA graph: it needs a CUDA "
                         f"device, and this session runs on {backend.device} (make the "
                         f"session with device='cuda', or drop capture=True)")


class CapturedProgram(Program):
    """A Program whose steps are captured into CUDA graphs after warming up (module docstring)."""

    def __init__(self, fetches, feeds, store, *, backend, check_numerics: bool = False,
                 **options):
        require_cuda(backend)
        super().__init__(fetches, feeds, store, backend=backend, check_numerics=check_numerics,
                         **options)
        self._states: Dict[tuple, _State] = {}  # by feed signature
        self._record = record
        self._side_stream = None

    @property
    def capture_status(self) -> Dict[tuple, str]:
        """Per feed signature (shapes): "captured", "warming up" or why it runs uncaptured."""
        status = {}
        for key, state in self._states.items():
            shapes = tuple(s for s, _ in key)
            if state.captured is not None:
                status[shapes] = "captured"
            else:
                status[shapes] = state.reason or "warming up"
        return status

    def __call__(self, *values):
        if self._before_run is not None:
            self._before_run()
        if len(values) != len(self.feeds):
            raise TypeError(f"this program takes {len(self.feeds)} feed values "
                            f"({', '.join(t.op_name for t in self.feeds)}), got {len(values)}")
        # Numpy feeds are checked on the host and copied straight into the static inputs; a
        # tensor of another dtype is checked (and cast) as any feed is.
        torch, backend = self.backend.torch, self.backend
        arrays = [(v if v.dtype == backend.torch_dtype(node.dtype) else backend.feed(node, v))
                  if isinstance(v, torch.Tensor) else check_feed(node, v)
                  for node, v in zip(self.feeds, values)]
        state = self._states.get(self._signature(arrays))
        if state is not None and state.captured is not None:
            return self._replay(state.captured, arrays, torch)
        return self.run_checked([self.backend.feed(node, a)
                                 for node, a in zip(self.feeds, arrays)])

    def _signature(self, arrays) -> tuple:
        return tuple([(tuple(a.shape), node.dtype) for a, node in zip(arrays, self.feeds)])

    def _run(self, spec: Specialization, arrays):
        key = self._signature(arrays)
        state = self._states.get(key)
        if state is None:
            state = self._states[key] = _State(reason=self._why_not(spec))
            if state.reason:
                warnings.warn(f"graphflow: {self!r} runs uncaptured: {state.reason}",
                              stacklevel=4)
        if state.reason is not None:
            return super()._run(spec, arrays)
        torch = self.backend.torch
        if state.calls < WARMUP:  # real steps, on a side stream as capture wants
            state.calls += 1
            return self._on_side_stream(lambda: super(CapturedProgram, self)._run(spec, arrays))
        gen = spec.generated
        variables = [self._store.read(v) for v in gen.variables]
        static_inputs = [a.clone() for a in arrays]
        mark = interrupts.depth()
        try:
            with self._store.lock:
                state.captured = self._record(gen.function, static_inputs, variables, torch)
        except Exception as exc:  # capture refused something: run this signature uncaptured
            state.reason = f"CUDA graph capture failed: {type(exc).__name__}: {exc}"
            warnings.warn(f"graphflow: {self!r} runs uncaptured: {state.reason}", stacklevel=4)
            return super()._run(spec, arrays)
        finally:
            interrupts.release(mark)  # recording ran the code's hold() but wrote nothing
        self._last = spec
        return self._replay(state.captured, arrays, torch)

    def _on_side_stream(self, run):
        torch = self.backend.torch
        if self._side_stream is None:
            self._side_stream = torch.cuda.Stream(device=self.backend.device)
        stream = self._side_stream
        stream.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(stream):
            result = run()
        torch.cuda.current_stream().wait_stream(stream)
        return result

    def _replay(self, captured: _Captured, arrays, torch):
        with self._store.lock:
            for static, a in zip(captured.static_inputs, arrays):
                if isinstance(a, np.ndarray):  # torch shares only writable arrays
                    a = torch.from_numpy(a if a.flags.writeable else np.array(a))
                static.copy_(a)
            captured.replay()
            outs = captured.outputs()
            if self._return_tensors:  # the next replay overwrites the static outputs
                outs = [None if o is None else o.clone() for o in outs]
            else:
                outs = self.backend.results(outs)
        return self._rebuild(outs) if self._rebuild is not None else outs

    def _why_not(self, spec: Specialization) -> Optional[str]:
        """Why this specialisation cannot be captured, or None."""
        if spec.generated is None:
            return "the step runs in the reference interpreter (see the earlier warning)"
        if self._check_numerics:
            return "check_numerics inspects every value on the host"
        host = [n for n in spec.function.nodes if n.opdef.name in TORCH_TABLE
                and TORCH_TABLE.rules[n.opdef.name] is REFERENCE]
        if host:
            why = ("its random draws come from the session's numpy streams"
                   if host[0].opdef.stateful_kernel and host[0].opdef.stateful
                   else "its torch rule runs the numpy reference kernel")
            return (f"{host[0].describe()} runs on the host ({why}), which a CUDA graph "
                    f"cannot record")
        if len(self._states) >= MAX_CAPTURES:
            return (f"the feed shapes keep changing ({MAX_CAPTURES} signatures captured "
                    f"already); pad batches to a fixed size to capture them")
        return None
