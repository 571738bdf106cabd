"""The term-at-a-time scorer (search.fastscore) against Whoosh's own loop.

Every check runs the same query twice through :func:`search.query.collect`,
once with the fast path and once with it switched off, and asks for the same
hits in the same order, the same scores (bit for bit) and the same total;
collapsed by document (``collapse="doc_id"``, what ``search_documents`` and
pseudo-relevance feedback ask for), also the same collapsed counts and
docset. The indexes are built here from generated mixed Persian/English
passages in the product's schema: one segment and several, with and without
deleted passages, below and above the 5,000-document line where Whoosh
changes how it ORs terms; the collapse indexes spread a document's passages
over segments, leave some passages without a document and repeat passages
word for word, so that scores tie within and across documents.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

import pytest
import whoosh.formats
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
    _delete_every(ix, made, delete_every)
    return path


def _delete_every(ix, made: int, every: int) -> None:
    """Delete passages p0, p{every}, ... (none if ``every`` is 0), in a commit of their own."""
    if every:
        w = ix.writer()
        for i in range(0, made, every):
            w.delete_by_term("pid", f"p{i}")
        w.commit(merge=False)


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
    assert new.top_n == old.top_n, q  # the scores too, bit for bit
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
        "Iran -Russia",
        "ایران NOT روسیه",
        'lang:fa "بانک مرکزی" نفت',  # a phrase below an AND: its constructor has stepped it
        "text:نفت",  # one phrase-able term: a plain term matcher, but see below
    ],
)
def test_other_shapes_fall_back(indexes, text):
    """A query whose top is an AND NOT, or that holds a node an AND has stepped already, runs Whoosh's own loop."""
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
    # Protocol 2 as W3PostingsWriter._write_block writes it, 3 and 4 as our writer does.
    block = pickle.dumps((tuple(ids), weights, values), data.draw(st.sampled_from([2, 3, 4])))
    count = n if data.draw(st.booleans()) else n + 1  # a block info that disagrees: read whole
    loaded = []
    real_loads = fastscore.loads

    def spy(b):
        loaded.append(b)
        return real_loads(b)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(fastscore, "loads", spy)
        got = fastscore._ids_and_weights(block, count)
    if max(ids) < 2**31 and count == n:  # ints the pickler writes as BININT*; larger (LONG1) are read whole
        # The cut itself was read, for every protocol: not a failed cut that fell back to the whole block.
        assert len(loaded) == 1 and loaded[0] != block
    assert got == pickle.loads(block)[:2]
    assert type(got[1]) is type(weights)


# -- collapsed searches (collect(..., collapse="doc_id"), as search_documents runs them) ----


def _build_collapse(path: Path, sizes: tuple[int, ...], delete_every: int = 0, seed: int = 5) -> Path:
    """Passages of documents spread over segments, some without a document, many ties.

    A passage's ``doc_id`` is drawn from a pool (so a document's passages sit
    in several segments, in any order); a few have none or an empty one
    (never collapsed); a quarter repeat an earlier passage word for word,
    under its document or another, so that scores tie within a document and
    across documents.
    """
    path.mkdir(parents=True)
    ix = whoosh.index.create_in(str(path), build_schema())
    rng = random.Random(seed)
    total = sum(sizes)
    earlier: list[dict] = []
    made = 0
    for size in sizes:
        w = ix.writer()
        for _ in range(size):
            if earlier and rng.random() < 0.25:
                fields = dict(rng.choice(earlier))
            else:
                fields = _passage(rng)
                if rng.random() < 0.7:
                    fields["date"] = datetime(rng.randint(2019, 2025), rng.randint(1, 12), rng.randint(1, 28))
                if rng.random() < 0.5:
                    fields["source"] = rng.choice(("news", "wiki", "blog"))
            earlier.append(fields)
            r = rng.random()
            if r < 0.04:
                doc = {}
            elif r < 0.06:
                doc = {"doc_id": ""}
            else:
                doc = {"doc_id": f"d{rng.randrange(total // 4)}"}
            w.add_document(pid=f"p{made}", ordinal=made % 3, **doc, **fields)
            made += 1
        w.commit(merge=False)
    _delete_every(ix, made, delete_every)
    return path


@pytest.fixture(scope="module")
def collapse_indexes(tmp_path_factory) -> dict[str, whoosh.index.Index]:
    base = tmp_path_factory.mktemp("fastscore-collapse")
    specs = {"one": ((700,), 0), "three": ((300, 300, 300), 0), "deleted": ((400, 400), 5), "large": ((5200, 250), 9)}
    return {name: whoosh.index.open_dir(str(_build_collapse(base / name, *spec))) for name, spec in specs.items()}


def _same_collapsed(searcher, q, limit, field="doc_id") -> int:
    """Assert the fast path collapses as CollapseCollector does; returns the total."""
    with _whoosh_only():
        old = collect(searcher, q, limit, collapse=field)
    new = fast_collect(searcher, q, limit, collapse=field)  # raises if not evaluated
    assert new.top_n == old.top_n, q  # docnums, order and scores, exactly
    assert len(new) == len(old), q  # what Whoosh counts: every collect, replaced bests too
    assert dict(new.collapsed_counts) == dict(old.collapsed_counts), q
    assert new.docs() == old.docs(), q
    for a, b in zip(new[:limit], old[:limit], strict=True):
        assert a.docnum == b.docnum and a.fields() == b.fields() and a.score == b.score
        assert a.get(field) == b.get(field)
    return len(old)


@pytest.mark.parametrize("name", ["one", "three", "deleted", "large"])
def test_collapsed_is_whoosh(collapse_indexes, name):
    ix = collapse_indexes[name]
    analyzer = ix.schema["text"].analyzer
    with ix.searcher(weighting=scoring()) as s:
        assert len(s.leaf_searchers()) == {"one": 1, "three": 3, "deleted": 2, "large": 2}[name]
        reader = s.reader()
        keys = [f.get("doc_id") for _n, f in reader.iter_docs()]
        assert None in keys and "" in keys  # passages without a document
        totals = []
        limits = (1, 10, None) if name == "large" else (1, 2, 5, 10, 50, 1000, None)
        for q in _queries(ix.schema, analyzer):
            for limit in limits:
                totals.append(_same_collapsed(s, q, limit))
        assert max(totals) > 100


def test_collapse_ties_are_covered(collapse_indexes):
    """The indexes do hold what the tie rules are about: equal scores within a document and across documents."""
    ix = collapse_indexes["three"]
    q = parse_query(make_parser(ix.schema), "ایران oil نفت").query
    with ix.searcher(weighting=scoring()) as s:
        found = fast_collect(s, q, None)
        by_score: dict[float, list[int]] = {}
        for score, d in found.top_n:
            by_score.setdefault(score, []).append(d)
        keys = [s.stored_fields(d).get("doc_id") for d in range(s.doc_count_all())]
        within = across = False
        for ds in by_score.values():
            ks = [keys[d] for d in ds if keys[d]]
            within |= len(ks) > len(set(ks))
            across |= len(set(ks)) > 1
        assert within and across
        # A document's passages in more than one segment.
        offsets = [off for _sub, off in s.leaf_searchers()]
        seg = {}
        for d, k in enumerate(keys):
            seg.setdefault(k, set()).add(sum(d >= o for o in offsets))
        assert any(len(v) > 1 for k, v in seg.items() if k)
        for limit in (1, 3, 10, 30, None):
            _same_collapsed(s, q, limit)


def test_collapse_limit_below_and_above_the_matches(collapse_indexes):
    ix = collapse_indexes["deleted"]
    q = wq.Or([wq.Term("text", "کجاست"), wq.Term("text", "kyoto"), wq.Term("title", "ایران")])
    with ix.searcher(weighting=scoring()) as s:
        n = len(fast_collect(s, q, None, collapse="doc_id").top_n)
        assert n > 5
        for limit in (1, n - 1, n, n + 1, s.doc_count() - 1, s.doc_count(), s.doc_count() + 5):
            _same_collapsed(s, q, limit)
        assert _same_collapsed(s, wq.Term("text", "nosuchword"), 10) == 0


@pytest.mark.parametrize("name", ["three", "large"])
def test_random_collapsed_or_queries(collapse_indexes, name):
    ix = collapse_indexes[name]
    analyzer = ix.schema["text"].analyzer
    with ix.searcher(weighting=scoring()) as s:

        @settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
        @given(_or_trees(analyzer), st.sampled_from([1, 2, 5, 10, 100, 1000, None]), st.booleans())
        def check(q, limit, normalized):
            _same_collapsed(s, q.normalize() if normalized else q, limit)

        check()


def test_collapse_on_a_union_tree_of_a_small_index(collapse_indexes, monkeypatch):
    monkeypatch.setattr(wq.Or, "matcher_type", wq.Or.DEFAULT_MATCHER)
    ix = collapse_indexes["deleted"]
    with ix.searcher(weighting=scoring()) as s:
        for q in _queries(ix.schema, ix.schema["text"].analyzer):
            for limit in (3, None):
                _same_collapsed(s, q, limit)


def test_collapse_by_another_column(collapse_indexes):
    """Any column-backed field collapses alike (here ``pid``'s would not be: it has no column)."""
    ix = collapse_indexes["three"]
    q = parse_query(make_parser(ix.schema), "oil ایران market").query
    with ix.searcher(weighting=scoring()) as s:
        with pytest.raises(Unsupported):
            fast_collect(s, q, 10, collapse="pid")  # no column: Whoosh collapses by postings
        with _whoosh_only():
            old = collect(s, q, 10, collapse="pid")
        new = collect(s, q, 10, collapse="pid")
        assert new.top_n == old.top_n and len(new) == len(old)


def test_collapse_with_a_filter_is_left_to_whoosh(collapse_indexes):
    """Whoosh's FilterCollector feeds the top collector directly (nothing is collapsed): not reproduced, deferred."""
    ix = collapse_indexes["three"]
    q = parse_query(make_parser(ix.schema), "oil ایران").query
    flt = wq.Term("lang", "fa")
    with ix.searcher(weighting=scoring()) as s:
        with pytest.raises(Unsupported):
            fast_collect(s, q, 10, filter=flt, collapse="doc_id")
        with _whoosh_only():
            old = collect(s, q, 10, filter=flt, collapse="doc_id")
        new = collect(s, q, 10, filter=flt, collapse="doc_id")
        assert new.top_n == old.top_n and len(new) == len(old)


def _documents(rng: random.Random, n: int) -> list[dict]:
    docs = []
    for i in range(n):
        if docs and rng.random() < 0.15:  # a duplicate under another id: tied documents
            docs.append({**docs[rng.randrange(len(docs))], "id": f"doc{i}"})
            continue
        paras = "\n\n".join(_passage(rng)["text"] for _ in range(rng.randint(1, 5)))
        docs.append({"id": f"doc{i}", "text": paras, "title": _passage(rng).get("title")})
    return docs


def test_search_documents_unchanged(tmp_path, monkeypatch):
    """End to end: search_documents, with and without feedback, ranks the same documents with the same scores."""
    calls = {"fast": 0, "refused": 0}
    real = fastscore.fast_collect

    def counted(*args, **kwargs):
        try:
            r = real(*args, **kwargs)
        except Unsupported:
            calls["refused"] += 1
            raise
        calls["fast"] += 1
        return r

    monkeypatch.setattr(fastscore, "fast_collect", counted)
    docs = _documents(random.Random(11), 150)
    with Index(tmp_path / "ix") as ix:
        ix.add(docs[:70])
        ix.add(docs[70:])
        ix.remove([f"doc{i}" for i in range(0, 150, 8)])
        assert len(ix._current_searcher().leaf_searchers()) > 1
        texts = ["نفت ایران", "Isfahan oil", "همکاری روسیه", "When did Tehran bank raise the price?", "کتابخانه", "the of"]
        for text in texts:
            for limit in (1, 5, 20, 1000):
                for expand in (False, True):
                    new = ix.search_documents(text, limit=limit, expand=expand)
                    # The old way throughout: Whoosh's loop, and ids from each hit's stored fields.
                    with _whoosh_only(), monkeypatch.context() as m:
                        m.setattr(fastscore, "column_names", lambda *_a: None)
                        old = ix.search_documents(text, limit=limit, expand=expand)
                    assert new == old, (text, limit, expand)  # ids, order, scores (floats, exactly)
                    assert len(set(d for d, _s in new)) == len(new)
    assert calls["fast"] > 0 and calls["refused"] == 0


@pytest.mark.parametrize("name", ["three", "large"])
def test_feedback_expanded_queries(collapse_indexes, name):
    """The queries pseudo-relevance feedback builds (with the first search collapsed too) evaluate exactly."""
    from search.feedback import expand

    ix = collapse_indexes[name]
    analyzer = ix.schema["text"].analyzer
    parser = make_parser(ix.schema, fields=("title", "text", "body"), boosts={"body": 2.0})
    with ix.searcher(weighting=scoring()) as s:
        for text in ("نفت ایران بازار", "oil price market", "کتابخانه دانشگاه", "Tehran weather rain"):
            q = parse_query(parser, text).query
            with _whoosh_only():
                old_q = expand(s, q, analyzer, text)
            new_q = expand(s, q, analyzer, text)
            assert new_q == old_q and new_q != q
            for limit in (10, 1000):
                _same_collapsed(s, new_q, limit)


# -- filter clauses from the query (lang:fa, source:, date:, NOT lang:) -------


FILTER_TEXTS = [
    "lang:fa نفت ایران بازار",
    "ایران lang:fa lang:mixed",
    "oil market NOT lang:fa",
    "NOT lang:en ایران oil",
    "source:news oil ایران",
    "source:nosuch oil",
    "lang:en (oil OR gas) market",
    "date:[2021-01-01 TO 2023-06-30] oil نفت",
    "date:2024 ایران",
    "lang:fa source:wiki date:[2020-01-01 TO 2025-12-31] کتاب دانشگاه",
    "oil AND price",
    "(oil AND price) gas ایران",
    "lang:en oil AND (price OR market)",
    "doc_id:d7 oil ایران",
    # Filters only: every passage they let through, each scored by its weights.
    "lang:fa",
    "lang:fa source:news",
    "NOT lang:fa",  # deleted passages are not matches either
    "NOT lang:fa NOT source:news",
    "NOT oil",
]


@pytest.mark.parametrize("name", ["one", "three", "deleted", "large"])
def test_filter_clauses(collapse_indexes, name):
    """An AND of the scored words and filter clauses: evaluated, each clause's own score included.

    A ``lang:`` or ``source:`` term is not scorable: Whoosh scores it by its
    posting's weight (1.0) and adds that to the words' score; a date range
    scores its constant, a NOT its weight. All of it is reproduced.
    """
    ix = collapse_indexes[name]
    parser = make_parser(ix.schema)
    totals = {}
    with ix.searcher(weighting=scoring()) as s:
        for text in FILTER_TEXTS:
            q = parse_query(parser, text).query
            for limit in (1, 10, None):
                totals[text] = _same(s, q, limit)
                _same_collapsed(s, q, limit)
    assert totals["source:nosuch oil"] == 0
    assert all(totals[t] > 0 for t in FILTER_TEXTS[:4] + FILTER_TEXTS[7:9]), totals


_filter_clauses = st.sampled_from(
    [
        wq.Term("lang", "fa"),
        wq.Term("lang", "en", boost=2.0),
        wq.Or([wq.Term("lang", "fa"), wq.Term("lang", "mixed")]),
        wq.Or([wq.Term("lang", "en"), wq.Term("lang", "mixed"), wq.Term("source", "news")]),
        wq.Not(wq.Term("lang", "fa")),
        wq.Not(wq.Or([wq.Term("lang", "en"), wq.Term("source", "wiki"), wq.Term("source", "blog")])),
        wq.Term("source", "blog"),
        wq.DateRange("date", datetime(2020, 1, 1), datetime(2023, 12, 31)),
        wq.Term("text", "oil"),  # a scored clause ANDed in
    ]
)


@pytest.mark.parametrize("name", ["deleted", "large"])
def test_random_filtered_queries(collapse_indexes, name):
    ix = collapse_indexes[name]
    analyzer = ix.schema["text"].analyzer
    with ix.searcher(weighting=scoring()) as s:

        @settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
        @given(
            _or_trees(analyzer),
            st.lists(_filter_clauses, min_size=1, max_size=3),
            _boosts,
            st.sampled_from([1, 10, 100, None]),
            st.booleans(),
        )
        def check(words, filters, boost, limit, collapsed):
            q = wq.And([words, *filters], boost=boost)
            if collapsed:
                _same_collapsed(s, q, limit)
            else:
                _same(s, q, limit)

        check()


# -- field lengths ----------------------------------------------------------


class ZeroFrequency(whoosh.formats.Frequency):
    """Frequency 0 for the words starting with "z" (pickled with the schema: module level)."""

    def word_values(self, value, analyzer, **kwargs):
        for w, freq, weight, vbytes in super().word_values(value, analyzer, **kwargs):
            yield w, (0 if w.startswith("z") else freq), weight, vbytes


def _zero_frequency_index(path: Path):
    """A TEXT field whose words starting with "z" are indexed with frequency 0: postings without a length.

    Neither Whoosh's writer nor ours can make such a posting from an analyzer
    (a field's length is the sum of its words' frequencies, each at least 1);
    a Format that reports frequency 0 can.
    """
    from whoosh import fields

    schema = fields.Schema(id=fields.ID(stored=True), t=fields.TEXT(phrase=False))
    schema["t"].format = ZeroFrequency()
    path.mkdir()
    ix = whoosh.index.create_in(str(path), schema)
    w = ix.writer()
    w.add_document(id="a", t="zed")  # length 0: byte 0 in a length column
    w.add_document(id="b", t="zed oil")
    w.add_document(id="c", t="oil oil gas")
    w.commit(merge=False)
    w = ix.writer()
    w.add_document(id="d", t="zoo zed")  # a segment without a length column for t
    w.add_document(id="e", t="zoo")
    w.commit(merge=False)
    return ix


def test_field_length_zero(tmp_path):
    """A posting whose document has no field length, scored as Whoosh scores it.

    Whoosh reads a length column's byte 0 as no length (``doc_field_length``
    returns None) and BM25F fails on it; a segment without the column gives
    every document the scorer's default length, 1.
    """
    from whoosh.scoring import BM25F

    ix = _zero_frequency_index(tmp_path / "ix")
    with ix.searcher(weighting=BM25F()) as s:
        (first, _), (second, _) = s.leaf_searchers()
        assert first.reader().doc_field_length(0, "t", "default") is None  # byte 0: not the default
        assert second.reader().doc_field_length(0, "t", "default") == "default"  # no column
        # Only in the second segment: every length read as 1, scored without falling back.
        for q in (wq.Term("t", "zoo"), wq.Or([wq.Term("t", "zoo"), wq.Term("t", "oil")])):
            _same(s, q, 10)
            _same(s, q, None)
        # A byte 0 in the first segment: Whoosh fails; the fast path leaves it to Whoosh, which fails alike.
        with pytest.raises(Unsupported):
            fast_collect(s, wq.Term("t", "zed"), 10)
        with pytest.raises(TypeError), _whoosh_only():
            collect(s, wq.Term("t", "zed"), 10)
        with pytest.raises(TypeError):
            collect(s, wq.Term("t", "zed"), 10)
