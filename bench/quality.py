"""Retrieval quality on the dev splits of ../shared/evaldata.

Each set is indexed with the product's own code (the JSONL reader, passage
splitting, analyzers, schema) and each dev query goes through the same path a
user's query takes (``Index.search_documents``, what ``bisearch run`` uses:
documents ranked by their best passage). A baseline row, Whoosh's stock
``StandardAnalyzer`` in the same schema, is measured in the same run.

    python bench/quality.py                       # every set, 500 queries each
    python bench/quality.py --sets fa-qa --variants --stemmers lexicon,snowball,hazm,none
    python bench/quality.py --queries 0           # all dev queries
    python bench/quality.py --sets fa-hamshahri,en-cranfield --expand auto,off,on

Prints a table (and ``--json FILE`` writes the figures). Skips cleanly, exit 0,
when the data is absent.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from whoosh.analysis import StandardAnalyzer

from bench.common import data_dir_or_exit, fresh_index, iter_corpus, read_jsonl
from search.errors import QueryError
from search.evaluate import evaluate, read_qrels

ZWNJ = "\u200c"

#: set name → the metric the issue's table reports for it.
SETS = {
    "fa-qa": "mrr_at_10",
    "fa-hamshahri": "map",
    "en-squad": "mrr_at_10",
    "en-cranfield": "map",
    "xlang-ntrex-en2fa": "ndcg_at_10",
    "xlang-ntrex-fa2en": "ndcg_at_10",
}
#: all queries of these sets (they are small); a prefix of the others.
SMALL_SETS = {"fa-hamshahri", "en-cranfield"}

#: Perturbations applied to every passage (not to queries) of fa-qa.
VARIANTS = {
    "ZWNJ removed": lambda t: t.replace(ZWNJ, ""),
    "ZWNJ → space": lambda t: t.replace(ZWNJ, " "),
    "ی/ک → ي/ك": lambda t: t.replace("\u06cc", "\u064a").replace("\u06a9", "\u0643"),
}


def run_set(
    data: Path,
    name: str,
    work: Path,
    *,
    system: str,
    stemmer: str,
    n_queries: int,
    variant: str | None,
    cross: tuple[bool, ...] = (True,),
    expand: tuple[bool | None, ...] = (None,),
    depth: int = 1000,
) -> list[dict]:
    """One index of the set; one row per entry of ``cross`` (bridging on/off)
    and of ``expand`` (pseudo-relevance feedback: None for the product's
    default, topics only; True/False for every query), same index.

    The Whoosh-stock baseline is never bridged nor expanded.
    """
    folder = data / name
    options: dict = {"persian_stemmer": stemmer}
    if system == "whoosh-stock":
        options["_analyzer"] = StandardAnalyzer()
    tag = f"{name}-{system}-{stemmer}-{(variant or 'orig').replace(' ', '_').replace('/', '_')}"
    t0 = time.perf_counter()
    transform = VARIANTS[variant] if variant else None
    with fresh_index(work / tag, **options) as ix:
        report = ix.add(iter_corpus(folder / "corpus.jsonl", transform))
        t_index = time.perf_counter() - t0
        queries = read_jsonl(folder / "queries.dev.jsonl")
        if n_queries and name not in SMALL_SETS:
            queries = queries[:n_queries]
        qrels = read_qrels(folder / "qrels.dev.tsv")
        runs = []
        ours = system == "bisearch"
        for bridged in cross if ours else (False,):
            for expanded in expand if ours else (False,):
                t1 = time.perf_counter()
                run = {str(q["id"]): _documents(ix, q["text"], bridged, expanded, depth) for q in queries}
                runs.append((bridged, expanded, run, time.perf_counter() - t1))
    return [
        _row(name, system, stemmer, variant, report, queries, qrels, run, t_index, t_query, bridged, expanded)
        for bridged, expanded, run, t_query in runs
    ]


def _documents(ix, text: str, cross: bool, expand: bool | None, depth: int) -> list[tuple[str, float]]:
    """As ``bisearch run`` does: a query the parser refuses ("director, said: ...") ranks nothing."""
    try:
        return ix.search_documents(text, limit=depth, cross=cross, expand=expand)
    except QueryError:
        return []


def _row(name, system, stemmer, variant, report, queries, qrels, run, t_index, t_query, bridged, expanded) -> dict:
    qrels = {q: r for q, r in qrels.items() if q in run}
    m = evaluate(run, qrels)
    if system == "bisearch" and not bridged:
        system = "bisearch-nocross"
    if system != "whoosh-stock" and expanded is not None:
        system += "+expand" if expanded else "+noexpand"
    return {
        "set": name,
        "system": system,
        "stemmer": stemmer if system == "bisearch" else "-",
        "variant": variant or "",
        "metric": SETS[name],
        "value": getattr(m, SETS[name]),
        "metrics": m.as_dict(),
        "docs": report.documents,
        "queries": len(queries),
        "index_s": round(t_index, 1),
        "query_ms": round(1000 * t_query / max(1, len(queries)), 1),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", help="evaluation data folder (default ../shared/evaldata)")
    ap.add_argument("--sets", default="fa-qa,fa-hamshahri,en-squad,en-cranfield")
    ap.add_argument("--queries", type=int, default=500, help="first N dev queries per large set (0 = all)")
    ap.add_argument("--stemmers", default="lexicon", help="Persian stemmers to compare, comma-separated")
    ap.add_argument("--variants", action="store_true", help="also run fa-qa with ZWNJ/yeh-kaf perturbed passages")
    ap.add_argument("--no-baseline", action="store_true", help="skip the Whoosh StandardAnalyzer row")
    ap.add_argument(
        "--cross",
        default="on",
        choices=["on", "off", "both"],
        help="bridging across languages (search.crosslingual): on, off, or both rows from one index",
    )
    ap.add_argument(
        "--expand",
        default="auto",
        help="pseudo-relevance feedback (search.feedback): auto (the default: topics only), on, off, "
        "or several, comma-separated, as rows from one index; both = off,on",
    )
    ap.add_argument(
        "--depth",
        type=int,
        default=1000,
        help="documents ranked per query (default 1000, trec_eval's depth; the issue's peer MAPs are at this depth)",
    )
    ap.add_argument("--work", default="/tmp/bisearch-bench", help="scratch folder for the indexes")
    ap.add_argument("--json", dest="json_out", help="write the rows to this JSON file")
    args = ap.parse_args(argv)
    modes = {"auto": None, "on": True, "off": False}
    expand_modes = args.expand.replace("both", "off,on").split(",")
    if args.depth < 1:
        ap.error(f"--depth must be ≥ 1 (got {args.depth})")
    if not set(expand_modes) <= set(modes):
        ap.error(f"--expand: {args.expand!r}; use auto, on, off or both, comma-separated")
    data = data_dir_or_exit(args.data)
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    rows = []
    for name in [s for s in args.sets.split(",") if s]:
        if not (data / name).is_dir():
            print(f"skipped {name}: not in {data}", file=sys.stderr)
            continue
        plans = [("bisearch", st, None) for st in args.stemmers.split(",")]
        if name == "fa-qa" and args.variants:
            plans += [("bisearch", args.stemmers.split(",")[0], v) for v in VARIANTS]
        if not args.no_baseline:
            plans.append(("whoosh-stock", "none", None))
            if name == "fa-qa" and args.variants:
                plans += [("whoosh-stock", "none", v) for v in VARIANTS]
        cross = {"on": (True,), "off": (False,), "both": (True, False)}[args.cross]
        expand = tuple(modes[m] for m in expand_modes)
        for system, stemmer, variant in plans:
            for row in run_set(
                data,
                name,
                work,
                system=system,
                stemmer=stemmer,
                n_queries=args.queries,
                variant=variant,
                cross=cross,
                expand=expand,
                depth=args.depth,
            ):
                rows.append(row)
                _print_row(row)
    if args.json_out:
        Path(args.json_out).write_text(json.dumps(rows, indent=2, ensure_ascii=False), encoding="utf-8")
    return 0


def _print_row(row: dict) -> None:
    m = row["metrics"]
    print(
        f"{row['set']:<18} {row['system']:<16} {row['stemmer']:<9} {row['variant']:<13} "
        f"{row['metric']:<10} {row['value']:.4f}   (MRR@10 {m['mrr_at_10']:.3f} R@10 {m['recall_at_10']:.3f} "
        f"nDCG@10 {m['ndcg_at_10']:.3f} MAP {m['map']:.3f}; {row['queries']} q, "
        f"index {row['index_s']}s, {row['query_ms']} ms/q)",
        flush=True,
    )


if __name__ == "__main__":
    raise SystemExit(main())
