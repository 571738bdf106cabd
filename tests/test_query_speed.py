"""The query path's speed work, held to what it must not change.

Each shortcut taken for speed (lazy imports, reading segments in place,
counting matches from posting blocks, the in-memory term walk behind "did you
mean", skipping cross-key highlighting where no key can match) is checked
here against the slow path it replaces. No timings are asserted: those belong
to ``bench/speed.py``.
"""

from __future__ import annotations

import io
import json
import os
import pickle
import random
import subprocess
import sys
from pathlib import Path

import pytest
from whoosh import query as wq

from search import Index
from search.crosslingual import bridge_query
from search.highlight import _has_tokens_of, find_spans
from search.mapped import MemoryFile
from search.suggest import PREFIX, _script_of_term, _terms_within

#: Modules a search must never import: heavy, or only for writing or serving.
NEVER_ON_THE_QUERY_PATH = (
    "hazm",
    "pyarabic",
    "babel",
    "numpy",
    "fastapi",
    "starlette",
    "uvicorn",
    "sqlite3",
    "urllib.request",
    "email",
    "importlib.metadata",
    "search.sync",
    "search.ingest",
    "search.manifest",
    "search.passages",
)

_LOADED = (
    "import sys; bad = sorted(m for m in sys.modules if any(m == n or m.startswith(n + '.') for n in {names!r}));"
    " print(json.dumps(bad))"
)


def _run(code: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env)


def _env(tmp_path: Path) -> dict[str, str]:
    return {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache")}


def test_import_search_loads_no_engine(tmp_path):
    """`import search` is nearly free; the public names load on first use."""
    code = (
        "import json, sys, search; before = 'search.engine' in sys.modules;"
        " ok = search.Index is sys.modules['search.engine'].Index and search.SyncReport.__module__ == 'search.sync';"
        " print(json.dumps([before, ok]))"
    )
    assert json.loads(_run(code, _env(tmp_path)).stdout) == [False, True]


def test_a_search_imports_nothing_heavy(tmp_path, seed_index_path):
    """A one-shot `bisearch search` (CLI, fresh process) stays off the write and
    serve paths and never loads hazm, pyarabic, numpy or (once its lexicon is
    cached) babel."""
    code = (
        "import json\n"
        "from search.cli import cli\n"
        f"try: cli(['search', 'Isfahan همکاری Russia', '--index', {str(seed_index_path)!r}], standalone_mode=False)\n"
        "except SystemExit: pass\n" + _LOADED.format(names=NEVER_ON_THE_QUERY_PATH)
    )
    env = _env(tmp_path)
    _run(code, env)  # the first run may build the CLDR lexicon cache with babel
    out = _run(code, env).stdout.strip().splitlines()
    assert json.loads(out[-1]) == []
    assert any("Isfahan" in line or "اصفهان" in line for line in out[:-1])


def test_library_search_imports_nothing_heavy(tmp_path, seed_index_path):
    code = (
        "import json\nfrom search import Index\n"
        f"with Index.open({str(seed_index_path)!r}) as ix:\n"
        "    assert ix.search('Tatarstn Isfahan', limit=3).total > 0\n" + _LOADED.format(names=NEVER_ON_THE_QUERY_PATH)
    )
    env = _env(tmp_path)
    _run(code, env)
    assert json.loads(_run(code, env).stdout) == []


def test_urllib_request_is_still_the_real_module_when_asked_for(tmp_path):
    """whoosh.compat loads without urllib.request, which stays importable as usual."""
    code = (
        "import json, sys, search, whoosh.compat; skipped = 'urllib.request' not in sys.modules;"
        " import urllib.request; print(json.dumps([skipped, hasattr(urllib.request, 'Request')]))"
    )
    assert json.loads(_run(code, _env(tmp_path)).stdout) == [True, True]


# -- reading segment files in place ------------------------------------------
def _outcome(f, *args):
    try:
        return f(*args)
    except ValueError:
        return ValueError


def test_segments_open_with_the_in_place_reader(seed_index):
    """Opening an index installs MappedBufferFile where Whoosh's compound reader looks for BufferFile."""
    from whoosh.filedb import compound

    from search.mapped import MappedBufferFile

    assert seed_index.search("Isfahan").total > 0
    assert compound.BufferFile is MappedBufferFile


def test_memory_file_reads_like_bytesio():
    """Every read, seek and tell answers as BytesIO over the same bytes would."""
    rng = random.Random(7)
    for _trial in range(200):
        data = bytes(rng.choice(b"ab\n\x00") for _ in range(rng.randrange(0, 60)))
        ours, ref = MemoryFile(memoryview(data)), io.BytesIO(data)
        for _ in range(40):
            op = rng.randrange(4)
            if op == 0:
                n = rng.choice([-1, 0, 1, 3, 100])
                assert ours.read(n) == ref.read(n)
            elif op == 1:
                args = (rng.randrange(-10, 80), rng.randrange(3))
                assert _outcome(ours.seek, *args) == _outcome(ref.seek, *args)
            elif op == 2:
                limit = rng.choice([-1, 0, 2, 10])
                assert ours.readline(limit) == ref.readline(limit)
            else:
                a = bytearray(rng.randrange(6))
                b = bytearray(len(a))
                assert ours.readinto(a) == ref.readinto(b) and a == b
            assert ours.tell() == ref.tell()
    blob = b"header" + pickle.dumps({"a": [1, 2, 3]}) + b"tail"
    f = MemoryFile(memoryview(blob))
    f.seek(6)
    assert pickle.load(f) == {"a": [1, 2, 3]} and f.read() == b"tail"


# -- the exact total -----------------------------------------------------------
@pytest.fixture(scope="module")
def churned_index(tmp_path_factory) -> Path:
    """Several segments and deleted documents: the hard cases for counting."""
    path = tmp_path_factory.mktemp("churn") / "index"
    words = ["Isfahan", "Kazan", "oil", "price", "river", "همکاری", "اصفهان", "روسیه", "نفت", "قیمت", "Russia", "Iran"]
    rng = random.Random(3)
    with Index(path) as ix:
        for batch in range(3):
            docs = []
            for i in range(40):
                text = " ".join(rng.choice(words) for _ in range(rng.randrange(3, 30)))
                lang = "fa" if any("\u0600" <= ch <= "\u06ff" for ch in text) else "en"
                docs.append({"id": f"d{(batch * 25 + i) % 70}", "text": text + " .", "lang": lang, "title": rng.choice(words)})
            ix.add(docs)
    return path


QUERIES = [
    "Isfahan",
    "oil price river",
    "Isfahan همکاری روسیه",
    "Iran NOT Russia",
    '"oil price"',
    "oil* AND Kazan",
    "Isfahn~ Kazan",
    "lang:fa نفت",
    "title:Iran oil",
    "nothingmatchesthis",
    "(oil OR river) AND NOT price",
]


@pytest.mark.parametrize("query", QUERIES)
@pytest.mark.parametrize("lang", [None, "fa", "en", "mixed"])
def test_total_is_whooshs_count(churned_index, query, lang):
    """The total equals Whoosh's own count of the same query and filter."""
    with Index.open(churned_index) as ix:
        results = ix.search(query, limit=3, lang=lang)
        searcher = ix._current_searcher()
        bq = bridge_query(ix.parse(query).query, query, ix._analyzer).query
        flt = None
        if lang is not None:
            flt = wq.Or([wq.Term("lang", lang), wq.Term("lang", "mixed")]) if lang != "mixed" else wq.Term("lang", "mixed")
        whoosh_total = len(searcher.search(bq, limit=3, filter=flt))  # Whoosh re-runs the query to count
        assert results.total == whoosh_total
        assert results.total == len(searcher.search(bq, limit=None, filter=flt))


# -- did you mean: the in-memory term walk ----------------------------------------
@pytest.mark.parametrize("probe", ["isfahen", "tatarstn", "اصفحان", "کازان", "oil", "russi", "minikhanov", "xyz"])
@pytest.mark.parametrize("dist", [1, 2])
def test_terms_within_is_whooshs(seed_index, probe, dist):
    reader = seed_index._current_searcher().reader()
    for script in ("fa", "en"):
        ours = sorted(_terms_within(reader, "text", probe, dist, script))
        whoosh = sorted(t for t in reader.terms_within("text", probe, dist, prefix=PREFIX) if _script_of_term(t) == script)
        assert ours == whoosh


# -- highlighting: skipping the cross-key pass where no key can match ---------
def test_key_pass_is_skipped_only_when_no_word_of_that_script(seed_index):
    ana = seed_index._analyzer
    assert not _has_tokens_of("همکاری‌های ایران و روسیه ۱۴۰۴", {"en"})
    assert _has_tokens_of("همکاری با Russia", {"en"})
    assert _has_tokens_of("Isfahan", {"en"}) and not _has_tokens_of("Isfahan 2024", {"fa"})
    text = "اصفهان و Isfahan و Esfahan"
    keys = frozenset(k for k in ("fa:sfhn", "en:sfhn") if k)
    spans = find_spans(text, ana, frozenset(), keys)
    assert {text[s:e] for s, e, _t in spans} >= {"Isfahan", "اصفهان"}


# -- the benchmark's baseline ----------------------------------------------------
def test_an_analyzer_without_scripts_searches_without_bridging(tmp_path):
    """bench/speed.py measures a stock Whoosh analyzer through Index.search:
    its tokens carry no ``script``, so there is nothing to bridge or correct,
    and that must not be an error."""
    from whoosh.analysis import StandardAnalyzer

    with Index(tmp_path / "stock", _analyzer=StandardAnalyzer()) as ix:
        ix.add([{"id": "a", "text": "Isfahan and Kazan trade oil"}, {"id": "b", "text": "همکاری اصفهان و کازان"}])
        for query in ("Isfahan oil", "Isfahn", "اصفهان"):
            results = ix.search(query)
            assert results.suggestion is None
        assert [h.doc_id for h in ix.search("Isfahan oil")] == ["a"]
        assert [h.doc_id for h in ix.search("اصفهان")] == ["b"]
