"""Did you mean: a corrected query from the index's own vocabulary.

The ``text`` field holds *terms* (stems such as ``countri``), which a user
cannot type. So a correction is found on terms and then drawn back to a
surface word: for each query word whose term the index does not hold (or
holds far more rarely than a neighbour), the candidates are the index terms
within edit distance 2 in the same script (Whoosh's ``terms_within``, an
automaton over the term dictionary), ranked by distance, then frequency; the
winner's most common surface spelling is read from a passage that holds it.
That gives a real word, in the query's script, as the index spells it.

Arabic letters (ي/ك), a missing or extra ZWNJ and diacritics are already
folded by the analyzers, so such a query finds its matches without help. A
Persian word split by a space instead of a ZWNJ (``کتاب خانه``) is offered
joined when the joined word is in the index and the halves are not.
"""

from __future__ import annotations

import re
import threading
import weakref
from bisect import bisect_left
from collections import Counter
from collections.abc import Iterable, Iterator

from whoosh import query as wq
from whoosh.fields import TEXT
from whoosh.reading import SegmentReader

from analyzers import english
from analyzers.chars import DROP_TABLE, ZWNJ, fold, strip_marks

_DROP_MARKS = {k: v for k, v in DROP_TABLE.items() if k != ord(ZWNJ)}

#: Suggest only when a query found fewer passages than this (or has a word
#: the index never saw).
FEW_RESULTS = 3
#: A known word is corrected only when the candidate is this many times more frequent.
RARE_RATIO = 20
_MAX_DIST = 2


#: ``field:value`` clauses (``lang:fa``, ``date:[2024 TO 2025]``, ``title:"…"``): never corrected.
_FIELD_CLAUSE = re.compile(r"(?<![\w/\\])[A-Za-z_][A-Za-z0-9_]*:(?:\[[^\]]*\]?|\{[^}]*\}?|\"[^\"]*\"?|\S*)")
_OPERATORS = frozenset({"AND", "OR", "NOT", "ANDNOT", "ANDMAYBE", "TO"})


def _tokens(text: str, analyzer) -> list[tuple[int, int, str, str]]:
    """``(start, end, term, script)`` of the query's free-text, non-stopword Latin and Persian words."""
    skip = [m.span() for m in _FIELD_CLAUSE.finditer(text)]
    return [
        (t.startchar, t.endchar, t.text, t.script)
        for t in analyzer(text, chars=True, mode="query")
        # getattr: an analyzer that tags no script (a stock Whoosh baseline) gets no suggestion.
        if getattr(t, "script", None) in ("en", "fa")
        and text[t.startchar : t.endchar] not in _OPERATORS
        and not any(s <= t.startchar < e for s, e in skip)
    ]


def _script_of_term(term: str) -> str:
    return "fa" if term[:1] and "\u0600" <= term[0] <= "\u06ff" else "en"


def _distance(a: str, b: str) -> int:
    """Levenshtein distance (short words only)."""
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]


def _surface(searcher, analyzer, term: str, typed: str = "") -> str | None:
    """The spelling of ``term`` in a few passages that hold it closest to
    what was ``typed`` (economik → economic, not economy), then most common."""
    counts: Counter[str] = Counter()
    for hit in searcher.search(wq.Term("text", term), limit=5):
        text = hit.get("text") or ""
        for t in analyzer(text, chars=True, mode="index"):
            if t.text == term:
                word = text[t.startchar : t.endchar]
                # As the index spells it (ZWNJ kept), with Arabic letters folded.
                counts[word.lower() if t.script == "en" else fold(word).translate(_DROP_MARKS)] += 1
    if not counts:
        return None
    typed = typed.lower()
    return min(counts, key=lambda w: (_distance(w, typed), -counts[w]))


#: reader → {(field, script): that script's terms of the field, sorted};
#: dropped with the reader (a searcher refreshed after a commit has a new one).
_TERM_LISTS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_TERM_LOCK = threading.Lock()


def _sorted_terms(reader: SegmentReader, fieldname: str, script: str) -> list[str]:
    """The terms of ``fieldname`` whose script (:func:`_script_of_term`) is
    ``script``, in index order; read once per reader.

    The index orders terms by code point, so the Persian ones (first letter in
    U+0600..U+06FF) are one run and the rest lie before and after it.
    """
    with _TERM_LOCK:
        per_reader = _TERM_LISTS.setdefault(reader, {})
        terms = per_reader.get((fieldname, script))
        if terms is None:
            every = [b.decode("utf-8") for b in reader.lexicon(fieldname)]
            lo, hi = bisect_left(every, "\u0600"), bisect_left(every, "\u0700")
            per_reader[(fieldname, "fa")] = every[lo:hi]
            per_reader[(fieldname, "en")] = every[:lo] + every[hi:]
            terms = per_reader[(fieldname, script)]
    return terms


def _find_matches(dfa, terms: list[str]) -> Iterator[str]:
    """The terms the automaton accepts: Whoosh's ``find_matches`` walk
    (``whoosh.codec.base.Automata``), with each jump a ``bisect`` in a list
    instead of a binary search through the on-disk term index (one Python
    call per probe, ~2,000 jumps per word)."""
    if not terms:
        return
    i, n = 0, len(terms)
    match = dfa.next_valid_string(terms[0])
    while match:
        # Matches only grow, so the search starts where the last one ended.
        i = bisect_left(terms, match, i)
        if i == n:
            return
        term = terms[i]
        if match == term:
            yield match
            term += "\0"
        match = dfa.next_valid_string(term)


#: Candidates share the typed word's first letter, as in Lucene's
#: DirectSpellChecker (``minPrefix=1``): people rarely mistype the first
#: letter, and walking only that letter's terms made the slowest 5% of
#: questions (a word the index lacks) several times faster.
PREFIX = 1


def _terms_within(reader, fieldname: str, text: str, maxdist: int, script: str) -> Iterable[str]:
    """The terms of ``reader.terms_within(fieldname, text, maxdist, prefix=PREFIX)``
    whose script is ``script`` (the only ones a correction may use), faster.

    For one segment Whoosh walks a Levenshtein automaton over the whole term
    dictionary on disk; the same walk runs here over the field's terms of that
    script that start with the word's first letter, held in memory (read once
    per reader: ~60,000 terms, ~0.1 s, for a 12,000-document index), so it
    makes fewer jumps and each is a bisect. Other readers (several segments)
    keep Whoosh's own method.
    """
    fieldobj = reader.schema[fieldname]
    if type(reader) is not SegmentReader or not isinstance(fieldobj, TEXT) or fieldobj.separate_spelling():
        return (t for t in reader.terms_within(fieldname, text, maxdist, prefix=PREFIX) if _script_of_term(t) == script)
    dfa = reader._codec.automata(reader._storage, reader._segment).levenshtein_dfa(text, maxdist, PREFIX)
    terms = _sorted_terms(reader, fieldname, script)
    head = text[:PREFIX]
    lo = bisect_left(terms, head)
    hi = bisect_left(terms, head[:-1] + chr(ord(head[-1]) + 1), lo) if head else len(terms)
    return _find_matches(dfa, terms[lo:hi])


def _candidate(reader, probes: tuple[str, ...], script: str, maxdist: int = _MAX_DIST) -> tuple[str, int] | None:
    """The best index term near one of ``probes`` (the word's term and its
    unstemmed form: a typo can change what the stemmer strips, اصفحان → اصفح):
    smallest distance, then most frequent."""
    best: tuple[int, int, str] | None = None
    for dist in range(1, maxdist + 1):
        for probe in probes:
            if len(probe) < 3 or (dist == 2 and len(probe) < 5):
                continue
            for cand in _terms_within(reader, "text", probe, dist, script):
                if cand in probes or _script_of_term(cand) != script:
                    continue
                df = reader.doc_frequency("text", cand)
                key = (dist, -df, cand)
                if best is None or key < best:
                    best = key
        if best is not None:
            break
    return (best[2], -best[1]) if best else None


def suggest(searcher, text: str, analyzer, total: int) -> str | None:
    """A corrected ``text``, or None when there is nothing better to offer."""
    reader = searcher.reader()
    tokens = _tokens(text, analyzer)
    if not tokens:
        return None
    dfs = [reader.doc_frequency("text", term) for _s, _e, term, _sc in tokens]
    if total >= FEW_RESULTS and all(dfs):
        return None
    edits: list[tuple[int, int, str]] = []
    i = 0
    while i < len(tokens):
        s, e, term, script = tokens[i]
        df = dfs[i]
        # Two Persian words that belong together (ZWNJ typed as a space).
        if script == "fa" and i + 1 < len(tokens) and tokens[i + 1][3] == "fa":
            s2, e2, _t2, _ = tokens[i + 1]
            joined_terms = [t.text for t in analyzer(text[s:e] + text[s2:e2], mode="query")]
            if len(joined_terms) == 1 and reader.doc_frequency("text", joined_terms[0]) > 0:
                if df == 0 or dfs[i + 1] == 0:
                    word = _surface(searcher, analyzer, joined_terms[0])
                    if word:
                        edits.append((s, e2, word))
                        i += 2
                        continue
        if df == 0 or total < FEW_RESULTS:
            if text[e : e + 1] in ("~", "*"):  # fuzzy or prefix: the user asked for variants
                i += 1
                continue
            surface = text[s:e]
            plain = english.ascii_fold(surface.lower()) if script == "en" else strip_marks(fold(surface))
            # A query that found plenty is offered only one-letter fixes: a
            # two-letter walk is the slowest step of a search (tens of ms) and
            # is worth it only when the query found next to nothing.
            maxdist = _MAX_DIST if total < FEW_RESULTS else 1
            cand = _candidate(reader, tuple(dict.fromkeys((term, plain))), script, maxdist)
            if cand is not None and (df == 0 or cand[1] >= RARE_RATIO * df):
                word = _surface(searcher, analyzer, cand[0], surface)
                if word and word.lower() != text[s:e].lower():
                    original = text[s:e]
                    if script == "en" and original[:1].isupper():
                        word = word[:1].upper() + word[1:]
                    edits.append((s, e, word))
        i += 1
    if not edits:
        return None
    out, pos = [], 0
    for s, e, word in edits:
        out.append(text[pos:s])
        out.append(word)
        pos = e
    out.append(text[pos:])
    suggestion = "".join(out)
    return suggestion if suggestion != text else None
