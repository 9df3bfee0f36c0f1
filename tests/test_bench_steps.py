"""The benchmarks' hand-written steps compute the step they are compared with: the numpy MLP SGD
step (bench/mlp_step.py) and the numpy Adam step (bench/adam_step.py) against graphflow's
reference interpreter over a few steps, and the Adam step's torch versions too."""

import pathlib
import sys

import numpy as np
import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent / "bench"))
import adam_step  # noqa: E402
import mlp_step  # noqa: E402


def _feeds(batch, d, k, one_hot):
    rng = np.random.default_rng(7)
    X = rng.random((batch, d), dtype=np.float32)
    labels = rng.integers(0, k, batch)
    return X, (np.eye(k, dtype=np.float32)[labels] if one_hot else labels)


def test_hand_written_sgd_step_matches_graphflow():
    params = mlp_step.init_params(3)
    X, Y = _feeds(32, mlp_step.D, mlp_step.K, one_hot=True)
    ours, theirs = mlp_step.NumpyStep(params, 32), mlp_step.graphflow_step(params, False)
    losses = [(ours(X, Y), float(theirs(X, Y)[0])) for _ in range(4)]
    np.testing.assert_allclose(*zip(*losses), rtol=1e-5)
    assert losses[-1][1] < losses[0][1] - 0.01  # the steps did move the weights


@pytest.mark.parametrize("name", ["numpy by hand", "pytorch eager"])
def test_adam_step_contenders_match_graphflow(name):
    """Four steps: the losses after the first depend on every earlier Adam update."""
    X, Y = _feeds(16, adam_step.D, adam_step.K, one_hot=False)
    ours = adam_step.make_step(name, 16)
    theirs = adam_step.make_step("graphflow unfused", 16)
    losses = [(ours(X, Y), float(theirs(X, Y)[0])) for _ in range(4)]
    np.testing.assert_allclose(*zip(*losses), rtol=1e-5)
    assert losses[-1][1] < losses[0][1] - 0.05  # the steps did move the weights
