import numpy as np
import torch

from reference import check_finite_differences, compare_with_torch

import graphflow as gf


def test_mul_add_broadcast_against_torch():
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((2, 3)), rng.standard_normal((3,))
    compare_with_torch(lambda x, y: x * y + y, lambda x, y: x * y + y, [a, b])
    check_finite_differences(lambda x, y: x * y + y, [a, b])
