"""search.weighting: BM25F with per-script parameters and Lucene's idf."""

from __future__ import annotations

import math

import pytest
from conftest import built_index
from whoosh.scoring import BM25F

from search import Document, proximity
from search.query import ENGLISH_BM25, PERSIAN_BM25, scoring
from search.weighting import BilingualBM25F, Params

P = Params(k1=1.5, b=0.3, body_b=0.9, title=0.25)
E = Params(k1=0.7, b=0.6, body_b=0.8, title=0.5)


@pytest.mark.parametrize(
    ("term", "want"),
    [
        ("isfahan", E),  # Latin letters: English settings
        (b"isfahan", E),  # Whoosh hands terms over as bytes too
        ("اصفهان", P),  # Persian script
        ("اصفهان".encode(), P),
        ("1404", P),  # digits: the default (Persian) settings
        ("αβγ", P),  # any other script: the default
        ("fa:sfhn", P),  # a cross-script key of a Persian passage: its passage's script
        (b"en:sfhn", E),  # ... of an English passage
    ],
)
def test_parameters_follow_the_terms_script(term, want):
    assert BilingualBM25F(persian=P, english=E).params(term) == want


@pytest.fixture(scope="module")
def ocean(tmp_path_factory):
    """20 passages: "whale" (and نهنگ) in one, "cause"/"death"/"rate" (and Persian words) in half."""
    docs = [
        Document(id="whale", text="The whale. نهنگ."),
        Document(id="titled", title="نهنگ whale", text="Nothing here. هیچ."),
    ]
    for i in range(18):
        words = ["cause death rate", "مرگ میزان ساحل"] if i % 2 == 0 else ["ocean current", "اقیانوس جریان"]
        docs.append(Document(id=f"d{i:02d}", text=f"{words[0]} {i}. {words[1]}."))
    yield from built_index(tmp_path_factory, "weighting", docs)


def test_lucene_idf_falls_to_zero_for_a_word_every_passage_has(ocean):
    searcher = ocean._current_searcher()
    w = searcher.weighting
    n = searcher.doc_count_all()
    assert n == 20
    rare = w.idf(searcher, "text", "whale")
    common = w.idf(searcher, "text", "death")
    # Lucene's log(1 + (N - df + 0.5) / (df + 0.5)), checked by hand.
    assert rare == pytest.approx(math.log(1 + 19.5 / 1.5))
    assert common == pytest.approx(math.log(1 + 11.5 / 9.5))
    # Whoosh's own idf, log(N / (df + 1)) + 1, keeps the common word above 1.
    assert BM25F().idf(searcher, "text", "death") > 1.5 > common


@pytest.mark.parametrize("query", ["cause death rate whale", "مرگ میزان ساحل نهنگ"])
def test_the_rare_word_outweighs_three_common_ones(ocean, query, monkeypatch):
    # The Hamshahri topic "علل مرگ و میر نهنگ‌ها": with Whoosh's idf the
    # passages that only say cause/death/rate outrank the one about whales.
    # (Ranking by idf alone: the proximity bonus, which favours "cause death
    # rate" side by side, has tests of its own.)
    monkeypatch.setattr(proximity, "query_pairs", lambda *a, **k: ())
    assert ocean.search(query, limit=1).hits[0].doc_id == "whale"
    with monkeypatch.context() as m:
        m.setattr(ocean._current_searcher(), "weighting", BM25F(K1=PERSIAN_BM25.k1, B=PERSIAN_BM25.b))
        m.setattr(ocean._current_searcher(), "_idf_cache", {})
        assert ocean.search(query, limit=1).hits[0].doc_id != "whale"


def test_each_field_gets_its_scripts_settings(ocean):
    searcher = ocean._current_searcher()
    w = BilingualBM25F(persian=P, english=E)
    text_en = w.scorer(searcher, "text", "whale")
    text_fa = w.scorer(searcher, "text", "نهنگ")
    body_en = w.scorer(searcher, "body", "whale")
    title_fa = w.scorer(searcher, "title", "نهنگ")
    assert (text_en.K1, text_en.B) == (E.k1, E.b)
    assert (text_fa.K1, text_fa.B) == (P.k1, P.b)
    assert body_en.B == E.body_b
    # The title weight scales the whole score (BM25 is linear in idf).
    assert title_fa.idf == pytest.approx(P.title * w.idf(searcher, "title", "نهنگ"))


def test_the_index_ranks_with_the_tuned_settings(ocean):
    w = scoring()
    assert isinstance(w, BilingualBM25F)
    assert (w.persian, w.english) == (PERSIAN_BM25, ENGLISH_BM25)
    assert isinstance(ocean._current_searcher().weighting, BilingualBM25F)
