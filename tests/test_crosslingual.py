"""The CLDR lexicon (via babel) and query bridging."""

from __future__ import annotations

import subprocess
import sys

from whoosh import query as wq

import analyzers
from search import crosslingual
from search.crosslingual import bridge_query, translate


def test_lexicon_maps_common_names_both_ways():
    assert translate("Russia") == "روسیه"
    assert translate("Iran") == "ایران"
    assert translate("روسیه") == "Russia"
    assert translate("ايران") == "Iran"  # Arabic yeh folds
    assert translate("Persian") == "فارسی"
    assert translate("January") is not None
    assert translate("Monday") == "دوشنبه"


def test_stopwords_are_not_lexicon_entries():
    lex = crosslingual.lexicon()
    assert "may" not in lex["en"] or "may" not in analyzers.resources.english_stopwords()
    assert translate("the") is None


def test_bridge_rewrites_only_text_terms():
    ana = analyzers.BilingualAnalyzer()
    q = wq.Or([wq.Term("title", "russia", boost=0.2), wq.Term("text", "russia")])
    b = bridge_query(q, "Russia", ana)
    assert b.translations == (("Russia", "روسیه"),)
    texts = {(t.fieldname, t.text) for t in b.query.leaves()}
    assert ("text", "روسیه") in texts and ("title", "روسیه") not in texts


def test_bridge_leaves_not_clauses_alone():
    ana = analyzers.BilingualAnalyzer()
    q = wq.AndNot(wq.Term("text", "isfahan"), wq.Term("text", "tatarstan"))
    b = bridge_query(q, "Isfahan NOT Tatarstan", ana)
    # A key (a possible false friend) never widens what NOT excludes.
    assert isinstance(b.query, wq.AndNot) and b.query.b == wq.Term("text", "tatarstan")
    assert "fa:sfhn" in b.keys


def test_not_excludes_the_translation_too(seed_index):
    results = seed_index.search("Iran NOT Russia", limit=200)
    assert results.total
    for h in results:
        words = {w.strip("«»,.:;()") for w in h.snippet.text.split()}
        assert "روسیه" not in words and "Russia" not in words


def test_multiword_names_are_looked_up():
    assert translate("United Kingdom") == "بریتانیا"
    ana = analyzers.BilingualAnalyzer()
    b = bridge_query(wq.Or([wq.Term("text", "unit"), wq.Term("text", "kingdom")]), "United Kingdom", ana)
    assert ("United Kingdom", "بریتانیا") in b.translations


def test_lexicon_persian_names_reach_english_passages(seed_index):
    results = seed_index.search("روسیه", limit=200)
    english = [h for h in results if h.lang == "en"]
    assert english and all(h.cross for h in english)
    assert results[0].lang == "fa"
    assert "Russia" in {english[0].snippet.text[s.start : s.end] for s in english[0].snippet.highlights}


def test_babel_is_not_imported_until_a_lexicon_is_needed():
    code = "import search, search.engine, search.crosslingual, sys; print('babel' in sys.modules, 'hazm' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]


def test_lexicon_is_cached_on_disk_for_the_next_process(tmp_path):
    """A one-shot search should not rebuild the CLDR lexicon (babel's data) every run."""
    import os
    import subprocess
    import sys

    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache")}
    code = "import sys; from search import crosslingual as c; print(c.translate('Russia'), 'babel' in sys.modules)"
    first = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert first.stdout.split() == ["روسیه", "True"]  # built from babel
    assert list((tmp_path / "cache" / "bisearch").glob("cldr-lexicon-*.json"))
    second = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert second.stdout.split() == ["روسیه", "False"]  # read back, babel never imported


def test_keys_are_only_those_the_query_searches(seed_index):
    # The key of a field clause's value (lang:en → fa:lng), of a question word
    # the parser drops (کجاست) or of an excluded word must not highlight
    # anything: only keys of words the query searches do.
    ana = seed_index._analyzer
    for text, want in (("lang:en Isfahan", {"fa:sfhn"}), ("اصفهان کجاست", {"en:sfhn"})):
        b = bridge_query(seed_index.parse(text).query, text, ana)
        assert b.keys == want, text
    b = bridge_query(seed_index.parse("Isfahan NOT Tatarstan").query, "Isfahan NOT Tatarstan", ana)
    assert "fa:sfhn" in b.keys and not any("ttrstn" in k for k in b.keys)
