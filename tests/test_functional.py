"""gf.function and the functional transforms (grad, value_and_grad, jacobian, hessian, hvp, jvp)
against torch.func in float64, and their per-signature trace cache."""

import collections

import numpy as np
import pytest
import torch
from torch.func import grad as t_grad
from torch.func import hessian as t_hessian
from torch.func import jacrev as t_jacrev
from torch.func import jvp as t_jvp

import graphflow as gf

RTOL, ATOL = 1e-9, 1e-12


def close(actual, expected):
    expected = expected.detach().numpy() if isinstance(expected, torch.Tensor) else expected
    assert np.shape(actual) == np.shape(expected), (np.shape(actual), np.shape(expected))
    np.testing.assert_allclose(actual, expected, rtol=RTOL, atol=ATOL)


def close_nest(actual, expected):
    if isinstance(expected, (tuple, list)):
        assert isinstance(actual, tuple) and len(actual) == len(expected), actual
        for a, e in zip(actual, expected):
            close_nest(a, e)
    else:
        close(actual, expected)


# -- scalar functions: (name, graphflow version, torch version, argument shapes) ------------------
def mlp_gf(x, w):  # a function of two arrays: matmul, broadcasting, reductions, indexing
    return gf.reduce_sum(gf.tanh(x @ w + 0.5) ** 2) + gf.reduce_mean(x[0, 1:3] * w[1:3, 0])


def mlp_t(x, w):
    return (torch.tanh(x @ w + 0.5) ** 2).sum() + (x[0, 1:3] * w[1:3, 0]).mean()


def bias_gf(x, b):  # (2,1) + (1,3) broadcasting into a reduction over one axis
    s = gf.reduce_sum(gf.sigmoid(x * b + b) * x, axis=1)
    return gf.reduce_sum(s * s)


def bias_t(x, b):
    s = (torch.sigmoid(x * b + b) * x).sum(dim=1)
    return (s * s).sum()


def logsumexp_gf(x):  # reductions: max, sum, log, and a strided/new-axis index
    m = gf.reduce_max(x, axis=1, keepdims=True)
    lse = gf.log(gf.reduce_sum(gf.exp(x - m), axis=1)) + m[:, 0]
    return gf.reduce_sum(lse * x[:, None, 0][:, 0]) + gf.reduce_sum(x[..., ::2] ** 3)


def logsumexp_t(x):
    m = x.amax(dim=1, keepdim=True)
    lse = torch.log(torch.exp(x - m).sum(dim=1)) + m[:, 0]
    return (lse * x[:, None, 0][:, 0]).sum() + (x[..., ::2] ** 3).sum()


def quad_gf(x, a, y):  # three arguments, a matrix-vector product
    return gf.reduce_sum(gf.exp(-(x @ a @ x) / 10.0) * y) + gf.reduce_sum(x * y[1:])


def quad_t(x, a, y):
    return (torch.exp(-(x @ a @ x) / 10.0) * y).sum() + (x * y[1:]).sum()


SCALAR = [
    ("mlp", mlp_gf, mlp_t, [(3, 4), (4, 2)]),
    ("bias", bias_gf, bias_t, [(2, 1), (1, 3)]),
    ("logsumexp", logsumexp_gf, logsumexp_t, [(3, 5)]),
    ("quad", quad_gf, quad_t, [(3,), (3, 3), (4,)]),
]
SCALAR_IDS = [c[0] for c in SCALAR]


def arrays(shapes, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(s) for s in shapes]


def tensors(values):
    return [torch.tensor(v) for v in values]


def argnums_for(n):
    """An int, a negative int, and (for several arguments) a tuple in a non-sorted order."""
    return [0, -1] + ([tuple(range(n))[::-1]] if n > 1 else [])


def cases(table):
    return [pytest.param(fg, ft, shapes, a, id=f"{name}-{a}")
            for name, fg, ft, shapes in table for a in argnums_for(len(shapes))]


@pytest.mark.parametrize("fg, ft, shapes", [c[1:] for c in SCALAR], ids=SCALAR_IDS)
def test_function_value(fg, ft, shapes):
    xs = arrays(shapes)
    value = gf.function(fg)(*xs)
    assert np.asarray(value).dtype == np.float64
    close(value, ft(*tensors(xs)))


@pytest.mark.parametrize("fg, ft, shapes, argnums", cases(SCALAR))
def test_grad(fg, ft, shapes, argnums):
    xs = arrays(shapes)
    close_nest(gf.grad(fg, argnums=argnums)(*xs), t_grad(ft, argnums=argnums)(*tensors(xs)))


@pytest.mark.parametrize("fg, ft, shapes, argnums", cases(SCALAR))
def test_value_and_grad(fg, ft, shapes, argnums):
    xs = arrays(shapes, seed=1)
    value, g = gf.value_and_grad(fg, argnums=argnums)(*xs)
    close(value, ft(*tensors(xs)))
    close_nest(g, t_grad(ft, argnums=argnums)(*tensors(xs)))


@pytest.mark.parametrize("fg, ft, shapes, argnums", cases(SCALAR))
def test_hessian(fg, ft, shapes, argnums):
    xs = arrays(shapes, seed=2)
    # torch.func.jacfwd (inside hessian) silently gives zeros for a negative argnums (torch 2.13).
    t_argnums = argnums % len(xs) if isinstance(argnums, int) else argnums
    close_nest(gf.hessian(fg, argnums=argnums)(*xs),
               t_hessian(ft, argnums=t_argnums)(*tensors(xs)))


@pytest.mark.parametrize("fg, ft, shapes", [c[1:] for c in SCALAR], ids=SCALAR_IDS)
def test_hvp(fg, ft, shapes):
    xs, vs = arrays(shapes, seed=3), arrays(shapes, seed=4)
    _, expected = torch.autograd.functional.hvp(ft, tuple(tensors(xs)), tuple(tensors(vs)))
    close_nest(gf.hvp(fg, tuple(xs), tuple(vs)), expected)
    # The same through torch.func: forward over reverse.
    argnums = tuple(range(len(xs)))
    _, expected = t_jvp(t_grad(ft, argnums=argnums), tuple(tensors(xs)), tuple(tensors(vs)))
    close_nest(gf.hvp(fg, tuple(xs), tuple(vs)), expected)


def test_hvp_of_one_argument_takes_and_returns_arrays():
    x, v = arrays([(3, 5), (3, 5)], seed=5)
    hv = gf.hvp(logsumexp_gf, x, v)
    assert isinstance(hv, np.ndarray)
    h = gf.hessian(logsumexp_gf)(x).reshape(15, 15)
    close(hv, (h @ v.reshape(-1)).reshape(3, 5))


# -- functions with array outputs: jacobian and jvp -------------------------------------------
def layer_gf(x, w):
    return gf.tanh(x @ w) + x[:, :2] * 2.0


def layer_t(x, w):
    return torch.tanh(x @ w) + x[:, :2] * 2.0


def softmax_gf(x):
    e = gf.exp(x - gf.reduce_max(x, axis=-1, keepdims=True))
    return e / gf.reduce_sum(e, axis=-1, keepdims=True)


def softmax_t(x):
    return torch.softmax(x, dim=-1)


def norms_gf(x, y):  # a 0-d output and a broadcast (3,1) * (4,)
    return gf.sqrt(gf.reduce_sum(gf.square(x * y)))


def norms_t(x, y):
    return torch.sqrt(((x * y) ** 2).sum())


VECTOR = [
    ("layer", layer_gf, layer_t, [(3, 4), (4, 2)]),
    ("softmax", softmax_gf, softmax_t, [(2, 4)]),
    ("norms", norms_gf, norms_t, [(3, 1), (4,)]),
]


@pytest.mark.parametrize("fg, ft, shapes, argnums", cases(VECTOR))
def test_jacobian(fg, ft, shapes, argnums):
    xs = arrays(shapes, seed=6)
    close_nest(gf.jacobian(fg, argnums=argnums)(*xs), t_jacrev(ft, argnums=argnums)(*tensors(xs)))


@pytest.mark.parametrize("fg, ft, shapes", [c[1:] for c in VECTOR], ids=[c[0] for c in VECTOR])
def test_jvp(fg, ft, shapes):
    xs, ts = arrays(shapes, seed=7), arrays(shapes, seed=8)
    value, tangent = gf.jvp(fg, tuple(xs), tuple(ts))
    expected_value, expected_tangent = t_jvp(ft, tuple(tensors(xs)), tuple(tensors(ts)))
    close(value, expected_value)
    close(tangent, expected_tangent)


def test_jacobian_and_jvp_of_a_nest_of_outputs():
    def fg(x, w):
        return {"h": layer_gf(x, w), "pair": (gf.reduce_sum(x), w[0] * 3.0)}

    def ft(x, w):
        return {"h": layer_t(x, w), "pair": (x.sum(), w[0] * 3.0)}

    xs, ts = arrays([(3, 4), (4, 2)], seed=9), arrays([(3, 4), (4, 2)], seed=10)
    jac = gf.jacobian(fg, argnums=(0, 1))(*xs)
    expected = t_jacrev(ft, argnums=(0, 1))(*tensors(xs))
    assert set(jac) == {"h", "pair"}
    close_nest(jac["h"], expected["h"])
    close_nest(jac["pair"][0], expected["pair"][0])
    close_nest(jac["pair"][1], expected["pair"][1])
    value, tangent = gf.jvp(fg, tuple(xs), tuple(ts))
    expected_value, expected_tangent = t_jvp(ft, tuple(tensors(xs)), tuple(tensors(ts)))
    for key in ("h", "pair"):
        close_nest(value[key], expected_value[key])
        close_nest(tangent[key], expected_tangent[key])


def test_jacobian_of_grad_is_the_hessian():
    xs = arrays([(3, 4), (4, 2)], seed=11)
    composed = gf.jacobian(gf.grad(mlp_gf, argnums=1), argnums=1)(*xs)
    close(composed, gf.hessian(mlp_gf, argnums=1)(*xs))
    close(composed, t_hessian(mlp_t, argnums=1)(*tensors(xs)))


def test_grad_of_a_traced_function_and_of_a_python_float():
    cube = gf.function(lambda s: s ** 3 - 2.0 * s)
    dcube = gf.grad(cube)
    assert dcube(2.0) == pytest.approx(10.0, rel=1e-15)
    assert np.asarray(dcube(2.0)).dtype == np.float64  # Python floats trace as float64
    assert gf.grad(dcube)(2.0) == pytest.approx(12.0, rel=1e-15)
    assert gf.hessian(cube)(np.float64(-1.0)) == pytest.approx(-6.0, rel=1e-15)


def test_an_argument_f_ignores_gets_zeros_as_in_torch():
    def fg(x, unused):
        return gf.reduce_sum(x * x)

    x, u = arrays([(3,), (2, 2)])
    gx, gu = gf.grad(fg, argnums=(0, 1))(x, u)
    close(gx, 2 * x)
    close(gu, np.zeros((2, 2)))
    assert gf.hessian(fg, argnums=1)(x, u).shape == (2, 2, 2, 2)
    _, tangent = gf.jvp(lambda a: a * 0.0 + 1.0, (x,), (x,))
    close(tangent, np.zeros(3))


def test_has_aux():
    def fg(x):
        return gf.reduce_sum(x * x), {"double": x * 2.0}

    x = arrays([(4,)])[0]
    g, aux = gf.grad(fg, has_aux=True)(x)
    close(g, 2 * x)
    close(aux["double"], 2 * x)
    (value, aux), g = gf.value_and_grad(fg, has_aux=True)(x)
    close(value, np.sum(x * x))
    close(aux["double"], 2 * x)


# -- gf.function: structure, dtypes, the cache -------------------------------------------------
def test_function_returns_the_nest_f_returns():
    Pair = collections.namedtuple("Pair", "total first")

    @gf.function
    def f(x, k):
        return {"pair": Pair(gf.reduce_sum(x), x[0]), "list": [x * 2.0, None], "k": k + 1}

    x = np.arange(3.0)
    out = f(x, 4)
    assert isinstance(out["pair"], Pair) and out["pair"].total == 3.0 and out["pair"].first == 0.0
    assert isinstance(out["list"], list) and out["list"][1] is None
    close(out["list"][0], 2 * x)
    assert out["k"] == 5 and np.asarray(out["k"]).dtype == np.int64  # Python ints: numpy's int64
    assert f.__name__ == "f"


def test_cache_traces_once_per_signature():
    calls = []

    @gf.function
    def f(x, w):
        calls.append(x.shape)
        return gf.relu(x @ w)

    w = np.ones((3, 2))
    first = f(np.ones((4, 3)), w)
    f(np.full((4, 3), 2.0), w)  # same signature, other values: f is not called again
    assert calls == [(4, 3)] and f.traces == 1
    close(f(np.full((4, 3), 2.0), w), np.full((4, 2), 6.0))
    close(first, np.full((4, 2), 3.0))  # a later run did not overwrite the first result
    f(np.ones((5, 3)), w)  # a new batch size traces again
    assert calls == [(4, 3), (5, 3)] and f.traces == 2
    f(np.ones((4, 3), np.float32), w.astype(np.float32))  # so does a new dtype
    assert f.traces == 3 and f.cache_size == 3
    f(np.ones((5, 3)), w)
    assert f.traces == 3 and len(calls) == 3


@pytest.mark.parametrize("transform", [
    lambda f: gf.grad(f, argnums=(0, 1)),
    lambda f: gf.value_and_grad(f),
    lambda f: gf.hessian(f, argnums=1),
    lambda f: gf.jacobian(f),
    lambda f: (lambda x, w: gf.hvp(f, (x, w), (x, w))),
    lambda f: (lambda x, w: gf.jvp(f, (x, w), (x, w))),
], ids=["grad", "value_and_grad", "hessian", "jacobian", "hvp", "jvp"])
def test_transforms_cache_per_signature(transform):
    calls = []

    def f(x, w):
        calls.append(1)
        return gf.reduce_sum(gf.tanh(x @ w))

    fn = transform(f)
    x, w = arrays([(4, 3), (3, 2)])
    first = fn(x, w)
    assert len(calls) == 1
    second = fn(x + 1.0, w)
    assert len(calls) == 1
    fn(x[:2], w)  # batch size 2
    assert len(calls) == 2
    assert not np.allclose(np.concatenate([np.ravel(a) for a in _leaves(first)]),
                           np.concatenate([np.ravel(a) for a in _leaves(second)]))


def _leaves(nest):
    if isinstance(nest, (tuple, list)):
        return [leaf for item in nest for leaf in _leaves(item)]
    return [nest]


def test_program_and_graph_are_inspectable():
    f = gf.grad(mlp_gf, argnums=1)
    xs = arrays([(3, 4), (4, 2)])
    program = f.program(*xs)
    assert f.traces == 1
    assert "def " in program.source and "np.matmul" in program.source
    assert any(n.type == "placeholder" and n.op_name == "w" for n in f.graph(*xs).nodes)
    f(*xs)
    assert f.traces == 1 and f.program(*xs) is program


def test_calling_with_tensors_builds_into_their_graph():
    f = gf.function(lambda x: x * 3.0)
    x = gf.placeholder(gf.float64, shape=(2,))
    y = f(x)
    assert isinstance(y, gf.Tensor) and y.graph is x.graph and f.traces == 0
    with gf.Session() as sess:
        close(sess.run(y, {x: np.ones(2)}), np.full(2, 3.0))


# -- errors ------------------------------------------------------------------------------------
def test_errors():
    x = np.ones(3)
    with pytest.raises(TypeError, match=r"float scalar \(shape \(\)\).*multiply.*shape \(3,\)"):
        gf.grad(lambda a: a * 2.0)(x)
    with pytest.raises(TypeError, match="argument 0 has dtype int64"):
        gf.grad(lambda a: gf.reduce_sum(a))(np.ones(3, np.int64))
    with pytest.raises(ValueError, match="out of range for 1 argument"):
        gf.grad(lambda a: gf.reduce_sum(a), argnums=1)(x)
    with pytest.raises(ValueError, match="repeats"):
        gf.grad(lambda a, b: gf.reduce_sum(a * b), argnums=(0, 0))(x, x)
    with pytest.raises(TypeError, match="argument 0 has dtype float16"):
        gf.function(lambda a: a)(np.ones(2, np.float16))
    with pytest.raises(TypeError, match="primals must be a tuple"):
        gf.jvp(lambda a: a, x, x)
    with pytest.raises(ValueError, match=r"tangent 0 is \(2,\) float64, but its primal is \(3,\)"):
        gf.jvp(lambda a: a, (x,), (np.ones(2),))
    with pytest.raises(TypeError, match="output cast .* has dtype int32; only float outputs"):
        gf.jacobian(lambda a: gf.cast(a, gf.int32))(x)
    with pytest.raises(TypeError, match="primal 0 has dtype int64; only float arguments"):
        gf.jvp(lambda a: a, (np.ones(3, np.int64),), (np.ones(3, np.int64),))
    outside = gf.constant(np.ones(3))
    with pytest.raises(ValueError, match="another graph"):
        gf.function(lambda a: outside)(x)
