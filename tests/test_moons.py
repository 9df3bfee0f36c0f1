"""examples/moons.py: micrograd's two-moons demo on gf.value_and_grad."""

import importlib.util
import pathlib
import re
import sys

import numpy as np
import pytest
import torch

EXAMPLE = pathlib.Path(__file__).resolve().parent.parent / "examples" / "moons.py"


@pytest.fixture(scope="module")
def moons():
    spec = importlib.util.spec_from_file_location("moons_example", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def has_matplotlib() -> bool:
    return importlib.util.find_spec("matplotlib") is not None


def final_accuracy(printed: str) -> float:
    match = re.search(r"final: loss ([0-9.]+), training accuracy (\d+)% after (\d+) steps",
                      printed)
    assert match, printed
    return int(match.group(2)) / 100


def test_make_moons_is_two_interleaving_half_circles(moons):
    x, y = moons.make_moons(100, noise=0.0, seed=3)
    assert x.shape == (100, 2) and sorted(set(y)) == [-1.0, 1.0] and (y > 0).sum() == 50
    upper, lower = x[y < 0], x[y > 0]
    np.testing.assert_allclose(np.hypot(upper[:, 0], upper[:, 1]), 1.0, atol=1e-12)
    np.testing.assert_allclose(np.hypot(lower[:, 0] - 1.0, lower[:, 1] - 0.5), 1.0, atol=1e-12)
    assert upper[:, 1].min() >= 0 and lower[:, 1].max() <= 0.5  # half circles facing each other
    noisy, _ = moons.make_moons(100, noise=0.1, seed=3)
    assert 0.08 < np.std(noisy - x) < 0.12  # the same seed: the same points, plus the noise
    assert not np.array_equal(moons.make_moons(100, seed=1)[0], moons.make_moons(100, seed=2)[0])


def test_loss_and_gradients_match_torch(moons):
    x, y = moons.make_moons(100, seed=0)
    params = moons.init_params(0)
    step = moons.gf.value_and_grad(moons.loss, argnums=tuple(range(6)), has_aux=True)
    (value, scores), grads = step(*params, x, y)
    tp = [torch.tensor(p, requires_grad=True) for p in params]
    h = torch.tensor(x)
    for k in (0, 2):
        h = torch.relu(h @ tp[k] + tp[k + 1])
    tscores = (h @ tp[4] + tp[5])[:, 0]
    tloss = torch.relu(1 - torch.tensor(y) * tscores).mean() + 1e-4 * sum((p * p).sum()
                                                                          for p in tp)
    tloss.backward()
    np.testing.assert_allclose(value, tloss.item(), rtol=1e-12)
    np.testing.assert_allclose(scores, tscores.detach().numpy(), rtol=1e-12, atol=1e-14)
    for g, p in zip(grads, tp):
        np.testing.assert_allclose(g, p.grad.numpy(), rtol=1e-10, atol=1e-14)


def test_learns_in_a_few_steps(moons, tmp_path, capsys):
    assert moons.main(["--steps", "20", "--seed", "0", "--out", str(tmp_path / "m.png")]) == 0
    printed = capsys.readouterr().out
    assert re.search(r"step\s+10\s+loss [0-9.]+\s+accuracy \d+%", printed), printed
    assert final_accuracy(printed) >= 0.85  # chance is 0.5


def test_reaches_full_accuracy_with_the_default_steps(moons):
    *_, history = moons.train(100, seed=0, log=lambda line: None)
    losses = [loss for _, loss, _ in history]
    assert history[-1][2] == 1.0 and losses[-1] < losses[0] / 10


@pytest.mark.skipif(not has_matplotlib(), reason="matplotlib is not installed: the PNG is not "
                                                 "written, so there is nothing to check")
def test_writes_the_decision_boundary_png(moons, tmp_path, capsys):
    out = tmp_path / "plots" / "moons.png"
    assert moons.main(["--steps", "5", "--out", str(out)]) == 0
    assert out.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    assert f"plot: {out}" in capsys.readouterr().out


def test_runs_without_matplotlib(moons, tmp_path, capsys, monkeypatch):
    for name in [m for m in sys.modules if m == "matplotlib" or m.startswith("matplotlib.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # makes `import matplotlib` fail
    out = tmp_path / "moons.png"
    assert moons.main(["--steps", "3", "--out", str(out)]) == 0
    assert "plot skipped: matplotlib is not installed" in capsys.readouterr().out
    assert not out.exists()
