"""TF1's tf.estimator.inputs.numpy_input_fn: an input_fn over in-memory numpy arrays, read in
batches through gf.data (from_tensor_slices -> shuffle -> repeat -> batch -> one-shot iterator).

    train_input_fn = tf.estimator.inputs.numpy_input_fn(
        x={"x": x_train}, y=y_train, batch_size=100, num_epochs=None, shuffle=True)
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from .. import data

__all__ = ["numpy_input_fn"]


def numpy_input_fn(x, y=None, batch_size: int = 128, num_epochs=1, shuffle=None,
                   queue_capacity: int = 1000, num_threads: int = 1) -> Callable:
    """An input_fn giving (features, labels) batches of `x` (a dict of arrays, or one array)
    and `y` (an array, a dict of arrays or None), for `num_epochs` passes (None: forever); the
    last batch of the last pass may be smaller. shuffle must be given (True/False) as in TF1;
    with True each pass is shuffled through a buffer of queue_capacity examples. num_threads is
    accepted (one reader here). The end of the data ends train/evaluate/predict."""
    if not isinstance(shuffle, bool):
        raise ValueError(f"shuffle must be provided and explicitly set as boolean (it is "
                         f"recommended to set it as True for training); got {shuffle}")
    _check_positive("batch_size", batch_size)
    _check_positive("queue_capacity", queue_capacity)
    if num_epochs is not None:
        _check_positive("num_epochs", num_epochs)
    features = _arrays("x", x)
    labels = None if y is None else _arrays("y", y)
    _check_lengths(features, labels)

    def input_fn():
        elements = features if labels is None else (features, labels)
        dataset = data.Dataset.from_tensor_slices(elements)
        if shuffle:
            dataset = dataset.shuffle(queue_capacity)
        dataset = dataset.repeat(num_epochs).batch(batch_size)
        return dataset.make_one_shot_iterator().get_next()

    return input_fn


def _arrays(name: str, value):
    if isinstance(value, dict):
        if not value:
            raise ValueError(f"{name} cannot be an empty dict")
        return {key: _array(f"{name}[{key!r}]", v) for key, v in value.items()}
    return _array(name, value)


def _array(name: str, value) -> np.ndarray:
    array = np.asarray(value)
    if array.ndim == 0:
        raise ValueError(f"numpy_input_fn: {name} must be an array with a first (example) "
                         f"dimension, got a scalar {value!r}")
    if array.dtype == object:
        raise TypeError(f"numpy_input_fn: {name} is not a numeric array (dtype object); give "
                        f"numbers or strings of one shape")
    return array


def _lengths(arrays) -> dict:
    if isinstance(arrays, dict):
        return {key: len(a) for key, a in arrays.items()}
    return {"": len(arrays)}


def _check_lengths(features, labels) -> None:
    x_lengths = _lengths(features)
    y_lengths = {} if labels is None else _lengths(labels)
    if isinstance(features, dict) and isinstance(labels, dict):
        both = sorted(set(features) & set(labels))
        if both:
            raise ValueError(f"{len(both)} duplicate keys are found in both x and y: {both}")
    if len(set(x_lengths.values()) | set(y_lengths.values())) > 1:
        raise ValueError(f"Length of tensors in x and y is mismatched. All elements in x and y "
                         f"must have the same length.\nLengths in x: {x_lengths}\n"
                         f"Lengths in y: {y_lengths}")


def _check_positive(name: str, value) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value <= 0:
        raise ValueError(f"numpy_input_fn: {name} must be a positive integer, got {value!r}")
