"""Pseudo-relevance feedback (``expand=True``): what it adds and what it must not do."""

from __future__ import annotations

from pathlib import Path

import pytest
from whoosh import query as wq

from search import Index
from search.feedback import expand, is_topic

# A topic ("earthquake Bam") whose third report never names it: only the
# words the first two share with it (shelters, rubble, tents) can find it.
DOCS = [
    {"id": "quake-1", "text": "The earthquake in Bam left families in shelters; rubble and tents everywhere."},
    {"id": "quake-2", "text": "Bam after the earthquake: shelters, tents and rubble, and the rebuilding plan."},
    {"id": "quake-3", "text": "Volunteers cleared rubble and raised tents and shelters for the families."},
    {"id": "football", "text": "The football match ended with a late goal and a red card."},
    {"id": "markets", "text": "Markets rallied as oil prices fell and the central bank held rates."},
]


@pytest.fixture(scope="module")
def ix(tmp_path_factory) -> Index:
    index = Index(Path(tmp_path_factory.mktemp("fb")) / "ix")
    index.add(DOCS)
    return index


def test_without_expansion_the_unnamed_report_is_not_found(ix):
    assert "quake-3" not in [d for d, _s in ix.search_documents("earthquake Bam", expand=False)]


def test_expansion_finds_the_report_that_shares_the_topic_words(ix):
    ranked = [d for d, _s in ix.search_documents("earthquake Bam", expand=True)]
    assert ranked[:2] in (["quake-1", "quake-2"], ["quake-2", "quake-1"])  # what matched the query stays on top
    assert ranked[2] == "quake-3"
    assert "football" not in ranked and "markets" not in ranked


def test_added_words_are_new_words_at_a_lower_weight(ix):
    searcher = ix._current_searcher()
    q = ix.parse("earthquake Bam").query
    expanded = expand(searcher, q, ix._analyzer, "earthquake Bam")
    assert isinstance(expanded, wq.Or) and expanded.subqueries[0] is q
    added = expanded.subqueries[1].subqueries
    words = {t.text for t in added}
    assert {"rubbl", "tent", "shelter"} <= words  # Porter2 stems
    assert not words & {"earthquak", "bam"}  # the query's own words are not added again
    assert all(0 < t.boost < 1 for t in added)


def test_expansion_of_a_query_that_finds_nothing_is_the_query(ix):
    searcher = ix._current_searcher()
    q = ix.parse("zeppelin").query
    assert expand(searcher, q, ix._analyzer, "zeppelin") is q


def test_added_words_stay_inside_the_querys_exclusions_and_filters(tmp_path):
    # The added words (shelters, rubble, tents) also fit the Russian report;
    # "NOT Russia" and "lang:fa" must still keep it out.
    index = Index(tmp_path / "ix")
    index.add([*DOCS, {"id": "quake-ru", "text": "Russia sent shelters, tents and rescuers to clear the rubble."}])
    assert "quake-ru" in [d for d, _s in index.search_documents("earthquake Bam", expand=True)]
    assert "quake-ru" not in [d for d, _s in index.search_documents("earthquake Bam NOT Russia", expand=True)]
    assert index.search_documents("earthquake Bam lang:fa", expand=True) == []


@pytest.mark.parametrize(
    ("text", "topic"),
    [
        ("earthquake Bam", True),  # a few keywords naming a subject
        ("بازسازي شهر زلزله زده بم", True),  # Hamshahri style: Arabic yeh, no ZWNJ
        ("راه هاي جلو گيري از ابتلا به ديابت", True),  # eight words, four once stopwords are gone
        ("Where was the earthquake in Bam", False),  # an English question word
        ("earthquake in Bam?", False),  # a question mark
        ("زلزله بم کجا بود", False),  # a Persian question word
        ("زلزله بم كجاست", False),  # ... in Arabic spelling (ك)
        ("زلزله بم؟", False),  # the Arabic question mark
        # A sentence: more than TOPIC_WORDS content words.
        ("The earthquake in Bam destroyed the old citadel and most houses of the city", False),
        ("the of and", False),  # stopwords only: nothing to expand
        ("", False),
    ],
)
def test_is_topic(ix, text, topic):
    assert is_topic(text, ix._analyzer) is topic


def test_by_default_a_topic_is_expanded_and_a_question_is_not(ix):
    topic = ix.search_documents("earthquake Bam")
    assert topic == ix.search_documents("earthquake Bam", expand=True)
    assert "quake-3" in [d for d, _s in topic]
    question = "Where was the earthquake in Bam?"
    # The test can fail: expansion would find the third report for the question too.
    assert "quake-3" in [d for d, _s in ix.search_documents(question, expand=True)]
    assert ix.search_documents(question) == ix.search_documents(question, expand=False)
    assert "quake-3" not in [d for d, _s in ix.search_documents(question)]


def test_expansion_keeps_a_users_and(ix):
    # "earthquake AND rubble" is required on both sides: the added words
    # (shelters, tents ...) may raise a score, never let "quake-3" or others in without both.
    for expand_ in (True, None):
        ranked = [d for d, _s in ix.search_documents("earthquake AND rubble", expand=expand_)]
        assert set(ranked) == {"quake-1", "quake-2"}


def test_a_filter_only_query_is_no_topic_and_its_filter_holds(tmp_path):
    index = Index(Path(tmp_path) / "ix")
    index.add([{**d, "source": "news" if d["id"] in ("football", "markets") else "quakes"} for d in DOCS])
    assert is_topic("source:quakes", index._analyzer) is False
    assert is_topic("lang:fa earthquake Bam", index._analyzer) is True  # the field is no word; two are left
    for expand_ in (None, True):
        docs = {d for d, _s in index.search_documents("source:news", expand=expand_)}
        assert docs == {"football", "markets"}


def test_a_word_the_query_searches_already_is_not_added_again(tmp_path):
    # "کتاب خانه" ("book house") also searches its glued spelling کتابخانه
    # ("library", search.compounds), which fills the feedback documents:
    # feedback must not add it a second time, at its own weight.
    index = Index(Path(tmp_path) / "ix")
    index.add(
        [{"id": f"lib-{i}", "text": f"کتابخانه مرکزی {i}: کتابخانه و کتاب و خانه و کتابخانه"} for i in range(3)]
        + [{"id": "national", "text": "کتابخانه ملی"}, {"id": "football", "text": "فوتبال و بازی"}]
    )
    text = "کتاب خانه"
    searcher = index._current_searcher()
    q = index._plan(index.parse(text), index._parser, text, searcher.reader(), cross=False).direct  # with the glued word
    (glued,) = [t.term for t in index.analyze("کتابخانه")]

    def count(query: wq.Query) -> int:
        return sum(1 for leaf in query.leaves() if isinstance(leaf, wq.Term) and leaf.text == glued)

    assert count(q) > 0  # the glued spelling is searched ...
    expanded = expand(searcher, q, index._analyzer, text)
    assert expanded is not q  # ... feedback added words (مرکزی) ...
    assert count(expanded) == count(q)  # ... but not that one again
