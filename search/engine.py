"""The index: documents in, ranked passages out.

:class:`Index` is the whole library API; the CLI is a thin shell over it.
Each source document is split into passages (:mod:`search.passages`), and each
passage is one Whoosh document, so BM25F ranks passages and a hit can point at
the exact span of its document.

Writes are all-or-nothing: documents are added through one Whoosh writer that
is committed at the end or cancelled on any error (Ctrl-C included), so a
failed run never leaves half of its documents behind, and what was committed
before stays searchable. One writer at a time holds the index's write lock
(:mod:`search.locking`); incremental ``sync``, ``remove`` and ``rebuild`` live
in :mod:`search.sync`, and the directory layout (generations, the
``bisearch.json`` pointer) in :mod:`search.layout`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import shutil
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import whoosh.index
from whoosh import query as wq
from whoosh.filedb.filestore import FileStorage
from whoosh.index import EmptyIndexError

import analyzers
from search import config, fastscore, layout, mapped, proximity
from search.compounds import add_glued, glued_words
from search.crosslingual import Bridge, bridge_query, is_cross
from search.errors import BisearchError, IndexNotFound, IndexStateError, IndexVersionError, InputError, QueryError
from search.feedback import expand as expand_query
from search.feedback import is_topic
from search.highlight import make_snippet, matched_terms
from search.locking import READERS_LOCK, ReaderPin, WriteLock
from search.model import Document, Hit, Snippet, Span
from search.query import (
    DOCUMENT_BOOSTS,
    DOCUMENT_FIELDS,
    ParsedQuery,
    collect,
    make_parser,
    parse_query,
    scored_terms,
    scoring,
)
from search.schema import build_schema, new_meta, read_meta, write_meta
from search.suggest import suggest

if TYPE_CHECKING:
    from search.ingest import Skipped
    from search.sync import RebuildReport, RemoveReport, SyncReport, WriteSession

# Segments are read in place from their memory map, not copied (search.mapped).
mapped.install()

# The write path (search.sync, search.ingest, search.manifest with SQLite,
# search.passages) is imported by the methods that write, not here: a search
# never needs it, and a one-shot `bisearch search` pays for every import.


@dataclass(frozen=True, slots=True)
class IngestReport:
    """What one ``add``/``index`` run did."""

    documents: int
    passages: int
    replaced: int
    skipped: tuple[Skipped, ...]
    seconds: float
    notes: tuple[str, ...] = ()

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
    suggestion: str | None = None

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
            "suggestion": self.suggestion,
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


@dataclass(frozen=True, slots=True)
class _Plan:
    """What runs for a query (:meth:`Index._plan`); :class:`QueryPlan` is its public account."""

    parsed: ParsedQuery
    glued: tuple[str, ...]
    direct: wq.Query  # the user's words and their glued compounds
    bridge: Bridge  # ``direct`` and its bridges to the other language (none with cross off)
    pairs: tuple[tuple[str, str], ...]


def _lang_filter(query: str, lang: str | None) -> wq.Query | None:
    """The passages ``lang`` keeps: that language's and mixed ones (None: all)."""
    if lang is None:
        return None
    if lang not in ("fa", "en", "mixed"):
        raise QueryError(f"unknown language {lang!r}", query=query, hint="use fa, en or mixed")
    return wq.Or([wq.Term("lang", lang), wq.Term("lang", "mixed")]) if lang != "mixed" else wq.Term("lang", "mixed")


@dataclass(frozen=True, slots=True)
class QueryPlan:
    """How a query is searched, step by step (``bisearch analyze --query``).

    ``parsed`` is the user's words as the parser reads them (fields, and
    stopwords and question words dropped); ``glued`` the glued spellings of
    spaced Persian compounds added to them (:mod:`search.compounds`);
    ``searched`` the query that runs, with those and the other language's
    bridges (:mod:`search.crosslingual`); ``pairs`` the English neighbours
    whose proximity re-ranks the top (:mod:`search.proximity`); ``topic``
    whether ranking documents (``bisearch run``) expands it by default
    (:mod:`search.feedback`); ``filter`` the passages a ``lang`` option
    keeps (empty: all).
    """

    text: str
    parsed: str
    glued: tuple[str, ...]
    searched: str
    bridged: bool
    pairs: tuple[tuple[str, str], ...]
    topic: bool
    warnings: tuple[str, ...] = ()
    filter: str = ""


def document_hash(doc: Document) -> str:
    """Content hash of everything that is indexed about a document."""
    import hashlib  # here, not at the top: only writes hash documents

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


class _FileIndex(whoosh.index.FileIndex):
    """Whoosh's FileIndex, but ``.schema`` is the schema bisearch built, not a
    re-read of the current table of contents (which a concurrent commit may
    just have deleted, and which costs a file read per access)."""

    @property
    def schema(self):
        return self._schema or super().schema


def _open_whoosh(gen_dir: Path, schema):
    """Open the Whoosh index in ``gen_dir``, retrying while a concurrent commit
    deletes the table of contents this reader just found (Whoosh retries
    that for readers, not for opening)."""
    for attempt in range(50):
        try:
            return _FileIndex(FileStorage(str(gen_dir)), schema=schema)
        except FileNotFoundError:
            if attempt == 49:
                raise
            time.sleep(0.01)
    raise AssertionError("unreachable")


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

    An open Index reads the generation ``bisearch.json`` names and follows it
    to a new one after a ``rebuild`` (checked before each search), so a
    long-lived reader never needs reopening. Writes (``add``, ``add_paths``,
    ``sync``, ``remove``, ``rebuild``) take the write lock for their run;
    ``wait=SECONDS`` waits for another writer instead of raising IndexLocked.
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
        self._pin: ReaderPin | None = None
        self._pointer_key: tuple[int, int, int] | None = None
        self._custom_analyzer = _analyzer
        self.meta: dict = {}
        meta = read_meta(self.path) if self.path.is_dir() else None
        if meta is None and create:
            meta = self._create(persian_stemmer, _analyzer)
        elif meta is None:
            hint = f"run `bisearch index PATH --index {self.path}` first"
            if self.path.is_dir() and whoosh.index.exists_in(str(self.path)):
                raise IndexNotFound(f"{self.path} holds a Whoosh index that bisearch did not write", hint=hint)
            raise IndexNotFound(f"no bisearch index at {self.path}", hint=hint)
        self._open_generation(meta)

    @classmethod
    def open(cls, path: str | os.PathLike) -> Index:
        """Open an existing index; IndexNotFound if there is none."""
        return cls(path, create=False)

    def _create(self, persian_stemmer: str, analyzer=None) -> dict:
        """Create an empty index (generation 1) under the write lock; its metadata."""
        try:
            self.path.mkdir(parents=True, exist_ok=True)
            if not layout.only_own_leftovers(self.path):
                raise IndexNotFound(
                    f"{self.path} is not empty and holds no bisearch index",
                    hint="choose an empty or new directory with --index",
                )
            with WriteLock(self.path, wait=30.0):
                meta = read_meta(self.path)
                if meta is not None:  # another process created it meanwhile
                    return meta
                for _n, leftover in layout.generations(self.path):  # an interrupted creation
                    shutil.rmtree(leftover)
                gen = layout.gen_name(1)
                gen_dir = self.path / gen
                gen_dir.mkdir()
                (gen_dir / READERS_LOCK).touch()
                ix = whoosh.index.create_in(str(gen_dir), build_schema(persian_stemmer=persian_stemmer, analyzer=analyzer))
                from search.manifest import Manifest  # SQLite: only when an index is created

                Manifest.create(gen_dir, whoosh_generation=ix.latest_generation()).close()
                meta = new_meta(persian_stemmer=persian_stemmer, generation=gen)
                if analyzer is not None:  # a benchmark baseline, not a product index
                    meta["analyzer"] = repr(analyzer)
                write_meta(self.path, meta)
                return meta
        except OSError as exc:
            raise IndexNotFound(
                f"cannot create an index at {self.path}: {exc.strerror or exc}", hint="check the path and its permissions"
            ) from None

    def _schema_for(self, meta: dict):
        """The schema to hand Whoosh (None: unpickle the stored one, for custom-analyzer baselines)."""
        if self._custom_analyzer is not None:
            return build_schema(analyzer=self._custom_analyzer)
        if meta.get("analyzer"):
            return None
        return build_schema(persian_stemmer=meta.get("persian_stemmer") or analyzers.DEFAULT_PERSIAN_STEMMER)

    def _open_generation(self, meta: dict) -> None:
        """Open (and pin) the generation ``meta`` names; retried if a writer just removed it."""
        for _attempt in range(20):
            gen_dir = self.path / meta["generation"]
            pin = ReaderPin(gen_dir)
            if not pin.acquire():
                meta = read_meta(self.path) or meta
                continue
            schema = self._schema_for(meta)
            try:
                with layout.guard_damage(self.path):
                    ix = _open_whoosh(gen_dir, schema)
            except EmptyIndexError:
                pin.release()
                raise IndexNotFound(
                    f"{self.path} has bisearch metadata but no index segments in {meta['generation']}",
                    hint="run `bisearch rebuild`",
                ) from None
            except BisearchError:
                pin.release()
                raise
            except Exception as exc:
                pin.release()
                if schema is None:  # a custom-analyzer baseline whose pickled schema no longer loads
                    raise IndexVersionError(
                        f"cannot load the stored schema of the index at {self.path}: {type(exc).__name__}: {exc}",
                        hint="build it again with the code that made it",
                    ) from None
                raise layout.damaged(self.path, exc) from None
            break
        else:
            raise IndexStateError(f"the index at {self.path} keeps changing under this reader", hint="try again")
        old_pin, self._pin = self._pin, pin
        if self._searcher is not None:
            self._searcher.close()
            self._searcher = None
        self._ix = ix
        self._gen_dir = gen_dir
        self.meta = meta
        self._parser = make_parser(ix.schema)
        self._doc_parser = make_parser(ix.schema, fields=DOCUMENT_FIELDS, boosts=DOCUMENT_BOOSTS)
        self._analyzer = ix.schema["text"].analyzer
        if old_pin is not None:
            old_pin.release()

    def _follow(self, *, force: bool = False) -> None:
        """Switch to the generation ``bisearch.json`` names now, if a rebuild changed it."""
        try:
            st = os.stat(self.path / "bisearch.json")
        except OSError:
            if force:
                raise IndexNotFound(f"no bisearch index at {self.path} any more", hint="index it again") from None
            return  # removed under us: keep answering from the open files
        key = (st.st_ino, st.st_mtime_ns, st.st_size)
        if key == self._pointer_key and not force:
            return
        meta = read_meta(self.path)
        if meta is None:
            return
        if meta["generation"] != self.meta.get("generation"):
            self._open_generation(meta)
        else:
            self.meta = meta
        self._pointer_key = key

    # -- lifecycle ---------------------------------------------------------
    def close(self) -> None:
        """Release the searcher and the pin on the generation being read."""
        if self._searcher is not None:
            self._searcher.close()
            self._searcher = None
        if self._pin is not None:
            self._pin.release()
            self._pin = None

    def __enter__(self) -> Index:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Index({str(self.path)!r})"

    # -- writing -----------------------------------------------------------
    @contextmanager
    def _writing(self, wait: float) -> Iterator[WriteSession]:
        """One locked write session on the current generation (see :mod:`search.sync`)."""
        from search.sync import WriteSession, map_write_error
        from search.testhooks import pause_at

        with WriteLock(self.path, wait=wait) as lock:
            pause_at("locked")
            try:
                self._follow(force=True)  # a rebuild may have switched generations
                layout.collect(self.path, keep={self.meta["generation"]})
                with layout.guard_damage(self.path):
                    session = WriteSession.open(self.path, self._gen_dir, self._ix, self._add_passages)
            except BaseException as exc:
                mapped = map_write_error(self.path, exc)
                if mapped is exc:
                    raise
                raise mapped from None
            note = lock.stale_note()
            if note:
                session.notes.insert(0, note)
            try:
                yield session
            except BaseException as exc:
                session.abort()
                mapped = map_write_error(self.path, exc)
                if mapped is exc:
                    raise
                raise mapped from None
            finally:
                session.close()

    def add(
        self,
        documents: Iterable[Document | Mapping | Skipped],
        *,
        progress: Callable[[Document | Skipped], None] | None = None,
        wait: float = 0.0,
    ) -> IngestReport:
        """Index documents (``Document`` values or dicts); same id replaces.

        Invalid dicts raise :class:`InputError` before anything is written to
        that run's commit; ``Skipped`` items (from :func:`search.ingest.read_documents`)
        are counted in the report. The documents are kept in the sync
        manifest too, so ``rebuild`` can index them again as given.
        """
        from search.ingest import Skipped
        from search.sync import Run

        with self._writing(wait) as session:
            run = Run(session, "add", progress)
            session.writer()
            for item in documents:
                if isinstance(item, Skipped):
                    run.skip(item)
                    continue
                run.document(_coerce(item), path=None, inline=True)
            session.commit()
        return dataclasses.replace(run.ingest_report(), notes=tuple(session.notes))

    def add_paths(
        self,
        paths: Iterable[str | os.PathLike],
        *,
        progress: Callable[[Document | Skipped], None] | None = None,
        wait: float = 0.0,
    ) -> IngestReport:
        """Index ``.txt``, ``.md`` and ``.jsonl`` files and folders (recursively).

        Every document read is (re)written; the paths are recorded as sources
        for :meth:`sync` and :meth:`rebuild`. A path inside an already
        recorded folder keeps that folder's ids.
        """
        from search.ingest import read_documents
        from search.sync import Run

        paths = list(paths)
        read_documents(paths)  # InputError for a missing path, before the lock is taken
        with self._writing(wait) as session:
            run = Run(session, "add", progress)
            session.writer()
            run.paths(paths)
            session.commit()
        return dataclasses.replace(run.ingest_report(), notes=tuple(session.notes))

    def sync(
        self,
        paths: Iterable[str | os.PathLike] = (),
        *,
        progress: Callable[[Document | Skipped], None] | None = None,
        wait: float = 0.0,
    ) -> SyncReport:
        """Bring the index up to date with ``paths`` (default: every recorded source).

        New documents are added, changed ones (by content hash) re-indexed,
        and documents whose file or JSONL line disappeared from a synced
        folder or file are removed; unchanged ones are not touched, and if
        nothing differs no commit is written. A path that no longer exists but
        was indexed before has all its documents removed.
        """
        from search.sync import Run

        paths = list(paths)
        with self._writing(wait) as session:
            run = Run(session, "sync", progress)
            run.paths(paths if paths else sorted(session.manifest.roots))
            committed = session.commit()
        return run.sync_report(committed, session.notes)

    def remove(self, ids: Iterable[str], *, wait: float = 0.0) -> RemoveReport:
        """Delete documents by id; ids not in the index are reported as unknown."""
        from search.sync import remove_documents

        ids = [ids] if isinstance(ids, str) else list(ids)
        with self._writing(wait) as session:
            return remove_documents(session, ids)

    def rebuild(self, *, progress: Callable[[Document | Skipped], None] | None = None, wait: float = 0.0) -> RebuildReport:
        """Re-index every recorded source into a new generation and switch to it atomically.

        Readers keep answering from the old generation until they next look;
        it is deleted once none reads it. Also the cure for an index written
        by another analyzer version (see :func:`rebuild`, which needs no open
        Index).
        """
        from search.sync import rebuild_index

        return rebuild_index(self.path, wait=wait, progress=progress, add_passages=self._add_passages, on_swapped=self._switch)

    def _switch(self) -> None:
        self._follow(force=True)

    def sources(self) -> tuple[str, ...]:
        """The folders and files recorded as this index's sources (what a bare ``update`` re-reads)."""
        from search.manifest import read_roots

        return read_roots(self._gen_dir)

    def _add_passages(self, writer, doc: Document) -> int:
        digest = document_hash(doc)
        when = _as_datetime(doc.date)
        from search.passages import split_passages  # the write path; never a search

        passages = split_passages(doc.text)
        # Our writer indexes ``body`` from the passages' own analysis when the
        # passages split the text where the analyzer would not join words
        # (search.writer.splittable_parts): each passage is analyzed once.
        body_parts = None
        if "body" in getattr(writer, "parts_fields", ()):
            from search.writer import splittable_parts

            if splittable_parts(doc.text, [(p.start, p.end) for p in passages]):
                body_parts = [p.text for p in passages]
        for p in passages:
            fields = {
                "pid": f"{doc.id}#{p.ordinal}",
                "doc_id": doc.id,
                "ordinal": p.ordinal,
                "start": p.start,
                "end": p.end,
                "text": p.text,
                "xkey": p.text,
                "lang": p.lang,
                "doc_hash": digest,
            }
            if doc.title:
                fields["title"] = doc.title
            if p.ordinal == 0:
                # Document-level evidence, on the lead passage only (see schema.py).
                fields["body"] = doc.text
                if body_parts is not None:
                    fields["_body_parts"] = body_parts
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
        self._follow()  # after a rebuild, read the new generation
        with layout.guard_damage(self.path):
            if self._searcher is None:
                self._searcher = self._ix.searcher(weighting=scoring())
            else:
                self._searcher = self._searcher.refresh()
        return self._searcher

    def parse(self, query: str) -> ParsedQuery:
        """Parse a query string as :meth:`search` would (QueryError if hopeless)."""
        return parse_query(self._parser, query)

    def _plan(self, parsed: ParsedQuery, parser, query: str, reader, *, cross: bool) -> _Plan:
        """The steps from the parsed (non-empty) ``query`` to what runs: one
        code path for :meth:`search`, :meth:`search_documents` and :meth:`explain`."""
        scored = scored_terms(parsed.query, "text")
        glued = tuple(glued_words(query, self._analyzer, reader, scored=scored))
        direct = add_glued(parsed.query, parser, glued)
        bridge = bridge_query(direct, query, self._analyzer) if cross else Bridge(direct)
        # Pairs of the user's words, not of the words added to them.
        pairs = proximity.query_pairs(parsed.query, query, self._analyzer, scored=scored)
        return _Plan(parsed, glued, direct, bridge, pairs)

    def explain(self, query: str, *, cross: bool = True, lang: str | None = None) -> QueryPlan:
        """Each step :meth:`search` takes from ``query`` to what it searches (same options)."""
        flt = _lang_filter(query, lang)
        parsed = self.parse(query)
        if parsed.is_empty:
            return QueryPlan(query, "", (), "", False, (), False, parsed.warnings, filter=str(flt) if flt is not None else "")
        plan = self._plan(parsed, self._parser, query, self._current_searcher().reader(), cross=cross)
        return QueryPlan(
            text=query,
            parsed=str(parsed.query),
            glued=plan.glued,
            searched=str(plan.bridge.query),
            bridged=plan.bridge.bridged,
            pairs=plan.pairs,
            topic=is_topic(query, self._analyzer),
            warnings=parsed.warnings,
            filter=str(flt) if flt is not None else "",
        )

    def search(
        self,
        query: str,
        *,
        limit: int = 10,
        offset: int = 0,
        lang: str | None = None,
        snippets: bool = True,
        cross: bool = True,
    ) -> Results:
        """Ranked passages for ``query`` (Whoosh syntax, both languages at once).

        ``lang`` keeps passages of that language and mixed ones. ``snippets``
        off skips highlighting, for batch runs that only need ranks. ``cross``
        off turns bridging to the other language off (:mod:`search.crosslingual`).
        A query that finds little gets a did-you-mean ``suggestion``.
        """
        if limit < 1 or offset < 0:
            raise QueryError(f"limit must be ≥ 1 and offset ≥ 0 (got {limit}, {offset})", query=query)
        flt = _lang_filter(query, lang)
        t0 = time.perf_counter()
        parsed = self.parse(query)
        if parsed.is_empty:
            return Results(query, (), 0, parsed.warnings, time.perf_counter() - t0)
        # A damaged segment often shows only now, mid-search: say so, with the cure.
        with layout.guard_damage(self.path):
            searcher = self._current_searcher()
            plan = self._plan(parsed, self._parser, query, searcher.reader(), cross=cross)
            direct_q, bridge, pairs = plan.direct, plan.bridge, plan.pairs
            fetch = max(offset + limit, proximity.DEPTH) if pairs else offset + limit
            results = collect(searcher, bridge.query, fetch, filter=flt)
            total = len(results)  # exact: collect() scores every match, so it counts them too
            proximity.rerank(searcher, results, pairs)
            terms = matched_terms(bridge.query, searcher.reader()) if snippets else frozenset()
            direct = matched_terms(direct_q, searcher.reader()) if snippets and bridge.bridged else None
            hits = []
            for rank, r in enumerate(results[offset : offset + limit], start=offset + 1):
                hits.append(self._hit(r, rank, terms, snippets, bridge.keys, direct))
            suggestion = suggest(searcher, query, self._analyzer, total)
            return Results(query, tuple(hits), total, parsed.warnings, time.perf_counter() - t0, suggestion)

    def _hit(self, r, rank: int, terms: frozenset[str], snippets: bool, keys=frozenset(), direct=None) -> Hit:
        f = r.fields()
        start, end = f["start"], f["end"]
        if snippets:
            snippet, seen = make_snippet(f["text"], self._analyzer, terms, base=start, keys=keys)
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
            cross=direct is not None and is_cross(seen, direct),
        )

    def search_documents(
        self, query: str, *, limit: int = 100, cross: bool = True, expand: bool | None = None
    ) -> list[tuple[str, float]]:
        """Document ids ranked for ``query`` (what ``bisearch run`` writes).

        A document scores as its best passage, where its first passage also
        carries the whole document's text (the ``body`` field): document-level
        evidence for a document-level ranking. ``expand`` adds the words of
        the best documents to the query (:mod:`search.feedback`); by default
        (None) for a query that looks like a topic (a few keywords), not for a
        question with one answer nor a sentence.
        """
        if limit < 1:
            raise QueryError(f"limit must be ≥ 1 (got {limit})", query=query)
        parsed = parse_query(self._doc_parser, query)
        if parsed.is_empty:
            return []
        searcher = self._current_searcher()
        plan = self._plan(parsed, self._doc_parser, query, searcher.reader(), cross=cross)
        q, pairs = plan.bridge.query, plan.pairs
        if expand is None:
            expand = is_topic(query, self._analyzer)
        if expand:
            q = expand_query(searcher, q, self._analyzer, query)
        results = collect(searcher, q, max(limit, proximity.DEPTH) if pairs else limit, collapse="doc_id")
        proximity.rerank(searcher, results, pairs)
        top = results[:limit]
        # The doc_id column (which the collapse read already), not each hit's stored fields.
        names = fastscore.column_names(searcher, "doc_id")
        if names is None:
            return [(r["doc_id"], float(r.score or 0.0)) for r in top]
        return [(names[r.docnum], float(r.score or 0.0)) for r in top]

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
        size = sum(p.stat().st_size for p in self._gen_dir.iterdir() if p.is_file())
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


def rebuild(
    index_path: str | os.PathLike,
    *,
    wait: float = 0.0,
    progress: Callable[[Document | Skipped], None] | None = None,
) -> RebuildReport:
    """Rebuild the index at ``index_path`` from its recorded sources (no open Index needed).

    Works on an index written by another schema or analyzer version (which
    :meth:`Index.open` refuses), on a damaged one, and on a version-1 index
    (Whoosh files directly in the directory), which it migrates.
    """
    from search.sync import rebuild_index

    return rebuild_index(index_path, wait=wait, progress=progress)


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
