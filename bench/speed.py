"""Speed, side by side: bisearch against two Whoosh ``StandardAnalyzer`` baselines.

* ``whoosh-stock``: the product's own code path (JSONL reader, passage
  splitting, schema, ``Index.add``/``Index.search``) with Whoosh's
  ``StandardAnalyzer`` and Whoosh's own ``SegmentWriter`` (``search.sync.STOCK_WRITER``),
  as in ``bench/quality.py``: what our analysis and writer cost over stock
  Whoosh in our schema (passages, ``body``, ``xkey``).
* ``whoosh-plain`` (indexing only): Whoosh as a user would set it up, as in
  the issue's table: a schema of ``id`` (ID, stored, unique), ``title`` and
  ``text`` (TEXT, stored, ``StandardAnalyzer``), one Whoosh document per
  corpus document, ``ix.writer()`` with its defaults.

Absolute times drift from run to run on a shared machine; the ratios,
measured in the same run, hold.

    python bench/speed.py                      # full corpora (minutes)
    python bench/speed.py --limit 2000         # first 2000 docs of each corpus
    python bench/speed.py --corpora fa --queries 200 --json /tmp/speed.json
    python bench/speed.py --reuse              # query again the indexes of the last run
    python bench/speed.py --limit 2000 --rounds 5 --build-only   # indexing only, 5 interleaved rounds, medians
    python bench/speed.py --rounds 3 --build-only --no-stock     # the issue's indexing ratio (against whoosh-plain) only

Reports, per corpus (``raw-fa-news`` with the fa-qa dev questions,
``raw-en-news`` with the en-squad dev questions):

* indexing MiB/s and docs/s, peak RSS and index size: each build runs in a
  child process of its own, so builds never share a heap; with ``--rounds N``
  each system builds N times, the systems alternating (A B C, then C B A, ...)
  so drifting load hits them alike, and the medians are reported (every
  round's seconds go to stderr and the JSON); ``--build-only`` skips the
  query and cold-start figures;
* query latency p50/p95/p99 at top 10 with snippets (what a user waits for)
  and at top 100 without;
* wall time of ``bisearch search`` as a fresh process (median of 5), on the
  seeds index and on the ``raw-fa-news`` index.

Skips cleanly, exit 0, when the data is absent.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import data_dir_or_exit, fresh_index, iter_corpus, read_jsonl  # noqa: E402

#: short name → (corpus folder, dev-question set run against it)
CORPORA = {"fa": ("raw-fa-news", "fa-qa"), "en": ("raw-en-news", "en-squad")}
SYSTEMS = ("bisearch", "whoosh-stock")
PLAIN = "whoosh-plain"
MiB = 1024 * 1024


def _options(system: str) -> dict:
    if system == "whoosh-stock":
        from whoosh.analysis import StandardAnalyzer

        return {"_analyzer": StandardAnalyzer()}
    return {}


def _dir_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def _peak_rss_mb() -> dict:
    """This process's peak RSS and its children's (bisearch's analysis worker, if one ran), in MB.

    ``peak_rss_mb`` is their sum: an upper bound on what the build held at
    once (the two need not peak together, and a forked worker's RSS counts
    the pages it still shares with its parent).
    """
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB
    kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return {"peak_rss_mb": own + kids, "main_rss_mb": own, "worker_rss_mb": kids}


def _cpu_seconds() -> float:
    """CPU seconds of this process and its waited-for children (the analysis worker) so far."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def _corpus_bytes(path: Path, limit: int) -> int:
    """Bytes of the JSONL lines a build with ``limit`` reads (0: the whole file)."""
    if not limit:
        return path.stat().st_size
    with path.open("rb") as fh:
        return sum(len(line) for line in itertools.islice(fh, limit))


def build_child(corpus: Path, system: str, index: Path, limit: int) -> dict:
    """Runs in a child process: build one index, report time and peak RSS."""
    docs = iter_corpus(corpus)
    if limit:
        docs = itertools.islice(docs, limit)
    if system == PLAIN:
        return build_plain(docs, index)
    if system == "whoosh-stock":
        import search.sync

        search.sync.STOCK_WRITER = True  # Whoosh's own SegmentWriter
    t0, c0 = time.perf_counter(), _cpu_seconds()
    with fresh_index(index, **_options(system)) as ix:
        report = ix.add(docs)
    seconds = time.perf_counter() - t0
    return {"seconds": seconds, "cpu_s": _cpu_seconds() - c0, "docs": report.documents, **_peak_rss_mb()}


def build_plain(docs, index: Path) -> dict:
    """Whoosh as the issue's table set it up: id, title, text; one Whoosh document per document."""
    import shutil

    import whoosh.index
    from whoosh.fields import ID, TEXT, Schema

    if index.exists():
        shutil.rmtree(index)
    index.mkdir(parents=True)
    t0, c0 = time.perf_counter(), _cpu_seconds()
    schema = Schema(id=ID(stored=True, unique=True), title=TEXT(stored=True), text=TEXT(stored=True))
    ix = whoosh.index.create_in(str(index), schema)
    writer = ix.writer()
    n = 0
    for doc in docs:
        fields = {"id": doc.id, "text": doc.text}
        if doc.title:
            fields["title"] = doc.title
        writer.add_document(**fields)
        n += 1
    writer.commit()
    seconds = time.perf_counter() - t0
    return {"seconds": seconds, "cpu_s": _cpu_seconds() - c0, "docs": n, **_peak_rss_mb()}


def build(corpus: Path, system: str, index: Path, limit: int) -> dict:
    cmd = [sys.executable, __file__, "--build-child", str(corpus), system, str(index), str(limit)]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"build of {corpus} with {system} failed:\n{proc.stderr}")
    row = json.loads(proc.stdout.strip().splitlines()[-1])
    row["mib"] = _corpus_bytes(corpus, limit) / MiB
    row["mib_per_s"] = row["mib"] / row["seconds"]
    row["docs_per_s"] = row["docs"] / row["seconds"]
    row["index_mb"] = _dir_size(index) / 1e6
    return row


def build_rounds(corpus: Path, name: str, systems: list[str], work: Path, limit: int, rounds: int) -> dict[str, dict]:
    """Build each system ``rounds`` times, alternating the order each round; per system the median round.

    The row keeps every round's seconds (``rounds_s``) and the highest peak RSS.
    """
    runs: dict[str, list[dict]] = {s: [] for s in systems}
    for r in range(rounds):
        for system in systems if r % 2 == 0 else systems[::-1]:
            print(f"building {name} with {system} (round {r + 1}/{rounds}) ...", file=sys.stderr, flush=True)
            row = build(corpus, system, work / f"{name}-{system}", limit)
            runs[system].append(row)
            print(f"  {row['seconds']:.2f} s, peak RSS {row['peak_rss_mb']:.0f} MB", file=sys.stderr, flush=True)
    out = {}
    for system, rows in runs.items():
        med = statistics.median(r["seconds"] for r in rows)
        row = dict(min(rows, key=lambda r: abs(r["seconds"] - med)))
        row["seconds"] = med
        row["mib_per_s"] = row["mib"] / med
        row["docs_per_s"] = row["docs"] / med
        for key in ("peak_rss_mb", "main_rss_mb", "worker_rss_mb"):
            row[key] = max(r[key] for r in rows)
        row["rounds_s"] = [round(r["seconds"], 3) for r in rows]
        out[system] = row
    return out


def reused(index: Path, mib: float) -> dict:
    """The build row of an index left by an earlier run: its size and documents; no timings."""
    from search import Index

    with Index(index, create=False) as ix:
        docs = ix.stats().documents
    nan = float("nan")
    return {
        "seconds": nan,
        "docs": docs,
        "peak_rss_mb": nan,
        "main_rss_mb": nan,
        "worker_rss_mb": nan,
        "mib": mib,
        "mib_per_s": nan,
        "docs_per_s": nan,
        "index_mb": _dir_size(index) / 1e6,
    }


def _percentiles(ms: list[float]) -> dict:
    if not ms:
        return {"p50": float("nan"), "p95": float("nan"), "p99": float("nan"), "n": 0}
    ms = sorted(ms)

    def pct(p: float) -> float:
        return ms[min(len(ms) - 1, round(p / 100 * (len(ms) - 1)))]

    return {"p50": pct(50), "p95": pct(95), "p99": pct(99), "n": len(ms)}


def query_latency(index: Path, system: str, questions: list[str]) -> dict:
    """Per-query wall ms over ``questions``: top 10 with snippets, top 100 without."""
    from search import BisearchError, Index, fastscore

    # The baseline scores with Whoosh's own per-document loop: stock Whoosh.
    fastscore.ENABLED = system != "whoosh-stock"
    out: dict = {}
    with Index(index, create=False, **_options(system)) as ix:
        ix.search(questions[0], limit=10)  # open the searcher, warm the caches
        for key, kwargs in (("top10_snippets", {"limit": 10}), ("top100_plain", {"limit": 100, "snippets": False})):
            times, errors = [], 0
            for q in questions:
                t0 = time.perf_counter()
                try:
                    ix.search(q, **kwargs)
                except BisearchError:
                    errors += 1
                    continue
                times.append(1000 * (time.perf_counter() - t0))
            out[key] = {**_percentiles(times), "errors": errors}
    return out


def cold_search(index: Path, query: str, runs: int = 5) -> float:
    """Median wall seconds of ``bisearch search QUERY --index INDEX`` as a fresh process."""
    cmd = [sys.executable, "-m", "search", "search", query, "--index", str(index), "--limit", "10"]
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    walls = []
    for _ in range(runs):
        t0 = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False, env=env, cwd=str(ROOT))
        walls.append(time.perf_counter() - t0)
        if proc.returncode != 0:
            raise SystemExit(f"`{' '.join(cmd)}` failed:\n{proc.stderr}")
    return statistics.median(walls)


def seeds_index(work: Path) -> Path:
    path = work / "seeds"
    with fresh_index(path) as ix:
        ix.add_paths([ROOT / "seeds"])
    return path


def _ratio(a: float, b: float) -> str:
    return f"{a / b:.2f}×" if b else "-"


_MONTHS = {m: i for i, m in enumerate("JAN FEB MAR APR MAY JUN JUL AUG SEP OCT NOV DEC".split(), start=1)}


def _iso(date: str) -> str | None:
    """Reuters' ``26-FEB-1987 15:01:01.79`` as ``1987-02-26``; None if it is not that shape."""
    try:
        day, mon, year = date.split()[0].split("-")
        return f"{int(year):04d}-{_MONTHS[mon.upper()]:02d}-{int(day):02d}"
    except (ValueError, KeyError, IndexError):
        return None


def iso_dated_copy(corpus: Path, work: Path) -> Path:
    """``corpus``, or a scratch copy of it whose Reuters-style dates are ISO.

    The product's JSONL reader skips a document whose ``date`` is not ISO
    (with a message naming the line): raw-en-news's 21,577 Reuters documents
    would be left out and the MB/s would count bytes nobody indexed. Both
    systems index the same copy.
    """
    copy = work / f"{corpus.parent.name}-iso.jsonl"
    if copy.exists() and copy.stat().st_mtime >= corpus.stat().st_mtime:
        return copy
    changed = 0
    with corpus.open(encoding="utf-8") as src, copy.open("w", encoding="utf-8") as out:
        for line in src:
            obj = json.loads(line) if line.strip() else None
            if obj and isinstance(obj.get("date"), str) and not obj["date"][:4].isdigit():
                iso = _iso(obj["date"])
                if iso:
                    obj["date"] = iso
                    changed += 1
                    line = json.dumps(obj, ensure_ascii=False) + "\n"
            out.write(line)
    if not changed:
        copy.unlink()
        return corpus
    print(f"{corpus.parent.name}: {changed} Reuters dates rewritten as ISO in {copy}", file=sys.stderr)
    return copy


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--build-child"]:
        corpus, system, index, limit = argv[1:5]
        print(json.dumps(build_child(Path(corpus), system, Path(index), int(limit))))
        return 0
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", help="evaluation data folder (default ../shared/evaldata)")
    ap.add_argument("--corpora", default="fa,en", help="fa (raw-fa-news + fa-qa), en (raw-en-news + en-squad)")
    ap.add_argument("--limit", type=int, default=0, help="index only the first N docs of each corpus (0 = all)")
    ap.add_argument("--queries", type=int, default=300, help="first N dev questions per corpus (0 = all)")
    ap.add_argument("--cold-runs", type=int, default=5, help="fresh `bisearch search` processes per index (median)")
    ap.add_argument("--work", default="/tmp/bisearch-speed", help="scratch folder for the indexes")
    ap.add_argument("--json", dest="json_out", help="write the figures to this JSON file")
    ap.add_argument("--build-only", action="store_true", help="indexing figures only: no queries, no cold start")
    ap.add_argument(
        "--no-stock",
        action="store_true",
        help="with --build-only: skip whoosh-stock (its builds are 3/4 of the time); bisearch against whoosh-plain only",
    )
    ap.add_argument(
        "--rounds", type=int, default=1, help="builds per system, alternating the systems each round; medians (default 1)"
    )
    ap.add_argument(
        "--reuse",
        action="store_true",
        help="query the indexes a previous run left in --work instead of building them "
        "(query and cold-start figures only; the indexing rows print nan)",
    )
    args = ap.parse_args(argv)
    if args.no_stock and not args.build_only:
        ap.error("--no-stock needs --build-only (query and cold-start rows compare with whoosh-stock)")
    systems = ["bisearch"] if args.no_stock else list(SYSTEMS)
    data = data_dir_or_exit(args.data)
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    figures: dict = {"limit": args.limit, "queries": args.queries, "cpus": os.cpu_count(), "corpora": {}}
    print(f"docs per corpus: {args.limit or 'all'}; dev questions per set: {args.queries or 'all'}; cpus: {os.cpu_count()}")
    rows: list[tuple] = []
    fa_index: dict[str, Path] = {}
    for short in [c for c in args.corpora.split(",") if c]:
        corpus_name, qset = CORPORA[short]
        corpus = data / corpus_name / "docs.jsonl"
        qfile = data / qset / "queries.dev.jsonl"
        if not corpus.exists() or not qfile.exists():
            print(f"skipped {corpus_name}: {corpus} or {qfile} not found", file=sys.stderr)
            continue
        corpus = iso_dated_copy(corpus, work)
        questions = [q["text"] for q in read_jsonl(qfile)]
        if args.queries:
            questions = questions[: args.queries]
        res: dict = {}
        if args.rounds > 1 and not args.reuse:
            res.update(build_rounds(corpus, corpus_name, [*systems, PLAIN], work, args.limit, args.rounds))
            for system in (*systems, PLAIN):
                print(
                    f"{corpus_name} {system}: rounds {res[system]['rounds_s']} s, median {res[system]['seconds']:.2f} s",
                    file=sys.stderr,
                    flush=True,
                )
        elif not args.reuse:
            print(f"building {corpus_name} with {PLAIN} ...", file=sys.stderr, flush=True)
            res[PLAIN] = build(corpus, PLAIN, work / f"{corpus_name}-{PLAIN}", args.limit)
        for system in systems:
            index = work / f"{corpus_name}-{system}"
            if system in res:
                b = res[system]
            elif args.reuse and (index / "bisearch.json").exists():
                print(f"reusing {index} (built by an earlier run)", file=sys.stderr, flush=True)
                b = reused(index, _corpus_bytes(corpus, args.limit) / MiB)
            else:
                print(f"building {corpus_name} with {system} ...", file=sys.stderr, flush=True)
                b = build(corpus, system, index, args.limit)
            if args.build_only:
                b["query_ms"] = None
            else:
                print(
                    f"querying {corpus_name} with {system} ({len(questions)} {qset} questions) ...", file=sys.stderr, flush=True
                )
                b["query_ms"] = query_latency(index, system, questions)
            res[system] = b
            if short == "fa":
                fa_index[system] = index
        figures["corpora"][corpus_name] = {"docs": res["bisearch"]["docs"], "mib": res["bisearch"]["mib"], **res}
        ours, base = res["bisearch"], res.get("whoosh-stock")
        plain = res.get(PLAIN)
        tag = f"{corpus_name} ({ours['docs']} docs, {ours['mib']:.1f} MiB)"
        rows.append((f"{tag}", float("nan"), None, ".0f"))
        if ours["seconds"] == ours["seconds"]:  # built in this run (not --reuse)
            for key, label, fmt in (
                ("mib_per_s", "  index MiB/s", ".2f"),
                ("docs_per_s", "  index docs/s", ".0f"),
                ("seconds", "  index build s", ".1f"),
                ("cpu_s", "  index CPU s (main + worker)", ".1f"),
                ("peak_rss_mb", "  peak RSS MB (main + worker)", ".0f"),
                ("main_rss_mb", "    of which main process", ".0f"),
                ("worker_rss_mb", "    of which analysis worker", ".0f"),
                ("index_mb", "  index size MB", ".1f"),
            ):
                rows.append((label, ours[key], base[key] if base else None, fmt, plain[key] if plain else None))
        else:
            rows.append(("  index size MB", ours["index_mb"], base["index_mb"], ".1f"))
        if args.build_only:
            continue
        for key, label in (("top10_snippets", "top10+snippets"), ("top100_plain", "top100 plain")):
            for p in ("p50", "p95", "p99"):
                rows.append((f"  {qset} {label} {p} ms", ours["query_ms"][key][p], base["query_ms"][key][p], ".1f"))
    if not figures["corpora"]:
        print(f"skipped: no corpus of {args.corpora} found in {data}", file=sys.stderr)
        return 0
    if args.build_only:
        print()
        print_table(rows)
        if args.json_out:
            Path(args.json_out).write_text(json.dumps(figures, indent=2, ensure_ascii=False), encoding="utf-8")
        return 0
    # Cold start: a fresh `bisearch search` process, as a user runs it.
    cold_q = "پایتخت اسپانیا کجاست؟"
    print("timing cold `bisearch search` ...", file=sys.stderr, flush=True)
    cold = {"seeds": cold_search(seeds_index(work), cold_q, args.cold_runs)}
    rows.append(("cold `bisearch search` (median of 5)", float("nan"), None, ".0f"))
    rows.append(("  seeds index, s", cold["seeds"], None, ".3f"))
    if fa_index:
        cold["raw-fa-news"] = {s: cold_search(p, cold_q, args.cold_runs) for s, p in fa_index.items()}
        rows.append(("  raw-fa-news index, s", cold["raw-fa-news"]["bisearch"], cold["raw-fa-news"]["whoosh-stock"], ".3f"))
    figures["cold_search_s"] = cold
    print()
    print_table(rows)
    if args.json_out:
        Path(args.json_out).write_text(json.dumps(figures, indent=2, ensure_ascii=False), encoding="utf-8")
    return 0


def print_table(rows: list[tuple]) -> None:
    """ours, whoosh-stock (our schema), ours/stock; and for indexing rows whoosh-plain, ours/plain."""
    print(f"{'':<44} {'bisearch':>12} {'whoosh-stock':>13} {'ours/stock':>10} {'whoosh-plain':>13} {'ours/plain':>10}")
    for label, ours, base, fmt, *more in rows:
        if ours != ours:  # NaN: a section heading
            print(label)
            continue
        plain = more[0] if more else None
        b = f"{base:{fmt}}" if base is not None else "-"
        r = _ratio(ours, base) if base is not None else "-"
        line = f"{label:<44} {ours:>12{fmt}} {b:>13} {r:>10}"
        if plain is not None:
            line += f" {plain:>13{fmt}} {_ratio(ours, plain):>10}"
        print(line)
    print(
        "whoosh-stock: StandardAnalyzer in our schema (passages, body, xkey) with Whoosh's SegmentWriter; "
        "whoosh-plain: Whoosh as a user sets it up (id/title/text, one Whoosh document per document)."
    )


if __name__ == "__main__":
    raise SystemExit(main())
