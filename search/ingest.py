"""Read document sources (folders, ``.txt``/``.md`` files, ``.jsonl`` files).

Everything here streams: folders are walked lazily, JSONL files are read one
line at a time, and only one text file is in memory at once, so a corpus of any
size can be indexed. Bad input never stops the stream: a file or line that
cannot be used comes out as a :class:`Skipped` value saying where, why and what
to do, and reading goes on with the next one. Only a path that does not exist
at all raises :class:`~search.errors.InputError`, before anything is read,
because that is almost always a typo on the command line.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import re
import stat
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from .errors import InputError
from .model import LANGS, Document

__all__ = [
    "SUPPORTED_SUFFIXES",
    "Skipped",
    "iter_files",
    "parse_jsonl_line",
    "read_documents",
    "read_text_file",
]

SUPPORTED_SUFFIXES = (".txt", ".md", ".jsonl")
"""File name endings bisearch reads (compared case-insensitively)."""

BINARY_SNIFF_BYTES = 8192
"""A NUL byte in this many leading bytes marks a file as binary."""

TITLE_MAX_CHARS = 200
"""Longer first lines are cut at a word boundary for the title."""

FOOTER_MAX_CHARS = 30
FOOTER_MAX_LINES = 2
"""Short lines after a trailing URL (``"Close  Print"``) that are dropped with it."""

_UTF8_BOM = b"\xef\xbb\xbf"
_UTF8_HINT = "re-save the file as UTF-8"


@dataclass(frozen=True, slots=True)
class Skipped:
    """An input that could not be used, and why.

    ``path`` is the file as given or found while walking a folder; ``line`` is
    the 1-based line for JSONL input (``None`` for whole files). ``reason`` is
    one sentence; ``hint`` is an optional next step for a person.
    """

    path: str
    line: int | None
    reason: str
    hint: str | None = None

    def message(self) -> str:
        """``path:line: reason`` (or ``path: reason``), like a compiler message."""
        where = f"{self.path}:{self.line}" if self.line is not None else self.path
        return f"{where}: {self.reason}"


# --------------------------------------------------------------------------
# Finding files


def _is_supported(path: Path) -> bool:
    return path.suffix.lower() in SUPPORTED_SUFFIXES


def _as_path_list(paths: Iterable[str | os.PathLike[str]] | str | os.PathLike[str]) -> list[Path]:
    """Materialise the arguments; a single path is accepted as a one-item list."""
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    return [Path(p) for p in paths]


def _check_exist(paths: list[Path]) -> None:
    """Raise :class:`InputError` for the first path that does not exist."""
    for p in paths:
        if not os.path.exists(p):
            raise InputError(
                f"no such file or folder: {p}",
                path=str(p),
                hint="check the path; give a folder, or .txt, .md or .jsonl files",
            )


def _walk(folder: Path, ancestors: frozenset[tuple[int, int]]) -> Iterator[Path | Skipped]:
    """Supported files under ``folder``, depth-first, entries sorted by name.

    Hidden entries (name starts with ".") and unsupported files are ignored.
    Symlinked folders are followed unless they point back at a folder being
    walked (a loop). An unreadable folder comes out as :class:`Skipped`.
    """
    try:
        st = folder.stat()
        key = (st.st_dev, st.st_ino)
        with os.scandir(folder) as it:
            entries = sorted(it, key=lambda e: e.name)
    except OSError as exc:
        yield Skipped(str(folder), None, f"cannot read folder: {exc.strerror or exc}", "check its permissions")
        return
    if key in ancestors:
        return  # a symlink loop: this folder is already being walked
    inner = ancestors | {key}
    for entry in entries:
        if entry.name.startswith("."):
            continue
        path = folder / entry.name
        try:
            is_dir = entry.is_dir()  # follows symlinks; loops are cut above
            is_file = not is_dir and entry.is_file()
        except OSError:
            continue
        if is_dir:
            yield from _walk(path, inner)
        elif is_file and _is_supported(path):
            yield path


def _iter_entries(paths: list[Path]) -> Iterator[tuple[Path, Path] | Skipped]:
    """``(file, root)`` pairs for every path, or :class:`Skipped` for unreadable folders."""
    for p in paths:
        if p.is_dir():
            for item in _walk(p, frozenset()):
                yield item if isinstance(item, Skipped) else (item, p)
        else:
            yield p, p.parent


def iter_files(paths: Iterable[str | os.PathLike[str]]) -> Iterator[tuple[Path, Path]]:
    """Yield ``(file, root)`` for every document file named by ``paths``.

    A folder is walked recursively (entries sorted by name, depth first),
    skipping hidden files and folders and files without a supported suffix;
    its ``root`` is the folder itself, so ids are paths relative to it. A file
    given directly is yielded whatever its suffix (so :func:`read_documents`
    can say why it is skipped), with ``root`` = its parent folder. Folders that
    cannot be listed are left out here (:func:`read_documents` reports them).

    All paths are checked first: one that does not exist raises
    :class:`InputError` when this function is called, before anything is read.
    """
    path_list = _as_path_list(paths)
    _check_exist(path_list)
    return (item for item in _iter_entries(path_list) if not isinstance(item, Skipped))


def read_documents(paths: Iterable[str | os.PathLike[str]]) -> Iterator[Document | Skipped]:
    """Stream the documents in ``paths`` (folders and files), in order.

    Yields a :class:`Document` for every usable text file or JSONL line and a
    :class:`Skipped` for every unusable one; the stream always goes on. A path
    that does not exist raises :class:`InputError` when this is called.
    """
    path_list = _as_path_list(paths)
    _check_exist(path_list)
    return _read_all(path_list)


def _read_all(paths: list[Path]) -> Iterator[Document | Skipped]:
    for item in _iter_entries(paths):
        if isinstance(item, Skipped):
            yield item
            continue
        file, root = item
        suffix = file.suffix.lower()
        if suffix == ".jsonl":
            yield from _read_jsonl(file)
        elif suffix in SUPPORTED_SUFFIXES:
            yield read_text_file(file, root)
        else:
            yield Skipped(
                str(file),
                None,
                f"unsupported file type {file.suffix or '(no suffix)'!r}",
                "give .txt, .md or .jsonl files, or a folder",
            )


# --------------------------------------------------------------------------
# Text files

_DATE_MARKER = re.compile(r"\s*date[^\S\n]+(\d{4}-\d{2}-\d{2})(?:\s+|$)")
_BARE_URL = re.compile(r"https?://\S+")
_LAST_WORD_END = re.compile(r".*\S(?=\s)", re.DOTALL)


def _decode(data: bytes, path: str) -> str | Skipped:
    """UTF-8 text of ``data`` (BOM dropped), or why it is not text."""
    if b"\x00" in data[:BINARY_SNIFF_BYTES]:
        if data.startswith((b"\xff\xfe", b"\xfe\xff")):
            return Skipped(path, None, "UTF-16 text is not supported", _UTF8_HINT)
        return Skipped(path, None, "binary file (NUL bytes)", "only plain-text files can be indexed")
    bom = len(_UTF8_BOM) if data.startswith(_UTF8_BOM) else 0
    try:
        return data[bom:].decode("utf-8") if bom else data.decode("utf-8")
    except UnicodeDecodeError as exc:
        offset = exc.start + bom
        line = data.count(b"\n", 0, offset) + 1
        return Skipped(
            path,
            None,
            f"invalid UTF-8 at byte {offset} (line {line}, byte 0x{data[offset]:02x})",
            _UTF8_HINT,
        )


def _line_bounds_backwards(text: str, end: int) -> Iterator[tuple[int, int]]:
    """``(start, end)`` of the lines of ``text[:end]``, last line first."""
    while end >= 0:
        start = text.rfind("\n", 0, end) + 1
        yield start, end
        end = start - 1


def _split_trailing_url(text: str) -> tuple[str, str | None]:
    """Remove a trailing bare URL line (and up to two short footer lines after it).

    Returns the text up to the URL line and the URL, or ``(text, None)``.
    """
    footers = 0
    for start, end in _line_bounds_backwards(text, len(text)):
        line = text[start:end].strip()
        if not line:
            continue
        if _BARE_URL.fullmatch(line):
            return text[:start], line
        footers += 1
        if footers > FOOTER_MAX_LINES or len(line) > FOOTER_MAX_CHARS:
            break
    return text, None


def _title_of(text: str) -> str | None:
    """The first non-empty line, stripped; cut at a word boundary if long."""
    line = text.lstrip().split("\n", 1)[0].strip()
    if not line:
        return None
    if len(line) <= TITLE_MAX_CHARS:
        return line
    # The end of the last word that is followed by whitespace within the limit.
    m = _LAST_WORD_END.match(line, 0, TITLE_MAX_CHARS + 1)
    head = line[: m.end()] if m else line[:TITLE_MAX_CHARS]
    return head.rstrip(",;:\u060c\u061b") + "\u2026"


def read_text_file(path: Path, root: Path) -> Document | Skipped:
    """Read one ``.txt``/``.md`` file as a :class:`Document`, or say why not.

    The id is the path relative to ``root`` with forward slashes; the source
    is ``root``'s folder name. A leading ``date YYYY-MM-DD`` marker becomes
    the date and a trailing bare URL line (plus short footer lines) becomes
    the url; both are removed from the text. Newlines are normalised to
    ``\\n``; otherwise the text is kept as is (stripped at both ends), since
    every passage offset refers to it.
    """
    shown = str(path)
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):  # never open a FIFO or device
            return Skipped(shown, None, "not a regular file", "give .txt, .md or .jsonl files, or a folder")
        with open(path, "rb") as fh:
            data = fh.read()
    except OSError as exc:
        return Skipped(shown, None, f"cannot read: {exc.strerror or exc}", "check that the file exists and is readable")
    decoded = _decode(data, shown)
    if isinstance(decoded, Skipped):
        return decoded
    text = decoded.replace("\r\n", "\n").replace("\r", "\n")

    date = None
    m = _DATE_MARKER.match(text)
    if m:
        try:
            date = _dt.date.fromisoformat(m.group(1))
        except ValueError:
            pass  # "date 2024-13-45" is ordinary text, not a marker
        else:
            text = text[m.end() :]

    text, url = _split_trailing_url(text)
    text = text.strip()
    if not text:
        return Skipped(shown, None, "empty document", "the file has no text to index")

    try:
        doc_id = path.relative_to(root).as_posix()
    except ValueError:
        doc_id = path.name
    return Document(
        id=doc_id,
        text=text,
        title=_title_of(text),
        lang=None,
        date=date,
        source=Path(os.path.abspath(root)).name or None,
        url=url,
        path=os.path.abspath(path),
    )


# --------------------------------------------------------------------------
# JSONL

_JSONL_HINT = 'each line must be one JSON object like {"id": "1", "text": "..."}'
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


@lru_cache(maxsize=64)
def _abspath(path: str) -> str:
    return os.path.abspath(path)


def _read_jsonl(path: Path) -> Iterator[Document | Skipped]:
    """Stream one JSONL file line by line; each bad line is its own :class:`Skipped`."""
    shown = str(path)
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):  # never open a FIFO or device
            yield Skipped(shown, None, "not a regular file", "give .txt, .md or .jsonl files, or a folder")
            return
        fh = open(path, "rb")  # closed by the "with fh" below; we yield while it is open
    except OSError as exc:
        yield Skipped(shown, None, f"cannot read: {exc.strerror or exc}", "check that the file exists and is readable")
        return
    with fh:
        offset = 0
        lineno = 0
        try:
            for raw in fh:
                lineno += 1
                line_offset = offset
                offset += len(raw)
                if lineno == 1 and raw.startswith(_UTF8_BOM):
                    raw = raw[len(_UTF8_BOM) :]
                    line_offset += len(_UTF8_BOM)
                if b"\x00" in raw:
                    yield Skipped(shown, lineno, "line contains NUL bytes (binary data)", _JSONL_HINT)
                    continue
                try:
                    line = raw.decode("utf-8")
                except UnicodeDecodeError as exc:
                    yield Skipped(
                        shown,
                        lineno,
                        f"invalid UTF-8 at byte {line_offset + exc.start} (byte 0x{raw[exc.start]:02x})",
                        _UTF8_HINT,
                    )
                    continue
                if not line.strip():
                    continue
                yield parse_jsonl_line(line, path=shown, lineno=lineno, default_source=path.stem)
        except OSError as exc:
            yield Skipped(shown, lineno + 1, f"cannot read: {exc.strerror or exc}", "check the file and try again")


def _optional_str(obj: dict, name: str) -> str | None:
    """The stripped string value of an optional field (absent, null or "" → None)."""
    value = obj.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise _FieldError(f"field {name!r} must be a string, not {_json_type(value)}")
    return value.strip() or None


class _FieldError(Exception):
    """Internal: one field of a JSONL object is unusable (message, hint)."""

    def __init__(self, reason: str, hint: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.hint = hint


def _json_type(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object"


def _parse_date(value: str) -> _dt.date:
    """``YYYY-MM-DD``, or the date part of a full ISO datetime."""
    if _ISO_DATE.match(value):
        try:
            if len(value) == 10:
                return _dt.date.fromisoformat(value)
            return _dt.datetime.fromisoformat(value).date()
        except ValueError:
            pass
    raise _FieldError(
        f"field 'date' is not a valid ISO date: {value!r}",
        "write dates as YYYY-MM-DD (e.g. 2024-05-28)",
    )


def _build_document(obj: dict, path: str, default_source: str | None) -> Document:
    if "id" not in obj:
        raise _FieldError("missing required field 'id'", _JSONL_HINT)
    raw_id = obj["id"]
    if isinstance(raw_id, bool) or not isinstance(raw_id, (str, int)):
        raise _FieldError(f"field 'id' must be a string or an integer, not {_json_type(raw_id)}")
    doc_id = str(raw_id)
    if not doc_id.strip():
        raise _FieldError("field 'id' is empty", "give every document a non-empty id")

    if "text" not in obj:
        raise _FieldError("missing required field 'text'", _JSONL_HINT)
    text = obj["text"]
    if not isinstance(text, str):
        raise _FieldError(f"field 'text' must be a string, not {_json_type(text)}")
    if not text.strip():
        raise _FieldError("empty document", "the 'text' field has no text to index")

    lang = _optional_str(obj, "lang")
    if lang is not None:
        if lang.lower() not in LANGS:
            raise _FieldError(
                f"field 'lang' has unsupported value {lang!r}",
                f"use one of {', '.join(repr(x) for x in LANGS)}, or leave it out to detect it",
            )
        lang = lang.lower()

    date_str = _optional_str(obj, "date")
    date = _parse_date(date_str) if date_str is not None else None

    source = _optional_str(obj, "source")
    return Document(
        id=doc_id,
        text=text,
        title=_optional_str(obj, "title"),
        lang=lang,
        date=date,
        source=source if source is not None else default_source,
        url=_optional_str(obj, "url"),
        path=_abspath(path),
    )


def parse_jsonl_line(line: str, *, path: str, lineno: int, default_source: str | None) -> Document | Skipped:
    """Turn one JSONL line into a :class:`Document`, or say what is wrong with it.

    Required: ``id`` (string or integer) and ``text`` (non-empty string, kept
    verbatim). Optional: ``title``, ``lang`` (fa/en/mixed), ``date``
    (``YYYY-MM-DD`` or ISO datetime), ``source`` (default ``default_source``)
    and ``url``; null means absent, other fields are ignored. ``path`` is the
    JSONL file as shown in messages; the document's ``path`` is its absolute
    form.
    """
    try:
        obj = json.loads(line)
    except json.JSONDecodeError as exc:
        return Skipped(path, lineno, f"line is not valid JSON: {exc.msg} (column {exc.colno})", _JSONL_HINT)
    except RecursionError:
        return Skipped(path, lineno, "line is not valid JSON: nested too deeply", _JSONL_HINT)
    if not isinstance(obj, dict):
        return Skipped(path, lineno, f"line is {_json_type(obj)}, not a JSON object", _JSONL_HINT)
    try:
        return _build_document(obj, path, default_source)
    except _FieldError as exc:
        return Skipped(path, lineno, exc.reason, exc.hint)
