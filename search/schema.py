"""The index schema and the metadata file that guards it.

Each Whoosh document is one *passage*. Document-level fields (title, date,
source, url) are repeated on every passage so that a filter such as
``title:`` or ``date:[…]`` selects passages directly and a hit needs no second
lookup.

``bisearch.json`` beside the segments records the schema and analyzer
versions; opening an index whose versions differ raises
:class:`~search.errors.IndexVersionError` (suggesting ``bisearch rebuild``)
before Whoosh ever unpickles an analyzer.
"""

from __future__ import annotations

import json
from pathlib import Path

from whoosh.fields import DATETIME, ID, NUMERIC, STORED, TEXT, Schema

import analyzers
from search.errors import IndexVersionError

SCHEMA_VERSION = 1
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
        lang=ID(stored=True),
        date=DATETIME(stored=True),
        source=ID(stored=True),
        url=STORED,
        doc_hash=STORED,
        path=STORED,
    )


def write_meta(index_dir: Path, meta: dict) -> None:
    """Write ``bisearch.json`` atomically (temp file + rename)."""
    tmp = index_dir / (META_FILE + ".tmp")
    tmp.write_text(json.dumps(meta, indent=2, sort_keys=True), encoding="utf-8")
    tmp.replace(index_dir / META_FILE)


def new_meta(*, persian_stemmer: str) -> dict:
    return {
        "format": "bisearch",
        "schema_version": SCHEMA_VERSION,
        "analyzer_version": analyzers.ANALYZER_VERSION,
        "persian_stemmer": persian_stemmer,
    }


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
    check_meta(index_dir, meta)
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
