"""bisearch: bilingual Persian + English full-text search over Whoosh.

One import gives the whole public API::

    from search import Index
    with Index("my-index") as ix:
        ix.add_paths(["docs/"])
        for hit in ix.search("همکاری Isfahan"):
            print(hit.rank, hit.doc_id, hit.snippet.text)

Errors all derive from :class:`BisearchError` (the tree is drawn in
:mod:`search.errors`).

The names are loaded on first use (PEP 562 ``__getattr__``): ``import search``
alone costs next to nothing, and a search never imports the write path
(:mod:`search.sync`, :mod:`search.ingest`, SQLite). A one-shot ``bisearch
search`` pays for every module it imports, so this matters.
"""

from __future__ import annotations

import importlib
import sys
from typing import TYPE_CHECKING

from search.errors import (
    BisearchError,
    IndexLocked,
    IndexNotFound,
    IndexStateError,
    IndexVersionError,
    InputError,
    QueryError,
)

if TYPE_CHECKING:  # what the lazy names are, for type checkers and IDEs
    from search.engine import Index, IngestReport, QueryPlan, Results, Stats, TokenInfo, search
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
    "QueryPlan",
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

#: Public name → the module that defines it (imported on first access).
_LAZY = {
    "Index": "search.engine",
    "IngestReport": "search.engine",
    "QueryPlan": "search.engine",
    "Results": "search.engine",
    "Stats": "search.engine",
    "TokenInfo": "search.engine",
    "search": "search.engine",
    "Skipped": "search.ingest",
    "Document": "search.model",
    "Hit": "search.model",
    "Snippet": "search.model",
    "Span": "search.model",
    "RebuildReport": "search.sync",
    "RemoveReport": "search.sync",
    "SyncReport": "search.sync",
}


def __getattr__(name: str):
    """Import a public name's module on first access and cache the name here."""
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'search' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


def _import_whoosh_compat_lightly() -> None:
    """Import ``whoosh.compat`` without ``urllib.request``.

    Whoosh 2.7.4's compat module does ``from urllib.request import
    urlretrieve`` (a Python 2 leftover that nothing in Whoosh calls), and
    ``urllib.request`` pulls in ``http.client``, ``email`` and ``ssl``: 25-60 ms
    of every cold ``bisearch search``. A placeholder module stands in for it
    while ``whoosh.compat`` loads and is removed right after, so any later
    ``import urllib.request`` gets the real module; the placeholder's
    ``urlretrieve`` imports the real one if it is ever called.
    """
    if "whoosh.compat" in sys.modules or "urllib.request" in sys.modules:
        return
    import types

    def urlretrieve(*args, **kwargs):  # pragma: no cover - Whoosh never calls it
        from urllib.request import urlretrieve as real

        return real(*args, **kwargs)

    placeholder = types.ModuleType("urllib.request", "stand-in while whoosh.compat loads (see search/__init__.py)")
    placeholder.urlretrieve = urlretrieve
    sys.modules["urllib.request"] = placeholder
    try:
        import whoosh.compat  # noqa: F401
    finally:
        if sys.modules.get("urllib.request") is placeholder:
            del sys.modules["urllib.request"]


_import_whoosh_compat_lightly()
