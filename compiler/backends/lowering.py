"""Lowering tables: how one backend runs each op, one entry per op name.

An op's record (compiler/opdef.py) says what the op means; a backend's table says how that
backend runs it. An entry is one of:

    Template   source text for one statement's expression, formatted with the statement's
               input names ({0}, {1}, ... and {args}), its attributes by name ({axis}), {odtype}
               (the node's dtype as the backend spells it), {kernel} (the op's reference kernel,
               bound by name), {prepared} (a callable the backend's prepare(node) makes for this
               node when the code is generated, bound by name) and {out} (", out=<buffer>"
               where the memory plan gives the node a
               buffer, else ""). For ops that update input 0 in place (OpDef.updates), the text is
               the updating statement itself (`{0} -= {1}`), and must be: their reference kernels
               stage writes only the interpreter commits.
    a callable f(*input_values, **attrs) -> value, bound into the generated code by name; inputs
               read for their shape only come as ShapeOf.
    REFERENCE  the op's reference kernel (OpDef.kernel); a backend whose values are not numpy
               arrays runs it on host copies.

    NUMPY_TABLE = LoweringTable("numpy")
    NUMPY_TABLE.template("add", "np.add({0}, {1}{out})")

    @TORCH_TABLE.lowering("power")
    def _power(x, y): ...

A table names a missing op (and the node that needs it) when a program is compiled; the registry
test checks every op against every table. The numpy backend's table falls back to REFERENCE, so
an op registered outside compiler/ops (a user's own) runs there with nothing more to write.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Dict, Iterable, Optional, Union

from ..errors import BackendError


class _Reference:
    """Marker: run the op's reference kernel."""

    def __repr__(self) -> str:
        return "REFERENCE"


REFERENCE = _Reference()


@dataclass(frozen=True)
class Template:
    """Source text for a statement (see the module docstring)."""

    text: str


Rule = Union[Template, Callable, _Reference]


class LoweringTable:
    """One backend's rules, keyed by op name."""

    def __init__(self, backend: str, fallback: Optional[Rule] = None,
                 instead: str = "run this graph with backend='numpy'"):
        self.backend = backend
        self.rules: Dict[str, Rule] = {}
        self.fallback = fallback  # the rule of an op without an entry (None: it is an error)
        self.instead = instead  # what the error for a missing rule suggests

    def _add(self, op: str, rule: Rule) -> None:
        if op in self.rules:
            raise ValueError(f"the {self.backend} backend already has a rule for op {op!r}")
        self.rules[op] = rule

    def template(self, op: str, text: str) -> None:
        """Lower `op` to source text (module docstring)."""
        self._add(op, Template(text))

    def templates(self, pattern: str, functions: Dict[str, str]) -> None:
        """One template per op of a family: `pattern` with %s replaced by the op's function
        (templates("np.%s({0}{out})", {"abs": "absolute"}) gives np.absolute({0}{out}))."""
        for op, fn in functions.items():
            self.template(op, pattern % fn)

    def reference(self, *ops: str) -> None:
        """Run these ops' reference kernels."""
        for op in ops:
            self._add(op, REFERENCE)

    def lowering(self, op: str):
        """Decorator: lower `op` to a call of the decorated function."""
        def register(fn: Callable) -> Callable:
            self._add(op, fn)
            return fn
        return register

    def rule(self, node) -> Rule:
        """The rule for `node`'s op; BackendError naming the op and the node if there is none."""
        rule = self.rules.get(node.opdef.name, self.fallback)
        if rule is None:
            raise BackendError(f"the {self.backend} backend has no rule for op "
                               f"'{node.opdef.name}', used by {node.describe()}; {self.instead}")
        if node.opdef.updates and not isinstance(rule, Template):
            # The reference kernel stages its write for the interpreter to commit: in generated
            # code it would be lost.
            raise BackendError(f"the {self.backend} backend's rule for '{node.opdef.name}' "
                               f"(used by {node.describe()}) must be a Template: a statement "
                               f"updating the variable, input 0, in place")
        return rule

    def check(self, registry: Dict[str, object], without: Iterable[str] = ()) -> None:
        """ValueError unless the table has exactly one rule per op of `registry` that computes
        something (ops in `without` need none: constants, placeholders, variables, groups)."""
        without = set(without)
        unknown = sorted(set(self.rules) - set(registry))
        missing = sorted(set(registry) - set(self.rules) - without)
        if unknown or missing:
            raise ValueError(f"the {self.backend} backend's lowering table: rules for ops that "
                             f"do not exist {unknown}, ops without a rule {missing}")

    def __contains__(self, op: str) -> bool:
        return op in self.rules

    def __repr__(self) -> str:
        return f"<LoweringTable {self.backend}: {len(self.rules)} ops>"
