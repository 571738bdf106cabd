"""Cross-script name keys: golden cases for the key function, and the ranking over the seeds."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from conftest import ENGLISH_SEEDS, PERSIAN_SEEDS, SEED_IDS

from analyzers.crossscript import CrossScriptAnalyzer, cross_key, latin_skeleton, persian_skeleton, token_keys
from search.cli import cli


@pytest.mark.parametrize(
    ("latin", "persian"),
    [
        ("Isfahan", "اصفهان"),
        ("Tatarstan", "تاتارستان"),
        ("Minnikhanov", "مینیخانوف"),
        ("Washington", "واشنگتن"),
        ("Vladimir", "ولادیمیر"),
        ("Tehran", "تهران"),
        ("Moscow", "مسکو"),
        ("Michigan", "میشیگان"),
        ("Kovalev", "کووالف"),
        ("Ukraine", "اوکراین"),
        ("Microsoft", "مایکروسافت"),
        ("Tatarstan's", "تاتارستان"),
    ],
)
def test_a_name_and_its_persian_spelling_share_a_key(latin, persian):
    assert cross_key(latin, "en") is not None
    assert cross_key(latin, "en")[3:] == cross_key(persian, "fa")[3:]


def test_keys_are_prefixed_by_their_script():
    assert cross_key("Isfahan", "en") == "en:sfhn"
    assert cross_key("اصفهان", "fa") == "fa:sfhn"
    assert latin_skeleton("Isfahan") == persian_skeleton("اصفهان") == "sfhn"


def test_arabic_letters_and_marks_do_not_change_the_key():
    # The tokenizer folds ي/ك; marks and ZWNJ are dropped by the key itself.
    assert cross_key("اصفَهان", "fa") == cross_key("اصفهان", "fa")
    assert token_keys("ميني‌خانوف")[0][3] == cross_key("مینیخانوف", "fa")


@pytest.mark.parametrize(
    ("latin", "persian"),
    [
        ("Isfahan", "تهران"),  # both names, different skeletons
        ("country", "کنترل"),  # kntr vs kntrl: a false friend one consonant off
        ("Tatarstan", "ترکستان"),
        ("Russia", "روسیه"),  # too short for a key: the lexicon bridges it instead
    ],
)
def test_false_friends_do_not_meet(latin, persian):
    a, b = cross_key(latin, "en"), cross_key(persian, "fa")
    assert a is None or b is None or a[3:] != b[3:]


@pytest.mark.parametrize(
    ("word", "script"),
    [("the", "en"), ("which", "en"), ("Iran", "en"), ("Oil", "en"), ("این", "fa"), ("است", "fa"), ("ایران", "fa")],
)
def test_stopwords_and_short_words_get_no_key(word, script):
    assert cross_key(word, script) is None


def test_analyzer_keeps_offsets_into_the_original_text():
    text = "Visit اصفهان and Isfahan, the"
    toks = [(t.text, text[t.startchar : t.endchar]) for t in CrossScriptAnalyzer()(text, chars=True)]
    assert toks == [("en:fst", "Visit"), ("fa:sfhn", "اصفهان"), ("en:sfhn", "Isfahan")]


# -- end to end over the seeds ----------------------------------------------
def test_english_names_also_find_persian_passages_ranked_below(seed_index):
    results = seed_index.search("Isfahan Tatarstan", limit=200)
    langs = [h.lang for h in results]
    persian = [h for h in results if h.doc_id[:3] in {SEED_IDS[k][:3] for k in PERSIAN_SEEDS}]
    assert persian, "no Persian passage was found across the script line"
    assert all(h.cross for h in persian)
    # Every English passage with both names outranks every cross match.
    both = [h for h in results if h.lang == "en" and {"isfahan", "tatarstan"} <= set(h.matched)]
    assert both and max(h.rank for h in both) < min(h.rank for h in persian)
    assert langs[0] == "en" and not results[0].cross
    # The highlight lands on the Persian word that matched.
    for h in persian:
        words = {h.snippet.text[s.start : s.end] for s in h.snippet.highlights}
        assert words and words <= {"اصفهان", "تاتارستان"}, words


def test_persian_name_finds_english_passages(seed_index):
    results = seed_index.search("اصفهان", limit=100)
    english = [h for h in results if h.doc_id[:3] in ENGLISH_SEEDS]
    assert english and all(h.cross for h in english)
    assert results[0].lang == "fa" and not results[0].cross
    h = english[0]
    assert {h.snippet.text[s.start : s.end] for s in h.snippet.highlights} == {"Isfahan"}


def test_no_cross_turns_bridging_off(seed_index):
    results = seed_index.search("Isfahan Tatarstan", limit=200, cross=False)
    assert results.total and all(h.lang == "en" and not h.cross for h in results)
    assert seed_index.search("Isfahn", cross=False).total == 0


def test_cli_no_cross(seed_index_path):
    runner = CliRunner()
    on = runner.invoke(cli, ["search", "--index", str(seed_index_path), "--json", "-n", "100", "Isfahan"])
    off = runner.invoke(cli, ["search", "--index", str(seed_index_path), "--json", "-n", "100", "--no-cross", "Isfahan"])
    assert on.exit_code == 0 and off.exit_code == 0, on.output + off.output
    import json

    on_hits, off_hits = json.loads(on.stdout)["hits"], json.loads(off.stdout)["hits"]
    assert any(h["cross"] and h["lang"] == "fa" for h in on_hits)
    assert off_hits and not any(h["cross"] or h["lang"] == "fa" for h in off_hits)
