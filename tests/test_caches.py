"""Memory stays bounded: a Program keeps a bounded number of feed signatures compiled (least
recently used first out), and generated source leaves linecache with its Program."""

import gc
import linecache

import numpy as np
import pytest

import graphflow as gf
from compiler.program import DEFAULT_CACHE_SIZE


@pytest.fixture(autouse=True)
def fresh_graph():
    with gf.Graph().as_default() as g:
        yield g


def _mlp():
    x = gf.placeholder(gf.float32, (None, 8), name="x")
    h = gf.layers.dense(x, 16, activation=gf.nn.relu)
    loss = gf.reduce_mean(gf.square(gf.layers.dense(h, 1)))
    return x, loss, gf.train.GradientDescentOptimizer(0.1).minimize(loss)


def _program_sources():
    return [k for k in linecache.cache if k.startswith("<graphflow-program-")]


def test_a_program_keeps_only_the_most_recently_used_signatures():
    x, loss, train = _mlp()
    with gf.Session(cache_size=4) as sess:
        step = sess.make_callable([loss, train], [x])
        for batch in range(1, 41):
            step(np.ones((batch, 8), np.float32))
        assert len(step._specs) == 4
        assert [key[0][0] for key in step._specs] == [(37, 8), (38, 8), (39, 8), (40, 8)]
        step(np.ones((38, 8), np.float32))  # a hit makes it the most recent
        step(np.ones((1, 8), np.float32))   # compiled again, (37, 8) goes
        assert [key[0][0][0] for key in step._specs] == [39, 40, 38, 1]
        # What was evicted still runs (compiled again) and gives the same numbers.
        data = np.random.default_rng(0).normal(size=(37, 8)).astype(np.float32)
        first = sess.run(loss, {x: data})
        assert sess.run(loss, {x: data}) == first


def test_the_default_cache_is_bounded_and_evicted_code_is_freed():
    x, loss, train = _mlp()
    before = len(_program_sources())
    with gf.Session() as sess:
        step = sess.make_callable(loss, [x])
        for batch in range(1, 3 * DEFAULT_CACHE_SIZE):
            step(np.ones((batch, 8), np.float32))
        assert len(step._specs) == DEFAULT_CACHE_SIZE
        gc.collect()
        assert len(_program_sources()) - before <= DEFAULT_CACHE_SIZE


def test_sessions_made_and_closed_in_a_loop_leave_no_generated_source_behind():
    x, loss, train = _mlp()
    data = np.ones((4, 8), np.float32)
    before = len(_program_sources())
    for _ in range(30):
        with gf.Session() as sess:
            sess.run(train, {x: data})
            sess.run(loss, {x: data})
    gc.collect()
    assert len(_program_sources()) - before <= 0


def test_a_traceback_still_shows_the_generated_line_while_the_program_lives():
    v = gf.Variable(np.float64(1.0), name="v")
    index = gf.placeholder(gf.int32, (1,), name="index")
    picked = gf.gather(gf.stack([v, v]), index, name="picked")
    with gf.Session() as sess:
        step = sess.make_callable(picked, [index])
        with pytest.raises(Exception) as info:
            step(np.array([9], np.int32))
        tb, lines = info.value.__cause__.__traceback__, []
        while tb is not None:
            if tb.tb_frame.f_code.co_filename.startswith("<graphflow-program-"):
                lines.append(linecache.getline(tb.tb_frame.f_code.co_filename, tb.tb_lineno))
            tb = tb.tb_next
        assert lines and "picked = np.take(" in lines[-1]


@pytest.mark.parametrize("size", [0, -1, 2.5, True])
def test_cache_size_must_be_a_positive_int(size):
    with pytest.raises(ValueError, match="cache_size"):
        gf.Session(cache_size=size)
