"""`bisearch rebuild`: a new generation swapped in atomically, readers undisturbed, versions and migration."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
import whoosh.index
from procs import assert_one_line_error, bisearch, python, search_ids, start_paused, write

import analyzers
from search import Document, Index, IndexVersionError
from search.engine import rebuild
from search.layout import generations
from search.schema import SCHEMA_VERSION, build_schema


@pytest.fixture
def built(tmp_path: Path) -> tuple[Path, Path]:
    docs = tmp_path / "docs"
    write(docs / "a.txt", "Alpha Isfahan bridges")
    write(docs / "sub" / "b.txt", "Beta Isfahan bazaar")
    write(docs / "n.jsonl", json.dumps({"id": "n1", "text": "News Isfahan square"}) + "\n")
    index = tmp_path / "idx"
    with Index(index) as ix:
        ix.sync([docs])
    return docs, index


def gen_names(index: Path) -> list[str]:
    return [p.name for _n, p in generations(index)]


def test_rebuild_swaps_in_a_new_generation(built):
    """The same documents, a new generation; the old one is deleted when nobody reads it."""
    _docs, index = built
    before = sorted(search_ids(index, "Isfahan"))
    report = rebuild(index)
    assert (report.documents, report.dropped, report.skipped) == (3, (), ())
    assert (report.previous, report.generation, report.previous_kept) == ("gen-000001", "gen-000002", False)
    assert gen_names(index) == ["gen-000002"]
    assert sorted(search_ids(index, "Isfahan")) == before
    with Index.open(index) as ix:
        assert ix.sync().nothing_changed  # the manifest came along


def test_readers_use_the_old_generation_until_the_swap(built):
    """During a rebuild (paused before its swap) every reader answers from the old generation;
    after it, new readers and already-open ones see the new one; the old one waits for its last reader."""
    docs, index = built
    write(docs / "a.txt", "Alpha Isfahan bridges, rewritten with Kerman")  # only a rebuild (or update) sees it
    reader = Index.open(index)
    assert [h.doc_id for h in reader.search("Kerman")] == []
    paused = start_paused("before_swap", "rebuild", "--index", index)
    try:
        assert gen_names(index) == ["gen-000001", "gen-000002"]  # built, complete, not yet visible
        assert json.loads((index / "bisearch.json").read_text(encoding="utf-8"))["generation"] == "gen-000001"
        assert search_ids(index, "Kerman") == []  # a new reader process
        assert [h.doc_id for h in reader.search("Kerman")] == []
        assert len(reader.search("Isfahan")) == 3
    finally:
        code, out, err = paused.resume()
    assert code == 0, err
    assert "gen-000002" in out and "still being read" in err  # our reader pins gen-000001
    assert gen_names(index) == ["gen-000001", "gen-000002"]
    assert search_ids(index, "Kerman") == ["a.txt"]
    assert [h.doc_id for h in reader.search("Kerman")] == ["a.txt"]  # followed the pointer
    assert reader.meta["generation"] == "gen-000002"
    reader.close()
    with Index.open(index) as ix:
        ix.sync()  # the next write collects what no reader holds
    assert gen_names(index) == ["gen-000002"]


def test_version_mismatch_is_refused_then_cured_by_rebuild(built):
    """An index from another analyzer version: a clear error suggesting rebuild; rebuild fixes it."""
    _docs, index = built
    meta_path = index / "bisearch.json"
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    meta["analyzer_version"] = analyzers.ANALYZER_VERSION + 1
    meta_path.write_text(json.dumps(meta), encoding="utf-8")
    with pytest.raises(IndexVersionError) as exc:
        Index.open(index)
    assert "bisearch rebuild" in exc.value.hint and exc.value.__context__ is None
    for args in (["search", "Isfahan"], ["update"]):
        proc = bisearch(*args, "--index", index)
        assert "incompatible" in assert_one_line_error(proc, 4)
        assert "bisearch rebuild" in proc.stderr
    proc = bisearch("rebuild", "--index", index)
    assert proc.returncode == 0, proc.stderr
    assert "rebuilt 3 document(s)" in proc.stdout
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    assert (meta["schema_version"], meta["analyzer_version"]) == (SCHEMA_VERSION, analyzers.ANALYZER_VERSION)
    assert len(search_ids(index, "Isfahan")) == 3


VANISHING = '''
class Analyzer:
    """Stands for an analyzer class that a later version renamed or removed."""
'''

WRITE_FOREIGN_SCHEMA = r"""
import sys
sys.path.insert(0, sys.argv[2])
import vanishing_analyzer, whoosh.index
from search.schema import build_schema
schema = build_schema()
schema["url"].vanishing = vanishing_analyzer.Analyzer()   # pickled into the table of contents
ix = whoosh.index.open_dir(sys.argv[1], schema=schema)
ix.writer().commit()
"""


def test_the_stored_schema_is_never_unpickled(built, tmp_path: Path):
    """Whoosh's table of contents pickles the schema; bisearch hands Whoosh its own, so a
    stored schema that no longer unpickles (a class that is gone) cannot break opening."""
    _docs, index = built
    mod = tmp_path / "mod"
    write(mod / "vanishing_analyzer.py", VANISHING)
    gen_dir = index / "gen-000001"
    proc = python(WRITE_FOREIGN_SCHEMA, gen_dir, mod)
    assert proc.returncode == 0, proc.stderr
    with pytest.raises(ModuleNotFoundError):
        whoosh.index.open_dir(str(gen_dir))  # what plain Whoosh would do
    assert len(search_ids(index, "Isfahan")) == 3
    with Index.open(index) as ix:
        assert ix.sync().nothing_changed


def make_v1_index(path: Path, seeds_dir: Path) -> list[Path]:
    """An index as schema version 1 wrote it: Whoosh files directly in the directory."""
    path.mkdir()
    ix = whoosh.index.create_in(str(path), build_schema())
    w = ix.writer()
    files = sorted(seeds_dir.glob("*.txt"))[:2]
    from search.ingest import read_text_file

    for f in files:
        Index._add_passages(None, w, read_text_file(f, seeds_dir))
    Index._add_passages(None, w, Document(id="api-1", text="Given directly about Zanjan.\n\nA second paragraph."))
    w.commit()
    meta = {
        "format": "bisearch",
        "schema_version": 1,
        "analyzer_version": analyzers.ANALYZER_VERSION,
        "persian_stemmer": "snowball",
    }
    (path / "bisearch.json").write_text(json.dumps(meta), encoding="utf-8")
    return files


def test_a_version_1_index_is_migrated_by_rebuild(tmp_path: Path, seeds_dir: Path):
    """A schema-1 index (no generations) is refused with the rebuild hint; rebuild migrates it in place."""
    index = tmp_path / "v1"
    files = make_v1_index(index, seeds_dir)
    with pytest.raises(IndexVersionError) as exc:
        Index.open(index)
    assert "bisearch rebuild" in exc.value.hint
    report = rebuild(index)
    assert report.documents == 3 and not report.skipped and not report.dropped
    assert report.sources == (*sorted(str(f) for f in files), "(documents added through the API)")
    assert sorted(p.name for p in index.iterdir()) == ["bisearch.json", "gen-000001", "write.lock"]
    with Index.open(index) as ix:
        assert [h.doc_id for h in ix.search("Zanjan")] == ["api-1"]
        assert {h.doc_id for h in ix.search("Isfahan OR Kazan OR Tatarstan", limit=50)} >= {f.name for f in files}
        assert ix.sync().nothing_changed


def test_rebuild_restores_api_documents_exactly(tmp_path: Path):
    """Documents given to Index.add are kept in the manifest: rebuild indexes them again as given."""
    doc = Document(
        id="api-1",
        text="First paragraph about Isfahan.\n\n\nSecond   paragraph,   spaced.\n",
        title="A title",
        date=dt.date(2024, 5, 28),
        source="api",
        url="https://example.org/a",
    )
    with Index(tmp_path / "ix") as ix:
        ix.add([doc])
        before = [h.to_dict() for h in ix.search("paragraph")]
        text_before = ix.document_text("api-1")
        report = ix.rebuild()
        assert report.documents == 1 and report.sources == ("(documents added through the API)",)
        assert ix.meta["generation"] == "gen-000002"
        after = [h.to_dict() for h in ix.search("paragraph")]
        assert after and after == before  # same passages, spans, fields and snippets
        assert ix.document_text("api-1") == text_before


def test_rebuild_drops_documents_whose_sources_are_gone(built, tmp_path: Path):
    """Documents whose files are gone are dropped (counted); a recorded source that is gone is also skipped (exit 3)."""
    docs, index = built
    extra = write(tmp_path / "extra.jsonl", json.dumps({"id": "x1", "text": "Extra Isfahan"}) + "\n")
    with Index.open(index) as ix:
        assert ix.sync([extra]).added == ("x1",)
    (docs / "n.jsonl").unlink()
    extra.unlink()
    proc = bisearch("rebuild", "--index", index)
    assert proc.returncode == 3, proc.stderr
    assert "extra.jsonl: recorded source no longer exists" in proc.stderr
    assert "2 document(s) dropped" in proc.stdout
    assert sorted(search_ids(index, "Isfahan")) == ["a.txt", "sub/b.txt"]


def test_rebuild_recovers_from_an_unreadable_pointer(built):
    """With bisearch.json garbled, rebuild finds the newest generation's manifest and writes a new pointer."""
    _docs, index = built
    (index / "bisearch.json").write_text("{garbage", encoding="utf-8")
    assert_one_line_error(bisearch("search", "Isfahan", "--index", index), 4)
    proc = bisearch("rebuild", "--index", index)
    assert proc.returncode == 0, proc.stderr
    assert "bisearch.json was unusable" in proc.stderr
    assert len(search_ids(index, "Isfahan")) == 3


def test_rebuild_of_a_missing_index(tmp_path: Path):
    assert "no bisearch index" in assert_one_line_error(bisearch("rebuild", "--index", tmp_path / "none"), 4)
