"""Graph.random_state and Graph.op_seed follow one seeding rule, TF1's (random_seed.get_seed):
graph seed and op seed -> both; graph seed only -> a per-graph counter for the op seed; op seed
only -> TF1's default graph seed 87654321; neither -> fresh randomness.

The expected numbers are derived here by hand: numpy's generator seeded with the two seeds as
64-bit words (a negative seed as its two's complement)."""

import numpy as np

import graphflow as gf

TF1_DEFAULT_GRAPH_SEED = 87654321  # tensorflow/python/framework/random_seed.py, TF 1.15


def expected(graph_seed: int, op_seed: int, n: int = 5) -> np.ndarray:
    """What a generator seeded with the pair (graph seed, op seed) draws first."""
    words = [graph_seed % 2**64, op_seed % 2**64]
    return np.random.default_rng(words).uniform(0.0, 1.0, n)


def initial_value(seed=None, graph_seed=None) -> np.ndarray:
    """A float64 uniform initializer's values, built in a fresh graph."""
    with gf.Graph().as_default():
        if graph_seed is not None:
            gf.set_random_seed(graph_seed)
        return gf.initializers.random_uniform(0.0, 1.0, seed=seed)((5,), gf.float64)


def test_op_seed_alone_uses_tf1_default_graph_seed():
    g = gf.Graph()
    assert g.op_seed(7) == (TF1_DEFAULT_GRAPH_SEED, 7)


def test_random_state_with_op_seed_alone_uses_tf1_default_graph_seed():
    rng = gf.Graph().random_state(op_seed=7)
    np.testing.assert_array_equal(rng.uniform(0.0, 1.0, 5), expected(TF1_DEFAULT_GRAPH_SEED, 7))


def test_initializers_with_op_seed_alone_agree_across_fresh_graphs_and_with_tf1_rule():
    first, second = initial_value(seed=3), initial_value(seed=3)
    np.testing.assert_array_equal(first, second)
    np.testing.assert_array_equal(first, expected(TF1_DEFAULT_GRAPH_SEED, 3))


def test_negative_op_seed_is_taken_as_its_twos_complement():
    rng = gf.Graph().random_state(op_seed=-2)
    np.testing.assert_array_equal(rng.uniform(0.0, 1.0, 5),
                                  expected(TF1_DEFAULT_GRAPH_SEED, 2**64 - 2))


def test_graph_seed_and_op_seed_use_both():
    g = gf.Graph()
    g.seed = 11
    assert g.op_seed(4) == (11, 4)
    np.testing.assert_array_equal(initial_value(seed=4, graph_seed=11), expected(11, 4))


def test_graph_seed_alone_counts_the_draws_of_both_methods():
    # One counter for both: the first draw is op seed 1, the second 2, whichever method asks.
    g = gf.Graph()
    g.seed = 11
    np.testing.assert_array_equal(g.random_state().uniform(0.0, 1.0, 5), expected(11, 1))
    assert g.op_seed() == (11, 2)
    np.testing.assert_array_equal(g.random_state().uniform(0.0, 1.0, 5), expected(11, 3))
    np.testing.assert_array_equal(initial_value(graph_seed=11), initial_value(graph_seed=11))


def test_graph_seed_zero_is_a_seed():
    g = gf.Graph()
    g.seed = 0
    assert g.op_seed(5) == (0, 5)
    np.testing.assert_array_equal(g.random_state(5).uniform(0.0, 1.0, 5), expected(0, 5))


def test_neither_seed_gives_fresh_draws():
    g = gf.Graph()
    assert g.op_seed() is None
    a, b = g.random_state().uniform(0.0, 1.0, 5), g.random_state().uniform(0.0, 1.0, 5)
    assert not np.array_equal(a, b)
    assert not np.array_equal(initial_value(), initial_value())
