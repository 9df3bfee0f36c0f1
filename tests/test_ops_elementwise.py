"""Elementwise ops and the Python operators on tensors, against torch (float64) and central
finite differences: arithmetic with broadcasting, comparisons, selection, clipping, casts and the
pass-through ops."""

import numpy as np
import pytest
import torch
from reference import check_finite_differences, compare_with_torch

import graphflow as gf

SHAPE_PAIRS = [((), ()), ((3,), ()), ((2, 3), (3,)), ((2, 1), (1, 3)), ((1, 2, 3), (2, 1))]
# Both operand orders: the broadcast input's gradient is summed back on the other side.
BOTH_ORDERS = SHAPE_PAIRS + [(b, a) for a, b in SHAPE_PAIRS if a != b]
UNARY_SHAPES = [(), (3,), (2, 3)]


# -- inputs that keep each op inside its domain ----------------------------------------------------
def any_real(rng, shape):
    return rng.standard_normal(shape)


def positive(rng, shape):
    return rng.uniform(0.5, 2.0, shape)


def away_from_zero(rng, shape):
    return rng.uniform(0.5, 2.0, shape) * rng.choice([-1.0, 1.0], shape)


def small_ints(rng, shape):
    """Float values with many ties, so equal/less_equal see both outcomes."""
    return rng.integers(-1, 2, shape).astype(np.float64)


def _ids(pairs):
    return [f"{a}-{b}" for a, b in pairs]


# -- binary arithmetic -----------------------------------------------------------------------------
# (name, graphflow op, torch op, domain of x, domain of y)
BINARY = [
    ("add", gf.add, torch.add, any_real, any_real),
    ("subtract", gf.subtract, torch.sub, any_real, any_real),
    ("multiply", gf.multiply, torch.mul, any_real, any_real),
    ("divide", gf.divide, torch.div, any_real, away_from_zero),
    ("power", gf.power, torch.pow, positive, any_real),
    ("maximum", gf.maximum, torch.maximum, any_real, any_real),  # continuous inputs: no ties
    ("minimum", gf.minimum, torch.minimum, any_real, any_real),
]
BINARY_IDS = [b[0] for b in BINARY]


@pytest.mark.parametrize("shapes", BOTH_ORDERS, ids=_ids(BOTH_ORDERS))
@pytest.mark.parametrize("name, f_gf, f_torch, dom_x, dom_y", BINARY, ids=BINARY_IDS)
def test_binary_op_matches_torch(name, f_gf, f_torch, dom_x, dom_y, shapes):
    rng = np.random.default_rng(0)
    x, y = dom_x(rng, shapes[0]), dom_y(rng, shapes[1])
    compare_with_torch(f_gf, f_torch, [x, y])


FD_SHAPE_PAIRS = [((2, 1), (3,)), ((), (2,))]  # small: two session runs per input element


@pytest.mark.parametrize("shapes", FD_SHAPE_PAIRS, ids=_ids(FD_SHAPE_PAIRS))
@pytest.mark.parametrize("name, f_gf, f_torch, dom_x, dom_y", BINARY, ids=BINARY_IDS)
def test_binary_op_finite_differences(name, f_gf, f_torch, dom_x, dom_y, shapes):
    rng = np.random.default_rng(1)
    check_finite_differences(f_gf, [dom_x(rng, shapes[0]), dom_y(rng, shapes[1])])


def test_power_at_zero_base_matches_torch():
    """0 ** y is defined for y >= 0, and so are its gradients: torch (and TF1's pow gradient) give
    d/dy = 0 there (not 0 * log 0) and d/dx = 0 for y = 0 (not 0 * 0 ** -1)."""
    x = np.array([0.0, 0.0, 0.0, 1.5])
    y = np.array([2.0, 0.0, 1.0, 0.5])
    value, grads = compare_with_torch(gf.power, torch.pow, [x, y])
    np.testing.assert_array_equal(value[:3], [0.0, 1.0, 0.0])
    assert all(np.all(np.isfinite(g)) for g in grads)


# (graphflow op, torch op, hand-derived d/dx and d/dy of sum(op(x, y)) for the inputs below)
TIES = [
    (gf.maximum, torch.maximum, [0.5, 0.0, 1.0, 0.5], [0.5, 1.0, 0.0, 0.5]),
    (gf.minimum, torch.minimum, [0.5, 1.0, 0.0, 0.5], [0.5, 0.0, 1.0, 0.5]),
]


@pytest.mark.parametrize("f_gf, f_torch, want_dx, want_dy", TIES, ids=["maximum", "minimum"])
def test_maximum_minimum_split_the_gradient_on_ties(f_gf, f_torch, want_dx, want_dy):
    x = np.array([1.0, 2.0, 3.0, -1.0])
    y = np.array([1.0, 3.0, 2.0, -1.0])  # ties at positions 0 and 3
    compare_with_torch(f_gf, f_torch, [x, y])
    compare_with_torch(f_gf, f_torch, [x, np.array(2.0)])  # a broadcast y that ties with x[1]
    a, b = gf.placeholder(gf.float64, (4,)), gf.placeholder(gf.float64, (4,))
    da, db = gf.gradients(gf.reduce_sum(f_gf(a, b)), [a, b])
    got_dx, got_dy = gf.Session().run([da, db], {a: x, b: y})
    np.testing.assert_array_equal(got_dx, want_dx)
    np.testing.assert_array_equal(got_dy, want_dy)


# -- unary arithmetic ------------------------------------------------------------------------------
UNARY = [
    ("negative", gf.negative, torch.neg, any_real),
    ("square", gf.square, torch.square, any_real),
    ("sqrt", gf.sqrt, torch.sqrt, positive),
    ("exp", gf.exp, torch.exp, any_real),
    ("log", gf.log, torch.log, positive),
    ("abs", gf.abs, torch.abs, away_from_zero),
    ("sign", gf.sign, torch.sign, away_from_zero),  # zero gradient, as torch's
    ("identity", gf.identity, torch.clone, any_real),
]
UNARY_IDS = [u[0] for u in UNARY]


@pytest.mark.parametrize("shape", UNARY_SHAPES, ids=str)
@pytest.mark.parametrize("name, f_gf, f_torch, dom", UNARY, ids=UNARY_IDS)
def test_unary_op_matches_torch(name, f_gf, f_torch, dom, shape):
    compare_with_torch(f_gf, f_torch, [dom(np.random.default_rng(2), shape)])


@pytest.mark.parametrize("name, f_gf, f_torch, dom", UNARY, ids=UNARY_IDS)
def test_unary_op_finite_differences(name, f_gf, f_torch, dom):
    check_finite_differences(f_gf, [dom(np.random.default_rng(3), (2, 3))])


def test_sign_of_zero_is_zero_and_abs_gradient_at_zero_matches_torch():
    x = np.array([-2.0, 0.0, 3.0])
    value, _ = compare_with_torch(gf.sign, torch.sign, [x])
    np.testing.assert_array_equal(value, [-1.0, 0.0, 1.0])
    compare_with_torch(gf.abs, torch.abs, [x])  # torch: d|x|/dx = sign(x) = 0 at 0


# -- comparisons (forward only) --------------------------------------------------------------------
COMPARISONS = [
    ("equal", gf.equal, torch.eq),
    ("not_equal", gf.not_equal, torch.ne),
    ("less", gf.less, torch.lt),
    ("less_equal", gf.less_equal, torch.le),
    ("greater", gf.greater, torch.gt),
    ("greater_equal", gf.greater_equal, torch.ge),
]
COMPARISON_IDS = [c[0] for c in COMPARISONS]


@pytest.mark.parametrize("shapes", BOTH_ORDERS, ids=_ids(BOTH_ORDERS))
@pytest.mark.parametrize("name, f_gf, f_torch", COMPARISONS, ids=COMPARISON_IDS)
def test_comparison_matches_torch_and_is_bool(name, f_gf, f_torch, shapes):
    rng = np.random.default_rng(4)
    x, y = small_ints(rng, shapes[0]), small_ints(rng, shapes[1])
    value, _ = compare_with_torch(f_gf, f_torch, [x, y], grad=False)
    assert value.dtype == np.bool_


@pytest.mark.parametrize("name, f_gf, f_torch", COMPARISONS, ids=COMPARISON_IDS)
def test_comparison_of_integers_and_static_dtype(name, f_gf, f_torch):
    rng = np.random.default_rng(5)
    x, y = rng.integers(-2, 3, (2, 3)).astype(np.int32), rng.integers(-2, 3, (3,)).astype(np.int32)
    value, _ = compare_with_torch(f_gf, f_torch, [x, y], grad=False)
    assert value.dtype == np.bool_
    a = gf.placeholder(gf.float64, (2, 3))
    assert f_gf(a, 0.0).dtype == gf.bool_


def test_comparison_passes_no_gradient():
    x = gf.placeholder(gf.float64, (3,))
    mask = gf.cast(gf.greater(x, 0.0), gf.float64)
    assert gf.gradients(gf.reduce_sum(mask), [x]) == [None]


# -- where -----------------------------------------------------------------------------------------
WHERE_SHAPES = [  # (cond, x, y)
    ((2, 3), (2, 3), (2, 3)),
    ((2, 1), (1, 3), ()),
    ((3,), (2, 3), (2, 1)),
    ((), (3,), (2, 3)),
    ((2, 3), (), ()),
    ((1, 2, 3), (2, 1), (3,)),
]


@pytest.mark.parametrize("shapes", WHERE_SHAPES, ids=[str(s) for s in WHERE_SHAPES])
def test_where_broadcasts_condition_and_branches(shapes):
    rng = np.random.default_rng(6)
    cond = rng.random(shapes[0]) < 0.5
    x, y = rng.standard_normal(shapes[1]), rng.standard_normal(shapes[2])
    compare_with_torch(gf.where, torch.where, [cond, x, y])
    check_finite_differences(lambda a, b: gf.where(gf.constant(cond), a, b), [x, y])


def test_where_with_python_scalar_branch():
    rng = np.random.default_rng(7)
    cond, x = np.array([True, False, True]), rng.standard_normal((2, 3))
    compare_with_torch(lambda c, a: gf.where(c, a, 0.0),
                       lambda c, a: torch.where(c, a, torch.tensor(0.0, dtype=a.dtype)), [cond, x])
    compare_with_torch(lambda c, a: gf.where(c, -1.0, a),
                       lambda c, a: torch.where(c, torch.tensor(-1.0, dtype=a.dtype), a),
                       [cond, x])


# -- clip_by_value ---------------------------------------------------------------------------------
def test_clip_by_value_at_the_boundaries_matches_torch_clamp():
    x = np.array([-2.0, -1.0, -0.5, 0.0, 0.5, 1.0, 2.0])  # hits both bounds exactly
    lo, hi = np.array(-1.0), np.array(1.0)
    # torch.clamp: the gradient passes where lo <= x <= hi, boundaries included.
    compare_with_torch(gf.clip_by_value, torch.clamp, [x, lo, hi])
    compare_with_torch(lambda t: gf.clip_by_value(t, -1.0, 1.0),
                       lambda t: torch.clamp(t, -1.0, 1.0), [x], seed=3)
    a = gf.placeholder(gf.float64, (7,))
    b, c = gf.placeholder(gf.float64, ()), gf.placeholder(gf.float64, ())
    grads = gf.gradients(gf.reduce_sum(gf.clip_by_value(a, b, c)), [a, b, c])
    got = gf.Session().run(grads, {a: x, b: lo, c: hi})
    np.testing.assert_array_equal(got[0], [0, 1, 1, 1, 1, 1, 0])
    assert got[1] == 1.0 and got[2] == 1.0  # one element below lo, one above hi


@pytest.mark.parametrize("shapes", [((2, 3), (3,), (2, 1)), ((3,), (), (2, 3))],
                         ids=["bounds-broadcast", "x-broadcast"])
def test_clip_by_value_broadcasts_bounds(shapes):
    rng = np.random.default_rng(8)
    x = rng.standard_normal(shapes[0])
    lo = rng.uniform(-1.0, -0.2, shapes[1])
    hi = rng.uniform(0.2, 1.0, shapes[2])
    # torch.clamp cannot take the gradient of an x smaller than the output: broadcast it first.
    compare_with_torch(gf.clip_by_value,
                       lambda t, a, b: torch.clamp(*torch.broadcast_tensors(t, a, b)), [x, lo, hi])


def test_clip_by_value_finite_differences_off_the_boundaries():
    x = np.array([[-1.7, -0.4, 0.3], [0.9, 1.6, -0.05]])
    check_finite_differences(gf.clip_by_value, [x, np.array([-0.5, -0.5, 0.0]), np.array(1.0)])


# -- cast, identity, stop_gradient, zeros_like, ones_like ------------------------------------------
def test_cast_round_trip_float64_float32_float64():
    x = np.random.default_rng(9).standard_normal((2, 3))

    def gf_round_trip(t):
        down = gf.cast(t, gf.float32)
        assert down.dtype == gf.float32
        return gf.cast(down, gf.float64)

    value, (g,) = compare_with_torch(gf_round_trip, lambda t: t.float().double(), [x])
    assert value.dtype == np.float64 and g.dtype == np.float64
    np.testing.assert_array_equal(value, x.astype(np.float32).astype(np.float64))


def test_cast_float_to_int_truncates_toward_zero_like_torch():
    x = np.array([-2.7, -0.5, 0.0, 0.5, 2.7])
    value, _ = compare_with_torch(lambda t: gf.cast(t, gf.int32), lambda t: t.to(torch.int32),
                                  [x], grad=False)
    assert value.dtype == np.int32
    np.testing.assert_array_equal(value, [-2, 0, 0, 0, 2])


def test_identity_gradient_is_the_incoming_gradient():
    x = np.random.default_rng(10).standard_normal((2, 3))
    compare_with_torch(lambda t: gf.identity(t) * 3.0, lambda t: t.clone() * 3.0, [x])
    p = gf.placeholder(gf.float64, (2, 3))
    (d,) = gf.gradients(gf.reduce_sum(gf.identity(p)), [p])
    np.testing.assert_array_equal(gf.Session().run(d, {p: x}), np.ones((2, 3)))


def test_stop_gradient_blocks_the_path():
    rng = np.random.default_rng(11)
    x = gf.placeholder(gf.float64, (3,))
    y = gf.placeholder(gf.float64, (3,))
    assert gf.gradients(gf.reduce_sum(gf.stop_gradient(x) * 3.0), [x]) == [None]
    gx, gy = gf.gradients(gf.reduce_sum(gf.stop_gradient(x) * y), [x, y])
    assert gx is None and gy is not None
    x0 = rng.standard_normal(3)
    np.testing.assert_array_equal(gf.Session().run(gy, {x: x0, y: x0 + 1}), x0)


def test_stop_gradient_forward_and_gradient_match_detach():
    a, b = np.random.default_rng(12).standard_normal((2, 2, 3))
    compare_with_torch(lambda x: x * gf.stop_gradient(x), lambda x: x * x.detach(), [a])
    compare_with_torch(lambda x, y: gf.stop_gradient(x * y) + y,
                       lambda x, y: (x * y).detach() + y, [a, b])


@pytest.mark.parametrize("f_gf, f_torch", [(gf.zeros_like, torch.zeros_like),
                                           (gf.ones_like, torch.ones_like)],
                         ids=["zeros_like", "ones_like"])
def test_zeros_like_ones_like(f_gf, f_torch):
    x = np.random.default_rng(13).standard_normal((2, 3))
    value, _ = compare_with_torch(f_gf, f_torch, [x], grad=False)
    assert value.dtype == np.float64
    value, _ = compare_with_torch(lambda t: f_gf(t, dtype=gf.int32),
                                  lambda t: f_torch(t, dtype=torch.int32), [x], grad=False)
    assert value.dtype == np.int32
    # The gradient flows only through the other factor; alone it has none (torch: no grad_fn).
    compare_with_torch(lambda t: t * f_gf(t) + f_gf(t), lambda t: t * f_torch(t) + f_torch(t), [x])
    p = gf.placeholder(gf.float64, (None, 3))
    assert gf.gradients(gf.reduce_sum(f_gf(p)), [p]) == [None]
    assert gf.Session().run(f_gf(p), {p: np.zeros((4, 3))}).shape == (4, 3)  # run-time shape


# -- Python operators ------------------------------------------------------------------------------
# (name, graphflow/torch expression (the same Python code works on both), domains, shapes)
BINARY_OPERATORS = [
    ("x+y", lambda x, y: x + y, any_real, any_real, ((2, 3), (3,))),
    ("x-y", lambda x, y: x - y, any_real, any_real, ((3,), (2, 3))),
    ("x*y", lambda x, y: x * y, any_real, any_real, ((2, 1), (1, 3))),
    ("x/y", lambda x, y: x / y, any_real, away_from_zero, ((2, 3), (2, 1))),
    ("x**y", lambda x, y: x ** y, positive, any_real, ((2, 3), ())),
    ("x@y", lambda x, y: x @ y, any_real, any_real, ((2, 3), (3, 4))),
]


@pytest.mark.parametrize("name, expr, dom_x, dom_y, shapes", BINARY_OPERATORS,
                         ids=[o[0] for o in BINARY_OPERATORS])
def test_binary_operator_matches_torch(name, expr, dom_x, dom_y, shapes):
    rng = np.random.default_rng(14)
    x, y = dom_x(rng, shapes[0]), dom_y(rng, shapes[1])
    compare_with_torch(expr, expr, [x, y])
    check_finite_differences(expr, [x, y])


UNARY_OPERATORS = [
    ("-x", lambda x: -x, any_real),
    ("abs(x)", lambda x: abs(x), away_from_zero),
    ("x+0.5", lambda x: x + 0.5, any_real),
    ("0.5+x", lambda x: 0.5 + x, any_real),
    ("x-2", lambda x: x - 2, any_real),
    ("2-x", lambda x: 2 - x, any_real),
    ("x*3", lambda x: x * 3, any_real),
    ("3.0*x", lambda x: 3.0 * x, any_real),
    ("x/2", lambda x: x / 2, any_real),
    ("1/x", lambda x: 1 / x, away_from_zero),
    ("x**2", lambda x: x ** 2, any_real),
    ("x**0.5", lambda x: x ** 0.5, positive),
    ("2**x", lambda x: 2 ** x, any_real),
    ("0.5**x", lambda x: 0.5 ** x, any_real),
]
UNARY_OPERATOR_IDS = [o[0] for o in UNARY_OPERATORS]


@pytest.mark.parametrize("name, expr, dom", UNARY_OPERATORS, ids=UNARY_OPERATOR_IDS)
def test_operator_with_python_scalar_matches_torch(name, expr, dom):
    x = dom(np.random.default_rng(15), (2, 3))
    compare_with_torch(expr, expr, [x])
    check_finite_differences(expr, [x])


@pytest.mark.parametrize("name, expr, dom", UNARY_OPERATORS, ids=UNARY_OPERATOR_IDS)
def test_python_scalar_takes_the_tensor_dtype(name, expr, dom):
    """float32 tensor (op) Python scalar stays float32, and so does its gradient."""
    x = dom(np.random.default_rng(16), (2, 3)).astype(np.float32)
    p = gf.placeholder(gf.float32, (2, 3))
    out = expr(p)
    assert out.dtype == gf.float32
    value, (g,) = compare_with_torch(expr, expr, [x], rtol=1e-6, atol=1e-6)
    assert value.dtype == np.float32 and g.dtype == np.float32


def test_integer_tensor_with_python_scalars():
    i = gf.placeholder(gf.int32, (3,))
    assert (i * 2).dtype == gf.int32 and (2 - i).dtype == gf.int32
    assert gf.Session().run(2 - i * 3, {i: np.array([0, 1, 2])}).tolist() == [2, -1, -4]
    with pytest.raises(TypeError):
        i * 2.5  # the scalar cannot become an int32 without loss
    f = gf.placeholder(gf.float64, (3,))
    assert (f * 2).dtype == gf.float64  # an int scalar takes the float tensor's dtype


def test_divide_of_integers_is_true_division_to_float64():
    a, b = np.array([7, -7, 1], np.int32), np.array([2, 2, 3], np.int32)
    value, _ = compare_with_torch(gf.divide, lambda x, y: x.double() / y.double(), [a, b],
                                  grad=False)
    assert value.dtype == np.float64


COMPARISON_OPERATORS = [
    ("x<y", lambda x, y: x < y), ("x<=y", lambda x, y: x <= y),
    ("x>y", lambda x, y: x > y), ("x>=y", lambda x, y: x >= y),
    ("x<0", lambda x, y: x < 0.0), ("0<=x", lambda x, y: 0.0 <= x),
    ("1>x", lambda x, y: 1 > x), ("x>=1", lambda x, y: x >= 1),
]


@pytest.mark.parametrize("name, expr", COMPARISON_OPERATORS,
                         ids=[o[0] for o in COMPARISON_OPERATORS])
def test_comparison_operators(name, expr):
    rng = np.random.default_rng(17)
    x, y = small_ints(rng, (2, 3)), small_ints(rng, (3,))
    value, _ = compare_with_torch(expr, expr, [x, y], grad=False)
    assert value.dtype == np.bool_
