"""What convolutions and pooling share: TF1's arguments for a sliding window over the two spatial
axes of an NHWC tensor, and TF's output sizes and padding.

    window_arg([1, 2, 2, 1], "strides", "conv2d")   # (2, 2); also 2 or [2, 2]
    output_size(28, 5, 1, 1, "SAME")                 # 28
    same_padding(28, 5, 1, 1)                        # (2, 2)

SAME (TF's rule): out = ceil(in / stride); the total padding is
max((out - 1) * stride + (k - 1) * dilation + 1 - in, 0), of which pad_total // 2 goes before and
the rest (one more pixel where the total is odd) after. VALID: no padding,
out = ceil((in - (k - 1) * dilation) / stride).
"""

from __future__ import annotations

from typing import Optional, Sequence, Tuple, Union

PADDINGS = ("SAME", "VALID")
IntOrSeq = Union[int, Sequence[int]]


def window_arg(value: IntOrSeq, what: str, op: str, default: Optional[int] = None
               ) -> Tuple[int, int]:
    """A stride, dilation or window size as (height, width), from an int, a pair, or TF's 4-list
    in NHWC order (whose batch and channel entries must be 1). ValueError naming `op` and
    `what` otherwise. None gives (default, default) when a default is given."""
    if value is None and default is not None:
        return default, default
    if isinstance(value, bool):
        raise TypeError(f"{op}: {what} must be ints, got {value!r}")
    if isinstance(value, int):
        items = [value, value]
    else:
        try:
            items = [int(v) for v in value]
        except (TypeError, ValueError):
            raise TypeError(f"{op}: {what} must be an int or a list of ints, got "
                            f"{value!r}") from None
        if len(items) == 4:
            if items[0] != 1 or items[3] != 1:
                raise ValueError(f"{op}: {what} {list(value)} must be 1 on the batch and "
                                 f"channel axes (NHWC: [1, height, width, 1])")
            items = items[1:3]
        elif len(items) == 1:
            items = items * 2
        elif len(items) != 2:
            raise ValueError(f"{op}: {what} must have 1, 2 or 4 entries, got {list(value)}")
    if any(v < 1 for v in items):
        raise ValueError(f"{op}: {what} must be positive, got {value!r}")
    return items[0], items[1]


def padding_arg(padding, op: str) -> str:
    """"SAME" or "VALID" (either case, as TF accepts); ValueError naming `op` otherwise."""
    if isinstance(padding, str) and padding.upper() in PADDINGS:
        return padding.upper()
    raise ValueError(f"{op}: padding must be 'SAME' or 'VALID', got {padding!r}")


def data_format_arg(data_format, op: str) -> None:
    """NHWC is the layout; NCHW is refused as TF1 refuses it on the CPU."""
    if data_format in (None, "NHWC"):
        return
    if data_format == "NCHW":
        raise NotImplementedError(f"{op}: data_format='NCHW' is not supported: graphflow's "
                                  f"layout is NHWC (TF1 on the CPU supports NHWC only too); "
                                  f"transpose the input to [batch, height, width, channels]")
    raise ValueError(f"{op}: data_format must be 'NHWC', got {data_format!r}")


def effective_size(k: int, dilation: int) -> int:
    """The span of a window of k taps spaced `dilation` apart."""
    return (k - 1) * dilation + 1


def output_size(size: Optional[int], k: int, stride: int, dilation: int,
                padding: str) -> Optional[int]:
    """The output size along one axis (None where the input size is unknown). A VALID window
    larger than the input gives 0 here; the ops' shape rules refuse that, naming the sizes."""
    if size is None:
        return None
    if padding == "SAME":
        return -(-size // stride)
    return max(-(-(size - effective_size(k, dilation) + 1) // stride), 0)


def same_padding(size: int, k: int, stride: int, dilation: int) -> Tuple[int, int]:
    """(before, after) padding of SAME along one axis (module docstring)."""
    out = -(-size // stride)
    total = max((out - 1) * stride + effective_size(k, dilation) - size, 0)
    return total // 2, total - total // 2


def padding_amounts(size: int, k: int, stride: int, dilation: int,
                    padding: str) -> Tuple[int, int]:
    """(before, after) for either padding."""
    return same_padding(size, k, stride, dilation) if padding == "SAME" else (0, 0)
