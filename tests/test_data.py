"""gf.data.batches: every example once per pass, batch sizes, seeds, argument errors."""

import numpy as np
import pytest

import graphflow as gf


def make(n=10):
    x = np.arange(n * 2, dtype=np.float32).reshape(n, 2)
    y = np.arange(n, dtype=np.int64) * 10
    return x, y


@pytest.mark.parametrize("shuffle", [True, False])
@pytest.mark.parametrize("batch_size", [1, 3, 5, 10, 32])
def test_each_example_exactly_once_in_pairs(shuffle, batch_size):
    x, y = make(10)
    out = list(gf.data.batches(x, y, batch_size, shuffle=shuffle, seed=0))
    sizes = [len(xb) for xb, _ in out]
    expected = [batch_size] * (10 // batch_size) + ([10 % batch_size] if 10 % batch_size else [])
    assert sizes == expected
    xs = np.concatenate([xb for xb, _ in out])
    ys = np.concatenate([yb for _, yb in out])
    assert sorted(ys.tolist()) == y.tolist()
    np.testing.assert_array_equal(xs[:, 0] * 5, ys)  # x and y rows stay together
    assert xs.dtype == np.float32 and ys.dtype == np.int64


def test_unshuffled_keeps_the_order():
    x, y = make(7)
    ys = [yb.tolist() for _, yb in gf.data.batches(x, y, 3, shuffle=False)]
    assert ys == [[0, 10, 20], [30, 40, 50], [60]]


def test_drop_last():
    x, y = make(10)
    out = list(gf.data.batches(x, y, 4, seed=1, drop_last=True))
    assert [len(yb) for _, yb in out] == [4, 4]
    assert len(set(np.concatenate([yb for _, yb in out]).tolist())) == 8
    exact = list(gf.data.batches(x, y, 5, shuffle=False, drop_last=True))
    assert [len(yb) for _, yb in exact] == [5, 5]


def test_shuffle_is_a_permutation_from_default_rng():
    x, y = make(10)
    ys = np.concatenate([yb for _, yb in gf.data.batches(x, y, 4, seed=123)])
    np.testing.assert_array_equal(ys, y[np.random.default_rng(123).permutation(10)])


def test_seed_gives_the_same_order_and_other_seeds_differ():
    x, y = make(50)

    def order(seed):
        return np.concatenate([yb for _, yb in gf.data.batches(x, y, 8, seed=seed)]).tolist()

    assert order(5) == order(5)
    assert order(5) != order(6)
    assert order(5) != y.tolist()


def test_lists_and_multidimensional_examples():
    images = np.zeros((6, 2, 2))
    out = list(gf.data.batches(images, [0, 1, 2, 3, 4, 5], 4, shuffle=False))
    assert out[0][0].shape == (4, 2, 2)
    assert out[1][1].tolist() == [4, 5]


def test_empty_data_gives_no_batches():
    assert list(gf.data.batches(np.zeros((0, 3)), np.zeros(0), 4)) == []


def test_mismatched_lengths_raise_at_the_call():
    x, y = make(10)
    with pytest.raises(ValueError, match=r"x has 10.*y has 9"):
        gf.data.batches(x, y[:9], 2)  # raised before iterating


@pytest.mark.parametrize("batch_size", [0, -1, 2.5, True, "4"])
def test_bad_batch_size(batch_size):
    x, y = make(10)
    with pytest.raises(ValueError, match="batch_size"):
        gf.data.batches(x, y, batch_size)


def test_scalars_are_refused():
    with pytest.raises(ValueError, match="first axis"):
        gf.data.batches(np.float32(1), np.zeros(1), 1)


def test_numpy_integer_batch_size():
    x, y = make(4)
    assert len(list(gf.data.batches(x, y, np.int64(2)))) == 2
