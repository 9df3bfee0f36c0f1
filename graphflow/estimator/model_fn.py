"""TF1's tf.estimator.ModeKeys and tf.estimator.EstimatorSpec: what a model_fn returns.

    def model_fn(features, labels, mode, params):
        logits = tf.layers.dense(features["x"], 10)
        if mode == tf.estimator.ModeKeys.PREDICT:
            return tf.estimator.EstimatorSpec(mode, predictions={"class": tf.argmax(logits, 1)})
        loss = tf.losses.sparse_softmax_cross_entropy(labels, logits)
        ...
        return tf.estimator.EstimatorSpec(mode, loss=loss, train_op=train_op)
"""

from __future__ import annotations

import collections

from compiler.graph import Node, Operation

__all__ = ["EstimatorSpec", "ModeKeys"]

LOSS_METRIC_KEY = "loss"  # the metric evaluate() adds itself, as TF1


class ModeKeys:
    """The three modes a model_fn is called in (TF1's strings)."""

    TRAIN = "train"
    EVAL = "eval"
    PREDICT = "infer"


_MODES = (ModeKeys.TRAIN, ModeKeys.EVAL, ModeKeys.PREDICT)
_FIELDS = ("mode", "predictions", "loss", "train_op", "eval_metric_ops", "export_outputs",
           "training_chief_hooks", "training_hooks", "scaffold", "evaluation_hooks",
           "prediction_hooks")


class EstimatorSpec(collections.namedtuple("EstimatorSpec", _FIELDS)):
    """The ops and tensors of a model for one mode, checked as TF1 does: TRAIN needs loss and
    train_op, EVAL needs loss, PREDICT needs predictions (a tensor or a dict of tensors); loss is a
    scalar tensor; eval_metric_ops maps names to (value, update_op) pairs such as tf.metrics give.
    export_outputs and scaffold are accepted and unused (no SavedModel export)."""

    def __new__(cls, mode, predictions=None, loss=None, train_op=None, eval_metric_ops=None,
                export_outputs=None, training_chief_hooks=None, training_hooks=None,
                scaffold=None, evaluation_hooks=None, prediction_hooks=None):
        if mode not in _MODES:
            raise ValueError(f"EstimatorSpec: mode={mode!r} not in {list(_MODES)}; use "
                             f"tf.estimator.ModeKeys.TRAIN, EVAL or PREDICT")
        _check_loss(mode, loss)
        _check_train_op(mode, train_op)
        predictions = _check_predictions(mode, predictions)
        eval_metric_ops = _check_metric_ops(eval_metric_ops)
        hooks = [tuple(_check_hooks(name, value)) for name, value in (
            ("training_chief_hooks", training_chief_hooks), ("training_hooks", training_hooks),
            ("evaluation_hooks", evaluation_hooks), ("prediction_hooks", prediction_hooks))]
        return super().__new__(cls, mode, predictions, loss, train_op, eval_metric_ops,
                               export_outputs, *hooks[:2], scaffold, *hooks[2:])


def _check_loss(mode: str, loss) -> None:
    if loss is None:
        if mode in (ModeKeys.TRAIN, ModeKeys.EVAL):
            raise ValueError(f"EstimatorSpec: Missing loss. mode={mode!r} needs loss=, a scalar "
                             f"tensor (e.g. tf.losses.mean_squared_error(labels, predictions))")
        return
    if not isinstance(loss, Node):
        raise TypeError(f"EstimatorSpec: loss must be a Tensor, given: {loss!r}")
    if loss.shape is not None and tuple(loss.shape) not in ((), (1,)):
        raise ValueError(f"EstimatorSpec: Loss must be scalar, given: {loss.describe()} of "
                         f"shape {loss.shape}; reduce it, e.g. with tf.reduce_mean")


def _check_train_op(mode: str, train_op) -> None:
    if train_op is None:
        if mode == ModeKeys.TRAIN:
            raise ValueError("EstimatorSpec: Missing train_op. mode='train' needs train_op=, "
                             "e.g. optimizer.minimize(loss, global_step="
                             "tf.train.get_global_step())")
        return
    if not isinstance(train_op, (Node, Operation)):
        raise TypeError(f"EstimatorSpec: train_op must be an Operation or a Tensor, given: "
                        f"{train_op!r}")


def _check_predictions(mode: str, predictions):
    if predictions is None:
        if mode == ModeKeys.PREDICT:
            raise ValueError("EstimatorSpec: Missing predictions. mode='infer' (PREDICT) needs "
                             "predictions=, a tensor or a dict of tensors")
        return {}
    if isinstance(predictions, dict):
        for key, value in predictions.items():
            if not isinstance(value, Node):
                raise TypeError(f"EstimatorSpec: predictions[{key!r}] must be Tensor, given: "
                                f"{value!r}")
        return dict(predictions)
    if not isinstance(predictions, Node):
        raise TypeError(f"EstimatorSpec: predictions must be Tensor or dict of Tensor, given: "
                        f"{predictions!r}")
    return predictions


def _check_metric_ops(eval_metric_ops) -> dict:
    if eval_metric_ops is None:
        return {}
    if not isinstance(eval_metric_ops, dict):
        raise TypeError(f"EstimatorSpec: eval_metric_ops must be a dict, given: "
                        f"{eval_metric_ops!r}")
    for key, pair in eval_metric_ops.items():
        if not (isinstance(pair, tuple) and len(pair) == 2
                and all(isinstance(p, (Node, Operation)) for p in pair)):
            raise TypeError(f"EstimatorSpec: Values of eval_metric_ops must be (metric_value, "
                            f"update_op) tuples, given: {pair!r} for key: {key!r} (tf.metrics "
                            f"functions return such pairs)")
    return dict(eval_metric_ops)


def _check_hooks(name: str, hooks):
    hooks = list(hooks or ())
    for hook in hooks:
        if not all(callable(getattr(hook, m, None)) for m in ("before_run", "after_run")):
            raise TypeError(f"EstimatorSpec: {name} must be SessionRunHook objects, given: "
                            f"{hook!r}")
    return hooks
