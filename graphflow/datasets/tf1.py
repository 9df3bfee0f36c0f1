"""TF1's tutorial data API (`input_data.read_data_sets`): DataSet with next_batch."""

from __future__ import annotations

from collections import namedtuple
from typing import Optional, Tuple

import numpy as np

from compiler import dtypes as _dt

__all__ = ["DataSet", "Datasets", "make_datasets", "fake_datasets", "image_dtype"]

Datasets = namedtuple("Datasets", ["train", "validation", "test"])

FAKE_NUM_EXAMPLES = 10000  # TF1's fake DataSet claims this many examples
FAKE_PIXELS = 784


def image_dtype(dtype) -> np.dtype:
    """uint8 (pixels 0..255) or float32 (pixels / 255); any other dtype is a TypeError, as TF1."""
    dt = _dt.as_dtype(dtype)
    if dt not in (_dt.uint8, _dt.float32):
        raise TypeError(f"Invalid image dtype {dt.name}, expected uint8 or float32")
    return dt


class DataSet:
    """Images and labels with TF1's next_batch: every example exactly once per epoch, in a new
    order each epoch (an epoch boundary inside a batch takes the rest of the old epoch and the
    start of the new one, as TF1 does).

    As TF1's DataSet: images of shape (N, rows, cols, 1) become (N, rows * cols) rows unless
    reshape=False; dtype float32 rescales uint8 pixels to [0, 1] (pixel * (1 / 255)), uint8 keeps
    them. fake_data=True makes TF1's fake set: 10,000 examples, no arrays, and next_batch(n,
    fake_data=True) gives n images of 784 ones with label 0 (one-hot: [1, 0, ..., 0]).
    """

    def __init__(self, images, labels, fake_data: bool = False, one_hot: bool = False,
                 dtype=_dt.float32, reshape: bool = True, seed: Optional[int] = None):
        dtype = image_dtype(dtype)
        self._rng = np.random.default_rng(seed)
        self.epochs_completed = 0
        self.one_hot = one_hot
        self._position = 0
        self._shuffled_once = False
        if fake_data:
            self.images, self.labels = images, labels
            self._num_examples = FAKE_NUM_EXAMPLES
            self._order = np.arange(0)
            return
        if len(images) != len(labels):
            raise ValueError(f"{len(images)} images but {len(labels)} labels")
        if reshape and images.ndim == 4:
            if images.shape[3] != 1:
                raise ValueError(f"reshape=True needs images of shape (N, rows, cols, 1), got "
                                 f"{images.shape}")
            images = images.reshape(images.shape[0], images.shape[1] * images.shape[2])
        if dtype == _dt.float32 and images.dtype != np.float32:
            images = images.astype(np.float32) * (1.0 / 255.0)  # TF1's rescaling, bit for bit
        self.images, self.labels = images, labels
        self._num_examples = len(images)
        self._order = np.arange(len(images))

    @property
    def num_examples(self) -> int:
        return self._num_examples

    def next_batch(self, batch_size: int, fake_data: bool = False,
                   shuffle: bool = True) -> Tuple[np.ndarray, np.ndarray]:
        """The next `batch_size` (images, labels); TF1's positional order: fake_data, then
        shuffle. fake_data=True gives TF1's fake batch (lists of 784 ones and label 0)."""
        if fake_data:
            image = [1] * FAKE_PIXELS
            label = [1] + [0] * 9 if self.one_hot else 0
            return [image for _ in range(batch_size)], [label for _ in range(batch_size)]
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


def fake_datasets(one_hot: bool, dtype, seed: Optional[int]) -> Datasets:
    """TF1's read_data_sets(fake_data=True): three fake DataSets, no data read."""
    def fake():
        return DataSet([], [], fake_data=True, one_hot=one_hot, dtype=dtype, seed=seed)
    return Datasets(train=fake(), validation=fake(), test=fake())


def make_datasets(splits, one_hot: bool, validation_size: int, seed: Optional[int],
                  dtype=_dt.float32, reshape: bool = True) -> Datasets:
    """TF1's split of the 60,000 training images: the first `validation_size` validate, the rest
    train; labels one-hot float32 when asked. `splits` hold uint8 images (N, 28, 28, 1)."""
    (x_train, y_train), (x_val, y_val), (x_test, y_test) = splits
    images = np.concatenate([x_train, x_val])
    labels = np.concatenate([y_train, y_val])
    if not 0 <= validation_size <= len(images):
        raise ValueError(f"validation_size should be between 0 and {len(images)}, "
                         f"got {validation_size}")

    def encode(y):
        return np.eye(10, dtype=np.float32)[y] if one_hot else y

    def dataset(x, y):
        return DataSet(x, encode(y), dtype=dtype, reshape=reshape, seed=seed)
    return Datasets(train=dataset(images[validation_size:], labels[validation_size:]),
                    validation=dataset(images[:validation_size], labels[:validation_size]),
                    test=dataset(x_test, y_test))
