"""TF1's tf.flags / tf.app.flags (gf.flags, gf.app.flags): absl.flags, as TF 1.15 exports it.

    gf.flags.DEFINE_string("data_dir", "/tmp/mnist", "Where the data lives.")
    gf.flags.DEFINE_integer("steps", 1000, "Training steps.")
    FLAGS = gf.flags.FLAGS

    def main(argv):
        print(FLAGS.data_dir, FLAGS.steps)

    gf.app.run(main)          # python train.py --steps=50 --data_dir /data --nofake

Everything absl.flags has is here, on absl's own global registry (flags defined with absl.flags
and with gf.flags are the same flags). Two TF1 additions: DEFINE_string, DEFINE_boolean/bool,
DEFINE_float and DEFINE_integer also take TF's old keyword names flag_name, default_value and
docstring; and FLAGS, read before anything parsed the command line, parses sys.argv first
(absl's own FLAGS raises UnparsedFlagAccessError there).
"""

import functools
import logging
import sys

from absl import flags as _absl_flags
from absl.flags import *  # noqa: F401,F403 - tf.flags is all of absl.flags

# Flags defined through the wrappers below belong to the caller's module (for --helpshort).
_absl_flags.disclaim_key_flags()

_OLD_NAMES = {"flag_name": "name", "default_value": "default", "docstring": "help"}


def _accept_old_names(define):
    """`define`, also taking TF1's old keyword names for name, default and help."""

    @functools.wraps(define)
    def wrapper(*args, **kwargs):
        old = [k for k in _OLD_NAMES if k in kwargs]
        for key in old:
            kwargs[_OLD_NAMES[key]] = kwargs.pop(key)
        if old:
            logging.warning("Use of the keyword argument names (flag_name, default_value, "
                            "docstring) is deprecated, please use (name, default, help) instead.")
        return define(*args, **kwargs)
    return wrapper


DEFINE_string = _accept_old_names(_absl_flags.DEFINE_string)
DEFINE_boolean = _accept_old_names(_absl_flags.DEFINE_boolean)
DEFINE_bool = DEFINE_boolean
DEFINE_float = _accept_old_names(_absl_flags.DEFINE_float)
DEFINE_integer = _accept_old_names(_absl_flags.DEFINE_integer)


class _FlagValuesWrapper:
    """absl's FlagValues, except that reading a flag before parsing parses sys.argv (TF1)."""

    def __init__(self, flag_values):
        self.__dict__["_wrapped"] = flag_values

    def __getattribute__(self, name):
        if name == "__dict__":
            return object.__getattribute__(self, name)
        # the wrapped object's own attributes only: a flag's value goes through __getattr__
        return self.__dict__["_wrapped"].__getattribute__(name)

    def __getattr__(self, name):
        wrapped = self.__dict__["_wrapped"]
        if not wrapped.is_parsed():  # TF1 keeps old programs working: parse the command line
            wrapped(sys.argv)
        return getattr(wrapped, name)

    def __setattr__(self, name, value):
        setattr(self.__dict__["_wrapped"], name, value)

    def __delattr__(self, name):
        delattr(self.__dict__["_wrapped"], name)

    def __dir__(self):
        return dir(self.__dict__["_wrapped"])

    def __getitem__(self, name):
        return self.__dict__["_wrapped"][name]

    def __setitem__(self, name, flag):
        self.__dict__["_wrapped"][name] = flag

    def __contains__(self, name):
        return name in self.__dict__["_wrapped"]

    def __len__(self):
        return len(self.__dict__["_wrapped"])

    def __iter__(self):
        return iter(self.__dict__["_wrapped"])

    def __str__(self):
        return str(self.__dict__["_wrapped"])

    def __call__(self, *args, **kwargs):
        return self.__dict__["_wrapped"](*args, **kwargs)


FLAGS = _FlagValuesWrapper(_absl_flags.FLAGS)
