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
 * fused(text, table, keys_cfg, terms_cfg) -> (poses, keys)
 *     search.fused.positions_and_keys, which documents it, over the folded
 *     text: its regex scan and its two token loops in one pass (see "the
 *     fused scan" below). Every memo miss calls back the Python function the
 *     loop calls. scan(text, table) gives the tokens, for the tests.
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
    /* The six columns, in this order: tids, docs, weights, nxt, docs_out, weights_out. */
    static const struct {
        const char *fmt;
        Py_ssize_t size;
        int writable;
        const char *name;
    } spec[6] = {{"I", 4, 0, "tids"}, {"I", 4, 0, "docs"},     {"d", 8, 0, "weights"},
                 {"q", 8, 1, "nxt"},  {"I", 4, 1, "docs_out"}, {"d", 8, 1, "weights_out"}};
    PyObject *objs[6] = {o_tids, o_docs, o_weights, o_nxt, o_docs_out, o_weights_out};
    Py_buffer views[6];
    int got = 0;
    PyObject *res = NULL;
    for (; got < 6; got++) {
        if (get_buffer(objs[got], &views[got], spec[got].fmt, spec[got].size, spec[got].writable, spec[got].name) < 0)
            goto done;
    }
    Py_buffer *tids = &views[0], *docs = &views[1], *weights = &views[2], *nxt = &views[3], *docs_out = &views[4],
              *weights_out = &views[5];
    Py_ssize_t n = tids->len / 4;
    if (docs->len / 4 != n || weights->len / 8 != n || docs_out->len / 4 != n || weights_out->len / 8 != n ||
        PyList_GET_SIZE(values) != n || PyList_GET_SIZE(values_out) != n) {
        PyErr_SetString(PyExc_ValueError, "scatter: columns of different lengths");
        goto done;
    }
    const unsigned int *t = tids->buf;
    const unsigned int *d = docs->buf;
    const double *w = weights->buf;
    long long *slot = nxt->buf;
    Py_ssize_t nslots = nxt->len / 8;
    unsigned int *d_out = docs_out->buf;
    double *w_out = weights_out->buf;
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
    while (got-- > 0)
        PyBuffer_Release(&views[got]);
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

/* The memo's value for key, else fn(key): a new reference, NULL on error. */
static PyObject *
memo_term(PyObject *memo, PyObject *fn, PyObject *key)
{
    PyObject *t = PyDict_GetItemWithError(memo, key);
    if (t != NULL) {
        Py_INCREF(t);
        return t;
    }
    if (PyErr_Occurred())
        return NULL;
    return PyObject_CallOneArg(fn, key);
}

/* poses[term].append(pos), pos += 1, unless term is None (a stopword). */
static int
add_position(PyObject *poses, PyObject *term, Py_ssize_t *pos)
{
    if (term == Py_None)
        return 0;
    PyObject *p = PyLong_FromSsize_t(*pos);
    if (p == NULL)
        return -1;
    PyObject *lst = PyDict_GetItemWithError(poses, term);
    int r;
    if (lst != NULL) {
        r = PyList_Append(lst, p);
    }
    else if (PyErr_Occurred()) {
        r = -1;
    }
    else {
        lst = PyList_New(1);
        if (lst == NULL) {
            Py_DECREF(p);
            return -1;
        }
        Py_INCREF(p);
        PyList_SET_ITEM(lst, 0, p);
        r = PyDict_SetItem(poses, term, lst);
        Py_DECREF(lst);
    }
    Py_DECREF(p);
    if (r == 0)
        (*pos)++;
    return r;
}

/* -- the fused scan ------------------------------------------------------------------------
 *
 * search.fused's regex, _SCAN = (.*?)(?:TOKEN_PATTERN), run here as a hand-written scanner
 * over the folded text, without a tuple or a gap string per token. ``table`` (65,536 bytes,
 * made by search.fused from the pattern's own character classes) gives each BMP code point
 * its classes; no class of the pattern reaches past the BMP but ``other``'s [^\W\d_], which
 * is tested with the same macros sre uses. The branches, as TOKEN_PATTERN writes them:
 *
 *   fa:    AR (AR|MARK)* ((JOINER|MARK)+ AR (AR|MARK)*)*
 *   en:    LATIN (LATIN|0-9|U+0300..U+036F)* (['’] LATIN+)*
 *   num:   [0-9]{1,3}(,[0-9]{3})+(\.[0-9]+)?(?![0-9])  |  [0-9]+(\.[0-9]+)?
 *   other: ((?!AR)[^\W\d_])+
 *
 * Every character that can start a branch starts a match of it, so the lazy gap is the run
 * of characters that start none, and the branch is the first whose first class holds the
 * character (tests/test_speedups.py checks scan() against the regex on random text).
 */
enum { C_AR = 1, C_MARK = 2, C_JOIN = 4, C_LAT = 8, C_ENC = 16, C_OTH = 32, C_DIG = 64 };
enum { T_NONE = 0, T_FA = 1, T_EN = 2, T_NUM = 3, T_OTH = 4 };

typedef struct {
    int kind;
    const void *data;
    Py_ssize_t n;
    const unsigned char *tbl;
} Scanner;

static inline Py_UCS4
ch_at(const Scanner *s, Py_ssize_t i)
{
    return PyUnicode_READ(s->kind, s->data, i);
}

static inline unsigned
cls_at(const Scanner *s, Py_ssize_t i)
{
    Py_UCS4 ch = PyUnicode_READ(s->kind, s->data, i);
    if (ch < 0x10000)
        return s->tbl[ch];
    return (Py_UNICODE_ISALNUM(ch) && !Py_UNICODE_ISDECIMAL(ch)) ? C_OTH : 0;
}

static inline int
is_dig(const Scanner *s, Py_ssize_t i)
{
    if (i >= s->n)
        return 0;
    Py_UCS4 ch = ch_at(s, i);
    return ch >= '0' && ch <= '9';
}

/* The next token at or after ``i``: its branch (T_NONE at the end), *start and *end. */
static int
next_token(const Scanner *s, Py_ssize_t i, Py_ssize_t *start, Py_ssize_t *end)
{
    Py_ssize_t n = s->n;
    unsigned c = 0;
    while (i < n) {
        c = cls_at(s, i);
        if (c & (C_AR | C_LAT | C_DIG | C_OTH))
            break;
        i++;
    }
    if (i >= n)
        return T_NONE;
    *start = i;
    Py_ssize_t j = i + 1;
    if (c & C_AR) {
        for (;;) {
            while (j < n && (cls_at(s, j) & (C_AR | C_MARK)))
                j++;
            Py_ssize_t k = j;
            while (k < n && (cls_at(s, k) & (C_JOIN | C_MARK)))
                k++;
            if (k > j && k < n && (cls_at(s, k) & C_AR)) {
                j = k + 1;
                continue;
            }
            break;
        }
        *end = j;
        return T_FA;
    }
    if (c & C_LAT) {
        while (j < n && (cls_at(s, j) & C_ENC))
            j++;
        for (;;) {
            if (j + 1 < n) {
                Py_UCS4 a = ch_at(s, j);
                if ((a == '\'' || a == 0x2019) && (cls_at(s, j + 1) & C_LAT)) {
                    j += 2;
                    while (j < n && (cls_at(s, j) & C_LAT))
                        j++;
                    continue;
                }
            }
            break;
        }
        *end = j;
        return T_EN;
    }
    if (c & C_DIG) {
        Py_ssize_t r = i;
        while (r < n && is_dig(s, r))
            r++;
        /* the first alternative: 1-3 digits, then groups of ",ddd" */
        if (r - i <= 3 && r < n && ch_at(s, r) == ',') {
            Py_ssize_t p = r, last = -1, before_last = -1;
            while (p + 3 < n && ch_at(s, p) == ',' && is_dig(s, p + 1) && is_dig(s, p + 2) && is_dig(s, p + 3)) {
                before_last = last;
                last = p + 4;
                p += 4;
            }
            if (last >= 0) {
                if (last < n && ch_at(s, last) == '.' && is_dig(s, last + 1)) {
                    Py_ssize_t q = last + 1;
                    while (is_dig(s, q))
                        q++;
                    *end = q;
                    return T_NUM;
                }
                if (!is_dig(s, last)) {
                    *end = last;
                    return T_NUM;
                }
                /* (?![0-9]) failed: one group fewer ends before a ',' */
                if (before_last >= 0) {
                    *end = before_last;
                    return T_NUM;
                }
            }
        }
        /* the second: digits, and a decimal part */
        if (r < n && ch_at(s, r) == '.' && is_dig(s, r + 1)) {
            r += 1;
            while (is_dig(s, r))
                r++;
        }
        *end = r;
        return T_NUM;
    }
    /* other: letters (and other non-decimal alphanumerics) that are not Arabic-script letters */
    while (j < n) {
        unsigned cj = cls_at(s, j);
        if (!(cj & C_OTH) || (cj & C_AR))
            break;
        j++;
    }
    *end = j;
    return T_OTH;
}

static int
init_scanner(Scanner *s, PyObject *text, PyObject *table)
{
    if (!PyBytes_Check(table) || PyBytes_GET_SIZE(table) != 0x10000) {
        PyErr_SetString(PyExc_TypeError, "the class table must be 65,536 bytes");
        return -1;
    }
    s->kind = PyUnicode_KIND(text);
    s->data = PyUnicode_DATA(text);
    s->n = PyUnicode_GET_LENGTH(text);
    s->tbl = (const unsigned char *)PyBytes_AS_STRING(table);
    return 0;
}

/* scan(text, table) -> [(gap, fa, en, num, other)]: what _SCAN.findall gives; for the tests. */
static PyObject *
scan(PyObject *self, PyObject *args)
{
    PyObject *text, *table;
    if (!PyArg_ParseTuple(args, "UO", &text, &table))
        return NULL;
    Scanner s;
    if (init_scanner(&s, text, table) < 0)
        return NULL;
    PyObject *out = PyList_New(0);
    PyObject *empty = PyUnicode_New(0, 0);
    if (out == NULL || empty == NULL)
        goto fail;
    Py_ssize_t i = 0, start, end;
    int t;
    while ((t = next_token(&s, i, &start, &end)) != T_NONE) {
        PyObject *tup = PyTuple_New(5);
        if (tup == NULL)
            goto fail;
        PyObject *gap = PyUnicode_Substring(text, i, start);
        PyObject *tok = PyUnicode_Substring(text, start, end);
        if (gap == NULL || tok == NULL) {
            Py_XDECREF(gap);
            Py_XDECREF(tok);
            Py_DECREF(tup);
            goto fail;
        }
        PyTuple_SET_ITEM(tup, 0, gap);
        for (int k = 1; k < 5; k++) {
            if (k == t) {
                PyTuple_SET_ITEM(tup, k, tok);
            }
            else {
                Py_INCREF(empty);
                PyTuple_SET_ITEM(tup, k, empty);
            }
        }
        int r = PyList_Append(out, tup);
        Py_DECREF(tup);
        if (r < 0)
            goto fail;
        i = end;
    }
    Py_DECREF(empty);
    return out;
fail:
    Py_XDECREF(out);
    Py_XDECREF(empty);
    return NULL;
}

/* Does the held Persian word join the next one across text[g0:g1]? (PersianAffixJoinFilter's test) */
static int
joins(PyObject *h_norm, PyObject *norm, const Scanner *s, Py_ssize_t g0, Py_ssize_t g1, PyObject *prefixes,
      PyObject *suffixes, PyObject *after_vowel, PyObject *vowel_ends, PyObject *gap_chars)
{
    int affix = PySet_Contains(prefixes, h_norm);
    if (affix < 0)
        return -1;
    if (!affix) {
        affix = PySet_Contains(suffixes, norm);
        if (affix < 0)
            return -1;
    }
    if (!affix) {
        Py_ssize_t hl = PyUnicode_GET_LENGTH(h_norm);
        if (hl > 0) {
            Py_UCS4 last = PyUnicode_READ_CHAR(h_norm, hl - 1);
            if (PyUnicode_FindChar(vowel_ends, last, 0, PyUnicode_GET_LENGTH(vowel_ends), 1) >= 0) {
                affix = PySet_Contains(after_vowel, norm);
                if (affix < 0)
                    return -1;
            }
        }
    }
    if (!affix)
        return 0;
    Py_ssize_t newlines = 0, glen = PyUnicode_GET_LENGTH(gap_chars);
    for (Py_ssize_t i = g0; i < g1; i++) {
        Py_UCS4 ch = ch_at(s, i);
        if (ch == '\n' && ++newlines > 1)
            return 0;
        if (PyUnicode_FindChar(gap_chars, ch, 0, glen, 1) < 0)
            return 0;
    }
    return 1;
}

/* keys[cross key of surface] += 1, the key from the script's memo or xkey(cache, surface, script). */
static int
count_key(PyObject *keys, PyObject *cache, PyObject *xkey, PyObject *surface, PyObject *script)
{
    PyObject *k = PyDict_GetItemWithError(cache, surface);
    if (k != NULL) {
        Py_INCREF(k);
    }
    else {
        if (PyErr_Occurred())
            return -1;
        k = PyObject_CallFunctionObjArgs(xkey, cache, surface, script, NULL);
        if (k == NULL)
            return -1;
    }
    int r = 0;
    if (k != Py_None) {
        PyObject *c = PyDict_GetItemWithError(keys, k);
        long v = 0;
        if (c != NULL) {
            v = PyLong_AsLong(c);
            if (v == -1 && PyErr_Occurred())
                r = -1;
        }
        else if (PyErr_Occurred()) {
            r = -1;
        }
        if (r == 0) {
            PyObject *o = PyLong_FromLong(v + 1);
            r = o == NULL ? -1 : PyDict_SetItem(keys, k, o);
            Py_XDECREF(o);
        }
    }
    Py_DECREF(k);
    return r;
}

/* The fa memo's term for held, added at *pos. */
static int
add_held(PyObject *poses, PyObject *memos, PyObject *fns, PyObject *held, Py_ssize_t *pos)
{
    PyObject *term = memo_term(PyTuple_GET_ITEM(memos, 0), PyTuple_GET_ITEM(fns, 0), held);
    if (term == NULL)
        return -1;
    int r = add_position(poses, term, pos);
    Py_DECREF(term);
    return r;
}

/*
 * fused(text, table, keys_cfg, terms_cfg) -> (poses, keys)
 *     search.fused.positions_and_keys over the folded ``text``: keys_cfg is None or
 *     (xfa, xen, xkey); terms_cfg None or (memos, fns, norm_cache, normalize, norm_limit,
 *     prefixes, suffixes, after_vowel, vowel_ends, gap_chars), as _c_positions_and_keys
 *     passes them.
 */
static PyObject *
fused(PyObject *self, PyObject *args)
{
    PyObject *text, *table, *keys_cfg, *terms_cfg;
    if (!PyArg_ParseTuple(args, "UOOO", &text, &table, &keys_cfg, &terms_cfg))
        return NULL;
    Scanner s;
    if (init_scanner(&s, text, table) < 0)
        return NULL;
    PyObject *xfa = NULL, *xen = NULL, *xkey = NULL;
    if (keys_cfg != Py_None && !PyArg_ParseTuple(keys_cfg, "O!O!O", &PyDict_Type, &xfa, &PyDict_Type, &xen, &xkey))
        return NULL;
    PyObject *memos = NULL, *fns = NULL, *norm_cache = NULL, *normalize = NULL, *prefixes = NULL, *suffixes = NULL,
             *after_vowel = NULL, *vowel_ends = NULL, *gap_chars = NULL;
    Py_ssize_t norm_limit = 0;
    if (terms_cfg != Py_None) {
        if (!PyArg_ParseTuple(terms_cfg, "O!O!O!OnO!O!O!UU", &PyTuple_Type, &memos, &PyTuple_Type, &fns, &PyDict_Type,
                              &norm_cache, &normalize, &norm_limit, &PyFrozenSet_Type, &prefixes, &PyFrozenSet_Type,
                              &suffixes, &PyFrozenSet_Type, &after_vowel, &vowel_ends, &gap_chars))
            return NULL;
        if (PyTuple_GET_SIZE(memos) != 4 || PyTuple_GET_SIZE(fns) != 4) {
            PyErr_SetString(PyExc_TypeError, "fused: four memos and four functions (fa, en, num, other)");
            return NULL;
        }
        for (int i = 0; i < 4; i++) {
            if (!PyDict_Check(PyTuple_GET_ITEM(memos, i))) {
                PyErr_SetString(PyExc_TypeError, "fused: memos must be dicts");
                return NULL;
            }
        }
    }
    PyObject *s_fa = PyUnicode_FromString("fa"), *s_en = PyUnicode_FromString("en");
    PyObject *poses = PyDict_New(), *keys = PyDict_New();
    PyObject *held = NULL, *h_norm = NULL, *surface = NULL, *term = NULL;
    Py_ssize_t pos = 0, i = 0, start, end, held_end = 0;
    int t;
    if (s_fa == NULL || s_en == NULL || poses == NULL || keys == NULL)
        goto fail;
    while ((t = next_token(&s, i, &start, &end)) != T_NONE) {
        i = end;
        if (xkey == NULL && memos == NULL)
            continue;
        Py_CLEAR(surface);
        surface = PyUnicode_Substring(text, start, end);
        if (surface == NULL)
            goto fail;
        if (xkey != NULL && (t == T_FA || t == T_EN)) {
            if (count_key(keys, t == T_FA ? xfa : xen, xkey, surface, t == T_FA ? s_fa : s_en) < 0)
                goto fail;
        }
        if (memos == NULL)
            continue;
        if (t == T_FA) {
            PyObject *norm = PyDict_GetItemWithError(norm_cache, surface);
            if (norm != NULL && norm != Py_None) {
                Py_INCREF(norm);
            }
            else {
                if (PyErr_Occurred())
                    goto fail;
                norm = PyObject_CallOneArg(normalize, surface);
                if (norm == NULL)
                    goto fail;
                if (!PyUnicode_Check(norm)) {
                    Py_DECREF(norm);
                    PyErr_SetString(PyExc_TypeError, "fused: normalize must return str");
                    goto fail;
                }
                if (PyDict_GET_SIZE(norm_cache) >= norm_limit)
                    PyDict_Clear(norm_cache);
                if (PyDict_SetItem(norm_cache, surface, norm) < 0) {
                    Py_DECREF(norm);
                    goto fail;
                }
            }
            if (held != NULL) {
                /* the gap since the held token: text[held_end:start] */
                int j = joins(h_norm, norm, &s, held_end, start, prefixes, suffixes, after_vowel, vowel_ends, gap_chars);
                if (j < 0) {
                    Py_DECREF(norm);
                    goto fail;
                }
                if (j) {
                    PyUnicode_Append(&held, surface);
                    PyUnicode_Append(&h_norm, norm);
                    Py_DECREF(norm);
                    if (held == NULL || h_norm == NULL)
                        goto fail;
                    held_end = end;
                    continue;
                }
                if (add_held(poses, memos, fns, held, &pos) < 0) {
                    Py_DECREF(norm);
                    goto fail;
                }
            }
            Py_XSETREF(held, Py_NewRef(surface));
            Py_XSETREF(h_norm, norm);
            held_end = end;
            continue;
        }
        if (held != NULL) {
            if (add_held(poses, memos, fns, held, &pos) < 0)
                goto fail;
            Py_CLEAR(held);
            Py_CLEAR(h_norm);
        }
        int which = t == T_EN ? 1 : t == T_NUM ? 2 : 3;
        term = memo_term(PyTuple_GET_ITEM(memos, which), PyTuple_GET_ITEM(fns, which), surface);
        if (term == NULL || add_position(poses, term, &pos) < 0)
            goto fail;
        Py_CLEAR(term);
    }
    if (held != NULL) {
        if (add_held(poses, memos, fns, held, &pos) < 0)
            goto fail;
        Py_CLEAR(held);
        Py_CLEAR(h_norm);
    }
    Py_XDECREF(surface);
    Py_DECREF(s_fa);
    Py_DECREF(s_en);
    PyObject *res = PyTuple_Pack(2, poses, keys);
    Py_DECREF(poses);
    Py_DECREF(keys);
    return res;
fail:
    Py_XDECREF(term);
    Py_XDECREF(held);
    Py_XDECREF(h_norm);
    Py_XDECREF(surface);
    Py_XDECREF(s_fa);
    Py_XDECREF(s_en);
    Py_XDECREF(poses);
    Py_XDECREF(keys);
    return NULL;
}

static PyMethodDef methods[] = {
    {"fused", fused, METH_VARARGS, "search.fused.positions_and_keys over a folded text."},
    {"scan", scan, METH_VARARGS, "search.fused's _SCAN.findall, for the tests."},
    {"term_ids", term_ids, METH_VARARGS, "Term ids of keys, new keys numbered on."},
    {"encode_positions", encode_positions, METH_VARARGS, "Whoosh Positions values of lists of positions."},
    {"scatter", scatter, METH_VARARGS, "The counting sort's scatter pass."},
    {"count_ids", count_ids, METH_VARARGS, "Postings per term id."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "search._speedups", "C versions of the indexer's hottest loops (search.writer, search.fused).", -1, methods, NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC
PyInit__speedups(void)
{
    PyObject *m = PyModule_Create(&module);
    if (m == NULL)
        return NULL;
    /* The class bits of the scanner's table, for search.fused._class_table to set. */
    static const struct {
        const char *name;
        int bit;
    } bits[] = {{"C_AR", C_AR},   {"C_MARK", C_MARK}, {"C_JOIN", C_JOIN}, {"C_LAT", C_LAT},
                {"C_ENC", C_ENC}, {"C_OTH", C_OTH},   {"C_DIG", C_DIG}};
    for (size_t i = 0; i < sizeof(bits) / sizeof(bits[0]); i++) {
        if (PyModule_AddIntConstant(m, bits[i].name, bits[i].bit) < 0) {
            Py_DECREF(m);
            return NULL;
        }
    }
    return m;
}
