"""The op set, one family per module. Importing this package registers every op."""

from . import array, core, elementwise, indexing, linalg, math, nn, random, reduce, shape, state  # noqa: F401

FAMILIES = (core, elementwise, shape, indexing, reduce, linalg, nn, state, math, array, random)
