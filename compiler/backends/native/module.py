"""The C source of a native module: one function per run of statements (segments.py), each
checking its arguments (numpy arrays of the dtype, size and layout the code was generated for)
before computing anything with the GIL released, and the module's method table and init.
numpy's BLAS GEMM comes in as function pointers (set_gemm), found by compiler/backends/numpy/
blas.py in the OpenBLAS numpy loaded."""

from __future__ import annotations

from typing import List, Tuple

from . import emit

_TYPENUM = {"float": "NPY_FLOAT", "double": "NPY_DOUBLE", "npy_bool": "NPY_BOOL"}
ITEMSIZE = {"float": 4, "double": 8, "npy_bool": 1}


def module_source(functions: List[Tuple[str, object]], blas_int: str) -> str:
    """The C extension module holding every segment function."""
    parts = [_HEADER.replace("BLASINT", blas_int)]
    parts += list(dict.fromkeys(h for _, run in functions for h in run.helpers))
    for name, run in functions:
        parts.append(_function(name, run))
    methods = "\n".join(f'    {{"{name}", (PyCFunction)(void (*)(void)){name}, METH_FASTCALL, '
                        f'NULL}},' for name, _ in functions)
    parts.append(_FOOTER.replace("@METHODS@", methods))
    return "\n".join(parts)


def _function(name: str, run) -> str:
    # hot: GCC otherwise guessed these functions cold (their only caller is Python) and left
    # most of their loops scalar
    count = len(run.args) + bool(run.scratch)
    lines = [f"GF_HOT static PyObject *{name}(PyObject *self, PyObject *const *args, "
             f"Py_ssize_t n) {{",
             f"    if (n != {count}) {{ PyErr_SetString(PyExc_TypeError, "
             f"\"{name}: wrong number of arguments\"); return NULL; }}"]
    # Each pointer is checked into a temporary, then copied into a constant whose address is
    # never taken: GCC vectorizes loops over such pointers, not over address-taken ones.
    for k, a in enumerate(run.args):
        lines.append(f"    void *t{k};")
        if a.strides is None:
            lines.append(f"    if (!gf_arg(args[{k}], {_TYPENUM[a.ctype]}, {a.nbytes}, "
                         f"{int(a.written)}, &t{k}, \"{name}\", {k})) return NULL;")
        else:
            item = ITEMSIZE[a.ctype]
            dims = ", ".join(str(d) for d in a.shape) or "0"
            strides = ", ".join(str(s * item) for s in a.strides) or "0"
            lines.append(f"    {{ static const npy_intp d[] = {{{dims}}}, s[] = {{{strides}}};")
            lines.append(f"      if (!gf_view(args[{k}], {_TYPENUM[a.ctype]}, {len(a.shape)}, "
                         f"d, s, &t{k}, \"{name}\", {k})) return NULL; }}")
    lines += [f"    {a.ctype} *const a{k} = ({a.ctype} *)t{k};" for k, a in enumerate(run.args)]
    if run.scratch:  # the last argument: a uint8 array of the program's
        k = len(run.args)
        lines += [f"    void *t{k};",
                  f"    if (!gf_arg(args[{k}], NPY_UINT8, {run.scratch}, 1, &t{k}, \"{name}\", "
                  f"{k})) return NULL;",
                  f"    char *const gf_scratch = (char *)t{k};"]
    lines.append("    Py_BEGIN_ALLOW_THREADS")
    for item in run.code:
        lines += ["    " + line for line in (item.lines() if isinstance(item, emit.FlatLoop)
                                              else item.lines)]
    lines += ["    Py_END_ALLOW_THREADS", "    Py_RETURN_NONE;", "}"]
    return "\n".join(lines)


_HEADER = r"""
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#define NPY_NO_DEPRECATED_API NPY_1_7_API_VERSION
#include <numpy/ndarraytypes.h>
#include <math.h>
#include <stdint.h>

#if defined(__GNUC__)
#define GF_HOT __attribute__((hot))
#else
#define GF_HOT
#endif

enum { CblasRowMajor = 101 };
enum { CblasNoTrans = 111, CblasTrans = 112 };
typedef void (*gf_sgemm_t)(int, int, int, BLASINT, BLASINT, BLASINT, float, const float *,
                           BLASINT, const float *, BLASINT, float, float *, BLASINT);
typedef void (*gf_dgemm_t)(int, int, int, BLASINT, BLASINT, BLASINT, double, const double *,
                           BLASINT, const double *, BLASINT, double, double *, BLASINT);
static gf_sgemm_t gf_sgemm;
static gf_dgemm_t gf_dgemm;
static PyTypeObject *gf_ndarray;

static int gf_arg(PyObject *o, int typenum, npy_intp nbytes, int written, void **p,
                  const char *fn, int k) {
    if (!PyObject_TypeCheck(o, gf_ndarray)) {
        PyErr_Format(PyExc_TypeError, "%s: argument %d is not a numpy array", fn, k);
        return 0;
    }
    PyArrayObject *a = (PyArrayObject *)o;
    int flags = PyArray_FLAGS(a);
    npy_intp size = 1;
    for (int d = 0; d < PyArray_NDIM(a); d++) size *= PyArray_DIMS(a)[d];
    int item = typenum == NPY_DOUBLE ? 8 : (typenum == NPY_FLOAT ? 4 : 1);
    if (PyArray_TYPE(a) != typenum || !(flags & NPY_ARRAY_C_CONTIGUOUS)
            || (written && !(flags & NPY_ARRAY_WRITEABLE)) || size * item < nbytes) {
        PyErr_Format(PyExc_ValueError, "%s: argument %d has another dtype, size or layout "
                     "than the code was generated for", fn, k);
        return 0;
    }
    *p = PyArray_DATA(a);
    return 1;
}

static int gf_view(PyObject *o, int typenum, int nd, const npy_intp *dims,
                   const npy_intp *strides, void **p, const char *fn, int k) {
    if (!PyObject_TypeCheck(o, gf_ndarray)) {
        PyErr_Format(PyExc_TypeError, "%s: argument %d is not a numpy array", fn, k);
        return 0;
    }
    PyArrayObject *a = (PyArrayObject *)o;
    int same = PyArray_TYPE(a) == typenum && PyArray_NDIM(a) == nd;
    for (int d = 0; same && d < nd; d++)
        same = PyArray_DIMS(a)[d] == dims[d]
               && (dims[d] == 1 || PyArray_STRIDES(a)[d] == strides[d]);
    if (!same) {
        PyErr_Format(PyExc_ValueError, "%s: argument %d has another dtype, shape or layout "
                     "than the code was generated for", fn, k);
        return 0;
    }
    *p = PyArray_DATA(a);
    return 1;
}

static PyObject *set_gemm(PyObject *self, PyObject *args) {
    unsigned long long s, d;
    if (!PyArg_ParseTuple(args, "KK", &s, &d)) return NULL;
    gf_sgemm = (gf_sgemm_t)(uintptr_t)s;
    gf_dgemm = (gf_dgemm_t)(uintptr_t)d;
    Py_RETURN_NONE;
}
"""

_FOOTER = r"""
static PyMethodDef methods[] = {
    {"set_gemm", set_gemm, METH_VARARGS, NULL},
@METHODS@
    {NULL, NULL, 0, NULL}
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "@NAME@", NULL, -1, methods};

PyMODINIT_FUNC PyInit_@NAME@(void) {
    PyObject *np = PyImport_ImportModule("numpy");
    if (np == NULL) return NULL;
    gf_ndarray = (PyTypeObject *)PyObject_GetAttrString(np, "ndarray");
    Py_DECREF(np);
    if (gf_ndarray == NULL) return NULL;
    return PyModule_Create(&module);
}
"""
