"""search.fused indexes exactly what the analyzers produce: same terms, positions, keys and frequencies.

The old path is the analyzer chain itself (tokenizer | affix join | term
filter, and tokenizer | cross-key filter) run as the stock Whoosh writer runs
it; the new path is one ``findall`` scan. Random text mixes Persian and
English words, detached affixes, ZWNJ, NBSP and other gaps, line breaks,
digits of three systems, harakat, tatweel, Arabic yeh/kaf and odd code points.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import search.fused
from analyzers import BilingualAnalyzer, EnglishAnalyzer, PersianAnalyzer
from analyzers.crossscript import CrossScriptAnalyzer
from analyzers.persian import AFTER_VOWEL_SUFFIXES, PREFIXES, SUFFIXES
from search.fused import fusable, keys_of, positions_and_keys, positions_of

ANALYZERS = [BilingualAnalyzer(), PersianAnalyzer(), BilingualAnalyzer(stemmer="snowball")]
XKEY = CrossScriptAnalyzer()

WORDS = [
    "همکاری",
    "همکاری\u200cها",
    "کتاب",
    "كتاب",  # Arabic kaf
    "يك",  # Arabic yeh and kaf
    "خانه",
    "خانهٔ",
    "رفته",
    "مي",
    "مسأله",
    "اصفهان",
    "ولادیمیر",
    "کِتابِ",  # harakat
    "کتـــاب",  # tatweel
    "قرآن\u06da",
    "Isfahan",
    "Minnikhanov",
    "Russia's",
    "Russia\u2019s",
    "running",
    "the",
    "Türkiye",
    "ˈkɛnjə",
    "μm",
    "10,000",
    "6.5",
    "۱۲۳",
    "٤٥",
    "۱۰٬۰۰۰",
    "۶٫۵",
    "1404/02/31",
    "007",
    "و",
    "از",
    "چه",
    "😀",
    "日本",
    "\ufd3eکتاب\ufd3f",
    "ﻛﺘﺎﺏ",
]
AFFIXES = sorted(PREFIXES | SUFFIXES | AFTER_VOWEL_SUFFIXES)
GAPS = [" ", " ", " ", "  ", "\n", "\n\n", " \n ", "\u00a0", "\u200c", "\u200d", "\u200e", "\t", ". ", "، ", "-", "", "\u202f"]

pieces = st.one_of(st.sampled_from(WORDS), st.sampled_from(AFFIXES), st.characters(exclude_categories=("Cs",)))
texts = st.lists(st.tuples(pieces, st.sampled_from(GAPS)), max_size=40).map(lambda xs: "".join(w + g for w, g in xs))


@pytest.fixture(scope="module", autouse=True, params=["default", "python"])
def loops(request):
    """Every test twice: with the C loops where search._speedups is built, and with the Python loops."""
    saved = search.fused._speedups
    if request.param == "python":
        search.fused._speedups = None
    yield request.param
    search.fused._speedups = saved


def old_positions(analyzer, value: str) -> dict[str, list[int]]:
    """What the stock writer indexes (Positions.word_values), in first-seen order."""
    poses: dict[str, list[int]] = {}
    for t in analyzer(value, positions=True, boosts=True, mode="index"):
        assert t.boost == 1.0
        if not t.stopped:
            poses.setdefault(t.text, []).append(t.pos)
    return poses


def old_keys(value: str) -> dict[str, int]:
    freqs: dict[str, int] = {}
    for t in XKEY(value, boosts=True, mode="index"):
        if not t.stopped:
            freqs[t.text] = freqs.get(t.text, 0) + 1
    return freqs


def same(new: dict, old: dict) -> None:
    assert new == old
    assert list(new) == list(old)  # same first-seen order


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=texts)
def test_fused_equals_the_analyzers(text):
    for ana in ANALYZERS:
        poses, keys = positions_and_keys(text, ana.items[2], True)
        same(poses, old_positions(ana, text))
        same(keys, old_keys(text))
        same(positions_of(ana, text), poses)
    same(keys_of(text), old_keys(text))


@settings(max_examples=200, deadline=None)
@given(text=st.text(max_size=60))
def test_fused_equals_the_analyzers_on_any_text(text):
    ana = ANALYZERS[0]
    poses, keys = positions_and_keys(text, ana.items[2], True)
    same(poses, old_positions(ana, text))
    same(keys, old_keys(text))


def test_examples():
    ana = BilingualAnalyzer()
    text = "همکاری ها و کتاب\u200cها می روند. Isfahan اصفهان\nها ۱۰٬۰۰۰ the running"
    poses, keys = positions_and_keys(text, ana.items[2], True)
    same(poses, old_positions(ana, text))
    assert poses["همکار"] == [0]  # "همکاری ها" joined into one token, then stemmed
    assert poses["اصفهان"] == [4]  # "اصفهان\nها": joined across one line break
    assert keys["fa:sfhn"] == 1 and keys["en:sfhn"] == 1
    # A blank line stops the join; one line break does not.
    assert positions_of(ana, "کتاب\n\nها") == old_positions(ana, "کتاب\n\nها")
    assert positions_of(ana, "کتاب\nها") == old_positions(ana, "کتاب\nها") == {"کتاب": [0]}


def test_only_the_known_chains_are_fused():
    assert fusable(BilingualAnalyzer()) == "terms"
    assert fusable(PersianAnalyzer()) == "terms"
    assert fusable(XKEY) == "keys"
    assert fusable(EnglishAnalyzer()) is None
    from whoosh.analysis import StandardAnalyzer

    assert fusable(StandardAnalyzer()) is None
