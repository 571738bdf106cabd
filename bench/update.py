"""Cost of an incremental update against a full build (raw-fa-news of ../shared/evaldata).

1. Full build: ``Index.sync`` of a copy of ``raw-fa-news/docs.jsonl`` into a new index.
2. No-op update: ``sync`` of the same file again (nothing changed: nothing is written).
3. Update: edit the text of 10 documents (10 lines of the copied JSONL) and
   ``sync`` again, ``--repeats`` times with different documents; the median is
   reported.

Prints the build time, the update and no-op medians, the ratio update/build
and the last update's report. ``--limit N`` uses the first N documents for a
quicker run (the output says so). Skips cleanly, exit 0, when the data is
absent.

    python bench/update.py                       # the whole corpus (minutes: the full build is slow)
    python bench/update.py --limit 2000 --repeats 3
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import data_dir_or_exit
from search import Index

CORPUS = Path("raw-fa-news") / "docs.jsonl"
EDIT_MARK = " [ویرایش {r}.{i}]"


def copy_lines(src: Path, dst: Path, limit: int | None) -> list[str]:
    """The first ``limit`` non-empty lines of ``src`` (all if None), written to ``dst``."""
    lines: list[str] = []
    with src.open(encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                lines.append(line if line.endswith("\n") else line + "\n")
                if limit is not None and len(lines) >= limit:
                    break
    dst.parent.mkdir(parents=True, exist_ok=True)
    dst.write_text("".join(lines), encoding="utf-8")
    return lines


def edit(lines: list[str], picks: list[int], r: int) -> list[str]:
    """``lines`` with the text of the picked documents changed."""
    out = list(lines)
    for i in picks:
        obj = json.loads(out[i])
        obj["text"] = obj["text"] + EDIT_MARK.format(r=r, i=i)
        out[i] = json.dumps(obj, ensure_ascii=False) + "\n"
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", help="evaluation data folder (default ../shared/evaldata)")
    ap.add_argument("--work", help="where to build the index (default: a temporary folder, removed afterwards)")
    ap.add_argument("--limit", type=int, default=None, help="use only the first N documents")
    ap.add_argument("--changes", type=int, default=10, help="documents edited per update (default 10)")
    ap.add_argument("--repeats", type=int, default=5, help="updates to time; the median is reported (default 5)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--json", dest="json_out", help="also write the figures to this JSON file")
    args = ap.parse_args(argv)

    data = data_dir_or_exit(args.data)
    corpus = data / CORPUS
    if not corpus.is_file():
        print(f"skipped: {corpus} not found", file=sys.stderr)
        return 0
    work = Path(args.work) if args.work else Path(tempfile.mkdtemp(prefix="bisearch-update-bench-"))
    index_dir = work / "index"
    src = work / "src" / "docs.jsonl"
    if index_dir.exists():
        shutil.rmtree(index_dir)
    try:
        lines = copy_lines(corpus, src, args.limit)
        n = len(lines)
        used = f"first {n} documents (--limit {args.limit})" if args.limit else f"all {n} documents"
        print(f"corpus: {corpus} — {used}, {src.stat().st_size / 1e6:.1f} MB", file=sys.stderr)
        changes = min(args.changes, n)

        with Index(index_dir) as ix:
            t0 = time.perf_counter()
            built = ix.sync([src])
            build_s = time.perf_counter() - t0
            print(f"full build: {build_s:.2f}s — {built.summary()}", file=sys.stderr)

            noop_times = []
            for _ in range(max(1, args.repeats)):
                t0 = time.perf_counter()
                noop = ix.sync([src])
                noop_times.append(time.perf_counter() - t0)
                assert noop.nothing_changed and not noop.committed, noop.summary()

            rng = random.Random(args.seed)
            update_times = []
            report = None
            for r in range(max(1, args.repeats)):
                picks = sorted(rng.sample(range(n), changes))
                lines = edit(lines, picks, r)
                src.write_text("".join(lines), encoding="utf-8")
                t0 = time.perf_counter()
                report = ix.sync([src])
                update_times.append(time.perf_counter() - t0)
                assert len(report.changed) == changes and not report.added and not report.removed, report.summary()
                print(f"update {r + 1}: {update_times[-1]:.3f}s — {report.summary()}", file=sys.stderr)
            docs = ix.stats().documents
    finally:
        if not args.work:
            shutil.rmtree(work, ignore_errors=True)

    update_s = statistics.median(update_times)
    noop_s = statistics.median(noop_times)
    figures = {
        "corpus": str(corpus),
        "documents": docs,
        "limit": args.limit,
        "changes": changes,
        "repeats": len(update_times),
        "full_build_s": round(build_s, 3),
        "update_median_s": round(update_s, 4),
        "update_runs_s": [round(t, 4) for t in update_times],
        "noop_median_s": round(noop_s, 4),
        "ratio_update_to_build": round(update_s / build_s, 5),
        "last_report": report.to_dict() | {"changed": len(report.changed)},
    }
    print(f"documents          {docs} ({used})")
    print(f"full build         {build_s:.2f} s")
    print(f"update, {changes} changed  {update_s:.3f} s (median of {len(update_times)})")
    print(f"no-op update       {noop_s:.3f} s (median of {len(noop_times)}; nothing written)")
    print(f"ratio update/build {update_s / build_s:.4f} ({update_s / build_s * 100:.2f} %)")
    print(f"last report        {report.summary()}")
    if args.json_out:
        Path(args.json_out).write_text(json.dumps(figures, ensure_ascii=False, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
