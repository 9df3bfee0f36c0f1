"""TF1's tf.app (gf.app): `run` parses the flags and calls main, through absl.app as TF 1.15.

    def main(argv):                 # argv: what the flags left, argv[0] the program
        ...
    if __name__ == "__main__":
        gf.app.run()                # main defaults to __main__.main; exits with its return value

Flags gf.flags does not know are left in argv for main (TF1 parses with known_only=True), so
the TF1 MNIST tutorials' pattern works:

    FLAGS, unparsed = parser.parse_known_args()
    gf.app.run(main=main, argv=[sys.argv[0]] + unparsed)

absl's own flags come along, as in TF1: --help, --helpfull, --run_with_pdb, --verbosity, ...
"""

import sys

from absl import app as _absl_app

from . import flags

__all__ = ["flags", "run"]


def _parse_flags_tolerate_undef(argv):
    """Parse the flags gf.flags knows and hand everything else to main."""
    return flags.FLAGS(sys.argv if argv is None else argv, known_only=True)


def run(main=None, argv=None):
    """Run `main(argv_left)` after parsing the flags in `argv` (default sys.argv), then exit
    the program with main's return value (sys.exit), as TF1's tf.app.run.

    main defaults to the `main` function of the __main__ module. A bad flag value prints absl's
    error and exits with status 1."""
    if main is None:
        main = getattr(sys.modules["__main__"], "main", None)
        if main is None:
            raise AttributeError("gf.app.run(): no main given and the __main__ module has no "
                                 "function `main`; define main(argv) or pass gf.app.run(main=...)")
    _absl_app.run(main=main, argv=argv, flags_parser=_parse_flags_tolerate_undef)
