"""gf.initializers: callables that make a variable's initial value, as TF1's initializers.

    init = gf.initializers.glorot_uniform()
    w = gf.Variable(init((784, 100), gf.float32), name="w")
    h = gf.layers.dense(x, 100, kernel_initializer=gf.truncated_normal_initializer(stddev=0.1))

Each is an object called as init(shape, dtype=gf.float32) that returns a numpy array. The random
ones draw from the default graph's `random_state(seed)`: after gf.set_random_seed(s), building
the same program again in a fresh graph draws the same numbers; with no graph seed and no `seed`,
every call draws fresh ones.

TF1's own names (tf.constant_initializer, tf.zeros_initializer, tf.random_normal_initializer, ...,
tf.variance_scaling_initializer) are here too, with TF1's defaults, which are not always those of
the lower-case Keras-style functions (random_normal: stddev 1.0 rather than 0.05; random_uniform:
[0, 1) rather than [-0.05, 0.05)).

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

__all__ = ["Initializer", "Zeros", "Ones", "Constant", "RandomNormal", "TruncatedNormal",
           "RandomUniform", "GlorotUniform", "HeNormal", "VarianceScaling", "zeros", "ones",
           "random_normal", "random_uniform", "glorot_uniform", "he_normal",
           "constant_initializer", "zeros_initializer", "ones_initializer",
           "random_normal_initializer", "truncated_normal_initializer",
           "random_uniform_initializer", "glorot_uniform_initializer",
           "variance_scaling_initializer"]

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


class Constant(Initializer):
    """Every value from `value`: a number fills the whole shape; an array (or list) must have
    as many elements as the shape and is reshaped to it (TF1 also padded a short list with its
    last element; that is an error here, as in TF2). The value is converted to the dtype asked
    without loss: 0.5 for an int32 variable is an error, not 0."""

    def __init__(self, value=0):
        array = np.array(value)
        if array.dtype.kind not in "biuf":
            raise TypeError(f"constant_initializer takes numbers, got {value!r}")
        array.flags.writeable = False
        self.value = array

    def __call__(self, shape: ShapeLike, dtype=_dt.float32) -> np.ndarray:
        shape = _as_shape(shape)
        dtype = _dt.as_dtype(dtype)
        value = self.value
        if value.ndim and value.size != math.prod(shape):
            raise ValueError(f"constant_initializer: a value of shape {value.shape} "
                             f"({value.size} elements) cannot fill shape {shape} "
                             f"({math.prod(shape)} elements)")
        converted = value.astype(dtype)
        if not np.array_equal(converted, value) and not (value.dtype.kind == "f"
                                                        and dtype.kind == "f"):
            raise TypeError(f"constant_initializer: cannot convert {value.tolist()!r} to "
                            f"{dtype.name} without loss")
        return np.array(np.broadcast_to(converted.reshape(shape if value.ndim else ()), shape))

    def __repr__(self) -> str:
        return f"gf.initializers.Constant(value={self.value.tolist()!r})"


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


class TruncatedNormal(_Random):
    """Normal draws with the given mean and stddev, those more than two stddevs from the mean
    redrawn (TF1's truncated_normal_initializer). The stddev is that of the normal before
    truncation: the values' own is about 0.88 times it."""

    def __init__(self, mean: float = 0.0, stddev: float = 1.0, seed: Optional[int] = None):
        super().__init__(seed)
        self.mean = float(mean)
        self.stddev = float(stddev)

    def _draw(self, rng, shape):
        return self.mean + self.stddev * _truncated_normal(rng, shape)


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


class VarianceScaling(_Random):
    """TF1 1.15's VarianceScaling: draws with variance scale / n, where n is fan_in, fan_out or
    their mean (`mode`), from `distribution`:

    - "truncated_normal" (the default; also the old name "normal"): a normal truncated at two
      standard deviations, with stddev sqrt(scale / n) / 0.87962566103423978 so that the
      truncated values have standard deviation sqrt(scale / n);
    - "untruncated_normal": a normal with stddev sqrt(scale / n);
    - "uniform": U(-limit, limit) with limit = sqrt(3 scale / n).

    n is at least 1 (a shape with a zero fan). glorot_uniform is (1.0, "fan_avg", "uniform"),
    he_normal (2.0, "fan_in", "truncated_normal").
    """

    _MODES = ("fan_in", "fan_out", "fan_avg")
    _DISTRIBUTIONS = ("normal", "uniform", "truncated_normal", "untruncated_normal")

    def __init__(self, scale: float = 1.0, mode: str = "fan_in",
                 distribution: str = "truncated_normal", seed: Optional[int] = None):
        super().__init__(seed)
        if not scale > 0.0:
            raise ValueError(f"variance_scaling: scale must be positive, got {scale!r}")
        if mode not in self._MODES:
            raise ValueError(f"variance_scaling: invalid mode {mode!r}; use one of {self._MODES}")
        distribution = str(distribution).lower()
        if distribution not in self._DISTRIBUTIONS:
            raise ValueError(f"variance_scaling: invalid distribution {distribution!r}; use one "
                             f"of {self._DISTRIBUTIONS}")
        self.scale = float(scale)
        self.mode = mode
        self.distribution = distribution

    def _draw(self, rng, shape):
        fan_in, fan_out = compute_fans(shape)
        n = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2.0}[self.mode]
        scale = self.scale / max(1.0, n)
        if self.distribution in ("normal", "truncated_normal"):
            return math.sqrt(scale) / _TRUNCATED_STDDEV * _truncated_normal(rng, shape)
        if self.distribution == "untruncated_normal":
            return rng.normal(0.0, math.sqrt(scale), shape)
        limit = math.sqrt(3.0 * scale)
        return rng.uniform(-limit, limit, shape)


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


# -- TF1's names ---------------------------------------------------------------------------------
def constant_initializer(value=0) -> Constant:
    """tf.constant_initializer: a number fills the shape; an array must have its size."""
    return Constant(value)


def zeros_initializer() -> Zeros:
    """tf.zeros_initializer()."""
    return Zeros()


def ones_initializer() -> Ones:
    """tf.ones_initializer()."""
    return Ones()


def random_normal_initializer(mean: float = 0.0, stddev: float = 1.0,
                              seed: Optional[int] = None) -> RandomNormal:
    """tf.random_normal_initializer: normal draws (TF1's default stddev 1.0)."""
    return RandomNormal(mean, stddev, seed)


def truncated_normal_initializer(mean: float = 0.0, stddev: float = 1.0,
                                 seed: Optional[int] = None) -> TruncatedNormal:
    """tf.truncated_normal_initializer: normal draws, those beyond 2 stddevs from the mean
    redrawn."""
    return TruncatedNormal(mean, stddev, seed)


def random_uniform_initializer(minval: float = 0.0, maxval: Optional[float] = None,
                               seed: Optional[int] = None) -> RandomUniform:
    """tf.random_uniform_initializer: uniform draws in [minval, maxval), maxval=None meaning 1.0
    (TF1's defaults: [0, 1)). Float dtypes only (TF1 also drew integers)."""
    return RandomUniform(minval, 1.0 if maxval is None else maxval, seed)


def glorot_uniform_initializer(seed: Optional[int] = None) -> GlorotUniform:
    """tf.glorot_uniform_initializer: U(-limit, limit), limit = sqrt(6 / (fan_in + fan_out))
    (VarianceScaling(1.0, "fan_avg", "uniform"), which draws the same numbers)."""
    return GlorotUniform(seed)


def variance_scaling_initializer(scale: float = 1.0, mode: str = "fan_in",
                                 distribution: str = "truncated_normal",
                                 seed: Optional[int] = None) -> VarianceScaling:
    """tf.variance_scaling_initializer (TF1 1.15): see VarianceScaling."""
    return VarianceScaling(scale, mode, distribution, seed)
