"""tf.nn.log_uniform_candidate_sampler, nce_loss and sampled_softmax_loss against TF 1.15's
formulas (the log-uniform distribution and expected counts of its LogUniformSampler, and
_compute_sampled_logits in numpy given the same sampled_values), and their gradients against
central differences, on the interpreter and the generated numpy code."""

import numpy as np
import pytest

import graphflow as gf

SESSIONS = [pytest.param(dict(optimize=False), id="interpreter"),
            pytest.param(dict(check=True), id="compiled")]
FLOAT_MAX = float(np.finfo(np.float32).max)


def _p(classes, range_max):
    classes = np.asarray(classes, np.float64)
    return (np.log(classes + 2) - np.log(classes + 1)) / np.log(range_max + 1)


# -- the sampler -----------------------------------------------------------------------------------
@pytest.mark.parametrize("options", SESSIONS)
def test_sampler_frequencies_follow_the_log_uniform_distribution(options):
    range_max, n, runs = 10, 5000, 8
    labels = gf.constant(np.array([[0], [7]]), gf.int64)
    sampled, true_count, sampled_count = gf.nn.log_uniform_candidate_sampler(
        labels, 1, n, False, range_max, seed=3)
    sess = gf.Session(**options)
    draws = [sess.run([sampled, true_count, sampled_count]) for _ in range(runs)]
    ids = np.concatenate([d[0] for d in draws])
    assert ids.dtype == np.int64 and ids.min() >= 0 and ids.max() < range_max
    freq = np.bincount(ids, minlength=range_max) / ids.size
    # standard error of each frequency is below sqrt(0.25 / 40000) = 0.0025
    np.testing.assert_allclose(freq, _p(np.arange(range_max), range_max), atol=0.01)
    assert not np.array_equal(draws[0][0], draws[1][0])  # each run draws anew
    for ids, true, samp in draws:  # unique=False: p * num_sampled
        assert true.dtype == np.float32 and true.shape == (2, 1) and samp.shape == (n,)
        np.testing.assert_allclose(true, _p([[0], [7]], range_max) * n, rtol=1e-6)
        np.testing.assert_allclose(samp, _p(ids, range_max) * n, rtol=1e-6)


@pytest.mark.parametrize("options", SESSIONS)
def test_unique_sampler_counts_are_tf1s_formula_for_the_draws_taken(options):
    range_max, n = 6, 4
    labels = gf.constant(np.array([[1, 5], [0, 2]]), gf.int64)
    out = gf.nn.log_uniform_candidate_sampler(labels, 2, n, True, range_max)
    sess = gf.Session(**options)
    saw_rejections = False
    for _ in range(30):
        ids, true, samp = sess.run(out)
        assert len(set(ids.tolist())) == n and true.shape == (2, 2)
        p = _p(ids, range_max)
        if np.allclose(samp, p * n, rtol=1e-6):
            continue  # no draw was rejected: TF1's p * num_sampled
        saw_rejections = True
        # the number of draws taken, recovered from one count: 1 - (1 - p)^tries = count
        tries = int(round(np.log1p(-samp[0]) / np.log1p(-p[0])))
        assert tries > n
        np.testing.assert_allclose(samp, -np.expm1(tries * np.log1p(-p)), rtol=1e-5)
        np.testing.assert_allclose(
            true, -np.expm1(tries * np.log1p(-_p([[1, 5], [0, 2]], range_max))), rtol=1e-5)
    assert saw_rejections


@pytest.mark.parametrize("options", SESSIONS)
def test_unique_sampler_counts_the_draws_it_took(options):
    # two classes, both wanted: draws go on until the second class first comes up, so the
    # number taken averages 1 + p0 / p1 + p1 / p0 (a geometric wait after the first draw)
    labels = gf.constant(np.array([[0]]), gf.int64)
    out = gf.nn.log_uniform_candidate_sampler(labels, 1, 2, True, 2, seed=7)
    sess = gf.Session(**options)
    tries = []
    for _ in range(400):
        ids, _, count = sess.run(out)
        p = _p(ids, 2)
        if np.allclose(count, p * 2, rtol=1e-6):
            tries.append(2)  # TF1's shortcut: no draw was rejected
        else:  # 1 - (1 - p)^tries = count, read off the class whose count is not 1 in float32
            i = np.argmin(count)
            tries.append(np.log1p(-count[i]) / np.log1p(-p[i]))
    p = _p([0, 1], 2)
    assert abs(np.mean(tries) - (1 + p[0] / p[1] + p[1] / p[0])) < 0.3


def test_seeds_reproduce_the_draw_and_identical_samplers_are_not_merged():
    def program():
        with gf.Graph().as_default() as g:
            g.seed = None
            gf.set_random_seed(5)
            labels = gf.constant(np.array([[1]]), gf.int64)
            a = gf.nn.log_uniform_candidate_sampler(labels, 1, 8, False, 100)[0]
            b = gf.nn.log_uniform_candidate_sampler(labels, 1, 8, False, 100)[0]
            return gf.Session().run([a, b])
    first, again = program(), program()
    np.testing.assert_array_equal(first[0], again[0])
    assert not np.array_equal(first[0], first[1])


def test_sampler_rejects_bad_arguments():
    labels = gf.constant(np.array([[1]]), gf.int64)
    with pytest.raises(ValueError, match="num_sampled .5. <= range_max .4."):
        gf.nn.log_uniform_candidate_sampler(labels, 1, 5, True, 4)
    with pytest.raises(ValueError, match="num_true=2"):
        gf.nn.log_uniform_candidate_sampler(labels, 2, 2, True, 4)
    with pytest.raises(ValueError, match="partition_strategy"):
        gf.nn.nce_loss(gf.zeros([4, 2]), gf.zeros([4]), labels, gf.zeros([1, 2]), 2, 4,
                       partition_strategy="rows")


# -- the losses against TF1's _compute_sampled_logits in numpy -------------------------------------
def _reference_logits(w, b, labels, x, sampled, true_count, samp_count, remove_hits):
    num_true = labels.shape[1]
    true_count, samp_count = np.float64(true_count), np.float64(samp_count)
    true_logits = np.einsum("bd,btd->bt", x, w[labels]) + b[labels] - np.log(true_count)
    samp_logits = x @ w[sampled].T + b[sampled]
    if remove_hits:
        hit = (labels[:, :, None] == sampled[None, None, :]).any(1)
        samp_logits = samp_logits + np.where(hit, -FLOAT_MAX, 0.0)
    samp_logits = samp_logits - np.log(samp_count)
    logits = np.concatenate([true_logits, samp_logits], 1)
    targets = np.concatenate([np.full_like(true_logits, 1 / num_true),
                              np.zeros_like(samp_logits)], 1)
    return logits, targets


def _reference_nce(*args):
    z, t = _reference_logits(*args)
    return (np.maximum(z, 0) - z * t + np.log1p(np.exp(-np.abs(z)))).sum(1)


def _reference_softmax(*args):
    z, t = _reference_logits(*args)
    shifted = z - z.max(1, keepdims=True)
    return -(t * (shifted - np.log(np.exp(shifted).sum(1, keepdims=True)))).sum(1)


def _problem(num_true):
    rng = np.random.default_rng(num_true)
    w, b, x = rng.normal(size=(7, 3)), rng.normal(size=7), rng.normal(size=(3, 3))
    labels = np.array([[2, 5], [0, 2], [6, 6]])[:, :num_true]
    sampled = np.array([2, 4, 6, 1])  # 2 and 6 are accidental hits
    true_count = rng.uniform(0.1, 1, size=labels.shape).astype(np.float32)
    samp_count = rng.uniform(0.1, 1, size=4).astype(np.float32)
    return w, b, labels, x, sampled, true_count, samp_count


LOSSES = [(gf.nn.nce_loss, _reference_nce, False), (gf.nn.sampled_softmax_loss,
                                                    _reference_softmax, True)]


def _build(loss_fn, w, b, labels, x, sampled, true_count, samp_count, remove_hits):
    wt, xt = gf.placeholder(gf.float64, w.shape), gf.placeholder(gf.float64, x.shape)
    values = (gf.constant(sampled, gf.int64), gf.constant(true_count), gf.constant(samp_count))
    loss = loss_fn(wt, gf.constant(b), gf.constant(labels), xt, num_sampled=4, num_classes=7,
                   num_true=labels.shape[1], sampled_values=values,
                   remove_accidental_hits=remove_hits)
    return loss, wt, xt


@pytest.mark.parametrize("options", SESSIONS)
@pytest.mark.parametrize("num_true", [1, 2])
@pytest.mark.parametrize("remove_hits", [False, True])
@pytest.mark.parametrize("loss_fn, reference, default_hits", LOSSES)
def test_losses_match_tf1s_formula(options, num_true, remove_hits, loss_fn, reference,
                                   default_hits):
    w, b, labels, x, sampled, tc, sc = _problem(num_true)
    loss, wt, xt = _build(loss_fn, w, b, labels, x, sampled, tc, sc, remove_hits)
    assert loss.shape == (3,)
    got = gf.Session(**options).run(loss, {wt: w, xt: x})
    np.testing.assert_allclose(got, reference(w, b, labels, x, sampled, tc, sc, remove_hits),
                               rtol=1e-10)


@pytest.mark.parametrize("options", SESSIONS)
@pytest.mark.parametrize("num_true", [1, 2])
@pytest.mark.parametrize("loss_fn, reference, remove_hits", LOSSES)
def test_gradients_match_central_differences(options, num_true, loss_fn, reference,
                                             remove_hits):
    w, b, labels, x, sampled, tc, sc = _problem(num_true)
    loss, wt, xt = _build(loss_fn, w, b, labels, x, sampled, tc, sc, remove_hits)
    total = gf.reduce_sum(loss * gf.constant([1.0, 2.0, -0.5], gf.float64))
    grads = gf.gradients(total, [wt, xt])
    sess = gf.Session(**options)
    gw, gx = sess.run([gf.convert_to_tensor(g) for g in grads], {wt: w, xt: x})
    weights = np.array([1.0, 2.0, -0.5])

    def f(w_, x_):
        return reference(w_, b, labels, x_, sampled, tc, sc, remove_hits) @ weights

    for value, grad, at in ((w, gw, lambda v: f(v, x)), (x, gx, lambda v: f(w, v))):
        numeric = np.zeros_like(value)
        for i in np.ndindex(value.shape):
            step = np.zeros_like(value)
            step[i] = 1e-6
            numeric[i] = (at(value + step) - at(value - step)) / 2e-6
        np.testing.assert_allclose(grad, numeric, rtol=1e-6, atol=1e-8)


def test_default_sampler_is_seeded_by_sampled_softmax_loss_seed():
    def run(seed):
        with gf.Graph().as_default():
            w, b, labels, x, *_ = _problem(1)
            loss = gf.nn.sampled_softmax_loss(gf.constant(w), gf.constant(b),
                                              gf.constant(labels), gf.constant(x), 3, 7,
                                              seed=seed)
            return gf.Session().run(loss)
    np.testing.assert_array_equal(run(4), run(4))
    assert np.isfinite(run(4)).all()
