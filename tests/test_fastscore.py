"""The term-at-a-time scorer (search.fastscore) against Whoosh's own loop.

Every check runs the same query twice through :func:`search.query.collect`,
once with the fast path and once with it switched off, and asks for the same
hits in the same order, the same scores (to 1e-9, relative; in practice they
are bit-identical) and the same total. The indexes are built here from
generated mixed Persian/English passages in the product's schema: one
segment and several, with and without deleted passages, below and above the
5,000-document line where Whoosh changes how it ORs terms.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import whoosh.index
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from whoosh import query as wq

from search import Index, fastscore
from search.crosslingual import bridge_query
from search.fastscore import Unsupported, fast_collect
from search.query import collect, make_parser, parse_query, scoring
from search.schema import build_schema

FA_WORDS = (
    "ایران تهران اصفهان شیراز روسیه همکاری اقتصاد نفت بازار دولت مجلس وزیر قیمت ارز بانک مرکزی"
    " فرهنگ کتاب کتابخانه دانشگاه دانشجو پژوهش تاریخ شهر میدان مسجد باغ ورزش فوتبال تیم بازیکن"
    " آب هوا باران کشاورزی گندم صادرات واردات خودرو صنعت کارخانه انرژی برق گاز خورشیدی"
).split()
EN_WORDS = (
    "Iran Tehran Isfahan Shiraz Russia cooperation economy oil market government parliament minister"
    " price currency bank central culture book library university student research history city square"
    " mosque garden sport football team player water weather rain farming wheat exports imports car"
    " industry factory energy power gas solar the of and in"
).split()
#: Query words: indexed ones, a few absent ones, question words that parse_query drops.
QUERY_WORDS = FA_WORDS + EN_WORDS + ["زلزله", "earthquake", "Kyoto", "کجاست", "چیست", "who", "when"]


def _zipf_choice(rng: random.Random, words: list[str]) -> str:
    # Common words are common: long posting lists next to short ones.
    i = min(len(words) - 1, int(rng.paretovariate(1.1)) - 1)
    return words[i]


def _passage(rng: random.Random) -> dict:
    lang = rng.choice(("fa", "fa", "en", "en", "mixed"))
    n = rng.randint(3, 40)
    if lang == "fa":
        words = [_zipf_choice(rng, FA_WORDS) for _ in range(n)]
    elif lang == "en":
        words = [_zipf_choice(rng, EN_WORDS) for _ in range(n)]
    else:
        words = [_zipf_choice(rng, rng.choice((FA_WORDS, EN_WORDS))) for _ in range(n)]
    text = " ".join(words)
    fields = {"text": text, "xkey": text, "lang": lang}
    if rng.random() < 0.7:
        fields["title"] = " ".join(_zipf_choice(rng, rng.choice((FA_WORDS, EN_WORDS))) for _ in range(rng.randint(1, 4)))
    if rng.random() < 0.2:
        fields["body"] = text + " " + " ".join(_zipf_choice(rng, FA_WORDS + EN_WORDS) for _ in range(20))
    return fields


def _build(path: Path, sizes: tuple[int, ...], delete_every: int = 0, seed: int = 1) -> Path:
    """A Whoosh index in the product's schema: one unmerged commit (segment) of each of ``sizes`` passages."""
    path.mkdir(parents=True)
    ix = whoosh.index.create_in(str(path), build_schema())
    rng = random.Random(seed)
    made = 0
    for size in sizes:
        w = ix.writer()
        for _ in range(size):
            w.add_document(pid=f"p{made}", doc_id=f"d{made // 3}", ordinal=made % 3, **_passage(rng))
            made += 1
        w.commit(merge=False)
    if delete_every:
        w = ix.writer()
        for i in range(0, made, delete_every):
            w.delete_by_term("pid", f"p{i}")
        w.commit(merge=False)
    return path


@pytest.fixture(scope="module")
def indexes(tmp_path_factory) -> dict[str, whoosh.index.Index]:
    base = tmp_path_factory.mktemp("fastscore")
    specs = {
        "one": ((900,), 0),
        "three": ((400, 400, 400), 0),
        "deleted": ((500, 500), 7),
        # A segment of over 5,000 documents ORs with a tree of union matchers
        # (smaller ones with an array), so this index has one of each.
        "large": ((5100, 300), 11),
    }
    return {name: whoosh.index.open_dir(str(_build(base / name, *spec))) for name, spec in specs.items()}


@contextmanager
def _whoosh_only() -> Iterator[None]:
    fastscore.ENABLED = False
    try:
        yield
    finally:
        fastscore.ENABLED = True


def _same(searcher, q, limit, flt=None) -> int:
    """Assert the fast path gives what Whoosh gives; returns the total."""
    with _whoosh_only():
        old = collect(searcher, q, limit, filter=flt)
    new = fast_collect(searcher, q, limit, filter=flt)
    assert [d for _s, d in new.top_n] == [d for _s, d in old.top_n], q
    for (s_new, _), (s_old, _) in zip(new.top_n, old.top_n, strict=True):
        assert s_new == pytest.approx(s_old, rel=1e-9, abs=0), q
    assert len(new) == len(old), q
    # What the rest of the code reads from a hit.
    for a, b in zip(new[:limit], old[:limit], strict=True):
        assert a.docnum == b.docnum and a.fields() == b.fields() and a.score == b.score
    return len(old)


def _queries(schema, analyzer) -> Iterator[wq.Query]:
    rng = random.Random(7)
    parser = make_parser(schema)
    texts = [
        "ایران",
        "Isfahan",
        "oil price Iran",
        "همکاری ایران و روسیه",
        "پایتخت ایران کجاست؟",
        "When was the oil crisis?",
        "کتابخانه دانشگاه تهران",
        "the of and in",
        "earthquake Kyoto",
        "title:ایران نفت",
        "text:Tehran market^3 bank",
        "(oil OR gas)^2 energy",
    ]
    texts += [" ".join(rng.choice(QUERY_WORDS) for _ in range(rng.randint(1, 12))) for _ in range(20)]
    for text in texts:
        parsed = parse_query(parser, text)
        if parsed.is_empty:
            continue
        yield parsed.query
        bridged = bridge_query(parsed.query, text, analyzer)
        if bridged.bridged:
            yield bridged.query


@pytest.mark.parametrize("name", ["one", "three", "deleted", "large"])
def test_fast_path_is_whoosh(indexes, name):
    ix = indexes[name]
    analyzer = ix.schema["text"].analyzer
    with ix.searcher(weighting=scoring()) as s:
        assert len(s.leaf_searchers()) == {"one": 1, "three": 3, "deleted": 2, "large": 2}[name]
        if name in ("deleted", "large"):
            assert s.reader().has_deletions()
        totals = []
        for q in _queries(ix.schema, analyzer):
            for limit in (1, 10, None):
                totals.append(_same(s, q, limit))
        assert max(totals) > 100  # the queries do reach long posting lists


def test_both_or_matchers_are_covered(indexes):
    """Whoosh ORs with union matchers above 5,000 documents a segment, with an array below: both are checked."""
    from whoosh.matching import UnionMatcher
    from whoosh.matching.combo import ArrayUnionMatcher

    q = wq.Or([wq.Term("text", "نفت"), wq.Term("text", "oil"), wq.Term("title", "ایران", boost=0.2)])
    with indexes["large"].searcher(weighting=scoring()) as s:
        kinds = [type(q.matcher(sub, s.context())) for sub, _off in s.leaf_searchers()]
    assert kinds == [UnionMatcher, ArrayUnionMatcher]


@pytest.mark.parametrize("name", ["three", "large"])
def test_lang_filter(indexes, name):
    ix = indexes[name]
    with ix.searcher(weighting=scoring()) as s:
        for q in list(_queries(ix.schema, ix.schema["text"].analyzer))[::3]:
            for flt in (wq.Or([wq.Term("lang", "fa"), wq.Term("lang", "mixed")]), wq.Term("lang", "mixed")):
                _same(s, q, 10, flt)
                _same(s, q, 10, flt)  # the second time from the searcher's filter cache


def test_cached_postings_give_the_same_scores(indexes):
    ix = indexes["large"]
    fastscore.clear_caches()
    with ix.searcher(weighting=scoring()) as s:
        q = wq.Or([wq.Term("text", "ایران"), wq.Term("text", "iran"), wq.Term("title", "ایران", boost=0.2)])
        first = fast_collect(s, q, 50)
        assert fastscore._cache.size > 0  # long lists were kept
        again = fast_collect(s, q, 50)
        assert again.top_n == first.top_n and len(again) == len(first)
        _same(s, q, 50)


def test_small_cache_budget_still_exact(indexes, monkeypatch):
    monkeypatch.setattr(fastscore, "_cache", fastscore._Cache(3000))
    monkeypatch.setattr(fastscore, "CACHE_MIN_POSTINGS", 10)
    ix = indexes["large"]
    with ix.searcher(weighting=scoring()) as s:
        for q in _queries(ix.schema, ix.schema["text"].analyzer):
            _same(s, q, 10)
        assert fastscore._cache.size <= 3000


def test_forced_union_tree_on_a_small_index(indexes, monkeypatch):
    """Small segments OR with an array matcher; force the union tree there too."""
    monkeypatch.setattr(wq.Or, "matcher_type", wq.Or.DEFAULT_MATCHER)
    ix = indexes["deleted"]
    with ix.searcher(weighting=scoring()) as s:
        for q in _queries(ix.schema, ix.schema["text"].analyzer):
            _same(s, q, 10)


_FIELDS = ("title", "text", "body", "xkey")
_boosts = st.sampled_from([1.0, 1.0, 0.2, 0.35, 0.6, 2.0, 1.5, 0.07])


def _term(field: str, word: str, boost: float, analyzer) -> wq.Term:
    terms = [t.text for t in analyzer(word, mode="query")] if field != "xkey" else []
    return wq.Term(field, terms[0] if terms else word.lower(), boost=boost)


@st.composite
def _or_trees(draw, analyzer, depth=0):
    n = draw(st.integers(1, 6))
    subs = []
    for _ in range(n):
        if depth < 2 and draw(st.integers(0, 4)) == 0:
            subs.append(draw(_or_trees(analyzer, depth + 1)))
        else:
            subs.append(_term(draw(st.sampled_from(_FIELDS)), draw(st.sampled_from(QUERY_WORDS)), draw(_boosts), analyzer))
    return wq.Or(subs, boost=draw(_boosts))


@pytest.mark.parametrize("name", ["three", "large"])
def test_random_or_queries(indexes, name):
    ix = indexes[name]
    analyzer = ix.schema["text"].analyzer
    with ix.searcher(weighting=scoring()) as s:

        @settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
        @given(_or_trees(analyzer), st.sampled_from([1, 3, 10, 100, None]), st.booleans())
        def check(q, limit, normalized):
            _same(s, q.normalize() if normalized else q, limit)

        check()


@pytest.mark.parametrize(
    "text",
    [
        "oil AND price",
        "Iran -Russia",
        "ایران NOT روسیه",
        "ایران lang:fa",  # filter clause: ANDed in
        "date:[2020-01-01 TO 2024-12-31] oil",
        "text:نفت",  # one phrase-able term: a plain term matcher, but see below
    ],
)
def test_other_shapes_fall_back(indexes, text):
    """A query whose top is not an OR of terms (AND, AND NOT, a filter) runs Whoosh's own loop."""
    ix = indexes["three"]
    parser = make_parser(ix.schema)
    q = parse_query(parser, text).query
    if text == "text:نفت":
        q = wq.Phrase("text", ["نفت", "ایران"])  # a phrase on its own
    with ix.searcher(weighting=scoring()) as s:
        with pytest.raises(Unsupported):
            fast_collect(s, q, 10)
        with _whoosh_only():
            old = collect(s, q, 10)
        new = collect(s, q, 10)  # falls back: Whoosh's own results
        assert new.top_n == old.top_n and len(new) == len(old)


@pytest.mark.parametrize(
    "text",
    [
        "کتاب*",
        "Tehrn~ oil",
        "ban* OR market",
        # A phrase, an AND or a NOT inside the OR: stepped through as Whoosh steps it.
        'نفت "بانک مرکزی" oil',
        'oil "central bank" (price AND market)',
        "ایران (oil OR (gas ANDNOT Russia))",
        '"نفت ایران"',  # the phrase in title OR the phrase in text
    ],
)
@pytest.mark.parametrize("name", ["deleted", "large"])
def test_other_nodes_inside_an_or(indexes, name, text, monkeypatch):
    """Prefix and fuzzy terms are ORed term matchers inside Whoosh; phrases, ANDs and
    NOTs below the top are stepped through: all evaluated exactly, not refused.

    (Segments of 5,000 documents or fewer OR with an array matcher, which has
    already stepped its children: there such a node is refused, see below;
    here every OR is made a union tree, as on a large segment.)
    """
    monkeypatch.setattr(wq.Or, "matcher_type", wq.Or.DEFAULT_MATCHER)
    ix = indexes[name]
    q = parse_query(make_parser(ix.schema), text).query
    with ix.searcher(weighting=scoring()) as s:
        for limit in (10, None):
            assert _same(s, q, limit) > 0


def test_stepped_node_under_an_array_union_falls_back(indexes):
    ix = indexes["three"]
    q = parse_query(make_parser(ix.schema), 'نفت "بانک مرکزی" oil').query
    with ix.searcher(weighting=scoring()) as s:
        with pytest.raises(Unsupported):
            fast_collect(s, q, 10)
        with _whoosh_only():
            old = collect(s, q, 10)
        new = collect(s, q, 10)
        assert new.top_n == old.top_n and len(new) == len(old)


@pytest.mark.parametrize("name", ["deleted", "large"])
def test_whooshs_own_bm25f_too(indexes, name):
    """K1, B (per field too) and idf come from each term's scorer, whatever the BM25F settings."""
    from whoosh.scoring import BM25F

    ix = indexes[name]
    with ix.searcher(weighting=BM25F(B=0.75, K1=1.5, title_B=0.3)) as s:
        for q in list(_queries(ix.schema, ix.schema["text"].analyzer))[::4]:
            _same(s, q, 10)


def test_other_weighting_falls_back(indexes):
    from whoosh.scoring import TF_IDF

    ix = indexes["one"]
    with ix.searcher(weighting=TF_IDF()) as s:
        with pytest.raises(Unsupported):
            fast_collect(s, wq.Or([wq.Term("text", "نفت"), wq.Term("text", "oil")]), 10)


def test_empty_and_missing_terms(indexes):
    ix = indexes["three"]
    with ix.searcher(weighting=scoring()) as s:
        assert _same(s, wq.Term("text", "nosuchword"), 10) == 0
        assert _same(s, wq.Or([wq.Term("text", "nosuchword"), wq.Term("nosuchfield", "x")]), 10) == 0
        _same(s, wq.Or([wq.Term("text", "nosuchword"), wq.Term("text", "نفت")]), 10)


def test_index_search_unchanged(tmp_path):
    """End to end: hits, scores, totals and snippets of Index.search, with and without the fast path."""
    rng = random.Random(3)
    docs = []
    for i in range(120):
        paras = ["\n\n".join(_passage(rng)["text"] for _ in range(rng.randint(1, 4)))]
        docs.append({"id": f"doc{i}", "text": paras[0], "title": _passage(rng).get("title")})
    with Index(tmp_path / "ix") as ix:
        ix.add(docs[:60])
        ix.add(docs[60:])
        ix.remove([f"doc{i}" for i in range(0, 120, 9)])
        texts = ["نفت ایران", "Isfahan oil", "همکاری روسیه", "When did Tehran bank raise the price?", "کتابخانه"]
        for text in texts:
            for kwargs in ({}, {"lang": "fa"}, {"limit": 50, "snippets": False}, {"offset": 5, "limit": 5}):
                new = ix.search(text, **kwargs)
                with _whoosh_only():
                    old = ix.search(text, **kwargs)
                assert new.total == old.total
                assert [h.to_dict() for h in new.hits] == [h.to_dict() for h in old.hits]


_SNIPPET_CHARS = st.sampled_from([*"ab Zéاصفهانکتاب\u200c ۱۴2024Ωμ.,-'ـً", "Isfahan", "همکاری", "ˈkɛnjə", " the "])


@settings(max_examples=300, deadline=None)
@given(st.lists(_SNIPPET_CHARS, max_size=30).map("".join), st.sampled_from([{"en"}, {"fa"}, {"en", "fa"}, {"num"}]))
def test_snippet_script_precheck_is_exact(text, scripts):
    """highlight._has_tokens_of's letter pre-check never changes its answer."""
    from analyzers.chars import fold
    from analyzers.tokenizer import TOKEN_PATTERN
    from search.highlight import _has_tokens_of

    slow = any(m.lastgroup in scripts for m in TOKEN_PATTERN.finditer(fold(text)))
    assert _has_tokens_of(text, scripts) == slow


_ids = st.lists(st.one_of(st.integers(0, 300), st.integers(0, 70_000), st.integers(0, 2**33)), min_size=1, max_size=140)
_values = st.one_of(st.none(), st.binary(max_size=40), st.lists(st.binary(max_size=6), max_size=140).map(tuple))


@settings(max_examples=400, deadline=None)
@given(_ids, st.data(), _values)
def test_block_ids_and_weights_as_unpickled(ids, data, values):
    """A posting block's (ids, weights) read from the cut pickle are what unpickling it whole gives."""
    import pickle

    n = len(ids)
    weights = data.draw(
        st.one_of(
            st.none(),
            st.floats(allow_nan=False),
            st.lists(st.floats(allow_nan=False, width=32), min_size=n, max_size=n).map(tuple),
        )
    )
    block = pickle.dumps((tuple(ids), weights, values), 2)  # as W3PostingsWriter._write_block
    count = n if data.draw(st.booleans()) else n + 1  # a block info that disagrees: read whole
    got = fastscore._ids_and_weights(block, count)
    assert got == pickle.loads(block)[:2]
    assert type(got[1]) is type(weights)
