"""TF1's SessionRunHook protocol, as Estimator.train/evaluate/predict call it:

    class PrintLoss(tf.train.SessionRunHook):
        def before_run(self, run_context):
            return tf.train.SessionRunArgs(loss)           # fetched in the same run
        def after_run(self, run_context, run_values):
            print(run_values.results)

begin() once the graph is built, after_create_session(session, coord) once variables are
initialized or restored, before_run/after_run around every step, end(session) at the end.
"""

from __future__ import annotations

import collections
from typing import List, Optional

__all__ = ["CheckpointSaverListener", "SessionRunArgs", "SessionRunContext", "SessionRunHook",
           "SessionRunValues"]


class SessionRunHook:
    """Base class: every method does nothing; override those you need."""

    def begin(self) -> None:
        """Called once before the session is made; the graph may still be changed."""

    def after_create_session(self, session, coord) -> None:
        """Called once the session's variables are initialized or restored."""

    def before_run(self, run_context) -> Optional["SessionRunArgs"]:
        """Called before each run; return SessionRunArgs to add fetches and feeds to it."""
        return None

    def after_run(self, run_context, run_values) -> None:
        """Called after each run with the results of the fetches before_run added."""

    def end(self, session) -> None:
        """Called once at the end (also when the input ran out)."""


class SessionRunArgs(collections.namedtuple("SessionRunArgs", ["fetches", "feed_dict",
                                                                 "options"])):
    """What a hook adds to a run: fetches (any structure sess.run takes) and feeds."""

    def __new__(cls, fetches, feed_dict=None, options=None):
        return super().__new__(cls, fetches, feed_dict, options)


SessionRunValues = collections.namedtuple("SessionRunValues",
                                          ["results", "options", "run_metadata"])


class SessionRunContext:
    """The run being made: its original arguments, the session, and a way to ask to stop."""

    def __init__(self, original_args: SessionRunArgs, session):
        self.original_args, self.session = original_args, session
        self._stop_requested = False

    @property
    def stop_requested(self) -> bool:
        return self._stop_requested

    def request_stop(self) -> None:
        """Stop the loop after this run."""
        self._stop_requested = True


class HookRunner:
    """Runs fetches with the hooks' before_run/after_run around them."""

    def __init__(self, hooks):
        self.hooks: List[SessionRunHook] = list(hooks or ())
        for hook in self.hooks:
            if not all(callable(getattr(hook, m, None)) for m in
                       ("begin", "after_create_session", "before_run", "after_run", "end")):
                raise TypeError(f"hooks must be SessionRunHook objects (subclass "
                                f"tf.train.SessionRunHook), given {hook!r}")
        self.should_stop = False

    def begin(self) -> None:
        for hook in self.hooks:
            hook.begin()

    def after_create_session(self, sess) -> None:
        with sess.graph.as_default():
            for hook in self.hooks:
                hook.after_create_session(sess, None)

    def end(self, sess) -> None:
        with sess.graph.as_default():
            for hook in self.hooks:
                hook.end(sess)

    def run(self, sess, fetches):
        if not self.hooks:
            return sess.run(fetches)
        context = SessionRunContext(SessionRunArgs(fetches), sess)
        with sess.graph.as_default():  # hooks make and look up tensors in the model's graph
            asked = [hook.before_run(context) for hook in self.hooks]
        feeds = {}
        for args in asked:
            feeds.update((args.feed_dict or {}) if args is not None else {})
        extra = {i: args.fetches for i, args in enumerate(asked)
                 if args is not None and args.fetches is not None}
        results, extra_results = sess.run([fetches, extra], feed_dict=feeds or None)
        with sess.graph.as_default():
            for i, hook in enumerate(self.hooks):
                hook.after_run(context, SessionRunValues(extra_results.get(i), None, None))
        self.should_stop = self.should_stop or context.stop_requested
        return results


class CheckpointSaverListener:
    """Base class of Estimator.train's saving_listeners: called around each checkpoint save;
    after_save returning True stops training (TF1)."""

    def begin(self) -> None:
        """Called once before training."""

    def before_save(self, session, global_step_value: int) -> None:
        """Called before each save."""

    def after_save(self, session, global_step_value: int) -> Optional[bool]:
        """Called after each save; True asks training to stop."""
        return None

    def end(self, session, global_step_value: int) -> None:
        """Called once at the end of training."""
