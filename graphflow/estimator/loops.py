"""The session loops of Estimator.train, evaluate and predict, with TF1's hooks' timing:
a checkpoint at the start of training, every save_checkpoints_steps (or _secs) and at the end;
"loss = X, step = N" every log_step_count_steps; the end of the input stops any loop."""

from __future__ import annotations

import math
import os
import time
from typing import Iterator, Optional

import numpy as np

from compiler.tf_errors import OutOfRangeError

from .. import tf_logging as logging
from .hooks import HookRunner

CHECKPOINT_NAME = "model.ckpt"


class NanLossDuringTrainingError(RuntimeError):
    """The loss became NaN (TF1's tf.train.NanLossDuringTrainingError)."""

    def __str__(self) -> str:
        return "NaN loss during training."


class Timer:
    """TF1's SecondOrStepTimer: triggers every `every_steps` steps or every `every_secs`."""

    def __init__(self, every_steps: Optional[int] = None, every_secs: Optional[float] = None):
        self.every_steps, self.every_secs = every_steps, every_secs
        self.last_step: Optional[int] = None
        self.last_time: Optional[float] = None

    def should_trigger(self, step: int) -> bool:
        if self.last_step is None:
            return True
        if step == self.last_step:
            return False
        if self.every_steps is not None:
            return step >= self.last_step + self.every_steps
        return time.time() >= self.last_time + self.every_secs

    def update(self, step: int) -> Optional[float]:
        """Mark `step` as triggered; the seconds since the last trigger (None the first time)."""
        now = time.time()
        elapsed = None if self.last_time is None else now - self.last_time
        self.last_step, self.last_time = step, now
        return elapsed


class CheckpointSaver:
    """TF1's CheckpointSaverHook: saves "model.ckpt-<step>" and calls the saving listeners."""

    def __init__(self, saver, model_dir: str, config, listeners):
        self.saver, self.listeners = saver, list(listeners or ())
        self.path = os.path.join(model_dir, CHECKPOINT_NAME)
        secs = config.save_checkpoints_secs
        self.enabled = bool(config.save_checkpoints_steps or secs)
        self.timer = Timer(config.save_checkpoints_steps or None, secs)
        for listener in self.listeners:
            listener.begin()

    def save(self, sess, step: int) -> bool:
        """Save at `step`; True if a listener asks training to stop."""
        self.timer.update(step)
        logging.info("Saving checkpoints for %d into %s.", step, self.path)
        for listener in self.listeners:
            listener.before_save(sess, step)
        self.saver.save(sess, self.path, global_step=step)
        return any([bool(listener.after_save(sess, step)) for listener in self.listeners])

    def end(self, sess, step: int) -> None:
        if self.timer.last_step != step:
            self.save(sess, step)
        for listener in self.listeners:
            listener.end(sess, step)


def train_loop(sess, spec, global_step, checkpoints: CheckpointSaver, last_step: Optional[int],
               config, hooks: HookRunner) -> Optional[float]:
    """Run spec.train_op until the global step reaches `last_step` (None: until the input ends);
    return the loss of the last step run (None if none ran)."""
    step = int(sess.run(global_step))
    if checkpoints.enabled:
        checkpoints.save(sess, step)
    log_timer = Timer(config.log_step_count_steps)
    loss = None
    stop = last_step is not None and step >= last_step
    while not (stop or hooks.should_stop):
        try:
            _, loss, stale = hooks.run(sess, [spec.train_op, spec.loss, global_step])
        except OutOfRangeError:  # the input is used up: a normal end, as TF1's MonitoredSession
            break
        if np.isnan(loss):
            raise NanLossDuringTrainingError()
        _log_loss(log_timer, loss, int(stale))
        step, stop = _after_step(sess, global_step, int(stale), last_step, checkpoints)
    step = int(sess.run(global_step))
    if checkpoints.enabled:
        checkpoints.end(sess, step)
    logging.info("Loss for final step: %s.", loss)
    return loss


def _log_loss(timer: Timer, loss, step: int) -> None:
    if not timer.should_trigger(step):
        return
    elapsed = timer.update(step)
    stats = f"loss = {np.array(loss)}, step = {step}"
    if elapsed is None:
        logging.info("%s", stats)
    else:
        logging.info("%s (%.3f sec)", stats, elapsed)


def _after_step(sess, global_step, stale: int, last_step, checkpoints) -> tuple:
    """(the global step now, whether to stop), reading the step only when it matters (TF1)."""
    near_end = last_step is not None and stale + 1 >= last_step
    due = checkpoints.enabled and checkpoints.timer.should_trigger(stale + 1)
    if not (near_end or due):
        return stale + 1, False
    step = int(sess.run(global_step))
    stop = last_step is not None and step >= last_step
    if step == stale and last_step is not None:
        raise RuntimeError(f"the global step did not increase (it is {step}): train_op must "
                           f"increment it to count steps; pass "
                           f"global_step=tf.train.get_global_step() to optimizer.minimize")
    if checkpoints.enabled and checkpoints.timer.should_trigger(step):
        stop = checkpoints.save(sess, step) or stop
    return step, stop


def eval_loop(sess, update_op, steps: Optional[int], hooks: HookRunner) -> int:
    """Run the metrics' update ops `steps` times or until the input ends; the batches run."""
    done = 0
    log_every = None if steps is None else max(1, int(math.floor(steps / 10)))
    while (steps is None or done < steps) and not hooks.should_stop:
        try:
            hooks.run(sess, update_op)
        except OutOfRangeError:
            break
        done += 1
        if log_every is not None and (done % log_every == 0 or done == steps):
            logging.info("Evaluation [%d/%d]", done, steps)
    return done


def predict_loop(sess, predictions, yield_single_examples: bool, hooks: HookRunner
                 ) -> Iterator:
    """Batches of predictions until the input ends, one example at a time if asked."""
    while not hooks.should_stop:
        try:
            batch = hooks.run(sess, predictions)
        except OutOfRangeError:
            return
        if not yield_single_examples:
            yield batch
            continue
        yield from _examples(batch)


def _examples(batch):
    if not isinstance(batch, dict):
        yield from np.asarray(batch)
        return
    sizes = {key: np.shape(value)[0] if np.ndim(value) else None for key, value in batch.items()}
    lengths = set(sizes.values())
    if None in lengths or len(lengths) > 1:
        raise ValueError(f"Batch length of predictions should be same; with "
                         f"yield_single_examples=True every prediction needs the same first "
                         f"(batch) dimension, got {sizes}; pass yield_single_examples=False")
    for i in range(lengths.pop()):
        yield {key: value[i] for key, value in batch.items()}
