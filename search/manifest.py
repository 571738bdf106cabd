"""What a generation was built from: the sync manifest (``manifest.sqlite``).

Whoosh holds the passages; this small SQLite database beside them holds what
``update`` and ``rebuild`` need and Whoosh cannot give cheaply:

``roots``
    every folder or file given to ``index``/``update`` (what a bare
    ``bisearch update`` and ``rebuild`` re-read);
``files``
    for each source file, the SHA-1 of its bytes when it was last read, so an
    unchanged file is skipped without parsing it (its content is still read
    and hashed: timestamps alone decide nothing);
``docs``
    for each document id, the hash of what was indexed (``document_hash``)
    and the file it came from; documents given to ``Index.add`` directly have
    no file, so their fields are kept here as JSON for ``rebuild``;
``meta``
    ``whoosh_generation``, the Whoosh commit these rows describe.

Rows are written in one transaction that commits right *after* the Whoosh
commit. A crash between the two leaves the manifest one commit behind; the
next writer notices (``whoosh_generation`` differs from the index's) and
reconciles it from the documents' stored ``doc_hash``/``path`` fields, so
Whoosh is always the truth and the manifest a cache of it.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from search.model import Document

MANIFEST_FILE = "manifest.sqlite"
MANIFEST_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS roots (path TEXT PRIMARY KEY, kind TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS files (path TEXT PRIMARY KEY, sha1 TEXT);
CREATE TABLE IF NOT EXISTS docs (id TEXT PRIMARY KEY, hash TEXT NOT NULL, path TEXT, inline TEXT);
CREATE INDEX IF NOT EXISTS docs_path ON docs (path);
"""


class ManifestError(Exception):
    """Internal: the manifest is missing or unreadable (the caller rebuilds it from Whoosh)."""


@dataclass(frozen=True, slots=True)
class DocRow:
    hash: str
    path: str | None


def document_to_json(doc: Document) -> str:
    data = {name: getattr(doc, name) for name in Document.__slots__}
    if data["date"] is not None:
        data["date"] = data["date"].isoformat()
    return json.dumps(data, ensure_ascii=False)


def document_from_json(text: str) -> Document:
    data = json.loads(text)
    if data.get("date"):
        data["date"] = dt.date.fromisoformat(data["date"][:10])
    return Document(**{k: v for k, v in data.items() if k in Document.__slots__})


class Manifest:
    """One generation's manifest, loaded into memory for a write session."""

    def __init__(self, conn: sqlite3.Connection, path: Path) -> None:
        self.conn = conn
        self.path = path
        self.docs: dict[str, DocRow] = {}
        self.files: dict[str, str | None] = {}
        self.roots: dict[str, str] = {}
        self.whoosh_generation = -1
        self._in_tx = False

    # -- opening ---------------------------------------------------------------
    @classmethod
    def create(cls, gen_dir: Path, *, whoosh_generation: int = 0) -> Manifest:
        """A new, empty manifest (replacing any file there)."""
        path = gen_dir / MANIFEST_FILE
        for leftover in (path, path.with_name(path.name + "-journal")):
            leftover.unlink(missing_ok=True)
        conn = sqlite3.connect(path, isolation_level=None)
        conn.executescript(_SCHEMA)
        conn.execute("BEGIN")
        conn.executemany(
            "INSERT INTO meta VALUES (?, ?)",
            [("manifest_version", str(MANIFEST_VERSION)), ("whoosh_generation", str(whoosh_generation))],
        )
        conn.execute("COMMIT")
        m = cls(conn, path)
        m.whoosh_generation = whoosh_generation
        return m

    @classmethod
    def open(cls, gen_dir: Path) -> Manifest:
        """Open and load a generation's manifest; ManifestError if missing or unusable."""
        path = gen_dir / MANIFEST_FILE
        if not path.is_file():
            raise ManifestError(f"{path} is missing")
        try:
            conn = sqlite3.connect(path, isolation_level=None)
        except sqlite3.Error as exc:
            raise ManifestError(str(exc)) from None
        m = cls(conn, path)
        try:
            m._load()
        except (sqlite3.DatabaseError, ValueError, KeyError) as exc:
            conn.close()
            raise ManifestError(f"{path}: {exc}") from None
        return m

    def _load(self) -> None:
        c = self.conn
        meta = dict(c.execute("SELECT key, value FROM meta"))
        if int(meta["manifest_version"]) != MANIFEST_VERSION:
            raise ValueError(f"manifest version {meta['manifest_version']}, expected {MANIFEST_VERSION}")
        self.whoosh_generation = int(meta["whoosh_generation"])
        self.roots = dict(c.execute("SELECT path, kind FROM roots"))
        self.files = dict(c.execute("SELECT path, sha1 FROM files"))
        self.docs = {i: DocRow(h, p) for i, h, p in c.execute("SELECT id, hash, path FROM docs")}

    def close(self) -> None:
        if self._in_tx:
            self.rollback()
        self.conn.close()

    # -- queries ---------------------------------------------------------------
    def ids_by_path(self) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for doc_id, row in self.docs.items():
            if row.path is not None:
                out.setdefault(row.path, []).append(doc_id)
        return out

    def inline_documents(self) -> Iterator[Document]:
        """The documents given to ``Index.add`` directly, as they were given."""
        for (text,) in self.conn.execute("SELECT inline FROM docs WHERE inline IS NOT NULL ORDER BY rowid"):
            yield document_from_json(text)

    # -- writing ---------------------------------------------------------------
    def begin(self) -> None:
        if not self._in_tx:
            self.conn.execute("BEGIN IMMEDIATE")
            self._in_tx = True

    def commit(self) -> None:
        if self._in_tx:
            self.conn.execute("COMMIT")
            self._in_tx = False

    def rollback(self) -> None:
        if self._in_tx:
            self._in_tx = False
            try:
                self.conn.execute("ROLLBACK")
            except sqlite3.Error:
                pass

    def put_doc(self, doc_id: str, digest: str, path: str | None, inline: str | None) -> None:
        self.begin()
        self.conn.execute(
            "INSERT OR REPLACE INTO docs (id, hash, path, inline) VALUES (?, ?, ?, ?)", (doc_id, digest, path, inline)
        )
        self.docs[doc_id] = DocRow(digest, path)

    def move_doc(self, doc_id: str, path: str | None) -> None:
        """Same content, now read from another file (or from a file instead of inline)."""
        self.begin()
        self.conn.execute("UPDATE docs SET path = ?, inline = NULL WHERE id = ?", (path, doc_id))
        self.docs[doc_id] = DocRow(self.docs[doc_id].hash, path)

    def del_doc(self, doc_id: str) -> None:
        self.begin()
        self.conn.execute("DELETE FROM docs WHERE id = ?", (doc_id,))
        self.docs.pop(doc_id, None)

    def put_file(self, path: str, sha1: str | None) -> None:
        """Record the hash of a file's bytes as read (None: re-read it next time)."""
        if path in self.files and self.files[path] == sha1:
            return
        self.begin()
        self.conn.execute("INSERT OR REPLACE INTO files VALUES (?, ?)", (path, sha1))
        self.files[path] = sha1

    def forget_file(self, path: str) -> None:
        """Drop a file's cached hash (its documents are re-read next time)."""
        if self.files.get(path) is not None:
            self.put_file(path, None)

    def del_file(self, path: str) -> None:
        if path not in self.files:
            return
        self.begin()
        self.conn.execute("DELETE FROM files WHERE path = ?", (path,))
        del self.files[path]

    def put_root(self, path: str, kind: str) -> None:
        if self.roots.get(path) == kind:
            return
        self.begin()
        self.conn.execute("INSERT OR REPLACE INTO roots VALUES (?, ?)", (path, kind))
        self.roots[path] = kind

    def del_root(self, path: str) -> None:
        if path not in self.roots:
            return
        self.begin()
        self.conn.execute("DELETE FROM roots WHERE path = ?", (path,))
        del self.roots[path]

    def set_whoosh_generation(self, gen: int) -> None:
        if gen == self.whoosh_generation:
            return
        self.begin()
        self.conn.execute("UPDATE meta SET value = ? WHERE key = 'whoosh_generation'", (str(gen),))
        self.whoosh_generation = gen


def read_roots(gen_dir: Path) -> tuple[str, ...]:
    """The recorded roots, read-only (empty if the manifest cannot be read)."""
    path = gen_dir / MANIFEST_FILE
    if not path.is_file():
        return ()
    try:
        conn = sqlite3.connect(f"{path.absolute().as_uri()}?mode=ro", uri=True)
        try:
            return tuple(sorted(p for (p,) in conn.execute("SELECT path FROM roots")))
        finally:
            conn.close()
    except sqlite3.Error:
        return ()


def within(path: str, prefix: str) -> bool:
    """``path`` is ``prefix`` or lies under the folder ``prefix``."""
    return path == prefix or path.startswith(prefix.rstrip(os.sep) + os.sep)
