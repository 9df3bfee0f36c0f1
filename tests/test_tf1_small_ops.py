"""TF1's small ops and their semantics: tf.constant's shape rules, tf.range, tf.nn.in_top_k,
tf.losses.sparse_softmax_cross_entropy (against torch in float64) and tf.convert_to_tensor.
References: TF 1.15's documented rules, hand-derived values, numpy and torch."""

import numpy as np
import pytest
import torch
from reference import compare_with_torch, describe, sessions

import graphflow as gf
from compiler import NOT_DIFFERENTIABLE


def run_everywhere(fetches, feed=None):
    """The value from the interpreter, generated numpy code and generated torch code: all equal."""
    values = [sess.run(fetches, feed) for sess in sessions()]
    for sess, value in zip(sessions(), values[1:]):
        np.testing.assert_array_equal(value, values[0], err_msg=describe(sess))
    return values[0]


# -- tf.constant -----------------------------------------------------------------------------------
def test_constant_shape_rules_as_tf1():
    np.testing.assert_array_equal(run_everywhere(gf.constant(-1.0, shape=[2, 3])),
                                  np.full((2, 3), -1.0, np.float32))
    reshaped = gf.constant([1, 2, 3, 4, 5, 6], shape=(2, 3))
    assert reshaped.dtype == gf.int32 and reshaped.shape == (2, 3)
    np.testing.assert_array_equal(run_everywhere(reshaped), [[1, 2, 3], [4, 5, 6]])
    # fewer values than the shape holds: the last one fills the rest (TF1's documented rule)
    np.testing.assert_array_equal(run_everywhere(gf.constant([1, 2, 3], shape=[2, 3])),
                                  [[1, 2, 3], [3, 3, 3]])
    assert gf.Session().run(gf.constant([7, 8], shape=[0])).shape == (0,)


def test_constant_positional_order_is_tf1s():
    c = gf.constant([1, 2], gf.float32, [2, 1], "c")
    assert (c.op.name, c.dtype, c.shape) == ("c", gf.float32, (2, 1))
    assert gf.constant(3).op.name == "Const"


def test_constant_too_many_values_and_verify_shape():
    with pytest.raises(ValueError, match="too many elements.*at most 4, but the value has 6"):
        gf.constant([1, 2, 3, 4, 5, 6], shape=[2, 2])
    with pytest.raises(TypeError, match="verify_shape"):
        gf.constant([1, 2, 3], shape=[3, 1], verify_shape=True)
    assert gf.constant([[1], [2]], shape=[2, 1], verify_shape=True).shape == (2, 1)


def test_constant_dtype_conversion_as_tf1():
    for floats in ([1.5, 2.0], [1.0, 2.0], [1, 2.0]):  # TF1 refuses any Python float for int32
        with pytest.raises(TypeError, match="cannot convert a float64 array to a int32"):
            gf.constant(floats, dtype=gf.int32)
    with pytest.raises(TypeError, match="expected int32, got a float"):
        gf.constant(2.0, dtype=gf.int32)  # TF1 refuses a Python float even when it is whole
    with pytest.raises(TypeError, match="bool"):
        gf.constant(1, dtype=gf.bool)
    ints_as_floats = gf.constant([1, 2], dtype=gf.float64)
    assert ints_as_floats.dtype == gf.float64
    np.testing.assert_array_equal(gf.Session().run(ints_as_floats), [1.0, 2.0])


# -- tf.range --------------------------------------------------------------------------------------
@pytest.mark.parametrize("args, expected", [
    ((5,), [0, 1, 2, 3, 4]), ((2, 10, 3), [2, 5, 8]), ((10, 2, -3), [10, 7, 4]),
    ((3, 3), []), ((-2, 3, 2), [-2, 0, 2])])
def test_range_of_ints(args, expected):
    r = gf.range(*args)
    assert r.dtype == gf.int32 and r.shape == (len(expected),) and r.op.name == "range"
    np.testing.assert_array_equal(run_everywhere(r), np.array(expected, np.int32))


def _tf1_float_range(start, limit, delta, dtype):
    """TF1's Range kernel, written out: ceil(|(limit - start) / delta|) values, each the one
    before plus delta, in the dtype."""
    start, limit, delta = dtype(start), dtype(limit), dtype(delta)
    n = int(np.ceil(abs((limit - start) / delta)))
    out, value = [], start
    for _ in range(n):
        out.append(value)
        value = dtype(value + delta)
    return np.array(out, dtype)


def test_range_of_floats_sums_steps_in_float32():
    r = gf.range(0.0, 1.0, 0.1)
    assert r.dtype == gf.float32
    expected = _tf1_float_range(0.0, 1.0, 0.1, np.float32)
    assert len(expected) == 10
    np.testing.assert_array_equal(run_everywhere(r), expected)
    np.testing.assert_array_equal(run_everywhere(gf.range(1.5, 4)), [1.5, 2.5, 3.5])


def test_range_dtype_inference_and_dtype_argument():
    assert gf.range(1, 5.0).dtype == gf.float32         # the widest argument's dtype
    assert gf.range(np.int64(4)).dtype == gf.int64
    assert gf.range(5, dtype=gf.float64).dtype == gf.float64
    with pytest.raises(TypeError):
        gf.range(2.5, dtype=gf.int32)


def test_range_bad_arguments():
    with pytest.raises(ValueError, match="delta != 0"):
        gf.range(1, 5, 0)
    with pytest.raises(ValueError, match="start <= limit"):
        gf.range(5, 1)
    with pytest.raises(ValueError, match="start >= limit"):
        gf.range(1, 5, -1)


def test_range_of_tensors_matches_torch_arange():
    def build(start, limit, delta):
        r = gf.range(start, limit, delta)
        assert r.shape == (None,)  # the length is known at run time only
        return r

    compare_with_torch(build, lambda s, lim, d: torch.arange(int(s), int(lim), int(d),
                                                             dtype=torch.int32),
                       [np.array(-3, np.int32), np.array(11, np.int32), np.array(4, np.int32)],
                       grad=False)
    n = gf.placeholder(gf.int32, (), name="n")
    for sess in sessions():
        np.testing.assert_array_equal(sess.run(gf.range(n), {n: 4}), [0, 1, 2, 3])
        with pytest.raises(gf.OpError, match="delta != 0"):
            sess.run(gf.range(0, n, n), {n: 0})


# -- tf.nn.in_top_k --------------------------------------------------------------------------------
PREDICTIONS = np.array([[0.1, 0.3, 0.2, 0.4], [0.1, 0.2, 0.3, 0.4]], np.float32)


@pytest.mark.parametrize("k, expected", [(1, [True, False]), (2, [True, True]),
                                         (0, [False, False]), (4, [True, True])])
def test_in_top_k_tf1_examples(k, expected):
    out = gf.nn.in_top_k(PREDICTIONS, [3, 2], k)
    assert out.dtype == gf.bool and out.shape == (2,)
    np.testing.assert_array_equal(run_everywhere(out), expected)


def fed_in_top_k(predictions, targets, k):
    """in_top_k of placeholders (constants would be folded by the reference kernel), run
    everywhere."""
    p = gf.placeholder(gf.float32, (None, None), name="p")
    t = gf.placeholder(gf.int32, (None,), name="t")
    return run_everywhere(gf.nn.in_top_k(p, t, k), {p: predictions, t: np.array(targets)})


def test_in_top_k_ties_non_finite_and_out_of_range():
    tie = np.array([[0.1, 0.3, 0.2, 0.2, 0.2]], np.float32)
    # three classes tie for second place, straddling k=2: all count as in (TF1's doc)
    np.testing.assert_array_equal(fed_in_top_k(tie, [2], 2), [True])
    np.testing.assert_array_equal(fed_in_top_k(tie, [0], 4), [False])
    odd = np.array([[np.nan, 0.5], [np.inf, 0.5], [0.5, np.nan], [0.1, 0.2]], np.float32)
    got = fed_in_top_k(odd, [0, 0, 0, 5], 1)
    # a non-finite target prediction is never in; NaN elsewhere never ranks above; a class
    # outside [0, classes) is not in
    np.testing.assert_array_equal(got, [False, False, True, False])


def test_in_top_k_against_sorting_and_torch():
    rng = np.random.default_rng(0)
    predictions = rng.standard_normal((50, 7)).astype(np.float32)
    targets = rng.integers(0, 7, 50).astype(np.int64)
    k = 3
    by_sorting = [t in np.argsort(-p)[:k] for p, t in zip(predictions, targets)]  # no ties here

    def torch_in_top_k(p, t):
        topk = torch.topk(p, k, dim=1).indices
        return (topk == t[:, None]).any(dim=1)

    value, _ = compare_with_torch(lambda p, t: gf.nn.in_top_k(p, t, k), torch_in_top_k,
                                  [predictions, targets], grad=False)
    np.testing.assert_array_equal(value, by_sorting)


def test_in_top_k_is_not_differentiable_and_checks_its_arguments():
    out = gf.nn.in_top_k(PREDICTIONS, [3, 2], 1)
    assert out.opdef.grad is NOT_DIFFERENTIABLE
    with pytest.raises(TypeError, match="float32"):
        gf.nn.in_top_k(PREDICTIONS.astype(np.float64), [3, 2], 1)
    with pytest.raises(TypeError, match="int32 or int64"):
        gf.nn.in_top_k(PREDICTIONS, [3.0, 2.0], 1)
    with pytest.raises(ValueError, match="non-negative"):
        gf.nn.in_top_k(PREDICTIONS, [3, 2], -1)
    with pytest.raises(gf.ShapeError, match="batch size"):
        gf.nn.in_top_k(PREDICTIONS, [3, 2, 1], 1)
    assert gf.nn.in_top_k(PREDICTIONS, [3, 2], gf.constant(2)).attrs["k"] == 2


# -- tf.losses.sparse_softmax_cross_entropy --------------------------------------------------------
LOGITS = np.random.default_rng(1).standard_normal((6, 4))
LABELS = np.array([0, 3, 1, 1, 2, 0], np.int32)
WEIGHTS = np.array([1.0, 0.0, 2.0, 0.5, 0.0, 3.0])
R = gf.losses.Reduction


def _torch_loss(reduction, weighted):
    def build(logits, labels, weights=None):
        losses = torch.nn.functional.cross_entropy(logits, labels.long(), reduction="none")
        w = weights if weighted else torch.ones_like(losses)
        total = (losses * w).sum()
        if reduction == R.NONE:
            return losses * w
        if reduction == R.SUM:
            return total
        if reduction == R.MEAN:
            return total / w.sum()
        if reduction == R.SUM_OVER_BATCH_SIZE:
            return total / losses.numel()
        return total / (w != 0).sum()
    return build


@pytest.mark.parametrize("reduction", sorted(set(R.all())))
@pytest.mark.parametrize("weighted", [False, True], ids=["weights=1", "weights"])
def test_sparse_softmax_cross_entropy_against_torch(reduction, weighted):
    def build(logits, labels, weights=None):
        return gf.losses.sparse_softmax_cross_entropy(
            labels, logits, weights if weighted else 1.0, reduction=reduction)

    arrays = [LOGITS, LABELS] + ([WEIGHTS] if weighted else [])
    compare_with_torch(build, _torch_loss(reduction, weighted), arrays, wrt=[0])


def test_sparse_softmax_cross_entropy_collection_names_and_label_shape():
    loss = gf.losses.sparse_softmax_cross_entropy(LABELS[:, None], LOGITS)  # (batch, 1) labels
    assert loss.op.name == "sparse_softmax_cross_entropy_loss/value" and loss.shape == ()
    assert gf.get_collection(gf.GraphKeys.LOSSES) == [loss]
    expected = torch.nn.functional.cross_entropy(torch.tensor(LOGITS),
                                                 torch.tensor(LABELS).long()).item()
    np.testing.assert_allclose(gf.Session().run(loss), expected, rtol=1e-12)
    other = gf.losses.sparse_softmax_cross_entropy(LABELS, LOGITS, scope="mine",
                                                   loss_collection=None)
    assert other.op.name.startswith("mine/") and gf.get_collection(gf.GraphKeys.LOSSES) == [loss]
    zero = gf.losses.sparse_softmax_cross_entropy(LABELS, LOGITS, weights=np.zeros(6))
    assert gf.Session().run(zero) == 0.0  # no nonzero weight: 0, as TF1's safe mean
    with pytest.raises(ValueError, match="Reduction"):
        gf.losses.sparse_softmax_cross_entropy(LABELS, LOGITS, reduction="mean")


def test_get_total_loss_sums_losses_and_regularization():
    with pytest.raises(ValueError, match="no losses"):
        gf.losses.get_total_loss()
    a = gf.losses.sparse_softmax_cross_entropy(LABELS, LOGITS)
    b = gf.losses.mean_squared_error(np.zeros(3), np.ones(3))
    reg = gf.constant(0.25, gf.float64)
    gf.add_to_collection(gf.GraphKeys.REGULARIZATION_LOSSES, reg)
    total = gf.losses.get_total_loss()
    assert total.op.name == "total_loss"
    va, vb, vt = gf.Session().run([a, b, total])
    np.testing.assert_allclose(vt, va + vb + 0.25, rtol=1e-12)
    np.testing.assert_allclose(gf.Session().run(gf.losses.get_total_loss(False)), va + vb)


# -- tf.convert_to_tensor --------------------------------------------------------------------------
def test_convert_to_tensor_as_tf1():
    x = gf.placeholder(gf.float32, (2,), name="x")
    assert gf.convert_to_tensor(x) is x and gf.convert_to_tensor(x, gf.float32) is x
    with pytest.raises(ValueError, match="requested dtype float64 for tensor 'x' of dtype "
                                         "float32"):
        gf.convert_to_tensor(x, gf.float64)
    c = gf.convert_to_tensor([1, 2], gf.float64, "c")  # TF1's positional order
    assert (c.op.name, c.dtype) == ("c", gf.float64)
    assert gf.convert_to_tensor(1, preferred_dtype=gf.float32).dtype == gf.float32
    # a preferred dtype the value does not fit is dropped, as in TF1
    assert gf.convert_to_tensor(1.5, preferred_dtype=gf.int32).dtype == gf.float32
    assert gf.convert_to_tensor(2, dtype_hint=gf.int64).dtype == gf.int64
