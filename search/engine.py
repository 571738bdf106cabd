"""The index: documents in, ranked passages out.

:class:`Index` is the whole library API; the CLI is a thin shell over it.
Each source document is split into passages (:mod:`search.passages`), and each
passage is one Whoosh document, so BM25F ranks passages and a hit can point at
the exact span of its document.

Writes are all-or-nothing: documents are added through one Whoosh writer that
is committed at the end or cancelled on any error (Ctrl-C included), so a
failed run never leaves half of its documents behind, and what was committed
before stays searchable.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import whoosh.index
from whoosh import query as wq
from whoosh.index import EmptyIndexError, LockError

import analyzers
from search import config
from search.errors import BisearchError, IndexLocked, IndexNotFound, InputError, QueryError
from search.highlight import make_snippet, matched_terms
from search.ingest import Skipped, read_documents
from search.model import Document, Hit, Snippet, Span
from search.passages import split_passages
from search.query import ParsedQuery, make_parser, parse_query, scoring
from search.schema import build_schema, new_meta, read_meta, write_meta

WRITER_LIMIT_MB = 256


@dataclass(frozen=True, slots=True)
class IngestReport:
    """What one ``add``/``index`` run did."""

    documents: int
    passages: int
    replaced: int
    skipped: tuple[Skipped, ...]
    seconds: float

    def summary(self) -> str:
        s = f"indexed {self.documents} document(s) as {self.passages} passage(s)"
        if self.replaced:
            s += f" ({self.replaced} replaced an earlier version)"
        return s + f", skipped {len(self.skipped)}, in {self.seconds:.1f}s"


@dataclass(frozen=True, slots=True)
class Results:
    """One page of ranked passages, plus what the query parser repaired."""

    query: str
    hits: tuple[Hit, ...]
    total: int
    warnings: tuple[str, ...] = ()
    seconds: float = 0.0

    def __iter__(self) -> Iterator[Hit]:
        return iter(self.hits)

    def __len__(self) -> int:
        return len(self.hits)

    def __getitem__(self, i: int) -> Hit:
        return self.hits[i]

    def to_dict(self) -> dict:
        return {
            "query": self.query,
            "total": self.total,
            "warnings": list(self.warnings),
            "hits": [h.to_dict() for h in self.hits],
        }


@dataclass(frozen=True, slots=True)
class Stats:
    """What an index holds."""

    path: str
    documents: int
    passages: int
    languages: Mapping[str, int] = field(default_factory=dict)
    size_bytes: int = 0
    persian_stemmer: str = ""


@dataclass(frozen=True, slots=True)
class TokenInfo:
    """One analyzed token, for ``bisearch analyze``."""

    term: str
    start: int
    end: int
    position: int
    surface: str
    script: str


def document_hash(doc: Document) -> str:
    """Content hash of everything that is indexed about a document."""
    h = hashlib.sha1()
    for part in (doc.text, doc.title or "", doc.lang or "", str(doc.date or ""), doc.source or "", doc.url or ""):
        h.update(part.encode("utf-8"))
        h.update(b"\x00")
    return h.hexdigest()


def _coerce(item: Document | Mapping) -> Document:
    if isinstance(item, Document):
        doc = item
    elif isinstance(item, Mapping):
        unknown = set(item) - set(Document.__slots__)
        if unknown:
            raise InputError(
                f"unknown document field(s): {', '.join(sorted(unknown))}", hint="allowed: " + ", ".join(Document.__slots__)
            )
        data = dict(item)
        if isinstance(data.get("id"), int):
            data["id"] = str(data["id"])
        if isinstance(data.get("date"), str):
            try:
                data["date"] = dt.date.fromisoformat(data["date"][:10])
            except ValueError:
                raise InputError(f"document {data.get('id')!r}: bad date {data['date']!r}", hint="use YYYY-MM-DD") from None
        try:
            doc = Document(**data)
        except TypeError as exc:
            raise InputError(f"bad document: {exc}", hint="a document needs 'id' and 'text'") from None
    else:
        raise InputError(f"cannot index a {type(item).__name__}", hint="pass a search.Document or a dict with 'id' and 'text'")
    if not isinstance(doc.id, str) or not doc.id.strip():
        raise InputError(f"document id must be a non-empty string, got {doc.id!r}")
    if not isinstance(doc.text, str) or not doc.text.strip():
        raise InputError(f"document {doc.id!r} has no text", hint="give every document some text")
    if doc.lang is not None and doc.lang not in ("fa", "en", "mixed"):
        raise InputError(f"document {doc.id!r}: lang must be fa, en or mixed, not {doc.lang!r}")
    if doc.date is not None and not isinstance(doc.date, dt.date):
        raise InputError(f"document {doc.id!r}: bad date {doc.date!r}", hint="use a datetime.date or YYYY-MM-DD")
    for name in ("title", "source", "url", "path"):
        value = getattr(doc, name)
        if value is not None and not isinstance(value, str):
            raise InputError(f"document {doc.id!r}: {name} must be a string, not {type(value).__name__}")
    return doc


def _as_datetime(d: dt.date | None) -> dt.datetime | None:
    if d is None:
        return None
    return d if isinstance(d, dt.datetime) else dt.datetime(d.year, d.month, d.day)


class Index:
    """A bisearch index directory: create or open, add, search.

    >>> with Index("my-index") as ix:                       # doctest: +SKIP
    ...     ix.add([{"id": "a", "text": "همکاری‌های ایران و روسیه"}])
    ...     for hit in ix.search("همکاری"):
    ...         print(hit.doc_id, hit.snippet.text)

    ``Index(path)`` creates the directory and an empty index if there is none;
    ``Index(path, create=False)`` (or :meth:`open`) insists on an existing one.
    """

    def __init__(
        self,
        path: str | os.PathLike | None = None,
        *,
        create: bool = True,
        persian_stemmer: str = analyzers.DEFAULT_PERSIAN_STEMMER,
        _analyzer=None,
    ) -> None:
        self.path = Path(path) if path is not None else config.default_index_dir()
        self._searcher = None
        meta = read_meta(self.path) if self.path.is_dir() else None
        if meta is not None:
            try:
                self._ix = whoosh.index.open_dir(str(self.path))
            except EmptyIndexError:
                raise IndexNotFound(
                    f"{self.path} has bisearch metadata but no index segments", hint="run `bisearch rebuild` or index again"
                ) from None
            except Exception as exc:
                raise IndexNotFound(f"cannot open the index at {self.path}: {exc}", hint="run `bisearch rebuild`") from None
        elif create:
            self._create(persian_stemmer, _analyzer)
            meta = read_meta(self.path)
        else:
            hint = f"run `bisearch index PATH --index {self.path}` first"
            if self.path.is_dir() and whoosh.index.exists_in(str(self.path)):
                raise IndexNotFound(f"{self.path} holds a Whoosh index that bisearch did not write", hint=hint)
            raise IndexNotFound(f"no bisearch index at {self.path}", hint=hint)
        self.meta = meta
        self._parser = make_parser(self._ix.schema)
        self._analyzer = self._ix.schema["text"].analyzer

    @classmethod
    def open(cls, path: str | os.PathLike) -> Index:
        """Open an existing index; IndexNotFound if there is none."""
        return cls(path, create=False)

    def _create(self, persian_stemmer: str, analyzer=None) -> None:
        try:
            self.path.mkdir(parents=True, exist_ok=True)
            if any(self.path.iterdir()):
                raise IndexNotFound(
                    f"{self.path} is not empty and holds no bisearch index",
                    hint="choose an empty or new directory with --index",
                )
            self._ix = whoosh.index.create_in(str(self.path), build_schema(persian_stemmer=persian_stemmer, analyzer=analyzer))
            meta = new_meta(persian_stemmer=persian_stemmer)
            if analyzer is not None:  # a benchmark baseline, not a product index
                meta["analyzer"] = repr(analyzer)
            write_meta(self.path, meta)
        except OSError as exc:
            raise IndexNotFound(
                f"cannot create an index at {self.path}: {exc.strerror or exc}", hint="check the path and its permissions"
            ) from None

    # -- lifecycle ---------------------------------------------------------
    def close(self) -> None:
        """Release the searcher (the index itself holds no open files)."""
        if self._searcher is not None:
            self._searcher.close()
            self._searcher = None

    def __enter__(self) -> Index:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Index({str(self.path)!r})"

    # -- writing -----------------------------------------------------------
    def add(
        self, documents: Iterable[Document | Mapping | Skipped], *, progress: Callable[[Document | Skipped], None] | None = None
    ) -> IngestReport:
        """Index documents (``Document`` values or dicts); same id replaces.

        Invalid dicts raise :class:`InputError` before anything is written to
        that run's commit; ``Skipped`` items (from :func:`search.ingest.read_documents`)
        are counted in the report.
        """
        t0 = time.perf_counter()
        skipped: list[Skipped] = []
        n_docs = n_pass = n_replaced = 0
        seen: dict[str, str] = {}
        fresh = self._ix.is_empty()
        try:
            writer = self._ix.writer(limitmb=WRITER_LIMIT_MB)
        except LockError:
            raise IndexLocked(
                f"the index at {self.path} is locked by another writer", hint="wait for the other indexing run to finish"
            ) from None
        try:
            for item in documents:
                if isinstance(item, Skipped):
                    skipped.append(item)
                    if progress:
                        progress(item)
                    continue
                doc = _coerce(item)
                where = doc.path or doc.id
                if doc.id in seen:
                    skipped.append(
                        Skipped(
                            where,
                            None,
                            f"duplicate document id {doc.id!r} (first seen in {seen[doc.id]})",
                            "give each document a unique id",
                        )
                    )
                    continue
                seen[doc.id] = where
                if not fresh:
                    n_replaced += 1 if self._has_doc(doc.id) else 0
                    writer.delete_by_term("doc_id", doc.id)
                n_pass += self._add_passages(writer, doc)
                n_docs += 1
                if progress:
                    progress(doc)
            writer.commit()
        except BaseException:
            writer.cancel()
            raise
        return IngestReport(n_docs, n_pass, n_replaced, tuple(skipped), time.perf_counter() - t0)

    def add_paths(
        self, paths: Iterable[str | os.PathLike], *, progress: Callable[[Document | Skipped], None] | None = None
    ) -> IngestReport:
        """Index ``.txt``, ``.md`` and ``.jsonl`` files and folders (recursively)."""
        return self.add(read_documents(list(paths)), progress=progress)

    def _has_doc(self, doc_id: str) -> bool:
        with self._ix.searcher() as s:
            return s.document_number(doc_id=doc_id) is not None

    def _add_passages(self, writer, doc: Document) -> int:
        digest = document_hash(doc)
        when = _as_datetime(doc.date)
        passages = split_passages(doc.text)
        for p in passages:
            fields = {
                "pid": f"{doc.id}#{p.ordinal}",
                "doc_id": doc.id,
                "ordinal": p.ordinal,
                "start": p.start,
                "end": p.end,
                "text": p.text,
                "lang": p.lang,
                "doc_hash": digest,
            }
            if doc.title:
                fields["title"] = doc.title
            if when is not None:
                fields["date"] = when
            if doc.source:
                fields["source"] = doc.source
            if doc.url:
                fields["url"] = doc.url
            if doc.path:
                fields["path"] = doc.path
            writer.add_document(**fields)
        return len(passages)

    # -- reading -----------------------------------------------------------
    def _current_searcher(self):
        if self._searcher is None:
            self._searcher = self._ix.searcher(weighting=scoring())
        else:
            self._searcher = self._searcher.refresh()
        return self._searcher

    def parse(self, query: str) -> ParsedQuery:
        """Parse a query string as :meth:`search` would (QueryError if hopeless)."""
        return parse_query(self._parser, query)

    def search(
        self,
        query: str,
        *,
        limit: int = 10,
        offset: int = 0,
        lang: str | None = None,
        snippets: bool = True,
    ) -> Results:
        """Ranked passages for ``query`` (Whoosh syntax, both languages at once).

        ``lang`` keeps passages of that language and mixed ones. ``snippets``
        off skips highlighting, for batch runs that only need ranks.
        """
        if limit < 1 or offset < 0:
            raise QueryError(f"limit must be ≥ 1 and offset ≥ 0 (got {limit}, {offset})", query=query)
        if lang is not None and lang not in ("fa", "en", "mixed"):
            raise QueryError(f"unknown language {lang!r}", query=query, hint="use fa, en or mixed")
        t0 = time.perf_counter()
        parsed = self.parse(query)
        if parsed.is_empty:
            return Results(query, (), 0, parsed.warnings, time.perf_counter() - t0)
        searcher = self._current_searcher()
        flt = None
        if lang is not None:
            flt = wq.Or([wq.Term("lang", lang), wq.Term("lang", "mixed")]) if lang != "mixed" else wq.Term("lang", "mixed")
        results = searcher.search(parsed.query, limit=offset + limit, filter=flt)
        terms = matched_terms(parsed.query, searcher.reader()) if snippets else frozenset()
        hits = []
        for rank, r in enumerate(results[offset : offset + limit], start=offset + 1):
            hits.append(self._hit(r, rank, terms, snippets))
        return Results(query, tuple(hits), len(results), parsed.warnings, time.perf_counter() - t0)

    def _hit(self, r, rank: int, terms: frozenset[str], snippets: bool) -> Hit:
        f = r.fields()
        start, end = f["start"], f["end"]
        if snippets:
            snippet, seen = make_snippet(f["text"], self._analyzer, terms, base=start)
        else:
            snippet, seen = Snippet(text="", offset=start), ()
        date = f.get("date")
        return Hit(
            doc_id=f["doc_id"],
            ordinal=f["ordinal"],
            span=Span(start, end),
            score=float(r.score or 0.0),
            lang=f["lang"],
            title=f.get("title"),
            date=date.date() if date else None,
            source=f.get("source"),
            url=f.get("url"),
            snippet=snippet,
            rank=rank,
            matched=seen,
        )

    def search_documents(self, query: str, *, limit: int = 100) -> list[tuple[str, float]]:
        """Document ids ranked by their best passage's score (for TREC runs)."""
        parsed = self.parse(query)
        if parsed.is_empty:
            return []
        searcher = self._current_searcher()
        results = searcher.search(parsed.query, limit=limit, collapse="doc_id", collapse_limit=1)
        return [(r["doc_id"], float(r.score or 0.0)) for r in results]

    def document_text(self, doc_id: str) -> str | None:
        """A document's text as indexed (its passages stitched at their spans)."""
        searcher = self._current_searcher()
        parts = sorted((f["start"], f["text"]) for f in searcher.documents(doc_id=doc_id))
        if not parts:
            return None
        out: list[str] = []
        pos = 0
        for start, text in parts:
            out.append(" " * max(0, start - pos))
            out.append(text)
            pos = start + len(text)
        return "".join(out)

    def stats(self) -> Stats:
        """Documents, passages, passages per language, bytes on disk."""
        searcher = self._current_searcher()
        passages = searcher.doc_count()
        first = searcher.search(wq.NumericRange("ordinal", 0, 0), limit=None)
        langs = {}
        for lang in ("fa", "en", "mixed"):
            n = len(searcher.search(wq.Term("lang", lang), limit=None))
            if n:
                langs[lang] = n
        size = sum(p.stat().st_size for p in self.path.iterdir() if p.is_file())
        return Stats(str(self.path), len(first), passages, langs, size, self.meta.get("persian_stemmer", ""))

    def analyze(self, text: str, *, field: str = "text") -> list[TokenInfo]:
        """The tokens the index would store for ``text``, with original offsets."""
        try:
            ana = self._ix.schema[field].analyzer
        except (KeyError, AttributeError):
            raise BisearchError(f"field {field!r} is not analyzed", hint="use text or title") from None
        return analyze_text(ana, text)


def analyze_text(analyzer, text: str) -> list[TokenInfo]:
    """Run ``analyzer`` over ``text``; stopwords are dropped as at index time."""
    return [
        TokenInfo(t.text, t.startchar, t.endchar, t.pos, text[t.startchar : t.endchar], t.script)
        for t in analyzer(text, chars=True, positions=True, mode="index")
    ]


def search(index_path: str | os.PathLike, query: str, limit: int = 10, **options) -> Results:
    """One-shot search: open, search, close."""
    with Index.open(index_path) as ix:
        return ix.search(query, limit=limit, **options)


def ensure_seed_index(path: Path, *, log: Callable[[str], None] | None = None) -> bool:
    """Build the bundled seed corpus into ``path`` if no index is there yet.

    Returns True when it built one.
    """
    if (path / "bisearch.json").exists():
        return False
    seeds = config.seeds_dir()
    if seeds is None:
        raise IndexNotFound(
            f"no index at {path}, and the bundled seeds/ folder was not found",
            hint=f"index your own documents with `bisearch index PATH --index {path}`",
        )
    if log:
        log(f"first use: indexing the bundled seed corpus {seeds} into {path}")
    with Index(path) as ix:
        ix.add_paths([seeds])
    return True
