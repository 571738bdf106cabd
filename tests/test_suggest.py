"""Did you mean, from the index's own vocabulary, in the query's script; and fuzzy ~ in both."""

from __future__ import annotations

import json

from click.testing import CliRunner

from search.cli import cli


def test_english_typo_gets_a_suggestion(seed_index):
    r = seed_index.search("Tatarstn", cross=False)
    assert r.total == 0 and r.suggestion == "Tatarstan"
    assert seed_index.search(r.suggestion).total > 0


def test_wrong_latin_vowel(seed_index):
    assert seed_index.search("Isfahen").suggestion == "Isfahan"
    assert seed_index.search("Minikhanov").suggestion == "Minnikhanov"


def test_persian_typo_gets_a_persian_suggestion(seed_index):
    r = seed_index.search("اصفحان")
    assert r.suggestion == "اصفهان"


def test_only_the_misspelled_word_changes(seed_index):
    assert seed_index.search("Isfahen Tatarstan").suggestion == "Isfahan Tatarstan"


def test_correct_queries_get_no_suggestion(seed_index):
    for q in ("Isfahan", "اصفهان", "Minnikhanov", "روسیه"):
        assert seed_index.search(q).suggestion is None, q


def test_arabic_letters_and_zwnj_just_work(seed_index):
    base = seed_index.search("همکاریهای اقتصادی", cross=False)
    for variant in ("همکاری‌های اقتصادی", "همکاريهاي اقتصادي", "همکاری‌های اقتصادی‌"):
        r = seed_index.search(variant, cross=False)
        assert r.total == base.total and r.suggestion is None, variant


def test_fuzzy_works_in_both_scripts(seed_index):
    assert seed_index.search("Isfahn~", cross=False).total > 0
    fa = seed_index.search("اصفهن~", cross=False)
    assert fa.total > 0 and {h.lang for h in fa} == {"fa"}
    assert fa.suggestion is None  # the user already asked for variants


def test_cli_shows_did_you_mean(seed_index_path):
    runner = CliRunner()
    r = runner.invoke(cli, ["search", "--index", str(seed_index_path), "Tatarstn"])
    assert "did you mean: Tatarstan" in r.stderr
    r = runner.invoke(cli, ["search", "--index", str(seed_index_path), "--json", "Tatarstn"])
    assert json.loads(r.stdout)["suggestion"] == "Tatarstan"


def test_field_clauses_and_operators_are_never_corrected(seed_index):
    assert seed_index.search("lang:fa Isfahan").suggestion is None
    assert seed_index.search("lang:fa Tatarstn").suggestion == "lang:fa Tatarstan"
    assert seed_index.search("title:Zhiltsof").suggestion is None


def test_two_letter_fixes_only_when_the_query_found_next_to_nothing(seed_index):
    # "Tatrstn" is two edits from Tatarstan. Alone it finds nothing, so the
    # two-letter walk runs; beside a word that finds plenty, only one-letter
    # fixes are tried (the two-letter walk was the slowest step of a search).
    assert seed_index.search("Tatrstn", cross=False).suggestion == "Tatarstan"
    r = seed_index.search("Tatrstn Isfahan", cross=False)
    assert r.total >= 3 and r.suggestion is None
    assert seed_index.search("Tatarstn Isfahan", cross=False).suggestion == "Tatarstan Isfahan"


def test_a_mistyped_first_letter_is_not_corrected(seed_index):
    # As Lucene's DirectSpellChecker (minPrefix=1): candidates share the first letter.
    assert seed_index.search("Latarstan", cross=False).suggestion is None
