"""The op set, one family per module. Importing this package registers every op."""

from . import (  # noqa: F401
    array,
    conv,
    core,
    debug,
    distributed,
    elementwise,
    indexing,
    linalg,
    math,
    nn,
    pool,
    random,
    reduce,
    shape,
    state,
)

FAMILIES = (core, elementwise, shape, indexing, reduce, linalg, nn, state, math, array, random,
            debug, distributed, conv, pool)
