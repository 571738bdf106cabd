"""Shared helpers for the benchmarks: where the evaluation data is, and how to
build an index of one of its sets with the product's own code.

The data (``../shared/evaldata``) is never shipped with bisearch: every
benchmark takes its path as an option and skips cleanly when it is absent.
"""

from __future__ import annotations

import json
import shutil
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

from search import Document, Index
from search.ingest import Skipped, read_documents

DEFAULT_DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "evaldata"


def data_dir_or_exit(path: str | Path | None) -> Path:
    """The evaluation data folder; exits 0 with a message if it is missing."""
    d = Path(path) if path else DEFAULT_DATA
    if not (d / "README.md").exists():
        print(f"skipped: evaluation data not found at {d} (pass --data DIR)", file=sys.stderr)
        sys.exit(0)
    return d


def iter_corpus(path: Path, transform: Callable[[str], str] | None = None) -> Iterator[Document]:
    """The corpus documents through the product's JSONL reader, optionally with
    their text perturbed (e.g. ZWNJ removed) to test robustness."""
    for item in read_documents([path]):
        if isinstance(item, Skipped):
            # The product skips it too (Cranfield has an empty abstract);
            # say so, since the figures then cover one document less.
            print(f"note: {item.message()}", file=sys.stderr)
            continue
        if transform is not None:
            item = Document(**{**{f: getattr(item, f) for f in Document.__slots__}, "text": transform(item.text)})
        yield item


def read_jsonl(path: Path) -> list[dict]:
    with path.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def fresh_index(path: Path, **options) -> Index:
    """An empty index at ``path`` (whatever was there is removed)."""
    if path.exists():
        shutil.rmtree(path)
    return Index(path, **options)
