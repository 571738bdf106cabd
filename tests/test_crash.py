"""`kill -9` at named points of `index`, `update`, `remove` and `rebuild` (real processes).

After each crash the last committed state must be fully searchable, and the
next `update` must complete the job. The writer is stopped at a pause point
(see search/testhooks.py) and SIGKILLed there, so each crash is deterministic.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from procs import bisearch, start_paused, write

from search import Index
from search.layout import generations

OLD = {"a.txt": "Alpha Isfahan original", "b.txt": "Beta Isfahan original", "c.txt": "Gamma Isfahan original"}


def state(index: Path) -> dict[str, str]:
    """doc id → text, for every document the index answers with."""
    with Index.open(index) as ix:
        hits = ix.search("Isfahan", limit=100)
        return {h.doc_id: ix.document_text(h.doc_id) for h in hits}


@pytest.fixture
def built(tmp_path: Path) -> tuple[Path, Path]:
    """An index of three documents (a folder of text files plus one JSONL line)."""
    docs = tmp_path / "docs"
    for name, text in OLD.items():
        write(docs / name, text)
    write(docs / "j.jsonl", json.dumps({"id": "j1", "text": "Jsonl Isfahan original"}) + "\n")
    index = tmp_path / "idx"
    with Index(index) as ix:
        assert len(ix.sync([docs]).added) == 4
    return docs, index


def change(docs: Path) -> dict[str, str]:
    """Edit the tree (two changed, one added, one removed, one JSONL line changed); the state it should give."""
    write(docs / "a.txt", "Alpha Isfahan CHANGED")
    write(docs / "b.txt", "Beta Isfahan CHANGED")
    write(docs / "d.txt", "Delta Isfahan ADDED")
    (docs / "c.txt").unlink()
    write(docs / "j.jsonl", json.dumps({"id": "j1", "text": "Jsonl Isfahan CHANGED"}) + "\n")
    return {
        "a.txt": "Alpha Isfahan CHANGED",
        "b.txt": "Beta Isfahan CHANGED",
        "d.txt": "Delta Isfahan ADDED",
        "j1": "Jsonl Isfahan CHANGED",
    }


OLD_STATE = {**OLD, "j1": "Jsonl Isfahan original"}


@pytest.mark.parametrize(
    ("point", "committed"),
    [("locked", False), ("after_add:1", False), ("after_add:3", False), ("before_commit", False), ("after_commit", True)],
)
def test_update_killed(built, point: str, committed: bool):
    """A killed update leaves the old state (or, past the Whoosh commit, the new one); the next update completes it."""
    docs, index = built
    new_state = change(docs)
    paused = start_paused(point, "update", "--index", index)
    paused.kill()
    assert state(index) == (new_state if committed else OLD_STATE)

    proc = bisearch("update", "--index", index, "--json")
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    if committed:
        # the crashed run had committed everything; only its manifest lagged, and is repaired
        assert report["committed"] is False and report["unchanged"] == 4
        assert any("repaired the sync manifest" in n for n in report["notes"])
    else:
        assert sorted(report["changed"]) == ["a.txt", "b.txt", "j1"]
        assert report["added"] == ["d.txt"] and report["removed"] == ["c.txt"]
    assert any("stale lock" in n for n in report["notes"])
    assert state(index) == new_state
    with Index.open(index) as ix:
        again = ix.sync()
        assert again.nothing_changed and not again.committed and again.unchanged == 4


def test_first_index_killed(tmp_path: Path):
    """`index` into a new directory killed mid-way: an empty but valid index; a bare update indexes everything."""
    docs = tmp_path / "docs"
    for name, text in OLD.items():
        write(docs / name, text)
    index = tmp_path / "idx"
    paused = start_paused("after_add:2", "index", docs, "--index", index)
    paused.kill()
    assert state(index) == {}
    with Index.open(index) as ix:
        assert ix.stats().documents == 0
        assert ix.sources() == (str(docs),)  # recorded before the first document was read
    proc = bisearch("update", "--index", index)
    assert proc.returncode == 0, proc.stderr
    assert state(index) == OLD


def test_remove_killed(built):
    """A killed remove: before the commit nothing is removed; after it, the removal stands."""
    _docs, index = built
    with Index.open(index) as ix:
        ix.add([{"id": "api-1", "text": "Given Isfahan"}, {"id": "api-2", "text": "Given Isfahan too"}])
    start_paused("before_commit", "remove", "api-1", "--index", index).kill()
    assert {"api-1", "api-2"} <= set(state(index))
    start_paused("after_commit", "remove", "api-2", "--index", index).kill()
    assert "api-2" not in state(index) and "api-1" in state(index)
    with Index.open(index) as ix:
        report = ix.sync()
        assert report.nothing_changed and any("repaired" in n for n in report.notes)
        assert ix.remove(["api-2"]).unknown == ("api-2",)  # the manifest agrees it is gone


@pytest.mark.parametrize(("point", "swapped"), [("after_add:2", False), ("before_swap", False), ("after_swap", True)])
def test_rebuild_killed(built, point: str, swapped: bool):
    """A killed rebuild: readers see the old generation or the complete new one; the next write cleans up."""
    _docs, index = built
    with Index.open(index) as ix:
        old_gen = ix.meta["generation"]
    start_paused(point, "rebuild", "--index", index).kill()
    with Index.open(index) as ix:
        assert (ix.meta["generation"] != old_gen) is swapped
    assert state(index) == OLD_STATE
    assert len(generations(index)) == 2  # the half-built (or the superseded) one is still on disk

    proc = bisearch("update", "--index", index, "--json")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["committed"] is False
    assert len(generations(index)) == 1  # collected by the next writer
    assert state(index) == OLD_STATE


def test_interrupted_creation_leftovers_are_reused(tmp_path: Path):
    """A directory holding only what an interrupted creation leaves is not 'foreign': it becomes an index."""
    index = tmp_path / "idx"
    (index / "gen-000001").mkdir(parents=True)
    (index / "gen-000001" / "half-written").write_text("x", encoding="utf-8")
    (index / "write.lock").write_text('{"pid": 999999999, "command": "bisearch index"}', encoding="utf-8")
    with Index(index) as ix:
        ix.add([{"id": "a", "text": "Isfahan"}])
        assert not (ix._gen_dir / "half-written").exists()
    assert set(state(index)) == {"a"}
