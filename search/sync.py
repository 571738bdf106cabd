"""The write side: one locked session per run, incremental sync, remove, rebuild.

Every write runs as a :class:`WriteSession`: the write lock is held, the
current generation's manifest is loaded (and repaired from Whoosh if a crash
left it behind), one Whoosh writer is opened when the first change needs it,
and everything is committed at the end, or nothing is (the writer is
cancelled on any error, Ctrl-C included).

``sync`` (``bisearch update``) reads the given sources, compares each
document's content hash with the one recorded, and writes only the
difference: new documents are added, changed ones replaced, documents whose
file (or JSONL line) disappeared from a synced folder or file are deleted, and
unchanged ones are not touched. A file whose bytes hash the same as last time
is not even parsed. If nothing differs, no Whoosh commit is written at all.

``rebuild`` re-reads every recorded source into a new generation and then
switches ``bisearch.json`` to it (see :mod:`search.layout`).
"""

from __future__ import annotations

import errno
import fcntl
import hashlib
import os
import shutil
import sqlite3
import stat
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import whoosh.index
from whoosh import query as wq
from whoosh.filedb.filestore import FileStorage
from whoosh.index import TOC, LockError

import analyzers
from search import layout
from search.errors import BisearchError, IndexLocked, IndexNotFound, IndexStateError, InputError
from search.ingest import SUPPORTED_SUFFIXES, Skipped, _read_jsonl, _walk, read_text_file
from search.locking import READERS_LOCK, WriteLock, unwritable
from search.manifest import Manifest, ManifestError, document_to_json, within
from search.model import Document
from search.schema import build_schema, new_meta, read_meta_raw
from search.testhooks import pause_at

#: The writer's in-memory posting budget, in MB (search.writer's estimate; for
#: Whoosh's own pool, its ``limitmb``): past it, sorted runs go to disk and are
#: merged at commit. It is what makes peak RSS grow with the corpus. Measured
#: with Whoosh's pool, 6,000 raw-fa-news documents back to back: 256 MB →
#: 382 MB peak RSS, 108.9 s; 128 → 233 MB, 103.2 s; 64 → 166 MB, ~35 % slower.
WRITER_LIMIT_MB = 128

#: True: write with Whoosh's own SegmentWriter instead of search.writer's
#: (the benchmarks' stock baseline sets it; the index is the same either way).
STOCK_WRITER = False
SHOWN_IDS = 20

AddPassages = Callable[[object, Document], int]
Progress = Callable[[Document | Skipped], None] | None


# -- reports -----------------------------------------------------------------------


def _skipped_dicts(skipped: Iterable[Skipped]) -> list[dict]:
    return [{"path": s.path, "line": s.line, "reason": s.reason, "hint": s.hint} for s in skipped]


@dataclass(frozen=True, slots=True)
class SyncReport:
    """What one ``update`` (``Index.sync``) found and did.

    ``added``/``changed``/``removed`` are document ids; ``unchanged`` counts
    documents left untouched; ``committed`` is False when nothing differed
    and no commit was written.
    """

    added: tuple[str, ...]
    changed: tuple[str, ...]
    removed: tuple[str, ...]
    unchanged: int
    skipped: tuple[Skipped, ...]
    passages: int
    committed: bool
    seconds: float
    sources: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()

    @property
    def nothing_changed(self) -> bool:
        return not (self.added or self.changed or self.removed)

    def summary(self) -> str:
        s = (
            f"added {len(self.added)}, changed {len(self.changed)}, removed {len(self.removed)}, "
            f"unchanged {self.unchanged}, skipped {len(self.skipped)}"
        )
        if not self.committed:
            return s + f" — nothing changed, nothing written ({self.seconds:.1f}s)"
        return s + f" — {self.passages} passage(s) written in {self.seconds:.1f}s"

    def to_dict(self) -> dict:
        return {
            "added": list(self.added),
            "changed": list(self.changed),
            "removed": list(self.removed),
            "unchanged": self.unchanged,
            "skipped": _skipped_dicts(self.skipped),
            "passages": self.passages,
            "committed": self.committed,
            "seconds": round(self.seconds, 3),
            "sources": list(self.sources),
            "notes": list(self.notes),
        }


@dataclass(frozen=True, slots=True)
class RemoveReport:
    """What ``remove`` did. ``still_on_disk``: removed ids whose source file
    still exists, so a later ``update`` of that folder adds them back."""

    removed: tuple[str, ...]
    unknown: tuple[str, ...]
    still_on_disk: tuple[str, ...]
    committed: bool
    seconds: float
    notes: tuple[str, ...] = ()

    def to_dict(self) -> dict:
        return {
            "removed": list(self.removed),
            "unknown": list(self.unknown),
            "still_on_disk": list(self.still_on_disk),
            "committed": self.committed,
            "seconds": round(self.seconds, 3),
            "notes": list(self.notes),
        }


@dataclass(frozen=True, slots=True)
class RebuildReport:
    """What ``rebuild`` did. ``dropped``: ids of the old index whose sources
    are gone. ``previous_kept``: the old generation is still read by someone
    and will be deleted by a later write."""

    documents: int
    passages: int
    sources: tuple[str, ...]
    skipped: tuple[Skipped, ...]
    dropped: tuple[str, ...]
    generation: str
    previous: str | None
    previous_kept: bool
    seconds: float
    notes: tuple[str, ...] = ()

    def summary(self) -> str:
        s = (
            f"rebuilt {self.documents} document(s) as {self.passages} passage(s) from {len(self.sources)} source(s) "
            f"into {self.generation}"
        )
        if self.dropped:
            s += f"; {len(self.dropped)} document(s) dropped (their sources are gone)"
        return s + f", skipped {len(self.skipped)}, in {self.seconds:.1f}s"

    def to_dict(self) -> dict:
        return {
            "documents": self.documents,
            "passages": self.passages,
            "sources": list(self.sources),
            "skipped": _skipped_dicts(self.skipped),
            "dropped": list(self.dropped),
            "generation": self.generation,
            "previous": self.previous,
            "previous_kept": self.previous_kept,
            "seconds": round(self.seconds, 3),
            "notes": list(self.notes),
        }


# -- errors ---------------------------------------------------------------------------


def _sqlite_error(index_dir: Path, exc: sqlite3.Error) -> IndexStateError:
    text = str(exc).lower()
    if "full" in text:
        return unwritable(index_dir, OSError(errno.ENOSPC, "No space left on device"))
    if "readonly" in text or "read-only" in text:
        return unwritable(index_dir, OSError(errno.EROFS, "Read-only file system"))
    return IndexStateError(
        f"the sync manifest of the index at {index_dir} cannot be used ({exc})",
        hint="run `bisearch rebuild`",
    )


def map_write_error(index_dir: Path, exc: BaseException) -> BaseException:
    """The clear error to raise for an exception that stopped a write."""
    if isinstance(exc, BisearchError) or not isinstance(exc, Exception):
        return exc
    if isinstance(exc, sqlite3.Error):
        return _sqlite_error(index_dir, exc)
    if isinstance(exc, OSError) and exc.errno in layout.WRITE_ERRNOS:
        return unwritable(index_dir, exc)
    if layout.is_damage(exc):
        return layout.damaged(index_dir, exc)
    if isinstance(exc, OSError):
        return unwritable(index_dir, exc)
    return exc


# -- sessions ---------------------------------------------------------------------------


def open_whoosh(whoosh_dir: Path, schema=None):
    """Open the Whoosh index in ``whoosh_dir`` with our own schema (nothing is unpickled)."""
    return whoosh.index.open_dir(str(whoosh_dir), schema=schema if schema is not None else build_schema())


def open_writer(ix, limitmb: float | None = None):
    """A writer on ``ix`` (its Whoosh lock taken): search.writer's, or Whoosh's for what it cannot write."""
    from search.writer import FastSegmentWriter, supports

    if limitmb is None:
        limitmb = WRITER_LIMIT_MB
    if STOCK_WRITER or not supports(ix.schema):
        return ix.writer(limitmb=limitmb)
    return FastSegmentWriter(ix, limitmb=limitmb)


class WriteSession:
    """One locked write on one generation (see the module docstring)."""

    def __init__(self, index_dir: Path, gen_dir: Path, ix, manifest: Manifest, add_passages: AddPassages) -> None:
        self.index_dir = index_dir
        self.gen_dir = gen_dir
        self.ix = ix
        self.manifest = manifest
        self.add_passages = add_passages
        self.fresh = ix.is_empty()
        self.notes: list[str] = []
        self.written = 0
        self._writer = None
        self._searcher = None

    @classmethod
    def open(cls, index_dir: Path, gen_dir: Path, ix, add_passages: AddPassages) -> WriteSession:
        """Load (or repair) the manifest of the current generation."""
        notes = []
        try:
            manifest = Manifest.open(gen_dir)
        except ManifestError as exc:
            manifest = _manifest_from_whoosh(gen_dir, ix)
            notes.append(f"re-created the sync manifest from the index ({exc})")
        else:
            if manifest.whoosh_generation != ix.latest_generation():
                _reconcile(manifest, ix)
                notes.append("repaired the sync manifest after an interrupted run")
        clean_whoosh_leftovers(gen_dir)
        ix.reader().close()  # a damaged segment fails here, even if this run would write nothing
        session = cls(index_dir, gen_dir, ix, manifest, add_passages)
        session.notes.extend(notes)
        return session

    def writer(self):
        if self._writer is None:
            try:
                self._writer = open_writer(self.ix)
            except LockError:
                raise IndexLocked(
                    f"the index at {self.index_dir} is locked by another Whoosh writer",
                    hint="wait for the other indexing run to finish",
                ) from None
        return self._writer

    def delete(self, doc_id: str) -> None:
        w = self.writer()
        if self._searcher is None:  # one searcher for every delete of the run, not one each
            self._searcher = w.searcher()
        w.delete_by_term("doc_id", doc_id, searcher=self._searcher)

    def _close_searcher(self) -> None:
        s, self._searcher = self._searcher, None
        if s is not None:
            try:
                s.close()
            except Exception:
                pass

    def commit(self) -> bool:
        """Commit Whoosh (if anything was written), then the manifest; True if Whoosh committed."""
        pause_at("before_commit")
        committed = False
        self._close_searcher()
        if self._writer is not None:
            w, self._writer = self._writer, None
            try:
                w.commit()
            except BaseException:
                _abandon(w)
                clean_whoosh_leftovers(self.gen_dir)
                raise
            committed = True
            pause_at("after_commit")
        try:
            self.manifest.set_whoosh_generation(self.ix.latest_generation())
            self.manifest.commit()
        except sqlite3.Error as exc:
            if not committed:
                raise
            self.manifest.rollback()
            self.notes.append(
                f"the changes are committed, but the sync manifest could not be saved ({exc}); the next update repairs it"
            )
        return committed

    def abort(self) -> None:
        self._close_searcher()
        w, self._writer = self._writer, None
        if w is not None:
            _abandon(w)
            clean_whoosh_leftovers(self.gen_dir)  # free the space a failed commit took
        self.manifest.rollback()

    def close(self) -> None:
        self.abort()
        self.manifest.close()


def clean_whoosh_leftovers(gen_dir: Path) -> None:
    """Delete what a failed or killed Whoosh writer left: its temp folder and segment files
    that no commit references.

    Whoosh does this itself at its next commit; doing it here also frees the
    space when the next run has nothing to commit (or the disk is full). Only
    while Whoosh's own lock is free; callers hold our write lock, so no writer
    of ours is running.
    """
    try:
        fd = os.open(gen_dir / "MAIN_WRITELOCK", os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC, 0o644)
    except OSError:
        return
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            return
        shutil.rmtree(gen_dir / "MAIN.tmp", ignore_errors=True)
        try:
            storage = FileStorage(str(gen_dir))
            toc = TOC.read(storage, "MAIN", schema=build_schema())
            whoosh.index.clean_files(storage, "MAIN", toc.generation, toc.segments)
        except Exception:
            pass  # best effort; Whoosh retries at its next commit
    finally:
        os.close(fd)


def _abandon(writer) -> None:
    """Cancel a Whoosh writer whatever state a failure left it in, and free its lock."""
    try:
        writer.cancel()
    except Exception:
        pass
    lock = getattr(writer, "writelock", None)
    if lock is not None and getattr(lock, "fd", None) is not None:
        try:
            lock.release()
        except Exception:
            pass


# -- reading the truth back from Whoosh -------------------------------------------------


def whoosh_documents(ix) -> dict[str, tuple[str | None, str | None]]:
    """``{doc_id: (doc_hash, path)}`` from the stored fields of each document's first passage."""
    out: dict[str, tuple[str | None, str | None]] = {}
    with ix.searcher() as s:
        for docnum in s.docs_for_query(wq.NumericRange("ordinal", 0, 0)):
            f = s.stored_fields(docnum)
            out[f["doc_id"]] = (f.get("doc_hash"), f.get("path"))
        if len(out) < s.doc_count():  # a document without passage 0 would be a bug; be thorough anyway
            for _n, f in s.reader().iter_docs():
                out.setdefault(f["doc_id"], (f.get("doc_hash"), f.get("path")))
    return out


def stitched_document(ix, doc_id: str) -> Document | None:
    """A document rebuilt from its stored passages (whitespace between passages becomes spaces)."""
    with ix.searcher() as s:
        parts = sorted(s.documents(doc_id=doc_id), key=lambda f: f["start"])
    if not parts:
        return None
    out: list[str] = []
    pos = 0
    for f in parts:
        out.append(" " * max(0, f["start"] - pos))
        out.append(f["text"])
        pos = f["start"] + len(f["text"])
    first = parts[0]
    date = first.get("date")
    return Document(
        id=doc_id,
        text="".join(out),
        title=first.get("title"),
        date=date.date() if date else None,
        source=first.get("source"),
        url=first.get("url"),
        path=first.get("path"),
    )


def derive_roots(docs: dict[str, tuple[str | None, str | None]], roots: dict[str, str]) -> dict[str, str]:
    """Sources for documents whose path no recorded root covers (text files are
    recorded one by one unless their id shows the folder they were found in)."""
    out = dict(roots)
    for doc_id, (_h, path) in sorted(docs.items()):
        if not path or any(within(path, r) for r in out):
            continue
        rel = doc_id.replace("/", os.sep)
        if not path.lower().endswith(".jsonl") and os.sep in rel and path.endswith(os.sep + rel):
            out[path[: -len(rel) - 1]] = "dir"
        else:
            out[path] = "file"
    return out


def _reconcile(manifest: Manifest, ix) -> None:
    """Make the manifest describe the Whoosh commit it lags behind."""
    truth = whoosh_documents(ix)
    for doc_id in [i for i in manifest.docs if i not in truth]:
        manifest.del_doc(doc_id)
    for doc_id, (digest, path) in truth.items():
        row = manifest.docs.get(doc_id)
        if row is not None and row.hash == digest and row.path == path:
            continue
        inline = None
        if path is None:
            doc = stitched_document(ix, doc_id)
            inline = document_to_json(doc) if doc else None
        manifest.put_doc(doc_id, digest or "", path, inline)
    for path in list(manifest.files):
        manifest.forget_file(path)
    for root, kind in derive_roots(truth, manifest.roots).items():
        manifest.put_root(root, kind)
    manifest.set_whoosh_generation(ix.latest_generation())
    manifest.commit()


def _manifest_from_whoosh(gen_dir: Path, ix) -> Manifest:
    manifest = Manifest.create(gen_dir, whoosh_generation=-1)
    _reconcile(manifest, ix)
    return manifest


# -- walking sources ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Target:
    """One path given to ``index``/``update``: where to walk, and the root ids are relative to."""

    path: str
    root: str
    exists: bool
    new_root: str | None  # kind ("dir"/"file") if it is to be recorded as a new root


def resolve_targets(paths: Iterable[str | os.PathLike], roots: dict[str, str]) -> list[Target]:
    """Absolute targets; a path inside a recorded folder keeps that folder's ids.

    A path that does not exist is an InputError (before anything is written)
    unless it is, or lies under, a recorded source: then its documents are
    removed by ``sync``.
    """
    out: list[Target] = []
    given = {os.path.abspath(os.fspath(p)): p for p in paths}
    for a, p in given.items():
        exists = os.path.exists(a)
        enclosing = [r for r, k in roots.items() if k == "dir" and within(a, r)]
        if a in roots and roots[a] == "file":
            out.append(Target(a, os.path.dirname(a), exists, None))
        elif enclosing:
            out.append(Target(a, max(enclosing, key=len), exists, None))
        elif not exists:
            if any(within(r, a) for r in roots):  # a folder that held recorded sources
                out.append(Target(a, a, False, None))
                continue
            raise InputError(
                f"no such file or folder: {p}", path=str(p), hint="check the path; give a folder, or .txt, .md or .jsonl files"
            )
        elif os.path.isdir(a):
            out.append(Target(a, a, True, "dir"))
        else:
            out.append(Target(a, os.path.dirname(a), True, "file"))
    # a target inside another target is covered by it
    return [t for t in out if not any(o.exists and o.path != t.path and within(t.path, o.path) for o in out)]


def _entries(target: Target) -> Iterator[tuple[Path, Path] | Skipped]:
    path = Path(target.path)
    if path.is_dir():
        for item in _walk(path, frozenset()):
            yield item if isinstance(item, Skipped) else (item, Path(target.root))
    else:
        yield path, Path(target.root)


def _file_digest(path: Path) -> tuple[str, tuple[int, int, int]]:
    h = hashlib.sha1()
    with open(path, "rb") as fh:
        st = os.fstat(fh.fileno())
        if not stat.S_ISREG(st.st_mode):
            raise IsADirectoryError(errno.EINVAL, "not a regular file")
        while chunk := fh.read(1 << 20):
            h.update(chunk)
    return h.hexdigest(), (st.st_size, st.st_mtime_ns, st.st_ino)


def _stat_key(path: Path) -> tuple[int, int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_size, st.st_mtime_ns, st.st_ino


# -- one run ---------------------------------------------------------------------------------


class Run:
    """The documents of one run through a session, and what became of them.

    ``mode`` "add": every document is (re)written (``index``, ``Index.add``);
    "sync": only new and changed ones, and missing ones are removed.
    """

    def __init__(self, session: WriteSession, mode: str, progress: Progress = None) -> None:
        from search.engine import document_hash

        self._hash = document_hash
        self.session = session
        self.m = session.manifest
        self.mode = mode
        self.progress = progress
        self.seen: dict[str, str] = {}
        self.added: list[str] = []
        self.changed: list[str] = []
        self.removed: list[str] = []
        self.unchanged = 0
        self.passages = 0
        self.skipped: list[Skipped] = []
        self.sources: list[str] = []
        self.t0 = time.perf_counter()

    def skip(self, item: Skipped) -> None:
        self.skipped.append(item)
        if self.progress:
            self.progress(item)

    def document(self, doc: Document, *, path: str | None, inline: bool) -> None:
        where = doc.path or doc.id
        if doc.id in self.seen:
            self.skip(
                Skipped(
                    where,
                    None,
                    f"duplicate document id {doc.id!r} (first seen in {self.seen[doc.id]})",
                    "give each document a unique id",
                )
            )
            return
        self.seen[doc.id] = where
        digest = self._hash(doc)
        old = self.m.docs.get(doc.id)
        if self.mode == "sync" and old is not None and old.hash == digest:
            self.unchanged += 1
            if old.path != path:
                self.m.move_doc(doc.id, path)
            return
        s = self.session
        if old is not None or not s.fresh:
            s.delete(doc.id)
        self.passages += s.add_passages(s.writer(), doc)
        self.m.put_doc(doc.id, digest, path, document_to_json(doc) if inline else None)
        (self.changed if old is not None else self.added).append(doc.id)
        s.written += 1
        pause_at("after_add", s.written)
        if self.progress:
            self.progress(doc)

    def remove(self, doc_id: str) -> None:
        self.session.delete(doc_id)
        self.m.del_doc(doc_id)
        self.removed.append(doc_id)

    # -- files -----------------------------------------------------------------
    def paths(self, paths: Iterable[str | os.PathLike]) -> None:
        """Read (and in sync mode, compare and prune) the given files and folders."""
        m = self.m
        targets = resolve_targets(list(paths), m.roots)
        # Record new roots first, durably: if this run dies, a bare `update` retries them.
        for t in targets:
            if t.new_root:
                for r in [r for r in m.roots if r != t.path and within(r, t.path)]:
                    m.del_root(r)  # covered by the new folder
                m.put_root(t.path, t.new_root)
        m.commit()
        self.sources = [t.path for t in targets]
        ids_by_path = m.ids_by_path() if self.mode == "sync" else {}
        keep_files: set[str] = set()
        keep_dirs: list[str] = []
        visited: set[str] = set()
        for t in targets:
            if not t.exists:
                continue
            for entry in _entries(t):
                if isinstance(entry, Skipped):
                    self.skip(entry)
                    keep_dirs.append(os.path.abspath(entry.path))
                    continue
                file, root = entry
                fpath = os.path.abspath(file)
                visited.add(fpath)
                if not self._file(file, root, fpath, ids_by_path):
                    keep_files.add(fpath)
        if self.mode != "sync":
            return
        scopes = [t.path for t in targets]
        for doc_id, row in list(m.docs.items()):
            if row.path is None or doc_id in self.seen or not any(within(row.path, s) for s in scopes):
                continue
            if row.path in keep_files or any(within(row.path, d) for d in keep_dirs):
                continue
            self.remove(doc_id)
        for fpath in [f for f in m.files if f not in visited and any(within(f, s) for s in scopes)]:
            if fpath not in keep_files and not any(within(fpath, d) for d in keep_dirs):
                m.del_file(fpath)
        for t in targets:
            if not t.exists:
                for r in [r for r in m.roots if within(r, t.path)]:
                    m.del_root(r)

    def _file(self, file: Path, root: Path, fpath: str, ids_by_path: dict[str, list[str]]) -> bool:
        """Read one file; False if (some of) it could not be read, so its old documents stay."""
        suffix = file.suffix.lower()
        shown = str(file)
        if suffix not in SUPPORTED_SUFFIXES:
            self.skip(
                Skipped(
                    shown,
                    None,
                    f"unsupported file type {file.suffix or '(no suffix)'!r}",
                    "give .txt, .md or .jsonl files, or a folder",
                )
            )
            return False
        try:
            sha1, before = _file_digest(file)
        except OSError as exc:
            self.skip(Skipped(shown, None, f"cannot read: {exc.strerror or exc}", "check that the file exists and is readable"))
            return False
        if self.mode == "sync" and sha1 == self.m.files.get(fpath):
            for doc_id in ids_by_path.get(fpath, ()):
                if doc_id not in self.seen:
                    self.seen[doc_id] = shown
                    self.unchanged += 1
            return True
        clean = True
        items = _read_jsonl(file) if suffix == ".jsonl" else [read_text_file(file, root)]
        for item in items:
            if isinstance(item, Skipped):
                self.skip(item)
                clean = False
            else:
                self.document(item, path=fpath, inline=False)
        # Remember the bytes' hash only if they were all used and did not change while read.
        self.m.put_file(fpath, sha1 if clean and _stat_key(file) == before else None)
        return clean

    def ingest_report(self):
        from search.engine import IngestReport

        return IngestReport(
            len(self.added) + len(self.changed),
            self.passages,
            len(self.changed),
            tuple(self.skipped),
            time.perf_counter() - self.t0,
        )

    def sync_report(self, committed: bool, notes: Iterable[str]) -> SyncReport:
        return SyncReport(
            tuple(self.added),
            tuple(self.changed),
            tuple(self.removed),
            self.unchanged,
            tuple(self.skipped),
            self.passages,
            committed,
            time.perf_counter() - self.t0,
            tuple(self.sources),
            tuple(n for n in notes if n),
        )


def remove_documents(session: WriteSession, ids: Iterable[str]) -> RemoveReport:
    t0 = time.perf_counter()
    m = session.manifest
    removed, unknown, on_disk = [], [], []
    for doc_id in dict.fromkeys(ids):
        row = m.docs.get(doc_id)
        if row is None:
            unknown.append(doc_id)
            continue
        session.delete(doc_id)
        m.del_doc(doc_id)
        removed.append(doc_id)
        if row.path is not None:
            m.forget_file(row.path)  # re-read it next time: its other documents are still indexed
            if os.path.exists(row.path):
                on_disk.append(doc_id)
    committed = session.commit()
    return RemoveReport(tuple(removed), tuple(unknown), tuple(on_disk), committed, time.perf_counter() - t0, tuple(session.notes))


# -- rebuild -------------------------------------------------------------------------------


@dataclass
class _Sources:
    roots: dict[str, str] = field(default_factory=dict)
    inline: list[Document] = field(default_factory=list)
    old_ids: set[str] = field(default_factory=set)
    previous: str | None = None
    legacy: bool = False
    persian_stemmer: str = analyzers.DEFAULT_PERSIAN_STEMMER
    notes: list[str] = field(default_factory=list)


def _gather_sources(index_dir: Path) -> _Sources:
    """What the current index was built from, read without trusting its analyzer version."""
    raw = read_meta_raw(index_dir)
    src = _Sources()
    if raw is not None:
        if raw.get("analyzer"):
            raise IndexStateError(
                f"the index at {index_dir} was built with a custom analyzer ({raw['analyzer']}), which rebuild cannot reproduce",
                hint="build it again with the code that made it",
            )
        stemmer = raw.get("persian_stemmer")
        if isinstance(stemmer, str) and stemmer:
            src.persian_stemmer = stemmer
    gen = raw.get("generation") if raw else None
    gen_dir = index_dir / gen if isinstance(gen, str) and layout.gen_number(gen) is not None else None
    whoosh_dir = None
    manifest = None
    ix = None
    if gen_dir is not None and gen_dir.is_dir():
        src.previous = gen
        whoosh_dir = gen_dir
        clean_whoosh_leftovers(gen_dir)  # space a failed write took, before building beside it
    elif raw is not None and "generation" not in raw and layout.legacy_files(index_dir):
        src.legacy = True
        whoosh_dir = index_dir
    else:
        # No usable pointer: fall back to the newest generation that has a manifest.
        for _n, d in reversed(layout.generations(index_dir)):
            if (d / "manifest.sqlite").is_file():
                whoosh_dir, src.previous = d, d.name
                src.notes.append(f"bisearch.json was unusable; rebuilt from the sources recorded in {d.name}")
                break
    if whoosh_dir is None:
        raise IndexNotFound(f"no bisearch index at {index_dir} to rebuild", hint=f"run `bisearch index PATH --index {index_dir}`")

    if not src.legacy:
        try:
            manifest = Manifest.open(whoosh_dir)
        except ManifestError as exc:
            src.notes.append(f"the sync manifest was unusable ({exc}); sources were read from the index itself")
    truth = None
    if manifest is None or manifest.whoosh_generation != layout.toc_generation(whoosh_dir):
        try:
            ix = open_whoosh(whoosh_dir)
            truth = whoosh_documents(ix)
        except Exception as exc:
            ix = None
            if manifest is None:
                raise layout.damaged(index_dir, exc) if not isinstance(exc, BisearchError) else exc from None
            src.notes.append(f"the index could not be read ({type(exc).__name__}); used the sync manifest as it was")
    try:
        if manifest is not None:
            src.roots = dict(manifest.roots)
            src.inline = list(manifest.inline_documents())
            src.old_ids = set(manifest.docs)
        if truth is not None:
            inline_ids = {d.id for d in src.inline}
            src.roots = derive_roots(truth, src.roots)
            src.old_ids = set(truth)
            src.inline = [d for d in src.inline if d.id in truth]
            for doc_id, (_h, path) in truth.items():
                if path is None and doc_id not in inline_ids:
                    doc = stitched_document(ix, doc_id)
                    if doc is not None:
                        src.inline.append(doc)
    finally:
        if manifest is not None:
            manifest.close()
    return src


def rebuild_index(
    index_dir: str | os.PathLike,
    *,
    wait: float = 0.0,
    progress: Progress = None,
    add_passages: AddPassages | None = None,
    on_swapped: Callable[[], None] | None = None,
) -> RebuildReport:
    """Re-read every recorded source into a new generation and switch to it atomically."""
    from search.engine import Index

    index_dir = Path(index_dir)
    if not (index_dir / "bisearch.json").exists() and not layout.generations(index_dir):
        raise IndexNotFound(f"no bisearch index at {index_dir} to rebuild", hint=f"run `bisearch index PATH --index {index_dir}`")
    if add_passages is None:

        def add_passages(writer, doc):
            return Index._add_passages(None, writer, doc)  # type: ignore[arg-type]

    with WriteLock(index_dir, wait=wait) as lock:
        pause_at("locked")
        src = _gather_sources(index_dir)
        number = layout.next_gen_number(index_dir)
        gen = layout.gen_name(number)
        gen_dir = index_dir / gen
        manifest = None
        try:
            gen_dir.mkdir()
            (gen_dir / READERS_LOCK).touch()
            ix = whoosh.index.create_in(str(gen_dir), build_schema(persian_stemmer=src.persian_stemmer))
            manifest = Manifest.create(gen_dir, whoosh_generation=ix.latest_generation())
            session = WriteSession(index_dir, gen_dir, ix, manifest, add_passages)
            run = Run(session, "add", progress)
            try:
                session.writer()
                existing = [r for r in sorted(src.roots) if os.path.exists(r)]
                for r in sorted(set(src.roots) - set(existing)):
                    run.skip(Skipped(r, None, "recorded source no longer exists; its documents were dropped", None))
                for r in existing:
                    manifest.put_root(r, src.roots[r])
                run.paths(existing)
                for doc in src.inline:
                    run.document(doc, path=None, inline=True)
                session.commit()
            except BaseException:
                session.abort()
                raise
            manifest.close()
            manifest = None
            pause_at("before_swap")
            layout.write_pointer(index_dir, new_meta(persian_stemmer=src.persian_stemmer, generation=gen))
        except BaseException as exc:
            if manifest is not None:
                manifest.close()
            shutil.rmtree(gen_dir, ignore_errors=True)
            mapped = map_write_error(index_dir, exc)
            if mapped is exc:
                raise
            raise mapped from None
        pause_at("after_swap")
        if src.legacy:
            for p in layout.legacy_files(index_dir):
                p.unlink(missing_ok=True)
        if on_swapped is not None:
            on_swapped()
        busy = layout.collect(index_dir, keep={gen})
        notes = [lock.stale_note(), *src.notes, *session.notes]
        if busy:
            notes.append(f"the previous generation ({', '.join(busy)}) is still being read; a later write deletes it")
        new_ids = set(run.seen)
        return RebuildReport(
            documents=len(run.added) + len(run.changed),
            passages=run.passages,
            sources=tuple(sorted(existing)) + (("(documents added through the API)",) if src.inline else ()),
            skipped=tuple(run.skipped),
            dropped=tuple(sorted(src.old_ids - new_ids)),
            generation=gen,
            previous=src.previous,
            previous_kept=bool(src.previous and src.previous in busy),
            seconds=time.perf_counter() - run.t0,
            notes=tuple(n for n in notes if n),
        )
