"""The index directory (layout of schema version 2)::

    DIR/
      bisearch.json      the pointer: schema/analyzer versions and the current
                         "generation"; replaced atomically (write + fsync + rename)
      write.lock         the one-writer lock (search.locking)
      gen-000002/        the generation readers open: Whoosh segments,
                         manifest.sqlite (search.manifest) and readers.lock
      gen-000001/        an older generation, kept while a reader still reads it

``index``, ``update`` and ``remove`` commit inside the current generation
(Whoosh commits are atomic: a new table of contents is renamed into place).
``rebuild`` builds a complete new generation beside it and then replaces
``bisearch.json``, so a reader sees the old generation or the new one, never
a half-built one. Generations that no reader holds are deleted by the next
writer.

Indexes of schema version 1 kept the Whoosh files directly in ``DIR``; they
are refused with a hint to run ``bisearch rebuild``, which migrates them.
"""

from __future__ import annotations

import errno
import json
import os
import pickle
import re
import shutil
import struct
import time
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from whoosh.filedb.filetables import FileFormatError

from search.errors import BisearchError, IndexStateError
from search.locking import LOCK_FILE, try_exclusive
from search.schema import META_FILE

GEN_PREFIX = "gen-"
TRASH_PREFIX = ".trash-"
_GEN_RE = re.compile(r"^gen-(\d{6,})$")
_LEGACY_RE = re.compile(
    r"^(_MAIN_\d+\.toc|MAIN_[A-Za-z0-9]+\.(seg|trm|pst|fdt|fdi|fvz|dci|dcz|dcv|pos)|MAIN_WRITELOCK|MAIN\.tmp)$"
)


def gen_name(number: int) -> str:
    return f"{GEN_PREFIX}{number:06d}"


def gen_number(name: str) -> int | None:
    m = _GEN_RE.match(name)
    return int(m.group(1)) if m else None


def generations(index_dir: Path) -> list[tuple[int, Path]]:
    """Every generation directory, oldest first."""
    out = []
    try:
        entries = list(os.scandir(index_dir))
    except OSError:
        return []
    for e in entries:
        n = gen_number(e.name)
        if n is not None and e.is_dir(follow_symlinks=False):
            out.append((n, Path(e.path)))
    return sorted(out)


def next_gen_number(index_dir: Path) -> int:
    gens = generations(index_dir)
    return gens[-1][0] + 1 if gens else 1


def write_pointer(index_dir: Path, meta: dict) -> None:
    """Replace ``bisearch.json`` atomically and durably."""
    tmp = index_dir / (META_FILE + ".tmp")
    data = json.dumps(meta, indent=2, sort_keys=True).encode("utf-8")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o644)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, index_dir / META_FILE)
    fsync_dir(index_dir)


def fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def is_own_name(name: str) -> bool:
    """Names bisearch itself puts in an index directory."""
    return name in (META_FILE, META_FILE + ".tmp", LOCK_FILE) or gen_number(name) is not None or name.startswith(TRASH_PREFIX)


def only_own_leftovers(index_dir: Path) -> bool:
    """The directory holds nothing but what an interrupted creation leaves."""
    return all(is_own_name(p.name) for p in index_dir.iterdir())


def legacy_files(index_dir: Path) -> list[Path]:
    """Whoosh files of a schema-1 index, kept directly in the index directory."""
    try:
        return [p for p in index_dir.iterdir() if p.is_file() and _LEGACY_RE.match(p.name)]
    except OSError:
        return []


def collect(index_dir: Path, keep: set[str]) -> list[str]:
    """Delete generations not in ``keep`` that no reader holds; return those still held.

    Call with the write lock held. A generation is renamed away (atomically)
    before it is deleted, so a reader that pins it meanwhile notices and
    re-reads the pointer.
    """
    busy = []
    for _n, path in generations(index_dir):
        if path.name in keep:
            continue
        fd = try_exclusive(path)
        if fd is None:
            busy.append(path.name)
            continue
        trash = index_dir / f"{TRASH_PREFIX}{path.name}-{os.getpid()}-{time.monotonic_ns()}"
        try:
            path.rename(trash)
        except OSError:
            busy.append(path.name)
            continue
        finally:
            if fd >= 0:
                os.close(fd)
        shutil.rmtree(trash, ignore_errors=True)
    for p in index_dir.glob(TRASH_PREFIX + "*"):
        shutil.rmtree(p, ignore_errors=True)
    return busy


_TOC_RE = re.compile(r"^_MAIN_(\d+)\.toc$")


def toc_generation(whoosh_dir: Path) -> int:
    """The newest Whoosh commit (table of contents) in a directory, -1 if none."""
    best = -1
    try:
        for name in os.listdir(whoosh_dir):
            m = _TOC_RE.match(name)
            if m:
                best = max(best, int(m.group(1)))
    except OSError:
        pass
    return best


# Low-level decoding errors that mean "the bytes on disk are not what Whoosh wrote".
_DAMAGE_TYPES = (EOFError, struct.error, zlib.error, pickle.UnpicklingError, UnicodeDecodeError, FileFormatError)
_WHOOSH_STORAGE = (
    os.sep + os.path.join("whoosh", "codec"),
    os.sep + os.path.join("whoosh", "filedb"),
    os.sep + os.path.join("whoosh", "util"),
)


#: errno values that mean "cannot write here", not "the files are damaged".
WRITE_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM})


def is_damage(exc: BaseException) -> bool:
    """Whether an exception from Whoosh means a damaged index rather than a bug."""
    if isinstance(exc, BisearchError) or not isinstance(exc, Exception):
        return False
    if isinstance(exc, OSError) and exc.errno in WRITE_ERRNOS:
        return False
    if isinstance(exc, _DAMAGE_TYPES):
        return True
    tb = exc.__traceback__
    last = None
    while tb is not None:
        last = tb.tb_frame.f_code.co_filename
        tb = tb.tb_next
    return bool(last) and any(part in last for part in _WHOOSH_STORAGE)


def damaged(index_dir: Path, exc: BaseException) -> IndexStateError:
    detail = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    if len(detail) > 160:
        detail = detail[:159] + "…"
    return IndexStateError(
        f"the index at {index_dir} is damaged and cannot be read ({detail})",
        hint="run `bisearch rebuild` (it re-reads the recorded sources into a fresh index)",
    )


@contextmanager
def guard_damage(index_dir: Path) -> Iterator[None]:
    """Turn Whoosh's decoding errors on damaged files into one clear IndexStateError."""
    try:
        yield
    except Exception as exc:
        if is_damage(exc):
            raise damaged(index_dir, exc) from None
        raise
