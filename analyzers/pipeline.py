"""Per-token chains: a surface form in, an index term (or a stop) out.

A :class:`Chain` is an ordered list of named steps. Each step is a plain
``str -> str`` function, or a stop test. Because a token's term depends only on
its surface form, the chain memoizes it: word frequencies follow Zipf's law,
so after a few thousand documents almost every token is a cache hit.

:class:`TermFilter` routes each token to the chain of its script. It is the
only filter that changes token text after joining, and it renumbers positions
so that dropped stopwords leave no gaps (the query side does the same, so
phrases still line up).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cache

from whoosh.analysis import Filter

from analyzers import english, persian
from analyzers.resources import english_stopwords, persian_stopwords
from analyzers.stemmers import persian_stemmer, snowball_stem_en

STOP = None  # what a stop step returns: the token is a stopword

_CACHE_LIMIT = 500_000


@dataclass(frozen=True)
class Step:
    """One named step. ``kind`` is "normalize", "stop" or "stem"."""

    name: str
    kind: str
    fn: Callable[[str], str | None]


class Chain:
    """Ordered steps for one script, memoized by surface form."""

    def __init__(self, name: str, steps: list[Step]) -> None:
        self.name = name
        self.steps = tuple(steps)
        self._norm_steps = tuple(s for s in self.steps if s.kind == "normalize")
        self._cache: dict[str, str | None] = {}

    def term(self, surface: str) -> str | None:
        """The index term for ``surface``, or None for a stopword."""
        try:
            return self._cache[surface]
        except KeyError:
            pass
        out: str | None = surface
        for step in self.steps:
            out = step.fn(out)
            if out is None or out == "":
                out = None
                break
        if len(self._cache) >= _CACHE_LIMIT:
            self._cache.clear()
        self._cache[surface] = out
        return out

    def normalize(self, surface: str) -> str:
        """Only the normalizing steps: for prefix, wildcard and fuzzy terms."""
        out = surface
        for step in self._norm_steps:
            out = step.fn(out) or out
        return out

    def trace(self, surface: str) -> list[tuple[str, str | None]]:
        """Each step's output in turn, for ``bisearch analyze``."""
        rows: list[tuple[str, str | None]] = []
        out: str | None = surface
        for step in self.steps:
            out = step.fn(out)
            rows.append((step.name, out))
            if out is None:
                break
        return rows


def _stop_test(words: Callable[[], frozenset[str]]) -> Callable[[str], str | None]:
    def stop(term: str) -> str | None:
        return STOP if term in words() else term

    return stop


def _number(surface: str) -> str:
    """10,000 → 10000; 007 → 7 (so "۰۷" meets "7"); 6.5 stays 6.5."""
    out = surface.replace(",", "")
    whole, dot, frac = out.partition(".")
    whole = whole.lstrip("0") or "0"
    return whole + dot + frac


@cache
def persian_chain(stemmer: str = "lexicon", full: bool = True) -> Chain:
    """Marks, stopwords, stemmer; or marks only when ``full`` is False."""
    steps = [Step("strip_marks", "normalize", persian.normalize)]
    if full:
        steps.append(Step("stopword", "stop", _stop_test(persian_stopwords)))
        steps.append(Step(f"stem:{stemmer}", "stem", persian_stemmer(stemmer)))
    return Chain("fa", steps)


@cache
def english_chain(full: bool = True) -> Chain:
    """Case, accents, possessive, stopwords, Snowball English."""
    steps = [
        Step("lowercase", "normalize", english.lowercase),
        Step("ascii_fold", "normalize", english.ascii_fold),
        Step("possessive", "normalize", english.possessive),
    ]
    if full:
        steps.append(Step("stopword", "stop", _stop_test(english_stopwords)))
        steps.append(Step("stem:snowball", "stem", snowball_stem_en))
    return Chain("en", steps)


@cache
def number_chain() -> Chain:
    return Chain("num", [Step("number", "normalize", _number)])


@cache
def other_chain() -> Chain:
    return Chain("other", [Step("lowercase", "normalize", english.lowercase)])


class TermFilter(Filter):
    """Turn each token's surface into its term with its script's chain.

    ``fa`` and ``en`` say how much analysis each script gets: ``"full"``
    (normalize, stopwords, stem) or ``"normalize"`` (only the folds), so the
    Persian analyzer still lower-cases a stray English word and vice versa.
    Only configuration is stored on the instance: Whoosh pickles analyzers into
    the index, and the chains (with their caches) are rebuilt per process.
    """

    def __init__(self, *, fa: str = "full", en: str = "full", persian_stemmer: str = "lexicon") -> None:
        self.fa = fa
        self.en = en
        self.persian_stemmer = persian_stemmer

    def chains(self) -> dict[str, Chain]:
        """Script name → chain, for this filter's configuration."""
        return dict(_chains(self.fa, self.en, self.persian_stemmer))

    def __call__(self, tokens):
        chains = _chains(self.fa, self.en, self.persian_stemmer)
        # Each chain's memo, read inline: a hit (almost every token) then
        # costs one dict lookup instead of a method call.
        memos = _memos(self.fa, self.en, self.persian_stemmer)
        pos = None
        for t in tokens:
            if not getattr(t, "tokenize", True):
                t.text = chains[t.script].normalize(t.text)
                yield t
                continue
            script = t.script
            term = memos[script].get(t.text, _MISS)
            if term is _MISS:
                term = chains[script].term(t.text)
            if pos is None:
                pos = t.base_pos
            if term is None:
                if t.removestops:
                    continue
                t.stopped = True
                t.text = chains[script].normalize(t.text)
            else:
                t.text = term
            t.pos = pos
            pos += 1
            yield t


_MISS = object()


@cache
def _chains(fa: str, en: str, stemmer: str) -> dict[str, Chain]:
    """Per process, like the chains themselves (never stored on a filter)."""
    return {
        "fa": persian_chain(stemmer, fa == "full"),
        "en": english_chain(en == "full"),
        "num": number_chain(),
        "other": other_chain(),
    }


@cache
def _memos(fa: str, en: str, stemmer: str) -> dict[str, dict[str, str | None]]:
    # Chain.term only ever clear()s its memo, never replaces it, so these
    # references stay the live dicts.
    return {script: chain._cache for script, chain in _chains(fa, en, stemmer).items()}
