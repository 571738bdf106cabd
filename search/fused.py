"""Index-time analysis in one pass: the terms of ``text`` and the keys of ``xkey`` from one tokenization.

For indexing, the writer needs of a passage only ``{term: [positions]}``
under :func:`analyzers.BilingualAnalyzer` and ``{key: frequency}`` under
:func:`analyzers.crossscript.CrossScriptAnalyzer`. Both chains start with the
same :class:`~analyzers.tokenizer.BilingualTokenizer`, and their generators
hand one mutable ``Token`` through three stages per word. This module computes
the same two results with one regex scan (``findall``: plain tuples, no
``Match`` objects, no generators) and the analyzers' own per-process memos
(:mod:`analyzers.pipeline`'s chains, :data:`analyzers.persian._NORM_CACHE`,
:func:`analyzers.crossscript.cross_key`):

* :data:`_SCAN` is :data:`analyzers.tokenizer.TOKEN_PATTERN` preceded by a lazy
  ``(.*?)``: each match is ``(gap, fa, en, num, other)``, the text skipped
  since the previous token and the token in the group of its script, so the
  matches are the tokenizer's, in order;
* the affix join (:class:`~analyzers.persian.PersianAffixJoinFilter`) needs
  the text between a held Persian token and the next: that is the next
  token's ``gap`` (the held token is always the one just before). The gap is
  read in the folded text, which differs from the original only in letters
  and digits, never in the gap characters the join test looks at;
* terms and positions are :class:`~analyzers.pipeline.TermFilter`'s in index
  mode: stopwords removed, positions counted over the kept tokens from 0.

Where :mod:`search._speedups` is built, the same scan and both loops run
in C in one pass (:func:`_c_positions_and_keys`), with the same memos and the
same Python calls on a miss; ``tests/test_fused.py`` runs both paths.

Only for index mode (``removestops``, whole-value tokenization) and only for
the exact chains :func:`fusable` recognizes; everything else goes through the
analyzer. ``tests/test_fused.py`` checks the results equal the analyzers' on
random mixed text.
"""

from __future__ import annotations

import re
from functools import cache

import analyzers.persian
import analyzers.pipeline
from analyzers.chars import fold
from analyzers.crossscript import CrossKeyFilter, cross_key
from analyzers.persian import (
    _GAP_CHARS,
    _NORM_CACHE,
    _VOWEL_ENDS,
    AFTER_VOWEL_SUFFIXES,
    PREFIXES,
    SUFFIXES,
    PersianAffixJoinFilter,
    normalize,
)
from analyzers.pipeline import TermFilter, _chains, _memos
from analyzers.tokenizer import TOKEN_PATTERN, BilingualTokenizer

try:
    # positions_and_keys in C (its scan and both loops), where it was built (setup.py).
    from search import _speedups
except ImportError:
    _speedups = None

__all__ = ["fusable", "keys_of", "positions_and_keys", "positions_of"]

_SCAN = re.compile(r"(.*?)(?:" + TOKEN_PATTERN.pattern + ")", re.DOTALL)
_MISS = object()

# cross_key per script, read inline (lru_cache's wrapper costs more than the lookup).
_XKEYS: dict[str, dict[str, str | None]] = {"fa": {}, "en": {}}
_XKEYS_LIMIT = 100_000


def memo_limits() -> tuple[int, int, int]:
    """This process's memo bounds: per chain (:mod:`analyzers.pipeline`), of the join test's normal forms, per cross-key script.

    The first two are the analyzers' own module settings, read where they
    live (the loops here read them at each miss), so a bound set here holds
    for the analyzers and for this module alike.
    """
    return analyzers.pipeline._CACHE_LIMIT, analyzers.persian._NORM_CACHE_LIMIT, _XKEYS_LIMIT


def set_memo_limits(limits: tuple[int, int, int]) -> None:
    """Bound this process's analysis memos (see :func:`memo_limits`); a memo at its bound is cleared at its next miss."""
    global _XKEYS_LIMIT
    analyzers.pipeline._CACHE_LIMIT, analyzers.persian._NORM_CACHE_LIMIT, _XKEYS_LIMIT = limits


def fusable(analyzer) -> str | None:
    """``"terms"`` for the bilingual chain (tokenizer | affix join | term filter), ``"keys"`` for the cross-script one."""
    items = getattr(analyzer, "items", None)
    if not items:
        return None
    kinds = [type(item) for item in items]
    if kinds == [BilingualTokenizer, PersianAffixJoinFilter, TermFilter]:
        return "terms"
    if kinds == [BilingualTokenizer, CrossKeyFilter]:
        return "keys"
    return None


# cross_key itself, past its lru_cache: the per-script dicts above are the memo.
_cross_key = getattr(cross_key, "__wrapped__", cross_key)


def _xkey(cache: dict, surface: str, script: str):
    key = cache.get(surface, _MISS)
    if key is _MISS:
        key = _cross_key(surface, script)
        if len(cache) >= _XKEYS_LIMIT:
            cache.clear()
        cache[surface] = key
    return key


def positions_and_keys(value: str, termfilter: TermFilter | None, want_keys: bool):
    """``({term: [positions]}, {key: frequency})`` of ``value``, as the two analyzers index it.

    ``termfilter`` None: no terms (the first dict is empty); ``want_keys``
    False: no keys.
    """
    if _speedups is not None:
        return _c_positions_and_keys(fold(value), termfilter, want_keys)
    toks = _SCAN.findall(fold(value))
    poses: dict[str, list[int]] = {}
    keys: dict[str, int] = {}
    if want_keys:
        kget = keys.get
        xfa = _XKEYS["fa"]
        xen = _XKEYS["en"]
        for _gap, f, e, _n, _o in toks:
            if f:
                k = xfa.get(f, _MISS)
                if k is _MISS:
                    k = _xkey(xfa, f, "fa")
            elif e:
                k = xen.get(e, _MISS)
                if k is _MISS:
                    k = _xkey(xen, e, "en")
            else:
                continue
            if k is not None:
                keys[k] = kget(k, 0) + 1
    if termfilter is None:
        return poses, keys

    cfg = (termfilter.fa, termfilter.en, termfilter.persian_stemmer)
    chains = _chains(*cfg)
    memos = _memos(*cfg)
    fa_memo, en_memo, num_memo, other_memo = memos["fa"], memos["en"], memos["num"], memos["other"]
    fa_term, en_term, num_term, other_term = (chains[s].term for s in ("fa", "en", "num", "other"))
    norm_cache = _NORM_CACHE
    pget = poses.get
    pos = 0
    held = None  # the held Persian token's surface (joined so far), or None
    h_norm = ""
    # The "emit a term at pos" block below is written out three times on
    # purpose: this loop runs once per token of the corpus, and avoiding a
    # function call per token is the point of this module.
    for gap, f, e, n, o in toks:
        if f:
            norm = norm_cache.get(f)
            if norm is None:
                norm = normalize(f)
                if len(norm_cache) >= analyzers.persian._NORM_CACHE_LIMIT:
                    norm_cache.clear()
                norm_cache[f] = norm
            if held is not None:
                if (
                    (h_norm in PREFIXES or norm in SUFFIXES or (norm in AFTER_VOWEL_SUFFIXES and h_norm[-1:] in _VOWEL_ENDS))
                    and gap.count("\n") <= 1
                    and not gap.strip(_GAP_CHARS)
                ):
                    held += f
                    h_norm += norm
                    continue
                term = fa_memo.get(held, _MISS)
                if term is _MISS:
                    term = fa_term(held)
                if term is not None:
                    lst = pget(term)
                    if lst is None:
                        poses[term] = [pos]
                    else:
                        lst.append(pos)
                    pos += 1
            held = f
            h_norm = norm
            continue
        if held is not None:
            term = fa_memo.get(held, _MISS)
            if term is _MISS:
                term = fa_term(held)
            if term is not None:
                lst = pget(term)
                if lst is None:
                    poses[term] = [pos]
                else:
                    lst.append(pos)
                pos += 1
            held = None
        if e:
            term = en_memo.get(e, _MISS)
            if term is _MISS:
                term = en_term(e)
        elif n:
            term = num_memo.get(n, _MISS)
            if term is _MISS:
                term = num_term(n)
        else:
            term = other_memo.get(o, _MISS)
            if term is _MISS:
                term = other_term(o)
        if term is not None:
            lst = pget(term)
            if lst is None:
                poses[term] = [pos]
            else:
                lst.append(pos)
            pos += 1
    if held is not None:
        term = fa_memo.get(held, _MISS)
        if term is _MISS:
            term = fa_term(held)
        if term is not None:
            lst = pget(term)
            if lst is None:
                poses[term] = [pos]
            else:
                lst.append(pos)
    return poses, keys


@cache
def _class_table() -> bytes:
    """Each BMP code point's classes in TOKEN_PATTERN, as the C scanner's bits (``search/_speedups.c``).

    Made from the pattern's own character classes, so the two cannot drift
    apart; ~25 ms, once per process, and only when indexing.
    """
    from analyzers.tokenizer import _AR_LETTER, _AR_MARK, _JOINER, _LATIN, _LATIN_TAIL, _WORD_LETTER

    sp = _speedups
    classes = (
        (sp.C_AR, f"[{_AR_LETTER}]"),
        (sp.C_MARK, f"[{_AR_MARK}]"),
        (sp.C_JOIN, f"[{_JOINER}]"),
        (sp.C_LAT, f"[{_LATIN}]"),
        (sp.C_ENC, f"[{_LATIN_TAIL}]"),
        (sp.C_OTH, _WORD_LETTER),
        (sp.C_DIG, "[0-9]"),
    )
    bmp = "".join(map(chr, range(0x10000)))
    table = bytearray(0x10000)
    for bit, cls in classes:
        for m in re.finditer(cls, bmp):
            table[m.start()] |= bit
    return bytes(table)


def _c_positions_and_keys(folded: str, termfilter: TermFilter | None, want_keys: bool):
    """:func:`positions_and_keys` in C (:mod:`search._speedups`): the same scan, memos, and callbacks on a miss."""
    keys_cfg = (_XKEYS["fa"], _XKEYS["en"], _xkey) if want_keys else None
    terms_cfg = None
    if termfilter is not None:
        cfg = (termfilter.fa, termfilter.en, termfilter.persian_stemmer)
        chains = _chains(*cfg)
        memos = _memos(*cfg)
        terms_cfg = (
            (memos["fa"], memos["en"], memos["num"], memos["other"]),
            (chains["fa"].term, chains["en"].term, chains["num"].term, chains["other"].term),
            _NORM_CACHE,
            normalize,
            analyzers.persian._NORM_CACHE_LIMIT,
            PREFIXES,
            SUFFIXES,
            AFTER_VOWEL_SUFFIXES,
            "".join(_VOWEL_ENDS),
            _GAP_CHARS,
        )
    return _speedups.fused(folded, _class_table(), keys_cfg, terms_cfg)


def positions_of(analyzer, value: str) -> dict[str, list[int]]:
    """``{term: [positions]}`` of ``value`` under a :func:`fusable` ``"terms"`` analyzer."""
    return positions_and_keys(value, analyzer.items[2], False)[0]


def keys_of(value: str) -> dict[str, int]:
    """``{key: frequency}`` of ``value`` under the cross-script analyzer."""
    return positions_and_keys(value, None, True)[1]
