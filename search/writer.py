"""A faster Whoosh segment writer that writes the same index.

Whoosh's :class:`~whoosh.writing.SegmentWriter` turns every posting into a
tuple ``(field, term, docnum, weight, value)``, sorts all of them (spilling
sorted runs to disk past ``limitmb``) and, at commit, writes them through
``FieldWriter.add_postings``, which looks up the field length of the posting's
document in a column reader, once per posting. On our corpora that commit was
about half of the indexing time, and the tuples most of the memory.

:class:`FastSegmentWriter` keeps everything else of Whoosh (locking, the
per-document writer with stored fields and length columns, the merge policy,
deletions, the TOC, the compound segment file) and replaces the posting pool:

* postings are kept per field in flat arrays (term id, docnum, weight) plus a
  list of the encoded values, which are shared objects for the common cases
  (one position, a small frequency); field lengths are kept per document as
  the length byte Whoosh stores;
* at commit each field's postings are ordered by term with one C-level sort
  and written straight into W3 posting blocks and term infos, as
  ``W3PostingsWriter`` would write them;
* past the memory budget (``limitmb``), the postings gathered so far go to a
  sorted run on disk, and the runs are merged term by term at commit;
* a field value equal to the previous one of that field (a title repeated on
  every passage) is analyzed once; ``_<field>_parts`` (see
  :func:`splittable_parts`) lets a long value be indexed from the analysis
  of its parts, which the passages' own field reuses;
* a passage's ``text`` terms and its ``xkey`` cross-script keys come from one
  scan of the passage (:mod:`search.fused`), not from two analyzer chains;
* the term index's hash tables are written one table per write, and its MD5
  hashes taken without a hex round trip (same bytes as Whoosh's);
* on a large write, with a CPU to spare, analysis moves to a forked worker
  process (:mod:`search.parallel`) once :data:`PARALLEL_AFTER_CHARS`
  characters were analyzed here: the writer sends it batches of the
  documents' string values and adds each document, in order, when its
  analysis comes back; when the worker is :data:`MAX_INFLIGHT` batches
  behind, the writer analyzes the next batches itself rather than wait.
  Small writes (an ``update`` of a few documents) never start one, and a
  worker that dies fails the write, which commits nothing;
* at the commit of a large write, that worker encodes about half of the
  fields' postings (:class:`_EncodeJob`) while the writer encodes the rest,
  and the writer adds both to the segment in field order.

The index it writes reads back exactly as the stock writer's: same terms,
postings (docnums, weights, values), field lengths, stored fields and term
statistics. Blocks are pickled with a newer protocol than Whoosh's 2 (see
:data:`_BLOCK_PROTOCOL`), which unpickles to the same objects. Blocks whose
pickled data is under :data:`MIN_COMPRESS` bytes are stored uncompressed
(the block header says so, and Whoosh's reader honours it), which is what
Whoosh itself meant to do (``W3PostingsWriter`` computes "don't bother
compressing" for short blocks, then overwrites it).

``tests/test_writer.py`` checks the equivalence field by field.
"""

from __future__ import annotations

import heapq
import os
import pickle
import struct
import unicodedata
import zlib
from array import array
from collections import Counter, deque
from hashlib import md5
from itertools import chain
from operator import sub
from types import MethodType

from whoosh import formats
from whoosh.codec.whoosh3 import WHOOSH3_HEADER_MAGIC, W3Codec, W3TermInfo
from whoosh.columns import PickleColumn
from whoosh.fields import FieldType
from whoosh.filedb.filetables import OrderedHashWriter, md5_hash
from whoosh.system import emptybytes, pack_int, pack_long, pack_uint, pack_ushort
from whoosh.util.numeric import length_to_byte
from whoosh.writing import SegmentWriter

from search.fused import fusable, keys_of, memo_limits, positions_and_keys, set_memo_limits

__all__ = ["MIN_COMPRESS", "FastSegmentWriter", "splittable_parts", "supports"]

#: Pickled block data shorter than this is stored uncompressed.
MIN_COMPRESS = 160
#: zlib level of posting blocks and stored fields (Whoosh's codec says 3).
#: Level 1 compresses our blocks ~35 % faster for ~1.5 % more bytes; the
#: reader only checks that a block is compressed, any level reads back alike.
COMPRESSION_LEVEL = 1
# zlib.compress sets up a 256 KB state per call (~70 µs, more than compressing
# a small block); a 4 KB window with a small hash table makes the same
# standard zlib stream, which zlib.decompress reads as any other.
_WBITS = 12
_MEMLEVEL = 2


def _zlib_compress(data: bytes, level: int) -> bytes:
    c = zlib.compressobj(level, zlib.DEFLATED, _WBITS, _MEMLEVEL)
    return c.compress(data) + c.flush()


try:
    # ISA-L's deflate (python-isal) writes standard zlib streams, which
    # zlib.decompress reads as any other: our stored-field dicts (~840 bytes)
    # 38.7 -> 11.7 µs each at level 1, and 5 % smaller. Its levels are 0-3.
    from isal.isal_zlib import compress as _isal_compress
except ImportError:  # a platform without its wheel: the standard library's zlib
    _compress = _zlib_compress
else:

    def _compress(data: bytes, level: int) -> bytes:
        return _isal_compress(data, min(level, 3))


try:
    # C versions of three per-posting loops below (positions encoding, the
    # pool's term ids, the counting sort), with the same output; optional,
    # built where a compiler is (setup.py). Without it the Python loops run.
    from search import _speedups
except ImportError:
    _speedups = None

_BLOCK = 128  # W3Codec's default blocklimit
_TI_STRUCT = W3TermInfo._struct  # "!BfIBBfII"
_DUMPS = pickle.dumps
#: Pickle protocol of posting block data. Whoosh writes protocol 2, which
#: pickles each ``bytes`` value (a posting's encoded positions or frequency)
#: as a call to ``_codecs.encode`` on a latin-1 str: 6x slower to dump and to
#: load, and twice the bytes (so twice the zlib work), of protocol 3's plain
#: BINBYTES. Any protocol reads back alike: readers call ``pickle.loads``.
#: Protocol 4's one-byte memo makes a full block a third smaller once
#: compressed, but its 9-byte frame header outweighs that on a block of one
#: posting (most terms), so those use protocol 3.
#: search.fastscore cuts a block's pickle after its ids and weights; past ~3,000
#: postings a protocol 4 pickle opens a second frame there and the cut falls
#: back to reading the block whole (correct, slower): mind it if _BLOCK grows.
_BLOCK_PROTOCOL = 4
_ONE_POSTING_PROTOCOL = 3

# Bytes of memory per posting and per new term, for the budget: the arrays
# (term id, docnum, weight: 16), the value reference (8), the unique encoded
# values (positions lists) averaged over all postings and the arrays' spare
# room (~8); a term's key string, dict entry and id (~150). Measured on our
# corpora: 31.5 bytes per posting, 114-134 per term.
_POSTING_BYTES = 32
#: While a merged segment's postings are read, the budget is checked this often (bytes).
_MERGE_GROW_STEP = 1 << 20
_TERM_BYTES = 150


def supports(schema) -> bool:
    """True if :class:`FastSegmentWriter` can write this schema (no vectors, no spelling fields)."""
    for _name, field in schema.items():
        if getattr(field, "vector", None) or field.separate_spelling():
            return False
    return True


# -- analysis --------------------------------------------------------------------------


class _TermIds(dict):
    """term → id in order of first sight; a missing term gets the next id."""

    __slots__ = ()

    def __missing__(self, key):
        n = self[key] = len(self)
        return n


_SINGLE_POS: dict[int, bytes] = {}
_FREQ: dict[int, bytes] = {}


def _encode_positions(poslist: list[int]) -> bytes:
    """``formats.Positions.encode``: a count, then the pickled position deltas."""
    if len(poslist) == 1:
        p = poslist[0]
        v = _SINGLE_POS.get(p)
        if v is None:
            v = pack_uint(1) + _DUMPS([p], 2)
            if len(_SINGLE_POS) < _SINGLE_POS_LIMIT:
                _SINGLE_POS[p] = v
        return v
    deltas = list(map(sub, poslist, chain((0,), poslist)))
    return pack_uint(len(deltas)) + _DUMPS(deltas, 2)


def _encode_freq(n: int) -> bytes:
    v = _FREQ.get(n)
    if v is None:
        v = pack_uint(n)
        if n < 10_000:
            _FREQ[n] = v
    return v


class _Analyzed:
    """One field value's postings: terms, weights, values and the field length (sum of frequencies)."""

    __slots__ = ("keys", "length", "values", "weights")

    def __init__(self, keys, weights, values, length):
        self.keys = keys
        self.weights = weights
        self.values = values
        self.length = length


def _positions(analyzer, value: str):
    """``{term: [positions]}`` of ``value`` as ``Positions.word_values`` sees it; None if a token has a boost."""
    poses: dict[str, list[int]] = {}
    get = poses.get
    for t in analyzer(value, positions=True, boosts=True, mode="index"):
        if t.stopped:
            continue
        if t.boost != 1.0:
            return None
        text = t.text
        lst = get(text)
        if lst is None:
            poses[text] = [t.pos]
        else:
            lst.append(t.pos)
    return poses


_SINGLE_POS_LIMIT = 100_000


def _encode_all_positions(lists: list[list[int]]) -> list[bytes]:
    """``_encode_positions`` of each list, single positions shared through :data:`_SINGLE_POS`."""
    if _speedups is not None:
        try:
            return _speedups.encode_positions(lists, _SINGLE_POS, _SINGLE_POS_LIMIT)
        except ValueError:  # a position the C encoder does not write (past int32): Python's pickle does
            pass
    single = _SINGLE_POS
    return [(single.get(lst[0]) or _encode_positions(lst)) if len(lst) == 1 else _encode_positions(lst) for lst in lists]


def _from_positions(poses: dict[str, list[int]], fb: float) -> _Analyzed:
    lists = list(poses.values())
    lens = list(map(len, lists))
    return _Analyzed(list(poses), [n * fb for n in lens], _encode_all_positions(lists), sum(lens))


def _frequencies(analyzer, value: str, fb: float) -> _Analyzed | None:
    freqs: dict[str, int] = {}
    get = freqs.get
    for t in analyzer(value, boosts=True, mode="index"):
        if t.stopped:
            continue
        if t.boost != 1.0:
            return None
        text = t.text
        freqs[text] = get(text, 0) + 1
    counts = list(freqs.values())
    return _Analyzed(list(freqs), [n * fb for n in counts], list(map(_encode_freq, counts)), sum(counts))


def _existence(analyzer, value: str, fb: float) -> _Analyzed:
    words = list(dict.fromkeys(t.text for t in analyzer(value, mode="index") if not t.stopped))
    return _Analyzed(words, [fb] * len(words), [emptybytes] * len(words), len(words))


def _generic(field, value) -> _Analyzed:
    """Whatever ``field.index`` yields (numbers, dates, other formats); keys stay bytes."""
    keys, weights, values = [], [], []
    length = 0
    for tbytes, freq, weight, vbytes in field.index(value):
        keys.append(tbytes)
        weights.append(weight)
        values.append(emptybytes if vbytes is None else vbytes)
        length += freq
    return _Analyzed(keys, weights, values, length)


def _word_values(field, value, fb: float) -> _Analyzed:
    """The stock ``format.word_values``, with str keys: the exact path for boosted tokens."""
    keys, weights, values = [], [], []
    length = 0
    for text, freq, weight, vbytes in field.format.word_values(value, field.analyzer, mode="index"):
        keys.append(text)
        weights.append(weight)
        values.append(emptybytes if vbytes is None else vbytes)
        length += freq
    return _Analyzed(keys, weights, values, length)


_STR_FORMATS = (formats.Positions, formats.Frequency, formats.Existence)


def _str_mode(field) -> bool:
    """Fields analyzed here (terms kept as str); the rest go through ``field.index``."""
    return (
        type(field.format) in _STR_FORMATS
        and type(field).index is FieldType.index
        and getattr(field, "analyzer", None) is not None
    )


# -- splitting a value into independently analyzable parts --------------------------------


def _fa_word_char(ch: str) -> bool:
    """Could ``ch`` be inside a Persian token (letter, mark, joiner)? Conservative: any letter or mark."""
    cat = unicodedata.category(ch)
    return cat[0] in "LM" or cat == "Cf"


def splittable_parts(text: str, spans) -> bool:
    """True if analyzing ``text`` equals analyzing its parts ``text[s:e]`` in turn, positions continuing.

    For the bilingual analyzer (``analyzers.BilingualAnalyzer``): its tokens
    never contain whitespace, and its only filter that looks across tokens,
    ``PersianAffixJoinFilter``, joins two Persian words across a gap of
    spaces with at most one line break. So the parts must cover every
    non-whitespace character, be separated by whitespace, and at each
    boundary either the gap holds a blank line or the characters on either
    side cannot both belong to Persian words.
    """
    prev_end = None
    covered = 0
    for s, e in spans:
        if e <= s:
            return False
        if prev_end is not None:
            gap = text[prev_end:s]
            if not gap or not gap.isspace():
                return False
            if gap.count("\n") < 2 and _fa_word_char(text[prev_end - 1]) and _fa_word_char(text[s]):
                return False
        elif text[:s] and not text[:s].isspace():
            return False
        covered = e
        prev_end = e
    if prev_end is None:
        return False
    rest = text[covered:]
    return not rest or rest.isspace()


# -- the posting pool ----------------------------------------------------------------------


class _FieldPool:
    """One field's postings in memory, in arrival (docnum) order."""

    __slots__ = ("docs", "terms", "tids", "values", "weights")

    def __init__(self) -> None:
        self.terms = _TermIds()
        self.tids = array("I")
        self.docs = array("I")
        self.weights = array("d")
        self.values: list[bytes] = []

    def add(self, docnum: int, a: _Analyzed, boost: float) -> int:
        """Add one document's postings; the growth in estimated bytes."""
        terms = self.terms
        nterms = len(terms)
        keys = a.keys
        n = len(keys)
        # array.extend takes another array at C speed, any other iterable item by item.
        if _speedups is not None:
            self.tids.frombytes(_speedups.term_ids(terms, keys))
        else:
            self.tids.extend(map(terms.__getitem__, keys))
        self.docs.extend(array("I", (docnum,)) * n)
        weights = a.weights
        if boost != 1.0:
            self.weights.extend(array("d", [w * boost for w in array("d", weights)]))
        elif type(weights) is bytes:  # from _analyze_jobs: the doubles' bytes, unpickled without a float each
            self.weights.frombytes(weights)
        else:
            self.weights.extend(array("d", weights))
        self.values.extend(a.values)
        return n * _POSTING_BYTES + (len(terms) - nterms) * _TERM_BYTES

    def sorted_terms(self):
        """``(term, docs, weights, values, start, end)`` per term, terms in order, docs ascending.

        ``docs[start:end]`` (and the same slice of the others) are the term's
        postings; the four sequences are shared by every term of the field.
        """
        if not self.terms:
            return
        ordered, counts, docs, weights, values = self.sorted_columns()
        start = 0
        for term, c in zip(ordered, counts, strict=True):
            end = start + c
            yield term, docs, weights, values, start, end
            start = end

    def sorted_columns(self):
        """``(terms, counts, docs, weights, values)``: the postings ordered by term, docs ascending
        within a term (arrival order); empties the pool. ``counts[i]`` postings belong to ``terms[i]``.
        """
        terms = self.terms
        ordered = sorted(terms)
        # A counting sort: each term's postings go to its slot range, in
        # arrival (docnum) order. Leaner than sorting a permutation and
        # gathering through it (no per-posting index objects) and faster.
        n = len(self.tids)
        docs = array("I", bytes(4 * n))
        weights = array("d", bytes(8 * n))
        values = [emptybytes] * n
        if _speedups is not None:  # its scatter takes the slots as an array("q")
            per_tid = array("q", bytes(8 * len(terms)))
            _speedups.count_ids(self.tids, per_tid)
            nxt = array("q", bytes(8 * len(terms)))
        else:
            per_tid = Counter(self.tids)
            nxt = [0] * len(terms)
        counts = []
        pos = 0
        for term in ordered:
            tid = terms[term]
            nxt[tid] = pos
            c = per_tid[tid]
            counts.append(c)
            pos += c
        del per_tid
        if _speedups is not None:
            _speedups.scatter(self.tids, self.docs, self.weights, self.values, nxt, docs, weights, values)
        else:
            for tid, d, w, v in zip(self.tids, self.docs, self.weights, self.values, strict=True):
                p = nxt[tid]
                nxt[tid] = p + 1
                docs[p] = d
                weights[p] = w
                values[p] = v
        del nxt
        self.clear()
        return ordered, counts, docs, weights, values

    def clear(self) -> None:
        self.terms = _TermIds()
        self.tids = array("I")
        self.docs = array("I")
        self.weights = array("d")
        self.values = []

    def __len__(self) -> int:
        return len(self.tids)


def _trim_heap() -> None:
    """Give the C heap's free memory back to the system (glibc ``malloc_trim``).

    Without it the resident size ratchets up at every spill: the freed pool
    arrays stay in the process's heap (glibc raises its mmap threshold after
    the first large free, so later large arrays come from the heap).
    """
    global _MALLOC_TRIM
    if _MALLOC_TRIM is None:
        _MALLOC_TRIM = False
        try:
            import ctypes

            _MALLOC_TRIM = ctypes.CDLL("libc.so.6").malloc_trim
        except (OSError, AttributeError):
            pass
    if _MALLOC_TRIM:
        _MALLOC_TRIM(0)


_MALLOC_TRIM = None

_RUN_CHUNK = 20_000  # postings per pickled chunk of a run


class _Run:
    """A spilled run: per field, chunks of ``(terms, counts, docs, weights, values)`` in term order."""

    def __init__(self, tempstore, name: str) -> None:
        self.tempstore = tempstore
        self.name = name
        self.fields: dict[str, list[int]] = {}  # field → offsets of its chunks
        self.postings: dict[str, int] = {}  # field → postings written
        self.terms: dict[str, int] = {}  # field → terms written

    def write(self, pools: dict[str, _FieldPool]) -> None:
        f = self.tempstore.create_file(self.name).raw_file()
        try:
            for fieldname in sorted(pools):
                pool = pools[fieldname]
                if not len(pool):
                    continue
                offsets = self.fields[fieldname] = []
                self.postings[fieldname] = len(pool)
                terms, counts, docs, weights, values = pool.sorted_columns()
                self.terms[fieldname] = len(terms)
                # Chunks of whole terms, about _RUN_CHUNK postings each.
                t0 = p0 = p = 0
                for t, c in enumerate(counts, 1):
                    p += c
                    if p - p0 >= _RUN_CHUNK or t == len(counts):
                        offsets.append(f.tell())
                        chunk = (terms[t0:t], counts[t0:t], docs[p0:p].tobytes(), weights[p0:p].tobytes(), values[p0:p])
                        pickle.dump(chunk, f, pickle.HIGHEST_PROTOCOL)
                        t0, p0 = t, p
                del terms, counts, docs, weights, values
        finally:
            f.close()

    def iter_field(self, fieldname: str):
        offsets = self.fields.get(fieldname)
        if not offsets:
            return
        f = self.tempstore.open_file(self.name).raw_file()
        try:
            for off in offsets:
                f.seek(off)
                terms, counts, dbytes, wbytes, values = pickle.load(f)
                docs = array("I")
                docs.frombytes(dbytes)
                weights = array("d")
                weights.frombytes(wbytes)
                start = 0
                for term, n in zip(terms, counts, strict=True):
                    end = start + n
                    yield term, docs, weights, values, start, end
                    start = end
        finally:
            f.close()

    def remove(self) -> None:
        try:
            self.tempstore.delete_file(self.name)
        except OSError:
            pass


class _Pool:
    """All fields' postings, the field-length bytes per document, and the spilled runs."""

    def __init__(self, tempstore, limitmb: float) -> None:
        self.tempstore = tempstore
        self.limit = int(limitmb * 1024 * 1024)
        self.size = 0
        self.fields: dict[str, _FieldPool] = {}
        self.doclens: dict[str, bytearray] = {}
        self.runs: list[_Run] = []

    def field(self, fieldname: str) -> _FieldPool:
        pool = self.fields.get(fieldname)
        if pool is None:
            pool = self.fields[fieldname] = _FieldPool()
        return pool

    def set_length(self, fieldname: str, docnum: int, lbyte: int) -> None:
        lens = self.doclens.get(fieldname)
        if lens is None:
            lens = self.doclens[fieldname] = bytearray()
        if len(lens) <= docnum:
            lens.extend(bytes(docnum + 1 - len(lens)))
        lens[docnum] = lbyte

    def grew(self, nbytes: int) -> None:
        self.size += nbytes
        if self.size > self.limit:
            self.spill()

    def spill(self, fields: list[str] | None = None) -> None:
        """Write the postings in memory to a sorted run: all of them, or ``fields``' only (at commit)."""
        pools = self.fields if fields is None else {f: self.fields[f] for f in fields if f in self.fields}
        if not any(len(p) for p in pools.values()):
            return
        run = _Run(self.tempstore, f"bisearch-run-{len(self.runs)}.pkl")
        self.runs.append(run)
        run.write(pools)  # which empties each pool it writes
        if fields is None:
            self.size = 0
        _trim_heap()

    def postings(self, fieldname: str) -> int:
        """How many postings ``fieldname`` has, in memory and in the runs."""
        pool = self.fields.get(fieldname)
        return (len(pool) if pool is not None else 0) + sum(run.postings.get(fieldname, 0) for run in self.runs)

    def terms(self, fieldname: str) -> int:
        """How many terms ``fieldname`` has in memory, plus in each run (a term in several runs counts in each)."""
        pool = self.fields.get(fieldname)
        return (len(pool.terms) if pool is not None else 0) + sum(run.terms.get(fieldname, 0) for run in self.runs)

    def field_names(self) -> list[str]:
        names = {n for n, p in self.fields.items() if len(p)}
        for run in self.runs:
            names.update(run.fields)
        return sorted(names)

    def iter_terms(self, fieldname: str):
        """Every term of ``fieldname`` in order, with its postings from every run, docs ascending."""
        streams = [run.iter_field(fieldname) for run in self.runs]
        pool = self.fields.get(fieldname)
        if pool is not None and len(pool):
            streams.append(pool.sorted_terms())
        if len(streams) == 1:
            yield from streams[0]
            return
        # Docnums grow with time, so a term's postings in run i all precede those in run i + 1.
        merged = heapq.merge(*(((t, i, d[a:b], w[a:b], v[a:b]) for t, d, w, v, a, b in s) for i, s in enumerate(streams)))
        cur = None
        docs = weights = values = None
        for term, _i, d, w, v in merged:
            if term != cur:
                if cur is not None:
                    yield cur, docs, weights, values, 0, len(docs)
                cur, docs, weights, values = term, d, w, v
            else:  # in place: the first run's slices are this loop's own copies
                docs += d
                weights += w
                values += v
        if cur is not None:
            yield cur, docs, weights, values, 0, len(docs)

    def cleanup(self) -> None:
        for run in self.runs:
            run.remove()
        self.runs = []
        self.fields = {}
        self.size = 0


# -- writing W3 postings ----------------------------------------------------------------------


def _write_field(fieldwriter, fieldname: str, fieldobj, terms, doclens: bytearray | None, level: int = 3) -> None:
    """Write one field's terms and postings as ``W3FieldWriter``/``W3PostingsWriter`` would."""
    fieldwriter.start_field(fieldname, fieldobj)
    postfile = fieldwriter._postfile
    tadd = _TermAdder(fieldwriter._tindex)
    prefix = pack_ushort(fieldwriter._fieldid)

    def emit(tbytes: bytes, tinfo: bytes, offset: int, length: int) -> None:
        tadd(prefix + tbytes, tinfo + pack_long(offset) + pack_int(length))

    # postfile.tell() once: BufferedWriter.tell() is a system call.
    _encode_field(fieldobj.format, terms, doclens, level, postfile.write, postfile.tell(), emit)
    tadd.done()
    fieldwriter.finish_field()


class _TermAdder:
    """``OrderedHashWriter.add``, inlined: one write per term, no ``tell()``; :meth:`done` hands back its state.

    Each term's (hash, position) goes to two flat arrays of its hash table
    (:func:`_hash_arrays`), not to a tuple in ``HashWriter.buckets``: a tuple
    of two ints costs ~120 bytes against 16, and the buckets live until the
    segment is closed. On raw-en-news (600,000 terms at one commit) the
    tuples were the writer's peak memory, +55 MB. :func:`_write_hashes`
    reads both kinds.
    """

    __slots__ = ("hashes", "hashfn", "index_append", "lastkey", "positions", "tindex", "tpos", "twrite")

    def __init__(self, tindex) -> None:
        self.tindex = tindex
        self.twrite = tindex.dbfile.write
        self.tpos = tindex.dbfile.tell()
        hashfn = tindex.hashfn
        self.hashfn = _md5_hash if hashfn is md5_hash else hashfn
        self.hashes, self.positions = _hash_arrays(tindex)
        self.index_append = tindex.index.append
        self.lastkey = tindex.lastkey

    def __call__(self, key: bytes, value: bytes) -> None:
        if key <= self.lastkey:
            raise ValueError(f"Keys must increase: {self.lastkey!r}..{key!r}")
        tpos = self.tpos
        self.index_append(tpos)
        self.twrite(_HASH_LENGTHS.pack(len(key), len(value)) + key + value)
        h = self.hashfn(key)
        b = h & 255
        self.hashes[b].append(h)
        self.positions[b].append(tpos)
        self.tpos = tpos + 8 + len(key) + len(value)
        self.lastkey = key

    def add_records(self, entries, base: int) -> None:
        """Add a chunk of :class:`_EntrySink`'s entries, their postings ``base`` bytes further on.

        The encoder made each term's record all but its offset, and its hash
        (both processes encode at once); what is left here, one process at a
        time, is the offset and the appends.
        """
        if self.hashfn is not _md5_hash:
            raise ValueError("pre-hashed term entries need the term index's MD5 hash")
        if not entries:
            return
        first = entries[0][0]
        if first[8 : 8 + _HASH_LENGTHS.unpack_from(first)[0]] <= self.lastkey:
            raise ValueError(f"Keys must increase: {self.lastkey!r}..")
        tpos = self.tpos
        hashes = self.hashes
        positions = self.positions
        index_append = self.index_append
        records = []
        add = records.append
        for head, offset, tail, h in entries:
            rec = head + pack_long(base + offset) + tail
            add(rec)
            index_append(tpos)
            b = h & 255
            hashes[b].append(h)
            positions[b].append(tpos)
            tpos += len(rec)
        self.twrite(emptybytes.join(records))
        self.tpos = tpos
        last = entries[-1][0]
        self.lastkey = last[8 : 8 + _HASH_LENGTHS.unpack_from(last)[0]]

    def done(self) -> None:
        self.tindex.lastkey = self.lastkey


def _hash_arrays(tindex) -> tuple[list[array], list[array]]:
    """The term index's (hashes, positions) arrays, one pair per hash table, made on first use.

    The index must be written by :func:`_write_hashes` (``FastSegmentWriter`` sets it at flush).
    """
    arrays = tindex.__dict__.get("_bisearch_hash_arrays")
    if arrays is None:
        arrays = tindex._bisearch_hash_arrays = ([array("Q") for _ in range(256)], [array("q") for _ in range(256)])
    return arrays


def _encode_field(fmt, terms, doclens: bytearray | None, level: int, write, pos: int, emit) -> int:
    """Encode a field's terms as W3 posting blocks: the bytes go to ``write`` (starting at offset ``pos``),
    and each term to ``emit(term bytes, W3TermInfo struct, offset, length)``; ``fmt`` is the field's format.
    Returns the end offset."""
    fixedsize = fmt.fixed_value_size()
    varsize = fixedsize is None or fixedsize < 0
    ti_pack = _TI_STRUCT.pack
    dumps = _DUMPS
    compress = _compress
    lens_get = doclens.__getitem__ if doclens is not None else None
    f32s: dict[float, float] = {}  # weight → as float32 (a field has few distinct weights)
    nlens = len(doclens) if doclens is not None else 0
    for term, docs, weights, values, a, b in terms:
        tbytes = term.encode("utf-8") if isinstance(term, str) else term
        n = b - a
        offset = pos
        if n == 1:
            # One posting (most terms): the loop below, unrolled.
            doc = docs[a]
            w = weights[a]
            w32 = f32s.get(w)
            if w32 is None:
                w32 = f32s[w] = _f32(w)
            v = values[a]
            if varsize:
                vs = (v,) if v else ()
            elif fixedsize == 0:
                vs = None
            else:
                vs = v
            data = dumps(((doc,), None if w32 == 1.0 else w32, vs), _ONE_POSTING_PROTOCOL)
            comp = 0
            if level and len(data) >= MIN_COMPRESS:
                comp = level
                data = compress(data, level)
            maxweight = w if w > 0 else 0
            lb = doclens[doc] if doc < nlens else 0
            info = dumps((1, doc, maxweight, comp, lb, lb), 2)
            blob = emptybytes.join((WHOOSH3_HEADER_MAGIC, pack_int(-(len(info) + len(data))), info, data))
            write(blob)
            pos += len(blob)
            emit(tbytes, ti_pack(0, 0 + w32, 1, lb, lb, maxweight, doc, doc), offset, len(blob))
            continue
        if a or b != len(docs):
            docs, weights, values = docs[a:b], weights[a:b], values[a:b]
        out = [WHOOSH3_HEADER_MAGIC]
        total = 0
        t_minlen = None
        t_maxlen = 0
        t_maxweight = 0
        for i in range(0, n, _BLOCK):
            j = min(n, i + _BLOCK)
            ids = docs[i:j]
            k = j - i
            w32 = array("f", weights[i:j])
            if w32.count(1.0) == k:
                mini_w = None
            elif w32.count(w32[0]) == k:
                mini_w = w32[0]
            else:
                mini_w = tuple(w32)
            if varsize:
                vs = tuple(values[i:j])
                if emptybytes in vs:
                    vs = tuple(v for v in vs if v)
            elif fixedsize == 0:
                vs = None
            else:
                vs = emptybytes.join(values[i:j])
            if k == 1:
                mini_ids = (ids[0],)
            else:
                mini_ids = tuple(map(sub, ids, chain((0,), ids)))
            data = dumps((mini_ids, mini_w, vs), _BLOCK_PROTOCOL if k > 1 else _ONE_POSTING_PROTOCOL)
            comp = 0
            if level and len(data) >= MIN_COMPRESS:
                comp = level
                data = compress(data, level)
            maxweight = max(weights[i:j])
            if not maxweight > 0:
                maxweight = 0
            if lens_get is not None and ids[-1] < nlens:
                lbs = bytes(map(lens_get, ids))
                bmax = max(lbs)
                if bmax:
                    bmin = min(lbs)
                    if not bmin:
                        bmin = min(b for b in lbs if b)
                else:
                    bmin = None
            else:
                bmin, bmax = _block_lengths(doclens, ids)
            info = dumps((k, ids[-1], maxweight, comp, bmin or 0, bmax), 2)
            blen = len(info) + len(data)
            out.append(pack_int(-blen if j == n else blen))
            out.append(info)
            out.append(data)
            # W3TermInfo.add_block
            total += sum(w32)
            if t_minlen is None:
                t_minlen = bmin
            elif bmin is not None:
                t_minlen = min(t_minlen, bmin)
            if bmax > t_maxlen:
                t_maxlen = bmax
            if maxweight > t_maxweight:
                t_maxweight = maxweight
        blob = emptybytes.join(out)
        write(blob)
        pos += len(blob)
        emit(tbytes, ti_pack(0, total, n, t_minlen or 0, t_maxlen, t_maxweight, docs[0], docs[-1]), offset, len(blob))
    return pos


class _EncodeJob:
    """Fields for the analysis worker to encode at commit, while the writer encodes the others.

    The commit of a large write is about 40 % of its time, with the worker
    idle. So the writer spills the job's fields from memory to a sorted run
    (the pool's own format) and sends the worker this job: the runs to merge,
    each field's format and length bytes. The worker encodes them with
    :func:`_encode_field` into a postings file of its own and their term
    entries (term, term info, offset, length) into a second file
    (:func:`_run_encode_job`); the writer meanwhile encodes its fields the
    same way. Then it adds every field to the segment in field-name order
    (Whoosh's MultiReader relies on field ids following the names): posting
    bytes copied as they are, term entries with their offsets moved. The
    segment reads back exactly as if one process had written it
    (``tests/test_writer.py``). The worker is the one forked early in the
    write, so this costs no new process and no memory beyond the merge; if
    it fails, the commit fails and commits nothing.
    """

    __slots__ = ("fields", "folder", "ids", "level", "out", "runs")

    def __init__(self, pool: _Pool, schema, fields: list[str], level: int, out: str, ids: dict[str, int]) -> None:
        self.folder: str = pool.tempstore.folder
        self.runs = [(run.name, {f: run.fields[f] for f in fields if f in run.fields}) for run in pool.runs]
        self.fields = [(f, schema[f].format, bytes(pool.doclens[f]) if f in pool.doclens else None) for f in fields]
        self.level = level
        self.out = out
        self.ids = ids


def _run_encode_job(job: _EncodeJob) -> dict[str, tuple[int, int, int]]:
    """In the worker: encode the job's fields from their runs; their layout (see :func:`_encode_fields`)."""
    from whoosh.filedb.filestore import FileStorage

    pool = _Pool(FileStorage(job.folder), 0)
    for name, fields in job.runs:
        run = _Run(pool.tempstore, name)
        run.fields = fields
        pool.runs.append(run)
    for f, _fmt, lens in job.fields:
        if lens is not None:
            pool.doclens[f] = bytearray(lens)
    fmts = {f: fmt for f, fmt, _lens in job.fields}
    return _encode_fields(pool, fmts, [f for f, _fmt, _lens in job.fields], job.level, job.out, job.ids)


def _unlink(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


#: Term entries per pickled chunk of an encoded field's entries file.
_ENTRY_CHUNK = 20_000


def _encode_fields(
    pool: _Pool, formats_: dict, fields: list[str], level: int, path: str, ids: dict[str, int]
) -> dict[str, tuple[int, int, int]]:
    """Encode each field's postings into the file ``path`` and its term entries into ``path.terms``.

    Returns ``{field: (start, end, entry chunks)}``; the entries are pickled
    lists (see :class:`_EntrySink`), field after field, so neither process
    holds a large field's entries at once. ``ids``: each field's id in the
    segment, which its term keys start with.
    """
    layout = {}
    with open(path, "wb", buffering=1 << 20) as out, open(path + ".terms", "wb", buffering=1 << 20) as tout:
        pos = 0
        for fieldname in fields:
            sink = _EntrySink(tout, pack_ushort(ids[fieldname]))
            start = pos
            pos = _encode_field(
                formats_[fieldname], pool.iter_terms(fieldname), pool.doclens.get(fieldname), level, out.write, pos, sink
            )
            layout[fieldname] = (start, pos, sink.close())
    return layout


class _EntrySink:
    """Collects a field's term entries and writes them to ``out`` in pickled chunks of :data:`_ENTRY_CHUNK`.

    Each entry is ``(head, offset, tail, hash)``: the term index record
    (lengths, key, term info) up to the postings' offset, the offset within
    this process's postings file, the packed postings length after it, and
    the key's MD5 hash (:meth:`_TermAdder.add_records` takes them). The key
    is the term under ``prefix``, the field's id in the segment.
    """

    __slots__ = ("chunks", "entries", "last", "out", "prefix")

    def __init__(self, out, prefix: bytes) -> None:
        self.out = out
        self.prefix = prefix
        self.last = emptybytes
        self.entries: list = []
        self.chunks = 0

    def __call__(self, tbytes: bytes, tinfo: bytes, offset: int, length: int) -> None:
        key = self.prefix + tbytes
        if key <= self.last:
            raise ValueError(f"Keys must increase: {self.last!r}..{key!r}")
        self.last = key
        entries = self.entries
        entries.append((_HASH_LENGTHS.pack(len(key), len(tinfo) + 12) + key + tinfo, offset, pack_int(length), _md5_hash(key)))
        if len(entries) >= _ENTRY_CHUNK:
            self._dump()

    def _dump(self) -> None:
        pickle.dump(self.entries, self.out, pickle.HIGHEST_PROTOCOL)
        self.entries = []
        self.chunks += 1

    def close(self) -> int:
        """Write what is left; the number of chunks written."""
        if self.entries:
            self._dump()
        return self.chunks


def _add_encoded(fieldwriter, schema, names: list[str], layouts: dict[str, tuple[str, tuple[int, int, int]]]) -> None:
    """Add encoded fields to the segment, in the order of ``names``: bytes copied, term entries re-based."""
    postfile = fieldwriter._postfile
    files: dict = {}
    try:
        for fieldname in names:
            path, (start, end, chunks) = layouts[fieldname]
            if path not in files:
                files[path] = (open(path, "rb"), open(path + ".terms", "rb"))  # closed below
            src, terms = files[path]
            fieldwriter.start_field(fieldname, schema[fieldname])
            base = postfile.tell() - start
            src.seek(start)
            left = end - start
            while left:
                chunk = src.read(min(left, 1 << 22))
                if not chunk:
                    raise OSError(f"{path} ends before the postings of field {fieldname!r}")
                postfile.write(chunk)
                left -= len(chunk)
            if fieldwriter._fieldid != names.index(fieldname):
                # The encoders made the entries' keys with the ids _flush_with_worker gave them: names' order.
                raise RuntimeError(f"field {fieldname!r} got id {fieldwriter._fieldid}, not its place in {names}")
            tadd = _TermAdder(fieldwriter._tindex)
            for _ in range(chunks):
                tadd.add_records(pickle.load(terms), base)
            tadd.done()
            fieldwriter.finish_field()
    finally:
        for src, terms in files.values():
            src.close()
            terms.close()


def _add_stored(self, docnum: int, v) -> None:
    """``PickleColumn.Writer.add`` for a document's stored fields, pickled with protocol 4, not 2.

    Protocol 2 pickles a datetime (the ``date`` field) through ``_codecs.encode``:
    our stored dict takes 7 µs to dump that way and 3 µs with protocol 4, and
    loads a third faster. The reader calls ``pickle.loads``, any protocol alike.
    """
    self._child.add(docnum, emptybytes if v is None else _DUMPS(v, 4))


def _small_compress(data: bytes, level: int) -> bytes:
    return _compress(data, min(level, COMPRESSION_LEVEL))


def _f32(x: float) -> float:
    """``x`` rounded to float32, as ``array("f")`` stores it."""
    return _F32.unpack(_F32.pack(x))[0]


_F32 = struct.Struct("f")
_HASH_LENGTHS = struct.Struct("!ii")  # whoosh.filedb.filetables._lengths


def _md5_hash(key: bytes) -> int:
    """``filetables.md5_hash``: the low 32 bits of the MD5 digest, without the hex round trip."""
    return int.from_bytes(md5(key).digest()[12:], "big")


_POINTER = struct.Struct("!Iq")  # filetables._pointer
_NULL_POINTER = _POINTER.pack(0, 0)


def _write_hashes(self) -> None:
    """``HashWriter._write_hashes`` (the 256 hash tables of a term index), one write per table."""
    dbfile = self.dbfile
    pack = _POINTER.pack
    null = _NULL_POINTER
    arrays = self.__dict__.get("_bisearch_hash_arrays")
    for i, entries in enumerate(self.buckets):
        if arrays is not None and arrays[0][i]:
            # _TermAdder's entries (every term of our writer's segments), in the order they were added.
            if entries:
                raise ValueError("a term index was added to both by HashWriter.add and by _TermAdder")
            entries = list(zip(arrays[0][i], arrays[1][i], strict=True))
        pos = dbfile.tell()
        numslots = 2 * len(entries)
        self.directory.append((pos, numslots))
        table: list = [None] * numslots
        for hashval, position in entries:
            slot = (hashval >> 8) % numslots
            while table[slot] is not None:
                slot = (slot + 1) % numslots
            table[slot] = (hashval, position)
        if numslots:
            dbfile.write(b"".join([null if e is None else pack(*e) for e in table]))


def _block_lengths(doclens, ids):
    if doclens is None:
        return None, 0
    n = len(doclens)
    lbs = [doclens[d] if d < n else 0 for d in ids]
    nz = [b for b in lbs if b]
    return (min(nz) if nz else None), max(lbs)


# -- analysis of whole documents ----------------------------------------------------------


class DocAnalysis:
    """A schema's field values → :class:`_Analyzed`, with the caches that make that cheap.

    One per process: the writer keeps one, and so does its analysis worker
    (:mod:`search.parallel`), which sees the same documents in the same order.
    Passage-like values go through :mod:`search.fused` (one scan for a
    passage's ``text`` terms and ``xkey`` keys); the rest through the field's
    analyzer.
    """

    def __init__(self, schema) -> None:
        self.schema = schema
        self.strmode: dict[str, bool] = {}
        self._last: dict[str, tuple[object, _Analyzed]] = {}
        self._parts_cache: dict[tuple[int, str], dict[str, list[int]] | None] = {}
        self._keys_cache: dict[str, dict[str, int]] = {}
        self._numcache: dict[str, dict[object, _Analyzed]] = {}
        fused: dict[str, str] = {}
        for name, field in schema.items():
            if not field.indexed or not _str_mode(field):
                continue
            kind = fusable(field.analyzer)
            if kind == "terms" and type(field.format) is formats.Positions:
                fused[name] = kind
            elif kind == "keys" and type(field.format) is formats.Frequency:
                fused[name] = kind
        #: field → "terms" or "keys": analyzed by search.fused.
        self.fused = fused
        self.key_fields = tuple(name for name, kind in fused.items() if kind == "keys")
        #: Fields that accept ``_<field>_parts`` (Positions fields with the bilingual analyzer).
        self.parts_fields = frozenset(name for name, kind in fused.items() if kind == "terms")

    def str_mode(self, fieldname: str, field) -> bool:
        strmode = self.strmode.get(fieldname)
        if strmode is None:
            strmode = self.strmode[fieldname] = _str_mode(field)
        return strmode

    def analyze(self, fieldname: str, field, value, fields) -> _Analyzed:
        if not self.str_mode(fieldname, field):
            if not isinstance(value, (str, bytes, bool, int, float)) and not hasattr(value, "isoformat"):
                return _generic(field, value)
            cache = self._numcache.setdefault(fieldname, {})
            key = (type(value), value)
            a = cache.get(key)
            if a is None:
                a = _generic(field, value)
                if len(cache) >= 4096:
                    cache.clear()
                cache[key] = a
            return a
        if not isinstance(value, str):
            return _word_values(field, value, field.format.field_boost)
        last = self._last.get(fieldname)
        if last is not None and last[0] == value:
            return last[1]
        parts = fields.get(f"_{fieldname}_parts") if fieldname in self.parts_fields else None
        a = self._analyze_str(fieldname, field, value, parts, fields)
        self._last[fieldname] = (value, a)
        return a

    def _analyze_str(self, fieldname: str, field, value: str, parts, fields) -> _Analyzed:
        fmt = field.format
        fb = fmt.field_boost
        ana = field.analyzer
        fused = self.fused.get(fieldname)
        if fused == "keys":
            keys = self._keys_cache.pop(value, None)
            if keys is None:
                keys = keys_of(value)
            counts = list(keys.values())
            return _Analyzed(list(keys), [n * fb for n in counts], list(map(_encode_freq, counts)), sum(counts))
        kind = type(fmt)
        if kind is formats.Positions:
            if parts is not None:
                poses = self._from_parts(ana, parts, fused is not None)
            else:
                poses = self._parts_cache.pop((id(ana), value), None)
                if poses is None:
                    poses = self._positions(ana, value, fused is not None, self._wants_keys(value, fields))
            if poses is not None:
                return _from_positions(poses, fb)
        elif kind is formats.Frequency:
            a = _frequencies(ana, value, fb)
            if a is not None:
                return a
        elif kind is formats.Existence:
            return _existence(ana, value, fb)
        return _word_values(field, value, fb)

    def _wants_keys(self, value: str, fields) -> bool:
        """Does a cross-key field of this document hold ``value`` too (a passage's ``text`` and ``xkey``)?"""
        for name in self.key_fields:
            v = fields.get(name)
            if v is value or v == value:
                return True
        return False

    def _positions(self, ana, value: str, fused: bool, want_keys: bool) -> dict[str, list[int]] | None:
        if not fused:
            return _positions(ana, value)
        poses, keys = positions_and_keys(value, ana.items[2], want_keys)
        if want_keys:
            cache = self._keys_cache
            if len(cache) > 1024:
                cache.clear()
            cache[value] = keys
        return poses

    def _from_parts(self, ana, parts, fused: bool) -> dict[str, list[int]] | None:
        """Positions of the concatenation of ``parts``, each analyzed alone (kept for the parts' own fields)."""
        cache = self._parts_cache
        if len(cache) > 1024:
            cache.clear()
        want_keys = fused and bool(self.key_fields)
        out: dict[str, list[int]] = {}
        base = 0
        for part in parts:
            poses = self._positions(ana, part, fused, want_keys)
            if poses is None:
                return None
            cache[(id(ana), part)] = poses
            top = -1
            for term, plist in poses.items():
                if plist[-1] > top:
                    top = plist[-1]
                lst = out.get(term)
                if base:
                    shifted = [p + base for p in plist]
                else:
                    shifted = list(plist)
                if lst is None:
                    out[term] = shifted
                else:
                    lst.extend(shifted)
            base += top + 1
        return out


def _analyze_jobs(analysis: DocAnalysis, schema, jobs) -> list[dict[str, tuple]]:
    """Each job ``{field: value, "_<field>_parts": parts}`` → ``{field: (keys, weights, values, length)}``, fields in the job's (sorted) order.

    The weights are the doubles' bytes (``array("d")``): sent from the worker,
    they unpickle as one object, not a float per posting.
    """
    out = []
    for job in jobs:
        res = {}
        for name, value in job.items():
            if name[0] != "_":
                a = analysis.analyze(name, schema[name], value, job)
                res[name] = (a.keys, array("d", a.weights).tobytes(), a.values, a.length)
        out.append(res)
    return out


class _WorkerAnalysis:
    """Runs in the analysis worker: a batch of jobs (see :func:`_analyze_jobs`), or an :class:`_EncodeJob`."""

    def __init__(self, schema) -> None:
        self.schema = schema
        self.analysis: DocAnalysis | None = None

    def __call__(self, jobs):
        if isinstance(jobs, _EncodeJob):
            self.analysis = None  # the documents are done: its caches can go
            return _run_encode_job(jobs)
        analysis = self.analysis
        if analysis is None:
            analysis = self.analysis = DocAnalysis(self.schema)
        return _analyze_jobs(analysis, self.schema, jobs)


#: Analyze in a worker process (search.parallel) on large writes.
PARALLEL = True
#: Characters of field values a writer analyzes by itself before it forks the
#: worker: small writes (``update`` of a few documents) never start one.
PARALLEL_AFTER_CHARS = 1_000_000
#: Share of ``limitmb`` the posting pool keeps once a worker runs. The
#: worker is a fork: its RSS counts every page it shares with the writer at
#: the fork, plus its own memos (76 MB on raw-fa-news, 92 MB on raw-en-news),
#: and the two together must stay under the issue's 300 MB. Full raw-en-news
#: builds with a worker: at the full budget 342 MB (main 250), at 0.625 292 MB,
#: at 0.5 271 MB (main 177); raw-fa-news at the full budget 282 MB. Since the
#: writer analyzes batches itself (and grows memos of its own, +20 MB), 0.5
#: gave 297-303 MB in the bench and 0.4 gives 279 MB (main 150, worker 129; 11
#: spills instead of 9).
WORKER_POOL_SHARE = 0.4
# Cost of encoding a field at commit (FastSegmentWriter._commit_split), in µs: per
# posting by field format, plus per term (its block header, term info and the
# merge of runs). Measured per field on full raw-en-news builds with 9 runs:
# body 3.45 M postings with positions 6.2 s, xkey 2.67 M with frequencies 2.5 s,
# date 1.18 M bare 0.33 s, pid 148 k terms of one posting each 0.72 s.
_ENCODE_COST = {formats.Positions: 1.6, formats.Frequency: 0.9, formats.Existence: 0.25}
_ENCODE_TERM_COST = 4.5
#: Postings a commit must hold for the analysis worker to encode some of its fields (:class:`_EncodeJob`).
#: It pays off from the smallest writes that start a worker: 2,000 raw-en-news
#: documents 2.78 -> 2.28 s, 5,000 5.9 -> 4.8 s.
PARALLEL_COMMIT_POSTINGS = 100_000
#: Characters of field values per batch sent to the worker.
BATCH_CHARS = 100_000
#: Batches sent to the worker and not yet added, at most.
MAX_INFLIGHT = 8
#: Batches analyzed by the writer itself and held until the worker's before them are added, at most.
MAX_HELD = 4
#: Entries each analysis memo of the writer keeps once a worker runs (the
#: worker's are the ones that pay: the writer analyzes only the overflow).
#: Unbounded, the writer's memos grew by 20 MB on raw-en-news, most of the
#: issue's 300 MB margin.
WRITER_MEMO_LIMIT = 30_000


# -- the writer --------------------------------------------------------------------------------


class FastSegmentWriter(SegmentWriter):
    """``SegmentWriter`` with the posting pool described in the module docstring.

    ``limitmb`` bounds the postings held in memory (estimated as they are
    added); past it they are spilled to a sorted run in the writer's temp
    folder. Everything else, including ``delete_by_term``, ``cancel`` and the
    merge policy at ``commit``, is Whoosh's.
    """

    def __init__(self, ix, limitmb: float = 128, parallel: bool | None = None, **kwargs) -> None:
        super().__init__(ix, limitmb=limitmb, **kwargs)
        self._worker = None  # before anything can fail: cancel() reads it
        self._memo_limits = None  # this process's memo bounds while a worker runs (_start_worker)
        if not isinstance(self.codec, W3Codec):
            self.cancel()
            raise TypeError(f"FastSegmentWriter writes the W3 codec only, not {type(self.codec).__name__}")
        self.pool = _Pool(self._tempstorage, limitmb)
        stored = getattr(self.perdocwriter, "_colwriters", {}).get("_stored")
        child = getattr(stored, "_child", None)
        if child is not None and hasattr(child, "_compress"):
            child._compress = _small_compress  # a zlib stream at our level, by ISA-L where it is installed
        if type(stored) is PickleColumn.Writer:
            stored.add = MethodType(_add_stored, stored)
        self.analysis = DocAnalysis(self.schema)
        self._strmode = self.analysis.strmode
        #: Fields that accept ``_<field>_parts`` (Positions fields with the bilingual analyzer).
        self.parts_fields = self.analysis.parts_fields
        # Parallel analysis (search.parallel): a worker is forked once this
        # writer has analyzed PARALLEL_AFTER_CHARS characters by itself.
        parallel = PARALLEL if parallel is None else parallel
        self._parallel_after = PARALLEL_AFTER_CHARS if parallel else None
        self._cpuwatch = None
        if parallel:
            from search.parallel import CpuWatch

            # What other processes take of the CPUs while this writer works alone decides on a worker.
            self._cpuwatch = CpuWatch()
        self._serial_chars = 0
        self._batch: list = []
        self._batch_chars = 0
        self._pending: deque = deque()

    # -- documents --------------------------------------------------------------------------
    def add_document(self, **fields):
        self._check_state()
        fieldnames = sorted([name for name in fields if not name.startswith("_")])
        self._check_fields(self.schema, fieldnames)
        if self._worker is not None:
            self._queue(fields, fieldnames)
            return
        self._add(fields, fieldnames, None)
        if self._parallel_after is not None:
            fused = self.analysis.fused
            self._serial_chars += sum(len(fields[n]) for n in fieldnames if n in fused and isinstance(fields[n], str))
            if self._serial_chars >= self._parallel_after:
                self._start_worker()

    def _add(self, fields, fieldnames, analyzed) -> None:
        """Add one document; ``analyzed``: its values analyzed by the worker (``{field: (keys, weights, values, length)}``)."""
        perdocwriter = self.perdocwriter
        schema = self.schema
        docnum = self.docnum
        pool = self.pool
        docboost = self._doc_boost(fields)
        perdocwriter.start_doc(docnum)
        grown = 0
        for fieldname in fieldnames:
            value = fields.get(fieldname)
            if value is None:
                continue
            field = schema[fieldname]
            length = 0
            if field.indexed:
                fieldboost = self._field_boost(fields, fieldname, docboost)
                r = analyzed.get(fieldname) if analyzed is not None else None
                a = _Analyzed(*r) if r is not None else self.analysis.analyze(fieldname, field, value, fields)
                if a.keys:
                    grown += pool.field(fieldname).add(docnum, a, fieldboost)
                if field.scorable:
                    length = a.length
                    if length:
                        pool.set_length(fieldname, docnum, length_to_byte(length))
            customval = fields.get(f"_stored_{fieldname}", value)
            sv = customval if field.stored else None
            perdocwriter.add_field(fieldname, field, sv, length)
            column = field.column_type
            if column and customval is not None:
                cv = field.to_column_value(customval)
                perdocwriter.add_column_value(fieldname, column, cv)

        perdocwriter.finish_doc()
        self._added = True
        self.docnum += 1
        if grown:
            pool.grew(grown)

    # -- the analysis worker (search.parallel) ---------------------------------------------------
    def _start_worker(self) -> None:
        from search import parallel

        if self._cpuwatch is not None and self._cpuwatch.young:
            # Too soon to have measured anything: ask again a little later, same watch.
            self._parallel_after = self._serial_chars + PARALLEL_AFTER_CHARS // 4
            return
        if not parallel.available(self._cpuwatch):
            # No CPU to spare now: ask again after as much work again, measured afresh.
            self._parallel_after = self._serial_chars + PARALLEL_AFTER_CHARS
            self._cpuwatch = parallel.CpuWatch()
            return
        self._parallel_after = None
        try:
            self._worker = parallel.AnalysisWorker(_WorkerAnalysis(self.schema))
        except OSError:
            self._worker = None  # no process to be had: carry on alone
            return
        # The worker forked with the memos as they are; this process's are bounded until it stops.
        self._memo_limits = memo_limits()
        set_memo_limits(tuple(min(n, WRITER_MEMO_LIMIT) for n in self._memo_limits))
        # Make room for the worker within the same memory (WORKER_POOL_SHARE).
        self.pool.limit = int(self.pool.limit * WORKER_POOL_SHARE)

    def _queue(self, fields, fieldnames) -> None:
        """Hold a document until the worker has analyzed its string values."""
        schema = self.schema
        analysis = self.analysis
        parts_fields = analysis.parts_fields
        job = {}
        chars = 1
        for name in fieldnames:
            value = fields[name]
            if type(value) is not str:
                continue
            field = schema[name]
            if field.indexed and analysis.str_mode(name, field):
                job[name] = value
                chars += len(value)
                if name in parts_fields:
                    parts = fields.get(f"_{name}_parts")
                    if parts is not None:
                        job[f"_{name}_parts"] = parts
        self._batch.append((fields, fieldnames, job))
        self._batch_chars += chars
        if self._batch_chars >= BATCH_CHARS:
            self._send()

    def _send(self) -> None:
        """Hand the batch to the worker, or, with the worker behind, analyze it here.

        Both processes then stay busy: the writer's own share of the work
        (pooling, stored fields, spills) is less than the worker's analysis
        on most corpora, and a writer that waited for the worker would idle.
        """
        if not self._batch:
            return
        worker = self._worker
        batch, self._batch, self._batch_chars = self._batch, [], 0
        jobs = [job for _f, _n, job in batch]
        self._apply_ready()
        if worker.inflight < MAX_INFLIGHT:
            worker.submit(jobs)
            self._pending.append((batch, None))
        else:
            # The worker has MAX_INFLIGHT batches to go: this one is analyzed
            # here and held until the batches before it are added.
            self._pending.append((batch, _analyze_jobs(self.analysis, self.schema, jobs)))
            while len(self._pending) > MAX_INFLIGHT + MAX_HELD:
                self._apply_first()
        self._apply_ready()

    def _apply_ready(self) -> None:
        """Add the documents of the first batches, as long as their analysis is in."""
        pending = self._pending
        while pending and (pending[0][1] is not None or self._worker.ready()):
            self._apply_first()

    def _apply_first(self) -> None:
        """Add the documents of the first batch held, waiting for the worker's analysis if need be."""
        batch, results = self._pending.popleft()
        if results is None:
            results = self._worker.receive()
        for (fields, fieldnames, _job), analyzed in zip(batch, results, strict=True):
            self._add(fields, fieldnames, analyzed)

    def _drain(self) -> None:
        """Add every document held for the worker."""
        if self._worker is None:
            return
        self._send()
        while self._pending:
            self._apply_first()

    def _stop_worker(self) -> None:
        if self._memo_limits is not None:
            set_memo_limits(self._memo_limits)
            self._memo_limits = None
        worker, self._worker = self._worker, None
        self._batch = []
        self._pending.clear()
        if worker is not None:
            worker.close()

    def commit(self, *args, **kwargs):
        # The worker outlives the documents: at commit it encodes some of the fields (_EncodeJob).
        try:
            self._drain()
            return super().commit(*args, **kwargs)
        finally:
            self._stop_worker()

    def cancel(self):
        self._stop_worker()
        return super().cancel()

    def doc_count(self):
        self._drain()
        return super().doc_count()

    def add_reader(self, reader):
        self._drain()
        return super().add_reader(reader)

    def add_postings_to_pool(self, reader, startdoc, docmap):
        # Segments merged at commit (MERGE_SMALL): their postings join ours, after our documents.
        schema = self.schema
        pool = self.pool
        cur = None
        fpool = strkeys = scorable = None
        lenbytes: dict[int, int] = {}
        grown = 0
        for fieldname, btext, docnum, weight, vbytes in reader.iter_postings():
            if fieldname not in schema:
                continue
            if fieldname != cur:
                cur = fieldname
                field = schema[fieldname]
                strkeys = self._strmode.get(fieldname)
                if strkeys is None:
                    strkeys = self._strmode[fieldname] = _str_mode(field)
                fpool = pool.field(fieldname)
                scorable = field.scorable
                lenbytes = {}
            newdoc = docmap[docnum] if docmap is not None else startdoc + docnum
            term = btext.decode("utf-8") if strkeys else btext
            terms = fpool.terms
            known = len(terms)
            fpool.tids.append(terms[term])
            fpool.docs.append(newdoc)
            fpool.weights.append(weight)
            fpool.values.append(emptybytes if vbytes is None else vbytes)
            grown += _POSTING_BYTES if len(terms) == known else _POSTING_BYTES + _TERM_BYTES
            if grown >= _MERGE_GROW_STEP:
                # A merged segment can be large: keep to the budget while
                # reading it (a spill keeps docnum order: see iter_terms).
                pool.grew(grown)
                grown = 0
            if scorable and newdoc not in lenbytes:
                lb = length_to_byte(reader.doc_field_length(docnum, fieldname) or 0)
                lenbytes[newdoc] = lb
                if lb:
                    pool.set_length(fieldname, newdoc, lb)
        self._added = True
        pool.grew(grown)

    def iter_postings(self):
        raise NotImplementedError("FastSegmentWriter keeps its postings in its own pool")

    def _flush_with_worker(self, names: list[str], mine: list[str], theirs: list[str], level: int) -> None:
        """Encode ``mine`` here and ``theirs`` in the worker (:class:`_EncodeJob`), then add all to the segment.

        A worker that died by now (killed, out of memory) costs only time:
        every document's analysis is in, and its fields' runs are on disk, so
        this process encodes them itself. Any other failure fails the commit,
        with the worker stopped at once, before its files are removed.
        """
        from search.parallel import AnalysisWorkerError

        pool = self.pool
        schema = self.schema
        folder = pool.tempstore.folder
        own, its, redo = (os.path.join(folder, f"bisearch-encoded-{n}") for n in ("own", "worker", "redo"))
        fmts = {n: schema[n].format for n in names}
        ids = {n: i for i, n in enumerate(names)}  # the fields' ids in the segment: _add_encoded starts them in this order
        try:
            pool.spill(theirs)  # the worker reads every posting of its fields from the runs
            worker = self._worker
            try:
                worker.submit(_EncodeJob(pool, schema, theirs, level, its, ids))
            except AnalysisWorkerError:
                worker = None
            layouts = {n: (own, part) for n, part in _encode_fields(pool, fmts, mine, level, own, ids).items()}
            theirs_done = None
            if worker is not None:
                try:
                    theirs_done = {n: (its, part) for n, part in worker.receive().items()}
                except AnalysisWorkerError:
                    pass
            if theirs_done is None:  # the worker is gone: its fields are encoded here
                theirs_done = {n: (redo, part) for n, part in _encode_fields(pool, fmts, theirs, level, redo, ids).items()}
            layouts.update(theirs_done)
            # Added in field-name order: Whoosh's MultiReader merges segments'
            # terms assuming field ids follow the field names, as its own
            # writer assigns them. Each file's fields are read in that order too.
            _add_encoded(self.fieldwriter, schema, names, layouts)
        except BaseException:
            if self._worker is not None:
                self._worker.kill()  # its job is moot: stopped before its files go
            raise
        finally:
            for path in (own, its, redo):
                _unlink(path)
                _unlink(path + ".terms")

    def _commit_split(self, names: list[str]) -> tuple[list[str], list[str]]:
        """The fields this process encodes at commit, and those the analysis worker encodes beside it
        (:class:`_EncodeJob`; none without a worker, on a small commit, or with the temp files in memory)."""
        if self._worker is None or not names or getattr(self.pool.tempstore, "folder", None) is None:
            return names, []
        schema = self.schema
        postings = {n: self.pool.postings(n) for n in names}
        if sum(postings.values()) < PARALLEL_COMMIT_POSTINGS:
            return names, []
        # Per posting by format, plus per term: a unique field (pid, doc_id) is
        # all terms of one posting, which cost 15 times a bare posting. The
        # runs' term counts add up a term once per run it is in: an estimate
        # that grows with the runs alike for every field.
        sizes = {
            n: postings[n] * _ENCODE_COST.get(type(schema[n].format), 1.0) + self.pool.terms(n) * _ENCODE_TERM_COST for n in names
        }
        # Greedy halves by that cost, the largest field first.
        mine: list[str] = []
        theirs: list[str] = []
        load = [0.0, 0.0]
        for n in sorted(names, key=lambda n: -sizes[n]):
            side = 0 if load[0] <= load[1] else 1
            (mine if side == 0 else theirs).append(n)
            load[side] += sizes[n]
        return [n for n in names if n in mine], [n for n in names if n in theirs]

    def _flush_segment(self):
        self.perdocwriter.close()
        pool = self.pool
        fw = self.fieldwriter
        schema = self.schema
        level = min(self.codec._compression, COMPRESSION_LEVEL)
        names = [n for n in pool.field_names() if n in schema]
        mine, theirs = self._commit_split(names)
        if not theirs:
            self._stop_worker()  # nothing left for it: its memory goes now
            for fieldname in names:
                _write_field(fw, fieldname, schema[fieldname], pool.iter_terms(fieldname), pool.doclens.get(fieldname), level)
        else:
            self._flush_with_worker(names, mine, theirs, level)
        pool.cleanup()
        tindex = getattr(fw, "_tindex", None)
        if type(tindex) is OrderedHashWriter or "_bisearch_hash_arrays" in getattr(tindex, "__dict__", {}):
            # Always where _TermAdder added terms: their hashes are in its arrays, which only this reads.
            tindex._write_hashes = MethodType(_write_hashes, tindex)
        self.fieldwriter.close()
