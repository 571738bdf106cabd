"""Tests for search.ingest: reading folders, text files and JSONL, good and bad."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
from pathlib import Path

import pytest

from search.errors import InputError
from search.ingest import (
    SUPPORTED_SUFFIXES,
    Skipped,
    iter_files,
    parse_jsonl_line,
    read_documents,
    read_text_file,
)
from search.model import Document

SEEDS = Path(__file__).parent.parent / "seeds"


def write(path: Path, content: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8", newline="")
    return path


def read_one(path: Path) -> Document | Skipped:
    (item,) = list(read_documents([path]))
    return item


def skipped_reason(path: Path) -> str:
    item = read_one(path)
    assert isinstance(item, Skipped), item
    return item.reason


# --------------------------------------------------------------------------
# The seed corpus

SEED_EXPECTED = {
    "000_dfb20fcaad1280f9.txt": dict(
        title=(
            "Zhiltsov said in an exclusive interview with IRNA that the trade volume between Iran and "
            "Russia is a little over four billion dollars, which is insignificant considering the "
            "existing capacity."
        ),
        date=dt.date(2024, 5, 28),
        url=None,
        start="Zhiltsov said in an exclusive interview",
        end="he further noted.",
    ),
    "001_9d66cc5eb35937e0.txt": dict(
        title=(
            "Iran is seeking to boost bilateral economic relations with Russia's Republic of "
            "Tatarstan, exploring business and investment opportunities as Tatarstan President "
            "Rustam Minnikhanov met with his…"
        ),
        date=None,
        url=None,
        start="Iran is seeking to boost",
        end='the process of importing the aircraft was "underway".',
    ),
    "002_0ddbd92f05ec6202.txt": dict(
        title="پیام سپاهان",
        date=None,
        url=("http://www.sepahannews.ir/Fa/News/966166/تقویت-همکاریهای-ایران-و-روسیه-در-زمینههای-تجاری،-فناوری-و-فرهنگی"),
        start="پیام سپاهان\nتقویت همکاریهای ایران و روسیه",
        end="در حوزههای اقتصادی، فناوری و فرهنگی منجر شود.",
    ),
    "003_d1b93f39fe57cb6a.txt": dict(
        title=(
            "According to Mehr News Agency, the session was jointly chaired by Mehdi Dousti, "
            "Iran’s Deputy Minister for Regional Coordination and Development at the Ministry of "
            "Interior, and Vladimir Ilichev…"
        ),
        date=None,
        url=None,
        start="According to Mehr News Agency",
        end="discussing practical pathways for expanding interregional trade.",
    ),
    "004_d954c839941529c2.txt": dict(
        title="پخش زنده",
        date=dt.date(2025, 12, 3),
        url=None,
        start="پخش زنده\nبه گزارش سرویس بین الملل",
        end="ایران و ولگاگراد بیش از گذشته فراهم شود.",
    ),
}


def test_seed_folder_gives_expected_documents():
    docs = list(read_documents([SEEDS]))
    assert all(isinstance(d, Document) for d in docs)
    assert [d.id for d in docs] == sorted(SEED_EXPECTED)
    for doc in docs:
        want = SEED_EXPECTED[doc.id]
        assert doc.title == want["title"], doc.id
        assert doc.date == want["date"], doc.id
        assert doc.url == want["url"], doc.id
        assert doc.text.startswith(want["start"]), doc.id
        assert doc.text.endswith(want["end"]), doc.id
        assert doc.source == "seeds"
        assert doc.lang is None
        assert doc.path == str((SEEDS / doc.id).absolute())
        assert doc.text == doc.text.strip()


def test_seed_markers_are_removed_from_text():
    docs = {d.id: d for d in read_documents([SEEDS])}
    assert "date 2024-05-28" not in docs["000_dfb20fcaad1280f9.txt"].text
    assert "date 2025-12-03" not in docs["004_d954c839941529c2.txt"].text
    persian = docs["002_0ddbd92f05ec6202.txt"].text
    assert "http://" not in persian
    assert "بستن" not in persian and "چاپ" not in persian


def test_seed_text_is_byte_exact_apart_from_removed_markers():
    raw = (SEEDS / "003_d1b93f39fe57cb6a.txt").read_text(encoding="utf-8")
    doc = read_text_file(SEEDS / "003_d1b93f39fe57cb6a.txt", SEEDS)
    assert isinstance(doc, Document)
    assert doc.text == raw.strip()


def test_long_title_is_cut_at_a_word_boundary():
    doc = read_text_file(SEEDS / "001_9d66cc5eb35937e0.txt", SEEDS)
    assert isinstance(doc, Document)
    assert doc.title is not None and doc.title.endswith("…")
    assert len(doc.title) <= 201
    first_line = doc.text.split("\n")[0]
    assert first_line.startswith(doc.title[:-1] + " ")


# --------------------------------------------------------------------------
# Text files: markers, newlines, ids


def test_date_marker_on_its_own_line(tmp_path: Path):
    doc = read_one(write(tmp_path / "a.txt", "date 2024-01-31\n\nTitle here\nBody."))
    assert isinstance(doc, Document)
    assert doc.date == dt.date(2024, 1, 31)
    assert doc.text == "Title here\nBody."
    assert doc.title == "Title here"


def test_invalid_date_is_not_a_marker(tmp_path: Path):
    doc = read_one(write(tmp_path / "a.txt", " date 2024-13-45 Something happened."))
    assert isinstance(doc, Document)
    assert doc.date is None
    assert doc.text == "date 2024-13-45 Something happened."


def test_date_word_inside_text_is_not_a_marker(tmp_path: Path):
    doc = read_one(write(tmp_path / "a.txt", "The date 2024-01-01 was chosen."))
    assert isinstance(doc, Document)
    assert doc.date is None


def test_crlf_and_cr_become_lf_and_bom_is_dropped(tmp_path: Path):
    path = write(tmp_path / "a.txt", b"\xef\xbb\xbfFirst line\r\nsecond\rthird\r\n")
    doc = read_one(path)
    assert isinstance(doc, Document)
    assert doc.text == "First line\nsecond\nthird"
    assert doc.title == "First line"


def test_trailing_url_as_last_line(tmp_path: Path):
    doc = read_one(write(tmp_path / "a.txt", "Title\n\nBody text.\n\nhttps://example.com/a?b=1\n\n"))
    assert isinstance(doc, Document)
    assert doc.url == "https://example.com/a?b=1"
    assert doc.text == "Title\n\nBody text."


def test_trailing_url_with_two_short_footer_lines(tmp_path: Path):
    text = "Title\n\nBody text.\nhttp://example.com/x\nClose\u00a0\u00a0Print\n\u00a0Share \n"
    doc = read_one(write(tmp_path / "a.txt", text))
    assert isinstance(doc, Document)
    assert doc.url == "http://example.com/x"
    assert doc.text == "Title\n\nBody text."


def test_url_followed_by_three_footer_lines_is_kept(tmp_path: Path):
    text = "Title\n\nhttp://example.com/x\none\ntwo\nthree"
    doc = read_one(write(tmp_path / "a.txt", text))
    assert isinstance(doc, Document)
    assert doc.url is None
    assert doc.text == text


def test_url_followed_by_a_long_line_is_kept(tmp_path: Path):
    text = "Title\n\nhttp://example.com/x\nThis line is far longer than thirty characters."
    doc = read_one(write(tmp_path / "a.txt", text))
    assert isinstance(doc, Document)
    assert doc.url is None
    assert doc.text == text


def test_url_inside_a_line_is_not_removed(tmp_path: Path):
    text = "Title\n\nSee https://example.com for more."
    doc = read_one(write(tmp_path / "a.txt", text))
    assert isinstance(doc, Document)
    assert doc.url is None and doc.text == text


def test_markdown_is_read_like_text(tmp_path: Path):
    doc = read_one(write(tmp_path / "notes.md", "# Heading\n\nSome *markdown* text."))
    assert isinstance(doc, Document)
    assert doc.title == "# Heading"
    assert doc.text == "# Heading\n\nSome *markdown* text."


def test_file_given_directly_has_root_parent(tmp_path: Path):
    path = write(tmp_path / "corpus" / "sub" / "a.txt", "Hello world")
    assert list(iter_files([path])) == [(path, path.parent)]
    doc = read_one(path)
    assert isinstance(doc, Document)
    assert doc.id == "a.txt"
    assert doc.source == "sub"


def test_single_path_argument_is_not_iterated_as_characters(tmp_path: Path):
    write(tmp_path / "a.txt", "Hello world")
    docs = list(read_documents(str(tmp_path)))  # type: ignore[arg-type]
    assert [d.id for d in docs] == ["a.txt"]


# --------------------------------------------------------------------------
# Text files: bad input


def test_invalid_utf8_reports_byte_offset_and_line(tmp_path: Path):
    path = write(tmp_path / "bad.txt", b"good line\nsecond \xff line\n")
    item = read_one(path)
    assert isinstance(item, Skipped)
    assert item.reason == "invalid UTF-8 at byte 17 (line 2, byte 0xff)"
    assert item.hint == "re-save the file as UTF-8"
    assert item.message() == f"{path}: invalid UTF-8 at byte 17 (line 2, byte 0xff)"


def test_invalid_utf8_offset_counts_the_bom(tmp_path: Path):
    path = write(tmp_path / "bad.txt", b"\xef\xbb\xbfab\xc3(")
    assert skipped_reason(path).startswith("invalid UTF-8 at byte 5 ")


def test_binary_file_is_skipped(tmp_path: Path):
    path = write(tmp_path / "image.txt", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    assert skipped_reason(path) == "binary file (NUL bytes)"


def test_utf16_file_is_skipped_with_a_hint(tmp_path: Path):
    path = write(tmp_path / "u16.txt", "Hello".encode("utf-16"))
    item = read_one(path)
    assert isinstance(item, Skipped)
    assert "UTF-16" in item.reason and item.hint == "re-save the file as UTF-8"


@pytest.mark.parametrize("content", ["", "   \n\n\t", "\u00a0\n \u00a0", "date 2024-05-28   \n"])
def test_empty_documents_are_skipped(tmp_path: Path, content: str):
    assert skipped_reason(write(tmp_path / "e.txt", content)) == "empty document"


def test_unreadable_file_is_skipped(tmp_path: Path):
    path = write(tmp_path / "secret.txt", "hidden")
    path.chmod(0)
    try:
        if os.access(path, os.R_OK):
            pytest.skip("running as a user (root) who can read mode-000 files")
        reason = skipped_reason(path)
        assert reason.startswith("cannot read: ")
        assert "Permission denied" in reason
    finally:
        path.chmod(0o644)


def test_unreadable_folder_is_skipped_and_the_rest_is_read(tmp_path: Path):
    write(tmp_path / "a.txt", "Readable")
    locked = tmp_path / "locked"
    write(locked / "b.txt", "Unreachable")
    locked.chmod(0)
    try:
        if os.access(locked, os.R_OK):
            pytest.skip("running as a user (root) who can list mode-000 folders")
        items = list(read_documents([tmp_path]))
        assert isinstance(items[0], Document) and items[0].id == "a.txt"
        assert isinstance(items[1], Skipped) and items[1].reason.startswith("cannot read folder")
    finally:
        locked.chmod(0o755)


def test_folder_named_like_a_text_file_is_walked_not_read(tmp_path: Path):
    folder = tmp_path / "outer"
    write(folder / "looks.txt" / "inner.txt", "Inner text")
    write(folder / "real.txt", "Real text")
    assert [d.id for d in read_documents([folder])] == ["looks.txt/inner.txt", "real.txt"]
    assert [d.id for d in read_documents([folder / "looks.txt"])] == ["inner.txt"]


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_fifo_given_directly_is_not_opened(tmp_path: Path):
    fifo = tmp_path / "pipe.txt"
    os.mkfifo(fifo)
    assert skipped_reason(fifo) == "not a regular file"


def test_unsupported_suffix_given_directly_is_skipped(tmp_path: Path):
    path = write(tmp_path / "report.pdf", b"%PDF-1.4")
    item = read_one(path)
    assert isinstance(item, Skipped)
    assert item.reason == "unsupported file type '.pdf'"
    assert item.hint is not None and ".jsonl" in item.hint


def test_nonexistent_path_raises_input_error_before_reading(tmp_path: Path):
    good = write(tmp_path / "a.txt", "Fine")
    missing = tmp_path / "nope"
    with pytest.raises(InputError) as info:
        read_documents([good, missing])  # raised on the call, not on iteration
    assert info.value.path == str(missing)
    assert info.value.hint
    with pytest.raises(InputError):
        iter_files([missing])


# --------------------------------------------------------------------------
# Folders


def test_mixed_folder(tmp_path: Path):
    root = tmp_path / "corpus"
    write(root / "b.txt", "Second file")
    write(root / "a.md", "First file")
    write(root / "news" / "2024" / "z.txt", "Nested file")
    write(root / "news" / "2024" / "bad.txt", b"\xfe\xfe")
    write(root / "news" / "a.txt", "Another nested file")
    write(root / "c.jsonl", '{"id": 7, "text": "From JSONL"}\n')
    write(root / "empty.txt", "  \n")
    write(root / "ignored.pdf", b"%PDF")
    write(root / "README", "no suffix")
    write(root / ".hidden.txt", "hidden file")
    write(root / ".git" / "x.txt", "hidden folder")

    assert [(f.relative_to(root).as_posix(), r) for f, r in iter_files([root])] == [
        ("a.md", root),
        ("b.txt", root),
        ("c.jsonl", root),
        ("empty.txt", root),
        ("news/2024/bad.txt", root),
        ("news/2024/z.txt", root),
        ("news/a.txt", root),
    ]

    items = list(read_documents([root]))
    docs = [d for d in items if isinstance(d, Document)]
    skipped = [s for s in items if isinstance(s, Skipped)]
    assert [d.id for d in docs] == ["a.md", "b.txt", "7", "news/2024/z.txt", "news/a.txt"]
    assert {d.source for d in docs} == {"corpus", "c"}  # JSONL source defaults to the file stem
    assert [(Path(s.path).relative_to(root).as_posix(), s.reason) for s in skipped] == [
        ("empty.txt", "empty document"),
        ("news/2024/bad.txt", "invalid UTF-8 at byte 0 (line 1, byte 0xfe)"),
    ]


def test_several_paths_keep_their_order_and_roots(tmp_path: Path):
    one = write(tmp_path / "one" / "x.txt", "One")
    two = write(tmp_path / "two" / "deep" / "y.txt", "Two")
    docs = list(read_documents([tmp_path / "two", one]))
    assert [(d.id, d.source) for d in docs] == [("deep/y.txt", "two"), ("x.txt", "one")]
    assert docs[0].path == str(two.absolute())


@pytest.mark.skipif(not hasattr(os, "symlink"), reason="needs symlinks")
def test_symlink_loop_is_not_followed_forever(tmp_path: Path):
    root = tmp_path / "corpus"
    write(root / "sub" / "a.txt", "Text")
    os.symlink(root, root / "sub" / "loop")
    assert [f.relative_to(root).as_posix() for f, _ in iter_files([root])] == ["sub/a.txt"]


def test_seeds_copied_into_tmp_folder(tmp_path: Path):
    corpus = tmp_path / "mirror"
    shutil.copytree(SEEDS, corpus / "seeds")
    docs = list(read_documents([corpus]))
    assert [d.id for d in docs] == [f"seeds/{name}" for name in sorted(SEED_EXPECTED)]
    assert all(d.source == "mirror" for d in docs)


def test_read_documents_streams(tmp_path: Path):
    write(tmp_path / "a.txt", "First")
    write(tmp_path / "b.txt", "Second")
    stream = read_documents([tmp_path])
    first = next(stream)
    assert isinstance(first, Document) and first.id == "a.txt"
    (tmp_path / "b.txt").unlink()  # read lazily: the deletion is seen
    second = next(stream)
    assert isinstance(second, Skipped) and second.reason.startswith("cannot read")


# --------------------------------------------------------------------------
# JSONL


def jsonl(*rows: object) -> str:
    return "".join((r if isinstance(r, str) else json.dumps(r, ensure_ascii=False)) + "\n" for r in rows)


def test_jsonl_good_lines(tmp_path: Path):
    path = write(
        tmp_path / "news.jsonl",
        jsonl(
            {"id": "a1", "text": "  Verbatim text\r\n ", "title": "عنوان فارسی", "lang": "fa"},
            "",
            {
                "id": 42,
                "text": "Other",
                "date": "2024-05-28T10:30:00+03:30",
                "source": "irna",
                "url": "https://irna.ir/x",
                "extra": [1, 2],
            },
            {"id": "n", "text": "Nulls", "title": None, "date": None, "lang": "EN"},
        ),
    )
    docs = list(read_documents([path]))
    assert docs == [
        Document(
            id="a1",
            text="  Verbatim text\r\n ",
            title="عنوان فارسی",
            lang="fa",
            source="news",
            path=str(path.absolute()),
        ),
        Document(
            id="42",
            text="Other",
            date=dt.date(2024, 5, 28),
            source="irna",
            url="https://irna.ir/x",
            path=str(path.absolute()),
        ),
        Document(id="n", text="Nulls", lang="en", source="news", path=str(path.absolute())),
    ]


def test_jsonl_malformed_line_does_not_stop_the_file(tmp_path: Path):
    path = write(
        tmp_path / "m.jsonl",
        jsonl({"id": 1, "text": "one"}, '{"id": 2, "text": "two" "oops"}', "", {"id": 3, "text": "three"}),
    )
    items = list(read_documents([path]))
    assert [type(i).__name__ for i in items] == ["Document", "Skipped", "Document"]
    bad = items[1]
    assert isinstance(bad, Skipped)
    assert bad.line == 2
    assert bad.reason == "line is not valid JSON: Expecting ',' delimiter (column 25)"
    assert bad.message() == f"{path}:2: {bad.reason}"
    assert [i.id for i in items if isinstance(i, Document)] == ["1", "3"]


def test_jsonl_invalid_utf8_on_one_line(tmp_path: Path):
    good1 = b'{"id": 1, "text": "one"}\n'
    path = write(tmp_path / "u.jsonl", good1 + b'{"id": 2, "text": "t\xffo"}\n{"id": 3, "text": "three"}\n')
    items = list(read_documents([path]))
    assert [i.id for i in items if isinstance(i, Document)] == ["1", "3"]
    bad = items[1]
    assert isinstance(bad, Skipped) and bad.line == 2
    assert bad.reason == f"invalid UTF-8 at byte {len(good1) + 20} (byte 0xff)"


def test_jsonl_bom_on_first_line_is_accepted(tmp_path: Path):
    path = write(tmp_path / "b.jsonl", b'\xef\xbb\xbf{"id": 1, "text": "one"}\n')
    assert [d.id for d in read_documents([path])] == ["1"]


@pytest.mark.parametrize(
    ("row", "reason"),
    [
        ({"text": "no id"}, "missing required field 'id'"),
        ({"id": "x"}, "missing required field 'text'"),
        ({"id": "", "text": "t"}, "field 'id' is empty"),
        ({"id": True, "text": "t"}, "field 'id' must be a string or an integer, not a boolean"),
        ({"id": 1.5, "text": "t"}, "field 'id' must be a string or an integer, not a number"),
        ({"id": 1, "text": ["t"]}, "field 'text' must be a string, not an array"),
        ({"id": 1, "text": " \n "}, "empty document"),
        ({"id": 1, "text": "t", "title": 5}, "field 'title' must be a string, not a number"),
        ({"id": 1, "text": "t", "date": "2024-13-45"}, "field 'date' is not a valid ISO date: '2024-13-45'"),
        ({"id": 1, "text": "t", "date": "28/05/2024"}, "field 'date' is not a valid ISO date: '28/05/2024'"),
        ({"id": 1, "text": "t", "date": 20240528}, "field 'date' must be a string, not a number"),
        ({"id": 1, "text": "t", "lang": "ru"}, "field 'lang' has unsupported value 'ru'"),
        ({"id": 1, "text": "t", "url": {"href": "x"}}, "field 'url' must be a string, not an object"),
        ("[1, 2]", "line is an array, not a JSON object"),
        ('"just a string"', "line is a string, not a JSON object"),
        ("null", "line is null, not a JSON object"),
    ],
)
def test_jsonl_bad_lines(tmp_path: Path, row: object, reason: str):
    path = write(tmp_path / "bad.jsonl", jsonl({"id": "ok", "text": "fine"}, row))
    items = list(read_documents([path]))
    assert isinstance(items[0], Document)
    bad = items[1]
    assert isinstance(bad, Skipped)
    assert (bad.path, bad.line, bad.reason) == (str(path), 2, reason)


def test_jsonl_bad_lang_hint_lists_allowed_values():
    item = parse_jsonl_line('{"id": 1, "text": "t", "lang": "de"}', path="x.jsonl", lineno=9, default_source="x")
    assert isinstance(item, Skipped)
    assert item.line == 9
    assert item.hint is not None
    assert all(v in item.hint for v in ("'fa'", "'en'", "'mixed'"))


def test_parse_jsonl_line_paths():
    doc = parse_jsonl_line('{"id": "d", "text": "t"}', path="rel/x.jsonl", lineno=1, default_source=None)
    assert isinstance(doc, Document)
    assert doc.path == os.path.abspath("rel/x.jsonl")
    assert doc.source is None
    bad = parse_jsonl_line("{", path="rel/x.jsonl", lineno=3, default_source=None)
    assert isinstance(bad, Skipped)
    assert bad.message().startswith("rel/x.jsonl:3: line is not valid JSON: ")


def test_skipped_message_without_line():
    assert Skipped("a/b.txt", None, "empty document").message() == "a/b.txt: empty document"


def test_supported_suffixes():
    assert SUPPORTED_SUFFIXES == (".txt", ".md", ".jsonl")
