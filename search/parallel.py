"""Analysis in a worker process while the writer pools and writes.

:class:`~search.writer.FastSegmentWriter` spends about half of a build
analyzing field values, the other half on everything else (reading the
corpus, splitting passages, stored fields, the posting pool, the commit). On
two cores the two halves can overlap: past a size threshold the writer forks
one :class:`AnalysisWorker`, sends it batches of the documents' analyzable
values (pickled once per batch, which shares the strings a passage's
``text``, ``xkey`` and its document's ``body`` parts have in common) and
applies the analyses it sends back, in order, so docnums and the index are
what the writer alone would write. The writer's own share (pooling, stored
fields, spills) is less than the analysis, so when the worker is behind the
writer analyzes batches itself and holds them until the worker's earlier
ones are in. At commit the same worker encodes some
fields' postings while the writer encodes the others
(:class:`search.writer._EncodeJob`).

The worker:

* is forked (no start-up: it inherits the imported modules and the warm
  analysis memos), and only from a process with a single thread;
* closes the regular files it inherited, so it never holds the index's
  ``flock`` locks (``write.lock``, ``readers.lock``, Whoosh's) or its
  segment files: a lock its parent releases is released;
* dies with its parent (``PR_SET_PDEATHSIG`` on Linux; otherwise at the end of
  the batch it is working on, when its pipes report the parent gone);
* ignores SIGINT: Ctrl-C reaches the parent, which cancels the writer.

A worker that dies (killed, out of memory) surfaces in the parent as
:class:`AnalysisWorkerError` at the next exchange; the writer is then
cancelled by its session as after any failure, and nothing is committed.
"""

from __future__ import annotations

import os
import pickle
import queue
import signal
import stat
import sys
import threading
import time

from search.errors import BisearchError

__all__ = ["AnalysisWorker", "AnalysisWorkerError", "CpuWatch", "available"]


class AnalysisWorkerError(BisearchError):
    """The analysis worker process died or could not be reached."""


def available(watch: CpuWatch | None = None) -> bool:
    """Should this process fork a worker now?

    Only on Linux (fork), from a process with one thread, and with a CPU to
    spare: at least two, and other processes keeping less than half of the
    others busy (:data:`SPARE`), as measured since ``watch`` began (the
    writer starts one when it starts, and asks once it is old enough), or
    else, with nothing measured, a load average that leaves one idle. On a busy
    machine a second process only takes a share of CPU time from the first,
    and the work the worker saves the writer (about a fifth of its CPU time,
    net of pickling) is less than what the writer then loses. Measured on the
    2-core dev machine, worker vs none, alternating: 0.85-0.94x with two other
    busy processes; on a quiet machine 1.18x on raw-fa-news (1,000 docs) and
    0.98x on raw-en-news (4,000 short docs, where the commit dominates).
    """
    if sys.platform != "linux" or not hasattr(os, "fork"):
        return False
    if not _single_threaded():
        return False
    cpus = _cpus()
    if cpus < 2:
        return False
    others = _others_busy(watch)
    if others is None:
        # Nothing measured: the load average (which counts this process
        # once it has run a while, and lags), as the only other sign.
        return _load() + 1 <= cpus
    return others <= cpus - 1 - SPARE


#: Share of a CPU that other processes may keep busy, beside the writer and
#: its worker, for a worker still to pay off.
SPARE = 0.5
#: A watch needs this many seconds of history to say anything.
MIN_WATCH_SECONDS = 0.5


class CpuWatch:
    """How busy other processes have kept the machine's CPUs since the watch began.

    The 1-minute load average counts this process too, and lags: a writer
    that starts right after another command (a build after a build) sees a
    load of about one for the minute after it, though a CPU is idle. So the
    writer measures instead, over its own first seconds: the user CPU time
    the whole machine spent (``/proc/stat``) less its own and its ended
    children's (``os.times``), per second of wall time.
    """

    def __init__(self) -> None:
        self._start = _cpu_snapshot()

    @property
    def young(self) -> bool:
        """Too young to say anything yet, but it will (it has a start, and this machine a ``/proc/stat``)."""
        if self._start is None:
            return False
        now = _cpu_snapshot()
        return now is not None and now[0] - self._start[0] < MIN_WATCH_SECONDS

    def others(self) -> float | None:
        """CPUs kept busy by other processes on average since the start (None: not measurable yet)."""
        now = _cpu_snapshot()
        if self._start is None or now is None:
            return None
        wall = now[0] - self._start[0]
        if wall < MIN_WATCH_SECONDS:
            return None
        busy = now[1] - self._start[1]
        own = now[2] - self._start[2]
        return max(0.0, (busy - own) / wall)


def _cpu_snapshot() -> tuple[float, float, float] | None:
    """(wall seconds, user CPU seconds of the whole machine, of this process and its ended children).

    A writer's ended workers count as its own work (an earlier write's, in
    a process that writes again).
    """
    try:
        with open("/proc/stat", encoding="ascii") as fh:
            fields = fh.readline().split()
        ticks = [int(x) for x in fields[1:9]]  # user nice system idle iowait irq softirq steal
        hz = os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None
    if fields[0] != "cpu" or len(ticks) < 8:
        return None
    # User time only: the kernel's own work (writing back the index a build
    # just wrote, say) would otherwise read as another busy process. Niced
    # processes yield to the worker, so their time counts only when this
    # process is niced too (its own time is in that column then).
    busy = (ticks[0] + (ticks[1] if _niced() else 0)) / hz
    t = os.times()
    return time.monotonic(), busy, t.user + t.children_user


def _niced() -> bool:
    try:
        return os.getpriority(os.PRIO_PROCESS, 0) > 0
    except (AttributeError, OSError):
        return False


def _others_busy(watch: CpuWatch | None) -> float | None:
    """CPUs other processes keep busy, as ``watch`` measured them (None: nothing measured)."""
    return watch.others() if watch is not None else None


def _single_threaded() -> bool:
    """Forking a process with other threads could copy a lock one of them holds."""
    return threading.active_count() == 1


def _cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def _load() -> float:
    """The 1-minute load average (this process included)."""
    try:
        return os.getloadavg()[0]
    except OSError:
        return float("inf")


def _signal_name(code: int | None) -> str:
    if code is None:
        return "still running"
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit code {code}"


class AnalysisWorker:
    """One forked process running ``handler`` on each batch, results in order.

    ``handler(batch) -> results`` runs in the worker; :meth:`submit` sends a
    batch, :meth:`receive` returns the results of the oldest batch not yet
    received (re-raising an exception the handler raised).
    """

    def __init__(self, handler) -> None:
        import multiprocessing

        ctx = multiprocessing.get_context("fork")
        task_r, task_w = ctx.Pipe(duplex=False)
        res_r, res_w = ctx.Pipe(duplex=False)
        self._task_w = task_w
        self._res_r = res_r
        self.inflight = 0
        self._closed = False
        self.proc = ctx.Process(
            target=_worker_main,
            args=(handler, task_r, res_w, (task_w, res_r), os.getpid()),
            name="bisearch-analysis",
            daemon=True,
        )
        for conn in (task_w, res_r):
            _grow_pipe(conn.fileno())
        self.proc.start()
        task_r.close()
        res_w.close()

    # -- parent side ---------------------------------------------------------------------------
    def _died(self) -> AnalysisWorkerError:
        self.proc.join(timeout=2.0)
        how = _signal_name(self.proc.exitcode)
        self.close()
        return AnalysisWorkerError(
            f"the indexing analysis worker (pid {self.proc.pid}) stopped unexpectedly ({how}); nothing was committed",
            hint="run the command again; if it recurs, check the memory available (the worker may have been killed)",
        )

    def submit(self, batch) -> None:
        data = pickle.dumps(batch, pickle.HIGHEST_PROTOCOL)
        try:
            self._task_w.send_bytes(data)
        except OSError:
            raise self._died() from None
        self.inflight += 1

    def ready(self) -> bool:
        """True if :meth:`receive` would not wait."""
        try:
            return self.inflight > 0 and self._res_r.poll()
        except OSError:
            return True  # receive() reports it

    def receive(self):
        try:
            data = self._res_r.recv_bytes()
        except (EOFError, OSError):
            raise self._died() from None
        self.inflight -= 1
        ok, payload = pickle.loads(data)
        if not ok:
            raise payload
        return payload

    def close(self) -> None:
        """Stop the worker (its pending work is dropped) and reap it."""
        if self._closed:
            return
        self._closed = True
        try:
            self._task_w.send_bytes(b"")  # stop
        except OSError:
            pass
        self._task_w.close()
        self._res_r.close()  # a worker blocked on sending a result gets EPIPE and exits
        self.proc.join(timeout=5.0)
        if self.proc.exitcode is None:
            self.proc.kill()
            self.proc.join()

    def kill(self) -> None:
        """Stop the worker now, whatever it is doing (its work is moot), and reap it."""
        if not self._closed:
            try:
                self.proc.kill()
            except Exception:
                pass
        self.close()

    def __del__(self) -> None:
        try:
            if not self._closed and self.proc.is_alive():
                self.proc.kill()
        except Exception:
            pass


def _grow_pipe(fd: int) -> None:
    """A 1 MB pipe buffer (Linux F_SETPIPE_SZ): a batch or its results are written in one go."""
    try:
        import fcntl

        fcntl.fcntl(fd, getattr(fcntl, "F_SETPIPE_SZ", 1031), PIPE_BYTES)
    except (OSError, ValueError):
        pass


PIPE_BYTES = 1 << 20


# -- worker side ------------------------------------------------------------------------------


def _die_with_parent(parent: int) -> None:
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except Exception:
        pass
    if os.getppid() != parent:  # the parent died before prctl
        os._exit(1)


def _close_inherited_files(keep: set[int]) -> None:
    """Close the regular files (locks, segment files, the manifest) the fork inherited."""
    try:
        fds = [int(name) for name in os.listdir("/proc/self/fd")]
    except OSError:
        return
    for fd in fds:
        if fd in keep or fd < 3:
            continue
        try:
            if stat.S_ISREG(os.fstat(fd).st_mode):
                os.close(fd)
        except OSError:
            pass


def _worker_main(handler, task_r, res_w, parent_ends, parent: int) -> None:
    for conn in parent_ends:
        conn.close()
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    sys.setswitchinterval(0.0005)  # the reader thread gets the GIL soon after a batch arrives
    _die_with_parent(parent)
    _close_inherited_files({task_r.fileno(), res_w.fileno()})
    # A reader thread keeps the task pipe drained, so the parent never blocks
    # sending a batch while this process blocks sending a result.
    tasks: queue.SimpleQueue = queue.SimpleQueue()

    def read() -> None:
        while True:
            try:
                data = task_r.recv_bytes()
            except (EOFError, OSError):
                data = b""
            tasks.put(data)
            if not data:
                return

    threading.Thread(target=read, name="bisearch-analysis-reader", daemon=True).start()
    # And a sender thread sends the results, so this process goes on to the
    # next batch while the parent is busy elsewhere (a spill) and the pipe is
    # full. What it holds is bounded by the batches the parent has in flight.
    results: queue.SimpleQueue = queue.SimpleQueue()

    def send() -> None:
        while True:
            out = results.get()
            if out is None:
                return
            try:
                res_w.send_bytes(out)
            except OSError:  # the parent is gone, or closed its end
                os._exit(0)

    sender = threading.Thread(target=send, name="bisearch-analysis-sender", daemon=True)
    sender.start()
    while True:
        data = tasks.get()
        if not data:
            break
        try:
            msg = (True, handler(pickle.loads(data)))
        except BaseException as exc:  # sent to the parent, raised there
            msg = (False, exc)
        try:
            out = pickle.dumps(msg, pickle.HIGHEST_PROTOCOL)
        except Exception as exc:
            out = pickle.dumps((False, RuntimeError(f"analysis failed: {msg[1]!r} ({exc})")), pickle.HIGHEST_PROTOCOL)
        results.put(out)
    results.put(None)
    sender.join()
    os._exit(0)
