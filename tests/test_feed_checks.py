"""Fed values that cannot be represented exactly are refused with a FeedError naming the
placeholder, on every path (run, make_callable, its fast path for a signature seen before)."""

import numpy as np
import pytest

import graphflow as gf
from compiler.errors import FeedError


@pytest.fixture(autouse=True)
def fresh_graph():
    with gf.Graph().as_default() as g:
        yield g


@pytest.mark.parametrize("dtype, value, low, high", [
    (gf.int32, [2 ** 40], 2 ** 40, 2 ** 40),
    (gf.int32, np.array([1, -2 ** 31 - 1], np.int64), -2 ** 31 - 1, 1),
    (gf.int64, np.array([2 ** 64 - 1], np.uint64), 2 ** 64 - 1, 2 ** 64 - 1),
    (gf.int32, np.array([7, 2 ** 32], np.uint64), 7, 2 ** 32),
])
def test_integers_that_do_not_fit_are_refused(dtype, value, low, high):
    p = gf.placeholder(dtype, (None,), name="ids")
    with gf.Session() as sess:
        with pytest.raises(FeedError, match=rf"'ids'.*\[{low}, {high}\]"):
            sess.run(p, {p: value})
        with pytest.raises(FeedError, match="'ids'"):
            sess.make_callable(p, [p])(value)


def test_integers_that_fit_are_narrowed_exactly():
    p = gf.placeholder(gf.int32, (None,), name="ids")
    value = np.array([-2 ** 31, 0, 2 ** 31 - 1], np.int64)
    with gf.Session() as sess:
        out = sess.run(p, {p: value})
    assert out.dtype == np.int32 and out.tolist() == value.tolist()


def test_a_python_int_beyond_64_bits_is_refused():
    p = gf.placeholder(gf.int64, (None,), name="ids")
    with gf.Session() as sess, pytest.raises(FeedError, match="'ids'"):
        sess.run(p, {p: [2 ** 70]})


@pytest.mark.parametrize("value", [[[1.0, 2.0], [3.0]], [1.0, [2.0, 3.0]]])
def test_a_ragged_nested_list_is_refused_naming_the_placeholder(value):
    p = gf.placeholder(gf.float32, None, name="x")
    with gf.Session() as sess, pytest.raises(FeedError, match="'x'.*rectangular"):
        sess.run(p, {p: value})


def test_the_fast_path_converts_an_ndarray_subclass_as_the_first_call_did():
    x = gf.placeholder(gf.float64, (None, 3), name="x")
    total = gf.reduce_sum(x * 2.0, axis=1)
    matrix = np.matrix([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    with gf.Session() as sess:
        step = sess.make_callable(total, [x])
        first, second = step(matrix), step(matrix)
    expected = (2.0 * np.asarray(matrix)).sum(axis=1)  # as an ndarray: shape (2,)
    for out in (first, second):
        assert type(out) is np.ndarray and out.shape == (2,)
        np.testing.assert_array_equal(out, expected)


def test_a_torch_tensor_of_integers_that_do_not_fit_is_refused():
    torch = pytest.importorskip("torch")
    p = gf.placeholder(gf.int32, (None,), name="ids")
    with gf.Session(backend="torch", device="cpu") as sess:
        with pytest.raises(FeedError, match=r"'ids'.*\[3, 4294967296\]"):
            sess.run(p, {p: torch.tensor([3, 2 ** 32])})
        assert sess.run(p, {p: torch.tensor([3, -2 ** 31])}).tolist() == [3, -2 ** 31]


def test_whole_floats_go_into_an_int_placeholder_as_tf1_casts_them():
    # TF1's session feeds np.asarray(value, dtype=int32): the official DCGAN example feeds
    # np.ones([n]) (float64) as sparse labels
    p = gf.placeholder(gf.int32, (None,), name="labels")
    value = np.array([1.0, 0.0, -3.0, 2.0 ** 31 - 1])
    with gf.Session() as sess:
        out = sess.run(p, {p: value})
        fast = sess.make_callable(p, [p])(value)
    expected = np.asarray(value, dtype=np.int32)
    for got in (out, fast):
        assert got.dtype == np.int32 and got.tolist() == expected.tolist()


@pytest.mark.parametrize("value, match", [
    ([1.0, 1.5], "lose information"), ([np.nan], "lose information"),
    ([np.inf], "lose information"), ([2.0 ** 31], r"\[2147483648, 2147483648\].*wrap"),
])
def test_floats_an_int_cannot_hold_exactly_are_still_refused(value, match):
    p = gf.placeholder(gf.int32, (None,), name="labels")
    with gf.Session() as sess, pytest.raises(FeedError, match="'labels'.*" + match):
        sess.run(p, {p: np.array(value)})
