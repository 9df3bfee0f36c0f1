"""Loading an example script of examples/ as a module (its main() and helpers), for the tests
that run the examples end to end on tiny data."""

import importlib.util
import pathlib

EXAMPLES = pathlib.Path(__file__).resolve().parent.parent / "examples"


def load_example(filename: str):
    """examples/<filename> imported as a fresh module named after it."""
    spec = importlib.util.spec_from_file_location(pathlib.Path(filename).stem,
                                                  EXAMPLES / filename)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
