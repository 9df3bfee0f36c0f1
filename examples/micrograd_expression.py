"""micrograd's README expression in graphflow, drawn with each node's value and gradient.

    python examples/micrograd_expression.py [--out out/micrograd.svg]
"""

from __future__ import annotations

import argparse
import os
import sys

import graphflow as gf


def expression():
    """The expression of micrograd's README; returns the inputs a, b and the output g."""
    a = gf.Variable(-4.0, dtype=gf.float64, name="a")
    b = gf.Variable(2.0, dtype=gf.float64, name="b")
    c = a + b
    d = a * b + b ** 3
    c = c + c + 1
    c = c + 1 + c + (-a)
    d = d + d * 2 + gf.relu(b + a)
    d = d + 3 * d + gf.relu(b - a)
    e = c - d
    f = e ** 2
    g = f / 2.0
    g = g + 10.0 / f
    return a, b, g


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", default=os.path.join("out", "micrograd.svg"))
    args = p.parse_args(argv)
    a, b, g = expression()
    nodes = [n for n in g.graph.nodes if n.dtype is not None and n.type != "constant"]
    grads = gf.gradients(g, nodes)
    sess = gf.Session()
    values = dict(zip(nodes, sess.run(nodes)))
    have = [n for n, x in zip(nodes, grads) if x is not None]
    grad_values = dict(zip(have, sess.run([x for x in grads if x is not None])))
    print(f"g = {values[g]:.4f}, dg/da = {grad_values[a]:.4f}, dg/db = {grad_values[b]:.4f}")
    dot = gf.viz.to_dot(g, values=values, grads=grad_values, title="micrograd's expression")
    try:
        print(gf.viz.save(dot, args.out))
    except gf.viz.GraphvizMissing as exc:
        print(exc, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
