"""gf.data: TF1's tf.data input pipelines (Dataset, Iterator) and gf.data.batches, mini-batches of
in-memory arrays for a feed_dict training loop.

    dataset = gf.data.Dataset.from_tensor_slices((x_train, y_train)).shuffle(10000).batch(128)
    images, labels = dataset.repeat().make_one_shot_iterator().get_next()

    for xb, yb in gf.data.batches(x_train, y_train, 128, seed=epoch):   # or: feed them
        sess.run(train_op, feed_dict={x: xb, y: yb})
"""

from . import experimental  # noqa: F401
from .batches import batches
from .dataset import Dataset
from .iterator import Iterator, make_initializable_iterator, make_one_shot_iterator

DatasetV1 = Dataset

__all__ = ["batches", "Dataset", "DatasetV1", "Iterator", "experimental",
           "make_one_shot_iterator", "make_initializable_iterator", "get_output_types",
           "get_output_shapes", "get_output_classes"]


def get_output_types(dataset_or_iterator):
    """tf.compat.v1.data.get_output_types: the element's dtypes, in its structure."""
    return dataset_or_iterator.output_types


def get_output_shapes(dataset_or_iterator):
    """tf.compat.v1.data.get_output_shapes: the element's static shapes, in its structure."""
    return dataset_or_iterator.output_shapes


def get_output_classes(dataset_or_iterator):
    """tf.compat.v1.data.get_output_classes: the element's classes (tensors), in its structure."""
    return dataset_or_iterator.output_classes
