"""`gf.errors`: TensorFlow 1's `tf.errors` (classes, codes, look-ups) and graphflow's own errors.

`except tf.errors.InvalidArgumentError` catches a missing feed and a kernel that fails at run
time, `except tf.errors.OpError` catches every run-time error; graphflow's specific classes
(ShapeError, FeedError, ...) are here too. Note `gf.errors.OpError` is TF1's base class, while
`gf.OpError` is graphflow's failing-kernel error (a subclass of it), as before.
"""

from compiler.errors import (  # noqa: F401 - graphflow's own classes, as gf.errors had them
    BackendError,
    DTypeError,
    FeedError,
    FetchError,
    GraphflowError,
    GraphMismatchError,
    MissingFeedError,
    NoGradientError,
    NumericsError,
    ShapeError,
)
from compiler.tf_errors import (  # noqa: F401 - TF1's tf.errors names
    ABORTED,
    ALREADY_EXISTS,
    CANCELLED,
    DATA_LOSS,
    DEADLINE_EXCEEDED,
    FAILED_PRECONDITION,
    INTERNAL,
    INVALID_ARGUMENT,
    NOT_FOUND,
    OK,
    OUT_OF_RANGE,
    PERMISSION_DENIED,
    RESOURCE_EXHAUSTED,
    UNAUTHENTICATED,
    UNAVAILABLE,
    UNIMPLEMENTED,
    UNKNOWN,
    AbortedError,
    AlreadyExistsError,
    CancelledError,
    DataLossError,
    DeadlineExceededError,
    FailedPreconditionError,
    InternalError,
    InvalidArgumentError,
    NotFoundError,
    OpError,
    OutOfRangeError,
    PermissionDeniedError,
    ResourceExhaustedError,
    UnauthenticatedError,
    UnavailableError,
    UnimplementedError,
    UnknownError,
    error_code_from_exception_type,
    exception_type_from_error_code,
)
