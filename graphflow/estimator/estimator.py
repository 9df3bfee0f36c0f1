"""TF1's tf.estimator.Estimator: a model_fn trained, evaluated and used for predictions, each
call in a fresh graph, its variables kept in checkpoints in model_dir between calls.

    est = tf.estimator.Estimator(model_fn, model_dir="runs/a", params={"lr": 0.1})
    est.train(train_input_fn, steps=1000)          # resumes from runs/a's latest checkpoint
    print(est.evaluate(eval_input_fn))             # {'accuracy': ..., 'loss': ..., 'global_step'}
    for p in est.predict(predict_input_fn): ...
"""

from __future__ import annotations

import copy
import os
import tempfile
import time
from typing import Iterator, List, Optional

from compiler.graph import Graph
from compiler.ops.state import group
from compiler.tf_errors import NotFoundError

from .. import metrics
from .. import tf_logging as logging
from ..session import Session
from ..train.checkpoint_file import read_npz
from ..train.checkpoint_state import get_checkpoint_state, latest_checkpoint
from ..train.saver import Saver
from ..train.schedules import get_or_create_global_step
from ..variables import global_variables, global_variables_initializer, local_variables_initializer
from .calls import call_input_fn, call_model_fn, verify_model_fn_args
from .hooks import HookRunner
from .loops import CheckpointSaver, eval_loop, predict_loop, train_loop
from .model_fn import LOSS_METRIC_KEY, ModeKeys
from .run_config import RunConfig

__all__ = ["Estimator"]


class Estimator:
    """TF1's Estimator. model_fn(features, labels, mode, params, config) (any subset, features
    required) returns an EstimatorSpec; model_dir (or config.model_dir; a new temporary directory
    when neither is given) holds the checkpoints. warm_start_from: a checkpoint or a directory
    whose trainable variables start the first training when model_dir has no checkpoint."""

    def __init__(self, model_fn, model_dir=None, config: Optional[RunConfig] = None,
                 params: Optional[dict] = None, warm_start_from=None):
        verify_model_fn_args(model_fn, params)
        if config is None:
            config = RunConfig()
        elif not isinstance(config, RunConfig):
            raise ValueError(f"config must be an instance of RunConfig, but provided "
                             f"{config!r}")
        model_dir = None if model_dir is None else os.fspath(model_dir)
        if model_dir and config.model_dir and model_dir != config.model_dir:
            raise ValueError(f"model_dir are set both in constructor and RunConfig, but with "
                             f"different values. In constructor: '{model_dir}', in RunConfig: "
                             f"'{config.model_dir}'")
        if not model_dir and not config.model_dir:
            model_dir = tempfile.mkdtemp()
            logging.warning("Using temporary folder as model directory: %s", model_dir)
        if model_dir:
            config = config.replace(model_dir=model_dir)
        if warm_start_from is not None and not isinstance(warm_start_from, (str, os.PathLike)):
            raise TypeError(f"warm_start_from must be a checkpoint path or a directory, given "
                            f"{warm_start_from!r} (WarmStartSettings are not supported)")
        self._model_fn = model_fn
        self._config = config
        self._params = copy.deepcopy(params or {})
        self._warm_start_from = warm_start_from
        logging.info("Using config: %s", config)

    model_fn = property(lambda self: self._model_fn)
    model_dir = property(lambda self: self._config.model_dir)
    config = property(lambda self: copy.deepcopy(self._config))
    params = property(lambda self: copy.deepcopy(self._params))

    def latest_checkpoint(self) -> Optional[str]:
        """The newest checkpoint in model_dir (None if there is none)."""
        return latest_checkpoint(self.model_dir)

    def eval_dir(self, name: Optional[str] = None) -> str:
        """Where TF1 writes evaluation summaries: model_dir/eval or model_dir/eval_<name>."""
        return os.path.join(self.model_dir, "eval" if not name else "eval_" + name)

    def get_variable_names(self) -> List[str]:
        """The names of the variables in the latest checkpoint, sorted."""
        return sorted(self._latest_arrays())

    def get_variable_value(self, name: str):
        """The value of variable `name` in the latest checkpoint, a numpy array."""
        arrays = self._latest_arrays()
        if name not in arrays:
            raise NotFoundError(None, None, f"Key {name} not found in checkpoint "
                                            f"{self.latest_checkpoint()}; its variables are "
                                            f"{sorted(arrays)}")
        return arrays[name]

    def _latest_arrays(self) -> dict:
        path = self.latest_checkpoint()
        if not path:
            raise ValueError(f"Could not find trained model in model_dir: {self.model_dir}.")
        return read_npz(path + ".npz")

    # -- building a graph ---------------------------------------------------------------------
    def _build(self, input_fn, mode: str):
        """A fresh graph with the global step, the input and the model: (graph, step, spec)."""
        graph = Graph()
        with graph.as_default():
            if self._config.tf_random_seed is not None:
                graph.seed = int(self._config.tf_random_seed)
            global_step = get_or_create_global_step(graph)
            features, labels = call_input_fn(input_fn, mode, self.params, self.config)
            if mode == ModeKeys.PREDICT:
                labels = None  # TF1 gives model_fn no labels when predicting
            logging.info("Calling model_fn.")
            spec = call_model_fn(self._model_fn, features, labels, mode, self.params, self.config)
            logging.info("Done calling model_fn.")
        return graph, global_step, spec

    def _session(self, graph: Graph, saver: Saver, checkpoint: Optional[str]) -> Session:
        """A session of `graph`, variables initialized, then restored from `checkpoint`."""
        sess = Session(graph=graph, config=self._config.session_config)
        with graph.as_default():
            sess.run([global_variables_initializer(), local_variables_initializer()])
        if checkpoint:
            logging.info("Restoring parameters from %s", checkpoint)
            saver.restore(sess, checkpoint)
        return sess

    # -- train ----------------------------------------------------------------------------------
    def train(self, input_fn, hooks=None, steps: Optional[int] = None,
              max_steps: Optional[int] = None, saving_listeners=None) -> "Estimator":
        """Train until `steps` more steps (counted from the latest checkpoint's global step) or
        until the global step is `max_steps`, or until input_fn's data runs out. Checkpoints
        "model.ckpt-<step>" are saved at the start, every save_checkpoints_steps (or _secs) and
        at the end; the newest keep_checkpoint_max are kept. Returns self."""
        _check_train_steps(steps, max_steps)
        if max_steps is not None and max_steps <= self._checkpoint_step():
            logging.info("Skipping training since max_steps has already saved.")
            return self
        graph, global_step, spec = self._build(input_fn, ModeKeys.TRAIN)
        runner = HookRunner(list(hooks or ()) + list(spec.training_chief_hooks)
                            + list(spec.training_hooks))
        with graph.as_default():
            saver = Saver(global_variables(graph=graph),
                          max_to_keep=self._config.keep_checkpoint_max, save_relative_paths=True)
            runner.begin()
        latest = self.latest_checkpoint()
        with graph.as_default(), self._session(graph, saver, latest) as sess:
            if latest:
                saver.recover_last_checkpoints(
                    get_checkpoint_state(self.model_dir).all_model_checkpoint_paths)
            elif self._warm_start_from is not None:
                _warm_start(sess, graph, self._warm_start_from)
            runner.after_create_session(sess)
            start = int(sess.run(global_step))
            last_step = max_steps if steps is None else start + steps
            checkpoints = CheckpointSaver(saver, self.model_dir, self._config, saving_listeners)
            train_loop(sess, spec, global_step, checkpoints, last_step, self._config, runner)
            runner.end(sess)
        return self

    def _checkpoint_step(self) -> int:
        path = self.latest_checkpoint()
        if not path:
            return 0
        return int(read_npz(path + ".npz").get("global_step", 0))

    # -- evaluate -------------------------------------------------------------------------------
    def evaluate(self, input_fn, steps: Optional[int] = None, hooks=None,
                 checkpoint_path: Optional[str] = None, name: Optional[str] = None) -> dict:
        """Run the eval_metric_ops' update ops on `steps` batches (None: until input_fn's data
        runs out) with the latest checkpoint's variables; return {metric: value} with 'loss'
        (the mean of the batches' losses) and 'global_step'."""
        if steps is not None and steps <= 0:
            raise ValueError(f"Must specify steps > 0, given: {steps}")
        checkpoint = self._checkpoint_for("evaluate", checkpoint_path)
        graph, global_step, spec = self._build(input_fn, ModeKeys.EVAL)
        if LOSS_METRIC_KEY in spec.eval_metric_ops:
            raise ValueError('Metric with name "loss" is not allowed, because Estimator already '
                             'defines a default metric with the same name; rename it')
        runner = HookRunner(list(hooks or ()) + list(spec.evaluation_hooks))
        with graph.as_default():
            loss_value, loss_update = metrics.mean(spec.loss)
            update_op = group(loss_update, *[op for _, op in spec.eval_metric_ops.values()])
            eval_dict = {key: value for key, (value, _) in spec.eval_metric_ops.items()}
            eval_dict.update({LOSS_METRIC_KEY: loss_value, "global_step": global_step})
            saver = Saver(global_variables(graph=graph))
            runner.begin()
        with graph.as_default(), self._session(graph, saver, checkpoint) as sess:
            runner.after_create_session(sess)
            logging.info("Starting evaluation at %s", time.strftime("%Y-%m-%dT%H:%M:%SZ",
                                                                    time.gmtime()))
            eval_loop(sess, update_op, steps, runner)
            results = sess.run(eval_dict)
            logging.info("Finished evaluation at %s", time.strftime("%Y-%m-%d-%H:%M:%S"))
            runner.end(sess)
        logging.info("Saving dict for global step %d: %s", results["global_step"],
                     ", ".join(f"{k} = {v}" for k, v in sorted(results.items())))
        return results

    def _checkpoint_for(self, what: str, checkpoint_path) -> Optional[str]:
        if checkpoint_path:
            return os.fspath(checkpoint_path)
        latest = self.latest_checkpoint()
        if not latest:  # TF 1.15 goes on with freshly initialized variables
            logging.info("Could not find trained model in model_dir: %s, running "
                         "initialization to %s.", self.model_dir, what)
        return latest

    # -- predict --------------------------------------------------------------------------------
    def predict(self, input_fn, predict_keys=None, hooks=None,
                checkpoint_path: Optional[str] = None,
                yield_single_examples: bool = True) -> Iterator:
        """A generator of predictions until input_fn's data runs out: per example (a dict when
        the model's predictions are a dict, else an array), or per batch with
        yield_single_examples=False; predict_keys picks some keys of a dict."""
        checkpoint = self._checkpoint_for("predict", checkpoint_path)
        graph, _, spec = self._build(input_fn, ModeKeys.PREDICT)
        predictions = _extract_keys(spec.predictions, predict_keys)
        runner = HookRunner(list(hooks or ()) + list(spec.prediction_hooks))
        with graph.as_default():
            saver = Saver(global_variables(graph=graph))
            runner.begin()
        sess = self._session(graph, saver, checkpoint)
        try:  # not `with sess`: a suspended generator must not stay the default session
            runner.after_create_session(sess)
            yield from predict_loop(sess, predictions, yield_single_examples, runner)
            runner.end(sess)
        finally:
            sess.close()


def _check_train_steps(steps, max_steps) -> None:
    if steps is not None and max_steps is not None:
        raise ValueError("Can not provide both steps and max_steps.")
    if steps is not None and steps <= 0:
        raise ValueError(f"Must specify steps > 0, given: {steps}")
    if max_steps is not None and max_steps <= 0:
        raise ValueError(f"Must specify max_steps > 0, given: {max_steps}")


def _extract_keys(predictions, predict_keys):
    if not predict_keys:
        return predictions
    if isinstance(predict_keys, str):
        predict_keys = [predict_keys]
    if not isinstance(predictions, dict):
        raise ValueError("predict_keys argument is not valid in case of non-dict predictions.")
    picked = {key: value for key, value in predictions.items() if key in predict_keys}
    if not picked:
        raise ValueError(f"Expected to run at least one output from {sorted(predictions)}, "
                         f"provided {list(predict_keys)}.")
    return picked


def _warm_start(sess: Session, graph: Graph, source) -> None:
    """Set the trainable variables from a checkpoint (or a directory's latest one)."""
    path = os.fspath(source)
    if os.path.isdir(path):
        path = latest_checkpoint(path)
        if path is None:
            raise ValueError(f"warm_start_from: no checkpoint in directory '{source}'")
    logging.info("Warm-starting from: %s", path)
    trainable = [v for v in global_variables(graph=graph) if v.trainable]
    Saver(trainable).restore(sess, path)
