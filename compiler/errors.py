"""Error classes. Each message names the node, its op and the user's file:line where it was made.

Each also subclasses the class TF1 raises in the same situation (ValueError for a fed value that
does not fit, tf.errors.InvalidArgumentError for a missing feed or a failing kernel), so TF1
programs' `except` clauses catch them.
"""

from . import tf_errors


class GraphflowError(Exception):
    """Base class of every error graphflow raises on purpose."""


class ShapeError(GraphflowError, ValueError):
    """Static shapes that cannot work together (matmul inner dims, broadcasting, reshape, axis)."""


class DTypeError(GraphflowError, TypeError):
    """Inputs whose dtypes an op cannot combine (e.g. float32 + float64 without a cast)."""


class GraphMismatchError(GraphflowError, ValueError):
    """Tensors from two different graphs used together."""


class FeedError(GraphflowError, ValueError):
    """A placeholder that is missing from feed_dict, or a fed value that does not fit it."""


# TF1 raises InvalidArgumentError at run time for an unfed placeholder (ValueError for the rest);
# the TF1 class goes first so its __init__ (not ValueError's) sets message/op/error_code.
class MissingFeedError(tf_errors.InvalidArgumentError, FeedError):
    """A placeholder the run needs that is missing from feed_dict."""


class FetchError(GraphflowError, TypeError):
    """A fetch that is not a tensor or an op of the session's graph."""


# TF1's Session.run raises TypeError for a feed_dict key it cannot take (a name naming no tensor
# included) and ValueError for a fetch name naming nothing in the graph.
class FeedKeyError(FeedError, TypeError):
    """A feed_dict key that is not a tensor of the session's graph, nor the name of one."""


class FetchNameError(FetchError, ValueError):
    """A fetch given by a name ('y:0', 'train') that names nothing in the session's graph."""


class NoGradientError(GraphflowError, LookupError):
    """A gradient asked through an op that has none."""


class OpError(GraphflowError, tf_errors.InvalidArgumentError, RuntimeError):
    """A kernel failed while running; the message names the node and where it was created.

    Built with the message alone (TF1's (node_def, op, message) works too); it is TF1's
    tf.errors.InvalidArgumentError, which TF1 raises when a kernel rejects its inputs."""


class NumericsError(OpError):
    """A node produced inf or NaN while numerics were being checked (check_numerics)."""


class EndOfSequenceError(GraphflowError, tf_errors.OutOfRangeError):
    """An input pipeline's iterator has no more elements (TF1's OutOfRangeError)."""


class UninitializedIteratorError(GraphflowError, tf_errors.FailedPreconditionError):
    """get_next of an iterator whose initializer has not run (TF1's FailedPreconditionError)."""


class BackendError(GraphflowError, RuntimeError):
    """A backend cannot run this: it lacks an op, a library or a device (raised when compiling)."""
