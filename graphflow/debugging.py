"""gf.debugging: finding the first inf/NaN. See also gf.Session(check_numerics=True)."""

from compiler.ops.debug import check_numerics

__all__ = ["check_numerics"]
