"""TF1's tf.test: numeric gradient checks (see graphflow/gradient_checker.py).

    symbolic, numeric = gf.test.compute_gradient(x, x_shape, y, y_shape)
    gf.test.compute_gradient_error(x, x_shape, y, y_shape)    # max |symbolic - numeric|
"""

from .gradient_checker import compute_gradient, compute_gradient_error

__all__ = ["compute_gradient", "compute_gradient_error"]
