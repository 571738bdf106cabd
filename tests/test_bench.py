"""Benchmarks must skip cleanly where the evaluation data is absent (as in CI)."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_quality_bench_skips_without_data(tmp_path):
    # A missing data folder is a clean skip (exit 0) with a message naming it.
    missing = tmp_path / "no-evaldata"
    proc = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "quality.py"), "--data", str(missing), "--work", str(tmp_path / "w")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert "skipped" in proc.stderr and str(missing) in proc.stderr


def test_speed_bench_skips_without_data(tmp_path):
    proc = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "speed.py"), "--data", "/nonexistent", "--work", str(tmp_path / "w")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert "skipped" in proc.stderr


def test_speed_bench_indexes_reuters_dated_documents(tmp_path):
    # The product skips a non-ISO date; the bench's copy makes every document indexable.
    sys.path.insert(0, str(ROOT))
    import json

    from bench.speed import iso_dated_copy
    from search.ingest import Skipped, read_documents

    src = tmp_path / "raw" / "docs.jsonl"
    src.parent.mkdir()
    rows = [
        {"id": "r1", "text": "oil prices", "date": "26-FEB-1987 15:01:01.79"},
        {"id": "n1", "text": "a newsgroup post"},
        {"id": "i1", "text": "already iso", "date": "2024-05-28"},
    ]
    src.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    assert any(isinstance(d, Skipped) for d in read_documents([src]))
    copy = iso_dated_copy(src, tmp_path)
    docs = list(read_documents([copy]))
    assert not any(isinstance(d, Skipped) for d in docs)
    assert [str(d.date) for d in docs] == ["1987-02-26", "None", "2024-05-28"]
    iso_only = tmp_path / "iso" / "docs.jsonl"
    iso_only.parent.mkdir()
    iso_only.write_text(json.dumps(rows[2]) + "\n", encoding="utf-8")
    assert iso_dated_copy(iso_only, tmp_path) == iso_only


def test_speed_bench_without_stock_is_for_builds_only(tmp_path):
    # Query and cold-start rows compare with whoosh-stock: skipping it is a usage error outside --build-only.
    proc = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "speed.py"), "--no-stock", "--data", "/nonexistent", "--work", str(tmp_path / "w")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2 and "--no-stock needs --build-only" in proc.stderr
