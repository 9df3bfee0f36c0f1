"""int8, int16, uint8, uint16: TF1's spellings, feeding, casts and arithmetic against numpy."""

import numpy as np
import pytest

import graphflow as gf
from compiler import dtypes

SMALL = [(gf.int8, np.int8, "int8", "i8"), (gf.int16, np.int16, "int16", "i16"),
         (gf.uint8, np.uint8, "uint8", "u8"), (gf.uint16, np.uint16, "uint16", "u16")]


@pytest.mark.parametrize("dtype, np_type, name, short", SMALL)
def test_names_and_printing(dtype, np_type, name, short):
    assert dtype == np.dtype(np_type)
    assert dtypes.as_dtype(name) is dtype and dtypes.as_dtype(np_type) == dtype
    x = gf.placeholder(name, shape=(None, 2), name="x")
    assert x.dtype == dtype
    assert f"x: {short}[?,2]" in str(gf.get_default_graph())


@pytest.mark.parametrize("dtype, np_type, name, short", SMALL)
def test_feed_cast_and_arithmetic_match_numpy(dtype, np_type, name, short):
    info = np.iinfo(np_type)
    a = np.array([info.min, 0, 7, info.max], np_type)
    b = np.array([3, 5, info.max, 2], np_type)
    x = gf.placeholder(dtype, shape=(4,), name="x")
    y = gf.placeholder(dtype, shape=(4,), name="y")
    there_and_back = gf.cast(gf.cast(x, gf.float32), dtype)
    fetches = [x + y, x - y, x * y, gf.reduce_max(x), x < y, gf.cast(x, gf.float32),
               there_and_back]
    with gf.Session() as sess:
        got = sess.run(fetches, {x: a, y: b})
    with np.errstate(over="ignore"):  # numpy (and TF1) wrap around
        want = [a + b, a - b, a * b, a.max(), a < b, a.astype(np.float32), a]
    for g, w in zip(got, want):
        assert g.dtype == w.dtype
        np.testing.assert_array_equal(g, w)


@pytest.mark.parametrize("dtype, np_type, name, short", SMALL)
def test_feeding_rules(dtype, np_type, name, short):
    x = gf.placeholder(dtype, shape=(2,), name="x")
    info = np.iinfo(np_type)
    with gf.Session() as sess:
        got = sess.run(x, {x: [1, int(info.max)]})  # a Python int list (int64) that fits
        assert got.dtype == dtype and got.tolist() == [1, info.max]
        with pytest.raises(gf.FeedError, match=r"'x'.*wrap"):
            sess.run(x, {x: [1, int(info.max) + 1]})
        with pytest.raises(gf.FeedError, match="'x'.*lose information"):
            sess.run(x, {x: np.array([1.5, 2.0])})


def test_uint8_images_cast_and_rescaled():
    pixels = np.array([[0, 1, 128, 255]], np.uint8)
    x = gf.placeholder(gf.uint8, shape=(None, 4), name="images")
    scaled = gf.cast(x, gf.float32) / 255.
    with gf.Session() as sess:
        got = sess.run(scaled, {x: pixels})
    assert got.dtype == np.float32
    np.testing.assert_array_equal(got, pixels.astype(np.float32) / np.float32(255))


def test_a_float_is_still_not_fed_to_an_int_and_other_dtypes_still_refused():
    assert not dtypes.can_feed(np.dtype(np.float32), gf.uint8)
    assert dtypes.can_feed(np.dtype(np.int64), gf.uint8)  # values are range-checked at feed
    with pytest.raises(TypeError, match="not supported"):
        dtypes.as_dtype("uint32")
