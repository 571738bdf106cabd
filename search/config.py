"""Where things live: the default index and the bundled seed corpus.

The default index is ``$BISEARCH_INDEX`` if set, else
``$XDG_DATA_HOME/bisearch/index`` (``~/.local/share/bisearch/index``). With no
index given, ``bisearch search`` builds it from the bundled ``seeds/`` on first
use and reuses it afterwards.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

ENV_INDEX = "BISEARCH_INDEX"
ENV_SEEDS = "BISEARCH_SEEDS"


def default_index_dir() -> Path:
    """``$BISEARCH_INDEX``, else the per-user data directory."""
    env = os.environ.get(ENV_INDEX)
    if env:
        return Path(env).expanduser()
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "bisearch" / "index"


def seeds_dir() -> Path | None:
    """The bundled seed corpus: the repo's ``seeds/`` (editable install or a
    checkout), else the copy a wheel installs under ``share/bisearch/seeds``."""
    env = os.environ.get(ENV_SEEDS)
    candidates = [Path(env)] if env else []
    candidates.append(Path(__file__).resolve().parent.parent / "seeds")
    candidates.append(Path(sys.prefix) / "share" / "bisearch" / "seeds")
    for c in candidates:
        if c.is_dir() and any(c.glob("*.txt")):
            return c
    return None
