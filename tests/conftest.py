import os
import pathlib
import sys

import pytest

import graphflow as gf

# The examples import each other (train_mnist's model) as scripts in one folder do.
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent / "examples"))


def pytest_configure(config):
    """Kernels that fused tests compile (numba) go to pytest's cache folder, never the user's
    ~/.cache: a second run loads them."""
    cache = getattr(config, "cache", None)  # None under -p no:cacheprovider
    if cache is not None and "GRAPHFLOW_CACHE_DIR" not in os.environ:
        os.environ["GRAPHFLOW_CACHE_DIR"] = str(cache.mkdir("graphflow_kernels"))


@pytest.fixture(autouse=True)
def fresh_graph():
    """Every test builds into its own, new default graph."""
    graph = gf.Graph()
    with graph.as_default():
        yield graph


def pytest_collection_modifyitems(session, config, items):
    """The torch-coverage check of test_registry.py must run after every op test."""
    last = [i for i in items if i.name == "test_every_op_is_checked_against_torch"]
    items[:] = [i for i in items if i not in last] + last
