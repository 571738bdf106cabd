"""search.proximity: neighbouring English query words lift passages where they stand together."""

from __future__ import annotations

import pytest
from conftest import built_index
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from search import Document, Index, proximity


@pytest.fixture(scope="module")
def stadium(tmp_path_factory):
    """ "super" and "bowl" apart but often (high BM25), against once side by side; and Persian twins."""
    filler = " ".join(f"w{i}" for i in range(30))
    docs = [
        # Each word twice, never neighbours: BM25 alone puts this first.
        Document(id="apart", text=f"A super computer. {filler}. Super again. {filler}. A bowl of soup. {filler}. A bowl."),
        Document(id="together", text=f"They won the Super Bowl. {filler} {filler}."),
        # The same pair in Persian: no bonus, whatever the order.
        Document(id="fa-apart", text=f"روابط خوب. {filler}. عمومی و روابط. {filler} عمومی."),
        Document(id="fa-together", text=f"روابط عمومی. {filler} {filler}."),
    ]
    for i in range(12):
        docs.append(Document(id=f"other{i:02d}", text=f"Stadium news {i}: the crowd, the game, the season."))
    yield from built_index(tmp_path_factory, "proximity", docs)


def _pairs(ix: Index, text: str):
    return proximity.query_pairs(ix.parse(text).query, text, ix._analyzer)


@pytest.mark.parametrize(
    ("text", "want"),
    [
        # Stopwords go at query and index time alike, positions renumbered:
        # "did the" leave "denver" next to nothing but "bronco" ...; numbers pair with English words.
        (
            "When did the Denver Broncos win Super Bowl 50?",
            [("denver", "bronco"), ("bronco", "win"), ("win", "super"), ("super", "bowl"), ("bowl", "50")],
        ),
        # An excluded word is not scored, and its neighbours were not neighbours.
        ("oil -gas prices", []),
        ("oil prices NOT gas", [("oil", "price")]),
        # A phrase already demands adjacency; the words around it are not a pair.
        ('"super bowl" champions', []),
        # A term of another field breaks the chain too.
        ("title:denver super bowl", [("super", "bowl")]),
        # A filter is no word.
        ("lang:en super bowl", [("super", "bowl")]),
        # A repeated word: each pair once, in both orders if both occur.
        ("mass transfer by mass transfer", [("mass", "transfer"), ("transfer", "mass")]),
        # Persian pairs get no bonus (measured: no Persian gain at any weight) ...
        ("روابط عمومی", []),
        # ... nor two numbers in a Persian query ...
        ("سال 1390 1391", []),
        # ... but a mixed query's English neighbours do.
        ("دانشگاه Tehran University", [("tehran", "universiti")]),
        # A boost is syntax, not a word between neighbours (Whoosh's "^" and a number) ...
        ("super^2 bowl", [("super", "bowl")]),
        ('denver "super bowl"^1.5 champions^0.5 parade', [("champion", "parad")]),
        # ... and a caret that is no boost stays what the analyzer makes of it.
        ("super^bowl", [("super", "bowl")]),
        # One word has no pair.
        ("bowl", []),
    ],
)
def test_query_pairs(stadium, text, want):
    assert list(_pairs(stadium, text)) == want


def _ids(results):
    return [h.doc_id for h in results.hits]


def test_neighbours_outrank_scattered_repeats(stadium, monkeypatch):
    with monkeypatch.context() as m:
        m.setattr(proximity, "query_pairs", lambda *a, **k: ())
        plain = stadium.search("super bowl", limit=2)
    near = stadium.search("super bowl", limit=2)
    # The test can fail both ways: BM25 alone must prefer the scattered repeats.
    assert _ids(plain) == ["apart", "together"]
    assert _ids(near) == ["together", "apart"]
    assert near.total == plain.total
    # A bonus only adds: the re-ranked top keeps scores at or above BM25's.
    bm25 = {h.doc_id: h.score for h in plain.hits}
    assert all(h.score >= bm25[h.doc_id] for h in near.hits)
    assert near.hits[0].score > bm25["together"]


def test_documents_ranking_uses_it_too(stadium, monkeypatch):
    with monkeypatch.context() as m:
        m.setattr(proximity, "query_pairs", lambda *a, **k: ())
        plain = [d for d, _ in stadium.search_documents("super bowl", limit=2)]
    near = [d for d, _ in stadium.search_documents("super bowl", limit=2)]
    assert plain == ["apart", "together"]
    assert near == ["together", "apart"]


def test_persian_pair_is_left_to_bm25(stadium, monkeypatch):
    with monkeypatch.context() as m:
        m.setattr(proximity, "query_pairs", lambda *a, **k: ())
        plain = stadium.search("روابط عمومی", limit=4)
    same = stadium.search("روابط عمومی", limit=4)
    assert [(h.doc_id, h.score) for h in same.hits] == [(h.doc_id, h.score) for h in plain.hits]
    assert _ids(same)[0] == "fa-apart"


def test_pages_follow_the_reranked_order(stadium):
    whole = _ids(stadium.search("super bowl stadium game", limit=9))
    pages = [_ids(stadium.search("super bowl stadium game", limit=3, offset=o)) for o in (0, 3, 6)]
    assert [d for page in pages for d in page] == whole


# -- properties -----------------------------------------------------------------

WORDS = ["alpha", "beta", "gamma", "delta", "omega", "sigma"]


@pytest.fixture(scope="module")
def random_index(tmp_path_factory):
    """300 passages of random words: long posting lists over several blocks."""
    import random

    rnd = random.Random(7)
    docs = [Document(id=f"r{i:03d}", text=" ".join(rnd.choice(WORDS) for _ in range(rnd.randint(3, 40)))) for i in range(300)]
    yield from built_index(tmp_path_factory, "proximity-random", docs)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(query=st.lists(st.sampled_from(WORDS), min_size=2, max_size=5).map(" ".join))
def test_rerank_only_reorders_the_top_and_only_raises_scores(random_index, query, monkeypatch):
    with monkeypatch.context() as m:
        m.setattr(proximity, "query_pairs", lambda *a, **k: ())
        plain = random_index.search(query, limit=80, snippets=False)
    near = random_index.search(query, limit=80, snippets=False)
    assert near.total == plain.total
    depth = proximity.DEPTH
    # The same hits in the re-ranked top, the same order below it.
    assert sorted(_ids(near)[:depth]) == sorted(_ids(plain)[:depth])
    assert _ids(near)[depth:] == _ids(plain)[depth:]
    scores = [h.score for h in near.hits]
    assert scores == sorted(scores, reverse=True)
    bm25 = {h.doc_id: h.score for h in plain.hits}
    assert all(h.score >= bm25[h.doc_id] for h in near.hits)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    word=st.sampled_from(WORDS),
    targets=st.lists(st.integers(min_value=0, max_value=299), min_size=1, max_size=60, unique=True).map(sorted),
)
def test_block_skip_reads_the_same_positions_as_whooshs_skip_to(random_index, word, targets, monkeypatch):
    searcher = random_index._current_searcher()
    fast = proximity._positions(searcher, "text", [word], targets)
    with monkeypatch.context() as m:
        m.setattr(proximity, "W3LeafMatcher", type("NoMatcher", (), {}))  # take Whoosh's skip_to
        slow = proximity._positions(searcher, "text", [word], targets)
    assert fast == slow


def test_block_skip_reads_every_posting(random_index, monkeypatch):
    searcher = random_index._current_searcher()
    everything = list(range(searcher.doc_count_all()))
    fast = proximity._positions(searcher, "text", WORDS, everything)
    with monkeypatch.context() as m:
        m.setattr(proximity, "W3LeafMatcher", type("NoMatcher", (), {}))
        slow = proximity._positions(searcher, "text", WORDS, everything)
    assert fast == slow
    # Each word is in most passages: several blocks of postings were read.
    assert all(len(fast[w]) > 150 for w in WORDS)


@pytest.mark.parametrize("limit", [7, 10, 50])
def test_pages_across_the_reranked_top_equal_one_long_search(random_index, limit):
    query = "alpha beta gamma"
    whole = _ids(random_index.search(query, limit=120, snippets=False))
    assert len(whole) == 120  # the pages below cross DEPTH (50)
    pages = [_ids(random_index.search(query, limit=limit, offset=o, snippets=False)) for o in range(0, 120, limit)]
    assert [d for page in pages for d in page][:120] == whole


def test_documents_limit_below_one_is_a_query_error(random_index):
    from search.errors import QueryError

    for text in ("alpha", "alpha beta"):
        with pytest.raises(QueryError):
            random_index.search_documents(text, limit=0)
