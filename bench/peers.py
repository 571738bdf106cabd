"""Two of the quality issue's peers, rebuilt here, to pin down how its table was measured.

The issue's peer rows give MAP without a depth. This script indexes a set's
documents whole, as an off-the-shelf engine would, in SQLite FTS5 (the
``unicode61`` tokenizer, ``bm25()``) and in Whoosh (``StandardAnalyzer``,
BM25F, one ``text`` field), ORs each query's words, and scores the runs at
depth 100 and 1000. At depth 1000, trec_eval's default, the figures match the
issue's: fa-hamshahri FTS5 0.801 and Whoosh 0.784 (issue: 0.801, 0.784),
en-cranfield 0.293 and 0.290 (issue: 0.291, 0.294); at depth 100 hamshahri
gives 0.763 and 0.743. So ``bench/quality.py`` ranks 1000 documents too.

    python bench/peers.py                              # fa-hamshahri and en-cranfield
    python bench/peers.py --sets fa-qa --queries 500

Skips cleanly, exit 0, when the data is absent.
"""

from __future__ import annotations

import argparse
import re
import sqlite3
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import data_dir_or_exit, read_jsonl
from search.evaluate import evaluate, read_qrels

DEPTHS = (100, 1000)
#: The query's words, as FTS5's unicode61 and Whoosh's tokenizers both see them.
WORD = re.compile(r"\w+")


def fts5_runs(docs: list[dict], queries: list[dict], depth: int) -> dict[str, list[tuple[str, float]]]:
    db = sqlite3.connect(":memory:")
    db.execute("CREATE VIRTUAL TABLE t USING fts5(id UNINDEXED, text)")
    db.executemany("INSERT INTO t VALUES (?, ?)", ((str(d["id"]), d["text"]) for d in docs))
    runs = {}
    for q in queries:
        words = WORD.findall(q["text"])
        match = " OR ".join(f'"{w}"' for w in words)
        rows = db.execute("SELECT id, bm25(t) FROM t WHERE t MATCH ? ORDER BY bm25(t) LIMIT ?", (match, depth)) if words else []
        runs[str(q["id"])] = [(i, -s) for i, s in rows]
    return runs


def whoosh_runs(docs: list[dict], queries: list[dict], depth: int) -> dict[str, list[tuple[str, float]]]:
    from whoosh import fields, index, qparser
    from whoosh.analysis import StandardAnalyzer

    schema = fields.Schema(id=fields.ID(stored=True), text=fields.TEXT(analyzer=StandardAnalyzer()))
    with tempfile.TemporaryDirectory() as tmp:
        ix = index.create_in(tmp, schema)
        w = ix.writer(limitmb=128)
        for d in docs:
            w.add_document(id=str(d["id"]), text=d["text"])
        w.commit()
        parser = qparser.QueryParser("text", schema, group=qparser.OrGroup)
        runs = {}
        with ix.searcher() as s:
            for q in queries:
                # The words alone: the parser's syntax (quotes, colons) is not the peers'.
                hits = s.search(parser.parse(" ".join(WORD.findall(q["text"]))), limit=depth)
                runs[str(q["id"])] = [(h["id"], h.score) for h in hits]
        ix.storage.close()
    return runs


def _whole(doc: dict) -> dict:
    """The document as one text: its title, then its text (Cranfield's text
    starts with a re-wrapped copy of the title, so the title counts twice, as
    a title field beside a text field would)."""
    title = doc.get("title") or ""
    if title and not doc["text"].startswith(title):
        return {**doc, "text": f"{title}\n{doc['text']}"}
    return doc


SYSTEMS = {"sqlite-fts5": fts5_runs, "whoosh-stock": whoosh_runs}
METRIC = {"fa-hamshahri": "map", "en-cranfield": "map", "fa-qa": "mrr_at_10", "en-squad": "mrr_at_10"}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", help="evaluation data folder (default ../shared/evaldata)")
    ap.add_argument("--sets", default="fa-hamshahri,en-cranfield")
    ap.add_argument("--queries", type=int, default=500, help="first N dev queries of fa-qa/en-squad (0 = all)")
    args = ap.parse_args(argv)
    data = data_dir_or_exit(args.data)
    for name in [s for s in args.sets.split(",") if s]:
        folder = data / name
        if not folder.is_dir():
            print(f"skipped {name}: not in {data}", file=sys.stderr)
            continue
        docs = [_whole(d) for d in read_jsonl(folder / "corpus.jsonl") if d["text"].strip()]
        queries = read_jsonl(folder / "queries.dev.jsonl")
        if args.queries and name in ("fa-qa", "en-squad"):
            queries = queries[: args.queries]
        qrels = read_qrels(folder / "qrels.dev.tsv")
        qrels = {q: r for q, r in qrels.items() if q in {str(x["id"]) for x in queries}}
        metric = METRIC.get(name, "map")
        for system, build in SYSTEMS.items():
            runs = build(docs, queries, max(DEPTHS))
            figures = []
            for depth in DEPTHS:
                m = evaluate({q: r[:depth] for q, r in runs.items()}, qrels)
                figures.append(f"depth {depth}: {metric} {getattr(m, metric):.4f}")
            print(f"{name:<14} {system:<13} " + "   ".join(figures), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
