"""gf.errors against TF 1.15's tf.errors: classes, hierarchy, codes, constructors; graphflow's
own errors caught by the TF1 class TF1 raises in the same situation."""

import pickle

import numpy as np
import pytest

import graphflow as gf
from compiler import errors as compiler_errors

# TF1's error_codes.proto numbers.
CODES = {"OK": 0, "CANCELLED": 1, "UNKNOWN": 2, "INVALID_ARGUMENT": 3, "DEADLINE_EXCEEDED": 4,
         "NOT_FOUND": 5, "ALREADY_EXISTS": 6, "PERMISSION_DENIED": 7, "RESOURCE_EXHAUSTED": 8,
         "FAILED_PRECONDITION": 9, "ABORTED": 10, "OUT_OF_RANGE": 11, "UNIMPLEMENTED": 12,
         "INTERNAL": 13, "UNAVAILABLE": 14, "DATA_LOSS": 15, "UNAUTHENTICATED": 16}
CLASSES = {"CancelledError": 1, "UnknownError": 2, "InvalidArgumentError": 3,
           "DeadlineExceededError": 4, "NotFoundError": 5, "AlreadyExistsError": 6,
           "PermissionDeniedError": 7, "ResourceExhaustedError": 8,
           "FailedPreconditionError": 9, "AbortedError": 10, "OutOfRangeError": 11,
           "UnimplementedError": 12, "InternalError": 13, "UnavailableError": 14,
           "DataLossError": 15, "UnauthenticatedError": 16}


def test_codes_are_tf1s():
    for name, code in CODES.items():
        assert getattr(gf.errors, name) == code, name


@pytest.mark.parametrize("name", sorted(CLASSES))
def test_each_class_is_a_direct_opError_subclass_with_its_code(name):
    cls = getattr(gf.errors, name)
    assert cls.__bases__ == (gf.errors.OpError,) and issubclass(gf.errors.OpError, Exception)
    node = gf.constant(1.0, name="c")
    err = cls("node_def", node, "it broke")  # TF1's (node_def, op, message)
    assert (err.node_def, err.op, err.message, err.error_code) == (
        "node_def", node, "it broke", CLASSES[name])
    assert str(err) == "it broke"
    assert gf.errors.exception_type_from_error_code(CLASSES[name]) is cls
    assert gf.errors.error_code_from_exception_type(cls) == CLASSES[name]
    with pytest.raises(gf.errors.OpError, match="it broke"):
        raise cls(None, None, "it broke")


def test_base_class_takes_an_error_code_and_errors_pickle():
    err = gf.errors.OpError(None, None, "m", gf.errors.ABORTED)
    assert err.error_code == 10 and err.op is None
    back = pickle.loads(pickle.dumps(gf.errors.NotFoundError(None, None, "gone")))
    assert type(back) is gf.errors.NotFoundError and back.message == "gone"
    with pytest.raises(TypeError, match=r"\(node_def, op, message\)"):
        gf.errors.InvalidArgumentError(None, "half the arguments")
    with pytest.warns(UserWarning):
        assert isinstance(gf.errors.error_code_from_exception_type(ValueError),
                          gf.errors.UnknownError)


def test_a_failing_kernel_is_an_invalid_argument_error():
    params = gf.constant([1.0, 2.0, 3.0])
    i = gf.placeholder(gf.int32, shape=(1,), name="i")
    picked = gf.gather(params, i, name="picked")
    with gf.Session() as sess:
        with pytest.raises(gf.errors.InvalidArgumentError) as info:
            sess.run(picked, {i: [7]})
    err = info.value
    assert isinstance(err, gf.OpError) and isinstance(err, RuntimeError)  # graphflow's, as before
    assert err.error_code == gf.errors.INVALID_ARGUMENT and err.message == str(err)
    assert "picked" in str(err)


def test_check_numerics_failure_is_caught_by_opError():
    x = gf.placeholder(gf.float32, shape=(2,), name="x")
    checked = gf.check_numerics(gf.log(x), "log of x")
    with gf.Session() as sess:
        with pytest.raises(gf.errors.OpError, match="log of x"):
            sess.run(checked, {x: np.array([1.0, -1.0], np.float32)})


def test_a_feed_that_does_not_fit_stays_a_value_error_not_an_opError():
    x = gf.placeholder(gf.float32, shape=(2,), name="x")
    with gf.Session() as sess:
        with pytest.raises(ValueError, match="shape") as info:
            sess.run(x * 2.0, {x: np.zeros(3, np.float32)})
    assert isinstance(info.value, gf.errors.FeedError)
    assert not isinstance(info.value, gf.errors.OpError)  # TF1 raises a plain ValueError


def test_missing_feed_class_is_both_feedError_and_invalid_argument():
    err = gf.errors.MissingFeedError("you must feed a value for placeholder 'x'")
    assert isinstance(err, ValueError) and isinstance(err, gf.errors.FeedError)
    assert isinstance(err, gf.errors.InvalidArgumentError) and err.error_code == 3
    assert str(err) == err.message == "you must feed a value for placeholder 'x'"


def test_graphflows_classes_stay_in_gf_errors():
    for name in ("GraphflowError", "ShapeError", "DTypeError", "FeedError", "FetchError",
                 "NoGradientError", "NumericsError", "BackendError", "GraphMismatchError"):
        assert getattr(gf.errors, name) is getattr(compiler_errors, name)
    assert issubclass(gf.errors.NumericsError, gf.errors.InvalidArgumentError)


def test_missing_feed_is_invalid_argument_and_value_error():
    """TF1 raises InvalidArgumentError ("You must feed a value for placeholder tensor") at run
    time; graphflow's FeedError is a ValueError: the error is both."""
    with gf.Graph().as_default():
        x = gf.placeholder(gf.float32, (2,), name="x")
        y = x * 2.0
        sess = gf.Session()
        with pytest.raises(gf.errors.InvalidArgumentError, match="placeholder 'x'"):
            sess.run(y)
        with pytest.raises(ValueError, match="placeholder 'x'"):
            sess.run(y)
