"""bisearch: bilingual Persian + English full-text search over Whoosh.

One import gives the whole public API::

    from search import Index
    with Index("my-index") as ix:
        ix.add_paths(["docs/"])
        for hit in ix.search("همکاری Isfahan"):
            print(hit.rank, hit.doc_id, hit.snippet.text)

Errors all derive from :class:`BisearchError` (the tree is drawn in
:mod:`search.errors`).
"""

from __future__ import annotations

from search.engine import Index, IngestReport, Results, Stats, TokenInfo, search
from search.errors import (
    BisearchError,
    IndexLocked,
    IndexNotFound,
    IndexStateError,
    IndexVersionError,
    InputError,
    QueryError,
)
from search.ingest import Skipped
from search.model import Document, Hit, Snippet, Span
from search.sync import RebuildReport, RemoveReport, SyncReport

__version__ = "0.1.0"

__all__ = [
    "BisearchError",
    "Document",
    "Hit",
    "Index",
    "IndexLocked",
    "IndexNotFound",
    "IndexStateError",
    "IndexVersionError",
    "IngestReport",
    "InputError",
    "QueryError",
    "RebuildReport",
    "RemoveReport",
    "Results",
    "Skipped",
    "Snippet",
    "Span",
    "Stats",
    "SyncReport",
    "TokenInfo",
    "__version__",
    "search",
]
