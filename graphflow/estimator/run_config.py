"""TF1's tf.estimator.RunConfig: where an Estimator writes and how often it saves and logs.

    config = tf.estimator.RunConfig(model_dir="runs/a", save_checkpoints_steps=100,
                                    keep_checkpoint_max=3, tf_random_seed=1)
"""

from __future__ import annotations

import numbers
from typing import Optional

from ..config import ConfigProto

__all__ = ["RunConfig"]

_USE_DEFAULT = object()  # TF1's marker: neither save_checkpoints_steps nor _secs was given
_DEFAULT_SAVE_SECS = 600


class RunConfig:
    """TF1's arguments, in TF1's order. graphflow honours model_dir, tf_random_seed,
    save_checkpoints_steps, save_checkpoints_secs, keep_checkpoint_max, log_step_count_steps and
    session_config (passed to the Session); the others are accepted and kept, and do nothing
    (no summaries, no distribution)."""

    def __init__(self, model_dir: Optional[str] = None, tf_random_seed: Optional[int] = None,
                 save_summary_steps: int = 100, save_checkpoints_steps=_USE_DEFAULT,
                 save_checkpoints_secs=_USE_DEFAULT, session_config=None,
                 keep_checkpoint_max: int = 5, keep_checkpoint_every_n_hours: float = 10000,
                 log_step_count_steps: int = 100, train_distribute=None, device_fn=None,
                 protocol=None, eval_distribute=None, experimental_distribute=None,
                 experimental_max_worker_delay_secs=None, session_creation_timeout_secs=7200):
        steps, secs = save_checkpoints_steps, save_checkpoints_secs
        if steps is _USE_DEFAULT and secs is _USE_DEFAULT:
            steps, secs = None, _DEFAULT_SAVE_SECS
        elif steps is _USE_DEFAULT:
            steps = None
        elif secs is _USE_DEFAULT:
            secs = None
        if steps is not None and secs is not None:
            raise ValueError("RunConfig: can not provide both save_checkpoints_secs and "
                             "save_checkpoints_steps; give one of them")
        _check_count("save_checkpoints_steps", steps, zero=True)
        _check_count("keep_checkpoint_max", keep_checkpoint_max, zero=True)
        _check_count("log_step_count_steps", log_step_count_steps)
        if session_config is not None and not isinstance(session_config, ConfigProto):
            raise TypeError(f"RunConfig: session_config must be a tf.ConfigProto, given "
                            f"{type(session_config).__name__}")
        self._model_dir = None if model_dir is None else str(model_dir)
        self._tf_random_seed = tf_random_seed
        self._save_summary_steps = save_summary_steps
        self._save_checkpoints_steps = steps
        self._save_checkpoints_secs = secs
        self._session_config = session_config
        self._keep_checkpoint_max = keep_checkpoint_max
        self._keep_checkpoint_every_n_hours = keep_checkpoint_every_n_hours
        self._log_step_count_steps = log_step_count_steps
        self._train_distribute = train_distribute
        self._device_fn = device_fn
        self._protocol = protocol
        self._eval_distribute = eval_distribute
        self._experimental_distribute = experimental_distribute
        self._experimental_max_worker_delay_secs = experimental_max_worker_delay_secs
        self._session_creation_timeout_secs = session_creation_timeout_secs

    model_dir = property(lambda self: self._model_dir)
    tf_random_seed = property(lambda self: self._tf_random_seed)
    save_summary_steps = property(lambda self: self._save_summary_steps)
    save_checkpoints_steps = property(lambda self: self._save_checkpoints_steps)
    save_checkpoints_secs = property(lambda self: self._save_checkpoints_secs)
    session_config = property(lambda self: self._session_config)
    keep_checkpoint_max = property(lambda self: self._keep_checkpoint_max)
    keep_checkpoint_every_n_hours = property(lambda self: self._keep_checkpoint_every_n_hours)
    log_step_count_steps = property(lambda self: self._log_step_count_steps)
    train_distribute = property(lambda self: self._train_distribute)
    device_fn = property(lambda self: self._device_fn)
    protocol = property(lambda self: self._protocol)
    eval_distribute = property(lambda self: self._eval_distribute)
    is_chief = property(lambda self: True)  # one process, as TF1 without TF_CONFIG
    num_worker_replicas = property(lambda self: 1)
    num_ps_replicas = property(lambda self: 0)
    task_type = property(lambda self: "worker")
    task_id = property(lambda self: 0)
    master = property(lambda self: "")
    cluster_spec = property(lambda self: None)
    evaluation_master = property(lambda self: "")
    global_id_in_cluster = property(lambda self: 0)

    def replace(self, **kwargs) -> "RunConfig":
        """A copy with the given arguments changed (TF1's RunConfig.replace)."""
        args = {name: getattr(self, "_" + name) for name in _ARGS}
        unknown = sorted(set(kwargs) - set(_ARGS))
        if unknown:
            raise ValueError(f"RunConfig.replace: unknown argument(s) {unknown}; the arguments "
                             f"are {list(_ARGS)}")
        args.update(kwargs)
        # A new save_checkpoints_steps replaces the default save_checkpoints_secs, as in TF1.
        if "save_checkpoints_steps" in kwargs and "save_checkpoints_secs" not in kwargs:
            args["save_checkpoints_secs"] = None
        if "save_checkpoints_secs" in kwargs and "save_checkpoints_steps" not in kwargs:
            args["save_checkpoints_steps"] = None
        return RunConfig(**args)

    def __repr__(self) -> str:
        return "RunConfig(" + ", ".join(f"{n}={getattr(self, '_' + n)!r}" for n in _ARGS) + ")"


_ARGS = ("model_dir", "tf_random_seed", "save_summary_steps", "save_checkpoints_steps",
         "save_checkpoints_secs", "session_config", "keep_checkpoint_max",
         "keep_checkpoint_every_n_hours", "log_step_count_steps", "train_distribute",
         "device_fn", "protocol", "eval_distribute", "experimental_distribute",
         "experimental_max_worker_delay_secs", "session_creation_timeout_secs")


def _check_count(name: str, value, zero: bool = False) -> None:
    if value is None:
        return
    ok = isinstance(value, numbers.Integral) and not isinstance(value, bool)
    if not ok or value < (0 if zero else 1):
        least = "a non-negative" if zero else "a positive"
        raise ValueError(f"RunConfig: {name} must be {least} integer or None, given {value!r}")
