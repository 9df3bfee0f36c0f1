"""Bad arguments are refused when the graph is built, naming the op and the argument; values a
kernel cannot take are refused at run time naming the node (TF1's behaviour where it has one)."""

import numpy as np
import pytest
import torch

import graphflow as gf
from compiler.errors import OpError

EXECUTORS = [dict(optimize=False), dict(), dict(backend="torch", device="cpu"),
             dict(backend="native")]
IDS = ["interpreter", "numpy", "torch", "native"]


@pytest.fixture(autouse=True)
def fresh_graph():
    with gf.Graph().as_default() as g:
        yield g


@pytest.mark.parametrize("options", EXECUTORS, ids=IDS)
@pytest.mark.parametrize("bad", [3, -1, 10])
def test_sparse_cross_entropy_refuses_a_label_outside_the_classes(options, bad):
    labels = gf.placeholder(gf.int32, (None,), name="labels")
    logits = gf.placeholder(gf.float64, (None, 3), name="logits")
    loss = gf.reduce_mean(gf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels,
                                                                         logits=logits))
    grad = gf.gradients(loss, [logits])[0]
    data = np.array([[0.5, -1.0, 2.0], [1.0, 0.0, -0.5]])
    expected = torch.nn.functional.cross_entropy(torch.tensor(data), torch.tensor([0, 2]))
    with pytest.raises(IndexError):  # torch refuses it too
        torch.nn.functional.cross_entropy(torch.tensor(data), torch.tensor([0, bad]))
    with gf.Session(**options) as sess:
        value, _ = sess.run([loss, grad], {labels: [0, 2], logits: data})
        np.testing.assert_allclose(value, expected.item(), rtol=1e-12)
        with pytest.raises(OpError, match=rf"sparse_softmax_cross_entropy_with_logits.* "
                                          rf"{bad} .*\[0, 3\)"):
            sess.run([loss, grad], {labels: [0, bad], logits: data})


def test_one_hot_keeps_tf1s_zero_row_for_an_index_out_of_range():
    out = gf.Session().run(gf.one_hot([0, 3, -1, 2], 3))
    np.testing.assert_array_equal(out, [[1, 0, 0], [0, 0, 0], [0, 0, 0], [0, 0, 1]])


def test_one_hot_with_a_negative_depth_is_refused_when_built():
    with pytest.raises(ValueError, match=r"one_hot.*depth must be non-negative, got -3"):
        gf.one_hot([1, 2], -3)
    with pytest.raises(TypeError, match=r"one_hot.*depth must be an integer"):
        gf.one_hot([1, 2], 2.5)


def test_constant_ints_follow_tf1_and_refuse_what_64_bits_cannot_hold():
    assert gf.constant(2 ** 31 - 1).dtype == np.int32
    assert gf.constant(2 ** 40).dtype == np.int64  # TF1 widens a Python int that needs it
    for value in (2 ** 70, [1, 2 ** 70]):
        with pytest.raises(ValueError, match=r"constant 'big'.*64 bits"):
            gf.constant(value, name="big")
    with pytest.raises(ValueError, match=r"constant 'Const'.*1099511627776"):
        gf.constant(2 ** 40, dtype=gf.int32)


@pytest.mark.parametrize("build, op", [
    (lambda x: gf.reduce_sum(x, axis=1.5), "reduce_sum"),
    (lambda x: gf.reduce_mean(x, axis=[0, 1.5]), "reduce_mean"),
    (lambda x: gf.concat([x, x], axis=0.5), "concat"),
    (lambda x: gf.nn.softmax(x, axis=0.5), "softmax"),
    (lambda x: gf.argmax(x, 0.5), "argmax"),
    (lambda x: gf.expand_dims(x, 0.5), "expand_dims"),
])
def test_a_float_axis_is_refused_naming_the_op(build, op):
    x = gf.constant([[1.0, 2.0]])
    with pytest.raises(TypeError, match=rf"{op} .*axis must be an integer, got .*\(float\)"):
        build(x)


@pytest.mark.parametrize("build, words", [
    (lambda: gf.zeros((2 ** 63, 1)), r"zeros 'zeros'.*9223372036854775808"),
    (lambda: gf.ones((2 ** 20, 2 ** 20), name="big"), r"ones 'big'.*4,398,046,511,104 bytes"),
    (lambda: gf.fill([2, -1], 1.0), r"Fill 'Fill'.*negative dimension -1"),
    (lambda: gf.placeholder(gf.float32, (2 ** 62, 4)), r"more than 2\*\*63 - 1"),
    (lambda: gf.random_normal((2 ** 63,)), r"random_normal.*larger than 2\*\*63 - 1"),
])
def test_impossible_shapes_are_refused_when_built(build, words):
    with pytest.raises(ValueError, match=words):
        build()


@pytest.mark.parametrize("options", [dict(optimize=False), dict(), dict(reuse_memory=False),
                                     dict(backend="torch", device="cpu")],
                         ids=IDS[:2] + ["numpy-no-planning", "torch"])
def test_an_intermediate_that_cannot_be_allocated_names_its_node(options):
    a = gf.placeholder(gf.float64, (None, 1), name="a")
    b = gf.placeholder(gf.float64, (1, None), name="b")
    v = gf.Variable(np.float64(1.0), name="v")
    outer = gf.add(a, b, name="outer")  # (2**20, 2**20) float64: 8 TiB
    train = v.assign_add(gf.reduce_sum(outer))
    column = np.zeros((2 ** 20, 1))
    with gf.Session(**options) as sess:
        sess.run(v)
        with pytest.raises(OpError, match=r"add 'outer' \(test_build_errors\.py:\d+\).*"
                                          r"(8\.00 TiB|8,796,093,022,208|8796093022208)"):
            sess.run(train, {a: column, b: column.T})
        assert sess.run(v) == 1.0
