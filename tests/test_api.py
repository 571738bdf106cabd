"""The library API: what `import search` offers and how Index behaves."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from pathlib import Path

import pytest

import search
from search import (
    BisearchError,
    Document,
    Hit,
    Index,
    IndexLocked,
    IndexNotFound,
    IndexStateError,
    IndexVersionError,
    IngestReport,
    InputError,
    QueryError,
    Results,
    Snippet,
    Span,
    Stats,
)
from search.passages import split_passages

EXPECTED_API = {
    "BisearchError",
    "Document",
    "Hit",
    "Index",
    "IndexLocked",
    "IndexNotFound",
    "IndexStateError",
    "IndexVersionError",
    "IngestReport",
    "InputError",
    "QueryError",
    "RebuildReport",
    "RemoveReport",
    "Results",
    "Skipped",
    "Snippet",
    "Span",
    "Stats",
    "SyncReport",
    "TokenInfo",
    "QueryPlan",
    "__version__",
    "search",
}
EXCEPTIONS = ["IndexLocked", "IndexNotFound", "IndexStateError", "IndexVersionError", "InputError", "QueryError"]


# -- the public surface ------------------------------------------------------


def test_all_is_exactly_the_public_api():
    """`search.__all__` lists the public API, no more, no less, and each name exists."""
    assert set(search.__all__) == EXPECTED_API
    assert len(search.__all__) == len(EXPECTED_API)
    for name in search.__all__:
        assert getattr(search, name) is not None


def test_star_import_gives_exactly_all():
    """`from search import *` brings in exactly the names of __all__."""
    ns: dict = {}
    exec("from search import *", ns)
    assert set(ns) - {"__builtins__"} == set(search.__all__)


@pytest.mark.parametrize("name", EXCEPTIONS)
def test_every_exported_exception_is_a_bisearch_error(name):
    """One `except BisearchError` catches every error the library raises on purpose."""
    cls = getattr(search, name)
    assert issubclass(cls, BisearchError)
    assert not issubclass(cls, IndexError), "must never shadow/catch the builtin IndexError"


def test_index_state_errors_share_a_parent():
    """Index problems can be caught together as IndexStateError."""
    for cls in (IndexNotFound, IndexVersionError, IndexLocked):
        assert issubclass(cls, IndexStateError)


def test_version_is_the_package_version():
    """`search.__version__` matches the installed distribution."""
    from importlib.metadata import version

    assert search.__version__ == version("bisearch")


# -- writing ---------------------------------------------------------------------


def test_index_is_a_context_manager_and_adds_dicts_and_documents(tmp_path: Path):
    """`with Index(p) as ix` creates an index; dicts and Document values both index."""
    with Index(tmp_path / "ix") as ix:
        report = ix.add(
            [
                {"id": "a", "text": "Isfahan gardens and bridges", "lang": "en", "date": "2024-05-28"},
                Document(id="b", text="همکاری‌های فرهنگی اصفهان", title="خبر", date=dt.date(2025, 1, 2)),
            ]
        )
        assert isinstance(report, IngestReport)
        assert (report.documents, report.passages, report.replaced, report.skipped) == (2, 2, 0, ())
        # The Persian document matches across the script line (اصفهان), ranked below.
        hits = ix.search("Isfahan")
        assert [h.doc_id for h in hits] == ["a", "b"] and not hits[0].cross and hits[1].cross
        assert [h.doc_id for h in ix.search("همکاری")] == ["b"]
    assert (tmp_path / "ix" / "bisearch.json").is_file()
    # closing released nothing that a new handle needs
    assert Index.open(tmp_path / "ix").stats().documents == 2


def test_same_id_replaces_the_old_document(tmp_path: Path):
    """Adding a document again under its id replaces it: no duplicate hits, report counts it."""
    with Index(tmp_path / "ix") as ix:
        ix.add([{"id": "a", "text": "Isfahan gardens"}, {"id": "b", "text": "Kazan Kremlin"}])
        report = ix.add([{"id": "a", "text": "Isfahan bridges"}])
        assert report.replaced == 1 and report.documents == 1
        hits = ix.search("Isfahan")
        assert [h.doc_id for h in hits] == ["a"]
        assert hits[0].snippet.text == "Isfahan bridges"
        assert len(ix.search("gardens")) == 0
        assert ix.stats().documents == 2
        assert "replaced" in report.summary()


def test_duplicate_id_within_one_run_is_skipped(tmp_path: Path):
    """Two documents with one id in a single run: the first is kept, the second is reported."""
    with Index(tmp_path / "ix") as ix:
        report = ix.add([{"id": "a", "text": "first Isfahan"}, {"id": "a", "text": "second Isfahan"}])
        assert report.documents == 1
        assert len(report.skipped) == 1 and "duplicate" in report.skipped[0].reason
        assert [h.snippet.text for h in ix.search("Isfahan")] == ["first Isfahan"]


@pytest.mark.parametrize(
    "bad",
    [
        {"id": "x"},  # missing text
        {"id": "x", "text": "   "},  # blank text
        {"text": "no id"},
        {"id": "x", "text": "t", "lang": "de"},
        {"id": "x", "text": "t", "date": "2024-13-45"},
        {"id": "x", "text": "t", "date": 2024},
        {"id": "x", "text": "t", "title": 5},
        {"id": "x", "text": "t", "colour": "red"},
        "just a string",
    ],
)
def test_invalid_input_raises_input_error_and_keeps_committed_state(tmp_path: Path, bad):
    """A bad document is an InputError (never a raw TypeError) and the run is rolled back."""
    with Index(tmp_path / "ix") as ix:
        ix.add([{"id": "old", "text": "Isfahan gardens"}])
        with pytest.raises(InputError) as exc:
            ix.add([{"id": "new", "text": "Isfahan bridges"}, bad])
        assert isinstance(exc.value, BisearchError)
        assert [h.doc_id for h in ix.search("Isfahan")] == ["old"]
        assert ix.stats().documents == 1


def test_add_paths_reports_skipped_files(tmp_path: Path):
    """`add_paths` indexes the good files and returns the bad ones as Skipped values."""
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "good.txt").write_text("Isfahan gardens", encoding="utf-8")
    (tmp_path / "in" / "bad.txt").write_bytes(b"\xff\xfe\x00\x00")
    with Index(tmp_path / "ix") as ix:
        report = ix.add_paths([tmp_path / "in"])
    assert report.documents == 1
    assert [Path(s.path).name for s in report.skipped] == ["bad.txt"]
    assert isinstance(report.skipped[0], search.Skipped)


def test_missing_path_in_add_paths_is_input_error(tmp_path: Path):
    """A path that does not exist is an InputError before anything is written."""
    with Index(tmp_path / "ix") as ix, pytest.raises(InputError):
        ix.add_paths([tmp_path / "nope"])


def test_locked_index_is_index_locked(tmp_path: Path):
    """A second writer gets IndexLocked (exit 5 in the CLI), not Whoosh's LockError."""
    with Index(tmp_path / "ix") as ix:
        holder = ix._ix.writer()
        try:
            with pytest.raises(IndexLocked) as exc:
                Index.open(tmp_path / "ix").add([{"id": "a", "text": "t"}])
            assert exc.value.exit_code == 5 and exc.value.hint
        finally:
            holder.cancel()


# -- reading ---------------------------------------------------------------------


def test_hits_are_frozen_and_typed(seed_index: Index):
    """Hits are immutable values with typed fields (Span, Snippet, datetime.date)."""
    results = seed_index.search("Isfahan", limit=3)
    assert isinstance(results, Results) and len(results) == 3
    hit = results[0]
    assert isinstance(hit, Hit)
    assert isinstance(hit.span, Span) and isinstance(hit.snippet, Snippet)
    assert all(isinstance(s, Span) for s in hit.snippet.highlights)
    assert isinstance(hit.date, dt.date) and hit.date == dt.date(2024, 5, 28)
    assert isinstance(hit.score, float) and hit.rank == 1
    with pytest.raises(dataclasses.FrozenInstanceError):
        hit.score = 0.0  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        hit.snippet.text = ""  # type: ignore[misc]
    json.dumps(results.to_dict(), ensure_ascii=False)  # JSON-ready


def test_one_shot_search(seed_index_path: Path):
    """`search.search(path, query, limit=…)` opens, searches and closes in one call."""
    results = search.search(seed_index_path, "Minnikhanov", limit=2)
    assert len(results) == 2
    assert all(h.doc_id.startswith("001") for h in results)
    assert results.total > 2


def test_open_missing_index_raises_index_not_found(tmp_path: Path):
    """Opening a missing index is IndexNotFound (a BisearchError) with a hint, and creates nothing."""
    with pytest.raises(IndexNotFound) as exc:
        Index.open(tmp_path / "missing")
    assert isinstance(exc.value, BisearchError)
    assert "bisearch index" in exc.value.hint
    assert not (tmp_path / "missing").exists()
    with pytest.raises(IndexNotFound):
        search.search(tmp_path / "missing", "x")


def test_non_empty_foreign_directory_is_refused(tmp_path: Path):
    """`Index(dir)` refuses to create an index inside a non-empty directory that is not one."""
    (tmp_path / "notes.txt").write_text("mine", encoding="utf-8")
    with pytest.raises(IndexNotFound) as exc:
        Index(tmp_path)
    assert exc.value.hint
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]


def test_version_mismatch_raises_index_version_error(tmp_path: Path):
    """An index written by another analyzer version is refused with a `bisearch rebuild` hint."""
    path = tmp_path / "ix"
    with Index(path) as ix:
        ix.add([{"id": "a", "text": "Isfahan"}])
    meta = json.loads((path / "bisearch.json").read_text(encoding="utf-8"))
    meta["analyzer_version"] = meta["analyzer_version"] + 1
    (path / "bisearch.json").write_text(json.dumps(meta), encoding="utf-8")
    for opener in (Index.open, Index):
        with pytest.raises(IndexVersionError) as exc:
            opener(path)
        assert "bisearch rebuild" in exc.value.hint
        assert isinstance(exc.value, IndexStateError)
        # refused from the metadata alone, before Whoosh unpickles anything
        assert exc.value.__context__ is None


def test_unreadable_metadata_is_index_version_error(tmp_path: Path):
    """A corrupt bisearch.json is reported as an unusable index, not a JSON traceback."""
    path = tmp_path / "ix"
    Index(path).close()
    (path / "bisearch.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(IndexVersionError) as exc:
        Index.open(path)
    assert "rebuild" in exc.value.hint


def test_stats_of_the_seed_index(seed_index: Index, seed_index_path: Path):
    """`stats()` reports the 5 seed documents, their passages, both languages and a size."""
    st = seed_index.stats()
    assert isinstance(st, Stats)
    assert st.documents == 5
    assert st.passages > 5
    assert st.languages.get("fa", 0) > 0 and st.languages.get("en", 0) > 0
    assert sum(st.languages.values()) == st.passages
    assert st.size_bytes > 0
    assert Path(st.path) == seed_index_path


def test_search_argument_errors_are_query_errors(seed_index: Index):
    """Bad limit/offset/lang arguments raise QueryError, not Whoosh errors."""
    for kwargs in ({"limit": 0}, {"offset": -1}, {"lang": "de"}):
        with pytest.raises(QueryError):
            seed_index.search("Isfahan", **kwargs)


def test_hit_span_slices_document_to_passage_and_highlights_to_words(seed_index: Index, seed_docs):
    """`hit.span` and `snippet.offset + highlight` are offsets into the document text as given."""
    checked = 0
    # (همکاری's term is همکار: the lexicon stemmer's known word.)
    for query, word in (("Tatarstan", "tatarstan"), ("همکاری", "همکار"), ("1404", "1404")):
        for hit in seed_index.search(query, limit=20):
            text = seed_docs[hit.doc_id].text
            expected = split_passages(text)[hit.ordinal]
            assert (hit.span.start, hit.span.end) == (expected.start, expected.end)
            assert text[hit.span.start : hit.span.end] == expected.text
            assert text[hit.snippet.offset : hit.snippet.offset + len(hit.snippet.text)] == hit.snippet.text
            assert hit.span.start <= hit.snippet.offset <= hit.snippet.offset + len(hit.snippet.text) <= hit.span.end
            for h in hit.snippet.highlights:
                start, end = hit.snippet.offset + h.start, hit.snippet.offset + h.end
                assert text[start:end] == hit.snippet.text[h.start : h.end]
                assert [t.term for t in seed_index.analyze(text[start:end])] == [word]
                checked += 1
    assert checked > 10


def test_passage_span_is_the_indexed_passage(seed_index: Index, seed_docs):
    """Stitching a document's passages at their spans reproduces its words (nothing lost or shifted)."""
    for doc_id, doc in seed_docs.items():
        stitched = seed_index.document_text(doc_id)
        assert stitched is not None and len(stitched) == len(doc.text)
        assert stitched.split() == doc.text.split()
    assert seed_index.document_text("no-such-doc") is None


def test_analyze_returns_offsets_into_the_input(seed_index: Index):
    """`Index.analyze` shows the stored terms with offsets that slice the original text."""
    text = "همکاری‌ها with Russia’s"
    tokens = seed_index.analyze(text)
    # همکاریها: joined, then the lexicon stemmer's known word همکار
    assert [t.term for t in tokens] == ["همکار", "russia"]
    for t in tokens:
        assert text[t.start : t.end] == t.surface
    assert tokens[0].surface == "همکاری‌ها" and tokens[0].script == "fa"
