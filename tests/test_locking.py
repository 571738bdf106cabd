"""One writer, any number of readers: lock messages, --wait, stale locks, concurrent readers (real processes)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from procs import assert_one_line_error, bisearch, search_ids, start_paused, write

from search import Index, IndexLocked
from search.locking import LOCK_FILE, lock_holder


@pytest.fixture
def built(tmp_path: Path) -> tuple[Path, Path]:
    docs = tmp_path / "docs"
    for i in range(3):
        write(docs / f"d{i}.txt", f"Document {i} about Isfahan")
    index = tmp_path / "idx"
    with Index(index) as ix:
        ix.sync([docs])
    return docs, index


def test_second_writer_is_told_who_holds_the_lock(built):
    """While one writer runs, another gets exit 5 naming the holder's pid, command and start time."""
    docs, index = built
    holder = start_paused("locked", "update", "--index", index)
    try:
        info = lock_holder(index)
        assert info["pid"] == holder.proc.pid and info["host"] == socket.gethostname()
        for args in (["index", docs], ["rebuild"]):
            proc = bisearch(*args, "--index", index)
            line = assert_one_line_error(proc, 5)
            assert f"locked by pid {holder.proc.pid}" in line
            assert "bisearch update --index" in line and "since 20" in line and "ago)" in line
            assert "--wait" in proc.stderr
        # the library raises IndexLocked with the same message
        with Index.open(index) as ix, pytest.raises(IndexLocked) as exc:
            ix.remove(["d0.txt"])
        assert str(holder.proc.pid) in exc.value.message
        # readers are never blocked by a writer
        assert len(search_ids(index, "Isfahan")) == 3
    finally:
        code, _out, err = holder.resume()
    assert code == 0, err
    assert lock_holder(index) is None
    assert (index / LOCK_FILE).read_text(encoding="utf-8") == ""  # released: names nobody


def test_wait_for_the_writer(built):
    """--wait SECONDS retries until the lock is free, or fails after waiting that long."""
    docs, index = built
    holder = start_paused("locked", "update", "--index", index)
    t0 = time.monotonic()
    proc = bisearch("update", "--index", index, "--wait", "0.6")
    assert time.monotonic() - t0 >= 0.6
    assert "(waited 0.6s)" in assert_one_line_error(proc, 5)

    write(docs / "new.txt", "A new Isfahan document")
    waiter = subprocess.Popen(
        [sys.executable, "-m", "search", "update", "--index", str(index), "--wait", "30", "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    time.sleep(0.5)
    assert waiter.poll() is None  # still waiting
    code, _out, err = holder.resume()
    assert code == 0, err
    _out, err = waiter.communicate(timeout=60)
    assert waiter.returncode == 0, err
    # whichever ran first added new.txt; the other found nothing to do
    assert set(search_ids(index, "Isfahan")) == {"d0.txt", "d1.txt", "d2.txt", "new.txt"}


def test_stale_lock_of_a_killed_writer_is_cleared(built):
    """A writer killed with -9 leaves its name in the lock file, never a held lock; the next writer says it cleared it."""
    _docs, index = built
    holder = start_paused("locked", "update", "--index", index)
    pid = holder.proc.pid
    holder.kill()
    assert json.loads((index / LOCK_FILE).read_text(encoding="utf-8"))["pid"] == pid
    assert lock_holder(index) is None  # the kernel released the flock with the process
    proc = bisearch("update", "--index", index)
    assert proc.returncode == 0, proc.stderr
    assert f"cleared a stale lock left by pid {pid}" in proc.stderr and "died without releasing it" in proc.stderr


def test_stale_lock_file_from_a_dead_pid(built):
    """A lock file naming a dead process (written by hand here) never blocks: the next writer clears it."""
    _docs, index = built
    (index / LOCK_FILE).write_text(
        json.dumps(
            {
                "pid": 2**22 + 12345,
                "host": socket.gethostname(),
                "command": "bisearch rebuild",
                "since": "2020-01-01T00:00:00+00:00",
            }
        ),
        encoding="utf-8",
    )
    with Index.open(index) as ix:
        report = ix.sync()
    assert any("cleared a stale lock left by pid" in n and "bisearch rebuild" in n for n in report.notes)
    assert (index / LOCK_FILE).read_text(encoding="utf-8") == ""


def test_writers_queue_with_wait(built):
    """Three concurrent writers with --wait all succeed, one after another, and the result is consistent."""
    docs, index = built
    for i in range(3):
        write(docs / f"w{i}.txt", f"Writer {i} Isfahan")
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "search", *args, "--index", str(index), "--wait", "60"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for args in (["update"], ["update", str(docs)], ["rebuild"])
    ]
    for p in procs:
        _out, err = p.communicate(timeout=60)
        assert p.returncode == 0, err
    assert sorted(search_ids(index, "Isfahan")) == ["d0.txt", "d1.txt", "d2.txt", "w0.txt", "w1.txt", "w2.txt"]


READER = r"""
import sys, time
from search import Index
index, seconds = sys.argv[1], float(sys.argv[2])
n = errors = 0
deadline = time.monotonic() + seconds
long_lived = Index.open(index)
while time.monotonic() < deadline:
    try:
        # one long-lived handle (follows commits and rebuilds) and one fresh open per round
        for ix in (long_lived, None):
            if ix is None:
                with Index.open(index) as fresh:
                    ids = {h.doc_id for h in fresh.search("Isfahan", limit=100)}
            else:
                ids = {h.doc_id for h in ix.search("Isfahan", limit=100)}
            assert {"d0.txt", "d1.txt", "d2.txt"} <= ids, ids
            n += 1
    except Exception as exc:
        errors += 1
        print(f"ERROR {type(exc).__name__}: {exc}", file=sys.stderr)
long_lived.search("Isfahan")
print(n, errors, long_lived.meta["generation"])
"""


def test_readers_keep_answering_while_a_writer_commits_and_rebuilds(built):
    """Reader processes search continuously through updates, removals and rebuilds, and never fail."""
    docs, index = built
    readers = [
        subprocess.Popen(
            [sys.executable, "-c", READER, str(index), "4"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for _ in range(2)
    ]
    time.sleep(1.0)  # let them start searching
    with Index.open(index) as ix:
        for round_ in range(3):
            write(docs / f"extra{round_}.txt", f"Extra {round_} Isfahan")
            assert ix.sync().added == (f"extra{round_}.txt",)
            ix.remove([f"extra{round_}.txt"])
            report = ix.rebuild()
            assert report.documents == 4 + round_  # removed extras are still on disk: rebuilt from the sources
    with Index.open(index) as current:
        final = current.meta["generation"]
    for r in readers:
        out, err = r.communicate(timeout=60)
        assert r.returncode == 0, err
        n, errors, generation = out.split()
        assert int(errors) == 0, err
        assert int(n) > 5
        assert generation == final  # the long-lived handle followed every rebuild
    # nothing is left behind once the readers are gone: the next write collects old generations
    with Index.open(index) as ix:
        ix.sync()
    assert sorted(p.name for p in index.iterdir() if p.name.startswith("gen-")) == [ix.meta["generation"]]
    assert not os.path.exists(index / "bisearch.json.tmp")
