"""Summary ops (TF1's ScalarSummary, HistogramSummary, ImageSummary, text's TensorSummaryV2 and
MergeSummary): each value is a scalar string holding a serialized `Summary` protocol buffer,
built with the tensorboard package's protobuf classes (imported when a summary is first built).
The builders, with TF1's names, tags and collections, are graphflow.summary."""

from __future__ import annotations

import numpy as np

from .. import dtypes as _dt
from ..opdef import NOT_DIFFERENTIABLE, OpDef, register
from ..shapes import fmt
from . import summary_encode as _enc

INSTALL_HINT = ("summaries are TensorBoard protocol buffers: install the tensorboard package "
                "(pip install 'graphflow[tensorboard]')")


def protos():
    """tensorboard's summary_pb2 module, or an ImportError saying how to install it."""
    try:
        from tensorboard.compat.proto import summary_pb2
    except ImportError as exc:
        raise ImportError(INSTALL_HINT) from exc
    return summary_pb2


def _serialized(values) -> np.ndarray:
    """A Summary holding `values` (Summary.Value protos), as a scalar string value."""
    return np.array(protos().Summary(value=values).SerializeToString(), dtype=object)


def _numbers(x, what: str):
    if x.dtype is None or x.dtype.kind not in "iuf":
        raise TypeError(f"{what} must be a real number tensor, got "
                        f"{'none' if x.dtype is None else x.dtype.name} '{x.op_name}'")


# -- scalar ----------------------------------------------------------------------------------------
def _scalar_infer(inputs, tag):
    x = inputs[0]
    _numbers(x, "the summarized tensor")
    if x.shape is not None and x.shape != ():
        raise ValueError(f"tensor '{x.op_name}' has shape {fmt(x.shape)}, a scalar summary takes a "
                         f"scalar (reduce it first, e.g. gf.reduce_mean)")
    return (), _dt.string


def _scalar_kernel(x, tag):
    if np.shape(x) != ():
        raise ValueError(f"tags and values are not the same shape: [] != {list(np.shape(x))} "
                         f"(tag '{tag}'); a scalar summary takes a scalar")
    value = protos().Summary.Value(tag=tag, simple_value=float(x))
    return _serialized([value])


SCALAR_SUMMARY = register(OpDef("scalar_summary", tf_type="ScalarSummary", strings=True,
                                infer=_scalar_infer, kernel=_scalar_kernel,
                                grad=NOT_DIFFERENTIABLE))


# -- histogram -------------------------------------------------------------------------------------
def _histogram_infer(inputs, tag):
    _numbers(inputs[0], "the summarized values")
    return (), _dt.string


def _histogram_kernel(values, tag):
    x = np.asarray(values, dtype=np.float64)
    if not np.isfinite(x).all():
        raise ValueError(f"Nan in summary histogram for: {tag} (inf or NaN among the values)")
    histo = protos().HistogramProto(**_enc.histogram(x))
    return _serialized([protos().Summary.Value(tag=tag, histo=histo)])


HISTOGRAM_SUMMARY = register(OpDef("histogram_summary", tf_type="HistogramSummary", strings=True,
                                   infer=_histogram_infer,
                                   kernel=_histogram_kernel, grad=NOT_DIFFERENTIABLE))


# -- image -----------------------------------------------------------------------------------------
def _image_infer(inputs, tag, max_outputs):
    x = inputs[0]
    if x.dtype is None or not (x.dtype.kind == "f" or x.dtype == np.uint8):
        raise TypeError(f"images must be float or uint8, got {x.dtype} '{x.op_name}'")
    if x.shape is not None and (len(x.shape) != 4 or x.shape[3] not in (None, 1, 3, 4)):
        raise ValueError(f"images must be 4-D [batch, height, width, channels] with 1, 3 or 4 "
                         f"channels, got '{x.op_name}' of shape {fmt(x.shape)}")
    return (), _dt.string


def _image_kernel(images, tag, max_outputs):
    images = np.asarray(images)
    if images.ndim != 4 or images.shape[3] not in (1, 3, 4):
        raise ValueError(f"images must be 4-D with 1, 3 or 4 channels, got shape {images.shape} "
                         f"(tag '{tag}')")
    pb, values = protos(), []
    for i in range(min(images.shape[0], max_outputs)):
        pixels = _enc.to_uint8(images[i])
        image = pb.Summary.Image(height=pixels.shape[0], width=pixels.shape[1],
                                 colorspace=pixels.shape[2],
                                 encoded_image_string=_enc.encode_png(pixels))
        name = f"{tag}/image" if max_outputs == 1 else f"{tag}/image/{i}"
        values.append(pb.Summary.Value(tag=name, image=image))
    return _serialized(values)


IMAGE_SUMMARY = register(OpDef("image_summary", tf_type="ImageSummary", strings=True,
                               infer=_image_infer, kernel=_image_kernel,
                               grad=NOT_DIFFERENTIABLE))


# -- text ------------------------------------------------------------------------------------------
def _text_infer(inputs, tag):
    x = inputs[0]
    if not _dt.is_string(x.dtype):
        raise TypeError(f"a text summary takes a string tensor, got {x.dtype} '{x.op_name}'")
    return (), _dt.string


def _text_kernel(text, tag):
    from tensorboard.compat.proto import tensor_pb2, tensor_shape_pb2, types_pb2

    text = np.asarray(text, dtype=object)
    shape = tensor_shape_pb2.TensorShapeProto(
        dim=[tensor_shape_pb2.TensorShapeProto.Dim(size=n) for n in text.shape])
    tensor = tensor_pb2.TensorProto(dtype=types_pb2.DT_STRING, tensor_shape=shape,
                                    string_val=list(text.reshape(-1)))
    pb = protos()
    metadata = pb.SummaryMetadata(plugin_data=pb.SummaryMetadata.PluginData(plugin_name="text"))
    return _serialized([pb.Summary.Value(tag=tag, metadata=metadata, tensor=tensor)])


TEXT_SUMMARY = register(OpDef("text_summary", tf_type="TensorSummaryV2", strings=True,
                              infer=_text_infer, kernel=_text_kernel,
                              grad=NOT_DIFFERENTIABLE))


# -- merge -----------------------------------------------------------------------------------------
def _merge_infer(inputs):
    for x in inputs:
        if not _dt.is_string(x.dtype):
            raise TypeError(f"merges summaries (string tensors), got {x.dtype} '{x.op_name}'")
    return (), _dt.string


def _merge_kernel(*summaries):
    pb, values, tags = protos(), [], set()
    for serialized in summaries:
        for item in np.asarray(serialized, dtype=object).reshape(-1):
            summary = pb.Summary.FromString(item)
            for value in summary.value:
                if value.tag in tags:
                    raise ValueError(f"Duplicate tag {value.tag} found in summary inputs; give "
                                     f"each summary its own name")
                tags.add(value.tag)
                values.append(value)
    return _serialized(values)


MERGE_SUMMARY = register(OpDef("merge_summary", tf_type="MergeSummary", strings=True,
                               infer=_merge_infer, kernel=_merge_kernel,
                               grad=NOT_DIFFERENTIABLE))
