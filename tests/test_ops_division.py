"""Floor division and floor remainder (tf.floordiv, tf.floormod / tf.mod, `//` and `%`) against
torch and Python's own operators: values with every sign combination, the remainder's
gradient, integer division by zero, and TF1's operator names."""

import numpy as np
import pytest
import torch
from reference import check_finite_differences, compare_with_torch

import graphflow as gf


def _signed(seed, shape):
    """Floats of both signs, kept away from integer ratios (floor jumps there)."""
    rng = np.random.default_rng(seed)
    return rng.uniform(0.5, 4.0, shape) * rng.choice([-1.0, 1.0], shape) + 0.137


@pytest.mark.parametrize("shapes", [((3, 4), (3, 4)), ((3, 4), (4,)), ((), (2, 3))], ids=str)
def test_floormod_matches_torch_remainder_with_gradients(shapes):
    x, y = _signed(0, shapes[0]), _signed(1, shapes[1])
    compare_with_torch(lambda a, b: a % b, torch.remainder, [x, y])
    compare_with_torch(gf.floormod, torch.remainder, [x, y])


def test_floordiv_matches_torch_and_has_no_gradient():
    x, y = _signed(2, (4, 3)), _signed(3, (4, 3))
    compare_with_torch(lambda a, b: a // b,
                       lambda a, b: torch.div(a, b, rounding_mode="floor"), [x, y], grad=False)
    a = gf.placeholder(gf.float64, (2,))
    assert gf.gradients(gf.floordiv(a, 2.0), [a]) == [None]  # TF1: FloorDiv has no gradient


def test_floormod_finite_differences():
    check_finite_differences(lambda a, b: gf.floormod(a, b), [_signed(4, (3,)), _signed(5, (3,))])


@pytest.mark.parametrize("dtype", [np.int32, np.int64])
def test_integers_follow_pythons_floor_rules(dtype):
    xs = np.array([7, -7, 7, -7, 0, 5], dtype)
    ys = np.array([2, 2, -2, -2, 3, 5], dtype)
    a, b = gf.placeholder(dtype, (6,)), gf.placeholder(dtype, (6,))
    for sess in (gf.Session(optimize=False), gf.Session(), gf.Session(backend="torch",
                                                                        device="cpu")):
        q, r = sess.run([a // b, a % b], {a: xs, b: ys})
        assert q.tolist() == [int(u) // int(v) for u, v in zip(xs, ys)] and q.dtype == dtype
        assert r.tolist() == [int(u) % int(v) for u, v in zip(xs, ys)] and r.dtype == dtype


def test_integer_division_by_zero_is_an_error_naming_the_op():
    a = gf.placeholder(gf.int32, (2,), name="a")
    q = gf.floordiv(a, gf.constant([1, 0]), name="halves")
    for sess in (gf.Session(optimize=False), gf.Session(), gf.Session(backend="torch",
                                                                        device="cpu")):
        with pytest.raises(gf.errors.InvalidArgumentError, match="halves.*division by zero"):
            sess.run(q, {a: [4, 4]})
    assert np.isinf(gf.Session().run(gf.floordiv(1.0, gf.constant(0.0))))  # floats: inf


def test_operator_names_are_tf1s():
    a = gf.placeholder(gf.float32, (2,))
    assert (a // 2.0).op.name == "floordiv" and (a % 2.0).op.name == "mod"
    assert (a % 2.0).op.type == "FloorMod" and gf.mod is gf.floormod
    assert (7.0 // a).op.type == "FloorDiv"


@pytest.mark.parametrize("build", [lambda b: b // b, lambda b: b % b, lambda b: b ** b,
                                   gf.square], ids=["floordiv", "mod", "pow", "square"])
def test_bools_are_refused_where_numpy_would_compute_in_int8(build):
    b = gf.placeholder(gf.bool_, (2,), name="flags")
    with pytest.raises(TypeError, match="bool tensors are not allowed.*'flags'"):
        build(b)
