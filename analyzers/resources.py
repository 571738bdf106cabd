"""Word lists, loaded lazily and once per process.

Nothing here imports hazm: the Persian stopword list is a vendored copy of
hazm's (see ``data/stopwords_fa.txt``), so the query path pays a file read of
a few kilobytes, not hazm's multi-second import.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from analyzers.chars import fold, strip_marks


def _read_list(name: str) -> list[str]:
    # A plain path, not importlib.resources: that import costs the query path
    # ~10 ms, and the package is always installed as files.
    text = (Path(__file__).parent / "data" / name).read_text(encoding="utf-8")
    return [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.startswith("#")]


def normalize_fa_word(word: str) -> str:
    """The same normalization indexed Persian tokens get, minus stemming.

    hazm writes multi-word entries with ``_`` ("شده_است"); glued, they match
    the glued spelling seen in real text.
    """
    return strip_marks(fold(word)).replace("_", "")


@cache
def persian_stopwords() -> frozenset[str]:
    """hazm's Persian stopwords, normalized like indexed text."""
    return frozenset(normalize_fa_word(w) for w in _read_list("stopwords_fa.txt"))


@cache
def english_stopwords() -> frozenset[str]:
    """Snowball's English stop set (127 words, as shipped with Whoosh).

    Larger than Lucene's 33 words: it also drops interrogatives and
    auxiliaries ("what", "did", "how"), which in question-style queries only
    dilute the content words (measured on en-squad and Cranfield dev).
    """
    from whoosh.lang.stopwords import stoplists

    return frozenset(stoplists["en"])


@cache
def persian_lexicon() -> frozenset[str]:
    """Known Persian words (from hazm's lexicon, see ``data/words_fa.txt``), normalized like indexed text.

    Read on the first Persian word stemmed: ~20k lines, a few milliseconds.
    """
    return frozenset(_read_list("words_fa.txt"))
