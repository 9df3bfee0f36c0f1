"""TF1 device strings: parsing, merging and the canonical spelling of `tf.device` blocks.

    "/gpu:0"                 -> "/device:GPU:0"
    "/job:ps" then "/cpu:1"  -> "/job:ps/device:CPU:1"     (inner block's fields win)

graphflow records the device on each node (TF1's `op.device`) and places nothing by it: every
node runs on the session's backend.
"""

from __future__ import annotations

from typing import Optional, Tuple

# (job, replica, task, device_type, device_index); None where the string does not say.
Fields = Tuple[Optional[str], Optional[int], Optional[int], Optional[str], Optional[int]]

_SHORT_TYPES = ("CPU", "GPU")  # the types TF1 also takes without "device:" ("/gpu:0")


def parse(spec: str) -> Fields:
    """The fields of a device string; ValueError naming the part it does not understand."""
    job = replica = task = kind = index = None
    for part in (spec or "").split("/"):
        bits = part.split(":")
        if bits[0] == "":
            continue
        if len(bits) == 2 and bits[0] in ("job", "replica", "task"):
            if bits[0] == "job":
                job = bits[1]
            elif bits[0] == "replica":
                replica = _number(bits[1], spec)
            else:
                task = _number(bits[1], spec)
        elif _is_device_part(bits):
            if kind is not None:
                raise ValueError(f"device {spec!r} names more than one device type")
            kind = bits[0].upper() if len(bits) < 3 else bits[1]
            given = bits[-1] if len(bits) > 1 else "*"
            index = None if given == "*" else _number(given, spec)
        else:
            raise ValueError(f"device {spec!r}: unknown part {part!r}; write it as "
                             f"'/job:<name>/replica:<n>/task:<n>/device:<TYPE>:<n>' or '/gpu:0'")
    return job, replica, task, kind, index


def _is_device_part(bits) -> bool:
    """'gpu', 'gpu:0', 'CPU:*' (the short form) or 'device:GPU:0'."""
    if len(bits) in (1, 2):
        return bits[0].upper() in _SHORT_TYPES
    return len(bits) == 3 and bits[0] == "device"


def _number(text: str, spec: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise ValueError(f"device {spec!r}: {text!r} is not a number") from None


def to_string(fields: Fields) -> str:
    """The canonical spelling TF1's `op.device` shows ('' when nothing is set)."""
    job, replica, task, kind, index = fields
    out = ""
    if job is not None:
        out += f"/job:{job}"
    if replica is not None:
        out += f"/replica:{replica}"
    if task is not None:
        out += f"/task:{task}"
    if kind is not None:
        out += f"/device:{kind}:{'*' if index is None else index}"
    return out


def canonical(spec: Optional[str]) -> str:
    """`spec` in canonical spelling: '/gpu:0' -> '/device:GPU:0'; None -> ''."""
    return to_string(parse(spec or ""))


def merge(outer: str, inner: str) -> str:
    """`inner`'s fields over `outer`'s: what an op gets from nested `tf.device` strings."""
    # field by field, as TF1's DeviceSpec merge: "/gpu:1" then "/cpu" gives "/device:CPU:1"
    return to_string(tuple(i if i is not None else o for o, i in zip(parse(outer), parse(inner))))


def block_entry(device_name_or_function):
    """What a `device(...)` block records: a canonical string, a function, or None."""
    if isinstance(device_name_or_function, str):
        return canonical(device_name_or_function)
    if device_name_or_function is None or callable(device_name_or_function):
        return device_name_or_function
    raise TypeError(f"device: {device_name_or_function!r} is not a device string (such as "
                    f"'/gpu:0'), a function of an op returning one, or None")


def place(node, op, blocks: list) -> None:
    """Set `node.device` from the device blocks, innermost first, as TF1 does: a string fills
    the fields not set yet, a function (called with the op) replaces the device, None stops."""
    for entry in reversed(blocks):
        if entry is None:
            break
        if callable(entry):
            node.device = entry(op) or ""
        elif entry:
            node.device = merge(entry, node.device)


class NodeDef:
    """TF1's NodeDef as device functions read it (`op.node_def.op in PS_OPS`): the node's name,
    `op` (TF1's op type, e.g. "VariableV2"), `input` (input names, control inputs as '^name'),
    `device` and an empty `attr`. graphflow builds one on request; it keeps no NodeDefs."""

    __slots__ = ("name", "op", "input", "device", "attr")

    def __init__(self, name: str = "", op: str = "", input=(), device: str = "",  # noqa: A002
                 attr=None):
        self.name, self.op, self.input, self.device = name, op, list(input), device
        self.attr = dict(attr or {})

    def __repr__(self) -> str:
        return f"NodeDef(name={self.name!r}, op={self.op!r}, device={self.device!r})"


def node_def(node) -> NodeDef:
    """The NodeDef of a graph node."""
    inputs = [x.op_name for x in node.inputs] + [f"^{c.op_name}" for c in node.control_inputs]
    return NodeDef(node.op_name, node.opdef.tf_type or node.opdef.name, inputs, node.device)
