"""gf.initializers: callables that make a variable's initial value, as TF1's initializers.

    init = gf.initializers.glorot_uniform()
    w = gf.Variable(init((784, 100), gf.float32), name="w")

Each is an object called as init(shape, dtype=gf.float32) that returns a numpy array. The random
ones draw from the default graph's `random_state(seed)`: after gf.set_random_seed(s), building
the same program again in a fresh graph draws the same numbers; with no graph seed and no `seed`,
every call draws fresh ones.

Fans, as TF1/Keras count them: a shape (a,) has fan_in = fan_out = a; (a, b) has fan_in = a,
fan_out = b; a convolution kernel (..., in, out) multiplies both by the receptive field size
prod(shape[:-2]); a scalar has fan_in = fan_out = 1.
"""

from __future__ import annotations

import math
from typing import Optional, Sequence, Tuple, Union

import numpy as np

from compiler import dtypes as _dt
from compiler.graph import get_default_graph

__all__ = ["Initializer", "Zeros", "Ones", "RandomNormal", "RandomUniform", "GlorotUniform",
           "HeNormal", "zeros", "ones", "random_normal", "random_uniform", "glorot_uniform",
           "he_normal"]

ShapeLike = Union[int, Sequence[int]]

# Std of a unit normal truncated to [-2, 2]; Keras divides the wanted stddev by it so that the
# truncated draws have the wanted stddev.
_TRUNCATED_STDDEV = 0.87962566103423978


def _as_shape(shape: ShapeLike) -> Tuple[int, ...]:
    dims = (shape,) if isinstance(shape, (int, np.integer)) else tuple(shape)
    for d in dims:
        if isinstance(d, bool) or not isinstance(d, (int, np.integer)) or d < 0:
            raise ValueError(f"an initializer needs a fully known shape of non-negative ints, "
                             f"got {shape!r}")
    return tuple(int(d) for d in dims)


def _float_dtype(dtype, who: str) -> np.dtype:
    dtype = _dt.as_dtype(dtype)
    if not _dt.is_floating(dtype):
        raise TypeError(f"{who} makes float values; dtype {dtype.name} is not a float dtype")
    return dtype


def compute_fans(shape: Tuple[int, ...]) -> Tuple[int, int]:
    """(fan_in, fan_out) of a weight of this shape, as TF1/Keras count them."""
    if len(shape) == 0:
        return 1, 1
    if len(shape) == 1:
        return shape[0], shape[0]
    receptive_field = int(np.prod(shape[:-2])) if len(shape) > 2 else 1
    return shape[-2] * receptive_field, shape[-1] * receptive_field


class Initializer:
    """Base class: init(shape, dtype=gf.float32) -> numpy array of that shape and dtype."""

    def __call__(self, shape: ShapeLike, dtype=_dt.float32) -> np.ndarray:
        raise NotImplementedError

    def __repr__(self) -> str:
        fields = ", ".join(f"{k}={v!r}" for k, v in vars(self).items())
        return f"gf.initializers.{type(self).__name__}({fields})"


class Zeros(Initializer):
    """All zeros (any dtype)."""

    def __call__(self, shape: ShapeLike, dtype=_dt.float32) -> np.ndarray:
        return np.zeros(_as_shape(shape), _dt.as_dtype(dtype))


class Ones(Initializer):
    """All ones (any dtype)."""

    def __call__(self, shape: ShapeLike, dtype=_dt.float32) -> np.ndarray:
        return np.ones(_as_shape(shape), _dt.as_dtype(dtype))


class _Random(Initializer):
    """An initializer that draws from the default graph's random state."""

    def __init__(self, seed: Optional[int] = None):
        self.seed = seed

    def __call__(self, shape: ShapeLike, dtype=_dt.float32) -> np.ndarray:
        shape = _as_shape(shape)
        dtype = _float_dtype(dtype, type(self).__name__)
        rng = get_default_graph().random_state(self.seed)
        # Drawn in float64 and then rounded, so the numbers do not depend on the dtype asked.
        return np.asarray(self._draw(rng, shape), dtype=np.float64).astype(dtype)

    def _draw(self, rng: np.random.Generator, shape: Tuple[int, ...]) -> np.ndarray:
        raise NotImplementedError


def _truncated_normal(rng: np.random.Generator, shape: Tuple[int, ...]) -> np.ndarray:
    """Unit normal draws redrawn until they lie within [-2, 2] (TF's truncated_normal)."""
    out = rng.standard_normal(shape)
    bad = np.abs(out) > 2.0
    while bad.any():
        out[bad] = rng.standard_normal(int(bad.sum()))
        bad = np.abs(out) > 2.0
    return out


class RandomNormal(_Random):
    """Normal draws with the given mean and stddev."""

    def __init__(self, mean: float = 0.0, stddev: float = 0.05, seed: Optional[int] = None):
        super().__init__(seed)
        self.mean = float(mean)
        self.stddev = float(stddev)

    def _draw(self, rng, shape):
        return rng.normal(self.mean, self.stddev, shape)


class RandomUniform(_Random):
    """Uniform draws in [minval, maxval)."""

    def __init__(self, minval: float = -0.05, maxval: float = 0.05, seed: Optional[int] = None):
        super().__init__(seed)
        if not minval < maxval:
            raise ValueError(f"random_uniform needs minval < maxval, got {minval}, {maxval}")
        self.minval = float(minval)
        self.maxval = float(maxval)

    def _draw(self, rng, shape):
        return rng.uniform(self.minval, self.maxval, shape)


class GlorotUniform(_Random):
    """Glorot/Xavier uniform: U(-limit, limit) with limit = sqrt(6 / (fan_in + fan_out))."""

    def _draw(self, rng, shape):
        fan_in, fan_out = compute_fans(shape)
        limit = math.sqrt(6.0 / max(1.0, fan_in + fan_out))
        return rng.uniform(-limit, limit, shape)


class HeNormal(_Random):
    """He normal, as TF1/Keras's he_normal (VarianceScaling(2.0, "fan_in", truncated normal)):
    a normal truncated at two standard deviations, with stddev sqrt(2 / fan_in) / 0.8796... so
    that the truncated values have standard deviation sqrt(2 / fan_in); every value lies within
    +-2 * sqrt(2 / fan_in) / 0.8796...
    """

    def _draw(self, rng, shape):
        fan_in, _ = compute_fans(shape)
        stddev = math.sqrt(2.0 / max(1.0, fan_in)) / _TRUNCATED_STDDEV
        return stddev * _truncated_normal(rng, shape)


def zeros() -> Zeros:
    """Initializer of zeros (TF1's tf.zeros_initializer())."""
    return Zeros()


def ones() -> Ones:
    """Initializer of ones (TF1's tf.ones_initializer())."""
    return Ones()


def random_normal(mean: float = 0.0, stddev: float = 0.05,
                  seed: Optional[int] = None) -> RandomNormal:
    """Normal draws. Defaults are TF2/Keras's (stddev 0.05); TF1's had stddev 1.0."""
    return RandomNormal(mean, stddev, seed)


def random_uniform(minval: float = -0.05, maxval: float = 0.05,
                   seed: Optional[int] = None) -> RandomUniform:
    """Uniform draws in [minval, maxval). Defaults are TF2/Keras's; TF1's were [0, 1)."""
    return RandomUniform(minval, maxval, seed)


def glorot_uniform(seed: Optional[int] = None) -> GlorotUniform:
    """Glorot uniform (tf.glorot_uniform_initializer, the default kernel initializer of dense)."""
    return GlorotUniform(seed)


def he_normal(seed: Optional[int] = None) -> HeNormal:
    """He normal, truncated at two standard deviations (tf.keras.initializers.he_normal)."""
    return HeNormal(seed)
