"""TF1's tutorial data API (`input_data.read_data_sets`): DataSet with next_batch."""

from __future__ import annotations

from collections import namedtuple
from typing import Optional, Tuple

import numpy as np

__all__ = ["DataSet", "Datasets", "make_datasets"]

Datasets = namedtuple("Datasets", ["train", "validation", "test"])


class DataSet:
    """Images and labels with TF1's next_batch: every example exactly once per epoch, in a new
    order each epoch (an epoch boundary inside a batch takes the rest of the old epoch and the
    start of the new one, as TF1 does)."""

    def __init__(self, images: np.ndarray, labels: np.ndarray, seed: Optional[int] = None):
        if len(images) != len(labels):
            raise ValueError(f"{len(images)} images but {len(labels)} labels")
        self.images, self.labels = images, labels
        self.epochs_completed = 0
        self._rng = np.random.default_rng(seed)
        self._order = np.arange(len(images))
        self._position = 0
        self._shuffled_once = False

    @property
    def num_examples(self) -> int:
        return len(self.images)

    def next_batch(self, batch_size: int, shuffle: bool = True) -> Tuple[np.ndarray, np.ndarray]:
        """The next `batch_size` (images, labels)."""
        if not 0 < batch_size <= self.num_examples:
            raise ValueError(f"batch_size must be in 1..{self.num_examples}, got {batch_size}")
        if shuffle and not self._shuffled_once:
            self._order = self._rng.permutation(self.num_examples)
            self._shuffled_once = True
        end = self._position + batch_size
        if end <= self.num_examples:
            picked = self._order[self._position:end]
            self._position = end
        else:  # finish this epoch, then start the next one in a new order
            rest = self._order[self._position:]
            self.epochs_completed += 1
            if shuffle:
                self._order = self._rng.permutation(self.num_examples)
            self._position = batch_size - len(rest)
            picked = np.concatenate([rest, self._order[:self._position]])
        return self.images[picked], self.labels[picked]


def make_datasets(splits, one_hot: bool, validation_size: int, seed: Optional[int]) -> Datasets:
    """TF1's split of the 60,000 training images: the first `validation_size` validate, the rest
    train; labels one-hot float32 when asked."""
    (x_train, y_train), (x_val, y_val), (x_test, y_test) = splits
    images = np.concatenate([x_train, x_val])
    labels = np.concatenate([y_train, y_val])
    if not 0 <= validation_size <= len(images):
        raise ValueError(f"validation_size should be between 0 and {len(images)}, "
                         f"got {validation_size}")

    def encode(y):
        return np.eye(10, dtype=np.float32)[y] if one_hot else y
    return Datasets(
        train=DataSet(images[validation_size:], encode(labels[validation_size:]), seed),
        validation=DataSet(images[:validation_size], encode(labels[:validation_size]), seed),
        test=DataSet(x_test, encode(y_test), seed))
