"""gf.app.run and gf.flags against TF 1.15's documented behaviour (absl.flags underneath).

Flags are parsed from explicit argv lists (never pytest's own sys.argv). app.run runs in a child
process: it exits the program, as TF1's does, and absl's first run sets up process-wide state.
"""

import os
import subprocess
import sys
import textwrap

import absl.flags
import pytest

import graphflow as gf
from graphflow import flags as gf_flags

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def fresh():
    """A private registry wrapped as gf.flags.FLAGS is (the global one is left alone)."""
    values = absl.flags.FlagValues()
    return values, gf_flags._FlagValuesWrapper(values)


def define_all(values):
    gf.flags.DEFINE_string("data_dir", "/tmp/data", "Where data is.", flag_values=values)
    gf.flags.DEFINE_integer("steps", 100, "Steps.", flag_values=values)
    gf.flags.DEFINE_float("lr", 0.5, "Learning rate.", flag_values=values)
    gf.flags.DEFINE_boolean("fake", True, "Fake data.", flag_values=values)
    gf.flags.DEFINE_bool("verbose_log", False, "Log more.", flag_values=values)
    gf.flags.DEFINE_list("layers", ["8", "4"], "Layer sizes.", flag_values=values)
    gf.flags.DEFINE_enum("opt", "sgd", ["sgd", "adam"], "Optimizer.", flag_values=values)
    gf.flags.DEFINE_multi_string("tag", [], "Tags.", flag_values=values)


def test_app_flags_and_tf_flags_are_the_same_module_on_absls_registry():
    assert gf.app.flags is gf.flags
    name = "gf_test_flag_shared_registry"
    gf.flags.DEFINE_string(name, "x", "help")
    assert name in absl.flags.FLAGS  # TF1's tf.flags defines on absl's global FLAGS


def test_defaults_and_tf1_positional_order():
    values, flags = fresh()
    define_all(values)
    flags(["prog"])
    assert (flags.data_dir, flags.steps, flags.lr, flags.fake) == ("/tmp/data", 100, 0.5, True)
    assert flags.layers == ["8", "4"] and flags.opt == "sgd" and flags.tag == []
    assert flags["steps"].help == "Steps." and flags["steps"].default == 100


def test_equals_space_and_no_forms():
    values, flags = fresh()
    define_all(values)
    rest = flags(["prog", "--data_dir=/d", "--steps", "7", "--lr=0.25", "--nofake",
                  "--verbose_log", "--layers=3,2,1", "--opt", "adam", "--tag=a", "--tag", "b",
                  "positional"])
    assert rest == ["prog", "positional"]
    assert (flags.data_dir, flags.steps, flags.lr) == ("/d", 7, 0.25)
    assert flags.fake is False and flags.verbose_log is True
    assert flags.layers == ["3", "2", "1"] and flags.opt == "adam" and flags.tag == ["a", "b"]


def test_bad_values_raise_absl_errors_naming_the_flag():
    values, flags = fresh()
    define_all(values)
    with pytest.raises(absl.flags.IllegalFlagValueError, match="steps"):
        flags(["prog", "--steps=many"])
    with pytest.raises(absl.flags.IllegalFlagValueError, match="opt"):
        flags(["prog", "--opt=rmsprop"])
    with pytest.raises(absl.flags.UnrecognizedFlagError, match="nosuch"):
        flags(["prog", "--nosuch=1"])


def test_known_only_leaves_unknown_flags():
    values, flags = fresh()
    define_all(values)
    assert flags(["prog", "--steps=3", "--unknown=1"], known_only=True) == ["prog", "--unknown=1"]
    assert flags.steps == 3


def test_reading_before_parsing_parses_sys_argv(monkeypatch):
    values, flags = fresh()
    define_all(values)
    with pytest.raises(absl.flags.UnparsedFlagAccessError):
        _ = values.steps  # plain absl refuses: the difference TF1's wrapper makes
    monkeypatch.setattr(sys, "argv", ["prog", "--steps=42"])
    assert flags.steps == 42 and values.is_parsed()


def test_setting_a_flag_and_old_keyword_names(caplog):
    values, flags = fresh()
    gf.flags.DEFINE_string(flag_name="old", default_value="v", docstring="Old names.",
                           flag_values=values)
    flags(["prog"])
    assert flags.old == "v" and flags["old"].help == "Old names."
    flags.old = "w"
    assert values.old == "w"
    assert "deprecated" in caplog.text


def run_script(body: str, *args: str):
    """Run a small program using gf.app.run in a child process: (exit code, stdout, stderr)."""
    env = dict(os.environ, PYTHONPATH=ROOT)
    proc = subprocess.run([sys.executable, "-c", textwrap.dedent(body), *args], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=120)
    return proc.returncode, proc.stdout, proc.stderr


SCRIPT = """
import graphflow as tf
tf.flags.DEFINE_string("data_dir", "/tmp/d", "Data.")
tf.flags.DEFINE_integer("steps", 10, "Steps.")
tf.flags.DEFINE_boolean("fake", True, "Fake.")
FLAGS = tf.flags.FLAGS

def main(argv):
    print(FLAGS.data_dir, FLAGS.steps, FLAGS.fake, argv[1:])
    return FLAGS.steps % 5

tf.app.run()
"""


def test_run_parses_flags_calls_main_and_exits_with_its_value():
    code, out, err = run_script(SCRIPT, "--steps=7", "--data_dir", "/x", "--nofake", "rest")
    assert out.split("\n")[0] == "/x 7 False ['rest']", err
    assert code == 2  # sys.exit(main(argv)): 7 % 5


def test_run_main_returning_none_exits_zero_and_unknown_flags_reach_main():
    code, out, err = run_script(SCRIPT, "--steps=5", "--lr=0.1")
    assert (code, out.strip()) == (0, "/tmp/d 5 True ['--lr=0.1']"), err


def test_run_bad_flag_value_exits_one_with_absls_message():
    code, out, err = run_script(SCRIPT, "--steps=abc")
    assert code == 1 and "steps" in err and out == ""


def test_mnist_tutorial_argparse_pattern():
    body = """
    import argparse, sys
    import graphflow as tf

    def main(_):
        print(FLAGS.data_dir, FLAGS.max_steps, _)

    parser = argparse.ArgumentParser()
    parser.add_argument("--data_dir", type=str, default="/tmp/mnist")
    parser.add_argument("--max_steps", type=int, default=100)
    FLAGS, unparsed = parser.parse_known_args()
    tf.app.run(main=main, argv=[sys.argv[0]] + unparsed)
    """
    code, out, err = run_script(body, "--max_steps=3", "--other=1", "--data_dir", "/m")
    assert (code, out.strip()) == (0, "/m 3 ['-c', '--other=1']"), err


def test_run_without_main_names_the_problem():
    code, out, err = run_script("import graphflow as tf\ntf.app.run()\n")
    assert code == 1 and "no main given" in err


def test_import_graphflow_stays_light():
    code, out, err = run_script("import sys, graphflow\n"
                                "print([m for m in ('torch', 'tensorboard') if m in sys.modules])")
    assert (code, out.strip()) == (0, "[]"), err
