"""gf.metrics (TF1's tf.metrics): streaming values over batches against numpy on all the data,
TF1's variable names and collections, resetting, weights and bad input."""

import numpy as np
import pytest

import graphflow as gf

BATCHES = 4


@pytest.fixture(autouse=True)
def fresh_graph():
    gf.reset_default_graph()
    yield


def _stream(value, update_op, feeds):
    """Run update_op once per feed dict; the update ops' results and the final value."""
    with gf.Session() as sess:
        sess.run(gf.local_variables_initializer())
        assert sess.run(value) == 0.0  # nothing seen yet: div_no_nan's 0
        updates = [sess.run(update_op, feed) for feed in feeds]
        return updates, sess.run(value)


def _batches(rng, make):
    return [make(rng, int(rng.integers(3, 9))) for _ in range(BATCHES)]


def test_accuracy_streams_like_numpy_on_all_data():
    rng = np.random.default_rng(0)
    data = _batches(rng, lambda r, n: (r.integers(0, 3, n), r.integers(0, 3, n)))
    labels = gf.placeholder(gf.int64, (None,))
    predictions = gf.placeholder(gf.int64, (None,))
    value, update_op = gf.metrics.accuracy(labels, predictions)
    feeds = [{labels: lab, predictions: pred} for lab, pred in data]
    updates, final = _stream(value, update_op, feeds)
    every_label = np.concatenate([d[0] for d in data])
    every_pred = np.concatenate([d[1] for d in data])
    np.testing.assert_allclose(final, np.mean(every_label == every_pred), rtol=1e-6)
    seen = np.cumsum([len(d[0]) for d in data])
    hits = np.cumsum([np.sum(d[0] == d[1]) for d in data])
    np.testing.assert_allclose(updates, hits / seen, rtol=1e-6)


def test_accuracy_squeezes_a_trailing_one_and_casts_predictions():
    labels = np.array([1, 2, 3, 4])
    predictions = np.array([[1.0], [2.0], [0.0], [4.0]], np.float32)  # [N, 1] against [N]
    value, update_op = gf.metrics.accuracy(labels, predictions, weights=[[1.0], [1.0], [2.0],
                                                                          [0.0]])
    with gf.Session() as sess:
        sess.run(gf.local_variables_initializer())
        assert sess.run(update_op) == pytest.approx(2.0 / 4.0)


def test_signatures_are_tf1s():
    import inspect

    tail = ["metrics_collections", "updates_collections", "name"]
    expected = {
        "accuracy": ["labels", "predictions", "weights"] + tail,
        "mean": ["values", "weights"] + tail,
        "precision": ["labels", "predictions", "weights"] + tail,
        "recall": ["labels", "predictions", "weights"] + tail,
        "auc": ["labels", "predictions", "weights", "num_thresholds", "metrics_collections",
                "updates_collections", "curve", "name", "summation_method", "thresholds"],
    }
    for metric, params in expected.items():
        assert list(inspect.signature(getattr(gf.metrics, metric)).parameters) == params
    defaults = inspect.signature(gf.metrics.auc).parameters
    assert defaults["num_thresholds"].default == 200 and defaults["curve"].default == "ROC"
    assert defaults["summation_method"].default == "trapezoidal"


def test_mean_with_broadcast_weights_streams_like_numpy():
    rng = np.random.default_rng(1)
    data = _batches(rng, lambda r, n: (r.normal(size=(n, 3)), r.uniform(size=(n, 1))))
    values = gf.placeholder(gf.float32, (None, 3))
    weights = gf.placeholder(gf.float32, (None, 1))  # one weight per row, broadcast across
    value, update_op = gf.metrics.mean(values, weights)
    _, final = _stream(value, update_op, [{values: v, weights: w} for v, w in data])
    every_v = np.concatenate([d[0] for d in data])
    every_w = np.broadcast_to(np.concatenate([d[1] for d in data]), every_v.shape)
    np.testing.assert_allclose(final, np.sum(every_v * every_w) / np.sum(every_w), rtol=1e-5)


def test_mean_takes_rank_minus_one_weights_and_scalars():
    values = gf.constant(np.array([[1.0, 2.0], [3.0, 4.0]], np.float32))
    row, row_update = gf.metrics.mean(values, [1.0, 3.0])  # expanded to [[1], [3]] as TF1
    flat, flat_update = gf.metrics.mean(values, 2.0)
    with gf.Session() as sess:
        sess.run(gf.local_variables_initializer())
        assert sess.run(row_update) == pytest.approx((1 + 2 + 3 * 3 + 3 * 4) / 8.0)
        assert sess.run(flat_update) == pytest.approx(2.5)


def _precision_recall_data(rng, n):
    return rng.integers(0, 2, n), rng.integers(0, 2, n), rng.uniform(size=n)


@pytest.mark.parametrize("metric", ["precision", "recall"])
def test_precision_and_recall_stream_like_numpy(metric):
    rng = np.random.default_rng(2)
    data = _batches(rng, _precision_recall_data)
    labels = gf.placeholder(gf.int64, (None,))
    predictions = gf.placeholder(gf.int64, (None,))
    weights = gf.placeholder(gf.float32, (None,))
    value, update_op = getattr(gf.metrics, metric)(labels, predictions, weights)
    feeds = [{labels: lab, predictions: pred, weights: w} for lab, pred, w in data]
    _, final = _stream(value, update_op, feeds)
    lab, pred, w = (np.concatenate([d[i] for d in data]) for i in range(3))
    tp = np.sum(w * (lab == 1) * (pred == 1))
    other = np.sum(w * (lab == 0) * (pred == 1)) if metric == "precision" else \
        np.sum(w * (lab == 1) * (pred == 0))
    np.testing.assert_allclose(final, tp / (tp + other), rtol=1e-5)


def _tf1_auc(labels, predictions, weights, num_thresholds, curve="ROC", inner=None):
    """TF 1.15's documented approximation: thresholds -eps, (i+1)/(n-1)..., 1+eps (or -eps,
    the sorted `inner` ones, 1+eps); an example is positive at t when prediction > t;
    trapezoids over (fp rate, recall) or (recall, precision) with 1e-6 added as TF1 does."""
    if inner is None:
        inner = [(i + 1) * 1.0 / (num_thresholds - 1) for i in range(num_thresholds - 2)]
    inner = sorted(inner)
    thresholds = np.array([-1e-7] + inner + [1.0 + 1e-7], np.float32)[:, None]
    positive = predictions[None, :] > thresholds
    truth = labels.astype(bool)[None, :]
    w = weights.astype(np.float32)[None, :]
    tp = np.sum(w * (positive & truth), axis=1, dtype=np.float32)
    fp = np.sum(w * (positive & ~truth), axis=1, dtype=np.float32)
    fn = np.sum(w * (~positive & truth), axis=1, dtype=np.float32)
    tn = np.sum(w * (~positive & ~truth), axis=1, dtype=np.float32)
    eps = np.float32(1e-6)
    recall = (tp + eps) / (tp + fn + eps)
    if curve == "ROC":
        x, y = fp / (fp + tn + eps), recall
    else:
        x, y = recall, (tp + eps) / (tp + fp + eps)
    return float(np.sum((x[:-1] - x[1:]) * (y[:-1] + y[1:]) / 2))


@pytest.mark.parametrize("curve,num_thresholds", [("ROC", 200), ("PR", 7)])
def test_auc_streams_like_tf1_thresholded_trapezoid(curve, num_thresholds):
    rng = np.random.default_rng(3)
    data = _batches(rng, lambda r, n: (r.integers(0, 2, n), r.uniform(size=n).astype(np.float32),
                                       r.uniform(size=n)))
    labels = gf.placeholder(gf.int64, (None,))
    predictions = gf.placeholder(gf.float32, (None,))
    weights = gf.placeholder(gf.float32, (None,))
    value, update_op = gf.metrics.auc(labels, predictions, weights,
                                      num_thresholds=num_thresholds, curve=curve)
    feeds = [{labels: lab, predictions: pred, weights: w} for lab, pred, w in data]
    _, final = _stream(value, update_op, feeds)
    lab, pred, w = (np.concatenate([d[i] for d in data]) for i in range(3))
    np.testing.assert_allclose(final, _tf1_auc(lab, pred, w, num_thresholds, curve), rtol=1e-5)


@pytest.mark.parametrize("curve", ["ROC", "PR"])
@pytest.mark.parametrize("thresholds", [None, [0.7, 0.2, 0.5]])
def test_auc_small_case_and_explicit_thresholds(curve, thresholds):
    labels = np.array([1, 0, 1, 1, 0])
    predictions = np.array([0.9, 0.95, 0.3, 0.5, 0.1], np.float32)
    value, update_op = gf.metrics.auc(labels, predictions, num_thresholds=7, curve=curve,
                                      thresholds=thresholds)
    with gf.Session() as sess:
        sess.run(gf.local_variables_initializer())
        got = sess.run(update_op)
    want = _tf1_auc(labels, predictions, np.ones(5), 7, curve, thresholds)
    np.testing.assert_allclose(got, want, rtol=1e-5)


def test_auc_of_a_perfect_ranking_is_one():
    value, update_op = gf.metrics.auc([0, 0, 1, 1], [0.1, 0.2, 0.8, 0.9])
    with gf.Session() as sess:
        sess.run(gf.local_variables_initializer())
        assert sess.run(update_op) == pytest.approx(1.0, abs=1e-5)


def test_local_variables_initializer_resets_the_state():
    values = gf.placeholder(gf.float32, (None,))
    value, update_op = gf.metrics.mean(values)
    with gf.Session() as sess:
        sess.run(gf.local_variables_initializer())
        sess.run(update_op, {values: [10.0, 20.0]})
        sess.run(gf.local_variables_initializer())
        assert sess.run(value) == 0.0
        assert sess.run(update_op, {values: [1.0, 2.0]}) == pytest.approx(1.5)


def test_variable_names_and_collections_are_tf1s():
    gf.Variable(1.0, name="w")
    gf.metrics.accuracy([1, 2], [1, 3])
    gf.metrics.accuracy([1, 2], [1, 3])
    gf.metrics.mean([1.0])
    gf.metrics.precision([1, 0], [1, 1])
    gf.metrics.recall([1, 0], [1, 1], name="my_recall")
    gf.metrics.auc([1, 0], [0.5, 0.2], num_thresholds=3)
    names = [v.name for v in gf.local_variables()]
    assert names == [
        "accuracy/total:0", "accuracy/count:0", "accuracy_1/total:0", "accuracy_1/count:0",
        "mean/total:0", "mean/count:0",
        "precision/true_positives/count:0", "precision/false_positives/count:0",
        "my_recall/true_positives/count:0", "my_recall/false_negatives/count:0",
        "auc/true_positives:0", "auc/false_negatives:0", "auc/true_negatives:0",
        "auc/false_positives:0"]
    metric_vars = gf.get_collection(gf.GraphKeys.METRIC_VARIABLES)
    assert [v.name for v in metric_vars] == names
    assert [v.name for v in gf.global_variables()] == ["w:0"]
    assert [v.name for v in gf.trainable_variables()] == ["w:0"]
    assert gf.local_variables()[-1].shape == (3,)
    assert gf.GraphKeys.LOCAL_VARIABLES == "local_variables"
    assert gf.GraphKeys.METRIC_VARIABLES == "metric_variables"


def test_collections_arguments_receive_value_and_update():
    value, update_op = gf.metrics.mean([1.0], metrics_collections=["m"],
                                       updates_collections=["u"])
    assert gf.get_collection("m")[0] is value
    assert gf.get_collection("u")[0] is update_op


def test_mismatched_labels_and_predictions_name_the_metric():
    with pytest.raises(ValueError, match=r"tf\.metrics\.accuracy: labels .* shape \(3,\)"):
        gf.metrics.accuracy([1, 2, 3], [1, 2, 3, 4])
    with pytest.raises(ValueError, match=r"tf\.metrics\.precision"):
        gf.metrics.precision([[1, 0]], [[1, 0, 1]])
    with pytest.raises(ValueError, match=r"tf\.metrics\.auc"):
        gf.metrics.auc([1, 0], [0.5, 0.2, 0.1])


def test_weights_that_do_not_broadcast_are_refused():
    with pytest.raises(ValueError, match=r"tf\.metrics\.mean: weights can not be broadcast"):
        gf.metrics.mean(np.ones((2, 3), np.float32), np.ones((2, 2), np.float32))


def test_bad_auc_arguments():
    with pytest.raises(ValueError, match="curve must be either ROC or PR"):
        gf.metrics.auc([1], [0.5], curve="XY")
    with pytest.raises(ValueError, match="summation_method"):
        gf.metrics.auc([1], [0.5], summation_method="simpson")
