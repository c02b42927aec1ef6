/* seen.FirstSeen in C: the same table, the same answers, without a Python bytecode per probe.
 *
 * validate remembers two keys of every clean record; in Python the table's insertion is about ten thousand
 * instructions, a sixth of a record's whole cost. This is the same open-addressing table as seen.PyFirstSeen
 * (tests/test_ledger.py holds the two to the same answers and the same memory): per key a slot, its hash, its
 * position and its exact UTF-8 bytes (a hash hit is confirmed against them; a key longer than LONG_KEY bytes is
 * kept as 0xFF and its SHA-256, computed by hashlib). Memory comes from PyMem_*, which tracemalloc counts.
 * Built at install time by hatch_build.py where a C compiler is; seen.py falls back to the Python table.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

#define LONG_KEY 96
#define HASH_BITS ((int64_t)((1 << 30) - 1))

typedef struct {
    PyObject_HEAD
    Py_ssize_t mask;  /* slots - 1 */
    int32_t *slots;   /* entry number + 1; 0 is a free slot */
    int64_t *rows;    /* entry e: rows[3e] hash, rows[3e+1] position, rows[3e+2] where its bytes end in blob */
    Py_ssize_t entries, rows_cap;  /* rows_cap counts entries */
    char *blob;
    Py_ssize_t blob_len, blob_cap;
    int alike;        /* every hash 42: only the stored bytes tell keys apart (a test's way to force hits) */
} FirstSeen;

static PyObject *sha256 = NULL;  /* hashlib.sha256, for keys longer than LONG_KEY */

static int grow_slots(FirstSeen *self) {
    Py_ssize_t size = 2 * (self->mask + 1), mask = size - 1;
    int32_t *slots = PyMem_Calloc((size_t)size, sizeof(int32_t));
    if (slots == NULL) { PyErr_NoMemory(); return -1; }
    for (Py_ssize_t e = 0; e < self->entries; e++) {
        Py_ssize_t i = (Py_ssize_t)(self->rows[3 * e] & mask);
        while (slots[i]) i = (i + 1) & mask;
        slots[i] = (int32_t)(e + 1);
    }
    PyMem_Free(self->slots);
    self->slots = slots;
    self->mask = mask;
    return 0;
}

static int reserve(void **buffer, Py_ssize_t *cap, Py_ssize_t need, size_t unit) {
    if (need <= *cap) return 0;
    /* An eighth more than asked, as array.array grows (the Python table's arrays): few reallocations, and at
       most an eighth of the memory unused */
    Py_ssize_t cap2 = need + (need >> 3) + 64;
    void *grown = PyMem_Realloc(*buffer, (size_t)cap2 * unit);
    if (grown == NULL) { PyErr_NoMemory(); return -1; }
    *buffer = grown;
    *cap = cap2;
    return 0;
}

/* The key's stored form: a new reference to a bytes object, or NULL with an exception set. */
static PyObject *stored_form(PyObject *key) {
    PyObject *data = PyUnicode_AsEncodedString(key, "utf-8", "strict");
    if (data == NULL) {
        if (!PyErr_ExceptionMatches(PyExc_UnicodeEncodeError)) return NULL;
        PyErr_Clear();  /* a lone surrogate (rare): kept as it is, so two such keys stay apart */
        data = PyUnicode_AsEncodedString(key, "utf-8", "surrogatepass");
        if (data == NULL) return NULL;
    }
    if (PyBytes_GET_SIZE(data) <= LONG_KEY) return data;
    /* A hostile capture may hold megabyte-long tradeNos: keep their SHA-256 instead (0xFF never starts UTF-8,
       so a digest cannot equal a short key's bytes). */
    PyObject *h = PyObject_CallOneArg(sha256, data);
    Py_DECREF(data);
    if (h == NULL) return NULL;
    PyObject *digest = PyObject_CallMethod(h, "digest", NULL);
    Py_DECREF(h);
    if (digest == NULL) return NULL;
    PyObject *out = PyBytes_FromStringAndSize(NULL, 1 + PyBytes_GET_SIZE(digest));
    if (out != NULL) {
        PyBytes_AS_STRING(out)[0] = (char)0xFF;
        memcpy(PyBytes_AS_STRING(out) + 1, PyBytes_AS_STRING(digest), (size_t)PyBytes_GET_SIZE(digest));
    }
    Py_DECREF(digest);
    return out;
}

static PyObject *FirstSeen_first(FirstSeen *self, PyObject *const *args, Py_ssize_t nargs) {
    if (nargs != 2) {
        PyErr_SetString(PyExc_TypeError, "first(key, position) takes a key and a position");
        return NULL;
    }
    if (self->slots == NULL) {  /* made by __new__ alone */
        PyErr_SetString(PyExc_RuntimeError, "FirstSeen() was not initialised");
        return NULL;
    }
    PyObject *key = args[0];
    if (!PyUnicode_Check(key)) {
        PyErr_SetString(PyExc_TypeError, "a key is a str");
        return NULL;
    }
    if (PyUnicode_READY(key) < 0) return NULL;
    long long position = PyLong_AsLongLong(args[1]);
    if (position == -1 && PyErr_Occurred()) return NULL;
    const char *bytes;
    Py_ssize_t size;
    PyObject *owned = NULL;
    if (PyUnicode_IS_ASCII(key) && PyUnicode_GET_LENGTH(key) <= LONG_KEY) {
        bytes = (const char *)PyUnicode_DATA(key);  /* an ASCII str is its own UTF-8: nothing to make */
        size = PyUnicode_GET_LENGTH(key);
    } else {
        owned = stored_form(key);
        if (owned == NULL) return NULL;
        bytes = PyBytes_AS_STRING(owned);
        size = PyBytes_GET_SIZE(owned);
    }
    int64_t h = self->alike ? 42 : ((int64_t)_Py_HashBytes(bytes, size) & HASH_BITS);
    Py_ssize_t mask = self->mask, i = (Py_ssize_t)(h & mask);
    int32_t e;
    while ((e = self->slots[i]) != 0) {
        const int64_t *row = self->rows + 3 * (e - 1);
        Py_ssize_t start = e > 1 ? (Py_ssize_t)row[-1] : 0, end = (Py_ssize_t)row[2];
        if (row[0] == h && end - start == size && memcmp(self->blob + start, bytes, (size_t)size) == 0) {
            Py_XDECREF(owned);
            return PyLong_FromLongLong(row[1]);
        }
        i = (i + 1) & mask;  /* linear probing: the table is at most half full */
    }
    if (self->entries >= INT32_MAX - 1) {
        Py_XDECREF(owned);
        PyErr_SetString(PyExc_OverflowError, "more than two billion keys");
        return NULL;
    }
    if (reserve((void **)&self->rows, &self->rows_cap, self->entries + 1, 3 * sizeof(int64_t)) < 0 ||
        reserve((void **)&self->blob, &self->blob_cap, self->blob_len + size, 1) < 0) {
        Py_XDECREF(owned);
        return NULL;
    }
    memcpy(self->blob + self->blob_len, bytes, (size_t)size);
    self->blob_len += size;
    Py_XDECREF(owned);
    int64_t *row = self->rows + 3 * self->entries;
    row[0] = h;
    row[1] = position;
    row[2] = self->blob_len;
    self->entries += 1;
    self->slots[i] = (int32_t)self->entries;
    if (2 * self->entries > self->mask && grow_slots(self) < 0) return NULL;
    Py_RETURN_NONE;
}

static PyObject *FirstSeen_retained_bytes(FirstSeen *self, PyObject *Py_UNUSED(ignored)) {
    return PyLong_FromSsize_t((self->mask + 1) * (Py_ssize_t)sizeof(int32_t) +
                              self->rows_cap * 3 * (Py_ssize_t)sizeof(int64_t) + self->blob_cap);
}

static Py_ssize_t FirstSeen_len(FirstSeen *self) { return self->entries; }

static int FirstSeen_init(FirstSeen *self, PyObject *args, PyObject *kwds) {
    static char *names[] = {"every_hash_alike", NULL};
    int alike = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "|$p", names, &alike)) return -1;
    PyMem_Free(self->slots);
    PyMem_Free(self->rows);
    PyMem_Free(self->blob);
    self->rows = NULL;
    self->blob = NULL;
    self->entries = self->rows_cap = self->blob_len = self->blob_cap = 0;
    self->mask = 1023;
    self->alike = alike;
    self->slots = PyMem_Calloc(1024, sizeof(int32_t));
    if (self->slots == NULL) { PyErr_NoMemory(); return -1; }
    return 0;
}

static void FirstSeen_dealloc(FirstSeen *self) {
    PyMem_Free(self->slots);
    PyMem_Free(self->rows);
    PyMem_Free(self->blob);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyMethodDef FirstSeen_methods[] = {
    {"first", (PyCFunction)(void (*)(void))FirstSeen_first, METH_FASTCALL,
     "first(key, position): the position where key was first seen, or None (and remember it here)."},
    {"retained_bytes", (PyCFunction)FirstSeen_retained_bytes, METH_NOARGS,
     "Bytes held by the table (for the memory test and the benchmark)."},
    {NULL, NULL, 0, NULL},
};

static PySequenceMethods FirstSeen_as_sequence = {.sq_length = (lenfunc)FirstSeen_len};

static PyTypeObject FirstSeenType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "vexora_conformance.judge._seen.FirstSeen",
    .tp_doc = "Which keys were seen, and at what position first (seen.FirstSeen's table, in C).",
    .tp_basicsize = sizeof(FirstSeen),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)FirstSeen_init,
    .tp_dealloc = (destructor)FirstSeen_dealloc,
    .tp_methods = FirstSeen_methods,
    .tp_as_sequence = &FirstSeen_as_sequence,
};

static struct PyModuleDef seen_module = {
    PyModuleDef_HEAD_INIT, .m_name = "_seen", .m_doc = "seen.FirstSeen in C.", .m_size = -1,
};

PyMODINIT_FUNC PyInit__seen(void) {
    PyObject *hashlib = PyImport_ImportModule("hashlib");
    if (hashlib == NULL) return NULL;
    sha256 = PyObject_GetAttrString(hashlib, "sha256");
    Py_DECREF(hashlib);
    if (sha256 == NULL || PyType_Ready(&FirstSeenType) < 0) return NULL;
    PyObject *m = PyModule_Create(&seen_module);
    if (m == NULL) return NULL;
    Py_INCREF(&FirstSeenType);
    if (PyModule_AddObject(m, "FirstSeen", (PyObject *)&FirstSeenType) < 0) {
        Py_DECREF(&FirstSeenType);
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
