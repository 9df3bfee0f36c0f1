"""The prune pass: keep only what the outputs need, stopping at the inputs (fed tensors)."""

import numpy as np

import graphflow as gf
from compiler.function import Function, extract
from compiler.passes import check_graph, prune
from compiler.passes.rewrite import signature

F32 = np.dtype(np.float32)


def types(fn):
    return [n.type for n in fn.nodes]


def run_pure(fn):
    """prune.run(fn), checking that fn itself is left exactly as it was and the result is well
    formed and lives in a graph of its own."""
    nodes, sig = list(fn.nodes), signature(fn)
    out = prune.run(fn)
    assert list(fn.nodes) == nodes and signature(fn) == sig, "prune changed its input"
    assert out.graph is not fn.graph
    check_graph(out, after="prune")
    return out


def with_outputs(fn, *outputs):
    """The same graph as fn with fewer outputs: what is left over is dead."""
    return Function(fn.graph, fn.inputs, tuple(outputs))


def test_an_unused_branch_is_pruned():
    x = gf.placeholder(gf.float32, shape=(2, 3), name="x")
    a = gf.exp(x + 1.0, name="a")
    b = gf.multiply(x, 2.0, name="b")
    full = extract([a, b], {x: ((2, 3), F32)})
    assert sorted(types(full)) == sorted(["placeholder", "constant", "add", "exp", "constant",
                                          "multiply"])
    out = run_pure(with_outputs(full, full.outputs[1]))
    assert sorted(types(out)) == ["constant", "multiply", "placeholder"]
    assert [n.op_name for n in out.outputs] == ["b"]
    assert [n.op_name for n in out.inputs] == ["x"]


def test_what_the_outputs_need_is_kept_in_order():
    x = gf.placeholder(gf.float32, shape=(3,), name="x")
    h = gf.tanh(x)
    y = h * h + gf.exp(h)
    fn = extract([y], {x: ((3,), F32)})
    out = run_pure(fn)
    assert signature(out) == signature(fn)  # nothing is dead: nothing changes
    assert types(out) == types(fn)


def test_an_output_used_twice_and_an_output_that_is_an_input():
    x = gf.placeholder(gf.float32, shape=(3,), name="x")
    y = gf.exp(x)
    dead = gf.sqrt(x)
    full = extract([y, dead], {x: ((3,), F32)})
    out = run_pure(Function(full.graph, full.inputs,
                            (full.outputs[0], full.inputs[0], full.outputs[0])))
    assert types(out) == ["placeholder", "exp"]
    assert out.outputs[0] is out.outputs[2] and out.outputs[1] is out.inputs[0]


def test_a_dead_variable_update_is_pruned():
    v = gf.Variable(np.float32(1.0), name="v")
    x = gf.placeholder(gf.float32, shape=(), name="x")
    step = gf.assign_add(v, x)
    y = x * 3.0
    full = extract([y, step], {x: ((), F32)})
    assert "assign_add" in types(full)
    out = run_pure(with_outputs(full, full.outputs[0]))
    assert "assign_add" not in types(out) and "variable" not in types(out)


def test_an_input_the_outputs_ignore_stays_an_input():
    # A Program passes its feed values positionally: every feed must stay a parameter.
    x = gf.placeholder(gf.float32, shape=(2,), name="x")
    unused = gf.placeholder(gf.float32, shape=(2,), name="unused")
    y = x * 2.0
    fn = extract([y], {x: ((2,), F32), unused: ((2,), F32)})
    out = run_pure(fn)
    assert [n.op_name for n in out.inputs] == ["x", "unused"]
    call = gf.Session(passes=["prune"]).make_callable(y, [x, unused])
    np.testing.assert_array_equal(call(np.float32([1, 2]), np.float32([7, 7])), [2, 4])


def test_feeding_an_intermediate_tensor_cuts_everything_above_it():
    x = gf.placeholder(gf.float32, shape=(2, 3), name="x")
    h = gf.exp(gf.tanh(x), name="h")
    y = gf.multiply(h, 3.0, name="y")
    fn = extract([y], {h: ((2, 3), F32)})
    out = run_pure(fn)
    assert sorted(types(out)) == ["constant", "multiply", "placeholder"]
    assert [n.op_name for n in out.inputs] == ["h"] and out.inputs[0].type == "placeholder"
    assert "x" not in [n.op_name for n in out.nodes]

    hv = np.arange(6, dtype=np.float32).reshape(2, 3)
    for sess in (gf.Session(passes=["prune"], check=True), gf.Session()):
        prog = sess.make_callable(y, [h])
        got = prog(hv)  # x need not be fed
        assert prog.ops == ("multiply",)
        assert {n.op_name for n in prog.function.nodes}.isdisjoint({"x", "tanh"})
        np.testing.assert_array_equal(got, hv * 3)
    np.testing.assert_array_equal(gf.Session(optimize=False).run(y, {h: hv}), hv * 3)


def test_through_the_session_prune_drops_what_simplify_left_dead():
    x = gf.placeholder(gf.float32, shape=(4,), name="x")
    y = gf.tanh(x) * 1.0  # simplify: y -> tanh(x), which leaves the constant 1.0 dead
    xv = np.float32([-2, -0.5, 0.5, 3])
    want = gf.Session(optimize=False).run(y, {x: xv})
    kept = gf.Session(passes=["simplify"], check=True).make_callable(y, [x])
    pruned = gf.Session(passes=["simplify", "prune"], check=True).make_callable(y, [x])
    for prog in (kept, pruned):
        np.testing.assert_array_equal(prog(xv), want)
        assert prog.ops == ("tanh",)
    assert "constant" in types(kept.function)
    assert sorted(types(pruned.function)) == ["placeholder", "tanh"]
    rows = [r for r in pruned.report().records if r.name == "prune"]
    assert rows and any(r.after < r.before for r in rows)


def test_only_the_needed_nodes_run_and_values_match_the_interpreter():
    v = gf.Variable(np.float32(5.0), name="v")
    x = gf.placeholder(gf.float32, shape=(3,), name="x")
    bump = gf.assign_add(v, 1.0)
    y = gf.reduce_sum(x * 2.0)
    z = gf.exp(x) + bump  # not fetched: the update must not run
    assert z is not None
    xv = np.float32([1, 2, 3])
    sess = gf.Session(passes=["prune"], check=True)
    prog = sess.make_callable(y, [x])
    assert prog(xv) == gf.Session(optimize=False).run(y, {x: xv}) == 12.0
    assert set(prog.ops) == {"multiply", "reduce_sum"}
    assert sess.run(v) == 5.0
