"""TensorFlow 1's error classes and codes (`tf.errors`), so TF1 programs' `except` clauses work.

Graphflow's own errors (compiler/errors.py) subclass the class TF1 raises in the same situation:
a kernel that fails at run time is an `InvalidArgumentError`, as in TF1. Each class takes TF1's
arguments `(node_def, op, message)` and also graphflow's single `(message)`; `str(e)` is the
message either way (TF1 appends the op's creation stack; graphflow messages already name the
node and its file:line).
"""

import warnings

OK = 0
CANCELLED = 1
UNKNOWN = 2
INVALID_ARGUMENT = 3
DEADLINE_EXCEEDED = 4
NOT_FOUND = 5
ALREADY_EXISTS = 6
PERMISSION_DENIED = 7
RESOURCE_EXHAUSTED = 8
FAILED_PRECONDITION = 9
ABORTED = 10
OUT_OF_RANGE = 11
UNIMPLEMENTED = 12
INTERNAL = 13
UNAVAILABLE = 14
DATA_LOSS = 15
UNAUTHENTICATED = 16

# Marks "argument not given", so OpError("message") can be told from OpError(None, None, msg).
_ABSENT = object()


class OpError(Exception):
    """Base of TF1's run-time errors: `node_def`, `op`, `message` and the integer `error_code`.

    Built as TF1 does, `OpError(node_def, op, message, error_code)`, or with the message alone.
    """

    def __init__(self, node_def, op=_ABSENT, message=_ABSENT, error_code=_ABSENT):
        if op is _ABSENT and message is _ABSENT:  # graphflow's form: the message alone
            node_def, op, message = None, None, node_def
        if op is _ABSENT or message is _ABSENT:
            raise TypeError(f"{type(self).__name__} takes (node_def, op, message) or (message)")
        # args holds the message only, so str(e) is the message and pickling rebuilds the error
        super().__init__(message)
        self._node_def = node_def
        self._op = op
        self._message = message
        self._error_code = UNKNOWN if error_code is _ABSENT else error_code

    @property
    def message(self) -> str:
        """The error message that describes the error."""
        return self.__dict__.get("_message", str(self))

    @property
    def op(self):
        """The operation (graphflow: the node) that failed, if known; else None."""
        return self.__dict__.get("_op")

    @property
    def node_def(self):
        """TF1's NodeDef of the failed op; graphflow has no NodeDefs, so None unless given."""
        return self.__dict__.get("_node_def")

    @property
    def error_code(self) -> int:
        """The integer error code (one of OK, CANCELLED, ... INVALID_ARGUMENT, ...)."""
        return self.__dict__.get("_error_code", _EXCEPTION_CLASS_TO_CODE.get(type(self), UNKNOWN))


class CancelledError(OpError):
    """An operation or step was cancelled."""

    def __init__(self, node_def, op=_ABSENT, message=_ABSENT):
        super().__init__(node_def, op, message, CANCELLED)


class UnknownError(OpError):
    """An error of no known kind."""

    def __init__(self, node_def, op=_ABSENT, message=_ABSENT, error_code=UNKNOWN):
        super().__init__(node_def, op, message, error_code)


class InvalidArgumentError(OpError):
    """An op got an invalid argument (a bad value or shape, a missing feed, a failing kernel)."""

    def __init__(self, node_def, op=_ABSENT, message=_ABSENT):
        super().__init__(node_def, op, message, INVALID_ARGUMENT)


class DeadlineExceededError(OpError):
    """A deadline expired before an operation could complete."""

    def __init__(self, node_def, op=_ABSENT, message=_ABSENT):
        super().__init__(node_def, op, message, DEADLINE_EXCEEDED)


class NotFoundError(OpError):
    """A requested entity (e.g. a file) was not found."""

    def __init__(self, node_def, op=_ABSENT, message=_ABSENT):
        super().__init__(node_def, op, message, NOT_FOUND)


class AlreadyExistsError(OpError):
    """An entity that was to be created already exists."""

    def __init__(self, node_def, op=_ABSENT, message=_ABSENT):
        super().__init__(node_def, op, message, ALREADY_EXISTS)


class PermissionDeniedError(OpError):
    """The caller may not run an operation (e.g. read a file)."""

    def __init__(self, node_def, op=_ABSENT, message=_ABSENT):
        super().__init__(node_def, op, message, PERMISSION_DENIED)


class UnauthenticatedError(OpError):
    """The request has no valid authentication credentials."""

    def __init__(self, node_def, op=_ABSENT, message=_ABSENT):
        super().__init__(node_def, op, message, UNAUTHENTICATED)


class ResourceExhaustedError(OpError):
    """Some resource (memory, quota, disk) has been exhausted."""

    def __init__(self, node_def, op=_ABSENT, message=_ABSENT):
        super().__init__(node_def, op, message, RESOURCE_EXHAUSTED)


class FailedPreconditionError(OpError):
    """The system is not in a state to run the operation (e.g. an uninitialized variable)."""

    def __init__(self, node_def, op=_ABSENT, message=_ABSENT):
        super().__init__(node_def, op, message, FAILED_PRECONDITION)


class AbortedError(OpError):
    """The operation was aborted, typically by a concurrent action."""

    def __init__(self, node_def, op=_ABSENT, message=_ABSENT):
        super().__init__(node_def, op, message, ABORTED)


class OutOfRangeError(OpError):
    """An operation iterated past the valid input range (end of input)."""

    def __init__(self, node_def, op=_ABSENT, message=_ABSENT):
        super().__init__(node_def, op, message, OUT_OF_RANGE)


class UnimplementedError(OpError):
    """An operation is not implemented for otherwise valid arguments."""

    def __init__(self, node_def, op=_ABSENT, message=_ABSENT):
        super().__init__(node_def, op, message, UNIMPLEMENTED)


class InternalError(OpError):
    """An invariant the runtime expects was broken."""

    def __init__(self, node_def, op=_ABSENT, message=_ABSENT):
        super().__init__(node_def, op, message, INTERNAL)


class UnavailableError(OpError):
    """The runtime is currently unavailable."""

    def __init__(self, node_def, op=_ABSENT, message=_ABSENT):
        super().__init__(node_def, op, message, UNAVAILABLE)


class DataLossError(OpError):
    """Unrecoverable data loss or corruption (e.g. a truncated file)."""

    def __init__(self, node_def, op=_ABSENT, message=_ABSENT):
        super().__init__(node_def, op, message, DATA_LOSS)


_CODE_TO_EXCEPTION_CLASS = {
    CANCELLED: CancelledError, UNKNOWN: UnknownError, INVALID_ARGUMENT: InvalidArgumentError,
    DEADLINE_EXCEEDED: DeadlineExceededError, NOT_FOUND: NotFoundError,
    ALREADY_EXISTS: AlreadyExistsError, PERMISSION_DENIED: PermissionDeniedError,
    UNAUTHENTICATED: UnauthenticatedError, RESOURCE_EXHAUSTED: ResourceExhaustedError,
    FAILED_PRECONDITION: FailedPreconditionError, ABORTED: AbortedError,
    OUT_OF_RANGE: OutOfRangeError, UNIMPLEMENTED: UnimplementedError, INTERNAL: InternalError,
    UNAVAILABLE: UnavailableError, DATA_LOSS: DataLossError,
}
_EXCEPTION_CLASS_TO_CODE = {cls: code for code, cls in _CODE_TO_EXCEPTION_CLASS.items()}


def exception_type_from_error_code(error_code: int) -> type:
    """The error class of an integer error code (KeyError for OK or an unknown code, as TF1)."""
    return _CODE_TO_EXCEPTION_CLASS[error_code]


def error_code_from_exception_type(cls: type):
    """The integer error code of one of the error classes above (a subclass is not looked up).

    As TF1, an unknown class warns and gives an UnknownError instance instead of a code."""
    try:
        return _EXCEPTION_CLASS_TO_CODE[cls]
    except KeyError:
        warnings.warn("Unknown class exception", stacklevel=2)
        return UnknownError(None, None, "Unknown class exception", None)
