"""The README's quickstart runs as printed."""

import pathlib
import re

import numpy as np

README = pathlib.Path(__file__).resolve().parent.parent / "README.md"


def test_quickstart_runs_and_learns(capsys):
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)
    assert blocks, "README has no python block"
    scope = {}
    exec(compile(blocks[0], str(README), "exec"), scope)
    out = capsys.readouterr().out
    loss = float(re.search(r"loss after 50 steps: ([0-9.]+)", out).group(1))
    assert loss < 0.05
    # eye(3) @ w + b = 1 is solved exactly when w_i + b = 1 for every i.
    params = scope["params"]
    np.testing.assert_allclose(params["w"][:, 0] + params["b"], 1.0, atol=1e-3)


def test_examples_quickstart_is_the_readme_code():
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)
    example = README.parent / "examples" / "quickstart.py"
    assert blocks[0] in example.read_text()
