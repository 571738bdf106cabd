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
