"""The pass driver: repeated rounds until nothing changes, and a warning naming the pass that kept
changing the graph when the round limit is reached first."""

import warnings

import numpy as np
import pytest

import compiler.passes as passes
import graphflow as gf
from compiler.function import Function, copy_node, extract
from compiler.graph import Graph
from compiler.ops.elementwise import exp


def _grow(fn: Function) -> Function:
    """A pass that never settles: it wraps the first output in one more exp every time."""
    graph, new = Graph(), {}
    for n in fn.nodes:
        new[n] = copy_node(graph, n, [new[i] for i in n.inputs],
                           control_inputs=[new[c] for c in n.control_inputs])
    with graph.as_default():
        wrapped = exp(new[fn.outputs[0]], name="grown")  # nothing simplifies it away
    outputs = (wrapped,) + tuple(new[o] for o in fn.outputs[1:])
    return Function(graph, tuple(new[i] for i in fn.inputs), outputs)


def _function():
    with gf.Graph().as_default():
        x = gf.placeholder(gf.float64, (3,), name="x")
        y = gf.exp(x) * 1.0
        return extract([y], {x: ((3,), np.dtype(np.float64))})


def test_a_pipeline_that_does_not_settle_warns_naming_the_pass(monkeypatch):
    monkeypatch.setattr(passes, "PIPELINE", passes.PIPELINE + (("grow", _grow),))
    monkeypatch.setattr(passes, "PASS_NAMES", passes.PASS_NAMES + ("grow",))
    monkeypatch.setattr(passes, "DEFAULT_PASSES", passes.DEFAULT_PASSES + ("grow",))
    monkeypatch.setitem(passes.CHANGES, "grow", lambda fn: True)
    with pytest.warns(UserWarning, match=rf"did not settle in {passes.MAX_ROUNDS} rounds.*'grow'"):
        fn, records = passes.optimize(_function())
    assert max(r.round for r in records if r.name not in passes.FINAL_PASSES) == passes.MAX_ROUNDS


def test_a_pipeline_that_settles_says_nothing():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fn, records = passes.optimize(_function())
    assert max(r.round for r in records if r.name not in passes.FINAL_PASSES) < passes.MAX_ROUNDS
    assert [n.type for n in fn.nodes] == ["placeholder", "exp"]  # x * 1.0 simplified away
