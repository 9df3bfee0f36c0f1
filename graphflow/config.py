"""TF1's session option messages: ConfigProto, GPUOptions, GraphOptions, OptimizerOptions,
RunOptions and RunMetadata, as small Python classes that behave like the protocol buffers.

    config = gf.ConfigProto(allow_soft_placement=True, log_device_placement=False)
    config.gpu_options.allow_growth = True
    sess = gf.Session(config=config)

They take TF 1.15's field names and follow protobuf's rules: an unknown keyword argument raises
ValueError, an unknown attribute AttributeError, a value of the wrong type TypeError, unset fields
read as their zero value, and message fields exist from the start (set their fields; assigning
a whole message raises AttributeError, as in protobuf). graphflow keeps the values and runs the
same whatever they say: it has one device, the session's backend, and its own thread use.
"""

from __future__ import annotations

import numbers
from typing import Dict

__all__ = ["ConfigProto", "GPUOptions", "GraphOptions", "OptimizerOptions", "RunOptions",
           "RunMetadata"]


class _Repeated:
    """A repeated field of `kind` (a list)."""

    def __init__(self, kind):
        self.kind = kind


class _Map:
    """A map field from `key` to `value` (a dict)."""

    def __init__(self, key, value):
        self.key, self.value = key, value


class _Enum:
    """An enum field: an int, or one of `names` in a constructor (proto3 enums stay open)."""

    def __init__(self, **names: int):
        self.names = names


def _scalar(kind, value, where: str):
    """`value` checked and converted as protobuf would for a field of type `kind`."""
    if kind is bool and isinstance(value, (bool, numbers.Integral)):
        return bool(value)
    if kind is int and isinstance(value, numbers.Integral):
        return int(value)
    if kind is float and isinstance(value, numbers.Real):
        return float(value)
    if kind is str and isinstance(value, (str, bytes)):
        return value.decode("utf-8") if isinstance(value, bytes) else value
    if isinstance(kind, _Enum):
        if isinstance(value, str) and value in kind.names:
            return kind.names[value]
        if isinstance(value, numbers.Integral) and not isinstance(value, bool):
            return int(value)
    if isinstance(kind, _Enum):
        expected = f"one of {sorted(kind.names)} or an int"
    else:
        expected = kind.__name__
    raise TypeError(f"{where}: {value!r} has type {type(value).__name__}, expected {expected}")


class _Message:
    """A protocol-buffer-like record: FIELDS maps each field name to its type."""

    FIELDS: Dict[str, object] = {}

    def __init__(self, **kwargs):
        for name, kind in self.FIELDS.items():
            object.__setattr__(self, name, _zero(kind))
        for name, value in kwargs.items():
            if name not in self.FIELDS:
                raise ValueError(f'Protocol message {type(self).__name__} has no "{name}" field '
                                 f'(graphflow knows: {", ".join(self.FIELDS)})')
            if value is not None:  # protobuf treats None as "not set"
                self._fill(name, self.FIELDS[name], value)

    def _fill(self, name: str, kind, value) -> None:
        where = f"{type(self).__name__}.{name}"
        if isinstance(kind, type) and issubclass(kind, _Message):
            if not isinstance(value, (kind, dict)):
                raise TypeError(f"{where}: expected a {kind.__name__} or a dict of its fields, "
                                f"got {type(value).__name__}")
            getattr(self, name).CopyFrom(value if isinstance(value, kind) else kind(**value))
        elif isinstance(kind, _Repeated):
            getattr(self, name).extend(_check(kind.kind, v, where) for v in value)
        elif isinstance(kind, _Map):
            getattr(self, name).update({_scalar(kind.key, k, where): _scalar(kind.value, v, where)
                                        for k, v in dict(value).items()})
        else:
            object.__setattr__(self, name, _scalar(kind, value, where))

    def __setattr__(self, name: str, value) -> None:
        kind = self.FIELDS.get(name)
        if kind is None:
            raise AttributeError(f'Protocol message {type(self).__name__} has no "{name}" field '
                                 f'(graphflow knows: {", ".join(self.FIELDS)})')
        if not _is_scalar(kind):
            raise AttributeError(f'Assignment not allowed to field "{name}" of '
                                 f'{type(self).__name__}: set its fields or items instead, e.g. '
                                 f'config.gpu_options.allow_growth = True')
        object.__setattr__(self, name, _scalar(kind, value, f"{type(self).__name__}.{name}"))

    def CopyFrom(self, other: "_Message") -> None:  # noqa: N802 - protobuf's name
        """Make this message equal to `other` (a message of the same type)."""
        if type(other) is not type(self):
            raise TypeError(f"CopyFrom: expected {type(self).__name__}, got "
                            f"{type(other).__name__}")
        for name, kind in self.FIELDS.items():
            value = getattr(other, name)
            if _is_scalar(kind):
                object.__setattr__(self, name, value)
            elif isinstance(kind, _Repeated):
                getattr(self, name)[:] = list(value)
            elif isinstance(kind, _Map):
                getattr(self, name).clear()
                getattr(self, name).update(value)
            else:
                getattr(self, name).CopyFrom(value)

    def __eq__(self, other) -> bool:
        return type(other) is type(self) and all(
            getattr(self, n) == getattr(other, n) for n in self.FIELDS)

    __hash__ = None  # mutable, as protobuf messages

    def __repr__(self) -> str:
        set_fields = [f"{n}={getattr(self, n)!r}" for n, k in self.FIELDS.items()
                      if getattr(self, n) != _zero(k)]
        return f"{type(self).__name__}({', '.join(set_fields)})"


def _is_scalar(kind) -> bool:
    return kind in (bool, int, float, str) or isinstance(kind, _Enum)


def _zero(kind):
    """A field's value before it is set: protobuf's default."""
    if isinstance(kind, _Repeated):
        return []
    if isinstance(kind, _Map):
        return {}
    if isinstance(kind, _Enum):
        return 0
    return kind()


def _check(kind, value, where: str):
    if kind is object:  # a list graphflow never fills in (partition graphs, device stats)
        return value
    if isinstance(kind, type) and issubclass(kind, _Message):
        if not isinstance(value, kind):
            raise TypeError(f"{where}: expected {kind.__name__}, got {type(value).__name__}")
        return value
    return _scalar(kind, value, where)


class GPUOptions(_Message):
    """TF1's tf.GPUOptions (allow_growth, per_process_gpu_memory_fraction, ...); recorded only."""

    FIELDS = dict(per_process_gpu_memory_fraction=float, allow_growth=bool, allocator_type=str,
                  deferred_deletion_bytes=int, visible_device_list=str,
                  polling_active_delay_usecs=int, polling_inactive_delay_msecs=int,
                  force_gpu_compatible=bool)


class OptimizerOptions(_Message):
    """TF1's tf.OptimizerOptions; graphflow's own passes run whatever it says."""

    L1, L0 = 0, -1  # Level
    DEFAULT, OFF, ON_1, ON_2 = 0, -1, 1, 2  # GlobalJitLevel
    FIELDS = dict(do_common_subexpression_elimination=bool, do_constant_folding=bool,
                  max_folded_constant_in_bytes=int, do_function_inlining=bool,
                  opt_level=_Enum(L1=0, L0=-1),
                  global_jit_level=_Enum(DEFAULT=0, OFF=-1, ON_1=1, ON_2=2))


class GraphOptions(_Message):
    """TF1's tf.GraphOptions; recorded only."""

    FIELDS = dict(enable_recv_scheduling=bool, optimizer_options=OptimizerOptions,
                  build_cost_model=int, build_cost_model_after=int, infer_shapes=bool,
                  place_pruned_graph=bool, enable_bfloat16_sendrecv=bool, timeline_step=int)


class ConfigProto(_Message):
    """TF1's tf.ConfigProto, the session's configuration. graphflow records it (sess's
    `_config`) and runs the same whatever it says: one device, the session's backend."""

    FIELDS = dict(device_count=_Map(str, int), intra_op_parallelism_threads=int,
                  inter_op_parallelism_threads=int, use_per_session_threads=bool,
                  placement_period=int, device_filters=_Repeated(str), gpu_options=GPUOptions,
                  allow_soft_placement=bool, log_device_placement=bool,
                  graph_options=GraphOptions, operation_timeout_in_ms=int,
                  isolate_session_state=bool)


_TRACE_LEVELS = dict(NO_TRACE=0, SOFTWARE_TRACE=1, HARDWARE_TRACE=2, FULL_TRACE=3)


class RunOptions(_Message):
    """TF1's tf.RunOptions for sess.run(options=...); accepted, and no tracing is done."""

    NO_TRACE, SOFTWARE_TRACE, HARDWARE_TRACE, FULL_TRACE = 0, 1, 2, 3  # TraceLevel
    FIELDS = dict(trace_level=_Enum(**_TRACE_LEVELS), timeout_in_ms=int,
                  inter_op_thread_pool=int, output_partition_graphs=bool,
                  report_tensor_allocations_upon_oom=bool)


class StepStats(_Message):
    """Per-device timings of a run (TF1's StepStats); graphflow leaves dev_stats empty."""

    FIELDS = dict(dev_stats=_Repeated(object))


class CostGraphDef(_Message):
    """TF1's CostGraphDef; graphflow leaves it empty."""

    FIELDS = dict(node=_Repeated(object))


class RunMetadata(_Message):
    """TF1's tf.RunMetadata for sess.run(run_metadata=...); graphflow fills nothing in (no
    step_stats, no partition graphs): use `program.profile()` for per-op timings."""

    FIELDS = dict(step_stats=StepStats, cost_graph=CostGraphDef,
                  partition_graphs=_Repeated(object), function_graphs=_Repeated(object))
