"""The op set, one family per module. Importing this package registers every op."""

from . import core, elementwise, indexing, linalg, nn, reduce, shape, state  # noqa: F401

FAMILIES = (core, elementwise, shape, indexing, reduce, linalg, nn, state)
