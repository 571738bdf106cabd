"""Batch evaluation: TREC run files, qrels, query files and the usual metrics.

This module backs ``bisearch run`` (which writes a TREC run file),
``bisearch eval --qrels QRELS RUN`` and the benchmarks. It is deliberately
standard-library only, so evaluating never needs more than the engine itself,
and its figures follow ``trec_eval -c`` so they can be compared with published
numbers:

* a *run* maps each query id to its ranked ``(docid, score)`` list, best first;
* *qrels* map each query id to the documents judged relevant (grade > 0);
* every metric is averaged over the judged queries that have at least one
  relevant document, and such a query missing from the run scores 0.

Bad files raise :class:`~search.errors.InputError` with the path and the
1-based line number, so the CLI can print ``qrels.tsv:12: ...`` instead of a
traceback.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from typing import TextIO

from search.errors import InputError

Run = dict[str, list[tuple[str, float]]]
"""qid -> ``[(docid, score), ...]`` in rank order, best first."""

Qrels = dict[str, dict[str, int]]
"""qid -> ``{docid: relevance}``; only relevance > 0 is stored."""

StrPath = str | os.PathLike[str]

_CUTOFF = 10
_RECALL_DEEP = 100

# Header cells seen in the first line of BEIR-style ``qid<TAB>docid<TAB>score``
# files; such a line is skipped rather than reported as malformed.
_QRELS_HEADER_RELS = frozenset({"score", "rel", "relevance", "label", "judgment"})


# --------------------------------------------------------------------------- #
# Reading and writing files
# --------------------------------------------------------------------------- #


def _lines(path: StrPath) -> Iterator[tuple[int, str]]:
    """Yield ``(line_number, line)`` (1-based, newline stripped) from ``path``.

    Files are read as UTF-8 with an optional BOM (common for files saved on
    Windows); unreadable or undecodable files become an :class:`InputError`
    so callers never see a bare ``OSError``.
    """
    where = os.fspath(path)
    try:
        with open(path, "rb") as fh:
            # Decoding line by line (not in buffered chunks) pins a bad byte
            # to its real line number.
            for lineno, raw in enumerate(fh, start=1):
                try:
                    line = raw.decode("utf-8")
                except UnicodeDecodeError as exc:
                    raise InputError(
                        f"{where}:{lineno}: not valid UTF-8 ({exc.reason})",
                        path=where,
                        line=lineno,
                        hint="save the file as UTF-8",
                    ) from None
                if lineno == 1:
                    line = line.removeprefix("\ufeff")
                yield lineno, line.rstrip("\r\n")
    except FileNotFoundError:
        raise InputError(f"{where}: no such file", path=where, hint="check the path and try again") from None
    except OSError as exc:
        raise InputError(f"{where}: cannot read ({exc.strerror or exc})", path=where) from None


def _check_token(value: str, what: str) -> None:
    """Refuse a value that would break the whitespace-separated TREC format."""
    if not value or any(ch.isspace() for ch in value):
        raise ValueError(f"{what} {value!r} is empty or contains whitespace; a TREC file cannot hold it")


def _line_error(where: str, lineno: int, problem: str, hint: str) -> InputError:
    """``path:line: problem`` with the expected line format as the hint."""
    return InputError(f"{where}:{lineno}: {problem}", path=where, line=lineno, hint=hint)


def write_run(run: Run, fh: TextIO, *, tag: str = "bisearch") -> None:
    """Write ``run`` to ``fh`` in TREC run format.

    One line per ``(qid, doc)``: ``qid Q0 docid rank score tag``, with ``rank``
    1-based in list order and ``score`` printed with 6 decimals. Queries are
    written in the dict's insertion order, so output is deterministic and
    diffable between runs.

    Raises ``ValueError`` (a programming error, not bad input) if a qid, docid
    or the tag is empty or contains whitespace, or a score is not finite: such
    a file could not be read back.
    """
    _check_token(tag, "run tag")
    for qid, docs in run.items():
        _check_token(qid, "query id")
        for rank, (docid, score) in enumerate(docs, start=1):
            _check_token(docid, "document id")
            if not math.isfinite(score):
                raise ValueError(f"score {score!r} for {qid}/{docid} is not finite")
            fh.write(f"{qid} Q0 {docid} {rank} {score:.6f} {tag}\n")


def read_run(path: StrPath) -> Run:
    """Read a TREC run file (``qid Q0 docid rank score tag``).

    Columns are whitespace separated; blank lines are ignored. Each query's
    documents are sorted by score descending, then rank ascending -- the order
    trec_eval scores in -- so a file whose ranks and scores disagree is
    evaluated the standard way. Queries keep the order of their first line.

    Raises :class:`InputError` (with path and line) for a line without exactly
    six columns, a non-integer rank, a non-finite or non-numeric score, or the
    same document listed twice for one query.
    """
    where = os.fspath(path)
    rows: dict[str, list[tuple[float, int, str]]] = {}
    seen: dict[str, set[str]] = {}
    for lineno, line in _lines(path):
        parts = line.split()
        if not parts:
            continue

        def bad(problem: str, _lineno: int = lineno) -> InputError:
            return _line_error(where, _lineno, problem, "each line must be 'qid Q0 docid rank score tag'")

        if len(parts) != 6:
            raise bad(f"expected 6 columns 'qid Q0 docid rank score tag', found {len(parts)}")
        qid, _q0, docid, rank_s, score_s, _tag = parts
        try:
            rank = int(rank_s)
        except ValueError:
            raise bad(f"rank must be an integer, found {rank_s!r}") from None
        try:
            score = float(score_s)
        except ValueError:
            raise bad(f"score must be a number, found {score_s!r}") from None
        if not math.isfinite(score):
            raise bad(f"score must be finite, found {score_s!r}")
        docs_seen = seen.setdefault(qid, set())
        if docid in docs_seen:
            raise bad(f"document {docid!r} listed twice for query {qid!r}")
        docs_seen.add(docid)
        rows.setdefault(qid, []).append((score, rank, docid))

    run: Run = {}
    for qid, entries in rows.items():
        entries.sort(key=lambda e: (-e[0], e[1]))
        run[qid] = [(docid, score) for score, _rank, docid in entries]
    return run


def read_qrels(path: StrPath) -> Qrels:
    """Read relevance judgments.

    Two layouts are accepted, line by line, whitespace separated:

    * ``qid docid rel`` (3 columns, e.g. BEIR's TSV; a first-line header such
      as ``query-id corpus-id score`` is skipped);
    * ``qid iter docid rel`` (4 columns, the TREC layout; ``iter`` is ignored).

    ``rel`` must be an integer. Only ``rel > 0`` enters the relevant set;
    ``rel <= 0`` marks a judged non-relevant document and is left out (the
    query id is still recorded, with whatever relevant documents it has). If a
    pair is judged twice, the later line wins. Blank lines are ignored.

    Raises :class:`InputError` (with path and line) for any other line.
    """
    where = os.fspath(path)
    qrels: Qrels = {}
    first = True
    for lineno, line in _lines(path):
        parts = line.split()
        if not parts:
            continue
        is_first, first = first, False

        def bad(problem: str, _lineno: int = lineno) -> InputError:
            return _line_error(where, _lineno, problem, "each line must be 'qid docid rel' or 'qid 0 docid rel'")

        if len(parts) == 3:
            qid, docid, rel_s = parts
        elif len(parts) == 4:
            qid, _iter, docid, rel_s = parts
        else:
            raise bad(f"expected 3 columns 'qid docid rel' or 4 columns 'qid 0 docid rel', found {len(parts)}")
        try:
            rel = int(rel_s)
        except ValueError:
            if is_first and len(parts) == 3 and rel_s.lower() in _QRELS_HEADER_RELS:
                continue  # a header line
            raise bad(f"relevance must be an integer, found {rel_s!r}") from None
        judged = qrels.setdefault(qid, {})
        if rel > 0:
            judged[docid] = rel
        else:
            judged.pop(docid, None)
    return qrels


def read_queries(path: StrPath) -> list[tuple[str, str]]:
    """Read queries from JSONL: one ``{"id": ..., "text": ...}`` object a line.

    ``id`` may be a string or an integer (turned into a string, since run and
    qrels files key queries by text); ``text`` must be a non-blank string.
    Other fields are ignored, blank lines are skipped and the file order is
    kept, so ``bisearch run`` output follows the query file.

    Raises :class:`InputError` with the line number for invalid JSON, a
    missing or ill-typed field, or a repeated id.
    """
    where = os.fspath(path)
    queries: list[tuple[str, str]] = []
    seen: set[str] = set()
    for lineno, line in _lines(path):
        if not line.strip():
            continue

        def bad(problem: str, _lineno: int = lineno) -> InputError:
            return _line_error(where, _lineno, problem, 'each line must be a JSON object like {"id": "q1", "text": "..."}')

        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            raise bad(f"invalid JSON ({exc.msg})") from None
        if not isinstance(obj, dict):
            raise bad(f"expected a JSON object, found {type(obj).__name__}")
        if "id" not in obj:
            raise bad('missing "id"')
        qid = obj["id"]
        if isinstance(qid, bool) or not isinstance(qid, (str, int)):
            raise bad(f'"id" must be a string or an integer, found {type(qid).__name__}')
        qid = str(qid)
        if not qid.strip():
            raise bad('"id" is empty')
        text = obj.get("text")
        if not isinstance(text, str):
            raise bad('missing "text" or it is not a string')
        if not text.strip():
            raise bad('"text" is empty')
        if qid in seen:
            raise bad(f"query id {qid!r} appears twice")
        seen.add(qid)
        queries.append((qid, text))
    return queries


# --------------------------------------------------------------------------- #
# Metrics
# --------------------------------------------------------------------------- #


@dataclass(frozen=True)
class Metrics:
    """Averages of the standard ranking metrics over judged queries.

    Every figure is in ``[0, 1]``. ``queries`` is how many judged queries (with
    at least one relevant document) the averages are taken over.
    """

    mrr_at_10: float
    recall_at_10: float
    recall_at_100: float
    ndcg_at_10: float
    map: float
    queries: int

    def as_dict(self) -> dict[str, float | int]:
        """The fields as a plain dict (for JSON output and benchmarks)."""
        return asdict(self)


_METRIC_NAMES = ("mrr_at_10", "recall_at_10", "recall_at_100", "ndcg_at_10", "map")
_LABELS = {
    "mrr_at_10": "MRR@10",
    "recall_at_10": "Recall@10",
    "recall_at_100": "Recall@100",
    "ndcg_at_10": "nDCG@10",
    "map": "MAP",
    "queries": "queries",
}


def _dedupe(docs: list[tuple[str, float]]) -> list[str]:
    """Doc ids in rank order, keeping only each id's first (best) position.

    A repeated document must not be credited twice, or recall and AP could
    exceed 1.
    """
    seen: set[str] = set()
    out: list[str] = []
    for docid, _score in docs:
        if docid not in seen:
            seen.add(docid)
            out.append(docid)
    return out


def _dcg(gains: list[int]) -> float:
    """Discounted cumulative gain: sum of ``(2^rel - 1) / log2(i + 1)``, i from 1."""
    return sum((2.0**rel - 1.0) / math.log2(i + 1) for i, rel in enumerate(gains, start=1))


def _query_metrics(ranked: list[str], relevant: dict[str, int]) -> dict[str, float]:
    """The five metrics for one query; ``relevant`` must be non-empty."""
    n_rel = len(relevant)

    mrr = 0.0
    for i, docid in enumerate(ranked[:_CUTOFF], start=1):
        if docid in relevant:
            mrr = 1.0 / i
            break

    hits_10 = sum(1 for d in ranked[:_CUTOFF] if d in relevant)
    hits_100 = sum(1 for d in ranked[:_RECALL_DEEP] if d in relevant)

    dcg = _dcg([relevant.get(d, 0) for d in ranked[:_CUTOFF]])
    idcg = _dcg(sorted(relevant.values(), reverse=True)[:_CUTOFF])
    # The ratio cannot exceed 1 mathematically; min() guards summation rounding.
    ndcg = min(1.0, dcg / idcg) if idcg > 0 else 0.0

    hits = 0
    precision_sum = 0.0
    for i, docid in enumerate(ranked, start=1):
        if docid in relevant:
            hits += 1
            precision_sum += hits / i
    ap = precision_sum / n_rel

    return {
        "mrr_at_10": mrr,
        "recall_at_10": hits_10 / n_rel,
        "recall_at_100": hits_100 / n_rel,
        "ndcg_at_10": ndcg,
        "map": ap,
    }


def per_query(run: Run, qrels: Qrels) -> dict[str, dict[str, float]]:
    """Per-query figures, keyed by qid, for debugging a score.

    Covers exactly the queries :func:`evaluate` averages over -- those in
    ``qrels`` with at least one relevant document, in ``qrels`` order -- each
    mapped to ``{"mrr_at_10", "recall_at_10", "recall_at_100", "ndcg_at_10",
    "map"}``. A judged query absent from the run gets all zeros.
    """
    out: dict[str, dict[str, float]] = {}
    for qid, judged in qrels.items():
        relevant = {d: r for d, r in judged.items() if r > 0}
        if not relevant:
            continue
        out[qid] = _query_metrics(_dedupe(run.get(qid, [])), relevant)
    return out


def evaluate(run: Run, qrels: Qrels) -> Metrics:
    """Average MRR@10, Recall@10/100, nDCG@10 and MAP over the judged queries.

    The average is over the queries in ``qrels`` with at least one relevant
    document. A judged query missing from the run scores 0 on every metric:
    that is the ``trec_eval -c`` convention, and it keeps a system from
    looking better by skipping hard queries. Queries in the run but not in
    ``qrels`` are ignored (nothing to score them against).

    Definitions, per query (a document repeated in a run counts only at its
    first position):

    * MRR@10 -- ``1/rank`` of the first relevant document in the top 10, else 0;
    * Recall@k -- relevant documents in the top k divided by all relevant ones;
    * nDCG@10 -- graded: DCG = sum ``(2^rel - 1) / log2(i + 1)`` over ranks
      ``i = 1..10``, divided by the DCG of the judged grades sorted best first;
    * MAP -- average precision over the whole run list (no cutoff beyond its
      length), divided by the number of relevant documents.

    With no judged query at all, every figure is 0 and ``queries`` is 0.
    """
    figures = per_query(run, qrels)
    n = len(figures)
    if n == 0:
        return Metrics(0.0, 0.0, 0.0, 0.0, 0.0, queries=0)
    means = {name: sum(f[name] for f in figures.values()) / n for name in _METRIC_NAMES}
    return Metrics(**means, queries=n)


def format_metrics(m: Metrics) -> str:
    """A small aligned table, one metric per line, 4 decimals (for the CLI)."""
    width = max(len(label) for label in _LABELS.values())
    lines = []
    for name, value in m.as_dict().items():
        label = _LABELS[name].ljust(width)
        lines.append(f"{label}  {value}" if name == "queries" else f"{label}  {value:.4f}")
    return "\n".join(lines)
