"""The index schema and the metadata file that guards it.

Each Whoosh document is one *passage*. Document-level fields (title, date,
source, url) are repeated on every passage so that a filter such as
``title:`` or ``date:[…]`` selects passages directly and a hit needs no second
lookup.

``bisearch.json`` at the top of the index directory records the schema and
analyzer versions and names the current generation (see :mod:`search.layout`);
opening an index whose versions differ raises
:class:`~search.errors.IndexVersionError` (suggesting ``bisearch rebuild``)
before Whoosh reads anything. Whoosh is then handed the schema built here
instead of unpickling the one it stored, so no analyzer is ever unpickled.

Schema version 2 introduced generations (``DIR/gen-NNNNNN/``); an index of
version 1 (Whoosh files directly in ``DIR``) is refused with the same hint,
and ``bisearch rebuild`` migrates it.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from whoosh.fields import DATETIME, ID, NUMERIC, STORED, TEXT, Schema

import analyzers
from analyzers.crossscript import CrossScriptAnalyzer
from search.errors import IndexVersionError

SCHEMA_VERSION = 2
META_FILE = "bisearch.json"

#: Fields a query may name, with what they hold (for error hints and the README).
QUERY_FIELDS = {
    "text": "passage text (default)",
    "title": "document title (default, boosted)",
    "lang": "passage language: fa, en or mixed",
    "source": "source label (folder name, or the JSONL 'source')",
    "date": "document date, e.g. date:2024 or date:[2024-01-01 TO 2025-12-31]",
    "doc_id": "document id",
}


def build_schema(*, persian_stemmer: str = analyzers.DEFAULT_PERSIAN_STEMMER, analyzer=None) -> Schema:
    """The passage schema, with the bilingual analyzer on both text fields.

    ``analyzer`` replaces it, for baselines measured in the same schema.
    """
    ana = analyzer if analyzer is not None else analyzers.BilingualAnalyzer(stemmer=persian_stemmer)
    return Schema(
        pid=ID(unique=True, stored=True),
        doc_id=ID(stored=True, sortable=True),
        ordinal=NUMERIC(stored=True),
        start=STORED,
        end=STORED,
        title=TEXT(analyzer=ana, stored=True, field_boost=2.0),
        text=TEXT(analyzer=ana, stored=True, phrase=True),
        # The whole document, indexed (not stored; with positions, for a phrase
        # over whole documents) on its first passage only: a document whose
        # words are spread over many passages still lifts its lead passage,
        # as whole-document BM25 would.
        body=TEXT(analyzer=ana),
        # Cross-script name keys (analyzers.crossscript): not stored, no positions.
        xkey=TEXT(analyzer=CrossScriptAnalyzer(), phrase=False),
        lang=ID(stored=True),
        date=DATETIME(stored=True),
        source=ID(stored=True),
        url=STORED,
        doc_hash=STORED,
        path=STORED,
    )


def write_meta(index_dir: Path, meta: dict) -> None:
    """Write ``bisearch.json`` atomically and durably (temp file, fsync, rename)."""
    from search.layout import write_pointer

    write_pointer(index_dir, meta)


def new_meta(*, persian_stemmer: str, generation: str) -> dict:
    return {
        "format": "bisearch",
        "schema_version": SCHEMA_VERSION,
        "analyzer_version": analyzers.ANALYZER_VERSION,
        "persian_stemmer": persian_stemmer,
        "generation": generation,
    }


def read_meta_raw(index_dir: Path) -> dict | None:
    """``bisearch.json`` as stored, without any check (None if absent or unreadable)."""
    try:
        meta = json.loads((index_dir / META_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return meta if isinstance(meta, dict) else None


def read_meta(index_dir: Path) -> dict | None:
    """The metadata, None if absent; raises IndexVersionError if unusable."""
    path = index_dir / META_FILE
    if not path.exists():
        return None
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise IndexVersionError(
            f"{path}: index metadata is unreadable ({exc})", hint="run `bisearch rebuild` or re-index into a new directory"
        ) from None
    if not isinstance(meta, dict):
        raise IndexVersionError(f"{path}: index metadata is not an object", hint="run `bisearch rebuild`")
    check_meta(index_dir, meta)
    gen = meta.get("generation")
    if not isinstance(gen, str) or not re.fullmatch(r"gen-\d{6,}", gen):
        raise IndexVersionError(
            f"{path}: index metadata names no valid generation ({gen!r})",
            hint="run `bisearch rebuild`",
        )
    return meta


def check_meta(index_dir: Path, meta: dict) -> None:
    """Refuse indexes written with another schema or analyzer version."""
    found = (meta.get("schema_version"), meta.get("analyzer_version"))
    want = (SCHEMA_VERSION, analyzers.ANALYZER_VERSION)
    if meta.get("format") != "bisearch" or found != want:
        raise IndexVersionError(
            f"index at {index_dir} was written by an incompatible bisearch "
            f"(schema {found[0]}, analyzer {found[1]}; this version needs schema {want[0]}, analyzer {want[1]})",
            hint="run `bisearch rebuild` (or index the sources again into a new directory)",
        )
