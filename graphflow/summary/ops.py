"""TF1's summary ops (tf.summary.scalar, histogram, image, text, merge, merge_all): graph ops whose
value is a scalar string holding a serialized `Summary` protocol buffer, with TF1's tags (the
name under the enclosing name scopes, `family/` in front) and collections."""

from __future__ import annotations

import re
from typing import Optional, Sequence

from compiler import dtypes as _dt
from compiler.graph import Node
from compiler.ops import summary as _ops
from compiler.ops.core import apply, convert_to_tensor

from ..variables import GraphKeys, get_collection

__all__ = ["scalar", "histogram", "image", "text", "merge", "merge_all"]

_INVALID_TAG = re.compile(r"[^-/\w\.]")


def _clean_tag(name: Optional[str]) -> Optional[str]:
    """TF1's clean_tag: characters TensorBoard tags cannot hold become '_', no leading '/'."""
    return None if name is None else _INVALID_TAG.sub("_", name).lstrip("/")


def _collect(node: Node, collections, default: Sequence[str]) -> None:
    for key in default if collections is None else collections:
        node.graph.add_to_collection(key, node)


def _summary(opdef, name: str, tensor, family, collections, **attrs) -> Node:
    """A summary node named as TF1's summary_scope names it; its tag is that name (under the
    name scopes, made unique), with `family/` in front when a family is given."""
    _ops.protos()  # a missing tensorboard is an error now, not at the first run
    name, family = _clean_tag(name), _clean_tag(family)
    scoped = name if family is None else f"{family}/{name}"
    node = apply(opdef, [convert_to_tensor(tensor)], scoped, tag="", **attrs)
    # The tag is the unique name the node just got (only known once it is made).
    node.attrs["tag"] = node.op_name if family is None else f"{family}/{node.op_name}"
    _collect(node, collections, [GraphKeys.SUMMARIES])
    return node


def scalar(name: str, tensor, collections=None, family=None) -> Node:
    """A summary of one real number (a scalar tensor), TF1's tf.summary.scalar."""
    return _summary(_ops.SCALAR_SUMMARY, name, tensor, family, collections)


def histogram(name: str, values, collections=None, family=None) -> Node:
    """A histogram of `values` with TF1's default buckets, TF1's tf.summary.histogram."""
    return _summary(_ops.HISTOGRAM_SUMMARY, name, values, family, collections)


def image(name: str, tensor, max_outputs: int = 3, collections=None, family=None) -> Node:
    """Up to max_outputs images of a [batch, height, width, channels] tensor as PNG (floats
    normalized as TF1: scaled so the largest is 255, or centred on 128 with negative values),
    tagged 'name/image' (max_outputs 1) or 'name/image/0', 'name/image/1', ..."""
    return _summary(_ops.IMAGE_SUMMARY, name, tensor, family, collections,
                    max_outputs=int(max_outputs))


def text(name: str, tensor, collections=None) -> Node:
    """A summary of a string tensor for TensorBoard's Text tab, TF1's tf.summary.text."""
    tensor = convert_to_tensor(tensor)
    if not _dt.is_string(tensor.dtype):
        raise ValueError(f"Expected tensor {tensor.op_name} to have dtype string, got "
                         f"{tensor.dtype}; use gf.as_string")
    return _summary(_ops.TEXT_SUMMARY, name, tensor, None, collections)


def merge(inputs, collections=None, name: Optional[str] = None) -> Node:
    """One summary holding the values of all `inputs` (summary tensors); a tag twice is an
    error when it runs. Added to no collection unless `collections` says so, as TF1."""
    nodes = [convert_to_tensor(x) for x in inputs]
    if not nodes:
        raise ValueError("merge: inputs is empty; pass summary tensors (or use merge_all, which "
                         "returns None when there are none)")
    node = apply(_ops.MERGE_SUMMARY, nodes, name or "Merge")
    _collect(node, collections, [])
    return node


def merge_all(key: str = GraphKeys.SUMMARIES, scope=None, name: Optional[str] = None):
    """merge() of every summary in collection `key` of the default graph (whose names match
    `scope`), or None when there is none, as TF1."""
    summaries = get_collection(key, scope=scope)
    if not summaries:
        return None
    return merge(summaries, name=name)
