"""The op set, one family per module. Importing this package registers every op."""

from . import core, elementwise, linalg, nn, reduce, shape, state  # noqa: F401

FAMILIES = (core, elementwise, shape, reduce, linalg, nn, state)
