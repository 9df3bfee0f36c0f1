"""The op set, one family per module. Importing this package registers every op."""

from . import (  # noqa: F401
    array,
    conv,
    core,
    debug,
    distributed,
    division,
    elementwise,
    fused,
    generate,
    indexing,
    iterators,
    linalg,
    math,
    nn,
    pool,
    random,
    ranking,
    reduce,
    sampling,
    shape,
    state,
    strings,
    summary,
)

FAMILIES = (core, elementwise, shape, indexing, reduce, linalg, nn, state, math, array, random,
            debug, distributed, conv, pool, strings, summary, generate, ranking,
            sampling, iterators, division, fused)
