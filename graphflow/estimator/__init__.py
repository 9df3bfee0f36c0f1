"""gf.estimator: TF1's tf.estimator (Estimator, EstimatorSpec, ModeKeys, RunConfig, hooks and
inputs.numpy_input_fn), on graphflow's graphs, sessions and .npz checkpoints.

    est = tf.estimator.Estimator(model_fn, model_dir="runs/a")
    est.train(tf.estimator.inputs.numpy_input_fn({"x": x}, y, shuffle=True, num_epochs=None),
              steps=1000)
"""

from . import inputs
from .estimator import Estimator
from .hooks import (
    CheckpointSaverListener,
    SessionRunArgs,
    SessionRunContext,
    SessionRunHook,
    SessionRunValues,
)
from .loops import NanLossDuringTrainingError
from .model_fn import EstimatorSpec, ModeKeys
from .run_config import RunConfig

__all__ = ["CheckpointSaverListener", "Estimator", "EstimatorSpec", "ModeKeys",
           "NanLossDuringTrainingError", "RunConfig", "SessionRunArgs", "SessionRunContext",
           "SessionRunHook", "SessionRunValues", "inputs"]
