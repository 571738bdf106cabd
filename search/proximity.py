"""Term proximity: passages where the query's words stand together rank higher.

BM25 scores each word on its own, so a passage with "super" in one sentence
and "bowl" four hundred words later scores as one that says "Super Bowl".
Metzler and Croft's sequential dependence model adds evidence for each pair of
neighbouring query words: how often they occur in order and adjacent, and how
often at most :data:`WINDOW` positions apart in any order. Here that
evidence re-ranks the top :data:`DEPTH` hits of the BM25 ranking:

    score + Σ over pairs (a, b):  min(idf a, idf b) × (sat(ordered) + sat(window))

with ``sat(n) = n / (SATURATION + n)``, so one occurrence already counts and
ten count barely more. A bonus only ever raises a score, so the re-ranked top
stays above the rest and paging stays consistent.

Positions are the analyzer's (stopwords are dropped and positions renumbered
at index and query time alike, so "Super Bowl of the NFL" keeps "bowl" and
"nfl" adjacent), read from the ``text`` field's postings for the top hits only.

**English words only.** Measured on the dev splits (README, Quality), English
gains (en-squad MRR@10 +0.009 on the first 500 questions and +0.004 on the
next 1,500; Cranfield MAP −0.002), Persian loses at every weight tried
(0.1–4: fa-qa and Hamshahri never above their BM25 figure). A Persian pair
gets no bonus; a mixed query gets it for its English neighbours.
"""

from __future__ import annotations

import math
import re
from bisect import bisect_left

from whoosh import query as wq
from whoosh.codec.whoosh3 import W3LeafMatcher
from whoosh.reading import TermNotFound

from search.query import scored_terms

#: Hits re-ranked (a bonus only moves a hit among these).
DEPTH = 50
#: Most positions apart for the any-order evidence (as SDM's unordered window).
WINDOW = 8
#: Weights of the two kinds of evidence, and the saturation of their counts.
ORDERED_WEIGHT = 1.0
WINDOW_WEIGHT = 1.0
SATURATION = 1.0
#: The field whose positions are read.
FIELD = "text"
# A boost, as Whoosh's BoostPlugin reads it: "^", a number (or none), then a space or the end.
_BOOST_RX = re.compile(r"\^[0-9]*(?:\.[0-9]+)?(?=$|[ \t\r\n)])")


def _latin(term) -> bool:
    # The script rule of search.weighting: a term of Latin letters is English.
    return "a" <= term[:1] <= "z"


def _english(term) -> bool:
    # English words, and numbers beside them: "Super Bowl 50", "Apollo 11".
    return _latin(term) or "0" <= term[:1] <= "9"


def query_pairs(
    q: wq.Query, text: str, analyzer, field: str = FIELD, *, scored: set[str] | None = None
) -> tuple[tuple[str, str], ...]:
    """Neighbouring English words of the query ``text``, both in ``q``'s scored part.

    The parsed query ``q`` says which words are scored: words it excludes
    (``-word``, ``NOT``), filters (``lang:en``), phrases and other fields'
    terms (``title:x``) are not, and break the chain, since the words on
    either side of them were not neighbours. The text, analyzed as the parser
    analyzes it, gives the order: the parsed query keeps a repeated word
    once, and "mass transfer ... mass transfer" has the pair twice over.
    A boost (``super^2 bowl``) is syntax, not a word between neighbours.
    ``scored``: ``scored_terms(q, field)``, when the caller has it already.
    """
    if scored is None:
        scored = scored_terms(q, field)
    scored = {t for t in scored if _english(t)}
    if len(scored) < 2:
        return ()
    pairs: list[tuple[str, str]] = []
    prev = None
    for token in analyzer(_BOOST_RX.sub("", text), mode="query"):
        word = token.text if token.text in scored else None
        if (
            word is not None
            and prev is not None
            and word != prev
            and (_latin(word) or _latin(prev))  # two numbers in a Persian query are not English
            and (prev, word) not in pairs
        ):
            pairs.append((prev, word))
        prev = word
    return tuple(pairs)


def rerank(searcher, results, pairs: tuple[tuple[str, str], ...], *, depth: int = DEPTH, field: str = FIELD):
    """Add the proximity bonus to the top ``depth`` of Whoosh ``results``, re-sorted in place.

    Ties keep their BM25 order. Returns ``results``.
    """
    top = results.top_n[:depth]
    if not pairs or len(top) < 2:
        return results
    docnums = sorted(d for _, d in top)
    terms = sorted({t for pair in pairs for t in pair})
    positions = _positions(searcher, field, terms, docnums)
    n = searcher.doc_count_all()
    idf = {}
    for t in terms:
        df = searcher.doc_frequency(field, t)
        idf[t] = math.log(1.0 + (n - df + 0.5) / (df + 0.5))
    scored = [(score + _bonus(d, pairs, positions, idf), d) for score, d in top]
    scored.sort(key=lambda x: -x[0])  # stable: ties keep BM25's order
    results.top_n = scored + results.top_n[depth:]
    return results


def _positions(searcher, field: str, terms: list[str], docnums: list[int]) -> dict[str, dict[int, list[int]]]:
    """``term → docnum → positions`` for the given (sorted) docnums."""
    out: dict[str, dict[int, list[int]]] = {}
    reader = searcher.reader()
    for t in terms:
        try:
            m = reader.postings(field, t)
        except TermNotFound:  # the word is in no passage
            continue
        found: dict[int, list[int]] = {}
        for d in docnums:
            if not m.is_active():
                break
            if m.id() < d:
                _skip_to(m, d)
                if not m.is_active():
                    break
            if m.id() == d:
                found[d] = m.value_as("positions")
        out[t] = found
    return out


def _skip_to(m, target: int) -> None:
    """``m.skip_to(target)``, with a binary search inside the block.

    Whoosh's block matcher steps through a block one posting at a time, a
    method call each; on a common word that was most of the re-ranking's
    time. Other matchers (several segments) take their own ``skip_to``.
    """
    if not isinstance(m, W3LeafMatcher):
        m.skip_to(target)
        return
    if target > m.block_max_id():
        m._skip_to_block(lambda: target > m.block_max_id())
        if not m.is_active():
            return
    m.id()  # loads the block's ids
    m._i = bisect_left(m._ids, target, m._i)  # < block length: the block's last id is ≥ target


def _bonus(docnum: int, pairs, positions, idf) -> float:
    total = 0.0
    for a, b in pairs:
        pa = positions.get(a, {}).get(docnum)
        pb = positions.get(b, {}).get(docnum)
        if not pa or not pb:
            continue
        after = set(pb)
        ordered = sum(1 for x in pa if x + 1 in after)
        near = sum(1 for x in pa for y in pb if abs(x - y) <= WINDOW)
        evidence = ORDERED_WEIGHT * ordered / (SATURATION + ordered) + WINDOW_WEIGHT * near / (SATURATION + near)
        total += min(idf[a], idf[b]) * evidence
    return total
