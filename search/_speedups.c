/* Optional C versions of two per-posting loops of the index writer (search/writer.py).
 *
 * Both replace a Python loop whose result they must equal byte for byte;
 * search/writer.py keeps the Python loops, which run where this module was
 * not built (no compiler), and tests/test_speedups.py checks the two agree.
 *
 * encode_positions(lists, cache, cache_limit) -> list[bytes]
 *     Whoosh's ``formats.Positions`` value of each list of positions: a
 *     big-endian uint32 count, then ``pickle.dumps(deltas, 2)``. The pickle
 *     bytes are written here as CPython's C pickler writes a list of ints at
 *     protocol 2 (PROTO 2, EMPTY_LIST, BINPUT 0, then one item and APPEND
 *     for a list of one, else batches of 1000 between MARK and APPENDS, STOP).
 *     A value of one position is looked up in, and added to, ``cache`` (a
 *     dict int -> bytes, at most ``cache_limit`` entries), so the pool holds
 *     one bytes object per distinct single position, as the Python path does.
 *     A position that is not an int, or a delta outside the int32 range that
 *     BININT covers, raises ValueError: the caller falls back to Python.
 *
 * scatter(tids, docs, weights, values, nxt, docs_out, weights_out, values_out)
 *     The counting sort's second pass (_FieldPool.sorted_columns): posting i
 *     goes to slot nxt[tids[i]], which then moves on by one. ``tids`` and
 *     ``docs`` are array('I'), ``weights`` array('d'), ``nxt`` array('q'),
 *     the outputs preallocated arrays of the same types and a list of
 *     ``len(values)``; ``values`` is a list.
 *
 * count_ids(tids, counts)
 *     counts[t] += number of postings with term id t (``counts`` array('q')).
 *
 * term_ids(terms, keys) -> bytes
 *     The id of each key in ``terms`` (a dict), a key not in it getting the
 *     next id, len(terms): _FieldPool.add's ``map(terms.__getitem__, keys)``
 *     with _TermIds.__missing__, as the bytes of an array('I').
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <string.h>

#define BATCHSIZE 1000

/* Bytes one delta can take in the pickle: 'J' and 4 bytes. */
#define MAX_ITEM 5

static int
put_int(unsigned char **out, long long v)
{
    unsigned char *p = *out;
    if (v >= 0 && v <= 0xff) {
        *p++ = 'K';
        *p++ = (unsigned char)v;
    }
    else if (v >= 0 && v <= 0xffff) {
        *p++ = 'M';
        *p++ = (unsigned char)(v & 0xff);
        *p++ = (unsigned char)((v >> 8) & 0xff);
    }
    else if (v >= -0x80000000LL && v <= 0x7fffffffLL) {
        unsigned long u = (unsigned long)(long)v;
        *p++ = 'J';
        *p++ = (unsigned char)(u & 0xff);
        *p++ = (unsigned char)((u >> 8) & 0xff);
        *p++ = (unsigned char)((u >> 16) & 0xff);
        *p++ = (unsigned char)((u >> 24) & 0xff);
    }
    else {
        return -1;
    }
    *out = p;
    return 0;
}

/* The Positions value of one list, as a new bytes object (NULL with ValueError set on a bad item). */
static PyObject *
encode_one(PyObject *lst)
{
    Py_ssize_t n = PyList_GET_SIZE(lst);
    Py_ssize_t batches = n > 1 ? (n + BATCHSIZE - 1) / BATCHSIZE : 0;
    /* count, PROTO 2, EMPTY_LIST, BINPUT 0, items, MARK+APPENDS per batch or APPEND, STOP */
    Py_ssize_t cap = 4 + 2 + 1 + 2 + n * MAX_ITEM + 2 * batches + 1 + 1;
    unsigned char stack[256];
    unsigned char *buf = cap <= (Py_ssize_t)sizeof(stack) ? stack : PyMem_Malloc(cap);
    if (buf == NULL)
        return PyErr_NoMemory();
    unsigned char *p = buf;
    if (n > 0xffffffffLL) {
        goto bad;
    }
    *p++ = (unsigned char)((n >> 24) & 0xff);
    *p++ = (unsigned char)((n >> 16) & 0xff);
    *p++ = (unsigned char)((n >> 8) & 0xff);
    *p++ = (unsigned char)(n & 0xff);
    *p++ = 0x80;
    *p++ = 2;
    *p++ = ']';
    *p++ = 'q';
    *p++ = 0;
    long long prev = 0;
    Py_ssize_t i = 0;
    while (i < n) {
        Py_ssize_t end = n == 1 ? 1 : (i + BATCHSIZE < n ? i + BATCHSIZE : n);
        if (n > 1)
            *p++ = '(';
        for (; i < end; i++) {
            PyObject *item = PyList_GET_ITEM(lst, i);
            if (!PyLong_CheckExact(item))
                goto bad;
            int overflow = 0;
            long long v = PyLong_AsLongLongAndOverflow(item, &overflow);
            if (overflow || (v == -1 && PyErr_Occurred()))
                goto bad;
            if (put_int(&p, v - prev) < 0)
                goto bad;
            prev = v;
        }
        *p++ = n > 1 ? 'e' : 'a';
    }
    *p++ = '.';
    PyObject *res = PyBytes_FromStringAndSize((const char *)buf, p - buf);
    if (buf != stack)
        PyMem_Free(buf);
    return res;
bad:
    if (buf != stack)
        PyMem_Free(buf);
    PyErr_Clear();
    PyErr_SetString(PyExc_ValueError, "positions outside what this encoder writes");
    return NULL;
}

static PyObject *
encode_positions(PyObject *self, PyObject *args)
{
    PyObject *lists, *cache;
    Py_ssize_t limit;
    if (!PyArg_ParseTuple(args, "O!O!n", &PyList_Type, &lists, &PyDict_Type, &cache, &limit))
        return NULL;
    Py_ssize_t n = PyList_GET_SIZE(lists);
    PyObject *out = PyList_New(n);
    if (out == NULL)
        return NULL;
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *lst = PyList_GET_ITEM(lists, i);
        if (!PyList_Check(lst)) {
            PyErr_SetString(PyExc_ValueError, "positions must be lists");
            goto fail;
        }
        PyObject *v;
        if (PyList_GET_SIZE(lst) == 1) {
            PyObject *key = PyList_GET_ITEM(lst, 0);
            v = PyDict_GetItemWithError(cache, key); /* borrowed */
            if (v != NULL) {
                Py_INCREF(v);
            }
            else {
                if (PyErr_Occurred())
                    goto fail;
                v = encode_one(lst);
                if (v == NULL)
                    goto fail;
                if (PyDict_GET_SIZE(cache) < limit && PyDict_SetItem(cache, key, v) < 0) {
                    Py_DECREF(v);
                    goto fail;
                }
            }
        }
        else {
            v = encode_one(lst);
            if (v == NULL)
                goto fail;
        }
        PyList_SET_ITEM(out, i, v);
    }
    return out;
fail:
    Py_DECREF(out);
    return NULL;
}

/* A contiguous buffer of ``itemsize``-byte items of type ``fmt``; writable if asked. */
static int
get_buffer(PyObject *obj, Py_buffer *view, const char *fmt, Py_ssize_t itemsize, int writable, const char *what)
{
    if (PyObject_GetBuffer(obj, view, PyBUF_FORMAT | PyBUF_C_CONTIGUOUS | (writable ? PyBUF_WRITABLE : 0)) < 0)
        return -1;
    if (view->itemsize != itemsize || view->format == NULL || strcmp(view->format, fmt) != 0) {
        PyErr_Format(PyExc_TypeError, "%s: expected items of format '%s'", what, fmt);
        PyBuffer_Release(view);
        return -1;
    }
    return 0;
}

static PyObject *
scatter(PyObject *self, PyObject *args)
{
    PyObject *o_tids, *o_docs, *o_weights, *values, *o_nxt, *o_docs_out, *o_weights_out, *values_out;
    if (!PyArg_ParseTuple(args, "OOOO!OOOO!", &o_tids, &o_docs, &o_weights, &PyList_Type, &values, &o_nxt, &o_docs_out,
                          &o_weights_out, &PyList_Type, &values_out))
        return NULL;
    Py_buffer tids, docs, weights, nxt, docs_out, weights_out;
    int got = 0;
    PyObject *res = NULL;
    if (get_buffer(o_tids, &tids, "I", 4, 0, "tids") < 0)
        goto done;
    got = 1;
    if (get_buffer(o_docs, &docs, "I", 4, 0, "docs") < 0)
        goto done;
    got = 2;
    if (get_buffer(o_weights, &weights, "d", 8, 0, "weights") < 0)
        goto done;
    got = 3;
    if (get_buffer(o_nxt, &nxt, "q", 8, 1, "nxt") < 0)
        goto done;
    got = 4;
    if (get_buffer(o_docs_out, &docs_out, "I", 4, 1, "docs_out") < 0)
        goto done;
    got = 5;
    if (get_buffer(o_weights_out, &weights_out, "d", 8, 1, "weights_out") < 0)
        goto done;
    got = 6;
    Py_ssize_t n = tids.len / 4;
    if (docs.len / 4 != n || weights.len / 8 != n || docs_out.len / 4 != n || weights_out.len / 8 != n ||
        PyList_GET_SIZE(values) != n || PyList_GET_SIZE(values_out) != n) {
        PyErr_SetString(PyExc_ValueError, "scatter: columns of different lengths");
        goto done;
    }
    const unsigned int *t = tids.buf;
    const unsigned int *d = docs.buf;
    const double *w = weights.buf;
    long long *slot = nxt.buf;
    Py_ssize_t nslots = nxt.len / 8;
    unsigned int *d_out = docs_out.buf;
    double *w_out = weights_out.buf;
    for (Py_ssize_t i = 0; i < n; i++) {
        unsigned int tid = t[i];
        if ((Py_ssize_t)tid >= nslots || slot[tid] < 0 || slot[tid] >= n) {
            PyErr_SetString(PyExc_ValueError, "scatter: a term id or slot out of range");
            goto done;
        }
        Py_ssize_t p = (Py_ssize_t)slot[tid]++;
        d_out[p] = d[i];
        w_out[p] = w[i];
        PyObject *v = PyList_GET_ITEM(values, i);
        PyObject *old = PyList_GET_ITEM(values_out, p);
        Py_INCREF(v);
        PyList_SET_ITEM(values_out, p, v);
        Py_XDECREF(old);
    }
    res = Py_None;
    Py_INCREF(res);
done:
    if (got >= 6)
        PyBuffer_Release(&weights_out);
    if (got >= 5)
        PyBuffer_Release(&docs_out);
    if (got >= 4)
        PyBuffer_Release(&nxt);
    if (got >= 3)
        PyBuffer_Release(&weights);
    if (got >= 2)
        PyBuffer_Release(&docs);
    if (got >= 1)
        PyBuffer_Release(&tids);
    return res;
}

static PyObject *
count_ids(PyObject *self, PyObject *args)
{
    PyObject *o_tids, *o_counts;
    if (!PyArg_ParseTuple(args, "OO", &o_tids, &o_counts))
        return NULL;
    Py_buffer tids, counts;
    if (get_buffer(o_tids, &tids, "I", 4, 0, "tids") < 0)
        return NULL;
    if (get_buffer(o_counts, &counts, "q", 8, 1, "counts") < 0) {
        PyBuffer_Release(&tids);
        return NULL;
    }
    const unsigned int *t = tids.buf;
    long long *c = counts.buf;
    Py_ssize_t n = tids.len / 4, m = counts.len / 8;
    PyObject *res = Py_None;
    for (Py_ssize_t i = 0; i < n; i++) {
        if ((Py_ssize_t)t[i] >= m) {
            PyErr_SetString(PyExc_ValueError, "count_ids: a term id out of range");
            res = NULL;
            break;
        }
        c[t[i]]++;
    }
    PyBuffer_Release(&counts);
    PyBuffer_Release(&tids);
    Py_XINCREF(res);
    return res;
}

static PyObject *
term_ids(PyObject *self, PyObject *args)
{
    PyObject *terms, *keys;
    if (!PyArg_ParseTuple(args, "O!O", &PyDict_Type, &terms, &keys))
        return NULL;
    PyObject *seq = PySequence_Fast(keys, "term_ids: keys must be a sequence");
    if (seq == NULL)
        return NULL;
    Py_ssize_t n = PySequence_Fast_GET_SIZE(seq);
    PyObject **items = PySequence_Fast_ITEMS(seq);
    PyObject *out = PyBytes_FromStringAndSize(NULL, n * (Py_ssize_t)sizeof(unsigned int));
    if (out == NULL) {
        Py_DECREF(seq);
        return NULL;
    }
    unsigned int *ids = (unsigned int *)PyBytes_AS_STRING(out);
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *id = PyDict_GetItemWithError(terms, items[i]); /* borrowed */
        long v;
        if (id == NULL) {
            if (PyErr_Occurred())
                goto fail;
            v = (long)PyDict_GET_SIZE(terms);
            PyObject *o = PyLong_FromLong(v);
            if (o == NULL)
                goto fail;
            int r = PyDict_SetItem(terms, items[i], o);
            Py_DECREF(o);
            if (r < 0)
                goto fail;
        }
        else {
            v = PyLong_AsLong(id);
            if (v == -1 && PyErr_Occurred())
                goto fail;
        }
        if (v < 0 || (unsigned long)v > 0xffffffffUL) {
            PyErr_SetString(PyExc_OverflowError, "term_ids: a term id outside uint32");
            goto fail;
        }
        ids[i] = (unsigned int)v;
    }
    Py_DECREF(seq);
    return out;
fail:
    Py_DECREF(seq);
    Py_DECREF(out);
    return NULL;
}

static PyMethodDef methods[] = {
    {"term_ids", term_ids, METH_VARARGS, "Term ids of keys, new keys numbered on."},
    {"encode_positions", encode_positions, METH_VARARGS, "Whoosh Positions values of lists of positions."},
    {"scatter", scatter, METH_VARARGS, "The counting sort's scatter pass."},
    {"count_ids", count_ids, METH_VARARGS, "Postings per term id."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "search._speedups", "C versions of the index writer's per-posting loops.", -1, methods,
};

PyMODINIT_FUNC
PyInit__speedups(void)
{
    return PyModule_Create(&module);
}
