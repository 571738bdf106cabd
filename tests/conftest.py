"""Shared fixtures: an isolated environment and one read-only seed index per session.

No test may touch the user's real default index: every test runs with
``BISEARCH_INDEX`` and ``XDG_DATA_HOME`` pointing into its own tmp directory.
The seed corpus is indexed once per session and only read afterwards; tests
that write build their own small index under ``tmp_path``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from search import Document, Index
from search.ingest import read_documents

SEEDS_DIR = Path(__file__).resolve().parent.parent / "seeds"

#: Short names of the seed documents (the ids are their file names).
SEED_IDS = {p.name[:3]: p.name for p in sorted(SEEDS_DIR.glob("*.txt"))}
ENGLISH_SEEDS = frozenset({"000", "001", "003"})
PERSIAN_SEEDS = frozenset({"002", "004"})


@pytest.fixture(autouse=True)
def _isolated_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Keep every test away from the real default index (and from debug tracebacks)."""
    default = tmp_path / "default-index"
    monkeypatch.setenv("BISEARCH_INDEX", str(default))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg-cache"))
    monkeypatch.setenv("BISEARCH_SEEDS", str(SEEDS_DIR))
    monkeypatch.delenv("BISEARCH_DEBUG", raising=False)
    return default


@pytest.fixture
def default_index(_isolated_env: Path) -> Path:
    """Where the CLI puts the default index in this test ($BISEARCH_INDEX)."""
    return _isolated_env


@pytest.fixture(scope="session")
def seeds_dir() -> Path:
    assert len(SEED_IDS) == 5, SEED_IDS
    return SEEDS_DIR


@pytest.fixture(scope="session")
def seed_index_path(tmp_path_factory: pytest.TempPathFactory, seeds_dir: Path) -> Path:
    """The seed corpus indexed once for the whole session (read-only afterwards)."""
    path = tmp_path_factory.mktemp("seed-index") / "index"
    with Index(path) as ix:
        report = ix.add_paths([seeds_dir])
    assert report.documents == 5 and not report.skipped, report
    return path


@pytest.fixture(scope="session")
def seed_index(seed_index_path: Path) -> Iterator[Index]:
    """An open, shared, read-only handle on the seed index."""
    with Index.open(seed_index_path) as ix:
        yield ix


@pytest.fixture(scope="session")
def seed_docs(seeds_dir: Path) -> dict[str, Document]:
    """The seed documents as ingest reads them (their text is what offsets point into)."""
    docs = [d for d in read_documents([seeds_dir]) if isinstance(d, Document)]
    assert len(docs) == 5
    return {d.id: d for d in docs}


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture(scope="session")
def query_terms(seed_index: Index) -> Callable[[str], frozenset[str]]:
    """The index terms a query can match (text and title fields, NOT excluded)."""
    from search.highlight import matched_terms

    def terms(query: str) -> frozenset[str]:
        parsed = seed_index.parse(query)
        with seed_index._ix.searcher() as s:
            return matched_terms(parsed.query, s.reader())

    return terms


@pytest.fixture(scope="session")
def analyze_terms(seed_index: Index) -> Callable[[str], list[str]]:
    """The terms the index's analyzer produces for a piece of text."""

    def terms(text: str) -> list[str]:
        return [t.term for t in seed_index.analyze(text)]

    return terms


def built_index(tmp_path_factory: pytest.TempPathFactory, name: str, docs) -> Iterator[Index]:
    """Build an index of ``docs`` and yield it opened read-only (for module fixtures)."""
    path = tmp_path_factory.mktemp(name) / "ix"
    with Index(path) as ix:
        ix.add(docs)
    with Index.open(path) as ix:
        yield ix
