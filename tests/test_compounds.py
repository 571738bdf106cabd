"""search.compounds: a query's spaced Persian compound also finds its ZWNJ and glued spellings."""

from __future__ import annotations

import pytest
from conftest import built_index

from search import Document, Index, QueryError, compounds, engine

ZWNJ = "\u200c"


@pytest.fixture(scope="module")
def library(tmp_path_factory):
    docs = [
        # The compound with a ZWNJ, as careful writers spell it ...
        Document(id="zwnj", text=f"کتاب{ZWNJ}خانه مرکزی شهر فردا باز می‌شود."),
        # ... and glued, as text that lost its ZWNJs has it.
        Document(id="glued", text="ساعت کار کتابخانه دانشگاه تغییر کرد."),
        # The two words apart, in different sentences: BM25 finds this one anyway.
        Document(id="apart", text="این کتاب را خواندم. خانه ما کوچک است."),
        Document(id="english", lang="en", text="The central library opens tomorrow."),
    ]
    for i in range(8):
        docs.append(Document(id=f"other{i}", text=f"گزارش شماره {i} درباره بازار و قیمت‌ها."))
    yield from built_index(tmp_path_factory, "compounds", docs)


def _glued(ix: Index, text: str) -> list[str]:
    return compounds.glued_words(text, ix._analyzer, ix._current_searcher().reader())


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("کتاب خانه", ["کتابخانه"]),  # the index has it (with a ZWNJ, and glued)
        ("ساعت کتاب خانه مرکزی", ["کتابخانه"]),  # only the pair the index knows
        ("كتاب خانه", ["كتابخانه"]),  # Arabic kaf: the analyzer folds it, the index has it
        ("کتاب خانه؟", ["کتابخانه"]),  # punctuation is not part of a word
        ("کتاب\u00a0خانه", ["کتابخانه"]),  # Hamshahri's NBSP between the words
        ("بازار خانه", []),  # glued, a word no passage has
        ('"کتاب خانه"', []),  # quoted: the parser's own glued alternative covers it
        ('"ساعت کار" کتاب', []),  # a phrase's words never pair with the words outside it
        ("کتاب OR خانه", []),  # an operator between them: not neighbours
        ("کتاب است", []),  # a stopword half: "the book is" is no compound
        ("کتاب ها", []),  # a word and its suffix: the analyzer joins those itself
        ("بم بم", []),  # halves under three letters (بمبم would stem to بمب, "bomb")
        ("library tomorrow", []),  # not Persian
    ],
)
def test_glued_words(library, text, want):
    assert _glued(library, text) == want


def _ids(results):
    return [h.doc_id for h in results.hits]


def test_spaced_query_finds_the_zwnj_and_glued_spellings_first(library, monkeypatch):
    with monkeypatch.context() as m:
        m.setattr("search.engine.add_glued", lambda q, *a: q)
        plain = _ids(library.search("کتاب خانه", limit=3))
    found = _ids(library.search("کتاب خانه", limit=3))
    # Without it the compound's passages are not found at all: the test can fail.
    assert "zwnj" not in plain and "glued" not in plain
    assert {"zwnj", "glued"} <= set(found)
    docs = [d for d, _s in library.search_documents("کتاب خانه", limit=3)]
    assert {"zwnj", "glued"} <= set(docs)


def test_highlight_lands_on_the_compound_as_written(library):
    hit = next(h for h in library.search("کتاب خانه", limit=3).hits if h.doc_id == "zwnj")
    text = hit.snippet.text
    marked = [text[h.start : h.end] for h in hit.snippet.highlights]
    assert f"کتاب{ZWNJ}خانه" in marked


def test_filters_and_exclusions_still_hold(library):
    assert "zwnj" not in _ids(library.search("کتاب خانه -مرکزی", limit=5))
    assert "glued" in _ids(library.search("کتاب خانه -مرکزی", limit=5))
    assert _ids(library.search("کتاب خانه lang:en", limit=5)) == []


def test_explain_shows_each_step(library):
    plan = library.explain("کتاب خانه Super Bowl")
    assert plan.glued == ("کتابخانه",)
    assert "text:کتابخانه" in plan.searched and "کتابخانه" not in plan.parsed
    assert plan.pairs == (("super", "bowl"),)
    assert plan.topic is True  # four keywords, no question: `run` expands it
    assert library.explain("کتاب خانه کجاست؟").topic is False


def test_a_users_and_still_holds_with_the_glued_word(tmp_path):
    # The glued word is one more alternative to ORed words only: beside a
    # user's AND it may raise a score, never let a passage without a side in.
    ix = Index(tmp_path / "ix")
    ix.add(
        [
            Document(id="shiraz-library", text="کتابخانه خانه فرهنگ شیراز"),
            Document(id="tehran-book", text="کتاب در خانه تهران"),
        ]
    )
    for text in ("تهران AND (کتاب خانه)", "(کتاب خانه) AND تهران"):
        assert _ids(ix.search(text)) == ["tehran-book"], text
        assert [d for d, _s in ix.search_documents(text, expand=False)] == ["tehran-book"], text


def test_an_excluded_word_glues_into_no_compound(library):
    # "NOT کتاب خانه": کتاب is excluded, so کتابخانه must not come back through the glue.
    assert _glued(library, "کتاب خانه") == ["کتابخانه"]
    for text in ("NOT کتاب خانه", "-کتاب خانه"):
        assert (
            compounds.glued_words(text, library._analyzer, library._current_searcher().reader(), scored=_scored(library, text))
            == []
        ), text
        assert "zwnj" not in _ids(library.search(text, limit=20)), text
        assert library.explain(text).glued == ()


def _scored(ix: Index, text: str):
    from search.query import scored_terms

    return scored_terms(ix.parse(text).query, "text")


@pytest.mark.parametrize("text", ["کتاب خانه Super Bowl", "Isfahan", "کتاب خانه -مرکزی", "lang:fa کتاب خانه"])
@pytest.mark.parametrize("cross", [True, False])
def test_explain_shows_what_search_runs(library, monkeypatch, text, cross):
    # explain() and search() take one code path (Index._plan): what explain
    # says is searched is the query search hands to the scorer.
    ran = []
    real_collect = engine.collect

    def spy(searcher, q, *args, **kwargs):
        ran.append(str(q))
        return real_collect(searcher, q, *args, **kwargs)

    monkeypatch.setattr(engine, "collect", spy)
    library.search(text, cross=cross, snippets=False)
    plan = library.explain(text, cross=cross, lang="fa")
    assert ran == [plan.searched]
    assert plan.filter == "(lang:fa OR lang:mixed)"
    with pytest.raises(QueryError, match="unknown language"):
        library.explain(text, lang="de")
