"""The `bisearch` command, driven through click's CliRunner (plus two real subprocesses)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ENGLISH_SEEDS, PERSIAN_SEEDS, SEED_IDS

import search
from search.cli import cli

# -- helpers -------------------------------------------------------------------


def run(runner, *args: str | os.PathLike):
    """Invoke the CLI; never let an exception escape silently as a pass."""
    result = runner.invoke(cli, [str(a) for a in args], catch_exceptions=True)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result


def assert_clean_error(result, code: int) -> str:
    """Exit ``code`` with one ``Error:`` line plus a ``Hint:`` line on stderr, and no traceback."""
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("Error: ")]
    assert len(errors) == 1, result.stderr
    assert any(line.startswith("Hint: ") for line in lines), result.stderr
    assert result.stdout == ""
    return errors[0]


def search_json(runner, index: Path, *args: str) -> dict:
    result = run(runner, "search", *args, "--index", index, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def write(path: Path, data: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, bytes):
        path.write_bytes(data)
    else:
        path.write_text(data, encoding="utf-8")
    return path


# -- --help / --version ----------------------------------------------------------


def test_help_lists_every_command(runner):
    """`bisearch --help` lists all commands."""
    result = run(runner, "--help")
    assert result.exit_code == 0
    for command in ("index", "search", "stats", "analyze", "run", "eval"):
        assert f"  {command}" in result.stdout


@pytest.mark.parametrize("command", ["index", "search", "stats", "analyze", "run", "eval"])
def test_each_command_has_help(runner, command):
    """`bisearch CMD --help` works for every command (and -h too)."""
    for flag in ("--help", "-h"):
        result = run(runner, command, flag)
        assert result.exit_code == 0, result.output
        assert f"Usage: cli {command}" in result.stdout or f"Usage: bisearch {command}" in result.stdout


def test_version(runner):
    """`bisearch --version` prints the package version."""
    result = run(runner, "--version")
    assert result.exit_code == 0
    assert result.stdout.strip() == f"bisearch {search.__version__}"


def test_python_dash_m_search_help():
    """`python -m search --help` runs the same command."""
    proc = subprocess.run([sys.executable, "-m", "search", "--help"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert "Usage: bisearch" in proc.stdout
    assert "search" in proc.stdout and "index" in proc.stdout


def test_console_script_exists():
    """The installed `bisearch` console script runs."""
    exe = shutil.which("bisearch") or str(Path(sys.executable).parent / "bisearch")
    assert Path(exe).exists(), "bisearch console script not installed"
    proc = subprocess.run([exe, "--version"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == f"bisearch {search.__version__}"


# -- search: default index ---------------------------------------------------------


def test_search_builds_the_default_seed_index_once(runner, default_index: Path):
    """With no --index, the first search indexes the seeds into $BISEARCH_INDEX (said on stderr); the second reuses it."""
    assert not default_index.exists()
    first = run(runner, "search", "Minnikhanov", "-n", "1")
    assert first.exit_code == 0, first.output
    assert "first use" in first.stderr and str(default_index) in first.stderr
    assert (default_index / "bisearch.json").is_file()
    assert SEED_IDS["001"] in first.stdout
    mtime = (default_index / "bisearch.json").stat().st_mtime_ns

    second = run(runner, "search", "Minnikhanov", "-n", "1")
    assert second.exit_code == 0
    assert "first use" not in second.output
    assert second.stdout == first.stdout
    assert (default_index / "bisearch.json").stat().st_mtime_ns == mtime


def test_stats_without_index_does_not_build_one(runner, default_index: Path):
    """`bisearch stats` with no default index says so (exit 4) instead of building one."""
    result = run(runner, "stats")
    assert_clean_error(result, 4)
    assert not (default_index / "bisearch.json").exists()


# -- search: output ----------------------------------------------------------------


def test_search_text_output(runner, seed_index_path: Path):
    """Plain output shows ranked hits with doc id, passage and date; the count goes to stderr."""
    result = run(runner, "search", "Isfahan", "Tatarstan", "--index", seed_index_path, "-n", "2")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("1. [en] ")
    assert "\n2. [en] " in result.stdout
    assert SEED_IDS["000"] in result.stdout and "2024-05-28" in result.stdout
    assert "[Isfahan]" in result.stdout and "[Tatarstan]" in result.stdout  # marked without colour
    assert "1-2 of " in result.stderr


def test_search_json_highlights_slice_the_snippet(runner, seed_index_path: Path):
    """`--json` parses; each highlight [start, end] slices the snippet text to a matched word."""
    data = search_json(runner, seed_index_path, "Isfahan همکاری", "-n", "20")
    assert data["query"] == "Isfahan همکاری"
    assert data["total"] >= len(data["hits"]) > 0
    seen = set()
    for hit in data["hits"]:
        assert set(hit) >= {"rank", "doc_id", "passage", "span", "score", "lang", "snippet", "matched"}
        text = hit["snippet"]["text"]
        for start, end in hit["snippet"]["highlights"]:
            word = text[start:end]
            seen.add(word)
            assert word in ("Isfahan", "همکاری", "همکاریهای", "همکاریها", "اصفهان"), word  # اصفهان: across scripts
    assert "Isfahan" in seen and "همکاریهای" in seen
    assert [h["rank"] for h in data["hits"]] == list(range(1, len(data["hits"]) + 1))


@pytest.mark.parametrize(("lang", "docs"), [("fa", PERSIAN_SEEDS), ("en", ENGLISH_SEEDS)])
def test_search_lang_filter(runner, seed_index_path: Path, lang, docs):
    """`--lang fa` / `--lang en` keep only passages in that language."""
    data = search_json(runner, seed_index_path, "Isfahan اصفهان", "--lang", lang, "-n", "50")
    assert data["hits"]
    assert {h["lang"] for h in data["hits"]} == {lang}
    assert {h["doc_id"][:3] for h in data["hits"]} <= docs


def test_search_paging_has_no_overlap(runner, seed_index_path: Path):
    """`--limit` and `--offset` page through the ranking without gaps or overlap."""
    whole = search_json(runner, seed_index_path, "Tatarstan", "-n", "9")
    page1 = search_json(runner, seed_index_path, "Tatarstan", "--limit", "3")
    page2 = search_json(runner, seed_index_path, "Tatarstan", "--limit", "3", "--offset", "3")
    page3 = search_json(runner, seed_index_path, "Tatarstan", "--limit", "3", "--offset", "6")
    key = lambda h: (h["doc_id"], h["passage"])  # noqa: E731
    pages = [[key(h) for h in p["hits"]] for p in (page1, page2, page3)]
    assert all(len(p) == 3 for p in pages)
    assert not set(pages[0]) & set(pages[1]) and not set(pages[1]) & set(pages[2])
    assert pages[0] + pages[1] + pages[2] == [key(h) for h in whole["hits"]]
    assert [h["rank"] for h in page2["hits"]] == [4, 5, 6]


def test_search_offset_past_the_end(runner, seed_index_path: Path):
    """An offset past the last hit prints nothing and says how many passages matched."""
    result = run(runner, "search", "Isfahan", "--index", seed_index_path, "--offset", "1000")
    assert result.exit_code == 0
    assert result.stdout == ""
    assert "none after --offset 1000" in result.stderr


def test_search_no_match(runner, seed_index_path: Path):
    """A query that matches nothing exits 0 with a message on stderr."""
    result = run(runner, "search", "xylophone", "--index", seed_index_path)
    assert result.exit_code == 0
    assert result.stdout == ""
    assert "no passages match" in result.stderr


# -- search: bad queries -------------------------------------------------------


@pytest.mark.parametrize("query", ["", "   "])
def test_empty_query_is_exit_2(runner, seed_index_path: Path, query):
    """An empty query exits 2 with one Error line and a Hint, no traceback."""
    assert_clean_error(run(runner, "search", query, "--index", seed_index_path), 2)


def test_unknown_field_is_exit_2(runner, seed_index_path: Path):
    """`foo:bar` exits 2 naming the field, with a hint listing the real ones."""
    line = assert_clean_error(run(runner, "search", "foo:bar", "--index", seed_index_path), 2)
    assert "'foo'" in line


def test_bad_date_is_exit_2(runner, seed_index_path: Path):
    """`date:notadate` exits 2 with a hint on the date format."""
    result = run(runner, "search", "date:notadate", "--index", seed_index_path)
    assert_clean_error(result, 2)
    assert "YYYY-MM-DD" in result.stderr


@pytest.mark.parametrize("query", ['"Isfahan', "(Isfahan", "Isfahan)", "AND Isfahan", "Isfahan AND", "Isfahan AND AND Tatarstan"])
def test_repairable_query_warns_and_succeeds(runner, seed_index_path: Path, query):
    """An unbalanced quote/parenthesis or stray AND is repaired: exit 0, a warning on stderr, hits on stdout."""
    result = run(runner, "search", query, "--index", seed_index_path, "-n", "1")
    assert result.exit_code == 0, result.output
    assert "warning:" in result.stderr
    assert "Traceback" not in result.output
    assert "[Isfahan]" in result.stdout


def test_repair_warnings_are_in_json(runner, seed_index_path: Path):
    """With --json the repair warnings are part of the JSON document."""
    data = search_json(runner, seed_index_path, '"Isfahan')
    assert data["warnings"] and "quote" in data["warnings"][0]


def test_stopword_query_warns(runner, seed_index_path: Path):
    """A query of stopwords only exits 0, warns and shows nothing."""
    result = run(runner, "search", "the of and", "--index", seed_index_path)
    assert result.exit_code == 0
    assert "stopword" in result.stderr and result.stdout == ""


# -- missing / foreign index directories -------------------------------------------


@pytest.mark.parametrize("command", [["search", "Isfahan"], ["stats"]])
def test_missing_index_dir_is_exit_4(runner, tmp_path: Path, command):
    """`--index` at a missing directory exits 4 with a hint to index first, and creates nothing."""
    missing = tmp_path / "missing"
    result = run(runner, *command, "--index", missing)
    line = assert_clean_error(result, 4)
    assert str(missing) in line
    assert "bisearch index" in result.stderr
    assert not missing.exists()


def test_index_into_foreign_directory_is_exit_4(runner, tmp_path: Path, seeds_dir: Path):
    """`index --index` at a non-empty directory that is no index exits 4 and leaves it alone."""
    foreign = write(tmp_path / "mine" / "notes.txt", "my notes").parent
    result = run(runner, "index", seeds_dir, "--index", foreign)
    assert_clean_error(result, 4)
    assert "not empty" in result.stderr
    assert sorted(p.name for p in foreign.iterdir()) == ["notes.txt"]


def test_version_mismatch_is_exit_4_with_rebuild_hint(runner, tmp_path: Path):
    """An index from another analyzer version exits 4 suggesting `bisearch rebuild`."""
    idx = tmp_path / "idx"
    search.Index(idx).close()
    meta = json.loads((idx / "bisearch.json").read_text(encoding="utf-8"))
    meta["analyzer_version"] += 1
    (idx / "bisearch.json").write_text(json.dumps(meta), encoding="utf-8")
    result = run(runner, "search", "Isfahan", "--index", idx)
    assert_clean_error(result, 4)
    assert "bisearch rebuild" in result.stderr


# -- index -----------------------------------------------------------------------

GOOD_JSONL = [
    {"id": "j1", "text": "first jsonl line about Kazan", "lang": "en", "date": "2024-02-14"},
    {"id": "j5", "text": "fifth jsonl line about Volgograd", "title": "Volgograd"},
]


def make_mixed_folder(root: Path) -> Path:
    """Good files plus one of each kind of bad input."""
    write(root / "good.txt", "Good English text about Isfahan gardens.\n")
    write(root / "sub" / "good_fa.md", "همکاری‌های فرهنگی اصفهان و کازان\n")
    write(root / "bad_utf8.txt", b"bad \xff\xfe utf8\n")
    write(root / "binary.txt", b"abc\x00\x01\x02def")
    write(root / "empty.txt", "")
    lines = [
        json.dumps(GOOD_JSONL[0]),
        "{not json",
        json.dumps({"text": "no id here"}),
        json.dumps({"id": "j4"}),
        json.dumps(GOOD_JSONL[1]),
    ]
    write(root / "docs.jsonl", "\n".join(lines) + "\n")
    write(root / "ignored.csv", "a,b\n")  # unsupported suffix inside a folder: silently ignored
    return root


def test_index_folder_with_bad_files(runner, tmp_path: Path):
    """Good docs are indexed, each bad one is named on stderr (JSONL with its line), a summary counts both, exit 3."""
    folder = make_mixed_folder(tmp_path / "in")
    idx = tmp_path / "idx"
    result = run(runner, "index", folder, "--index", idx)
    assert result.exit_code == 3, result.output
    assert "Traceback" not in result.output
    err = result.stderr
    for name in ("bad_utf8.txt", "binary.txt", "empty.txt"):
        assert any(name in line and "skipped" in line for line in err.splitlines()), (name, err)
    assert "docs.jsonl:2:" in err and "JSON" in err
    assert "docs.jsonl:3:" in err and "'id'" in err
    assert "docs.jsonl:4:" in err and "'text'" in err
    assert "docs.jsonl:1:" not in err and "docs.jsonl:5:" not in err
    assert "ignored.csv" not in err
    assert "indexed 4 document(s)" in err and "skipped 6" in err
    assert result.stdout == ""

    stats = json.loads(run(runner, "stats", "--index", idx, "--json").stdout)
    assert stats["documents"] == 4
    for query, doc_id in (("Isfahan", "good.txt"), ("همکاری", "sub/good_fa.md"), ("Kazan", "j1"), ("Volgograd", "j5")):
        data = search_json(runner, idx, query)
        assert doc_id in {h["doc_id"] for h in data["hits"]}, query
    j1 = search_json(runner, idx, "Kazan", "--lang", "en")["hits"][0]
    assert j1["date"] == "2024-02-14" and j1["source"] == "docs"


def test_index_rerun_over_good_files_exits_0(runner, tmp_path: Path):
    """After fixing the input, re-running over only good files exits 0 and replaces rather than duplicates."""
    folder = make_mixed_folder(tmp_path / "in")
    idx = tmp_path / "idx"
    assert run(runner, "index", folder, "--index", idx).exit_code == 3
    good = tmp_path / "good"
    write(good / "good.txt", (folder / "good.txt").read_text(encoding="utf-8"))
    write(good / "docs.jsonl", "\n".join(json.dumps(d) for d in GOOD_JSONL) + "\n")
    result = run(runner, "index", good, "--index", idx)
    assert result.exit_code == 0, result.output
    assert "skipped 0" in result.stderr and "replaced" in result.stderr
    assert [h["doc_id"] for h in search_json(runner, idx, "Isfahan", "--no-cross")["hits"]] == ["good.txt"]
    assert json.loads(run(runner, "stats", "--index", idx, "--json").stdout)["documents"] == 4


def test_index_single_files_and_quiet(runner, tmp_path: Path):
    """Files can be given directly; `--quiet` drops the per-file messages but keeps the summary and exit code."""
    good = write(tmp_path / "a.txt", "Tatarstan and Isfahan")
    bad = write(tmp_path / "b.txt", b"\x00\x00")
    result = run(runner, "index", good, bad, "--index", tmp_path / "idx", "--quiet")
    assert result.exit_code == 3
    assert "b.txt" not in result.stderr
    assert "indexed 1 document(s)" in result.stderr and "skipped 1" in result.stderr
    assert search_json(runner, tmp_path / "idx", "Tatarstan")["hits"][0]["doc_id"] == "a.txt"


def test_index_missing_path_is_a_clean_error(runner, tmp_path: Path):
    """A path that does not exist is reported (exit 3, Error + Hint) before anything is written."""
    result = run(runner, "index", tmp_path / "nope", "--index", tmp_path / "idx")
    assert_clean_error(result, 3)
    assert "nope" in result.stderr


def test_failed_run_keeps_what_was_indexed_before(runner, tmp_path: Path):
    """A run that dies half way commits nothing of its own and leaves the earlier index searchable."""
    idx = tmp_path / "idx"
    write(tmp_path / "first" / "a.txt", "Isfahan bridges")
    assert run(runner, "index", tmp_path / "first", "--index", idx).exit_code == 0

    write(tmp_path / "second" / "b.txt", "Kazan kremlin")
    write(tmp_path / "second" / "c.txt", "Volgograd river")
    from search.engine import Index

    original = Index._add_passages

    def explode(self, writer, doc):
        if doc.id == "c.txt":
            raise RuntimeError("disk on fire")
        return original(self, writer, doc)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(Index, "_add_passages", explode)
        result = run(runner, "index", tmp_path / "second", "--index", idx)
    assert result.exit_code == 1
    assert "Error: internal error" in result.stderr and "Traceback" not in result.output

    assert [h["doc_id"] for h in search_json(runner, idx, "Isfahan")["hits"]] == ["a.txt"]
    assert search_json(runner, idx, "Kazan")["hits"] == []  # b.txt was in the failed run: rolled back


def test_interrupted_run_exits_130_and_keeps_old_index(runner, tmp_path: Path):
    """Ctrl-C during indexing exits 130 with a message; the index keeps its earlier content."""
    idx = tmp_path / "idx"
    write(tmp_path / "first" / "a.txt", "Isfahan bridges")
    assert run(runner, "index", tmp_path / "first", "--index", idx).exit_code == 0
    write(tmp_path / "second" / "b.txt", "Kazan kremlin")
    from search.engine import Index

    def interrupt(self, writer, doc):
        raise KeyboardInterrupt

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(Index, "_add_passages", interrupt)
        result = run(runner, "index", tmp_path / "second", "--index", idx)
    assert result.exit_code == 130
    assert "interrupted" in result.stderr
    assert [h["doc_id"] for h in search_json(runner, idx, "Isfahan")["hits"]] == ["a.txt"]


def test_locked_index_is_exit_5(runner, tmp_path: Path):
    """Indexing while another writer holds the lock exits 5 with a clear message."""
    idx = tmp_path / "idx"
    write(tmp_path / "in" / "a.txt", "Isfahan")
    with search.Index(idx) as ix:
        holder = ix._ix.writer()
        try:
            result = run(runner, "index", tmp_path / "in", "--index", idx)
        finally:
            holder.cancel()
    assert_clean_error(result, 5)
    assert "locked" in result.stderr


# -- stats -----------------------------------------------------------------------


def test_stats(runner, seed_index_path: Path):
    """`stats` prints documents, passages per language and size; `--json` parses."""
    result = run(runner, "stats", "--index", seed_index_path)
    assert result.exit_code == 0
    assert "documents  5" in result.stdout
    assert "fa " in result.stdout and "en " in result.stdout
    data = json.loads(run(runner, "stats", "--index", seed_index_path, "--json").stdout)
    assert data["documents"] == 5 and data["passages"] > 5
    assert set(data["languages"]) == {"fa", "en"}
    assert data["size_bytes"] > 0


# -- analyze ---------------------------------------------------------------------


def test_analyze_shows_term_and_offsets(runner):
    """`analyze "همکاری‌ها"` shows the stored term with the offsets of the original word."""
    result = run(runner, "analyze", "همکاری‌ها")
    assert result.exit_code == 0
    (line,) = result.stdout.splitlines()
    assert line.split()[0] == "0-9"
    assert line.rstrip().endswith("→ همکار")  # the lexicon stemmer's known word


def test_analyze_trace_shows_steps(runner):
    """`analyze --trace` shows each analysis step for every token."""
    result = run(runner, "analyze", "--trace", "همکاری‌ها Russia’s")
    assert result.exit_code == 0
    out = result.stdout
    assert "fold" in out and "stem" in out
    assert "lowercase" in out and "possessive" in out


def test_analyze_json(runner):
    """`analyze --json` is a list of tokens whose offsets slice the input; --trace adds steps."""
    text = "همکاری‌ها and روابطعمومی in Isfahan ۱۴۰۴"
    tokens = json.loads(run(runner, "analyze", "--json", text).stdout)
    assert [t["term"] for t in tokens] == ["همکار", "روابطعمومی", "isfahan", "1404"]
    for t in tokens:
        assert text[t["start"] : t["end"]] == t["surface"]
    traced = json.loads(run(runner, "analyze", "--json", "--trace", text).stdout)
    assert all(t["steps"] and t["steps"][0]["step"] == "fold" for t in traced)
    assert all(t["steps"][-1]["out"] == t["term"] for t in traced)


def test_analyze_query_shows_each_step(runner, seed_index_path: Path):
    """`analyze --query` shows how a query is searched: compounds the index has, proximity pairs, feedback."""
    result = run(runner, "analyze", "--query", "روابط عمومی Kazan Federal University", "--index", seed_index_path)
    assert result.exit_code == 0, result.output
    lines = dict(line.split(None, 1) for line in result.stdout.splitlines())
    # The seeds write the compound glued (روابطعمومی); the query writes it with a space.
    assert lines["compounds"] == "روابطعمومی"
    assert "text:روابطعمومی" in lines["searched"]
    assert lines["proximity"] == "kazan feder, feder universiti"
    assert lines["feedback"].startswith("on")
    plan = json.loads(run(runner, "analyze", "--query", "--json", "Where is Kazan?", "--index", seed_index_path).stdout)
    assert plan["glued"] == [] and plan["topic"] is False
    assert "kazan" in plan["parsed"]
    empty = run(runner, "analyze", "--query", "the of", "--index", seed_index_path)
    assert empty.exit_code == 0 and "parsed     (nothing to search)" in empty.stdout
    assert "stopword" in empty.stderr


def test_analyze_query_takes_searchs_options(runner, seed_index_path: Path):
    """`analyze --query --lang/--no-cross` show the query as `search` runs it with those options."""

    def steps(*args: str) -> dict[str, str]:
        result = run(runner, "analyze", "--query", *args, "Isfahan", "--index", seed_index_path)
        assert result.exit_code == 0, result.output
        return dict(line.split(None, 1) for line in result.stdout.splitlines())

    default = steps()
    assert default["filter"] == "-"
    assert default["searched"] != "(as parsed)"  # the name is bridged to its Persian spelling ...
    assert steps("--no-cross")["searched"] == "(as parsed)"  # ... and with --no-cross it is not
    assert steps("--lang", "fa")["filter"] == "(lang:fa OR lang:mixed)"
    # They describe a query: without --query they are a usage error (exit 2), not silently ignored.
    result = run(runner, "analyze", "--lang", "fa", "Isfahan")
    assert result.exit_code == 2 and "--query" in result.output


# -- run / eval ------------------------------------------------------------------


@pytest.fixture
def queries_file(tmp_path: Path) -> Path:
    lines = [
        {"id": "q1", "text": "Isfahan Tatarstan"},
        {"id": "q2", "text": "همکاری"},
        {"id": "q3", "text": "Minnikhanov"},
        {"id": "q4", "text": "cooperation Russia"},
    ]
    return write(tmp_path / "queries.jsonl", "\n".join(json.dumps(q, ensure_ascii=False) for q in lines) + "\n")


@pytest.fixture
def qrels_file(tmp_path: Path) -> Path:
    rows = [("q1", "000"), ("q2", "002"), ("q2", "004"), ("q3", "001"), ("q4", "003")]
    return write(tmp_path / "qrels.tsv", "".join(f"{q}\t{SEED_IDS[d]}\t1\n" for q, d in rows))


def test_run_writes_a_valid_trec_run(runner, tmp_path: Path, seed_index_path: Path, queries_file: Path):
    """`run` writes 6-column TREC lines: one per document per query, ranks 1..n, scores non-increasing."""
    out = tmp_path / "run.txt"
    result = run(runner, "run", "--queries", queries_file, "-o", out, "--index", seed_index_path, "--tag", "mytag")
    assert result.exit_code == 0, result.output
    by_query: dict[str, list[list[str]]] = {}
    for line in out.read_text(encoding="utf-8").splitlines():
        cols = line.split()
        assert len(cols) == 6, line
        assert cols[1] == "Q0" and cols[5] == "mytag"
        by_query.setdefault(cols[0], []).append(cols)
    assert list(by_query) == ["q1", "q2", "q3", "q4"]
    for rows in by_query.values():
        docs = [r[2] for r in rows]
        assert len(docs) == len(set(docs)), "one line per document"
        assert [int(r[3]) for r in rows] == list(range(1, len(rows) + 1))
        scores = [float(r[4]) for r in rows]
        assert scores == sorted(scores, reverse=True)
        assert set(docs) <= set(SEED_IDS.values())
    assert by_query["q3"][0][2] == SEED_IDS["001"]
    assert {r[2][:3] for r in by_query["q2"]} == PERSIAN_SEEDS
    assert f"for 4 queries to {out}" in result.stderr
    assert not out.with_name(out.name + ".tmp").exists()


def test_run_limit(runner, tmp_path: Path, seed_index_path: Path, queries_file: Path):
    """`run --limit 1` writes at most one document per query."""
    out = tmp_path / "run.txt"
    assert run(runner, "run", "--queries", queries_file, "-o", out, "--index", seed_index_path, "--limit", "1").exit_code == 0
    qids = [line.split()[0] for line in out.read_text(encoding="utf-8").splitlines()]
    assert sorted(qids) == ["q1", "q2", "q3", "q4"]


def test_run_expand(runner, tmp_path: Path, seed_index_path: Path, queries_file: Path):
    """`run --expand` (pseudo-relevance feedback) writes a run over the same documents."""
    out = tmp_path / "run.txt"
    result = run(runner, "run", "--queries", queries_file, "-o", out, "--index", seed_index_path, "--expand")
    assert result.exit_code == 0, result.output
    rows = [line.split() for line in out.read_text(encoding="utf-8").splitlines()]
    assert {r[0] for r in rows} == {"q1", "q2", "q3", "q4"}
    assert {r[2] for r in rows} <= set(SEED_IDS.values())
    assert "--expand" in run(runner, "run", "--help").output


def test_run_expands_topics_by_default(runner, tmp_path: Path, seed_index_path: Path):
    """`run` expands a keyword topic, not a question; --expand/--no-expand decide for every query."""
    lines = [{"id": "t", "text": "Tatarstan cooperation"}, {"id": "q", "text": "Where is Tatarstan?"}]
    queries = write(tmp_path / "q.jsonl", "\n".join(json.dumps(q) for q in lines) + "\n")
    runs = {}
    for flag in (None, "--expand", "--no-expand"):
        out = tmp_path / f"run{flag}.txt"
        args = ["run", "--queries", queries, "-o", out, "--index", seed_index_path] + ([flag] if flag else [])
        assert run(runner, *args).exit_code == 0
        runs[flag] = {}
        for line in out.read_text(encoding="utf-8").splitlines():
            qid, _q0, doc, _rank, score, _tag = line.split()
            runs[flag].setdefault(qid, []).append((doc, score))
    # Expansion changes what both queries find, so each comparison can fail.
    assert all(runs["--expand"][q] != runs["--no-expand"][q] for q in ("t", "q"))
    assert runs[None]["t"] == runs["--expand"]["t"]
    assert runs[None]["q"] == runs["--no-expand"]["q"]


def test_run_with_a_bad_query_line_is_exit_3(runner, tmp_path: Path, seed_index_path: Path):
    """A malformed queries file exits 3 naming file:line, and writes no run file."""
    queries = write(tmp_path / "q.jsonl", '{"id": "q1", "text": "Isfahan"}\n{"id": "q2"}\n')
    out = tmp_path / "run.txt"
    result = run(runner, "run", "--queries", queries, "-o", out, "--index", seed_index_path)
    assert_clean_error(result, 3)
    assert f"{queries}:2" in result.stderr
    assert not out.exists()


def test_run_reports_unparseable_queries_and_goes_on(runner, tmp_path: Path, seed_index_path: Path):
    """A query that cannot be parsed is reported on stderr; the others are still run."""
    queries = write(tmp_path / "q.jsonl", '{"id": "bad", "text": "foo:bar"}\n{"id": "ok", "text": "Isfahan"}\n')
    out = tmp_path / "run.txt"
    result = run(runner, "run", "--queries", queries, "-o", out, "--index", seed_index_path)
    assert result.exit_code == 0
    assert "query bad:" in result.stderr
    assert {line.split()[0] for line in out.read_text(encoding="utf-8").splitlines()} == {"ok"}


def test_eval_prints_metrics(runner, tmp_path: Path, seed_index_path: Path, queries_file: Path, qrels_file: Path):
    """`eval --qrels Q RUN` prints MRR@10, Recall, nDCG and MAP; `--json` parses to the same figures."""
    out = tmp_path / "run.txt"
    assert run(runner, "run", "--queries", queries_file, "-o", out, "--index", seed_index_path).exit_code == 0
    result = run(runner, "eval", "--qrels", qrels_file, out)
    assert result.exit_code == 0, result.output
    for label in ("MRR@10", "Recall@10", "Recall@100", "nDCG@10", "MAP"):
        assert label in result.stdout
    data = json.loads(run(runner, "eval", "--qrels", qrels_file, out, "--json").stdout)
    assert data["queries"] == 4
    assert 0.5 < data["mrr_at_10"] <= 1.0
    assert data["recall_at_10"] == 1.0  # five documents: every relevant one is in the top 10
    mrr_line = next(line for line in result.stdout.splitlines() if line.startswith("MRR@10"))
    assert float(mrr_line.split()[-1]) == pytest.approx(data["mrr_at_10"], abs=1e-4)


def test_eval_malformed_qrels_is_exit_3_with_file_and_line(runner, tmp_path: Path):
    """A malformed qrels line exits 3 with `file:line` in the one-line error."""
    run_file = write(tmp_path / "run.txt", "q1 Q0 d1 1 1.0 t\n")
    qrels = write(tmp_path / "qrels.tsv", "q1\td1\t1\nq2 oops\n")
    result = run(runner, "eval", "--qrels", qrels, run_file)
    line = assert_clean_error(result, 3)
    assert f"{qrels}:2" in line


def test_eval_missing_run_file(runner, tmp_path: Path):
    """A missing run file is a clean error, not a traceback."""
    qrels = write(tmp_path / "qrels.tsv", "q1 d1 1\n")
    result = run(runner, "eval", "--qrels", qrels, tmp_path / "nope.txt")
    assert result.exit_code != 0
    assert "Traceback" not in result.output
    assert "nope.txt" in result.output
