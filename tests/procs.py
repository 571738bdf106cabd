"""Helpers for tests that run bisearch in real subprocesses (and kill them).

A writer started with ``BISEARCH_TEST_PAUSE_AT=POINT`` stops at that point
(see :mod:`search.testhooks`) and says so on stderr; :func:`start_paused`
waits for that line, so a test can then ``SIGKILL`` it (a crash exactly
there) or ``SIGUSR1`` it (carry on).
"""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

from search.testhooks import ENV as PAUSE_ENV

TIMEOUT = 60


def _env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ)
    env.pop(PAUSE_ENV, None)
    env.pop("BISEARCH_DEBUG", None)
    env.update(extra or {})
    return env


def bisearch(*args: str | os.PathLike, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """Run ``python -m search ARGS`` to completion."""
    return subprocess.run(
        [sys.executable, "-m", "search", *map(str, args)], capture_output=True, text=True, timeout=TIMEOUT, env=_env(env)
    )


def python(code: str, *args: str | os.PathLike) -> subprocess.CompletedProcess:
    """Run a snippet of Python in a fresh interpreter."""
    return subprocess.run(
        [sys.executable, "-c", code, *map(str, args)], capture_output=True, text=True, timeout=TIMEOUT, env=_env()
    )


class Paused:
    """A bisearch subprocess stopped at a test pause point."""

    def __init__(self, proc: subprocess.Popen, point: str, head: str) -> None:
        self.proc = proc
        self.point = point
        self.head = head

    def kill(self) -> None:
        """SIGKILL: a crash at the pause point."""
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(TIMEOUT)
        self.proc.stdout.close()
        self.proc.stderr.close()

    def resume(self) -> tuple[int, str, str]:
        """Let it carry on; (exit code, stdout, stderr)."""
        self.proc.send_signal(signal.SIGUSR1)
        out, err = self.proc.communicate(timeout=TIMEOUT)
        return self.proc.returncode, out, self.head + err


def start_paused(point: str, *args: str | os.PathLike) -> Paused:
    """Start ``bisearch ARGS`` and wait until it pauses at ``point`` (``NAME`` or ``NAME:N``)."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "search", *map(str, args)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_env({PAUSE_ENV: point}),
    )
    head = ""
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        ready, _, _ = select.select([proc.stderr], [], [], 0.5)
        if not ready:
            if proc.poll() is not None:
                break
            continue
        line = proc.stderr.readline()
        if not line:
            break
        head += line
        if line.startswith("BISEARCH_PAUSED"):
            return Paused(proc, point, head)
    proc.kill()
    out, err = proc.communicate()
    raise AssertionError(f"{args} never paused at {point} (exit {proc.returncode}):\n{head}{err}\n{out}")


def search_ids(index: Path, query: str, *, limit: int = 100) -> list[str]:
    """Document ids a CLI search returns (in rank order, one per passage)."""
    proc = bisearch("search", query, "--index", index, "--json", "-n", str(limit))
    assert proc.returncode == 0, proc.stderr
    return [h["doc_id"] for h in json.loads(proc.stdout)["hits"]]


def doc_ids(index: Path, query: str) -> list[str]:
    """Sorted distinct document ids a search returns, asked in this process (a fresh reader)."""
    from search import Index

    with Index.open(index) as ix:
        return sorted({h.doc_id for h in ix.search(query, limit=1000)})


def assert_one_line_error(proc: subprocess.CompletedProcess, code: int) -> str:
    """Exit ``code``, one ``Error:`` line and a ``Hint:`` on stderr, no traceback."""
    assert proc.returncode == code, (proc.returncode, proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr
    errors = [line for line in proc.stderr.splitlines() if line.startswith("Error: ")]
    assert len(errors) == 1, proc.stderr
    assert "Hint: " in proc.stderr, proc.stderr
    return errors[0]


def write(path: Path, text: str) -> Path:
    """Write a UTF-8 text file, creating its folders (test fixtures)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path
