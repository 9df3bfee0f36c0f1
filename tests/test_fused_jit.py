"""The numba kernel generator for fused elementwise chains (compiler/backends/numpy/fused_jit.py):
every supported op against run_steps, bit for bit (within 2 ulp for exp, log and the like), on
NaN, inf and signed zeros, for full, row and scalar leaves; chains; out= aliasing an input; the
fallback without numba; the kernel cache on disk."""

import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

import graphflow as gf
from compiler.backends.numpy import fused_jit as fj
from compiler.opdef import REGISTRY
from compiler.ops.fused import Step, fused, run_steps

ROOT = Path(__file__).resolve().parent.parent
F32, F64 = np.dtype(np.float32), np.dtype(np.float64)
SPECIAL = [0.0, -0.0, 1.0, -1.0, 0.5, -2.5, np.inf, -np.inf, np.nan, 1e-30, 30.0, -30.0, 100.0,
           -100.0, 3.0, 7.25]
BINARY = ["add", "subtract", "multiply", "divide", "maximum", "minimum", "equal", "not_equal",
          "less", "less_equal", "greater", "greater_equal"]
UNARY = ["negative", "square", "sqrt", "rsqrt", "abs", "sign", "relu"]
TRANSCENDENTAL = ["exp", "log", "log1p", "tanh", "sin", "cos", "sigmoid", "softplus"]


@pytest.fixture(scope="module")
def jit(request, tmp_path_factory):
    """numba, with kernels cached in pytest's cache folder (a second `make test` loads them)."""
    pytest.importorskip("numba")
    cache = getattr(request.config, "cache", None)
    folder = cache.mkdir("graphflow_kernels") if cache else tmp_path_factory.mktemp("kernels")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("GRAPHFLOW_CACHE_DIR", str(folder))
        yield folder


def floats(dtype, seed=0):
    """(x, row): x is (24, 16), its first 16 rows each one special value, the row holds every
    special value, so each pair of specials meets in both argument positions."""
    rng = np.random.default_rng(seed)
    x = rng.normal(0, 3, (24, 16))
    x[:16] = np.array(SPECIAL)[:, None]
    return x.astype(dtype), rng.permutation(np.array(SPECIAL)).astype(dtype)


def assert_same(got, want, ulp=0):
    """Equal dtype, shape, NaN positions; elsewhere bit-identical (signed zeros included) or
    within `ulp` units in the last place."""
    assert got.dtype == want.dtype and got.shape == want.shape
    if want.dtype.kind != "f":
        np.testing.assert_array_equal(got, want)
        return
    nan = np.isnan(want)
    np.testing.assert_array_equal(np.isnan(got), nan)
    got, want = got[~nan], want[~nan]
    if ulp:
        np.testing.assert_array_max_ulp(got, want, maxulp=ulp)
    else:
        np.testing.assert_array_equal(got, want)
        np.testing.assert_array_equal(np.signbit(got), np.signbit(want))


def check(steps, *args, ulp=0):
    steps = tuple(steps)
    with np.errstate(all="ignore"):
        want = run_steps(steps, list(args))
        got = fj.run(steps, *args)
    assert_same(got, want, ulp)
    return got


def test_supported_ops_are_registered():
    assert fj.SUPPORTED <= set(REGISTRY)
    assert fj.SUPPORTED == set(BINARY + UNARY + TRANSCENDENTAL) | {
        "where", "clip_by_value", "cast", "logical_and", "logical_or", "logical_not"}


# -- each op, float32 and float64 ------------------------------------------------------------------
@pytest.mark.parametrize("dtype", [F32, F64], ids=["f32", "f64"])
@pytest.mark.parametrize("op", BINARY)
def test_binary_full_and_row(jit, op, dtype):
    check([Step(op, (0, 1))], *floats(dtype))


@pytest.mark.parametrize("dtype", [F32, F64], ids=["f32", "f64"])
@pytest.mark.parametrize("op", UNARY + TRANSCENDENTAL)
def test_unary(jit, op, dtype):
    check([Step(op, (0,))], floats(dtype)[0], ulp=2 if op in TRANSCENDENTAL else 0)


@pytest.mark.parametrize("dtype", [F32, F64], ids=["f32", "f64"])
def test_where(jit, dtype):
    x, row = floats(dtype)
    cond = np.random.default_rng(1).random(x.shape) < 0.5
    check([Step("where", (0, 1, 2))], cond, x, row)


@pytest.mark.parametrize("bounds", ["scalar", "row", "mixed"])
def test_clip(jit, bounds):
    # numpy keeps x on ties (-0.0 against 0.0) with constant bounds, and takes the bound with
    # array bounds: both loops are matched, NaN bounds included.
    x, row = floats(F32)
    lo = {"scalar": np.float32(-0.0), "row": row, "mixed": np.array(-0.0, F32)}[bounds]
    hi = {"scalar": np.array(0.0, F32), "row": -row, "mixed": row[::-1].copy()}[bounds]
    check([Step("clip_by_value", (0, 1, 2))], x, lo, hi)
    check([Step("clip_by_value", (0, 1, 2))], x, np.float32(3.0), np.float32(np.nan))


@pytest.mark.parametrize("src, dst", [(F32, F64), (F64, F32), (F32, np.dtype(np.int32)),
                                      (F64, np.dtype(bool)), (np.dtype(np.int64), F32),
                                      (np.dtype(bool), F32), (np.dtype(np.int32), np.uint8)])
def test_cast(jit, src, dst):
    x = floats(F64)[0]
    x = np.where(np.isfinite(x), x, 5.5)  # NaN and inf to integers are undefined in numpy too
    x = x.astype(src) if src.kind != "b" else x > 0
    check([Step("cast", (0,), (("dtype", np.dtype(dst)),))], x)


def test_logical(jit):
    rng = np.random.default_rng(2)
    a, b = rng.random((24, 16)) < 0.5, rng.random(16) < 0.5
    for op in ("logical_and", "logical_or"):
        check([Step(op, (0, 1))], a, b)
    check([Step("logical_not", (0,))], a)


@pytest.mark.parametrize("dtype", [np.int8, np.uint8, np.int32, np.int64])
def test_integer_chain_wraps_as_numpy(jit, dtype):
    # %3 = a + row; %4 = %3 * a; %5 = %4 - s; ... summed so that every step shows in the result
    rng = np.random.default_rng(3)
    info = np.iinfo(dtype)
    a = rng.integers(info.min, info.max, (24, 16), endpoint=True, dtype=dtype)
    a[0] = info.min
    row = rng.integers(info.min, info.max, 16, endpoint=True, dtype=dtype)
    s = np.array(info.max, dtype)
    steps = [Step("add", (0, 1)), Step("multiply", (3, 0)), Step("subtract", (4, 2)),
             Step("negative", (5,)), Step("square", (6,)), Step("abs", (0,)), Step("sign", (5,)),
             Step("maximum", (3, 9)), Step("minimum", (10, 1)), Step("clip_by_value", (7, 2, 1)),
             Step("less", (3, 0)), Step("where", (13, 12, 8)), Step("equal", (14, 2)),
             Step("cast", (15,), (("dtype", np.dtype(dtype)),)), Step("add", (14, 16)),
             Step("add", (17, 11))]
    check(steps, a, row, s)


def test_bool_chain(jit):
    rng = np.random.default_rng(6)
    a, b = rng.random((24, 16)) < 0.5, rng.random(16) < 0.5
    steps = [Step("add", (0, 1)), Step("multiply", (3, 0)), Step("maximum", (4, 1)),
             Step("minimum", (5, 0)), Step("abs", (6,)), Step("clip_by_value", (7, 2, 1)),
             Step("where", (8, 3, 2)), Step("equal", (9, 0)),
             Step("cast", (10,), (("dtype", np.dtype(np.int16)),)),
             Step("cast", (11,), (("dtype", np.dtype(bool)),)), Step("logical_not", (12,))]
    check(steps, a, b, np.array(True))


def test_mixed_dtypes_promote_as_numpy(jit):
    x, row = floats(F32)
    got = check([Step("add", (0, 1)), Step("divide", (2, 3))], x, row.astype(F64),
                np.array(3, np.int32), np.arange(16, dtype=np.int32))
    assert got.dtype == F64
    check([Step("divide", (0, 1))], np.arange(24 * 16, dtype=np.int32).reshape(24, 16) - 50,
          np.arange(16, dtype=np.int32) - 8)  # integers divide in float64: 0/0, x/0


# -- chains, leaf kinds, out= ----------------------------------------------------------------------
ADAM = [Step("sqrt", (2,)), Step("add", (5, 4)), Step("multiply", (3, 1)), Step("divide", (7, 6)),
        Step("subtract", (0, 8))]  # w - lr * m / (sqrt(v) + eps)


@pytest.mark.parametrize("dtype", [F32, F64], ids=["f32", "f64"])
def test_adam_update_in_place(jit, dtype):
    rng = np.random.default_rng(4)
    w, m = rng.normal(size=(2, 300, 7)).astype(dtype)
    v = rng.random((300, 7)).astype(dtype)
    lr, eps = np.array(1e-3, dtype), np.array(1e-8, dtype)
    want = run_steps(ADAM, [w, m, v, lr, eps])
    assert fj.run(tuple(ADAM), w, m, v, lr, eps, out=w) is w  # out is the input w itself
    assert_same(w, want)


def test_chains(jit):
    x, row = floats(F32)
    check([Step("add", (0, 1)), Step("sigmoid", (2,))], x, row, ulp=2)
    relu_grad = [Step("greater", (1, 2)), Step("cast", (3,), (("dtype", F32),)),
                 Step("multiply", (0, 4))]  # g * cast(x > 0)
    check(relu_grad, x[::-1].copy(), x, np.array(0, F32))


def test_scalar_leaves_are_read_once_and_rows_without_modulo(jit):
    x, row = floats(F32)
    steps = (Step("multiply", (0, 2)), Step("add", (3, 1)))
    text = fj.source(steps, x, row, np.array([[2.0]], F32))
    loop = text.index("for r in range(n_rows):")
    assert text.index("v2 = a2") < loop and "v1 = a1[j]" in text and "%" not in text[loop:]
    check(steps, x, row, np.array([[2.0]], F32))
    check(steps, x[None], row[None], np.float32(2.0))  # leading 1s: still full and row


def test_golden_source():
    x, row = floats(F32)
    text = fj.source((Step("add", (0, 1)), Step("relu", (2,))), x, row)
    assert text.endswith(textwrap.dedent("""\
        def kernel(out, n_rows, row_len, a0, a1):
            for r in range(n_rows):
                base = r * row_len
                for j in range(row_len):
                    v0 = a0[base + j]
                    v1 = a1[j]
                    v2 = np.float32(v0 + v1)
                    v3_1 = np.float32(0)
                    v3 = np.float32(v2 if (v2 > v3_1) | (v2 != v2) else v3_1)
                    out[base + j] = v3
        """))
    assert '@njit(error_model="numpy", cache=True)' in text and "fastmath" not in text


def test_non_contiguous_inputs_and_out(jit):
    x, row = floats(F32)
    xt = np.ascontiguousarray(x.T).T  # a transposed view: full, not C-contiguous
    assert not xt.flags.c_contiguous
    check([Step("add", (0, 1))], xt, row)
    out = np.zeros((16, 24), F32).T
    with np.errstate(invalid="ignore"):
        assert fj.run((Step("add", (0, 1)),), x, row, out=out) is out
        assert_same(out, x + row)


def test_out_overlapping_an_input_by_a_shift(jit):
    x, row = floats(F32)
    buf = np.concatenate([x, x[:1]])
    with np.errstate(invalid="ignore"):
        want = buf[:-1] + row
        fj.run((Step("add", (0, 1)),), buf[:-1], row, out=buf[1:])
    assert_same(buf[1:], want)


def test_general_broadcasting_falls_back(jit):
    x, row = floats(F32)
    col = x[:, :1].copy()  # (24, 1) against (16,): neither full, row nor scalar
    assert fj.source((Step("add", (0, 1)),), col, row) is None
    check([Step("add", (0, 1))], col, row)
    out = np.empty((24, 16), F32)
    with np.errstate(invalid="ignore"):
        fj.run((Step("add", (0, 1)),), col, row, out=out)
        assert_same(out, col + row)
    check([Step("multiply", (0, 1))], x, 2.0)  # a Python number promotes as numpy's weak scalar


def test_generated_programs_call_a_loop_prepared_for_the_node(jit):
    x = gf.placeholder(gf.float32, (24, 16), name="x")
    b = gf.constant(floats(F32)[1], name="b")
    steps = (Step("add", (0, 1), (), "float32"), Step("relu", (2,), (), "float32"))
    y = fused([x, b], steps, (24, 16), F32, name="y")
    prog = gf.Session().make_callable(y, [x])
    assert re.search(r"y = _k_fused_\w*\(x, _\w+\)", prog.source)
    assert any(key[0] == steps for key in fj._KERNELS)  # compiled with the code, before a run
    x_value = floats(F32)[0]
    with np.errstate(invalid="ignore"):
        assert_same(prog(x_value), run_steps(steps, [x_value, floats(F32)[1]]))


def test_a_prepared_loop_writes_into_out_and_falls_back_where_it_must(jit):
    x, row = floats(F32)
    steps = (Step("add", (0, 1)), Step("exp", (2,)))
    call = fj.prepare(steps, [x.shape, row.shape], [x.dtype, row.dtype])
    out = np.empty_like(x)
    with np.errstate(over="ignore", invalid="ignore"):
        assert call(x, row, out=out) is out
        assert_same(out, run_steps(steps, [x, row]), ulp=2)
        col = x[:, :1].copy()  # general broadcasting: the steps one by one, same values
        fallback = fj.prepare(steps, [col.shape, row.shape], [col.dtype, row.dtype])
        np.testing.assert_array_equal(fallback(col, row), run_steps(steps, [col, row]))


# -- without numba ---------------------------------------------------------------------------------
@pytest.mark.parametrize("how", ["available", "import"])
def test_without_numba_runs_run_steps(monkeypatch, how):
    if how == "available":
        monkeypatch.setattr(fj, "available", lambda: False)
    else:
        monkeypatch.setattr(fj, "_numba_found", None)
        monkeypatch.setitem(sys.modules, "numba", None)  # `import numba` raises ImportError
        assert not fj.available()
    monkeypatch.setattr(fj, "_load", None)  # nothing may be compiled
    w = np.random.default_rng(5).normal(size=(30, 7))
    args = [w.copy(), w * 0.1, w * w, np.array(1e-3), np.array(1e-8)]
    want = run_steps(ADAM, args)
    assert_same(fj.run(tuple(ADAM), *args), want)
    assert fj.run(tuple(ADAM), *args, out=args[0]) is args[0]
    assert_same(args[0], want)


# -- the cache on disk -----------------------------------------------------------------------------
RUN_ONCE = """
import numpy as np
from compiler.backends.numpy import fused_jit as fj
from compiler.ops.fused import Step
steps = (Step("multiply", (0, 1)), Step("add", (2, 1)), Step("tanh", (3,)))
x = np.linspace(-3, 3, 60).reshape(6, 10)
print(float(fj.run(steps, x, x[0]).sum()))
(kernel, _), = fj._KERNELS.values()
print(sum(kernel.stats.cache_hits.values()), sum(kernel.stats.cache_misses.values()))
"""


def run_once(cache: Path):
    env = dict(os.environ, GRAPHFLOW_CACHE_DIR=str(cache))
    done = subprocess.run([sys.executable, "-c", RUN_ONCE], cwd=ROOT, env=env, timeout=120,
                          capture_output=True, text=True, check=True)
    value, hits_misses = done.stdout.split("\n")[:2]
    return float(value), tuple(int(n) for n in hits_misses.split())


def test_a_second_process_compiles_nothing(jit, tmp_path):
    value, (hits, misses) = run_once(tmp_path)
    assert (hits, misses) == (0, 1)
    (module,) = tmp_path.glob("graphflow_kernel_*.py")
    stamp = module.stat().st_mtime_ns
    assert list((tmp_path / "__pycache__").glob(f"{module.stem}*.nbi"))
    assert run_once(tmp_path) == (value, (1, 0))  # numba's cache hit; the module file reused
    assert module.stat().st_mtime_ns == stamp


def test_a_tampered_module_is_rewritten_not_run(jit, tmp_path, monkeypatch):
    monkeypatch.setenv("GRAPHFLOW_CACHE_DIR", str(tmp_path))
    steps = (Step("subtract", (0, 1)), Step("abs", (2,)), Step("sqrt", (3,)))
    x, row = floats(F64, seed=9)
    text = fj.source(steps, x, row)
    name = fj._module_name(text)
    marker = tmp_path / "ran"
    (tmp_path / f"{name}.py").write_text(f"open({str(marker)!r}, 'w')\n" + text)
    check(steps, x, row)
    assert not marker.exists()
    assert (tmp_path / f"{name}.py").read_text() == text


def test_an_unwritable_cache_folder_gives_a_temporary_one(tmp_path, monkeypatch):
    (tmp_path / "file").write_text("")
    monkeypatch.setenv("GRAPHFLOW_CACHE_DIR", str(tmp_path / "file" / "kernels"))
    folder = fj._cache_dir()
    assert folder.is_dir() and os.access(folder, os.W_OK) and tmp_path not in folder.parents


def test_a_cache_folder_others_can_write_is_not_used(tmp_path, monkeypatch):
    """numba loads its cache files (pickles) as they are: a folder another user could write to
    is never trusted with them."""
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o777)
    monkeypatch.setenv("GRAPHFLOW_CACHE_DIR", str(shared))
    folder = fj._cache_dir()
    assert folder != shared and not folder.stat().st_mode & 0o022
    shared.chmod(0o700)
    assert fj._cache_dir() == shared
