"""The vendored word lists, and the promise that the query path never imports hazm."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from importlib import resources
from pathlib import Path

import pytest

from analyzers.chars import ALEF_MAKSURA, ARABIC_KAF, ARABIC_YEH, DROP_CHARS, FOLD_TABLE, ZWNJ
from analyzers.resources import _read_list, english_stopwords, normalize_fa_word, persian_lexicon, persian_stopwords

VENDORED = resources.files("analyzers").joinpath("data", "stopwords_fa.txt")


def hazm_stopwords_file() -> Path:
    """hazm's own stopword file, found without importing hazm (slow to import)."""
    spec = importlib.util.find_spec("hazm")
    if spec is None or not spec.submodule_search_locations:
        pytest.skip("hazm is not installed")
    return Path(spec.submodule_search_locations[0]) / "data" / "stopwords.dat"


def test_vendored_persian_stopwords_match_hazm_word_for_word():
    hazm_words = [ln.strip() for ln in hazm_stopwords_file().read_text(encoding="utf-8").splitlines() if ln.strip()]
    ours = _read_list("stopwords_fa.txt")
    # Same words in the same order: a verbatim copy, header comments aside.
    assert ours == hazm_words
    assert len(ours) > 300


def test_vendored_file_has_only_header_comments():
    lines = VENDORED.read_text(encoding="utf-8").splitlines()
    header = [ln for ln in lines if ln.startswith("#")]
    assert header and all(ln.startswith("#") for ln in lines[: len(header)])
    assert "hazm" in header[0]


def test_persian_stopwords_are_normalized():
    stops = persian_stopwords()
    assert stops
    joined = "".join(stops)
    # No ZWNJ, no Arabic yeh, alef maksura or kaf, no mark or unfolded digit.
    for ch in (ZWNJ, ARABIC_YEH, ALEF_MAKSURA, ARABIC_KAF, "_"):
        assert ch not in joined
    assert not set(joined) & set(DROP_CHARS)
    assert not {ord(c) for c in joined} & set(FOLD_TABLE)
    # Normalization is idempotent on the loaded set.
    assert all(normalize_fa_word(w) == w for w in stops)


@pytest.mark.parametrize(
    ("raw", "normalized"),
    [
        # The ZWNJ of می‌شود is removed, as in indexed text.
        ("می‌شود", "میشود"),
        # hazm's multi-word entries are glued.
        ("شده_است", "شدهاست"),
        # Arabic yeh and kaf fold.
        ("يك", "یک"),
    ],
)
def test_normalize_fa_word(raw, normalized):
    assert normalize_fa_word(raw) == normalized


def test_known_stopwords_present():
    # Common function words from hazm's list, in their normalized spelling.
    assert {"و", "از", "به", "که", "میشود", "برای"} <= persian_stopwords()
    assert {"the", "of", "and", "a"} <= english_stopwords()
    # Snowball's list also drops interrogatives and auxiliaries: in question
    # queries they only dilute the content words (measured on en-squad dev).
    assert {"who", "what", "did"} <= english_stopwords()
    # ... but not content words.
    assert not {"oil", "crisis", "iran"} & english_stopwords()


def test_english_stopwords_are_lowercase():
    assert all(w == w.lower() and w.isascii() for w in english_stopwords())


def test_word_lists_are_loaded_once():
    assert persian_stopwords() is persian_stopwords()
    assert english_stopwords() is english_stopwords()


def test_importing_analyzers_does_not_import_hazm():
    # Run in a fresh interpreter: this test process may have imported hazm.
    code = "import analyzers, sys; analyzers.BilingualAnalyzer()('تست'); list(analyzers.BilingualAnalyzer()('کتاب‌ها and books')); print('hazm' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120)
    assert out.stdout.strip() == "False"


def test_analyzers_do_not_import_search():
    # The engine depends on the analyzers, never the reverse.
    code = "import analyzers, sys; list(analyzers.BilingualAnalyzer()('تست')); print(any(m == 'search' or m.startswith('search.') for m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120)
    assert out.stdout.strip() == "False"


def test_drop_chars_literal_matches_pyarabic():
    # chars.py writes pyarabic's tashkeel and tatweel out as literals so the
    # query path never imports pyarabic; they must stay what pyarabic says.
    from pyarabic import araby

    from analyzers.chars import DROP_CHARS, PYARABIC_TASHKEEL, PYARABIC_TATWEEL

    assert PYARABIC_TASHKEEL == "".join(araby.TASHKEEL)
    assert PYARABIC_TATWEEL == araby.TATWEEL
    assert set(araby.TASHKEEL) | {araby.TATWEEL} <= set(DROP_CHARS)


def test_query_path_does_not_import_pyarabic():
    code = "import analyzers, sys; list(analyzers.BilingualAnalyzer()('کتاب‌ها')); print('pyarabic' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "False"


def test_vendored_lexicon_is_hazms_frequent_words_normalized():
    """words_fa.txt is hazm 0.10's words.dat, frequency ≥ 100, normalized: rebuilt here and compared."""
    words_dat = hazm_stopwords_file().with_name("words.dat")
    rows = [ln.split("\t") for ln in words_dat.read_text(encoding="utf-8").splitlines()]
    if not any(r[0] == "آب" and len(r) > 1 and r[1].isdigit() for r in rows):
        pytest.skip("this hazm's words.dat has no frequency column (hazm 0.10 has)")
    rebuilt = set()
    for r in rows:
        if len(r) > 1 and r[1].isdigit() and int(r[1]) >= 100:
            w = normalize_fa_word(r[0])
            if len(w) >= 2:
                rebuilt.add(w)
    assert set(_read_list("words_fa.txt")) == rebuilt


def test_lexicon_is_normalized_and_sorted():
    words = _read_list("words_fa.txt")
    assert words == sorted(words) and len(words) > 15_000
    lex = persian_lexicon()
    joined = "".join(lex)
    for ch in (ZWNJ, ARABIC_YEH, ALEF_MAKSURA, ARABIC_KAF):
        assert ch not in joined
    assert all(normalize_fa_word(w) == w for w in lex)
    # Words Snowball would cut are there to protect them.
    assert {"پسته", "دانشگاه", "بیابان", "ایران"} <= lex
