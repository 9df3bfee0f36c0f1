"""The all_reduce_mean op averages through a registered Communicator (graphflow.distribute
registers torch.distributed's). A fake group of two workers, whose other worker always holds a
known array, checks the op's value, its gradient and the rank/size the compiler reports; with
the communicator inactive the op is the identity."""

import numpy as np
import pytest

import graphflow as gf
from compiler.ops import distributed as dist_ops

OTHER = np.array([10.0, 20.0, 30.0])  # what the other worker contributes, every time


class FakePair(dist_ops.Communicator):
    def __init__(self):
        self.on = False
        self.calls = 0

    def active(self):
        return self.on

    def rank(self):
        return 1

    def size(self):
        return 2

    def mean(self, array):
        self.calls += 1
        return (np.asarray(array) + OTHER) / 2


@pytest.fixture
def pair():
    comm = dist_ops.register_communicator(FakePair())
    try:
        yield comm
    finally:
        dist_ops._COMMUNICATORS.remove(comm)


def test_the_op_averages_through_an_active_communicator(pair):
    x = gf.placeholder(gf.float64, (3,), name="x")
    y = dist_ops.all_reduce_mean(x)
    sess = gf.Session()
    mine = np.array([2.0, 4.0, 6.0])
    np.testing.assert_array_equal(sess.run(y, {x: mine}), mine)  # inactive: the identity
    assert pair.calls == 0 and dist_ops.world_size() == 1 and dist_ops.worker_rank() == 0
    pair.on = True
    np.testing.assert_array_equal(sess.run(y, {x: mine}), [6.0, 12.0, 18.0])
    assert pair.calls == 1 and dist_ops.world_size() == 2 and dist_ops.worker_rank() == 1


def test_its_gradient_is_averaged_too(pair):
    pair.on = True
    w = gf.Variable(np.array([1.0, 2.0, 3.0]), name="w")
    loss = gf.reduce_sum(dist_ops.all_reduce_mean(w * w))
    (g,) = gf.gradients(loss, [w])
    # d/dw sum(mean(w*w)) on this worker: mean over workers of the cotangent (all ones here,
    # averaged with the other worker's OTHER), times 2w.
    expected = (np.ones(3) + OTHER) / 2 * 2 * np.array([1.0, 2.0, 3.0])
    np.testing.assert_allclose(gf.Session().run(g), expected)


def test_a_communicator_is_registered_once():
    comm = FakePair()
    dist_ops.register_communicator(comm)
    try:
        dist_ops.register_communicator(comm)
        assert dist_ops._COMMUNICATORS.count(comm) == 1
    finally:
        dist_ops._COMMUNICATORS.remove(comm)
