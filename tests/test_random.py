"""Random ops: distributions and ranges, fresh draws every run, seeds (TF1's rules), never folded
or merged by the compiler, and their gradients (TF1's: through mean/stddev and the uniform bounds,
none through the draw, an error through random_shuffle)."""

import numpy as np
import pytest

import graphflow as gf

SESSIONS = [pytest.param(dict(optimize=False), id="interpreter"),
            pytest.param(dict(check=True), id="compiled")]
N = 200_000


# -- distributions ---------------------------------------------------------------------------------
@pytest.mark.parametrize("options", SESSIONS)
@pytest.mark.parametrize("dtype", [gf.float32, gf.float64])
def test_random_normal_moments(options, dtype):
    r = gf.random_normal([N], mean=2.0, stddev=3.0, dtype=dtype, seed=1)
    value = gf.Session(**options).run(r)
    assert value.dtype == dtype and value.shape == (N,)
    # standard errors: 3 / sqrt(N) = 0.0067 for the mean, about 0.005 for the stddev
    assert abs(value.mean() - 2.0) < 0.04
    assert abs(value.std() - 3.0) < 0.03


@pytest.mark.parametrize("options", SESSIONS)
def test_truncated_normal_stays_within_two_stddev(options):
    r = gf.truncated_normal([N], mean=-1.0, stddev=0.5, seed=2)
    value = gf.Session(**options).run(r).astype(np.float64)
    assert value.dtype == np.float64 and value.shape == (N,)
    assert np.all(np.abs(value + 1.0) <= 2 * 0.5 + 1e-6)
    assert abs(value.mean() + 1.0) < 0.01
    # A normal truncated at +-2 sigma has standard deviation 0.8796 sigma; redrawing (rather than
    # clipping, which piles values at the bounds and gives 0.9 sigma) is what gets this.
    assert abs(value.std() - 0.8796 * 0.5) < 0.005
    near_bound = np.mean(np.abs(value + 1.0) > 0.99)
    assert near_bound < 0.005


@pytest.mark.parametrize("options", SESSIONS)
@pytest.mark.parametrize("dtype", [gf.float32, gf.float64])
def test_random_uniform_range_and_mean(options, dtype):
    r = gf.random_uniform([N], minval=-2.0, maxval=3.0, dtype=dtype, seed=3)
    value = gf.Session(**options).run(r)
    assert value.dtype == dtype
    assert value.min() >= -2.0 and value.max() < 3.0
    assert abs(value.mean() - 0.5) < 0.02
    assert abs(value.var() - 25 / 12) < 0.03


def test_random_uniform_defaults_to_zero_one():
    value = gf.Session().run(gf.random_uniform([N], seed=4))
    assert value.dtype == np.float32
    assert value.min() >= 0.0 and value.max() < 1.0 and abs(value.mean() - 0.5) < 0.01


@pytest.mark.parametrize("options", SESSIONS)
def test_random_uniform_never_reaches_maxval_through_rounding(options):
    # [1, nextafter(1)) holds 1.0 only; 1 + u * (maxval - 1) rounds to maxval for half the u.
    top = np.nextafter(np.float32(1), np.float32(2))
    r = gf.random_uniform([1000], minval=1.0, maxval=float(top), seed=5)
    assert np.all(gf.Session(**options).run(r) == 1.0)


@pytest.mark.parametrize("options", SESSIONS)
@pytest.mark.parametrize("dtype", [gf.int32, gf.int64])
def test_int_random_uniform(options, dtype):
    r = gf.random_uniform([10_000], minval=-3, maxval=4, dtype=dtype, seed=6)
    value = gf.Session(**options).run(r)
    assert value.dtype == dtype
    assert set(np.unique(value).tolist()) == set(range(-3, 4))  # every value, maxval excluded
    counts = np.bincount(value + 3)
    assert counts.min() > 10_000 / 7 * 0.85


def test_int_random_uniform_needs_maxval_and_integer_bounds():
    with pytest.raises(ValueError, match="needs maxval"):
        gf.random_uniform([3], dtype=gf.int32)
    with pytest.raises(TypeError, match="cannot convert 0.5"):
        gf.random_uniform([3], minval=0.5, maxval=4, dtype=gf.int32)


def test_uniform_bounds_must_be_ordered():
    with pytest.raises(ValueError, match="minval < maxval"):
        gf.random_uniform([3], minval=2.0, maxval=2.0)
    lo = gf.placeholder(gf.float32, (), name="lo")
    r = gf.random_uniform([3], minval=lo, maxval=1.0)
    for options in (dict(optimize=False), dict()):
        with pytest.raises(gf.OpError, match="minval < maxval"):
            gf.Session(**options).run(r, {lo: 5.0})


def test_tensor_bounds_and_parameters():
    lo = gf.placeholder(gf.float64, (), name="lo")
    hi = gf.placeholder(gf.float64, (), name="hi")
    mean = gf.placeholder(gf.float64, (3,), name="mean")  # broadcasts against the shape
    u = gf.random_uniform([N], minval=lo, maxval=hi, dtype=gf.float64)
    n = gf.random_normal([N // 3, 3], mean=mean, stddev=0.01, dtype=gf.float64)
    uv, nv = gf.Session().run([u, n], {lo: 10.0, hi: 12.0, mean: [1.0, -1.0, 5.0]})
    assert uv.min() >= 10.0 and uv.max() < 12.0 and abs(uv.mean() - 11.0) < 0.01
    np.testing.assert_allclose(nv.mean(axis=0), [1.0, -1.0, 5.0], atol=1e-3)


def test_bad_shapes_and_dtypes():
    with pytest.raises(ValueError, match="fully known"):
        gf.random_normal([None, 3])
    assert gf.random_normal(gf.constant([2, 3])).shape == (2, 3)  # a shape tensor, as TF1
    with pytest.raises(TypeError, match="float dtype"):
        gf.random_normal([3], dtype=gf.int32)
    with pytest.raises(TypeError, match="float or int"):
        gf.random_uniform([3], dtype=gf.bool_)
    with pytest.raises(ValueError, match="broadcast to the shape"):
        gf.random_normal([3], mean=np.zeros((2, 3), np.float32))
    with pytest.raises(gf.ShapeError, match="must be scalars"):
        gf.random_uniform([3], minval=np.zeros(3, np.float32))


@pytest.mark.parametrize("options", SESSIONS)
def test_random_shuffle_permutes_rows(options):
    value = np.arange(40).reshape(20, 2)
    s = gf.random_shuffle(value)
    sess = gf.Session(**options)
    first, second = sess.run(s), sess.run(s)
    for out in (first, second):
        assert out.shape == (20, 2) and out.dtype == value.dtype
        assert np.array_equal(out[:, 1] - out[:, 0], np.ones(20, int))  # rows stay whole
        assert sorted(out[:, 0].tolist()) == value[:, 0].tolist()
    assert not np.array_equal(first, second)
    assert not np.array_equal(first, value)


def test_random_shuffle_of_a_scalar_and_a_placeholder():
    x = gf.placeholder(gf.float32, (None,), name="x")
    s = gf.random_shuffle(x)
    assert s.shape == (None,)
    out = gf.Session().run(s, {x: np.arange(50, dtype=np.float32)})
    assert sorted(out.tolist()) == list(range(50))
    assert gf.Session().run(gf.random_shuffle(3.0)) == 3.0


# -- every run draws again; seeds ------------------------------------------------------------------
@pytest.mark.parametrize("options", SESSIONS)
def test_each_run_draws_new_values(options):
    ops = [gf.random_normal([5]), gf.truncated_normal([5]), gf.random_uniform([5]),
           gf.random_uniform([5], maxval=1 << 30, dtype=gf.int64)]
    sess = gf.Session(**options)
    first, second = sess.run(ops), sess.run(ops)
    for a, b in zip(first, second):
        assert not np.array_equal(a, b)


def _program(graph_seed=None, op_seed=None):
    """Build the same random program in a fresh graph and run it twice in a fresh session."""
    graph = gf.Graph()
    with graph.as_default():
        if graph_seed is not None:
            gf.set_random_seed(graph_seed)
        ops = [gf.random_normal([4], seed=op_seed), gf.truncated_normal([4], seed=op_seed),
               gf.random_uniform([4], seed=op_seed), gf.random_shuffle(np.arange(8), seed=op_seed),
               gf.random_uniform([4], maxval=100, dtype=gf.int32, seed=op_seed)]
        sess = gf.Session()
        return [sess.run(ops) for _ in range(2)]


@pytest.mark.parametrize("graph_seed, op_seed", [(7, None), (7, 3), (None, 3)])
def test_seeds_reproduce_a_program_in_a_fresh_graph(graph_seed, op_seed):
    first, again = _program(graph_seed, op_seed), _program(graph_seed, op_seed)
    for run_a, run_b in zip(first, again):
        for a, b in zip(run_a, run_b):
            assert np.array_equal(a, b)
    for a, b in zip(*first):  # ... while each run still draws new values
        assert not np.array_equal(a, b)


def test_without_seeds_or_with_other_seeds_programs_differ():
    unseeded, other = _program(), _program(8, None)
    seeded = _program(7, None)
    for a, b, c in zip(unseeded[0], other[0], seeded[0]):
        assert not np.array_equal(a, c) and not np.array_equal(b, c)


def test_interpreter_and_compiled_sessions_draw_the_same_seeded_stream():
    gf.set_random_seed(11)
    r = gf.random_normal([6]) * 2.0
    ref, fast = gf.Session(optimize=False), gf.Session()
    for _ in range(3):
        np.testing.assert_allclose(ref.run(r), fast.run(r), rtol=1e-6)


@pytest.mark.parametrize("options", SESSIONS)
def test_one_stream_per_op_across_different_fetches(options):
    # Fetching the op in another program of the same session continues its stream (TF1 keeps
    # one generator per op and session): a seeded op never repeats a draw.
    gf.set_random_seed(12)
    r = gf.random_normal([6])
    other = gf.random_uniform([2])
    sess = gf.Session(**options)
    first = sess.run(r)
    second, _ = sess.run([r, other])
    third = sess.run(r * 1.0)
    assert not np.array_equal(first, second) and not np.array_equal(second, third)
    with gf.Graph().as_default():
        gf.set_random_seed(12)
        r2 = gf.random_normal([6])
        gf.random_uniform([2])
        fresh = gf.Session(**options)
        assert [np.array_equal(fresh.run(r2), v) for v in (first, second, third)] == [True] * 3


def test_a_variable_initialized_by_a_random_op_keeps_its_value():
    v = gf.Variable(gf.random_normal([3, 4], seed=1), name="v")
    sess = gf.Session()
    first = sess.run(v)
    assert first.shape == (3, 4) and first.dtype == np.float32
    assert np.array_equal(sess.run(v), first)
    sess.run(gf.global_variables_initializer())  # drawn again, as TF1's initializer does
    assert not np.array_equal(sess.run(v), first)


# -- the compiler keeps them -----------------------------------------------------------------------
def test_random_ops_with_constant_inputs_are_not_folded():
    ops = [gf.random_normal([3]), gf.truncated_normal([3]), gf.random_uniform([3]),
           gf.random_shuffle(np.arange(4))]
    prog = gf.Session().make_callable(ops)
    for name in ("random_standard_normal", "truncated_normal", "random_uniform", "random_shuffle"):
        assert name in prog.ops
    assert "_state" in prog.source
    a, b = prog(), prog()
    assert not np.array_equal(a[0], b[0])


@pytest.mark.parametrize("options", SESSIONS)
def test_two_identical_random_ops_are_not_merged(options):
    a, b = gf.random_normal([3]), gf.random_normal([3])
    u, w = gf.random_uniform([3]), gf.random_uniform([3])
    s, t = gf.random_shuffle(np.arange(20)), gf.random_shuffle(np.arange(20))
    va, vb, vu, vw, vs, vt = gf.Session(**options).run([a, b, u, w, s, t])
    assert not np.array_equal(va, vb)
    assert not np.array_equal(vu, vw)
    assert not np.array_equal(vs, vt)
    prog = gf.Session().make_callable([a + b, u - w])
    assert prog.ops.count("random_standard_normal") == 2
    assert prog.ops.count("random_uniform") == 2


def test_same_op_seed_gives_the_same_values_as_in_tf1():
    # Two ops with the same graph and op seed draw the same numbers (TF1), from separate streams.
    gf.set_random_seed(3)
    a, b = gf.random_normal([4], seed=9), gf.random_normal([4], seed=9)
    va, vb = gf.Session().run([a, b])
    assert np.array_equal(va, vb)


# -- gradients -------------------------------------------------------------------------------------
@pytest.mark.parametrize("options", SESSIONS)
def test_gradients_through_mean_and_stddev_as_tf1(options):
    mean = gf.placeholder(gf.float64, (), name="mean")
    stddev = gf.placeholder(gf.float64, (), name="stddev")
    x = gf.placeholder(gf.float64, (50,), name="x")
    for fn in (gf.random_normal, gf.truncated_normal):
        r = fn([50], mean=mean, stddev=stddev, dtype=gf.float64)
        loss = gf.reduce_sum(r * x)
        gm, gs, gx = gf.gradients(loss, [mean, stddev, x])
        xv = np.linspace(-1, 1, 50)
        rv, gmv, gsv, gxv = gf.Session(**options).run(
            [r, gm, gs, gx], {mean: 0.5, stddev: 2.0, x: xv})
        np.testing.assert_array_equal(gxv, rv)
        np.testing.assert_allclose(gmv, xv.sum(), rtol=1e-12)
        np.testing.assert_allclose(gsv, np.sum(xv * (rv - 0.5) / 2.0), rtol=1e-10)


@pytest.mark.parametrize("options", SESSIONS)
def test_gradients_through_uniform_bounds_as_tf1(options):
    lo = gf.placeholder(gf.float64, (), name="lo")
    hi = gf.placeholder(gf.float64, (), name="hi")
    u = gf.random_uniform([100], minval=lo, maxval=hi, dtype=gf.float64)
    weights = np.arange(100.0)
    glo, ghi = gf.gradients(gf.reduce_sum(u * weights), [lo, hi])
    uv, glov, ghiv = gf.Session(**options).run([u, glo, ghi], {lo: -1.0, hi: 3.0})
    draw = (uv + 1.0) / 4.0  # TF1's value is draw * (hi - lo) + lo
    np.testing.assert_allclose(glov, np.sum(weights * (1 - draw)), rtol=1e-10)
    np.testing.assert_allclose(ghiv, np.sum(weights * draw), rtol=1e-10)


def test_no_gradient_through_the_draw_itself():
    x = gf.placeholder(gf.float32, (3,), name="x")
    noise = gf.random_normal([3])
    y = gf.reduce_sum(x * noise)
    assert gf.gradients(noise, [x]) == [None]
    (gx,) = gf.gradients(y, [x])
    n, g = gf.Session().run([noise, gx], {x: np.ones(3, np.float32)})
    assert np.array_equal(n, g)


def test_random_shuffle_has_no_gradient_as_in_tf1():
    x = gf.placeholder(gf.float32, (4, 2), name="x")
    loss = gf.reduce_sum(gf.random_shuffle(x) * np.arange(8.0).reshape(4, 2))
    with pytest.raises(gf.NoGradientError, match="random_shuffle"):
        gf.gradients(loss, [x])
    # stop_gradient says no gradient should flow there
    (g,) = gf.gradients(gf.reduce_sum(gf.random_shuffle(gf.stop_gradient(x)) + x), [x])
    assert np.array_equal(gf.Session().run(g, {x: np.zeros((4, 2))}), np.ones((4, 2)))


def test_printed_graph_shows_the_seed():
    gf.set_random_seed(5)
    gf.random_uniform([2], seed=1, name="noise")
    text = str(gf.get_default_graph())
    assert "noise: f32[2] = random_uniform(noise/min, noise/max, shape=(2,), dtype=float32, " \
           "seed=(5, 1))" in text
