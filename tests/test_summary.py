"""Summary ops (TF1's tf.summary.scalar/histogram/image/text/merge/merge_all): what they write,
read back with TensorBoard's own EventAccumulator and checked against numpy, PIL and TF1's
documented tags, buckets and image scaling; errors name the op."""

import io
import math

import numpy as np
import pytest
from PIL import Image
from tensorboard.backend.event_processing import event_accumulator as ea

import graphflow as gf
from compiler.errors import OpError, ShapeError
from compiler.opdef import NOT_DIFFERENTIABLE
from compiler.ops import summary as ops

KINDS = {"interpreter": dict(optimize=False), "numpy": dict(check=True),
         "torch": dict(check=True, backend="torch", device="cpu")}


@pytest.fixture(params=sorted(KINDS))
def sess(request):
    return gf.Session(**KINDS[request.param])


def read_back(logdir):
    """Everything in the event files of logdir, by TensorBoard's reader."""
    acc = ea.EventAccumulator(str(logdir), size_guidance={k: 0 for k in ea.DEFAULT_SIZE_GUIDANCE})
    acc.Reload()
    return acc


def write(logdir, sess, fetch, feeds, steps):
    with gf.summary.FileWriter(str(logdir)) as writer:
        for step, feed in zip(steps, feeds):
            writer.add_summary(sess.run(fetch, feed), global_step=step)
    return read_back(logdir)


def test_scalars_come_back_with_their_tags_and_steps(sess, tmp_path):
    x = gf.placeholder(gf.float32, [])
    with gf.name_scope("train"):
        loss = gf.summary.scalar("loss", x)
    acc_op = gf.summary.scalar("accuracy", x * 2, family="metrics")
    merged = gf.summary.merge_all()
    assert loss.dtype == gf.string and loss.shape == ()
    values = [0.5, 0.25, 3.0]
    acc = write(tmp_path, sess, merged, [{x: v} for v in values], [1, 2, 7])
    assert sorted(acc.Tags()["scalars"]) == ["metrics/metrics/accuracy", "train/loss"]
    got = acc.Scalars("train/loss")
    assert [e.step for e in got] == [1, 2, 7]
    assert [e.value for e in got] == values
    assert [e.value for e in acc.Scalars("metrics/metrics/accuracy")] == [2 * v for v in values]
    assert type(sess.run(acc_op, {x: 1.0})) is bytes  # a serialized Summary, as TF1


def test_histogram_matches_numpy_and_tf1_buckets(sess, tmp_path):
    rng = np.random.default_rng(0)
    data = np.concatenate([rng.standard_normal(500) * 3, [0.0, 0.0, 1e-13, 7.5]])
    v = gf.placeholder(gf.float64, [None])
    acc = write(tmp_path, sess, gf.summary.histogram("weights", v), [{v: data}], [3])
    (event,) = acc.Histograms("weights")
    h = event.histogram_value
    assert event.step == 3
    assert (h.num, h.min, h.max) == (data.size, data.min(), data.max())
    assert math.isclose(h.sum, data.sum(), rel_tol=1e-12)
    assert math.isclose(h.sum_squares, np.sum(data ** 2), rel_tol=1e-12)
    assert sum(h.bucket) == data.size
    # Each count is the number of values in [previous limit, this limit), TF1's buckets.
    limits = [-np.inf] + list(h.bucket_limit)
    for lo, hi, count in zip(limits, limits[1:], h.bucket):
        assert np.count_nonzero((data >= lo) & (data < hi)) == count, (lo, hi)
    # The limits lie on TF1's ladder: 0 or +-1e-12 * 1.1**k.
    for limit in h.bucket_limit[:-1]:
        if limit != 0 and abs(limit) < 1e300:
            k = math.log(abs(limit) / 1e-12, 1.1)
            assert abs(k - round(k)) < 1e-6, limit


def test_histogram_of_nan_fails_naming_the_tag():
    v = gf.placeholder(gf.float32, [None])
    with pytest.raises(OpError, match="histogram_summary 'w'.*Nan in summary histogram for: w"):
        gf.Session().run(gf.summary.histogram("w", v), {v: [1.0, np.nan]})


def _decoded(image_value) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(image_value.encoded_image_string)))


def test_images_are_png_scaled_as_tf1(sess, tmp_path):
    rng = np.random.default_rng(1)
    positive = rng.random((4, 3, 5, 3)).astype(np.float32)
    signed = (rng.random((2, 3, 5, 1)) - 0.7).astype(np.float32)
    a = gf.placeholder(gf.float32, [None, 3, 5, 3])
    b = gf.placeholder(gf.float32, [None, 3, 5, 1])
    merged = gf.summary.merge([gf.summary.image("rgb", a), gf.summary.image("grey", b, 1)])
    acc = write(tmp_path, sess, merged, [{a: positive, b: signed}], [0])
    assert sorted(acc.Tags()["images"]) == ["grey/image", "rgb/image/0", "rgb/image/1",
                                            "rgb/image/2"]
    for i in range(3):  # max_outputs=3 of 4; all positive: scaled so the largest is 255
        (event,) = acc.Images(f"rgb/image/{i}")
        assert (event.height, event.width) == (3, 5)
        # In float32, as TF1 computes for float32 images.
        want = np.floor(positive[i] * (np.float32(255) / positive[i].max()))
        np.testing.assert_array_equal(_decoded(event), want.astype(np.uint8))
    (event,) = acc.Images("grey/image")  # negative values: 0 at 128, scaled by 127/max |x|
    x = signed[0, :, :, 0]
    want = np.floor(x * (np.float32(127) / np.abs(x).max()) + np.float32(128))
    np.testing.assert_array_equal(_decoded(event), want.astype(np.uint8))


def test_text_summary(sess, tmp_path):
    acc = write(tmp_path, sess, gf.summary.text("note", gf.constant("hello *world*")), [{}], [4])
    (event,) = acc.Tensors("note")
    assert event.step == 4 and list(event.tensor_proto.string_val) == [b"hello *world*"]
    assert acc.SummaryMetadata("note").plugin_data.plugin_name == "text"
    with pytest.raises(ValueError, match="to have dtype string"):
        gf.summary.text("bad", gf.constant(1.0))


def test_collections_and_merge_all():
    assert gf.summary.merge_all() is None  # nothing yet, as TF1
    x = gf.constant(1.0)
    a = gf.summary.scalar("a", x)
    b = gf.summary.scalar("b", x, collections=["mine"])
    assert gf.get_collection(gf.GraphKeys.SUMMARIES) == [a]
    assert gf.get_collection("mine") == [b]
    merged = gf.summary.merge([a, b])
    assert merged not in gf.get_collection(gf.GraphKeys.SUMMARIES)
    assert gf.summary.merge_all("mine").inputs == (b,)
    again = gf.summary.scalar("a", x)  # a second "a": unique name, unique tag
    assert again.attrs["tag"] == "a_1"


def test_merging_a_tag_twice_fails_at_run_time():
    x = gf.constant(1.0)
    s = gf.summary.scalar("a", x)
    with pytest.raises(OpError, match="Duplicate tag a"):
        gf.Session().run(gf.summary.merge([s, s]))


def test_scalar_summary_of_a_non_scalar_fails_naming_the_op():
    v = gf.constant([1.0, 2.0], name="vec")
    with pytest.raises(ShapeError, match=r"scalar_summary 'loss' .*'vec' has shape \(2,\)"):
        gf.summary.scalar("loss", v)
    unknown = gf.placeholder(gf.float32, None)
    s = gf.summary.scalar("late", unknown)
    late = r"scalar_summary 'late'.*(has shape \(2,\)|\[\] != \[2\])"
    for options in KINDS.values():  # known once fed: an InvalidArgumentError, as TF1
        with pytest.raises(OpError, match=late):
            gf.Session(**options).run(s, {unknown: [1.0, 2.0]})
    with pytest.raises(TypeError, match="real number"):
        gf.summary.scalar("flag", gf.constant(True))


def test_summaries_are_not_differentiable():
    for opdef in (ops.SCALAR_SUMMARY, ops.HISTOGRAM_SUMMARY, ops.IMAGE_SUMMARY,
                  ops.TEXT_SUMMARY, ops.MERGE_SUMMARY):
        assert opdef.grad is NOT_DIFFERENTIABLE, opdef
