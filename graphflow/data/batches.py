"""gf.data: mini-batches of in-memory arrays for a training loop.

    for epoch in range(10):
        for xb, yb in gf.data.batches(x_train, y_train, 128, seed=epoch):
            sess.run(train_op, feed_dict={x: xb, y: yb})
"""

from __future__ import annotations

import numbers
from typing import Iterator, Optional, Tuple

import numpy as np

__all__ = ["batches"]


def batches(x, y, batch_size: int, shuffle: bool = True, seed: Optional[int] = None,
            drop_last: bool = False) -> Iterator[Tuple[np.ndarray, np.ndarray]]:
    """One pass over (x, y) in mini-batches: an iterator of (x_batch, y_batch).

    x and y are indexed along their first axis and must have the same length. Every example comes
    exactly once per pass; with shuffle=True the order is a permutation drawn from
    np.random.default_rng(seed) (seed=None: a new order each call; the same seed: the same order).
    The last, smaller batch is kept unless drop_last=True. Shuffled batches are copies; unshuffled
    ones are views (slices) of x and y. The arguments are checked here, before the first batch.
    """
    x = np.asarray(x)
    y = np.asarray(y)
    if x.ndim == 0 or y.ndim == 0:
        raise ValueError(f"batches: x and y must be arrays of examples along their first axis, "
                         f"got shapes {x.shape} and {y.shape}")
    if len(x) != len(y):
        raise ValueError(f"batches: x and y hold different numbers of examples: x has {len(x)} "
                         f"(shape {x.shape}), y has {len(y)} (shape {y.shape})")
    if (isinstance(batch_size, bool) or not isinstance(batch_size, numbers.Integral)
            or batch_size < 1):
        raise ValueError(f"batches: batch_size must be an integer >= 1, got {batch_size!r}")
    return _batches(x, y, int(batch_size), shuffle, seed, drop_last)


def _batches(x: np.ndarray, y: np.ndarray, batch_size: int, shuffle: bool, seed, drop_last: bool
             ) -> Iterator[Tuple[np.ndarray, np.ndarray]]:
    n = len(x)
    stop = n - n % batch_size if drop_last else n
    if shuffle:
        order = np.random.default_rng(seed).permutation(n)
        for start in range(0, stop, batch_size):
            index = order[start:start + batch_size]
            yield x[index], y[index]
    else:
        for start in range(0, stop, batch_size):
            yield x[start:start + batch_size], y[start:start + batch_size]
