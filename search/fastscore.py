"""Term-at-a-time scoring of OR (and AND) queries: Whoosh's results, without its per-document loop.

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
  number of matches, as Whoosh counts it. Collapsed by a column (the
  documents of ``search_documents``), they are what
  ``CollapseCollector(..., limit=1)`` keeps: each key's best match, the
  earliest of equals (see :func:`_collapsed_top`).

Prefix and fuzzy terms are such trees inside Whoosh too. ANDs are evaluated
alike (the documents of both sides, their scores added), and so are the
clauses a query's filters become (``lang:fa``, ``source:``, ``date:``,
``NOT lang:en``): Whoosh scores a term of an unscored field by its weight, a
date range by its constant and a NOT by its weight, and adds them in, so
they are reproduced, not dropped. Any other node below an OR (a phrase, say)
is stepped through with Whoosh's own matcher methods, as the union would
step it, where it is still unstepped. A query whose top is another node (a
phrase alone, ``Iran -Russia``'s AND NOT), that holds such a node where
Whoosh has already stepped it (below an AND, or an OR of a small segment),
or a tree scored otherwise (another weighting model, a coordination
``scale``), is :class:`Unsupported`, and the caller runs Whoosh's loop as
before.

Scored postings of long posting lists are kept between queries (a bounded
LRU, :data:`CACHE_POSTINGS`): common words come back in question after
question, and they are what the slow queries spend their time on. An entry
is keyed by the segment and by everything its scores depend on (term, idf,
average length, K1, B; a term of an unscored field, its weights alone), so it
can never be stale; deletions are applied per query.
"""

from __future__ import annotations

import heapq
import re
import struct
import threading
import weakref
import zlib
from array import array
from collections import OrderedDict, defaultdict
from io import BytesIO
from itertools import accumulate, compress
from pickle import load, loads

from whoosh.codec.whoosh3 import LENGTHS_COLUMN, W3LeafMatcher, W3PerDocReader
from whoosh.columns import VarBytesColumn
from whoosh.matching import ListMatcher, NullMatcherClass, UnionMatcher, WrappingMatcher
from whoosh.matching.binary import IntersectionMatcher
from whoosh.matching.combo import ArrayUnionMatcher
from whoosh.matching.wrappers import FilterMatcher, InverseMatcher
from whoosh.reading import SegmentReader
from whoosh.scoring import BM25FScorer, WeightScorer
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


def fast_collect(searcher, q, limit: int | None, *, filter=None, collapse: str | None = None) -> Results:
    """Whoosh's ``TopCollector``/``UnlimitedCollector`` results for ``q``, computed a term at a time;
    with ``collapse``, those of ``CollapseCollector(that collector, collapse, limit=1)``.

    Raises :class:`Unsupported` (before anything is returned) when the query
    is not a tree of ORs, ANDs and filter clauses (see the module's
    docstring) scored by BM25F, or the search is one this module does not
    reproduce (below).
    """
    if getattr(searcher.weighting, "use_final", False):
        raise Unsupported("final()")
    if limit is not None and limit < 1:
        raise Unsupported("limit")  # Whoosh's TopCollector(0) fails on the first match
    if collapse is not None and filter is not None:
        # Whoosh's FilterCollector hands its matches straight to the top
        # collector, past CollapseCollector.collect_matches: nothing is
        # collapsed. Nobody asks for both; leave that to Whoosh.
        raise Unsupported("collapse with a filter")
    names = _collapse_names(searcher, collapse) if collapse is not None else None
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
    unlimited = limit is None or limit >= searcher.doc_count()
    if names is not None:
        top = _collapsed_top(found, names, None if unlimited else limit)
        r = _CollapsedResults(searcher, q, [(s, d) for d, s in top])
        r._found, r._names, r._unlimited = found, names, unlimited
        return r
    total = len(found)
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

    def has_exact_length(self) -> bool:
        return True


# -- collapsing (CollapseCollector(c, field, limit=1)) ----------------------
#
# Whoosh steps through the matches in docnum order. A match whose key (the
# field's column value, as its name) is empty is always collected; otherwise
# it is collected if it is its key's first match or scores strictly more than
# the key's best so far, which is then removed from the collector. The top
# collector's heap thereby always holds the N best of the keys' current
# bests (a removed best was either in the heap, then its successor takes
# its place, or it was not, then removing it changes nothing), so the hits
# are the N first of the keys' bests in TopCollector's order (score
# descending, docnum ascending), and a key's best is its highest-scoring
# match, the earliest of equals: the first match of its key in that order.
# The total (TopCollector counts every collect) and, for an unlimited
# search, the docset (UnlimitedCollector keeps every collected docnum) need
# the docnum-order pass; they are worked out only when asked for.


class _CollapsedResults(_FastResults):
    """Results of a collapsed search; the total, docset and collapsed counts worked out when asked for."""

    _found: dict[int, float]
    _names: list
    _unlimited: bool
    _collapsed_counts = None
    _collected = None

    def _stepped(self) -> None:
        total, collected, counts = _collapse_pass(self._found, self._names)
        self._total, self._collected, self._collapsed_counts = total, collected, counts

    def __len__(self) -> int:
        if self._total is None:
            self._stepped()
        return self._total

    def docs(self):
        if self.docset is None:
            if self._unlimited:  # UnlimitedCollector's docset: every docnum it collected
                if self._collected is None:
                    self._stepped()
                self.docset = set(self._collected)
            else:  # TopCollector's: every match of the query
                self.docset = set(self.searcher.docs_for_query(self.q))
        return self.docset

    @property
    def collapsed_counts(self):
        """{key: documents dropped for it}, as CollapseCollector reports them."""
        if self._collapsed_counts is None:
            self._stepped()
        return self._collapsed_counts


def _collapsed_top(found: dict[int, float], names: list, limit: int | None) -> list[tuple[int, float]]:
    """The ``limit`` (all if None) best (docnum, score), at most one a key, as CollapseCollector keeps them.

    Walks TopCollector's order keeping each key's first match; the order is
    built a prefix at a time (the ``m`` best matches), longer until enough
    keys are found.
    """
    n = len(found)
    m = n if limit is None else min(n, max(2 * limit, 64))
    while True:
        order = _tie_order(list(found.items())) if m >= n else _top(found, m)
        out: list[tuple[int, float]] = []
        seen: set = set()
        for d, s in order:
            k = names[d]
            if k:
                if k in seen:
                    continue
                seen.add(k)
            out.append((d, s))
            if len(out) == limit:
                return out
        if m >= n:
            return out
        m = min(n, 4 * m)


def _collapse_pass(found: dict[int, float], names: list) -> tuple[int, list[int], defaultdict]:
    """CollapseCollector's pass in docnum order: (collects, docnums collected, {key: documents dropped})."""
    best: dict = {}
    collected: list[int] = []
    counts: defaultdict = defaultdict(int)
    for d in sorted(found):
        s = found[d]
        k = names[d]
        if k:
            b = best.get(k)
            if b is not None and not s > b:
                counts[k] += 1
                continue
            best[k] = s
        collected.append(d)
    return len(collected), collected, counts


def column_names(searcher, fieldname: str) -> list | None:
    """Every document's ``fieldname`` value by global docnum, read from its column (None where that cannot be done).

    What a hit's stored fields would say of a sortable ``ID`` field such as
    ``doc_id``, without unpickling each hit's stored fields (passage text
    included): the list a collapsed search built already, cached on the searcher.
    """
    try:
        return _collapse_names(searcher, fieldname)
    except Unsupported:
        return None


def _collapse_names(searcher, fieldname: str) -> list:
    """The collapse key (the name of its column value) of every document, by global docnum.

    As Whoosh's ColumnCategorizer reads them: per segment, the column reader
    ``reader.column_reader(field, translate=False)`` (a segment without the
    column gives the column's default), named by the field's
    ``from_column_value``. Cached on the searcher.
    """
    cache = searcher.__dict__.setdefault("_bisearch_keys", {})
    names = cache.get(fieldname)
    if names is not None:
        return names
    if not isinstance(fieldname, str) or fieldname not in searcher.schema:
        raise Unsupported("collapse facet")
    fieldobj = searcher.schema[fieldname]
    if not searcher.reader().has_column(fieldname):
        raise Unsupported("collapse by postings")  # Whoosh's PostingCategorizer
    per = []
    expected = 0
    for subsearcher, offset in searcher.leaf_searchers():
        reader = subsearcher.reader()
        if type(reader) is not SegmentReader or offset != expected:
            raise Unsupported("reader")
        per.append(_segment_names(reader, fieldname, fieldobj))
        expected += reader.doc_count_all()
    names = per[0] if len(per) == 1 else [k for p in per for k in p]
    if len(cache) >= 4:
        cache.clear()
    cache[fieldname] = names
    return names


def _segment_names(reader, fieldname: str, fieldobj) -> list:
    """One segment's collapse keys (cached on its reader: column values never change)."""
    cache = reader.__dict__.setdefault("_bisearch_keys", {})
    names = cache.get(fieldname)
    if names is None:
        creader = reader.column_reader(fieldname, reverse=False, translate=False)
        n = reader.doc_count_all()
        if type(creader) is VarBytesColumn.Reader and len(creader._lengths) == n:
            # Its __getitem__ for every document, from one read of the data.
            lengths, offsets = creader._lengths, creader._offsets
            size = offsets[-1] + lengths[-1] if n else 0
            data = bytes(creader._dbfile.get(creader._basepos, size)) if size else b""
            values = [data[o : o + ln] for o, ln in zip(offsets, lengths, strict=True)]
        else:
            values = [creader.sort_key(i) for i in range(n)]
        try:
            named = {v: fieldobj.from_column_value(v) for v in set(values)}
        except Exception:  # Whoosh would fail on such a value only when it meets it
            raise Unsupported("collapse key") from None
        names = [named[v] for v in values]
        cache[fieldname] = names
    return names


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
    if cls is IntersectionMatcher:
        # AND: the documents of both, scored a + b. Its constructor has moved
        # both children to their first common document: not fresh.
        a, _own = _evaluate(m.a, reader, top=False, fresh=False)
        b, _own = _evaluate(m.b, reader, top=False, fresh=False)
        if len(a) <= len(b):
            return {d: s + b[d] for d, s in a.items() if d in b}, True
        return {d: a[d] + s for d, s in b.items() if d in a}, True
    if cls is InverseMatcher:
        # NOT (as an AND's clause): every document of the segment that is not
        # deleted (``missing``) and not matched by its child, each weighing
        # ``_weight``. The child is unscored (a boolean context), stepped by
        # the constructor.
        excluded = _ids(m.child, reader)
        missing = m.missing
        if missing == reader.is_deleted and not reader.has_deletions():
            kept = (d for d in range(m.limit) if d not in excluded)
        else:
            kept = (d for d in range(m.limit) if d not in excluded and not missing(d))
        return dict.fromkeys(kept, m._weight), True
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


def _ids(m, reader) -> set[int]:
    """The documents an unscored matcher (a NOT's child, built in a boolean context) matches."""
    cls = type(m)
    if cls is W3LeafMatcher or cls is ListMatcher:
        return set(_postings(m)[0])
    if cls is FilterMatcher:
        child = _ids(m.child, reader)
        return child.difference(m._ids) if m._exclude else child.intersection(m._ids)
    if cls is UnionMatcher:
        return _ids(m.a, reader) | _ids(m.b, reader)
    if cls is ArrayUnionMatcher and not m._scored:  # every posting marks its document 1: all are matches
        out: set[int] = set()
        for sub in m._submatchers:
            out |= _ids(sub, reader)
        return out
    if cls is IntersectionMatcher:
        return _ids(m.a, reader) & _ids(m.b, reader)
    if cls is WrappingMatcher:
        return _ids(m.child, reader)
    if cls is NullMatcherClass:
        return set()
    raise Unsupported(f"unscored {cls.__name__}")


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
    """The postings of one term matcher, each scored exactly as its BM25F scorer scores it.

    A field that is not scorable (``lang:fa``, ``source:``) has a
    :class:`~whoosh.scoring.WeightScorer`, and a constant-score list (a date
    range) none: both score a posting by its weight.
    """
    scorer = m.scorer if type(m) is W3LeafMatcher else m._scorer
    if type(scorer) is WeightScorer or (scorer is None and type(m) is ListMatcher):
        return _weights_leaf(m, reader)
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
        # A posting whose document has length byte 0 in the segment's length
        # column (Whoosh and our writer store a length only when the field's
        # frequencies add up to more than 0, so only a posting of frequency 0
        # gets there). W3PerDocReader.doc_field_length then returns None, not
        # its default, and bm25() fails on ``B * None``: a TypeError, which
        # Whoosh's loop, run instead, raises as before.
        raise Unsupported("posting with length byte 0") from None
    if len(scores) >= CACHE_MIN_POSTINGS:
        _cache.put(reader, key, scores)
        return scores, False
    return scores, True


def _weights_leaf(m, reader) -> tuple[dict[int, float], bool]:
    """{docnum: weight} of a term matcher: its ``weight()`` at each posting, what its score is."""
    key = None
    if type(m) is W3LeafMatcher:
        fieldname, tbytes = m._term
        key = (fieldname, tbytes, "weight")
        cached = _cache.get(reader, key)
        if cached is not None:
            return cached, False
    ids, weights = _postings(m)
    scores = dict(zip(ids, weights, strict=True))
    if key is not None and len(scores) >= CACHE_MIN_POSTINGS:
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
            # One weight for the block: Whoosh reads it into an array("f"). (Both
            # writers store it rounded to float32 already: no change, in practice.)
            weights.extend([array("f", (block_weights,))[0]] * count)
        else:
            weights.extend(block_weights)
        if last:
            return ids, weights
        pos += 4 + length


#: The start of a posting block's pickle, ``dumps((ids, weights, values), P)``
#: (W3PostingsWriter._write_block writes protocol 2, our writer 3 or 4; see
#: search.writer._BLOCK_PROTOCOL), up to the end of ``weights``: ids is a
#: tuple of ints (each BININT1/BININT2/BININT, as the pickler writes them),
#: weights None, a float or a tuple of floats (BINFLOAT), each tuple followed
#: by its memo (BINPUT/LONG_BINPUT, or MEMOIZE from protocol 4, whose pickle
#: may open with a FRAME). Every alternative starts with its own opcode, so
#: there is one way to read the bytes, the unpickler's own.
_IDS_WEIGHTS = re.compile(
    rb"\x80(?:[\x02\x03]|\x04(?P<frame>\x95.{8})?)"  # PROTO 2, 3 or 4 (FRAME)
    # ids: a tuple of ints, MARK ... TUPLE or TUPLE1..3, then its memo
    rb"(?:\((?:K.|M..|J....)*t|(?:K.|M..|J....){1,3}[\x85-\x87])(?:q.|r....|\x94)"
    # weights: None, a tuple of floats (memoized) or one float
    rb"(?:N|\((?:G.{8})*t(?:q.|r....|\x94)|(?:G.{8}){1,3}[\x85-\x87](?:q.|r....|\x94)|G.{8})",
    re.S,
)


def _ids_and_weights(data: bytes, count: int):
    """(ids, weights) of a block's pickle, without unpickling its values.

    Scoring never reads the values (encoded positions, one ``bytes`` per
    posting), and in Whoosh's protocol 2 pickle they are nine tenths of the
    unpickling time, so the pickle is cut after ``weights`` and closed as a
    2-tuple. Anything
    unexpected (the cut does not parse, or gives other lengths) is read
    whole, as Whoosh reads it.
    """
    m = _IDS_WEIGHTS.match(data)
    if m is not None:
        try:
            # A frame announces the whole pickle's length: the cut goes without it.
            head = data[: m.end()] if m.start("frame") < 0 else data[:2] + data[11 : m.end()]
            ids, weights = loads(head + b"\x86.")  # TUPLE2, STOP
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
    """The segment's length byte of ``fieldname`` for every document, as BM25F's scorer reads it.

    A segment without a length column for the field (none of its documents
    had a length, yet a term has postings: frequencies of 0) reads as length
    1 for every document: the default the scorer passes to
    ``doc_field_length``. Within a column, a byte 0 is no length at all (see
    :func:`_normtab`).
    """
    cache = reader.__dict__.setdefault("_bisearch_lengths", {})
    col = cache.get(fieldname)
    if col is None:
        if type(reader) is not SegmentReader or type(reader._perdoc) is not W3PerDocReader:
            raise Unsupported("reader")
        perdoc = reader._perdoc
        colreader = perdoc._cached_reader(f"_{fieldname}_len", LENGTHS_COLUMN)
        if colreader is None:
            col = b"\x01" * perdoc._doccount  # byte_to_length(1) == 1
        else:
            n = colreader._count
            col = bytes(colreader._dbfile.get(colreader._basepos, n))
            col += bytes(max(0, perdoc._doccount - n))
        cache[fieldname] = col
    return col


def _normtab(k1: float, b: float, avgfl: float) -> list[float | None]:
    """``K1 * ((1 - B) + B * fl / avgfl)`` for each length byte.

    None for byte 0: ``doc_field_length`` returns None for it (it decodes
    only a non-zero byte), and Whoosh's bm25() fails on that length.
    """
    key = (k1, b, avgfl)
    tab = _normtabs.get(key)
    if tab is None:
        tab = [None] + [k1 * ((1 - b) + b * byte_to_length(i) / avgfl) for i in range(1, 256)]
        if len(_normtabs) > 64:
            _normtabs.clear()
        _normtabs[key] = tab
    return tab
