"""Initializers: values and distributions (moments, bounds, and the CDF at a few points against the
closed form), fans, dtypes, and reproducibility from gf.set_random_seed."""

import math

import numpy as np
import pytest

import graphflow as gf

init = gf.initializers


@pytest.fixture(autouse=True)
def seeded(fresh_graph):
    """The statistical checks below hold with a wide margin for any seed; fixing one keeps the
    suite deterministic. Tests of seeding build their own graphs."""
    gf.set_random_seed(1234)


def normal_cdf(z):
    return 0.5 * (1.0 + math.erf(z / math.sqrt(2.0)))


def assert_cdf(values, cdf, points, tol=0.01):
    """The fraction of values <= p is cdf(p) at each point (a Kolmogorov-Smirnov-style check:
    with 60k draws the error of an empirical CDF is about 0.002)."""
    flat = np.sort(values.ravel())
    for p in points:
        empirical = np.searchsorted(flat, p, side="right") / flat.size
        assert abs(empirical - cdf(p)) < tol, (p, empirical, cdf(p))


# -- constant initializers -----------------------------------------------------------------------
@pytest.mark.parametrize("dtype", [gf.float32, gf.float64, gf.int32])
def test_zeros_and_ones(dtype):
    z = init.zeros()((2, 3), dtype)
    o = init.ones()((4,), dtype)
    assert z.dtype == dtype and o.dtype == dtype
    np.testing.assert_array_equal(z, [[0, 0, 0], [0, 0, 0]])
    np.testing.assert_array_equal(o, [1, 1, 1, 1])
    assert init.zeros()(()).shape == () and init.zeros()(()).dtype == np.float32


# -- distributions -------------------------------------------------------------------------------
def test_random_normal_defaults_and_moments():
    values = init.random_normal()((300, 200))
    assert values.shape == (300, 200) and values.dtype == np.float32
    assert abs(values.mean()) < 0.002
    assert values.std() == pytest.approx(0.05, rel=0.02)
    custom = init.random_normal(mean=2.0, stddev=3.0)((300, 200), gf.float64)
    assert custom.dtype == np.float64
    assert custom.mean() == pytest.approx(2.0, abs=0.06)
    assert custom.std() == pytest.approx(3.0, rel=0.02)
    assert_cdf((custom - 2.0) / 3.0, normal_cdf, [-1.5, -0.5, 0.0, 0.7, 2.0])


def test_random_uniform_defaults_bounds_and_cdf():
    values = init.random_uniform()((300, 200))
    assert values.min() >= -0.05 and values.max() < 0.05
    assert values.min() < -0.049 and values.max() > 0.049
    custom = init.random_uniform(minval=1.0, maxval=4.0)((300, 200), gf.float64)
    assert custom.min() >= 1.0 and custom.max() < 4.0
    assert custom.std() == pytest.approx(3.0 / math.sqrt(12.0), rel=0.02)
    assert_cdf(custom, lambda p: (p - 1.0) / 3.0, [1.3, 2.0, 2.5, 3.9])
    with pytest.raises(ValueError, match="minval < maxval"):
        init.random_uniform(1.0, 1.0)


@pytest.mark.parametrize("shape, fan_in, fan_out", [
    ((300, 200), 300, 200),
    ((3, 3, 16, 32), 144, 288),   # a conv kernel: fans times the receptive field 3*3
    ((60000,), 60000, 60000),
])
def test_glorot_uniform_limit_and_cdf(shape, fan_in, fan_out):
    values = init.glorot_uniform()(shape, gf.float64)
    limit = math.sqrt(6.0 / (fan_in + fan_out))
    assert values.shape == shape
    assert np.abs(values).max() <= limit
    assert np.abs(values).max() > 0.99 * limit
    assert values.std() == pytest.approx(limit / math.sqrt(3.0), rel=0.03)
    assert_cdf(values, lambda p: (p + limit) / (2 * limit),
               [-0.8 * limit, -0.2 * limit, 0.0, 0.5 * limit], tol=0.02)


def test_he_normal_is_truncated_with_keras_stddev_correction():
    fan_in = 300
    values = init.he_normal()((fan_in, 200), gf.float64)
    target = math.sqrt(2.0 / fan_in)          # the std of the truncated draws
    sigma = target / 0.87962566103423978     # the std of the normal before truncation
    assert values.std() == pytest.approx(target, rel=0.02)
    assert abs(values.mean()) < 0.02 * target
    assert np.abs(values).max() <= 2.0 * sigma
    assert np.abs(values).max() > 1.99 * sigma  # the truncation bound is reached, not a lower one
    # A unit normal truncated to [-2, 2] has CDF (Phi(z) - Phi(-2)) / (Phi(2) - Phi(-2)).
    mass = normal_cdf(2.0) - normal_cdf(-2.0)
    assert_cdf(values / sigma, lambda z: (normal_cdf(z) - normal_cdf(-2.0)) / mass,
               [-1.9, -1.0, -0.3, 0.0, 0.8, 1.5])
    conv = init.he_normal()((5, 5, 8, 4000), gf.float64)  # fan_in = 5 * 5 * 8
    assert conv.std() == pytest.approx(math.sqrt(2.0 / 200), rel=0.02)


# -- dtypes and shapes ---------------------------------------------------------------------------
@pytest.mark.parametrize("make", [init.random_normal, init.random_uniform, init.glorot_uniform,
                                  init.he_normal])
def test_random_dtypes_and_shapes(make):
    assert make()((3, 2)).dtype == np.float32
    assert make()((3, 2), gf.float64).dtype == np.float64
    assert make()(7).shape == (7,)
    assert make()(()).shape == ()
    with pytest.raises(TypeError, match="not a float dtype"):
        make()((3,), gf.int32)
    with pytest.raises(ValueError, match="fully known shape"):
        make()((None, 3))
    with pytest.raises(TypeError, match="not supported"):
        make()((3,), np.float16)


def test_the_numbers_do_not_depend_on_the_dtype():
    values = {}
    for dtype in (gf.float32, gf.float64):
        with gf.Graph().as_default():
            gf.set_random_seed(1234)
            values[dtype] = init.glorot_uniform()((4, 5), dtype)
    np.testing.assert_array_equal(values[gf.float32], values[gf.float64].astype(np.float32))


# -- reproducibility -----------------------------------------------------------------------------
def draw_program(seed=None, op_seed=None):
    """A program's initial values, built in a fresh graph."""
    with gf.Graph().as_default():
        if seed is not None:
            gf.set_random_seed(seed)
        return [init.glorot_uniform(op_seed)((4, 3)), init.he_normal(op_seed)((4, 3)),
                init.random_normal(seed=op_seed)((5,)), init.random_uniform(seed=op_seed)((5,)),
                init.glorot_uniform(op_seed)((4, 3))]


def test_set_random_seed_makes_a_program_reproducible():
    first, again = draw_program(seed=42), draw_program(seed=42)
    for a, b in zip(first, again):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(first[0], first[4])  # two draws in one graph still differ
    other = draw_program(seed=43)
    assert not any(np.array_equal(a, b) for a, b in zip(first, other))


def test_without_a_seed_every_program_draws_fresh_numbers():
    first, again = draw_program(), draw_program()
    assert not any(np.array_equal(a, b) for a, b in zip(first, again))


def test_an_op_seed_alone_is_reproducible():
    first, again = draw_program(op_seed=5), draw_program(op_seed=5)
    for a, b in zip(first, again):
        np.testing.assert_array_equal(a, b)


def test_variables_from_initializers_are_reproducible():
    def build():
        with gf.Graph().as_default() as graph:
            gf.set_random_seed(1234)
            w = gf.Variable(init.glorot_uniform()((3, 2)), name="w")
            return gf.Session(graph).run(w)
    np.testing.assert_array_equal(build(), build())
