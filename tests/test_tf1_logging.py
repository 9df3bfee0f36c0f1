"""gf.logging against TF 1.15's tf.logging: Python's logging under the logger "tensorflow"."""

import logging
import os
import subprocess
import sys

import pytest

import graphflow as gf

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
L = gf.logging


@pytest.fixture(autouse=True)
def keep_level():
    logger = logging.getLogger("tensorflow")
    level = logger.level
    yield
    logger.setLevel(level)


def test_constants_are_pythons_levels():
    assert (L.DEBUG, L.INFO, L.WARN, L.ERROR, L.FATAL) == (10, 20, 30, 40, 50)
    assert (L.DEBUG, L.INFO, L.WARN, L.ERROR, L.FATAL) == (
        logging.DEBUG, logging.INFO, logging.WARNING, logging.ERROR, logging.CRITICAL)


def test_levels_filter_and_records_name_the_callers_line(caplog):
    L.set_verbosity(L.INFO)
    assert L.get_verbosity() == 20 == logging.getLogger("tensorflow").getEffectiveLevel()
    caplog.set_level(logging.DEBUG)
    L.debug("hidden")
    L.info("step %d", 3)
    L.warn("w")
    L.warning("w2")
    L.error("e")
    L.fatal("f")  # logs only, as in TF1
    L.log(L.ERROR, "via log %s", "x")
    L.vlog(L.WARN, "via vlog")
    got = [(r.name, r.levelno, r.getMessage()) for r in caplog.records]
    assert got == [("tensorflow", 20, "step 3"), ("tensorflow", 30, "w"),
                   ("tensorflow", 30, "w2"), ("tensorflow", 40, "e"), ("tensorflow", 50, "f"),
                   ("tensorflow", 40, "via log x"), ("tensorflow", 30, "via vlog")]
    assert {r.filename for r in caplog.records} == {os.path.basename(__file__)}
    L.set_verbosity(L.DEBUG)
    L.debug("shown")
    assert caplog.records[-1].getMessage() == "shown"


def test_log_every_n_first_n_if(caplog):
    L.set_verbosity(L.INFO)
    caplog.set_level(logging.INFO)
    for k in range(7):
        L.log_every_n(L.INFO, "every %d", 3, k)
    for k in range(7):
        L.log_first_n(L.INFO, "first %d", 2, k)
    L.log_if(L.INFO, "yes", True)
    L.log_if(L.INFO, "no", False)
    L.TaskLevelStatusMessage("status")
    got = [r.getMessage() for r in caplog.records]
    # TF1: the 1st, (n+1)th, (2n+1)th call of a line; the first n calls of a line
    assert got == ["every 0", "every 3", "every 6", "first 0", "first 1", "yes", "status"]
    assert caplog.records[-1].levelno == logging.ERROR


def test_flush_raises_as_in_tf1():
    with pytest.raises(NotImplementedError):
        L.flush()


def test_default_handler_format_and_verbosity_in_a_fresh_process():
    code = ("import graphflow as tf\n"
            "print(tf.logging.get_verbosity())\n"
            "tf.logging.info('not shown')\n"
            "tf.logging.warning('careful %d', 2)\n"
            "tf.logging.set_verbosity(tf.logging.INFO)\n"
            "tf.logging.info('shown')\n")
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                          env=dict(os.environ, PYTHONPATH=ROOT), timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "30"  # WARN unless set
    # logging.BASIC_FORMAT on stderr, as TF1's own handler
    assert proc.stderr.splitlines() == ["WARNING:tensorflow:careful 2", "INFO:tensorflow:shown"]
