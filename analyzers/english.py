"""English per-token steps: case, accents, possessives.

Stopwords and stemming are shared machinery (see :mod:`analyzers.pipeline`);
what is English-specific is how a surface form is cleaned before them.
"""

from __future__ import annotations

import unicodedata

_APOSTROPHES = "'\u2019"


def lowercase(surface: str) -> str:
    """Lower-case."""
    return surface.lower()


def ascii_fold(word: str) -> str:
    """Drop accents so "Türkiye" finds "Turkiye" (a no-op on plain ASCII)."""
    if word.isascii():
        return word
    decomposed = unicodedata.normalize("NFKD", word)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def possessive(word: str) -> str:
    """Strip a possessive ``'s``/``’s``; other apostrophes just disappear.

    "Russia’s" → "russia", "o'brien" → "obrien": the apostrophe is one of two
    code points, and users type either.
    """
    if word[-2:-1] in _APOSTROPHES and word[-1:] == "s":
        word = word[:-2]
    for a in _APOSTROPHES:
        if a in word:
            word = word.replace(a, "")
    return word
