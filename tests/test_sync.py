"""Incremental updates: `Index.sync` / `bisearch update` and `remove`, every report figure."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from procs import bisearch, write

from search import Index, InputError
from search.cli import cli
from search.sync import SyncReport

# -- a small source tree ---------------------------------------------------------------


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    return write(path, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))


ROWS = [
    {"id": "n1", "text": "Kazan and Isfahan sign a cultural agreement", "lang": "en"},
    {"id": "n2", "text": "همکاری‌های فرهنگی اصفهان و کازان", "lang": "fa"},
    {"id": "n3", "text": "Tatarstan delegation visits the Naqsh-e Jahan square", "lang": "en"},
]


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    docs = tmp_path / "docs"
    write(docs / "a.txt", "Alpha report about Isfahan bridges")
    write(docs / "b.md", "Beta notes on the Kazan Kremlin")
    write(docs / "sub" / "c.txt", "Gamma: a story from Tabriz bazaar")
    write_jsonl(docs / "news.jsonl", ROWS)
    return docs


def ids(ix: Index, query: str) -> set[str]:
    return {h.doc_id for h in ix.search(query, limit=100)}


def toc_files(ix: Index) -> list[str]:
    return sorted(p.name for p in ix._gen_dir.iterdir())


# -- sync reports ------------------------------------------------------------------------


def test_first_sync_adds_everything(tmp_path: Path, tree: Path):
    """A first update adds every document and records the folder as a source."""
    with Index(tmp_path / "ix") as ix:
        report = ix.sync([tree])
        assert isinstance(report, SyncReport)
        assert sorted(report.added) == ["a.txt", "b.md", "n1", "n2", "n3", "sub/c.txt"]
        assert (report.changed, report.removed, report.unchanged, report.skipped) == ((), (), 0, ())
        assert report.committed and report.passages >= 6
        assert ix.sources() == (str(tree),)
        assert ids(ix, "Tabriz") == {"sub/c.txt"}


def test_second_sync_writes_nothing(tmp_path: Path, tree: Path):
    """Updating an unchanged tree reports everything unchanged and writes no commit at all."""
    with Index(tmp_path / "ix") as ix:
        ix.sync([tree])
        before = {p.name: p.stat().st_mtime_ns for p in ix._gen_dir.iterdir()}
        report = ix.sync([tree])
        assert report.nothing_changed and not report.committed
        assert (report.added, report.changed, report.removed, report.unchanged) == ((), (), (), 6)
        assert "nothing written" in report.summary()
        after = {p.name: p.stat().st_mtime_ns for p in ix._gen_dir.iterdir()}
        assert after == before  # no new Whoosh commit, no manifest write
        # a bare sync re-reads the recorded sources: also nothing
        assert ix.sync().unchanged == 6 and not ix.sync().committed


def test_every_report_figure(tmp_path: Path, tree: Path):
    """Added, changed, removed, unchanged and skipped (with reasons), for text files and JSONL lines."""
    with Index(tmp_path / "ix") as ix:
        ix.sync([tree])
        write(tree / "a.txt", "Alpha report about Isfahan bridges, revised with Shiraz")  # changed
        (tree / "b.md").unlink()  # removed
        write(tree / "sub" / "d.txt", "Delta: new file about Mashhad")  # added
        (tree / "bad.txt").write_bytes(b"PK\x03\x04\x00binary\x00")  # skipped
        rows = [
            {**ROWS[0], "text": ROWS[0]["text"] + " in 2025"},  # changed line
            ROWS[1],  # unchanged
            # n3 removed from the file
            {"id": "n4", "text": "A new line about Yerevan"},  # added line
        ]
        write_jsonl(tree / "news.jsonl", rows)
        with (tree / "news.jsonl").open("a", encoding="utf-8") as fh:
            fh.write('{"id": "n5", "text": \n')  # skipped (bad JSON)
        report = ix.sync([tree])
        assert sorted(report.added) == ["n4", "sub/d.txt"]
        assert sorted(report.changed) == ["a.txt", "n1"]
        assert sorted(report.removed) == ["b.md"]  # n3 is kept: its file has an unreadable line
        assert report.unchanged == 2  # n2 and sub/c.txt
        reasons = {(Path(s.path).name, s.line): s.reason for s in report.skipped}
        assert set(reasons) == {("bad.txt", None), ("news.jsonl", 4)}
        assert "binary" in reasons[("bad.txt", None)] and "not valid JSON" in reasons[("news.jsonl", 4)]
        assert ids(ix, "Shiraz") == {"a.txt"} and ids(ix, "Kremlin") == set()
        assert ids(ix, "Yerevan") == {"n4"} and ids(ix, "Mashhad") == {"sub/d.txt"}
        assert "n3" in ids(ix, "Tatarstan")

        # fixing the bad line lets the removal of n3 through
        write_jsonl(tree / "news.jsonl", rows)
        (tree / "bad.txt").unlink()
        report = ix.sync([tree])
        assert report.removed == ("n3",) and not report.added and not report.changed and not report.skipped
        assert ids(ix, "Tatarstan") == set()
        assert ix.stats().documents == 6


def test_change_is_detected_by_content_not_timestamps(tmp_path: Path, tree: Path):
    """Same size and mtime but other bytes is a change; a touch without a change is not."""
    with Index(tmp_path / "ix") as ix:
        ix.sync([tree])
        a = tree / "a.txt"
        st = a.stat()
        a.write_text(a.read_text(encoding="utf-8").replace("Alpha", "Omega"), encoding="utf-8")
        os.utime(a, ns=(st.st_atime_ns, st.st_mtime_ns))
        assert a.stat().st_size == st.st_size and a.stat().st_mtime_ns == st.st_mtime_ns
        report = ix.sync([tree])
        assert report.changed == ("a.txt",) and report.unchanged == 5
        assert ids(ix, "Omega") == {"a.txt"}

        os.utime(tree / "b.md")  # touched, not changed
        report = ix.sync([tree])
        assert report.nothing_changed and not report.committed and report.unchanged == 6


def test_a_subfolder_keeps_the_ids_of_its_indexed_folder(tmp_path: Path, tree: Path):
    """`update docs/sub` after indexing docs/ keeps ids relative to docs/ and prunes only docs/sub."""
    with Index(tmp_path / "ix") as ix:
        ix.sync([tree])
        write(tree / "sub" / "e.txt", "Epsilon from Qom")
        (tree / "a.txt").unlink()  # outside the synced subfolder: left alone
        report = ix.sync([tree / "sub"])
        assert report.added == ("sub/e.txt",) and report.removed == () and report.unchanged == 1
        assert ix.sources() == (str(tree),)
        assert ids(ix, "Alpha") == {"a.txt"}
        assert ix.sync().removed == ("a.txt",)


def test_deleted_folder_and_root(tmp_path: Path, tree: Path):
    """A deleted subfolder's documents go; a deleted root's too, and the root is forgotten."""
    other = write(tmp_path / "other" / "x.txt", "Xi from Kerman").parent
    with Index(tmp_path / "ix") as ix:
        ix.sync([tree, other])
        assert ix.sources() == tuple(sorted([str(tree), str(other)]))
        (tree / "sub" / "c.txt").unlink()
        (tree / "sub").rmdir()
        assert ix.sync().removed == ("sub/c.txt",)
        (other / "x.txt").unlink()
        other.rmdir()
        report = ix.sync([other])  # gone, but a recorded source: its documents are removed
        assert report.removed == ("x.txt",)
        assert ix.sources() == (str(tree),)
        with pytest.raises(InputError):
            ix.sync([tmp_path / "never-existed"])


def test_documents_added_through_the_api_survive_sync(tmp_path: Path, tree: Path):
    """Documents given to Index.add have no source file: no update removes them."""
    with Index(tmp_path / "ix") as ix:
        ix.add([{"id": "api-1", "text": "Given directly about Zanjan"}])
        ix.sync([tree])
        assert ix.sync().unchanged == 6
        assert ids(ix, "Zanjan") == {"api-1"}


def test_index_records_sources_for_update(tmp_path: Path, tree: Path):
    """`index` (add_paths) records its paths: a bare update afterwards finds nothing to do."""
    with Index(tmp_path / "ix") as ix:
        assert ix.add_paths([tree]).documents == 6
        report = ix.sync()
        assert report.unchanged == 6 and not report.committed


# -- remove -------------------------------------------------------------------------------


def test_remove_known_and_unknown_ids(tmp_path: Path, tree: Path):
    """remove() deletes known ids, reports unknown ones, and says which files still exist."""
    with Index(tmp_path / "ix") as ix:
        ix.sync([tree])
        ix.add([{"id": "api-1", "text": "Given directly about Zanjan"}])
        report = ix.remove(["a.txt", "api-1", "nope", "a.txt"])
        assert report.removed == ("a.txt", "api-1") and report.unknown == ("nope",)
        assert report.still_on_disk == ("a.txt",) and report.committed
        assert ids(ix, "Alpha") == set() and ids(ix, "Zanjan") == set()
        nothing = ix.remove(["nope"])
        assert nothing.removed == () and not nothing.committed
        # its file is still in the folder: the next update adds it back
        assert ix.sync().added == ("a.txt",)


# -- the CLI -----------------------------------------------------------------------------


def test_cli_update_report_and_exit_codes(runner, tmp_path: Path, tree: Path):
    """`bisearch update` prints every figure; --json parses; a skipped file exits 3; a no-op says so."""
    idx = tmp_path / "idx"
    first = runner.invoke(cli, ["update", str(tree), "--index", str(idx)])
    assert first.exit_code == 0, first.output
    assert "added" in first.stdout and "6" in first.stdout.splitlines()[0]

    again = runner.invoke(cli, ["update", "--index", str(idx)])
    assert again.exit_code == 0
    assert "nothing changed; nothing written" in again.stdout
    assert [line.split()[:2] for line in again.stdout.splitlines()[:5]] == [
        ["added", "0"],
        ["changed", "0"],
        ["removed", "0"],
        ["unchanged", "6"],
        ["skipped", "0"],
    ]

    write(tree / "a.txt", "Alpha changed")
    (tree / "empty.txt").write_text("   ", encoding="utf-8")
    result = runner.invoke(cli, ["update", "--index", str(idx), "--json"])
    assert result.exit_code == 3, result.output
    data = json.loads(result.stdout)
    assert data["changed"] == ["a.txt"] and data["unchanged"] == 5 and data["committed"] is True
    assert [Path(s["path"]).name for s in data["skipped"]] == ["empty.txt"]
    assert data["skipped"][0]["reason"] == "empty document"
    text = runner.invoke(cli, ["update", "--index", str(idx)])
    assert text.exit_code == 3  # still skipped; the rest is unchanged
    assert "skipped" in text.stderr and "empty.txt: empty document" in text.stderr
    assert "nothing changed" in text.stdout


def test_cli_update_without_sources_is_usage_error(runner, tmp_path: Path):
    """A bare `update` of an index with no recorded sources is a usage error (exit 2)."""
    Index(tmp_path / "idx").close()
    result = runner.invoke(cli, ["update", "--index", str(tmp_path / "idx")])
    assert result.exit_code == 2
    assert "no recorded sources" in result.stderr


def test_cli_remove(runner, tmp_path: Path, tree: Path):
    """`bisearch remove` (a real process): removed ids on stdout, unknown ones exit 3."""
    idx = tmp_path / "idx"
    with Index(idx) as ix:
        ix.sync([tree])
    proc = bisearch("remove", "n1", "missing-id", "--index", idx)
    assert proc.returncode == 3, proc.stderr
    assert "removed 1 document(s): n1" in proc.stdout
    assert "not in the index: missing-id" in proc.stderr
    result = runner.invoke(cli, ["remove", "a.txt", "--index", str(idx), "--json"])
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    assert data["removed"] == ["a.txt"] and data["still_on_disk"] == ["a.txt"]


def test_cli_help_lists_the_new_commands(runner):
    result = runner.invoke(cli, ["--help"])
    for command in ("update", "remove", "rebuild"):
        assert f"  {command}" in result.stdout
        assert runner.invoke(cli, [command, "--help"]).exit_code == 0


# -- bench/update.py -----------------------------------------------------------------------

BENCH = Path(__file__).resolve().parent.parent / "bench" / "update.py"


def test_update_bench_skips_without_data(tmp_path: Path):
    """bench/update.py exits 0 with a message when the evaluation data is absent."""
    proc = subprocess.run(
        [sys.executable, str(BENCH), "--data", str(tmp_path / "none")], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    assert "skipped" in proc.stderr and str(tmp_path / "none") in proc.stderr


def test_update_bench_on_a_tiny_corpus(tmp_path: Path):
    """On a stand-in corpus, the bench builds, updates 3 documents and prints both times and their ratio."""
    data = tmp_path / "evaldata"
    write(data / "README.md", "stand-in")
    write_jsonl(data / "raw-fa-news" / "docs.jsonl", [{"id": f"d{i}", "text": f"خبر شماره {i} درباره اصفهان"} for i in range(20)])
    out = tmp_path / "figures.json"
    proc = subprocess.run(
        [sys.executable, str(BENCH), "--data", str(data), "--changes", "3", "--repeats", "2", "--json", str(out)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert "ratio update/build" in proc.stdout and "all 20 documents" in proc.stdout
    figures = json.loads(out.read_text(encoding="utf-8"))
    assert figures["documents"] == 20 and figures["changes"] == 3 and len(figures["update_runs_s"]) == 2
    assert figures["last_report"]["changed"] == 3 and figures["last_report"]["unchanged"] == 17
