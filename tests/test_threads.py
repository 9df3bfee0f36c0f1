"""Runs of one session from several threads: each run is atomic and none sees or publishes another
run's half-done writes (the README's "Threads")."""

import threading
import warnings

import numpy as np
import pytest

import graphflow as gf
from compiler.errors import OpError

THREADS, RUNS = 4, 2000


@pytest.fixture(autouse=True)
def fresh_graph():
    with gf.Graph().as_default() as g:
        yield g


def _in_threads(work, count=THREADS):
    errors = []

    def target(k):
        try:
            work(k)
        except BaseException as exc:  # noqa: B036 - reported to the test below
            errors.append(exc)

    threads = [threading.Thread(target=target, args=(k,)) for k in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors


@pytest.mark.parametrize("options", [dict(optimize=False), dict(), dict(backend="torch",
                                                                          device="cpu"),
                                     dict(backend="native")],
                         ids=["interpreter", "numpy", "torch", "native"])
def test_concurrent_increments_all_count(options):
    counter = gf.Variable(np.int64(0), name="counter")
    bump = counter.assign_add(1)
    with gf.Session(**options) as sess:
        sess.run(counter)
        step = sess.make_callable(bump)
        _in_threads(lambda k: [step() for _ in range(RUNS)])
        assert sess.run(counter) == THREADS * RUNS


def test_a_program_that_hands_its_signature_to_the_interpreter_counts_too():
    """A swap cannot be ordered in place: the Program runs it in the interpreter, which must keep
    its pending writes per run."""
    a = gf.Variable(np.int64(0), name="a")
    b = gf.Variable(np.int64(1), name="b")
    swap = gf.group(a.assign(b + 1), b.assign(a + 1))
    with gf.Session() as sess:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "running ... in the reference interpreter"
            step = sess.make_callable(swap)
            step()
            _in_threads(lambda k: [step() for _ in range(RUNS // 4)])
        total = 1 + THREADS * (RUNS // 4)
        # Each swap-and-increment adds 1 to both; after n runs a + b = 1 + 2n.
        assert sess.run(a) + sess.run(b) == 1 + 2 * total


@pytest.mark.parametrize("optimize", [False, True], ids=["interpreter", "numpy"])
def test_a_thread_whose_runs_all_fail_moves_nothing(optimize):
    counter = gf.Variable(np.float64(0.0), name="counter")
    index = gf.placeholder(gf.int32, (1,), name="index")
    good = counter.assign_add(1.0)
    bad_update = counter.assign_add(1000.0)
    with gf.control_dependencies([bad_update]):
        bad = gf.gather(gf.stack([counter, counter]), index)  # index 5: out of range

    with gf.Session(optimize=optimize) as sess:
        sess.run(counter)

        def work(k):
            for _ in range(RUNS // 2):
                if k % 2:
                    with pytest.raises(OpError):
                        sess.run(bad, {index: [5]})
                else:
                    sess.run(good)

        _in_threads(work)
        assert sess.run(counter) == (THREADS // 2) * (RUNS // 2)


def test_runs_that_only_read_never_see_half_an_update():
    """A reader in one thread and a writer in another: every value read is one the writer left
    whole (all entries equal), never a mixture."""
    w = gf.Variable(np.zeros(50_000), name="w")
    bump = w.assign_add(np.ones(50_000))
    total = gf.reduce_sum(w)
    seen = []
    with gf.Session() as sess:
        sess.run(w)
        write, read = sess.make_callable(bump), sess.make_callable([w, total])

        def work(k):
            for _ in range(300):
                if k == 0:
                    write()
                else:
                    value, s = read()
                    seen.append((value.min() == value.max(), s == value[0] * value.size))

        _in_threads(work, count=2)
    assert seen and all(a and b for a, b in seen)
