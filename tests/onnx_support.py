"""Shared check for the ONNX lowerings: a tiny graph exported with gf.onnx.export, run in ONNX
Runtime (CPU), equal to the graphflow session's own outputs: float64 to 1e-10, float32 to 1e-5,
integers and booleans exactly, same dtypes and shapes; with a dynamic batch it is run again on a
batch of another size than the one traced.

    def test_relu(tmp_path):
        check_onnx(tmp_path, gf.nn.relu, [np.random.randn(3, 4)])
"""

from typing import Callable, Optional, Sequence

import numpy as np
import onnxruntime as ort

import graphflow as gf
from compiler.function import extract
from compiler.passes import optimize

TOLERANCE = {np.dtype(np.float64): 1e-10, np.dtype(np.float32): 1e-5}

# graphflow op names (node.type) whose ONNX rule a checked export ran, after graphflow's passes;
# tests/test_registry.py reads it to require a check for every rule of the ONNX table.
COVERED = set()


def _other_batch(a: np.ndarray) -> np.ndarray:
    """A batch of one more row (the first row again): another size than the traced one."""
    return np.concatenate([a, a[:1]]) if a.ndim and len(a) else a


def check_onnx(tmp_path, build: Callable, arrays: Sequence,
               dynamic: Optional[Sequence[bool]] = None, other_batch: bool = True,
               rtol: Optional[float] = None, opset: int = 17):
    """Export build(*placeholders) (a tensor or a list of them) and compare ONNX Runtime with
    the session. dynamic[i]: input i's first dimension is None (default: every input of rank
    >= 1); other_batch: also run on a batch one row longer. Returns the ONNX outputs."""
    arrays = [np.asarray(a) for a in arrays]
    if dynamic is None:
        dynamic = [a.ndim >= 1 for a in arrays]
    with gf.Graph().as_default():
        xs = [gf.placeholder(a.dtype, ((None,) + a.shape[1:]) if dyn else a.shape, name=f"in{i}")
              for i, (a, dyn) in enumerate(zip(arrays, dynamic))]
        built = build(*xs)
        outs = list(built) if isinstance(built, (list, tuple)) else [built]
        sess = gf.Session()
        sess.run(gf.global_variables_initializer())
        path = tmp_path / "model.onnx"
        gf.onnx.export(sess, xs, outs, path, opset=opset)
        fn, _ = optimize(extract(outs, {x: (x.shape, x.dtype) for x in xs}))
        COVERED.update(n.type for n in fn.graph.nodes)
        runtime = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        runs = [arrays]
        if other_batch and any(dynamic):
            runs.append([_other_batch(a) if dyn else a for a, dyn in zip(arrays, dynamic)])
        for feed in runs:
            got = runtime.run(None, {f"in{i}": a for i, a in enumerate(feed)})
            want = sess.run(outs, dict(zip(xs, feed)))
            for k, (g, w) in enumerate(zip(got, want)):
                _compare(np.asarray(g), np.asarray(w), outs[k].op_name, rtol)
    return got


def _compare(got: np.ndarray, want: np.ndarray, name: str, rtol: Optional[float]) -> None:
    assert got.dtype == want.dtype, f"{name}: ONNX gives {got.dtype}, graphflow {want.dtype}"
    assert got.shape == want.shape, f"{name}: ONNX gives shape {got.shape}, graphflow {want.shape}"
    if want.dtype.kind in "fc":
        tol = TOLERANCE[want.dtype] if rtol is None else rtol
        np.testing.assert_allclose(got, want, rtol=tol, atol=tol, err_msg=name)
    else:
        np.testing.assert_array_equal(got, want, err_msg=name)
