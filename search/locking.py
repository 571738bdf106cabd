"""Who may write an index, and which generations readers still use.

Two kinds of lock, both ``flock(2)`` locks, which the kernel drops when the
process holding them dies (``kill -9`` included), so no lock can outlive its
owner:

``DIR/write.lock`` (one writer)
    Every command that writes (``index``, ``update``, ``remove``,
    ``rebuild``, creating an index) holds an exclusive lock on it for the whole
    run. While held, the file says who holds it (pid, host, command, start
    time), so a second writer is told *who* and *since when*, and may wait
    (``wait=SECONDS``). The holder empties the file when it releases the lock;
    a file that still names someone when its lock is free was left by a writer
    that died, and the next writer reports it as a stale lock it cleared.

``DIR/gen-NNNNNN/readers.lock`` (any number of readers)
    An open :class:`~search.engine.Index` holds a shared lock on the
    generation it reads. After ``rebuild`` switches to a new generation, the
    old one is deleted only once an exclusive lock on its ``readers.lock`` can
    be taken, i.e. when no process reads it any more; until then it stays,
    and a later write collects it.
"""

from __future__ import annotations

import datetime as dt
import errno
import fcntl
import json
import os
import socket
import sys
import time
from pathlib import Path

from search.errors import IndexLocked, IndexStateError

LOCK_FILE = "write.lock"
READERS_LOCK = "readers.lock"
POLL_SECONDS = 0.1

_BUSY = (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK)


def _now() -> str:
    return dt.datetime.now(dt.UTC).astimezone().isoformat(timespec="seconds")


def pid_alive(pid: int) -> bool:
    """Whether a process with this pid exists on this host."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def describe_holder(info: dict | None, *, live: bool = True) -> str:
    """``pid 123 (bisearch update docs/), since 2025-… (42s ago)``.

    ``live``: the lock is held right now, so a dead pid means a child process
    it started inherited the lock.
    """
    if not info:
        return "another process"
    parts = [f"pid {info.get('pid', '?')}"]
    host = info.get("host")
    if host and host != socket.gethostname():
        parts.append(f"on {host}")
    elif live and isinstance(info.get("pid"), int) and not pid_alive(info["pid"]):
        parts.append("(no longer running; a process it started still holds the lock)")
    if info.get("command"):
        parts.append(f"({info['command']})")
    text = " ".join(parts)
    since = info.get("since")
    if since:
        text += f", since {since}"
        try:
            age = dt.datetime.now(dt.UTC) - dt.datetime.fromisoformat(since)
            text += f" ({_age(age.total_seconds())} ago)"
        except (TypeError, ValueError):
            pass
    return text


def _age(seconds: float) -> str:
    seconds = max(0, int(seconds))
    if seconds < 120:
        return f"{seconds}s"
    if seconds < 7200:
        return f"{seconds // 60} min"
    return f"{seconds // 3600} h"


def _read_info(fd: int) -> dict | None:
    try:
        raw = os.pread(fd, 4096, 0)
    except OSError:
        return None
    if not raw.strip():
        return None
    try:
        info = json.loads(raw.decode("utf-8", "replace"))
    except ValueError:
        return {"command": "unknown (unreadable lock file)"}
    return info if isinstance(info, dict) else None


def command_line() -> str:
    """This process's command line, shortened, for the lock file."""
    argv = list(sys.argv)
    if argv and argv[0].endswith(("bisearch", "__main__.py")):
        argv[0] = "bisearch"
    text = " ".join(argv)
    return text if len(text) <= 200 else text[:199] + "…"


def unwritable(path: Path, exc: OSError) -> IndexStateError:
    """A clear error for an index directory that cannot be written."""
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return IndexStateError(
            f"no space left on the device holding {path}; nothing from this run was committed",
            hint="free some space and run the same command again",
        )
    if exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
        what = "is on a read-only file system" if exc.errno == errno.EROFS else "is not writable"
        return IndexStateError(
            f"the index at {path} {what}; it can be searched but not changed",
            hint="index into a writable directory with --index, or fix its permissions",
        )
    return IndexStateError(
        f"cannot write the index at {path}: {exc.strerror or exc}",
        hint="check the directory, its permissions and the free space, then run the command again",
    )


class WriteLock:
    """The one-writer lock of an index directory (see the module docstring).

    >>> with WriteLock(path, "bisearch update") as lock:   # doctest: +SKIP
    ...     lock.stale   # the holder a dead writer left behind, or None
    """

    def __init__(self, index_dir: str | os.PathLike, command: str | None = None, *, wait: float = 0.0) -> None:
        self.index_dir = Path(index_dir)
        self.path = self.index_dir / LOCK_FILE
        self.command = command or command_line()
        self.wait = wait
        self.stale: dict | None = None
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(self) -> WriteLock:
        """Take the lock, waiting up to ``self.wait`` seconds; IndexLocked if busy."""
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        except OSError as exc:
            if exc.errno == errno.ENOENT:
                raise IndexStateError(f"no index directory at {self.index_dir}") from None
            raise unwritable(self.index_dir, exc) from None
        deadline = time.monotonic() + max(0.0, self.wait)
        try:
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except OSError as exc:
                    if exc.errno not in _BUSY:
                        raise unwritable(self.index_dir, exc) from None
                if time.monotonic() >= deadline:
                    holder = describe_holder(_read_info(fd))
                    waited = f" (waited {self.wait:g}s)" if self.wait else ""
                    raise IndexLocked(
                        f"the index at {self.index_dir} is locked by {holder}{waited}",
                        hint="wait for that run to finish, or retry with --wait SECONDS",
                    )
                time.sleep(POLL_SECONDS)
            # A holder still named in a lock nobody holds died without releasing it.
            self.stale = _read_info(fd)
            info = {
                "pid": os.getpid(),
                "host": socket.gethostname(),
                "command": self.command,
                "since": _now(),
            }
            data = json.dumps(info, ensure_ascii=False).encode("utf-8")
            os.ftruncate(fd, 0)
            try:
                os.pwrite(fd, data, 0)
            except OSError as exc:
                # A full disk must not stop the writer that would clean up: the
                # kernel lock is what counts, the holder's name is a courtesy.
                if exc.errno not in (errno.ENOSPC, errno.EDQUOT):
                    raise
        except OSError as exc:
            os.close(fd)
            raise unwritable(self.index_dir, exc) from None
        except BaseException:
            os.close(fd)
            raise
        self._fd = fd
        return self

    def release(self) -> None:
        fd, self._fd = self._fd, None
        if fd is None:
            return
        try:
            os.ftruncate(fd, 0)  # "nobody": a released lock names no holder
        except OSError:
            pass  # read-only or full: the free flock still says the truth
        finally:
            os.close(fd)  # drops the flock

    def __enter__(self) -> WriteLock:
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()

    def stale_note(self) -> str | None:
        """One line about a stale lock cleared while acquiring, if any."""
        if not self.stale:
            return None
        return f"cleared a stale lock left by {describe_holder(self.stale, live=False)}, which died without releasing it"


def lock_holder(index_dir: str | os.PathLike) -> dict | None:
    """Who holds the write lock now (None if nobody)."""
    path = Path(index_dir) / LOCK_FILE
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except OSError:
            return _read_info(fd) or {}
        fcntl.flock(fd, fcntl.LOCK_UN)
        return None
    finally:
        os.close(fd)


class ReaderPin:
    """A shared lock on a generation's ``readers.lock`` while it is read."""

    def __init__(self, gen_dir: Path) -> None:
        self.gen_dir = gen_dir
        self._fd: int | None = None

    def acquire(self) -> bool:
        """Pin the generation; False if it was removed meanwhile (re-read the pointer)."""
        path = self.gen_dir / READERS_LOCK
        try:
            fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        except FileNotFoundError:
            # Gone with its generation (re-read the pointer), or never made: read unpinned.
            return self.gen_dir.is_dir()
        except OSError:
            return True  # unreadable lock file: read unpinned rather than fail
        try:
            fcntl.flock(fd, fcntl.LOCK_SH)
            # The collector renames a generation away before deleting it; a
            # lock file no longer at its path means we lost that race.
            if os.fstat(fd).st_ino != os.stat(path).st_ino:
                os.close(fd)
                return False
        except FileNotFoundError:
            os.close(fd)
            return False
        except OSError:
            pass  # no flock on this file system: read unpinned
        self._fd = fd
        return True

    def release(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)


def try_exclusive(gen_dir: Path) -> int | None:
    """An fd holding an exclusive lock on the generation's readers.lock, or None if readers hold it."""
    try:
        fd = os.open(gen_dir / READERS_LOCK, os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        return -1  # no readers.lock: nobody can be pinning it
    except OSError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        return None
    return fd
