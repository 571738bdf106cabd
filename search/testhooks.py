"""TEST-ONLY fault injection: stop a writer at a named point so a test can kill it.

Never set this outside tests. With ``BISEARCH_TEST_PAUSE_AT=POINT`` (or
``POINT:N`` for the N-th time the point is reached) in its environment, a
writing process that reaches the point prints ``BISEARCH_PAUSED POINT`` on
stderr and sleeps until it gets ``SIGUSR1`` (then carries on) or is killed
(``SIGKILL``, to simulate a crash there). Points:

``locked``         the write lock is held, nothing written yet
``after_add:N``    N documents were written to the (uncommitted) Whoosh writer
``before_commit``  every change is written, the Whoosh commit is next
``after_commit``   Whoosh committed, the manifest is not yet
``before_swap``    ``rebuild``: the new generation is complete, the pointer still old
``after_swap``     ``rebuild``: the pointer names the new generation, the old one is not yet collected
"""

from __future__ import annotations

import os
import signal
import sys
import time

ENV = "BISEARCH_TEST_PAUSE_AT"
MAX_PAUSE_SECONDS = 300


def pause_at(point: str, count: int | None = None) -> None:
    """Pause here if the test hook names this point (a dict lookup otherwise)."""
    spec = os.environ.get(ENV)
    if not spec:
        return
    name, _, n = spec.partition(":")
    if name != point or (n and count != int(n)):
        return
    resumed: list[bool] = []
    try:
        previous = signal.signal(signal.SIGUSR1, lambda *_: resumed.append(True))
    except ValueError:  # not the main thread: only a kill ends the pause
        previous = None
    try:
        print(f"BISEARCH_PAUSED {spec} pid={os.getpid()}", file=sys.stderr, flush=True)
        deadline = time.monotonic() + MAX_PAUSE_SECONDS
        while not resumed and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        if previous is not None:
            signal.signal(signal.SIGUSR1, previous)
