"""Snippets: the best window of a passage, with highlights as offsets.

Whoosh's own highlighter re-analyzes stored text and hands back marked-up
strings. We need data instead (spans for the terminal, HTML and JSON alike),
so this module re-analyzes the passage with the field's analyzer and keeps
every token whose *term* is one the query matched. Because analyzer tokens
carry offsets into the original text, a query for ``همکاری`` highlights
``همکاریهای`` and ``1404`` highlights ``۱۴۰۴``: the match is decided on
terms, the highlight is drawn on the original characters.
"""

from __future__ import annotations

import threading
from array import array
from collections import OrderedDict
from collections.abc import Iterable

from whoosh import query as wq

from search.model import Snippet, Span

SNIPPET_CHARS = 320


def matched_terms(query, reader, fields: Iterable[str] = ("text", "title")) -> frozenset[str]:
    """The terms of ``query`` in ``fields``, with prefix/wildcard/fuzzy terms
    expanded against the index; terms under NOT are left out (they cannot be
    why a passage matched). Whoosh's own ``existing_terms`` misses most terms
    of compound queries in 2.7.4, hence this walk."""
    wanted = set(fields)
    out: set[str] = set()

    def walk(q) -> None:
        if isinstance(q, wq.Not):
            return
        if isinstance(q, wq.AndNot):
            walk(q.a)
            return
        if isinstance(q, wq.MultiTerm):
            if q.field() in wanted:
                for _f, bt in q.expanded_terms(reader):
                    out.add(bt.decode("utf-8") if isinstance(bt, bytes) else bt)
            return
        if q.is_leaf():
            for f, t in q.iter_all_terms(phrases=True):
                if f in wanted:
                    out.add(t.decode("utf-8") if isinstance(t, bytes) else t)
            return
        for child in q.children():
            walk(child)

    walk(query)
    return frozenset(out)


#: Passages whose analysis is kept, the least recently used dropped first: the
#: same passages come back across queries (a third of the top-10 hits of 300
#: fa-qa dev questions), and analyzing one costs ~0.4 ms. About 5 KB each
#: (offsets in an array, the terms shared with the analyzer's memo, the text).
_TOKEN_CACHE_SIZE = 1024
_token_cache: OrderedDict[tuple[int, str], tuple[object, array, tuple[str, ...]]] = OrderedDict()
_token_lock = threading.Lock()


def _tokens(text: str, analyzer) -> list[tuple[int, int, str]]:
    """``(start, end, term)`` of each token ``analyzer`` indexes for ``text``, memoized."""
    key = (id(analyzer), text)
    with _token_lock:
        entry = _token_cache.get(key)
        if entry is not None and entry[0] is analyzer:
            _token_cache.move_to_end(key)
            _, offsets, terms = entry
            return [(offsets[2 * i], offsets[2 * i + 1], term) for i, term in enumerate(terms)]
    tokens = [(t.startchar, t.endchar, t.text) for t in analyzer(text, chars=True, positions=False, mode="index")]
    offsets = array("L", [x for s, e, _ in tokens for x in (s, e)])
    with _token_lock:
        _token_cache[key] = (analyzer, offsets, tuple(t for _, _, t in tokens))
        while len(_token_cache) > _TOKEN_CACHE_SIZE:
            _token_cache.popitem(last=False)
    return tokens


def find_spans(text: str, analyzer, terms: frozenset[str], keys: frozenset[str] = frozenset()) -> list[tuple[int, int, str]]:
    """``(start, end, term)`` of every token of ``text`` whose term is in ``terms``.

    With ``keys`` (cross-script keys a bridged query looked up, see
    :mod:`search.crosslingual`), also every word whose key is one of them:
    the Persian word an English name matched is drawn like any other match.
    """
    if not terms and not keys:
        return []
    tokens = _tokens(text, analyzer)
    spans = [tok for tok in tokens if tok[2] in terms]
    if keys and _has_tokens_of(text, {k.partition(":")[0] for k in keys}):
        from analyzers.crossscript import token_keys

        hit = {(s, e) for s, e, _script, key in token_keys(text) if key in keys}
        # The text token at a key's span (its term is what ``matched`` reports).
        extra = [tok for tok in tokens if (tok[0], tok[1]) in hit and tok[2] not in terms]
        if extra:
            spans = sorted(spans + extra)
    return spans


def _has_tokens_of(text: str, scripts: set[str]) -> bool:
    """Whether the tokenizer finds a word of one of ``scripts`` in ``text``.

    A word's cross-script key starts with its own script (``fa:sfhn``), so a
    Persian query's keys (``en:…``) can only match Latin words: in an
    all-Persian passage there is nothing for :func:`token_keys` to find, and
    this check (the tokenizer's own pattern, without its per-token work) says
    so for a fraction of the cost.
    """
    from analyzers.chars import fold
    from analyzers.tokenizer import _SCRIPT_OF_FIRST, TOKEN_PATTERN

    folded = fold(text)
    # A Persian or Latin token starts with a letter of its script: where
    # there is none (an English passage for a Persian query's keys), one
    # scan in C says so without a match object per word.
    first = {name: rx for rx, name in _SCRIPT_OF_FIRST}
    if all(s in first for s in scripts) and not any(first[s].search(folded) for s in scripts):
        return False
    return any(m.lastgroup in scripts for m in TOKEN_PATTERN.finditer(folded))


def _snap_left(text: str, i: int) -> int:
    """Move ``i`` left to a word start (never cut a word in half)."""
    if i <= 0:
        return 0
    j = i
    while j > 0 and not text[j - 1].isspace():
        j -= 1
    return j if i - j < 40 else i


def _snap_right(text: str, i: int) -> int:
    if i >= len(text):
        return len(text)
    j = i
    while j < len(text) and not text[j].isspace():
        j += 1
    return j if j - i < 40 else i


def best_window(spans: list[tuple[int, int, str]], length: int, width: int) -> tuple[int, int]:
    """The ``width``-char window holding the most distinct matched terms."""
    if length <= width or not spans:
        return 0, min(length, width)
    best = (-1, -1, 0)
    j = 0
    for i, (s, _e, _t) in enumerate(spans):
        while j < len(spans) and spans[j][1] - s <= width:
            j += 1
        inside = spans[i:j]
        key = (len({t for _, _, t in inside}), len(inside), -s)
        if key > best:
            best = key
            lo, hi = s, inside[-1][1]
    # centre the matches in the window
    slack = width - (hi - lo)
    start = max(0, lo - slack // 3)
    end = min(length, start + width)
    start = max(0, end - width)
    return start, end


def make_snippet(
    text: str,
    analyzer,
    terms: frozenset[str],
    *,
    base: int = 0,
    width: int = SNIPPET_CHARS,
    keys: frozenset[str] = frozenset(),
) -> tuple[Snippet, tuple[str, ...]]:
    """The snippet of passage ``text`` (which starts at document offset ``base``).

    Returns the snippet and the distinct terms it highlights (for a word
    matched by its cross-script key, the word itself).
    """
    spans = find_spans(text, analyzer, terms, keys)
    start, end = best_window(spans, len(text), width)
    start, end = _snap_left(text, start), _snap_right(text, end)
    highlights = tuple(Span(s - start, e - start) for s, e, _ in spans if s >= start and e <= end)
    seen = tuple(dict.fromkeys(t for s, e, t in spans if s >= start and e <= end))
    return Snippet(text=text[start:end], offset=base + start, highlights=highlights), seen
