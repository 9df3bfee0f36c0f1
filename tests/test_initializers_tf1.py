"""TF1's initializer names (gf.constant_initializer, ..., gf.variance_scaling_initializer):
values, TF1's defaults, distributions (moments, bounds, CDF), reproducibility, and use in
gf.layers.dense."""

import math

import numpy as np
import pytest

import graphflow as gf

init = gf.initializers

TF1_NAMES = ["constant_initializer", "zeros_initializer", "ones_initializer",
             "random_normal_initializer", "truncated_normal_initializer",
             "random_uniform_initializer", "glorot_uniform_initializer",
             "variance_scaling_initializer"]
TRUNCATION = 0.87962566103423978  # std of a unit normal truncated to [-2, 2]


@pytest.fixture(autouse=True)
def seeded(fresh_graph):
    """The statistical checks below hold with a wide margin for any seed; fixing one keeps the
    suite deterministic. Tests of seeding build their own graphs."""
    gf.set_random_seed(4321)


def normal_cdf(z):
    return 0.5 * (1.0 + math.erf(z / math.sqrt(2.0)))


def truncated_cdf(z):
    mass = normal_cdf(2.0) - normal_cdf(-2.0)
    return (normal_cdf(z) - normal_cdf(-2.0)) / mass


def assert_cdf(values, cdf, points, tol=0.01):
    """The fraction of values <= p is cdf(p) at each point (60k draws: error about 0.002)."""
    flat = np.sort(values.ravel())
    for p in points:
        empirical = np.searchsorted(flat, p, side="right") / flat.size
        assert abs(empirical - cdf(p)) < tol, (p, empirical, cdf(p))


def test_the_tf1_names_are_exported_at_the_top_level():
    for name in TF1_NAMES:
        assert getattr(gf, name) is getattr(init, name), name


# -- constants -----------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", [gf.float32, gf.float64, gf.int32, gf.int64])
def test_constant_zeros_ones(dtype):
    for make, fill in [(lambda: init.constant_initializer(3), 3),
                       (init.zeros_initializer, 0), (init.ones_initializer, 1)]:
        value = make()((2, 3), dtype)
        assert value.dtype == dtype and value.shape == (2, 3)
        np.testing.assert_array_equal(value, np.full((2, 3), fill))
    assert init.constant_initializer()((4,)).tolist() == [0.0] * 4  # TF1's default value 0
    assert init.zeros_initializer()(()).dtype == np.float32


def test_constant_initializer_with_an_array():
    values = np.arange(6.0).reshape(2, 3)
    same = init.constant_initializer(values)((2, 3), gf.float64)
    np.testing.assert_array_equal(same, values)
    flat = init.constant_initializer([1, 2, 3, 4, 5, 6])((3, 2), gf.int32)  # same size: reshaped
    np.testing.assert_array_equal(flat, [[1, 2], [3, 4], [5, 6]])
    assert flat.dtype == np.int32
    np.testing.assert_array_equal(init.constant_initializer(0.1)((2,)),
                                  np.full(2, 0.1, np.float32))
    constant = init.constant_initializer(values)
    first = constant((2, 3))
    first[0, 0] = 99.0  # the array returned is the caller's: the next call is unchanged
    values[0, 1] = -1.0  # nor does changing the array given afterwards leak in
    np.testing.assert_array_equal(constant((2, 3)), np.arange(6.0).reshape(2, 3))


def test_constant_initializer_errors():
    with pytest.raises(ValueError, match="cannot fill shape"):
        init.constant_initializer([1.0, 2.0, 3.0])((2, 2))
    with pytest.raises(ValueError, match="cannot fill shape"):
        init.constant_initializer([1.0, 2.0])((3,))  # TF1 padded with the last value
    with pytest.raises(TypeError, match="without loss"):
        init.constant_initializer(0.5)((2,), gf.int32)
    with pytest.raises(TypeError, match="takes numbers"):
        init.constant_initializer("abc")
    with pytest.raises(ValueError, match="fully known shape"):
        init.constant_initializer(1.0)((None, 2))


# -- random normal and truncated normal ------------------------------------------------------------
def test_random_normal_initializer_has_tf1s_defaults():
    values = init.random_normal_initializer()((300, 200), gf.float64)
    assert abs(values.mean()) < 0.02
    assert values.std() == pytest.approx(1.0, rel=0.02)  # TF1's stddev 1.0, not Keras's 0.05
    assert_cdf(values, normal_cdf, [-1.5, -0.5, 0.0, 0.7, 2.5])
    custom = init.random_normal_initializer(mean=-3.0, stddev=0.5)((300, 200), gf.float64)
    assert custom.mean() == pytest.approx(-3.0, abs=0.01)
    assert custom.std() == pytest.approx(0.5, rel=0.02)
    assert np.abs(custom + 3.0).max() > 1.0 * 2.0  # not truncated: beyond 2 stddevs occurs


@pytest.mark.parametrize("mean, stddev", [(0.0, 1.0), (1.5, 2.0), (-0.2, 0.01)])
def test_truncated_normal_initializer_redraws_beyond_two_stddevs(mean, stddev):
    values = init.truncated_normal_initializer(mean, stddev)((300, 200), gf.float64)
    z = (values - mean) / stddev
    assert np.abs(z).max() <= 2.0
    assert np.abs(z).max() > 1.99 and z.min() < -1.99  # the bound is reached on both sides
    assert values.mean() == pytest.approx(mean, abs=0.01 * stddev)
    assert values.std() == pytest.approx(TRUNCATION * stddev, rel=0.02)  # stddev before truncation
    assert_cdf(z, truncated_cdf, [-1.9, -1.0, -0.3, 0.0, 0.8, 1.5])
    defaults = init.truncated_normal_initializer()((60000,), gf.float64)
    assert np.abs(defaults).max() <= 2.0 and defaults.std() == pytest.approx(TRUNCATION, rel=0.02)


# -- uniform ---------------------------------------------------------------------------------------
def test_random_uniform_initializer_has_tf1s_defaults():
    values = init.random_uniform_initializer()((300, 200), gf.float64)
    assert values.min() >= 0.0 and values.max() < 1.0  # TF1's [0, 1)
    assert values.min() < 0.001 and values.max() > 0.999
    assert values.mean() == pytest.approx(0.5, abs=0.005)
    assert_cdf(values, lambda p: p, [0.1, 0.35, 0.5, 0.9])
    capped = init.random_uniform_initializer(maxval=None)((1000,))
    assert capped.min() >= 0.0 and capped.max() < 1.0
    custom = init.random_uniform_initializer(-2.0, 4.0)((300, 200), gf.float64)
    assert custom.min() >= -2.0 and custom.max() < 4.0
    assert custom.std() == pytest.approx(6.0 / math.sqrt(12.0), rel=0.02)
    shifted = init.random_uniform_initializer(minval=2.0, maxval=3.0)((1000,))
    assert shifted.min() >= 2.0 and shifted.max() < 3.0


@pytest.mark.parametrize("shape, fan_in, fan_out", [
    ((300, 200), 300, 200), ((3, 3, 16, 32), 144, 288), ((60000,), 60000, 60000)])
def test_glorot_uniform_initializer(shape, fan_in, fan_out):
    values = init.glorot_uniform_initializer()(shape, gf.float64)
    limit = math.sqrt(6.0 / (fan_in + fan_out))
    assert values.shape == shape
    assert np.abs(values).max() <= limit and np.abs(values).max() > 0.99 * limit
    assert values.std() == pytest.approx(limit / math.sqrt(3.0), rel=0.03)


def test_glorot_uniform_initializer_draws_what_the_keras_name_and_variance_scaling_draw():
    def draw(make):
        with gf.Graph().as_default():
            gf.set_random_seed(7)
            return make()((5, 4, 3), gf.float64)
    tf1 = draw(init.glorot_uniform_initializer)
    np.testing.assert_array_equal(tf1, draw(init.glorot_uniform))
    np.testing.assert_allclose(
        tf1, draw(lambda: init.variance_scaling_initializer(1.0, "fan_avg", "uniform")),
        rtol=1e-15)


# -- variance scaling ------------------------------------------------------------------------------
SHAPE = (300, 200)
FANS = {"fan_in": 300.0, "fan_out": 200.0, "fan_avg": 250.0}


@pytest.mark.parametrize("mode", list(FANS))
@pytest.mark.parametrize("distribution", ["truncated_normal", "normal", "untruncated_normal",
                                          "uniform"])
@pytest.mark.parametrize("scale", [1.0, 2.0, 0.3])
def test_variance_scaling_has_variance_scale_over_n(scale, mode, distribution):
    values = init.variance_scaling_initializer(scale, mode, distribution)(SHAPE, gf.float64)
    target = math.sqrt(scale / FANS[mode])  # the std of the values, whatever the distribution
    assert values.std() == pytest.approx(target, rel=0.02)
    assert abs(values.mean()) < 0.02 * target
    if distribution in ("truncated_normal", "normal"):
        sigma = target / TRUNCATION
        assert np.abs(values).max() <= 2.0 * sigma and np.abs(values).max() > 1.99 * sigma
        assert_cdf(values / sigma, truncated_cdf, [-1.5, -0.5, 0.0, 1.0, 1.9])
    elif distribution == "untruncated_normal":
        assert np.abs(values).max() > 3.0 * target
        assert_cdf(values / target, normal_cdf, [-2.5, -1.0, 0.0, 0.4, 2.2])
    else:
        limit = math.sqrt(3.0 * scale / FANS[mode])
        assert np.abs(values).max() <= limit and np.abs(values).max() > 0.999 * limit
        assert_cdf(values, lambda p: (p + limit) / (2 * limit), [-0.7 * limit, 0.0, 0.3 * limit])


def test_variance_scaling_defaults_and_the_old_normal_name():
    def draw(*args):
        with gf.Graph().as_default():
            gf.set_random_seed(3)
            return init.variance_scaling_initializer(*args)((40, 30), gf.float64)
    defaults = draw()  # TF1 1.15: scale 1.0, fan_in, truncated normal
    np.testing.assert_array_equal(defaults, draw(1.0, "fan_in", "truncated_normal"))
    np.testing.assert_array_equal(defaults, draw(1.0, "fan_in", "normal"))  # "normal" truncates
    np.testing.assert_array_equal(defaults, draw(1.0, "fan_in", "Truncated_Normal"))
    assert np.abs(defaults).max() <= 2.0 * math.sqrt(1.0 / 40) / TRUNCATION
    assert not np.allclose(defaults, draw(1.0, "fan_in", "untruncated_normal"))
    he = init.variance_scaling_initializer(2.0)
    with gf.Graph().as_default():
        gf.set_random_seed(3)
        he_keras = init.he_normal()((40, 30), gf.float64)
    with gf.Graph().as_default():
        gf.set_random_seed(3)
        np.testing.assert_allclose(he((40, 30), gf.float64), he_keras, rtol=1e-14)


def test_variance_scaling_fans_of_a_conv_kernel_and_of_small_shapes():
    conv = init.variance_scaling_initializer(2.0, "fan_out", "uniform")((3, 3, 8, 4000),
                                                                      gf.float64)
    limit = math.sqrt(3.0 * 2.0 / (3 * 3 * 4000))
    assert np.abs(conv).max() <= limit and np.abs(conv).max() > 0.999 * limit
    scalar = init.variance_scaling_initializer(1.0, "fan_in", "uniform")((), gf.float64)
    assert scalar.shape == () and abs(scalar) <= math.sqrt(3.0)
    vector = init.variance_scaling_initializer(3.0, "fan_avg", "uniform")((60000,), gf.float64)
    assert np.abs(vector).max() <= math.sqrt(9.0 / 60000)


def test_variance_scaling_errors():
    with pytest.raises(ValueError, match="scale must be positive"):
        init.variance_scaling_initializer(0.0)
    with pytest.raises(ValueError, match="invalid mode"):
        init.variance_scaling_initializer(1.0, "fan_sum")
    with pytest.raises(ValueError, match="invalid distribution"):
        init.variance_scaling_initializer(1.0, "fan_in", "gamma")


# -- dtypes, shapes, seeds -----------------------------------------------------------------------
RANDOM = {
    "random_normal_initializer": lambda seed=None: init.random_normal_initializer(seed=seed),
    "truncated_normal_initializer":
        lambda seed=None: init.truncated_normal_initializer(seed=seed),
    "random_uniform_initializer": lambda seed=None: init.random_uniform_initializer(seed=seed),
    "glorot_uniform_initializer": lambda seed=None: init.glorot_uniform_initializer(seed),
    "variance_scaling_initializer":
        lambda seed=None: init.variance_scaling_initializer(seed=seed),
}


@pytest.mark.parametrize("name", RANDOM)
def test_random_dtypes_and_shapes(name):
    make = RANDOM[name]
    assert make()((3, 2)).dtype == np.float32
    assert make()((3, 2), gf.float64).dtype == np.float64
    assert make()(7).shape == (7,) and make()(()).shape == ()
    assert make()((2, 0)).shape == (2, 0)
    with pytest.raises(TypeError, match="not a float dtype"):
        make()((3,), gf.int32)
    with pytest.raises(ValueError, match="fully known shape"):
        make()((None, 3))


@pytest.mark.parametrize("name", RANDOM)
def test_set_random_seed_makes_the_draws_reproducible(name):
    def program(seed=None, op_seed=None):
        with gf.Graph().as_default():
            if seed is not None:
                gf.set_random_seed(seed)
            make = RANDOM[name]
            return make(op_seed)((4, 3)), make(op_seed)((4, 3))

    first, again = program(seed=42), program(seed=42)
    np.testing.assert_array_equal(first[0], again[0])
    np.testing.assert_array_equal(first[1], again[1])
    assert not np.array_equal(first[0], first[1])  # two draws in one graph differ
    assert not np.array_equal(first[0], program(seed=43)[0])
    assert not np.array_equal(program()[0], program()[0])  # no seed: fresh numbers
    np.testing.assert_array_equal(program(op_seed=5)[0], program(op_seed=5)[0])


# -- in gf.layers.dense --------------------------------------------------------------------------
def test_dense_with_constant_initializers_computes_by_hand():
    kernel = np.array([[1.0, -1.0], [0.5, 2.0], [0.0, 3.0]])
    x = gf.placeholder(gf.float64, shape=(None, 3), name="x")
    out = gf.layers.dense(x, 2, kernel_initializer=init.constant_initializer(kernel),
                          bias_initializer=init.constant_initializer(0.25))
    x_val = np.array([[1.0, 2.0, 3.0], [-1.0, 0.0, 1.0]])
    np.testing.assert_allclose(gf.Session().run(out, {x: x_val}), x_val @ kernel + 0.25,
                               rtol=1e-15)
    zeros = gf.layers.dense(x, 4, kernel_initializer=init.zeros_initializer(),
                            bias_initializer=init.ones_initializer(), name="flat")
    np.testing.assert_array_equal(gf.Session().run(zeros, {x: x_val}), np.ones((2, 4)))


@pytest.mark.parametrize("dtype", [gf.float32, gf.float64])
def test_dense_with_random_tf1_initializers(dtype):
    x = gf.placeholder(dtype, shape=(None, 400), name="x")
    gf.layers.dense(x, 300, kernel_initializer=init.truncated_normal_initializer(stddev=0.01),
                    bias_initializer=init.random_uniform_initializer(-0.1, 0.1), name="a")
    gf.layers.dense(x, 300, kernel_initializer=init.variance_scaling_initializer(
        2.0, "fan_in", "untruncated_normal"), name="b")
    names = {v.op.name: v for v in gf.global_variables()}
    sess = gf.Session()
    a_kernel, a_bias, b_kernel = sess.run([names["a/kernel"], names["a/bias"],
                                           names["b/kernel"]])
    assert a_kernel.dtype == dtype and a_kernel.shape == (400, 300)
    assert np.abs(a_kernel).max() <= 0.02 * (1 + 1e-6)
    assert a_kernel.std() == pytest.approx(0.01 * TRUNCATION, rel=0.02)
    assert a_bias.shape == (300,) and np.abs(a_bias).max() <= 0.1
    assert b_kernel.std() == pytest.approx(math.sqrt(2.0 / 400), rel=0.02)
