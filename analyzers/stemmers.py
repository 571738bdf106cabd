"""Persian and English stemmers, chosen by name.

Persian has four candidates, compared on the dev data (see the README's
quality section): ``lexicon`` (the default: Snowball guarded by a list of
known words), ``snowball`` (Snowball's Persian stemmer via PyStemmer, in C),
``hazm`` (hazm's suffix stripper, re-implemented here so the query path never
imports hazm) and ``none``. English always uses Snowball's English (Porter2)
stemmer: Whoosh's bundled Porter stemmer turns "running" into "runn".
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache

import Stemmer as _pystemmer  # noqa: N813 - PyStemmer names its module Stemmer

from analyzers.resources import persian_lexicon

#: hazm.Stemmer's suffixes, in hazm's order. hazm strips them as a cascade
#: (each one at most once, in this order), so "کتابهایشان" loses ان, ش, ی,
#: ها in turn and becomes "کتاب". Its ZWNJ-bearing entries are left out: our
#: tokens have no ZWNJ left by the time they are stemmed.
HAZM_SUFFIXES = ("ات", "ان", "ترین", "تر", "م", "ت", "ش", "یی", "ی", "ها", "\u0654")

#: Below this length a Persian word is left alone: stripping "ان" from "جان"
#: or "م" from "قلم" does more harm than good.
MIN_STEM_INPUT = 4


def hazm_stem(word: str) -> str:
    """hazm 0.10's ``Stemmer.stem``, for words with no ZWNJ (ours never have one).

    hazm 0.12 changed its stemmer to strip only the longest suffix; this is
    the 0.10 cascade that was measured (see the README's quality section), so
    an index does not change with the hazm version installed.
    """
    for end in HAZM_SUFFIXES:
        if word.endswith(end):
            word = word[: -len(end)]
    if word.endswith("\u06c0"):  # ۀ
        word = word[:-1] + "\u0647"
    return word


@cache
def _snowball(lang: str) -> _pystemmer.Stemmer:
    return _pystemmer.Stemmer(lang)


def snowball_stem_fa(word: str) -> str:
    """Snowball Persian (PyStemmer)."""
    return _snowball("persian").stemWord(word)


def snowball_stem_en(word: str) -> str:
    """Snowball English, a.k.a. Porter2."""
    return _snowball("english").stemWord(word)


#: Endings the lexicon stemmer strips to reach a known word, longest first:
#: plural ها/ان/ات/ین, the ezafe/indefinite/adjectival ی, یی and ای,
#: possessive clitics, comparative تر/ترین.
LEXICON_SUFFIXES = tuple(
    sorted(
        set("ها های هایی هایم هایت هایش هایمان هایتان هایشان ان ات ین ی یی ای ام اش مان تان شان م ت ش تر ترین".split()),
        key=lambda s: (-len(s), s),
    )
)


def lexicon_stem(word: str) -> str:
    """Snowball Persian, but never past a known word.

    Snowball strips what looks like a suffix whether or not it is one:
    پسته (pistachio) becomes پست (post), دانشگاه (university) دانش
    (knowledge), بیابان (desert) بیا (come!). A word in the lexicon
    (``data/words_fa.txt``) is kept whole; otherwise one or two endings are
    stripped if that reaches a known word (دانشگاهها → دانشگاه, نمایندگان →
    نماینده); only a word the lexicon cannot explain goes to Snowball.
    """
    known = persian_lexicon()
    if word in known:
        return word
    for first in LEXICON_SUFFIXES:
        if not word.endswith(first) or len(word) - len(first) < 2:
            continue
        rest = word[: -len(first)]
        if rest in known:
            return rest
        # The plural of a word in silent ه writes it as گ: نماینده → نمایندگان.
        if first == "ان" and rest.endswith("گ") and rest[:-1] + "ه" in known:
            return rest[:-1] + "ه"
        for second in LEXICON_SUFFIXES:
            if rest.endswith(second) and len(rest) - len(second) >= 2 and rest[: -len(second)] in known:
                return rest[: -len(second)]
    return snowball_stem_fa(word)


def _guarded(stem: Callable[[str], str]) -> Callable[[str], str]:
    def run(word: str) -> str:
        if len(word) < MIN_STEM_INPUT:
            return word
        out = stem(word)
        # A stem shorter than two letters is noise that would merge unrelated
        # words; keep the word instead.
        return out if len(out) >= 2 else word

    run.__name__ = stem.__name__
    return run


PERSIAN_STEMMERS: dict[str, Callable[[str], str]] = {
    "lexicon": _guarded(lexicon_stem),
    "snowball": _guarded(snowball_stem_fa),
    "hazm": _guarded(hazm_stem),
    "none": lambda w: w,
}


def persian_stemmer(name: str) -> Callable[[str], str]:
    """The Persian stemmer called ``name``; ValueError names the choices."""
    try:
        return PERSIAN_STEMMERS[name]
    except KeyError:
        raise ValueError(f"unknown Persian stemmer {name!r}; choose one of {sorted(PERSIAN_STEMMERS)}") from None
