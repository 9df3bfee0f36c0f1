"""Shared checks: graphflow against torch (float64) and against central finite differences.

A check builds the same expression in both libraries from the same input arrays, compares the
forward values, then compares the vector-Jacobian product for a random cotangent with respect to
every float input (so broadcasting reductions in the gradient are exercised too).
"""

from typing import Callable, Optional, Sequence

import numpy as np
import torch

import graphflow as gf

RTOL, ATOL = 1e-10, 1e-12

# Op types that appeared in a graph checked against torch (forward and gradient graphs alike);
# test_registry.py reads it to require a torch test for every op.
COVERED = set()


def sessions(**options):
    """The four ways to run a graph: the reference interpreter, generated numpy code, generated
    torch code (on the CPU) and the native backend (numpy code with runs of statements compiled
    to C), each of which must agree with torch."""
    return [gf.Session(optimize=False, **options), gf.Session(check=True, **options),
            gf.Session(check=True, backend="torch", device="cpu", **options),
            gf.Session(check=True, backend="native", **options)]


def describe(sess) -> str:
    return "interpreter" if not sess.optimize else f"{sess.backend.name} backend"


def _placeholders(arrays):
    return [gf.placeholder(a.dtype, shape=a.shape, name=f"in{i}") for i, a in enumerate(arrays)]


def compare_with_torch(build_gf: Callable, build_torch: Callable, arrays: Sequence[np.ndarray],
                       rtol: float = RTOL, atol: float = ATOL, grad: bool = True,
                       seed: int = 0, wrt: Optional[Sequence[int]] = None):
    """Check forward value and gradients of build_gf(*tensors) against build_torch(*tensors).

    Returns (graphflow value, graphflow gradients) for further checks.
    """
    arrays = [np.asarray(a) for a in arrays]
    xs = _placeholders(arrays)
    out = build_gf(*xs)
    feed = dict(zip(xs, arrays))
    txs = [torch.tensor(a, requires_grad=a.dtype.kind == "f" and grad) for a in arrays]
    tout = build_torch(*txs)
    wrt = [i for i, a in enumerate(arrays) if a.dtype.kind == "f"] if wrt is None else list(wrt)
    grads = None
    if grad:
        rng = np.random.default_rng(seed)
        cot = rng.standard_normal(tuple(tout.shape)).astype(out.dtype)
        grads = gf.gradients(out, [xs[i] for i in wrt], grad_ys=gf.constant(cot))
        tgrads = torch.autograd.grad(tout, [txs[i] for i in wrt], torch.tensor(cot),
                                     allow_unused=True)
    COVERED.update(n.type for n in out.graph.nodes)
    # The reference interpreter and the compiled programs (numpy and torch backends) must all
    # agree with torch.
    for sess in sessions():
        value = sess.run(out, feed)
        np.testing.assert_allclose(value, tout.detach().numpy(), rtol=rtol, atol=atol,
                                   err_msg=f"forward value differs from torch "
                                           f"({describe(sess)})")
        assert np.asarray(value).shape == tuple(tout.shape), (np.shape(value), tout.shape)
        if not grad:
            results = None
            continue
        gvals = iter(sess.run([g for g in grads if g is not None], feed))
        results = []
        for i, g, tg in zip(wrt, grads, tgrads):
            if tg is None:
                assert g is None, f"input {i}: graphflow has a gradient where torch has none"
                results.append(None)
                continue
            got = next(gvals) if g is not None else np.zeros_like(arrays[i])
            np.testing.assert_allclose(got, tg.numpy(), rtol=rtol, atol=atol,
                                       err_msg=f"gradient of input {i} differs from torch "
                                               f"({describe(sess)})")
            assert np.shape(got) == arrays[i].shape
            results.append(got)
    return value, results


def check_finite_differences(build_gf: Callable, arrays: Sequence[np.ndarray],
                             eps: float = 1e-6, rtol: float = 1e-6, atol: float = 1e-8,
                             seed: int = 1):
    """Compare the symbolic gradient of sum(cot * f(x)) with central differences, in float64."""
    arrays = [np.array(a, dtype=np.float64) for a in arrays]  # own, contiguous copies
    xs = _placeholders(arrays)
    out = build_gf(*xs)
    rng = np.random.default_rng(seed)
    sess = gf.Session()
    shape = np.shape(sess.run(out, dict(zip(xs, arrays))))
    cot = rng.standard_normal(shape)
    scalar = gf.reduce_sum(out * cot)
    grads = gf.gradients(scalar, xs)
    feed = dict(zip(xs, arrays))
    for i, g in enumerate(grads):
        symbolic = sess.run(g, feed) if g is not None else np.zeros_like(arrays[i])
        numeric = np.zeros_like(arrays[i])
        flat = arrays[i].reshape(-1)
        for j in range(flat.size):
            old = flat[j]
            flat[j] = old + eps
            plus = sess.run(scalar, feed)
            flat[j] = old - eps
            minus = sess.run(scalar, feed)
            flat[j] = old
            numeric.reshape(-1)[j] = (plus - minus) / (2 * eps)
        np.testing.assert_allclose(symbolic, numeric, rtol=rtol, atol=atol,
                                   err_msg=f"gradient of input {i} differs from finite differences")


def check_with_unknown_dims(build_gf, build_torch, shapes, feeds, seed=0):
    """Build build_gf once on float64 placeholders of the static `shapes` (None: a size known only
    at run time), then for every list of arrays in `feeds` compare the value and the
    vector-Jacobian product for every input with torch on those arrays."""
    xs = [gf.placeholder(gf.float64, shape=s, name=f"x{i}") for i, s in enumerate(shapes)]
    out = build_gf(*xs)
    cot = gf.placeholder(gf.float64, shape=out.shape, name="cotangent")
    grads = gf.gradients(out, xs, grad_ys=cot)
    assert all(g is not None for g in grads)
    for sess in sessions()[1:]:
        _check_unknown_dims(sess, xs, out, cot, grads, build_torch, feeds, seed)
    COVERED.update(n.type for n in out.graph.nodes)


def _check_unknown_dims(sess, xs, out, cot, grads, build_torch, feeds, seed):
    rng = np.random.default_rng(seed)
    for arrays in feeds:
        txs = [torch.tensor(a, requires_grad=True) for a in arrays]
        tout = build_torch(*txs)
        c = rng.standard_normal(tuple(tout.shape))
        tgrads = torch.autograd.grad(tout, txs, torch.tensor(c))
        value, *gvals = sess.run([out, *grads], {**dict(zip(xs, arrays)), cot: c})
        np.testing.assert_allclose(value, tout.detach().numpy(), rtol=RTOL,
                                   atol=ATOL, err_msg=describe(sess))
        assert np.shape(value) == tuple(tout.shape)
        for i, (got, want) in enumerate(zip(gvals, tgrads)):
            np.testing.assert_allclose(got, want.numpy(), rtol=RTOL, atol=ATOL,
                                       err_msg=f"gradient of input {i} ({describe(sess)})")
            assert np.shape(got) == np.shape(arrays[i])
