"""A hostile environment: read-only index directory, full disk, damaged files (real mounts, real files).

The read-only and full-disk cases mount a small tmpfs (tests run as root, where
chmod does not stop writes); where mounting is not permitted they are skipped
with the reason shown.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from procs import assert_one_line_error, bisearch, doc_ids, search_ids, write

from search import Index, IndexStateError
from search.engine import rebuild


def make_docs(folder: Path) -> Path:
    write(folder / "a.txt", "Alpha Isfahan bridges")
    write(folder / "b.txt", "Beta Isfahan bazaar")
    write(folder / "n.jsonl", json.dumps({"id": "n1", "text": "News Isfahan square"}) + "\n")
    return folder


@pytest.fixture
def tmpfs(tmp_path: Path) -> Iterator[Callable[[str], Path]]:
    """mount(size) → a fresh tmpfs directory; unmounted afterwards. Skips if mounting is not permitted."""
    mounted: list[Path] = []

    def mount(size: str) -> Path:
        point = tmp_path / f"mnt{len(mounted)}"
        point.mkdir()
        proc = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(point)], capture_output=True, text=True)
        if proc.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs here ({(proc.stderr or 'mount failed').strip()}); needs root or CAP_SYS_ADMIN")
        mounted.append(point)
        return point

    yield mount
    for point in reversed(mounted):
        subprocess.run(["umount", "-l", str(point)], capture_output=True)


def remount_read_only(point: Path) -> None:
    proc = subprocess.run(["mount", "-o", "remount,ro", str(point)], capture_output=True, text=True)
    if proc.returncode != 0:
        pytest.skip(f"cannot remount read-only ({proc.stderr.strip()})")


def free_bytes(path: Path) -> int:
    st = os.statvfs(path)
    return st.f_bavail * st.f_frsize


def fill(point: Path, leave: int) -> Path:
    """A filler file that leaves about ``leave`` bytes free on the file system."""
    filler = point / "filler"
    with filler.open("wb") as fh:
        chunk = b"\0" * 65536
        while free_bytes(point) > leave + len(chunk):
            fh.write(chunk)
            fh.flush()
    return filler


# -- read-only ------------------------------------------------------------------------------


def test_read_only_index_searches_but_refuses_writes(tmpfs, tmp_path: Path):
    """On a read-only mount, searching works; every writing command says so clearly (exit 4)."""
    docs = make_docs(tmp_path / "docs")
    point = tmpfs("16m")
    index = point / "idx"
    with Index(index) as ix:
        ix.sync([docs])
    remount_read_only(point)

    assert sorted(search_ids(index, "Isfahan")) == ["a.txt", "b.txt", "n1"]  # a reader process
    write(docs / "c.txt", "Gamma Isfahan")
    for args in (["update"], ["rebuild"]):
        line = assert_one_line_error(bisearch(*args, "--index", index), 4)
        assert "read-only file system" in line and "can be searched but not changed" in line
    with Index.open(index) as ix:
        assert len(ix.search("Isfahan")) == 3 and ix.stats().documents == 3
        for write_op in (ix.sync, lambda: ix.add_paths([docs]), lambda: ix.remove(["a.txt"])):
            with pytest.raises(IndexStateError, match="read-only file system"):
                write_op()
    # creating a new index there is refused clearly too
    line = assert_one_line_error(bisearch("index", docs, "--index", point / "new"), 4)
    assert "Read-only file system" in line


# -- full disk ------------------------------------------------------------------------------


def big_text(n_words: int) -> str:
    rng = random.Random(7)
    letters = "abcdefghijklmnopqrstuvwxyz"
    vocab = ["".join(rng.choice(letters) for _ in range(7)) for _ in range(3000)]
    return "Isfahan archive\n\n" + " ".join(rng.choice(vocab) for _ in range(n_words))


def test_full_disk_keeps_the_committed_state(tmpfs, tmp_path: Path):
    """With the disk full, update and rebuild fail with a clear message, leave the last commit searchable
    and nothing half-written behind; after space is freed, the next update completes the job."""
    docs = make_docs(tmp_path / "docs")
    point = tmpfs("8m")
    index = point / "idx"
    with Index(index) as ix:
        ix.sync([docs])
    write(docs / "big.txt", big_text(5000))  # its segment takes some 500 KB
    filler = fill(point, leave=96 * 1024)
    before = sorted(p.name for p in (index / "gen-000001").iterdir())

    line = assert_one_line_error(bisearch("update", "--index", index), 4)
    assert "no space left on the device" in line and "nothing from this run was committed" in line
    assert doc_ids(index, "Isfahan") == ["a.txt", "b.txt", "n1"]

    with pytest.raises(IndexStateError, match="no space left"):
        rebuild(index)
    assert sorted(p.name for p in index.iterdir()) == ["bisearch.json", "gen-000001", "write.lock"]
    assert doc_ids(index, "Isfahan") == ["a.txt", "b.txt", "n1"]

    filler.unlink()
    proc = bisearch("update", "--index", index, "--json")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["added"] == ["big.txt"]
    assert doc_ids(index, "Isfahan") == ["a.txt", "b.txt", "big.txt", "n1"]
    leftovers = set(before) - {p.name for p in (index / "gen-000001").iterdir()}
    assert all(name.startswith(("_MAIN_", "MAIN_")) for name in leftovers)  # only superseded Whoosh files went
    assert not (index / "gen-000001" / "MAIN.tmp").exists()


# -- damaged files ----------------------------------------------------------------------------


@pytest.fixture
def built(tmp_path: Path) -> Path:
    docs = make_docs(tmp_path / "docs")
    index = tmp_path / "idx"
    with Index(index) as ix:
        ix.sync([docs])
    return index


def _segment(index: Path) -> Path:
    (seg,) = (index / "gen-000001").glob("*.seg")
    return seg


def truncate(index: Path) -> None:
    seg = _segment(index)
    os.truncate(seg, seg.stat().st_size // 2)


def garble_head(index: Path) -> None:
    with _segment(index).open("r+b") as fh:
        fh.write(bytes(random.Random(1).randrange(256) for _ in range(256)))


def garble_tail(index: Path) -> None:
    seg = _segment(index)
    with seg.open("r+b") as fh:
        fh.seek(seg.stat().st_size - 300)
        fh.write(bytes(random.Random(2).randrange(256) for _ in range(300)))


def empty_segment(index: Path) -> None:
    _segment(index).write_bytes(b"")


def garble_toc(index: Path) -> None:
    (toc,) = (index / "gen-000001").glob("_MAIN_*.toc")
    data = bytearray(toc.read_bytes())
    data[len(data) // 2 :] = b"\x80" * (len(data) - len(data) // 2)
    toc.write_bytes(bytes(data))


@pytest.mark.parametrize("damage", [truncate, garble_head, garble_tail, empty_segment, garble_toc])
def test_damaged_index_gives_a_clear_message_and_rebuild_cures_it(built: Path, damage):
    """A truncated or garbled segment (or table of contents): one line suggesting rebuild, never a
    traceback; `bisearch rebuild` re-reads the recorded sources into a sound index."""
    index = built
    damage(index)
    proc = bisearch("search", "Isfahan", "--index", index)
    assert "is damaged and cannot be read" in assert_one_line_error(proc, 4)
    assert "bisearch rebuild" in proc.stderr
    with pytest.raises(IndexStateError, match="damaged") as exc:  # the library says the same
        with Index.open(index) as ix:
            ix.stats()
    assert "bisearch rebuild" in exc.value.hint
    report = rebuild(index)
    assert report.documents == 3 and not report.dropped
    assert doc_ids(index, "Isfahan") == ["a.txt", "b.txt", "n1"]


def test_damaged_manifest_is_recreated_from_the_index(built: Path):
    """A garbled sync manifest is re-created from the index's stored fields by the next writer."""
    index = built
    (index / "gen-000001" / "manifest.sqlite").write_bytes(b"this is not a database" * 100)
    with Index.open(index) as ix:
        report = ix.sync()
        assert report.nothing_changed and not report.committed and report.unchanged == 3
        assert any("re-created the sync manifest" in n for n in report.notes)
        assert ix.sources()  # roots derived from the documents' paths
        assert ix.sync().notes == ()


def test_damaged_lock_file_is_harmless(built: Path):
    """Garbage in write.lock never blocks a writer (only the kernel lock counts)."""
    index = built
    (index / "write.lock").write_bytes(b"\x00\xff garbage")
    with Index.open(index) as ix:
        assert ix.sync().nothing_changed
