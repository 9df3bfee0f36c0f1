import pytest

import graphflow as gf


@pytest.fixture(autouse=True)
def fresh_graph():
    """Every test builds into its own, new default graph."""
    graph = gf.Graph()
    with graph.as_default():
        yield graph
