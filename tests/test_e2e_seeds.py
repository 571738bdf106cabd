"""End-to-end searches over the bundled seed corpus (3 English, 2 Persian documents)."""

from __future__ import annotations

import datetime as dt

import pytest
from conftest import ENGLISH_SEEDS, PERSIAN_SEEDS

from search import Hit, Index


def short(hit: Hit) -> str:
    return hit.doc_id[:3]


def highlighted(hit: Hit) -> list[str]:
    return [hit.snippet.text[h.start : h.end] for h in hit.snippet.highlights]


def top(ix: Index, query: str, n: int = 10, **kw) -> list[Hit]:
    return list(ix.search(query, limit=n, **kw))


def passage_terms(ix: Index, seed_docs, hit: Hit) -> set[str]:
    """Every term of the hit's passage text and of its title."""
    text = seed_docs[hit.doc_id].text[hit.span.start : hit.span.end]
    return {t.term for t in ix.analyze(text)} | {t.term for t in ix.analyze(hit.title or "")}


# -- English -----------------------------------------------------------------


def test_two_english_words_rank_passages_with_both(seed_index):
    """`Isfahan Tatarstan` ranks English passages holding both words first, both highlighted."""
    hits = top(seed_index, "Isfahan Tatarstan", 5)
    assert len(hits) == 5
    assert {short(h) for h in hits} <= ENGLISH_SEEDS
    best = hits[0]
    assert short(best) == "000"
    assert {"Isfahan", "Tatarstan"} <= set(highlighted(best))
    assert set(best.matched) == {"isfahan", "tatarstan"}
    assert [h.rank for h in hits] == [1, 2, 3, 4, 5]
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)


def test_name_finds_its_document(seed_index):
    """`Minnikhanov` finds seed 001 and highlights the name."""
    hits = top(seed_index, "Minnikhanov")
    assert hits and {short(h) for h in hits} == {"001"}
    assert highlighted(hits[0]) == ["Minnikhanov"]


def test_phrase_matches_words_in_order(seed_index):
    """`"sister cities"` finds the one passage with that phrase; the reversed phrase finds none."""
    results = seed_index.search('"sister cities"')
    assert results.total == 1
    (hit,) = results.hits
    assert short(hit) == "000"
    assert "sister cities" in hit.snippet.text
    assert highlighted(hit) == ["sister", "cities"]
    assert seed_index.search('"cities sister"').total == 0


def test_prefix_query_expands_and_highlights_each_word(seed_index):
    """`Tatar*` matches both `Tatar` (Tatar-Inform) and `Tatarstan`, highlighted as found."""
    hits = top(seed_index, "Tatar*", 30)
    words = {w for h in hits for w in highlighted(h)}
    assert {"Tatar", "Tatarstan"} <= words
    assert all(w.lower().startswith("tatar") for w in words)


def test_fuzzy_query_tolerates_a_typo(seed_index):
    """`Isfahn~` finds the Isfahan passages and highlights the real spelling."""
    hits = top(seed_index, "Isfahn~")
    assert hits and all(short(h) == "000" for h in hits)
    assert "Isfahan" in highlighted(hits[0])
    assert seed_index.search("Isfahn", cross=False).total == 0


def test_not_excludes_passages_with_the_word(seed_index, seed_docs):
    """`Iran NOT Russia` returns Iran passages none of which mention Russia (text or title)."""
    # Same-language semantics (with bridging, ایران passages without روسیه qualify too:
    # test_crosslingual.py::test_not_excludes_the_translation_too).
    results = seed_index.search("Iran NOT Russia", limit=100, cross=False)
    assert 0 < results.total < seed_index.search("Iran", cross=False).total
    for hit in results:
        terms = passage_terms(seed_index, seed_docs, hit)
        assert "iran" in terms
        assert "russia" not in terms
    # and the minus form agrees
    assert [h.doc_id for h in seed_index.search("Iran -Russia", limit=100, cross=False)] == [h.doc_id for h in results]


def test_hyphenated_query_word_searches_both_parts(seed_index):
    """`Isfahan-Tatarstan` (as written in seed 000) finds passages with both words, not Isfahan minus Tatarstan."""
    hits = top(seed_index, "Isfahan-Tatarstan", 3)
    assert hits and short(hits[0]) == "000"
    assert {"Isfahan", "Tatarstan"} <= set(highlighted(hits[0]))


def test_title_field(seed_index):
    """`title:` searches titles only: Zhiltsov is in 000's title, Minnikhanov in 001's."""
    for word, doc in (("Zhiltsov", "000"), ("Minnikhanov", "001")):
        results = seed_index.search(f"title:{word}", limit=100)
        assert results.total > 0
        assert {short(h) for h in results} == {doc}
        assert all(word in (h.title or "") for h in results)


def test_date_range_keeps_only_that_year(seed_index):
    """`date:[2025-01-01 TO 2025-12-31]` returns only passages of 2025-dated documents."""
    results = seed_index.search("date:[2025-01-01 TO 2025-12-31]", limit=100)
    assert results.total > 0
    assert all(h.date is not None and h.date.year == 2025 for h in results)
    assert {short(h) for h in results} == {"004"}
    assert {h.date for h in results} == {dt.date(2025, 12, 3)}


@pytest.mark.parametrize(("query", "doc"), [("date:2024", "000"), ("date:2024-05", "000"), ("date:2024-05-28", "000")])
def test_date_shorthands_with_words(seed_index, query, doc):
    """`date:YYYY`, `date:YYYY-MM`, `date:YYYY-MM-DD` narrow a word search to that period."""
    results = seed_index.search(f"{query} Isfahan", limit=100)
    # The undated Persian seeds (matched across languages by اصفهان) drop out.
    assert results.total == seed_index.search("Isfahan", limit=100, cross=False).total
    assert {short(h) for h in results} == {doc}
    assert seed_index.search("date:2023 Isfahan").total == 0


def test_source_filter(seed_index):
    """`source:seeds` selects every passage of the seed folder; another source selects none."""
    assert seed_index.search("source:seeds").total == seed_index.stats().passages
    assert seed_index.search("source:elsewhere").total == 0


def test_lang_filter_in_the_query(seed_index):
    """`lang:fa Isfahan` finds no same-script match (Isfahan is only in English passages); `lang:en` finds it."""
    assert seed_index.search("lang:fa Isfahan", cross=False).total == 0
    assert all(h.lang == "fa" and h.cross for h in seed_index.search("lang:fa Isfahan", limit=100))
    hits = top(seed_index, "lang:en Isfahan")
    assert hits and all(h.lang == "en" for h in hits)


# -- Persian -----------------------------------------------------------------


def test_persian_word_finds_both_persian_docs_and_highlights_glued_form(seed_index, seed_docs):
    """`همکاری` finds 002 and 004 and highlights `همکاریهای` (glued, as written) on the original characters."""
    results = seed_index.search("همکاری", limit=100)
    assert {short(h) for h in results} == PERSIAN_SEEDS
    glued = [
        (h, s)
        for h in results
        if short(h) == "002"
        for s in h.snippet.highlights
        if h.snippet.text[s.start : s.end] == "همکاریهای"
    ]
    assert glued, "the glued plural همکاریهای should be highlighted"
    hit, span = glued[0]
    text = seed_docs[hit.doc_id].text
    assert text[hit.snippet.offset + span.start : hit.snippet.offset + span.end] == "همکاریهای"


@pytest.mark.parametrize(
    "variant",
    [
        "همکاری\u200cها",  # with ZWNJ
        "همکاریها",  # glued
        "همکاری ها",  # with a space
        "همكاري",  # Arabic kaf and yeh
        "همکاري",  # Arabic yeh
    ],
)
def test_persian_spelling_variants_give_the_same_results(seed_index, variant):
    """ZWNJ, glued, spaced and Arabic-letter spellings of همکاری return the same top passages."""
    base = [(h.doc_id, h.ordinal) for h in top(seed_index, "همکاری")]
    got = [(h.doc_id, h.ordinal) for h in top(seed_index, variant)]
    assert got == base


def test_ascii_and_persian_digits_find_the_same_year(seed_index):
    """`1404` (as written in 002) and `۱۴۰۴` (Persian digits) both find 002 and highlight `1404`."""
    for query in ("1404", "۱۴۰۴"):
        hits = top(seed_index, query)
        assert [short(h) for h in hits] == ["002"]
        assert highlighted(hits[0]) == ["1404"]


def test_persian_yeh_query_finds_arabic_yeh_text(seed_index):
    """`اردیبهشت` (Persian yeh) finds 002's `ارديبهشت` (Arabic yeh) and highlights it as written."""
    hits = top(seed_index, "اردیبهشت")
    assert [short(h) for h in hits] == ["002"]
    assert highlighted(hits[0]) == ["ارديبهشت"]


def test_glued_compound_query_finds_glued_text(seed_index):
    """`روابطعمومی` (glued, as in 002) finds it and highlights the glued word."""
    hits = top(seed_index, "روابطعمومی")
    assert [short(h) for h in hits] == ["002"]
    assert highlighted(hits[0]) == ["روابطعمومی"]


def test_spaced_compound_finds_its_first_word(seed_index):
    """`روابط عمومی` (spaced) still finds passages with روابط, in both Persian docs."""
    hits = top(seed_index, "روابط عمومی", 20)
    assert {short(h) for h in hits} == PERSIAN_SEEDS
    assert all("روابط" in highlighted(h) for h in hits)


def test_spaced_compound_phrase_matches_glued_text(seed_index):
    """`"روابط عمومی"` finds 002's glued `روابطعمومی` and highlights the glued word."""
    hits = top(seed_index, '"روابط عمومی"')
    assert [short(h) for h in hits] == ["002"]
    assert "روابطعمومی" in highlighted(hits[0])


# -- mixed -------------------------------------------------------------------


def test_mixed_language_query_returns_both_languages(seed_index):
    """One English and one Persian word return English and Persian passages together."""
    hits = top(seed_index, "Isfahan همکاری", 20)
    assert {h.lang for h in hits} == {"en", "fa"}
    assert {short(h) for h in hits} & ENGLISH_SEEDS and {short(h) for h in hits} & PERSIAN_SEEDS
    assert seed_index.search("Isfahan همکاری", lang="fa").hits[0].lang == "fa"


def test_same_city_in_two_scripts(seed_index):
    """`Isfahan اصفهان` finds the city in the English and the Persian news alike."""
    docs = {short(h) for h in top(seed_index, "Isfahan اصفهان", 30)}
    assert "000" in docs and "002" in docs


# -- highlight correctness over many queries ------------------------------------

HIGHLIGHT_QUERIES = [
    "Isfahan Tatarstan",
    "Minnikhanov",
    '"sister cities"',
    "Tatar*",
    "Isfahn~",
    "Iran NOT Russia",
    "cooperation",
    "Russia’s",
    "helicopters drones",
    "همکاری",
    "همکاری‌ها",
    "همکاري",
    "1404",
    "۱۴۰۴",
    "اردیبهشت",
    "روابطعمومی",
    "Isfahan همکاری",
    "اصفهان روسیه",
    "گردشگری",
    "lang:fa استان",
    "title:Zhiltsov Isfahan",
]


@pytest.mark.parametrize("query", HIGHLIGHT_QUERIES)
def test_every_highlight_is_a_query_term(seed_index, seed_docs, query_terms, analyze_terms, query):
    """Each highlighted span, analyzed on its own, yields a term the query matched — on the document's characters."""
    terms = query_terms(query)
    assert terms, query
    # Same-language matches only: cross-language highlights are tested in test_crossscript.py.
    results = seed_index.search(query, limit=30, cross=False)
    assert results.total > 0, query
    n = 0
    for hit in results:
        text = seed_docs[hit.doc_id].text
        snippet = hit.snippet
        assert text[snippet.offset : snippet.offset + len(snippet.text)] == snippet.text
        previous_end = 0
        for span in snippet.highlights:
            assert previous_end <= span.start < span.end <= len(snippet.text)
            previous_end = span.end
            surface = text[snippet.offset + span.start : snippet.offset + span.end]
            assert surface == surface.strip() and surface
            assert analyze_terms(surface) and analyze_terms(surface)[0] in terms, (query, surface)
            n += 1
        assert set(hit.matched) <= terms
    assert n > 0, f"no highlights at all for {query!r}"
