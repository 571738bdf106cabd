"""search.parallel: the analysis worker fails loudly, commits nothing, holds no locks, dies with its parent.

(That an index analyzed in the worker equals Whoosh's is in tests/test_writer.py.)
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import search.parallel
import search.writer
from search import Document, Index
from search.parallel import AnalysisWorker, AnalysisWorkerError

ROOT = Path(__file__).resolve().parent.parent


def docs(n: int, tag: str = "") -> list[Document]:
    return [
        Document(id=f"{tag}d{i}", text=f"سند شماره {i} درباره اصفهان و تهران {tag}\n\nDocument {i} about Isfahan {tag}")
        for i in range(n)
    ]


@pytest.fixture
def workers(monkeypatch):
    """Fork the worker after the first document of a write; the workers started, in order."""
    started: list[AnalysisWorker] = []
    real_init = AnalysisWorker.__init__

    def init(self, handler):
        real_init(self, handler)
        started.append(self)

    monkeypatch.setattr(search.parallel, "_others_busy", lambda _watch: 0.0)
    monkeypatch.setattr(search.parallel.CpuWatch, "young", False)  # as if measured already
    monkeypatch.setattr(search.parallel, "_cpus", lambda: 2)
    monkeypatch.setattr(search.parallel, "_single_threaded", lambda: True)  # other tests may leave threads
    monkeypatch.setattr(AnalysisWorker, "__init__", init)
    monkeypatch.setattr(search.writer, "PARALLEL_AFTER_CHARS", 0)
    monkeypatch.setattr(search.writer, "BATCH_CHARS", 300)
    return started


def count(path: Path) -> int:
    with Index(path, create=False) as ix:
        return ix.stats().documents


def test_a_killed_worker_is_a_clear_error_and_nothing_is_committed(tmp_path, workers, monkeypatch):
    path = tmp_path / "ix"
    with Index(path) as ix:
        ix.add(docs(3, "old"))
    real_submit = AnalysisWorker.submit
    sent = []

    def submit(self, batch):
        real_submit(self, batch)
        sent.append(1)
        if len(sent) == 2:
            os.kill(self.proc.pid, signal.SIGKILL)

    monkeypatch.setattr(AnalysisWorker, "submit", submit)
    with Index(path) as ix, pytest.raises(AnalysisWorkerError, match="SIGKILL"):
        ix.add(docs(200))
    assert workers and workers[-1].proc.exitcode == -signal.SIGKILL
    assert count(path) == 3
    monkeypatch.setattr(AnalysisWorker, "submit", real_submit)
    with Index(path) as ix:  # the lock is free, the next write completes
        ix.add(docs(50))
    assert count(path) == 53


def test_an_error_in_the_worker_is_raised_and_nothing_is_committed(tmp_path, workers, monkeypatch):
    path = tmp_path / "ix"
    with Index(path) as ix:
        ix.add(docs(3, "old"))

    def boom(self, jobs):
        raise ValueError("analysis exploded")

    monkeypatch.setattr(search.writer._WorkerAnalysis, "__call__", boom)
    with Index(path) as ix, pytest.raises(ValueError, match="analysis exploded"):
        ix.add(docs(100))
    assert workers
    assert all(w.proc.exitcode is not None for w in workers)  # reaped
    assert count(path) == 3


def test_the_worker_holds_no_files_of_the_index(tmp_path, workers, monkeypatch):
    path = tmp_path / "ix"
    seen: list[list[str]] = []
    real_submit = AnalysisWorker.submit

    def submit(self, batch):
        real_submit(self, batch)
        if not seen:
            fd_dir = Path(f"/proc/{self.proc.pid}/fd")
            deadline = time.monotonic() + 10
            while True:
                targets = []
                for fd in fd_dir.iterdir():
                    if int(fd.name) < 3:
                        continue  # stdio (pytest captures it into temporary files)
                    try:
                        targets.append(os.readlink(fd))
                    except OSError:
                        pass
                files = [t for t in targets if t.startswith("/") and not t.startswith("/dev/")]
                if not files or time.monotonic() > deadline:
                    break
                time.sleep(0.05)
            seen.append(files)

    monkeypatch.setattr(AnalysisWorker, "submit", submit)
    with Index(path) as ix:
        ix.add(docs(60))
    assert seen == [[]]
    assert count(path) == 60


def test_the_worker_dies_with_its_parent(tmp_path):
    code = (
        "import sys, time\n"
        f"sys.path.insert(0, {str(ROOT)!r})\n"
        "from search.parallel import AnalysisWorker\n"
        "w = AnalysisWorker(len)\n"
        "w.submit([1, 2]); assert w.receive() == 2\n"
        "print(w.proc.pid, flush=True)\n"
        "time.sleep(60)\n"
    )
    parent = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        pid = int(parent.stdout.readline())
        os.kill(parent.pid, signal.SIGKILL)
        parent.wait(10)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and _alive(pid):
            time.sleep(0.05)
        assert not _alive(pid)
    finally:
        if parent.poll() is None:
            parent.kill()


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split(") ")[1][0] != "Z"  # a zombie (reaped by init soon) is dead
    except OSError:
        return False


def test_worker_round_trip_and_close():
    w = AnalysisWorker(lambda batch: [x * 2 for x in batch])
    for i in range(5):
        w.submit([i, i + 1])
    assert [w.receive() for _ in range(5)] == [[2 * i, 2 * i + 2] for i in range(5)]
    w.close()
    assert w.proc.exitcode == 0


def test_a_busy_machine_is_asked_again_later(tmp_path, workers, monkeypatch):
    loads = iter([5.0, 5.0])
    asked = []

    def load(_watch):
        asked.append(1)
        return next(loads, 0.0)

    monkeypatch.setattr(search.parallel, "_others_busy", load)
    monkeypatch.setattr(search.parallel.CpuWatch, "young", False)  # as if measured already
    monkeypatch.setattr(search.writer, "PARALLEL_AFTER_CHARS", 2000)
    with Index(tmp_path / "ix") as ix:
        ix.add(docs(120))
    assert len(asked) == 3 and len(workers) == 1  # busy, busy, then a worker
    assert count(tmp_path / "ix") == 120


# -- whether to fork: a CPU to spare ------------------------------------------------------


class _Watch:
    def __init__(self, others):
        self._others = others

    def others(self):
        return self._others


def test_the_writers_own_measure_wins_over_the_lagging_load_average(monkeypatch):
    # Right after another command (a build after a build) the 1-minute load
    # average is still about one though a CPU is idle: what the writer
    # measured over its own first seconds decides.
    monkeypatch.setattr(search.parallel, "_cpus", lambda: 2)
    monkeypatch.setattr(search.parallel, "_single_threaded", lambda: True)
    monkeypatch.setattr(search.parallel, "_load", lambda: 1.9)
    assert search.parallel.available(_Watch(0.05))
    assert not search.parallel.available(_Watch(0.9))  # another process keeps a CPU busy
    # Nothing measured (no /proc/stat): a load average that leaves a CPU idle, as before.
    assert not search.parallel.available(_Watch(None))
    assert not search.parallel.available()
    monkeypatch.setattr(search.parallel, "_load", lambda: 0.8)
    assert search.parallel.available(_Watch(None))


def test_the_writer_asks_once_its_watch_has_measured(tmp_path, monkeypatch):
    # The first ask comes after PARALLEL_AFTER_CHARS, often within a few
    # tenths of a second: too soon for the watch. The writer asks again a
    # little later with the same watch, and its measure decides, not the
    # lagging load average (1.9 here, as right after another build).
    clock = [0.0]

    def snapshot():
        clock[0] += 0.02  # 20 ms of wall time per look; no other process busy
        return clock[0], 0.0, 0.0

    asked = []
    real_available = search.parallel.available

    def available(watch=None):
        asked.append(watch.others())
        return real_available(watch)

    monkeypatch.setattr(search.parallel, "_cpu_snapshot", snapshot)
    monkeypatch.setattr(search.parallel, "_load", lambda: 1.9)
    monkeypatch.setattr(search.parallel, "_cpus", lambda: 2)
    monkeypatch.setattr(search.parallel, "_single_threaded", lambda: True)
    monkeypatch.setattr(search.parallel, "available", available)
    monkeypatch.setattr(search.writer, "PARALLEL_AFTER_CHARS", 2000)
    started = []
    real_init = AnalysisWorker.__init__
    monkeypatch.setattr(AnalysisWorker, "__init__", lambda self, h: started.append(1) or real_init(self, h))
    with Index(tmp_path / "ix") as ix:
        ix.add(docs(200))
    assert started == [1]
    assert asked and asked[0] == 0.0  # asked only once measured (a young watch says None)
    assert count(tmp_path / "ix") == 200


def test_cpu_watch_counts_other_processes_not_this_one(monkeypatch):
    if search.parallel._cpu_snapshot() is None:
        pytest.skip("no /proc/stat here")

    def spin_here() -> float:
        watch = search.parallel.CpuWatch()
        end = time.monotonic() + 1.0
        while time.monotonic() < end:
            pass
        return watch.others()

    def spin_elsewhere() -> float:
        spinner = subprocess.Popen([sys.executable, "-c", "import time\nend = time.time() + 3\nwhile time.time() < end: pass"])
        try:
            time.sleep(0.3)  # its start-up
            watch = search.parallel.CpuWatch()
            time.sleep(1.0)
            return watch.others()  # measured while it runs: another process
        finally:
            spinner.kill()
            spinner.wait()

    alone = spin_here()  # this process busy: not "others"
    other = spin_elsewhere()  # another process busy, this one asleep
    assert alone is not None and other is not None
    assert other - alone > 0.5, (alone, other)
    # Too short a history says nothing.
    assert search.parallel.CpuWatch().others() is None
    monkeypatch.setattr(search.parallel, "_cpu_snapshot", lambda: None)
    assert search.parallel.CpuWatch().others() is None
