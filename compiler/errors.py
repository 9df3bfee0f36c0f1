"""Error classes. Each message names the node, its op and the user's file:line where it was made."""


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


class FetchError(GraphflowError, TypeError):
    """A fetch that is not a tensor or an op of the session's graph."""


class NoGradientError(GraphflowError, LookupError):
    """A gradient asked through an op that has none."""


class OpError(GraphflowError, RuntimeError):
    """A kernel failed while running; the message names the node and where it was created."""


class NumericsError(OpError):
    """A node produced inf or NaN while numerics were being checked (check_numerics)."""


class BackendError(GraphflowError, RuntimeError):
    """A backend cannot run this: it lacks an op, a library or a device (raised when compiling)."""
