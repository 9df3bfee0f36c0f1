"""String tensors (TF1's tf.string): constants, feeds, identity, comparisons, + and
gf.strings.join, gf.as_string, on the interpreter, generated numpy code and the torch backend,
against Python's own bytes operations and formatting; ops that do not take strings fail when
the graph is built."""

import numpy as np
import pytest
import torch

import graphflow as gf
from compiler import dtypes
from compiler.errors import DTypeError, FeedError

KINDS = {"interpreter": dict(optimize=False), "numpy": dict(check=True),
         "torch": dict(check=True, backend="torch", device="cpu")}


def sessions():
    return [gf.Session(**options) for options in KINDS.values()]


@pytest.fixture(params=sorted(KINDS))
def sess(request):
    """A session of each kind, on the test's own default graph."""
    return gf.Session(**KINDS[request.param])


def assert_bytes_array(value, expected):
    """An object ndarray of plain bytes equal to `expected`, as TF1 returns."""
    assert isinstance(value, np.ndarray) and value.dtype == object, value
    assert value.shape == np.shape(expected)
    assert all(type(v) is bytes for v in value.flat)
    assert value.tolist() == expected


def test_the_string_dtype():
    assert dtypes.as_dtype("string") == gf.string
    assert gf.constant("a").dtype == gf.string
    assert gf.placeholder(gf.string).dtype == gf.string
    assert dtypes.short_name(gf.string) == "str"
    gf.placeholder(gf.string, [None], name="words")
    assert "words: str[?]" in str(gf.get_default_graph())
    assert gf.constant(1.0).dtype != gf.string


def test_constants_come_back_as_bytes(sess):
    hello = gf.constant("Hello, TensorFlow!")
    words = gf.constant([["a", b"b"], ["\u00e9", "d"]])
    got_hello, got_words = sess.run([hello, words])
    assert type(got_hello) is bytes and got_hello == b"Hello, TensorFlow!"
    assert_bytes_array(got_words, [[b"a", b"b"], ["\u00e9".encode("utf-8"), b"d"]])
    again = sess.run(words)
    again[0, 0] = b"changed"  # a fresh array: the constant is not touched
    assert sess.run(words)[0, 0] == b"a"


def test_placeholders_take_str_bytes_lists_and_arrays(sess):
    x = gf.placeholder(gf.string, [None])
    y = gf.identity(x)
    for fed in (["ab", b"cd"], np.array(["ab", "cd"]), np.array([b"ab", b"cd"]),
                np.array(["ab", "cd"], dtype=object)):
        assert_bytes_array(sess.run(y, {x: fed}), [b"ab", b"cd"])
    s = gf.placeholder(gf.string, [])
    assert sess.run(gf.identity(s), {s: "z\u00fc"}) == "z\u00fc".encode("utf-8")


def test_object_arrays_of_str_are_encoded_on_every_run():
    """The numpy backend skips checking arrays of a signature it has seen: never for strings."""
    x = gf.placeholder(gf.string, [2])
    step = gf.Session().make_callable(gf.identity(x), [x])
    fed = np.array(["a", "b"], dtype=object)
    for _ in range(3):
        assert_bytes_array(step(fed), [b"a", b"b"])


def test_equal_and_not_equal_compare_bytes(sess):
    a = gf.placeholder(gf.string, [None])
    b = gf.placeholder(gf.string, [None])
    left, right = ["x", "y", "z"], ["x", "q", "z"]
    eq, ne, to_scalar = sess.run([gf.equal(a, b), gf.not_equal(a, b), gf.equal(a, "y")],
                                 {a: left, b: right})
    np.testing.assert_array_equal(eq, [u == v for u, v in zip(left, right)])
    np.testing.assert_array_equal(ne, [u != v for u, v in zip(left, right)])
    np.testing.assert_array_equal(to_scalar, [u == "y" for u in left])
    assert eq.dtype == np.bool_


def test_join_and_plus_concatenate_as_tf1(sess):
    a = gf.placeholder(gf.string, [None])
    b = gf.placeholder(gf.string, [None])
    left, right = ["ab", "c"], ["x", "yz"]
    joined, alias, plus, scalar = sess.run(
        [gf.strings.join([a, b, "!"], separator="-"), gf.string_join([a, b]), a + b,
         gf.constant("p") + "q"], {a: left, b: right})
    assert_bytes_array(joined, [f"{u}-{v}-!".encode() for u, v in zip(left, right)])
    assert_bytes_array(alias, [(u + v).encode() for u, v in zip(left, right)])
    assert_bytes_array(plus, [(u + v).encode() for u, v in zip(left, right)])
    assert scalar == b"pq"


def test_join_needs_strings_of_one_shape():
    a = gf.constant(["a", "b"])
    with pytest.raises(ValueError, match="scalars or of one shape"):
        gf.strings.join([a, gf.constant(["a", "b", "c"])])
    with pytest.raises(TypeError, match="as_string"):
        gf.strings.join([a, gf.constant([1.0, 2.0])])


def test_as_string_formats_as_printf(sess):
    floats = [0.0, 1.0, -1.0, 0.5, 0.125, 1e10, float("inf"), float("nan")]
    ints = [0, -7, 123456]
    x = gf.constant(np.array(floats, np.float32))
    n = gf.constant(np.array(ints, np.int64))
    got = sess.run([gf.as_string(x), gf.as_string(x, shortest=True),
                    gf.as_string(x, scientific=True), gf.as_string(x, precision=2, width=8),
                    gf.as_string(n, width=5, fill="0"), gf.as_string(gf.constant([True, False])),
                    gf.strings.as_string(n)])
    want = [["%f" % v for v in floats], ["%g" % v for v in floats], ["%e" % v for v in floats],
            ["%8.2f" % v for v in floats], ["%05d" % v for v in ints], ["true", "false"],
            ["%d" % v for v in ints]]
    for value, strings in zip(got, want):
        assert_bytes_array(value, [s.encode() for s in strings])


def test_as_string_rejects_float_options_for_integers():
    with pytest.raises(ValueError, match="apply to floats"):
        gf.as_string(gf.constant([1, 2]), precision=3)


@pytest.mark.parametrize("build, op", [
    (lambda s: s - s, "subtract"),
    (lambda s: s * s, "multiply"),
    (lambda s: gf.matmul(gf.reshape(s, [1, 2]), gf.reshape(s, [2, 1])), "matmul"),
    (lambda s: gf.reduce_sum(s), "reduce_sum"),
    (lambda s: gf.reduce_max(s), "reduce_max"),
    (lambda s: gf.cast(s, gf.float32), "cast"),
    (lambda s: gf.exp(s), "exp"),
    (lambda s: gf.zeros_like(s), "zeros_like"),
    (lambda s: gf.less(s, s), "less"),
])
def test_numeric_ops_on_strings_fail_when_built(build, op):
    s = gf.constant(["a", "b"], name="words")
    named = rf"^{op} .*test_strings.py:\d+.*'(words|Reshape)' is a string"
    with pytest.raises(DTypeError, match=named):
        build(s)


def test_nothing_numeric_makes_strings():
    with pytest.raises(DTypeError, match="cast .*cannot make a string"):
        gf.cast(gf.constant(1.0), gf.string)
    with pytest.raises(DTypeError, match="variable"):
        gf.Variable("text")


def test_strings_and_numbers_do_not_mix_in_constants_and_feeds():
    with pytest.raises(TypeError, match="holds strings"):
        gf.constant("1.5", dtype=gf.float32)
    with pytest.raises(TypeError, match="str or bytes, got int"):
        gf.constant(1, dtype=gf.string)
    x = gf.placeholder(gf.float32, [None])
    s = gf.placeholder(gf.string, [None], name="words")
    sess = gf.Session()
    with pytest.raises(FeedError, match="strings .* placeholder 'Placeholder' of dtype float32"):
        sess.run(x, {x: ["1.5"]})
    with pytest.raises(FeedError, match="'words' of dtype string: .*got float"):
        sess.run(s, {s: [1.5]})
    with pytest.raises(FeedError, match="shape"):
        sess.run(s, {s: [["a"]]})
    torch_sess = gf.Session(backend="torch", device="cpu")
    with pytest.raises(FeedError, match="torch tensor to placeholder 'words'"):
        torch_sess.run(s, {s: torch.zeros(2)})


def test_shape_ops_on_strings():
    s = gf.placeholder(gf.string, [2, 2])
    fed = [["a", "b"], ["c", "d"]]
    mask = np.array([[True, False], [False, True]])
    ops = [gf.reshape(s, [4]), gf.transpose(s), gf.concat([s, s], 0), gf.stack([s, s]),
           gf.gather(s, [1]), s[1], s[1, 0], gf.expand_dims(s, 0), gf.shape(s),
           gf.where(gf.constant(mask), s, gf.constant([["-", "-"], ["-", "-"]]))]
    ref = np.array([[b"a", b"b"], [b"c", b"d"]], dtype=object)
    want = [ref.reshape(4), ref.T, np.concatenate([ref, ref]), np.stack([ref, ref]), ref[[1]],
            ref[1], ref[1, 0], ref[None], np.array([2, 2]), np.where(mask, ref, b"-")]
    for sess in sessions():
        for got, expected in zip(sess.run(ops, {s: fed}), want):
            assert np.shape(got) == np.shape(expected)
            assert np.asarray(got).tolist() == np.asarray(expected).tolist(), (got, expected)
        assert type(sess.run(s[1, 0], {s: fed})) is bytes


def test_string_nodes_never_get_out_buffers():
    """Generated numpy code computes strings by their reference kernels on host objects: no
    `out=` and no planned buffer of object dtype, even for a bool result of strings."""
    a = gf.placeholder(gf.string, [3])
    b = gf.placeholder(gf.string, [3])
    eq = gf.equal(a, b, name="same")
    flipped = gf.logical_not(eq, name="flipped")  # would reuse eq's buffer if it had one
    joined = gf.strings.join([a, b], name="joined")
    step = gf.Session().make_callable([flipped, gf.identity(joined)], [a, b])
    got = step(["x", "y", "z"], ["x", "q", "z"])
    np.testing.assert_array_equal(got[0], [False, True, False])
    lines = {line.split("=")[0].strip(): line for line in step.source.splitlines() if "=" in line}
    assert "out=" not in lines["same"] and "out=" not in lines["joined"], step.source
    spec = step._spec().generated
    assert all(buf.dtype != object for buf in spec.buffers.values())
