"""Tests for search.evaluate: golden metric values computed by hand, file
round trips, malformed-input errors and Hypothesis properties."""

from __future__ import annotations

import io
import json
import math
import tempfile
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from search.errors import InputError
from search.evaluate import (
    Metrics,
    evaluate,
    format_metrics,
    per_query,
    read_qrels,
    read_queries,
    read_run,
    write_run,
)


def ranked(*docids: str) -> list[tuple[str, float]]:
    """A run list in the given order with strictly decreasing scores."""
    return [(d, float(len(docids) - i)) for i, d in enumerate(docids)]


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


# --------------------------------------------------------------------------- #
# Golden metric values
# --------------------------------------------------------------------------- #


def test_relevant_at_rank_3_gives_mrr_one_third() -> None:
    # Only relevant doc at rank 3: MRR 1/3, it is inside both recall cutoffs,
    # AP = precision at rank 3 = 1/3, nDCG = (1/log2 4) / (1/log2 2) = 1/2.
    m = evaluate({"q": ranked("x", "y", "a")}, {"q": {"a": 1}})
    assert m.mrr_at_10 == pytest.approx(1 / 3)
    assert m.recall_at_10 == 1.0
    assert m.recall_at_100 == 1.0
    assert m.map == pytest.approx(1 / 3)
    assert m.ndcg_at_10 == pytest.approx(0.5)
    assert m.queries == 1


def test_relevant_at_rank_11_is_outside_the_top_10() -> None:
    # Rank 11 is past the @10 cutoff (MRR, Recall@10, nDCG@10 all 0) but still
    # counts for Recall@100 and for MAP (1/11), which has no cutoff.
    docs = [f"n{i}" for i in range(10)] + ["a"]
    m = evaluate({"q": ranked(*docs)}, {"q": {"a": 1}})
    assert m.mrr_at_10 == 0.0
    assert m.recall_at_10 == 0.0
    assert m.ndcg_at_10 == 0.0
    assert m.recall_at_100 == 1.0
    assert m.map == pytest.approx(1 / 11)


def test_missing_judged_query_counts_as_zero() -> None:
    # trec_eval -c: q2 is judged but absent from the run, so it scores 0 and
    # the average over 2 queries of (1, 0) is 0.5 on every metric.
    m = evaluate({"q1": ranked("a")}, {"q1": {"a": 1}, "q2": {"b": 1}})
    assert m.queries == 2
    assert m.mrr_at_10 == pytest.approx(0.5)
    assert m.recall_at_10 == pytest.approx(0.5)
    assert m.recall_at_100 == pytest.approx(0.5)
    assert m.ndcg_at_10 == pytest.approx(0.5)
    assert m.map == pytest.approx(0.5)


def test_unjudged_run_queries_and_queries_without_relevant_docs_are_ignored() -> None:
    # q9 is in the run only; q0 is judged but has no relevant doc. Neither
    # changes the average, which is q1's perfect score over 1 query.
    run = {"q1": ranked("a"), "q9": ranked("zzz"), "q0": ranked("b")}
    qrels = {"q1": {"a": 1}, "q0": {}}
    m = evaluate(run, qrels)
    assert m.queries == 1
    assert m.mrr_at_10 == 1.0
    assert m.map == 1.0


def test_graded_ndcg_computed_by_hand() -> None:
    # Grades a=2, b=1; run ranks b, x, a.
    # DCG  = (2^1-1)/log2(2) + 0 + (2^2-1)/log2(4) = 1 + 3/2 = 2.5
    # IDCG = (2^2-1)/log2(2) + (2^1-1)/log2(3) = 3 + 1/log2(3)
    m = evaluate({"q": ranked("b", "x", "a")}, {"q": {"a": 2, "b": 1}})
    assert m.ndcg_at_10 == pytest.approx(2.5 / (3 + 1 / math.log2(3)))
    assert m.ndcg_at_10 == pytest.approx(0.688529, abs=1e-6)


def test_map_with_two_relevant_at_ranks_1_and_3() -> None:
    # AP = (P@1 + P@3) / 2 = (1 + 2/3) / 2 = 5/6.
    m = evaluate({"q": ranked("a", "x", "b", "y")}, {"q": {"a": 1, "b": 1}})
    assert m.map == pytest.approx((1 + 2 / 3) / 2)
    assert m.mrr_at_10 == 1.0


def test_map_divides_by_all_relevant_including_unretrieved() -> None:
    # 2 relevant docs, only one retrieved (at rank 2): AP = (1/2) / 2 = 1/4.
    m = evaluate({"q": ranked("x", "a")}, {"q": {"a": 1, "b": 1}})
    assert m.map == pytest.approx(0.25)
    assert m.recall_at_10 == pytest.approx(0.5)


def test_recall_at_10_and_100() -> None:
    # 4 relevant: r1, r2 in the top 10, r3 at rank 50, r4 never retrieved.
    # Recall@10 = 2/4, Recall@100 = 3/4.
    docs = ["r1", "r2"] + [f"n{i}" for i in range(47)] + ["r3"]
    assert docs.index("r3") == 49
    m = evaluate({"q": ranked(*docs)}, {"q": {"r1": 1, "r2": 1, "r3": 1, "r4": 1}})
    assert m.recall_at_10 == pytest.approx(0.5)
    assert m.recall_at_100 == pytest.approx(0.75)


def test_duplicate_doc_in_run_is_credited_once() -> None:
    # "a" twice must not count as two hits: recall stays 1, AP stays 1.
    m = evaluate({"q": [("a", 3.0), ("a", 2.0), ("x", 1.0)]}, {"q": {"a": 1}})
    assert m.recall_at_10 == 1.0
    assert m.map == 1.0


def test_no_judged_queries_gives_zeros() -> None:
    # Nothing to average over: all zeros and queries == 0, not a ZeroDivisionError.
    assert evaluate({"q": ranked("a")}, {}) == Metrics(0.0, 0.0, 0.0, 0.0, 0.0, queries=0)


def test_per_query_lists_each_judged_query() -> None:
    # q1: relevant at rank 2 -> MRR 1/2; q2 missing from the run -> zeros.
    pq = per_query({"q1": ranked("x", "a")}, {"q1": {"a": 1}, "q2": {"b": 1}})
    assert list(pq) == ["q1", "q2"]
    assert pq["q1"]["mrr_at_10"] == pytest.approx(0.5)
    assert set(pq["q2"].values()) == {0.0}
    assert set(pq["q1"]) == {
        "mrr_at_10",
        "recall_at_10",
        "recall_at_100",
        "ndcg_at_10",
        "map",
    }


def test_as_dict_and_format_metrics() -> None:
    m = Metrics(1 / 3, 0.5, 0.75, 0.688529, 5 / 6, queries=7)
    assert m.as_dict() == {
        "mrr_at_10": 1 / 3,
        "recall_at_10": 0.5,
        "recall_at_100": 0.75,
        "ndcg_at_10": 0.688529,
        "map": 5 / 6,
        "queries": 7,
    }
    lines = format_metrics(m).splitlines()
    assert len(lines) == 6
    assert lines[0].split() == ["MRR@10", "0.3333"]
    assert lines[3].split() == ["nDCG@10", "0.6885"]
    assert lines[4].split() == ["MAP", "0.8333"]
    assert lines[5].split() == ["queries", "7"]
    # Values line up in one column.
    assert len({line.index(line.split()[1]) for line in lines}) == 1


# --------------------------------------------------------------------------- #
# Run files
# --------------------------------------------------------------------------- #


def test_write_run_format() -> None:
    buf = io.StringIO()
    write_run({"q2": [("d1", 2.5), ("d7", 1.0)], "q1": [("d3", 0.1234567)]}, buf, tag="t")
    assert buf.getvalue() == ("q2 Q0 d1 1 2.500000 t\nq2 Q0 d7 2 1.000000 t\nq1 Q0 d3 1 0.123457 t\n")


@pytest.mark.parametrize(
    "run",
    [
        {"q": [("has space", 1.0)]},
        {"": [("d", 1.0)]},
        {"q": [("d", math.nan)]},
        {"q": [("d", math.inf)]},
    ],
)
def test_write_run_refuses_what_it_could_not_read_back(run) -> None:
    with pytest.raises(ValueError):
        write_run(run, io.StringIO())


def test_run_round_trip(tmp_path: Path) -> None:
    run = {
        "q1": [("doc-3", 12.5), ("سند_۲", 7.25), ("d1", 7.25), ("d9", -1.0)],
        "42": [("x", 0.000001)],
    }
    path = tmp_path / "run.txt"
    with path.open("w", encoding="utf-8") as fh:
        write_run(run, fh)
    assert read_run(path) == run


def test_read_run_sorts_by_score_then_rank(tmp_path: Path) -> None:
    # Lines out of order; b and c tie on score, so rank decides (c=2 before b=3).
    path = write(
        tmp_path,
        "run.txt",
        "q Q0 b 3 1.0 t\n\nq Q0 a 9 5.0 t\nq Q0 c 2 1.0 t\nq\tQ0\td\t1\t0.5\tt\n",
    )
    assert read_run(path) == {"q": [("a", 5.0), ("c", 1.0), ("b", 1.0), ("d", 0.5)]}


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("q Q0 d 1 1.0", "expected 6 columns"),
        ("q Q0 d 1 1.0 t extra", "expected 6 columns"),
        ("q Q0 d one 1.0 t", "rank must be an integer"),
        ("q Q0 d 1 high t", "score must be a number"),
        ("q Q0 d 1 nan t", "score must be finite"),
        ("q Q0 a 2 1.0 t", "listed twice"),
    ],
)
def test_malformed_run_line_names_path_and_line(tmp_path: Path, line: str, expected: str) -> None:
    path = write(tmp_path, "run.txt", f"q Q0 a 1 2.0 t\n\n{line}\n")
    with pytest.raises(InputError) as info:
        read_run(path)
    err = info.value
    assert err.line == 3
    assert err.path == str(path)
    assert expected in err.message
    assert f"{path}:3" in str(err)
    assert err.hint


# --------------------------------------------------------------------------- #
# Qrels files
# --------------------------------------------------------------------------- #


def test_read_qrels_three_column_tsv(tmp_path: Path) -> None:
    path = write(tmp_path, "q.tsv", "q1\td1\t1\nq1\td2\t2\n\nq2\td3\t0\n")
    # d3 is judged non-relevant: q2 is recorded but has no relevant doc.
    assert read_qrels(path) == {"q1": {"d1": 1, "d2": 2}, "q2": {}}


def test_read_qrels_trec_four_column(tmp_path: Path) -> None:
    path = write(tmp_path, "qrels.txt", "401 0 FT1 1\n401 0 FT2 0\n402 0 LA7 3\n402 0 LA8 -1\n")
    assert read_qrels(path) == {"401": {"FT1": 1}, "402": {"LA7": 3}}


def test_read_qrels_skips_beir_header_and_later_judgment_wins(tmp_path: Path) -> None:
    path = write(tmp_path, "test.tsv", "query-id\tcorpus-id\tscore\nq\ta\t1\nq\tb\t1\nq\tb\t0\n")
    assert read_qrels(path) == {"q": {"a": 1}}


@pytest.mark.parametrize(
    ("text", "line", "expected"),
    [
        ("q d 1\nq d\n", 2, "expected 3 columns"),
        ("q d 1\n\nq 0 d 1 extra\n", 3, "found 5"),
        ("q d 1\nq d yes\n", 2, "relevance must be an integer"),
        ("q 0 d 1.5\n", 1, "relevance must be an integer"),
        # A header-like line is only skipped as the first line.
        ("q d 1\nquery-id corpus-id score\n", 2, "relevance must be an integer"),
    ],
)
def test_malformed_qrels_line_names_path_and_line(tmp_path: Path, text: str, line: int, expected: str) -> None:
    path = write(tmp_path, "qrels.txt", text)
    with pytest.raises(InputError) as info:
        read_qrels(path)
    assert info.value.line == line
    assert info.value.path == str(path)
    assert expected in info.value.message
    assert f"{path}:{line}" in str(info.value)


# --------------------------------------------------------------------------- #
# Query files and general file errors
# --------------------------------------------------------------------------- #


def test_read_queries(tmp_path: Path) -> None:
    lines = [
        json.dumps({"id": "q1", "text": "کتاب‌های فارسی", "extra": 1}, ensure_ascii=False),
        "",
        json.dumps({"id": 7, "text": "persian books"}),
    ]
    path = write(tmp_path, "queries.jsonl", "\n".join(lines) + "\n")
    assert read_queries(path) == [("q1", "کتاب‌های فارسی"), ("7", "persian books")]


@pytest.mark.parametrize(
    ("bad", "expected"),
    [
        ('{"id": "q2", "text": ', "invalid JSON"),
        ('["q2", "text"]', "expected a JSON object"),
        ('{"text": "x"}', 'missing "id"'),
        ('{"id": true, "text": "x"}', '"id" must be a string or an integer'),
        ('{"id": "q2"}', 'missing "text"'),
        ('{"id": "q2", "text": "  "}', '"text" is empty'),
        ('{"id": "q1", "text": "again"}', "appears twice"),
    ],
)
def test_malformed_query_line_gives_line_number(tmp_path: Path, bad: str, expected: str) -> None:
    path = write(tmp_path, "queries.jsonl", '{"id": "q1", "text": "ok"}\n\n' + bad + "\n")
    with pytest.raises(InputError) as info:
        read_queries(path)
    assert info.value.line == 3
    assert expected in info.value.message


@pytest.mark.parametrize("reader", [read_run, read_qrels, read_queries])
def test_missing_file_is_input_error(tmp_path: Path, reader) -> None:
    missing = tmp_path / "nope.txt"
    with pytest.raises(InputError) as info:
        reader(missing)
    assert info.value.path == str(missing)
    assert info.value.line is None


def test_invalid_utf8_names_its_line(tmp_path: Path) -> None:
    path = tmp_path / "qrels.txt"
    path.write_bytes(b"q d1 1\nq d\xff2 1\n")
    with pytest.raises(InputError) as info:
        read_qrels(path)
    assert info.value.line == 2
    assert "UTF-8" in info.value.message


def test_utf8_bom_is_tolerated(tmp_path: Path) -> None:
    path = tmp_path / "qrels.txt"
    path.write_bytes("\ufeffq1 0 d1 1\r\nq1 0 d2 1\r\n".encode())
    assert read_qrels(path) == {"q1": {"d1": 1, "d2": 1}}


# --------------------------------------------------------------------------- #
# Properties
# --------------------------------------------------------------------------- #

ids = st.text(alphabet="abcdefghij0123456789", min_size=1, max_size=3)
qids = st.sampled_from(["q1", "q2", "q3", "q4"])

runs = st.dictionaries(
    qids,
    st.lists(st.tuples(ids, st.floats(-1e6, 1e6)), max_size=30),
    max_size=4,
)
qrels_st = st.dictionaries(
    qids,
    st.dictionaries(ids, st.integers(min_value=1, max_value=3), max_size=15),
    max_size=4,
)


@given(runs, qrels_st)
def test_all_metrics_lie_in_unit_interval(run, qrels) -> None:
    m = evaluate(run, qrels)
    for name, value in m.as_dict().items():
        if name != "queries":
            assert 0.0 <= value <= 1.0, (name, value)
    for figures in per_query(run, qrels).values():
        assert all(0.0 <= v <= 1.0 for v in figures.values())
    assert m.queries == sum(1 for judged in qrels.values() if judged)


@given(
    st.dictionaries(ids, st.integers(min_value=1, max_value=3), min_size=1, max_size=25),
    st.lists(ids, max_size=20),
)
def test_ranking_the_relevant_docs_first_is_perfect(relevant, others) -> None:
    # Relevant docs first, best grade first (needed for graded nDCG = 1), then
    # any non-relevant docs.
    order = sorted(relevant, key=lambda d: -relevant[d])
    order += [d for d in dict.fromkeys(others) if d not in relevant]
    m = evaluate({"q": ranked(*order)}, {"q": relevant})
    assert m.mrr_at_10 == 1.0
    assert m.ndcg_at_10 == pytest.approx(1.0)
    assert m.map == pytest.approx(1.0)
    assert m.recall_at_100 == 1.0
    if len(relevant) <= 10:
        assert m.recall_at_10 == 1.0
    else:
        assert m.recall_at_10 == pytest.approx(10 / len(relevant))


@given(
    st.dictionaries(
        ids,
        st.lists(st.tuples(ids, st.floats(-1e6, 1e6)), max_size=10, unique_by=lambda t: t[0]),
        max_size=4,
    )
)
def test_write_then_read_run_keeps_order_and_rounds_scores(run) -> None:
    # Give each query's docs non-increasing scores so rank order is score order.
    run = {q: [(d, s) for d, s in sorted(docs, key=lambda t: -t[1])] for q, docs in run.items()}
    buf = io.StringIO()
    write_run(run, buf)
    back = _read_run_text(buf.getvalue())
    expected = {q: [(d, float(f"{s:.6f}")) for d, s in docs] for q, docs in run.items() if docs}
    assert back == expected


def _read_run_text(text: str) -> dict:
    """read_run on a string, via a temporary file (Hypothesis forbids tmp_path)."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "run.txt"
        path.write_text(text, encoding="utf-8")
        return read_run(path)
