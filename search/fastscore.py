"""Term-at-a-time scoring of OR queries: Whoosh's results, without its per-document loop.

Whoosh scores a query document by document: every matching passage walks the
whole tree of union matchers, and each term scores it through a chain of
method calls (``UnionMatcher.score`` → ``WrappingMatcher.score`` →
``BM25FScorer.score`` → ``doc_field_length`` → a column read). For questions
with common words that loop over tens of thousands of passages is most of the
query time.

For the shape nearly every query has (an OR of terms, with boosts, possibly
nested), :func:`fast_collect` computes the same numbers a term at a time:

* Whoosh builds its matcher tree as usual (``q.matcher``), so the tree's shape
  (the Huffman-like union tree of :class:`~whoosh.query.Or`, the array union
  of small segments), each term's scorer (idf and average length from the
  parent searcher, K1 and B from the weighting) and the deletion filters are
  exactly Whoosh's own; nothing about the query is re-derived here.
* That tree is then *evaluated* instead of stepped through: each term's
  posting blocks are decoded once, each posting scored with BM25F's formula
  in Whoosh's operation order (the field length read from a per-segment copy
  of the length column), and the union nodes add their children's scores in
  the tree's own order, so every score is the float Whoosh computes.
* The top N are taken in :class:`~whoosh.collectors.TopCollector`'s order
  (higher score first, then lower document number), and the total is the
  number of matches, as Whoosh counts it.

Prefix and fuzzy terms are such trees inside Whoosh too. Any other node
below an OR (a phrase, an AND, a NOT) is stepped through with Whoosh's own
matcher methods, as the union would step it; a query whose top is such a
node (``oil AND price``, ``Iran -Russia``, a ``lang:`` clause), or a tree
scored otherwise (another weighting model, a coordination ``scale``), is
:class:`Unsupported`, and the caller runs Whoosh's loop as before.

Scored postings of long posting lists are kept between queries (a bounded
LRU, :data:`CACHE_POSTINGS`): common words come back in question after
question, and they are what the slow queries spend their time on. An entry
is keyed by the segment and by everything its scores depend on (term, idf,
average length, K1, B), so it can never be stale; deletions are applied per
query.
"""

from __future__ import annotations

import heapq
import re
import struct
import threading
import weakref
import zlib
from collections import OrderedDict
from io import BytesIO
from itertools import accumulate, compress
from pickle import load, loads

from whoosh.codec.whoosh3 import LENGTHS_COLUMN, W3LeafMatcher, W3PerDocReader
from whoosh.matching import ListMatcher, NullMatcherClass, UnionMatcher, WrappingMatcher
from whoosh.matching.combo import ArrayUnionMatcher
from whoosh.matching.wrappers import FilterMatcher
from whoosh.reading import SegmentReader
from whoosh.scoring import BM25FScorer
from whoosh.searching import Results
from whoosh.util.numeric import byte_to_length

#: Posting lists at least this long are kept scored between queries.
CACHE_MIN_POSTINGS = 1000
#: At most this many scored postings are kept (about 95 bytes each: ~57 MB when full).
CACHE_POSTINGS = 600_000
#: Off: :func:`search.query.collect` always runs Whoosh's own loop (for
#: side-by-side checks and benchmarks).
ENABLED = True


class Unsupported(Exception):
    """The query's matcher tree holds something this module does not evaluate."""


class _Cache:
    """Scored postings by (segment reader, term, scoring parameters), least recently used dropped first."""

    def __init__(self, budget: int) -> None:
        self.budget = budget
        self.size = 0
        self._items: OrderedDict[tuple, tuple] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, reader, key):
        with self._lock:
            entry = self._items.get((id(reader), key))
            if entry is None or entry[0]() is not reader:
                return None
            self._items.move_to_end((id(reader), key))
            return entry[1]

    def put(self, reader, key, scores: dict) -> None:
        n = len(scores)
        if n > self.budget:
            return
        with self._lock:
            k = (id(reader), key)
            old = self._items.pop(k, None)
            if old is not None:
                self.size -= len(old[1])
            self._items[k] = (weakref.ref(reader), scores)
            self.size += n
            while self.size > self.budget and self._items:
                _k, (_r, dropped) = self._items.popitem(last=False)
                self.size -= len(dropped)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self.size = 0


_cache = _Cache(CACHE_POSTINGS)
_INT = struct.Struct("!i")  # Whoosh's read_int
_normtabs: dict[tuple[float, float, float], list[float | None]] = {}


def clear_caches() -> None:
    """Forget every cached scored posting list (tests, memory pressure)."""
    _cache.clear()
    _normtabs.clear()


def fast_collect(searcher, q, limit: int | None, *, filter=None) -> Results:
    """Whoosh's ``TopCollector``/``UnlimitedCollector`` results for ``q``, computed a term at a time.

    Raises :class:`Unsupported` (before anything is returned) when the query
    is not an OR tree (see the module's docstring) scored by BM25F.
    """
    if getattr(searcher.weighting, "use_final", False):
        raise Unsupported("final()")
    context = searcher.context()
    allow = _allowed(searcher, filter) if filter else None
    parts = []
    for subsearcher, offset in searcher.leaf_searchers():
        m = q.matcher(subsearcher, context)
        scores, _own = _evaluate(m, subsearcher.reader())
        if offset:
            scores = {d + offset: s for d, s in scores.items()}
        if allow is not None:
            scores = {d: s for d, s in scores.items() if d in allow}
        parts.append(scores)
    # A part may be a cached dict: never modified, only read.
    found: dict[int, float] = parts[0] if len(parts) == 1 else {d: s for p in parts for d, s in p.items()}
    total = len(found)
    unlimited = limit is None or limit >= searcher.doc_count()
    if unlimited or total <= limit:
        top = _tie_order(list(found.items()))
    else:
        top = _top(found, limit)
    r = _FastResults(searcher, q, [(s, d) for d, s in top], docset=set(found) if unlimited else None)
    r._total = total
    return r


def _tie_order(items: list[tuple[int, float]]) -> list[tuple[int, float]]:
    """Items sorted by score, descending; within equal scores, docnum ascending."""
    return sorted(items, key=lambda x: (-x[1], x[0]))


def _top(found: dict[int, float], limit: int) -> list[tuple[int, float]]:
    """The ``limit`` best (docnum, score), as TopCollector orders them."""
    threshold = heapq.nlargest(limit, found.values())[-1]
    cands = list(compress(found.items(), map(threshold.__le__, found.values())))
    return _tie_order(cands)[:limit]


class _FastResults(Results):
    """Whoosh ``Results`` whose total is known and whose docset (if asked for) is found as Whoosh would."""

    def docs(self):
        if self.docset is None:
            self.docset = set(self.searcher.docs_for_query(self.q))
        return self.docset


def _allowed(searcher, flt):
    """The global docnums ``flt`` allows, cached on the searcher (filters repeat: lang:fa, lang:en)."""
    cache = searcher.__dict__.setdefault("_bisearch_filters", {})
    allow = cache.get(flt)
    if allow is None:
        allow = searcher._filter_to_comb(flt)
        if len(cache) >= 8:
            cache.clear()
        cache[flt] = allow
    return allow


# -- evaluating a matcher tree ----------------------------------------------


def _evaluate(m, reader, *, top: bool = True, fresh: bool = True) -> tuple[dict[int, float], bool]:
    """{docnum: score} of every document ``m`` matches, as ``m.score()`` gives them, and
    whether the dict is this call's own (else it is shared with the cache and never modified).

    A node of another kind below a union (a phrase, say) is stepped through
    with Whoosh's own matcher methods, as the union would step it. At the
    top, or where the node may have been advanced already (``fresh`` is
    False), it is :class:`Unsupported`.
    """
    cls = type(m)
    if cls is UnionMatcher:
        a, own_a = _evaluate(m.a, reader, top=False, fresh=fresh)
        b, own_b = _evaluate(m.b, reader, top=False, fresh=fresh)
        return _union(a, own_a, b, own_b)
    if cls is W3LeafMatcher or cls is ListMatcher:
        return _leaf(m, reader)
    if cls is FilterMatcher:
        # Deletions, from SegmentReader.postings: its child is a term matcher.
        # (It has stepped the child past deleted documents: not fresh.)
        child, own = _evaluate(m.child, reader, top=False, fresh=False)
        ids, boost = m._ids, m.boost
        if m._exclude and len(ids) < len(child):
            if not own:
                child = dict(child)
            for d in ids:
                child.pop(d, None)
            out = child
        elif m._exclude:
            out = {d: s for d, s in child.items() if d not in ids}
        else:
            out = {d: s for d, s in child.items() if d in ids}
        return (out if boost == 1.0 else {d: s * boost for d, s in out.items()}), True
    if cls is WrappingMatcher:
        child, own = _evaluate(m.child, reader, top=top, fresh=fresh)
        boost = m.boost
        if boost == 1.0:
            return child, own
        return {d: s * boost for d, s in child.items()}, True
    if cls is NullMatcherClass:
        return {}, True
    if cls is ArrayUnionMatcher:
        if not m._scored:
            raise Unsupported("unscored array union")
        boost = m._boost
        acc: dict[int, float] = {}
        get = acc.get
        # Its constructor has read the first part of each child: not fresh.
        for sub in m._submatchers:
            child, _own = _evaluate(sub, reader, top=False, fresh=False)
            for d, s in child.items():
                acc[d] = get(d, 0.0) + s * boost
        # The array matcher skips documents whose sum is not positive (except
        # at the start of each 2,048-document part): never the case for
        # BM25 with positive boosts; anything else is left to Whoosh.
        if acc and min(acc.values()) <= 0:
            raise Unsupported("non-positive score in an array union")
        return acc, True
    if top or not fresh:
        raise Unsupported(cls.__name__)
    out: dict[int, float] = {}
    while m.is_active():
        out[m.id()] = m.score()
        m.next()
    return out, True


def _union(a: dict[int, float], own_a: bool, b: dict[int, float], own_b: bool) -> tuple[dict[int, float], bool]:
    """UnionMatcher: a document in both children scores the sum, else its one child's score."""
    if not a:
        return b, own_b
    if not b:
        return a, own_a
    if len(a) < len(b):
        a, own_a, b, own_b = b, own_b, a, own_a  # float addition commutes: a + b == b + a exactly
    out = a if own_a else a.copy()
    get = out.get
    for d, s in b.items():
        x = get(d)
        out[d] = s if x is None else x + s
    return out, True


def _leaf(m, reader) -> tuple[dict[int, float], bool]:
    """The postings of one term matcher, each scored exactly as its BM25F scorer scores it."""
    scorer = m.scorer if type(m) is W3LeafMatcher else m._scorer
    if type(scorer) is not BM25FScorer:
        raise Unsupported(f"scorer {type(scorer).__name__}")
    fieldname, tbytes = m._term
    idf, avgfl, b, k1 = scorer.idf, scorer.avgfl, scorer.B, scorer.K1
    key = (fieldname, tbytes, idf, avgfl, b, k1)
    cached = _cache.get(reader, key)
    if cached is not None:
        return cached, False
    ids, weights = _postings(m)
    lengths = _lengths(reader, fieldname)
    norm = _normtab(k1, b, avgfl)
    k1p = k1 + 1
    try:
        # BM25F's bm25(): idf * ((tf * (K1 + 1)) / (tf + K1 * ((1 - B) + B * fl / avgfl))),
        # with the last term precomputed per length byte in the same order.
        scores = {d: idf * ((w * k1p) / (w + norm[lengths[d]])) for d, w in zip(ids, weights, strict=True)}
    except (TypeError, IndexError):
        # A posting without a stored length: Whoosh's own scorer fails on it
        # too; let it say so.
        raise Unsupported("posting without a field length") from None
    if len(scores) >= CACHE_MIN_POSTINGS:
        _cache.put(reader, key, scores)
        return scores, False
    return scores, True


def _postings(m) -> tuple[list[int], list[float]]:
    """(docnums, weights) of a term matcher's whole posting list, block by block."""
    if type(m) is ListMatcher:
        ids = list(m._ids)
        if m._all_weights:  # ListMatcher.weight(), in its order of checks
            weights = [m._all_weights] * len(ids)
        elif m._weights:
            weights = list(m._weights)
        else:
            weights = [1.0] * len(ids)
        return ids, weights
    if m._byteids:
        raise Unsupported("byte ids")
    ids: list[int] = []
    weights: list[float] = []
    # The blocks as W3LeafMatcher reads them (_goto, _read_data, _read_ids,
    # _read_weights), with the block header unpickled from a BytesIO rather
    # than through the segment file's Python-level read().
    postfile = m._postfile
    pos = m._baseoffset
    while True:
        length = _INT.unpack(postfile.get(pos, 4))[0]
        last = length < 0
        if last:
            length = -length
        block = postfile.get(pos + 4, length)
        head = BytesIO(block)
        count, _maxid, _maxweight, compression, _mnlen, _mxlen = load(head)
        data = block[head.tell() :]
        if compression:
            data = zlib.decompress(data)
        block_ids, block_weights = _ids_and_weights(data, count)
        ids.extend(accumulate(block_ids))  # Whoosh's delta_decode
        if block_weights is None:
            weights.extend([1.0] * count)
        elif isinstance(block_weights, float):
            weights.extend([block_weights] * count)
        else:
            weights.extend(block_weights)
        if last:
            return ids, weights
        pos += 4 + length


#: The start of a posting block's pickle, ``dumps((ids, weights, values), 2)``
#: (W3PostingsWriter._write_block), up to the end of ``weights``: ids is a
#: tuple of ints (each BININT1/BININT2/BININT, as the pickler writes them),
#: weights None, a float or a tuple of floats (BINFLOAT), each tuple followed
#: by its memo put. Every alternative starts with its own opcode, so there is
#: one way to read the bytes, the unpickler's own.
_IDS_WEIGHTS = re.compile(
    rb"\x80\x02"  # PROTO 2
    # ids: a tuple of ints, MARK ... TUPLE or TUPLE1..3, then its memo put
    rb"(?:\((?:K.|M..|J....)*t|(?:K.|M..|J....){1,3}[\x85-\x87])(?:q.|r....)"
    # weights: None, a tuple of floats (memoized) or one float
    rb"(?:N|\((?:G.{8})*t(?:q.|r....)|(?:G.{8}){1,3}[\x85-\x87](?:q.|r....)|G.{8})",
    re.S,
)


def _ids_and_weights(data: bytes, count: int):
    """(ids, weights) of a block's pickle, without unpickling its values.

    The values (encoded positions, one ``bytes`` per posting) are nine
    tenths of the unpickling time and scoring never reads them, so the
    pickle is cut after ``weights`` and closed as a 2-tuple. Anything
    unexpected (the cut does not parse, or gives other lengths) is read
    whole, as Whoosh reads it.
    """
    m = _IDS_WEIGHTS.match(data)
    if m is not None:
        try:
            ids, weights = loads(data[: m.end()] + b"\x86.")  # TUPLE2, STOP
        except Exception:  # any surprise: read the block whole
            pass
        else:
            if (
                type(ids) is tuple
                and len(ids) == count
                and (weights is None or type(weights) is float or (type(weights) is tuple and len(weights) == count))
            ):
                return ids, weights
    return loads(data)[:2]


def _lengths(reader, fieldname: str) -> bytes:
    """The segment's length byte of ``fieldname`` for every document (0: none stored)."""
    cache = reader.__dict__.setdefault("_bisearch_lengths", {})
    col = cache.get(fieldname)
    if col is None:
        if type(reader) is not SegmentReader or type(reader._perdoc) is not W3PerDocReader:
            raise Unsupported("reader")
        perdoc = reader._perdoc
        colreader = perdoc._cached_reader(f"_{fieldname}_len", LENGTHS_COLUMN)
        if colreader is None:
            raise Unsupported("no length column")
        n = colreader._count
        col = bytes(colreader._dbfile.get(colreader._basepos, n))
        col += bytes(max(0, perdoc._doccount - n))
        cache[fieldname] = col
    return col


def _normtab(k1: float, b: float, avgfl: float) -> list[float | None]:
    """``K1 * ((1 - B) + B * fl / avgfl)`` for each length byte (None for 0: no length)."""
    key = (k1, b, avgfl)
    tab = _normtabs.get(key)
    if tab is None:
        tab = [None] + [k1 * ((1 - b) + b * byte_to_length(i) / avgfl) for i in range(1, 256)]
        if len(_normtabs) > 64:
            _normtabs.clear()
        _normtabs[key] = tab
    return tab
