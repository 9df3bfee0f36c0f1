"""Program.profile: one row per node of the generated code (median time, share, output bytes),
slowest first; the rows add up to the plain step; profiling neither trains nor draws."""

import gc
import importlib.util
import pathlib
import re

import numpy as np
import pytest

import graphflow as gf
from compiler.errors import NumericsError
from compiler.profile import OUTPUTS, Profile

N, D = 512, 256


def elementwise_step(n=N, **session_options):
    """A training step of single-threaded elementwise work (no BLAS threads to compete for the
    cores), long enough to time: returns (session, program, feed)."""
    x = gf.placeholder(gf.float64, (None, D), name="x")
    w = gf.Variable(np.full(D, 0.5), name="w")
    h = gf.tanh(x * w + 1.0, name="h")
    loss = gf.reduce_sum(gf.exp(-h * h) + gf.sqrt(h * h + 1.0), name="loss")
    (g,) = gf.gradients(loss, [w])
    train = w.assign_sub(1e-3 * g, name="train")
    sess = gf.Session(**session_options)
    prog = sess.make_callable([loss, train], [x])
    return sess, prog, np.random.default_rng(0).random((n, D))


def statement_nodes(prog):
    gen = prog._spec().generated
    return {node.op_name: node for node in gen.line_nodes.values()}


def test_one_row_per_node_sorted_with_shares():
    sess, prog, xb = elementwise_step()
    prog(xb)
    profile = prog.profile(xb, repeat=3)
    assert isinstance(profile, Profile) and profile.repeat == 3
    names = [r.name for r in profile.rows]
    assert len(names) == len(set(names))
    assert set(names) == set(statement_nodes(prog)) | {OUTPUTS}
    for r in profile.rows:
        if r.name != OUTPUTS:
            assert r.op == statement_nodes(prog)[r.name].opdef.name
    seconds = [r.seconds for r in profile.rows]
    assert seconds == sorted(seconds, reverse=True) and min(seconds) >= 0
    assert sum(r.share for r in profile.rows) == pytest.approx(1.0)
    assert profile.total_seconds == pytest.approx(sum(seconds))


def test_output_bytes_are_the_values_sizes():
    sess, prog, xb = elementwise_step()
    rows = {r.name: r for r in prog.profile(xb, repeat=1).rows}
    assert rows["h"].bytes == N * D * 8
    assert rows["loss"].bytes == 8          # a float64 scalar
    assert rows["train"].bytes == D * 8     # an update's value is the variable
    assert rows[OUTPUTS].bytes == 0


def test_time_goes_to_the_node_that_spends_it():
    # Tiny nodes before and after a big exp: an off-by-one in the clock readings would give the
    # exp's time to a neighbour.
    small = gf.placeholder(gf.float64, (3,), name="small")
    big = gf.placeholder(gf.float64, (1000, 1000), name="big")
    before = gf.multiply(small, 2.0, name="before")
    slow = gf.exp(big, name="slow")
    after = gf.add(before, 1.0, name="after")
    prog = gf.Session().make_callable([before, slow, after], [small, big])
    profile = prog.profile(np.ones(3), np.zeros((1000, 1000)), repeat=5)
    assert profile.rows[0].name == "slow" and profile.rows[0].op == "exp"
    assert profile.rows[0].bytes == 8 * 10 ** 6
    assert profile.rows[0].share > 0.5


def test_node_times_add_up_to_the_plain_step():
    # Each row is a median over the runs, so preemption on a busy machine mostly drops out of
    # them but stays in the step's median; a short single-threaded step keeps the two close.
    # Bounds this wide still catch a missing or doubly counted share of the step.
    sess, prog, xb = elementwise_step()
    prog(xb)
    profile = prog.profile(xb, repeat=21)
    assert profile.step_seconds > 1e-4  # big enough to time
    assert 0.5 * profile.step_seconds < profile.total_seconds < 1.5 * profile.step_seconds


def test_profiling_a_training_step_does_not_train():
    sess, prog, xb = elementwise_step()
    twin_sess, twin, _ = elementwise_step()
    first, _ = prog(xb)
    twin(xb)
    w = sess.graph.get_collection(gf.GraphKeys.GLOBAL_VARIABLES)[0]
    w_before = sess.run(w)
    prog.profile(xb, repeat=3)
    np.testing.assert_array_equal(sess.run(w), w_before)
    second, _ = prog(xb)
    twin_second, _ = twin(xb)
    assert second == twin_second and second != first  # training goes on from where it was


def test_every_profiled_run_starts_from_the_sessions_values():
    # The step fails once v has been decremented to 0 (log(0) = -inf): runs that went on from
    # the previous run's values would fail on the second.
    v = gf.Variable(1.0, dtype=gf.float64, name="v")
    x = gf.placeholder(gf.float64, (), name="x")
    value = gf.debugging.check_numerics(gf.log(v) + x, "log(v)")
    with gf.control_dependencies([value]):
        step = v.assign_sub(1.0)
    prog = gf.Session().make_callable([value, step], [x])
    profile = prog.profile(np.float64(0), repeat=3)
    assert any(r.op == "log" for r in profile.rows)


def test_profiling_draws_no_random_numbers_from_the_session():
    def build():
        graph = gf.Graph()
        with graph.as_default():
            gf.set_random_seed(1)
            x = gf.placeholder(gf.float64, (4,), name="x")
            y = x + gf.random_normal((4,), dtype=gf.float64)
            sess = gf.Session()
            return sess.make_callable(y, [x])
    profiled, plain = build(), build()
    zeros = np.zeros(4)
    profiled.profile(zeros, repeat=3)
    np.testing.assert_array_equal(profiled(zeros), plain(zeros))


def test_profile_compiles_a_feed_shape_not_run_before():
    sess, prog, xb = elementwise_step()
    profile = prog.profile(xb[:7], repeat=1)
    assert {r.name for r in profile.rows} >= {"h", "loss", "train"}
    assert {r.name: r.bytes for r in profile.rows}["h"] == 7 * D * 8
    loss, _ = prog(xb[:7])  # the same specialization runs as usual afterwards
    assert np.isfinite(loss)


def test_profile_of_a_step_with_numerics_checks():
    # check_numerics adds a line per node; each node's lines are one timed block.
    sess, prog, xb = elementwise_step(check_numerics=True)
    profile = prog.profile(xb, repeat=2)
    assert {r.name for r in profile.rows} == set(statement_nodes(prog)) | {OUTPUTS}


def test_a_failing_step_raises_and_leaves_the_variables():
    sess, prog, xb = elementwise_step(n=4, check_numerics=True)
    prog(xb)
    w = sess.graph.get_collection(gf.GraphKeys.GLOBAL_VARIABLES)[0]
    w_before = sess.run(w)
    bad = xb.copy()
    bad[0, 0] = np.inf
    with pytest.raises(NumericsError):
        prog.profile(bad, repeat=2)
    np.testing.assert_array_equal(sess.run(w), w_before)
    assert gc.isenabled()  # profiling turns the collector off while it times, and back on


def test_profile_checks_its_arguments():
    sess, prog, xb = elementwise_step(n=4)
    with pytest.raises(TypeError, match="1 feed values"):
        prog.profile(xb, xb)
    with pytest.raises(gf.FeedError):
        prog.profile(np.zeros((4, D + 1)))
    with pytest.raises(ValueError, match="repeat"):
        prog.profile(xb, repeat=0)


def test_table_has_a_row_per_node_and_the_totals():
    sess, prog, xb = elementwise_step(n=4)
    profile = prog.profile(xb, repeat=2)
    text = str(profile)
    lines = text.splitlines()
    assert re.match(r"node\s+op\s+µs\s+share\s+output", lines[0])
    assert len(lines) == 1 + len(profile.rows) + 2
    for row, line in zip(profile.rows, lines[1:]):
        assert line.split()[:2] == [row.name, row.op]
        assert f"{row.share:.1%}" in line
    assert lines[-2].startswith("sum of nodes") and "x of the step" in lines[-2]
    assert lines[-1].startswith("step (plain)") and "median of 2 runs" in lines[-1]
    assert repr(profile) == text


def test_by_op_sums_the_rows_per_op_type():
    sess, prog, xb = elementwise_step(n=4)
    profile = prog.profile(xb, repeat=2)
    by_op = profile.by_op()
    assert sum(by_op.values()) == pytest.approx(profile.total_seconds)
    assert by_op["tanh"] == pytest.approx(sum(r.seconds for r in profile.rows if r.op == "tanh"))
    assert list(by_op.values()) == sorted(by_op.values(), reverse=True)


def test_profile_mnist_example_prints_the_table(capsys):
    path = pathlib.Path(__file__).parent.parent / "examples" / "profile_mnist.py"
    spec = importlib.util.spec_from_file_location("profile_mnist", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.main(["--hidden", "32", "--batch-size", "8", "--repeat", "2"])
    out = capsys.readouterr().out
    assert "MLP 784-32-10" in out
    assert re.search(r"^layer1/matmul\s+matmul\s", out, re.M)
    assert re.search(r"^Adam/update_layer1/W1/AssignSub\s+assign_sub\s", out, re.M)
    assert "sum of nodes" in out and "step (plain)" in out
