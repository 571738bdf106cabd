"""Typed, frozen values that cross the public API.

Documents go in, :class:`Hit` values come out. Every offset is a character
offset into the *original* text (never into normalized text), half-open
``[start, end)``, so a caller can slice the text it gave us and get exactly the
highlighted characters.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field

LANGS = ("fa", "en", "mixed")


@dataclass(frozen=True, slots=True)
class Document:
    """One source document.

    ``id`` is unique within an index (a path relative to the indexed root for
    text files, the ``id`` field for JSONL). ``path`` is the file it came from,
    when it came from a file; it is what ``update`` and ``rebuild`` revisit.
    """

    id: str
    text: str
    title: str | None = None
    lang: str | None = None
    date: _dt.date | None = None
    source: str | None = None
    url: str | None = None
    path: str | None = None


@dataclass(frozen=True, slots=True)
class Span:
    """A half-open character range ``[start, end)``."""

    start: int
    end: int

    def __post_init__(self) -> None:
        if not 0 <= self.start <= self.end:
            raise ValueError(f"bad span [{self.start}, {self.end})")


@dataclass(frozen=True, slots=True)
class Snippet:
    """A window of a passage with the matched words marked.

    ``highlights`` are offsets into ``text`` (the snippet itself); add
    ``offset`` to get offsets into the document.
    """

    text: str
    offset: int
    highlights: tuple[Span, ...] = ()


@dataclass(frozen=True, slots=True)
class Hit:
    """One ranked passage."""

    doc_id: str
    ordinal: int
    span: Span
    score: float
    lang: str
    title: str | None
    date: _dt.date | None
    source: str | None
    url: str | None
    snippet: Snippet
    rank: int = 0
    matched: tuple[str, ...] = field(default=())
    #: True when the passage matched only through the other language
    #: (a cross-script name key or a lexicon translation; see search.crosslingual).
    cross: bool = False

    def to_dict(self) -> dict:
        """A JSON-ready dict (dates as ISO strings, spans as ``[start, end]``)."""
        return {
            "rank": self.rank,
            "doc_id": self.doc_id,
            "passage": self.ordinal,
            "span": [self.span.start, self.span.end],
            "score": round(self.score, 6),
            "lang": self.lang,
            "title": self.title,
            "date": self.date.isoformat() if self.date else None,
            "source": self.source,
            "url": self.url,
            "snippet": {
                "text": self.snippet.text,
                "offset": self.snippet.offset,
                "highlights": [[h.start, h.end] for h in self.snippet.highlights],
            },
            "matched": list(self.matched),
            "cross": self.cross,
        }
