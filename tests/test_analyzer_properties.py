"""Property tests for the analyzers: whatever the text, the token contract holds.

The generated text mixes everything real Persian/English passages contain and
a few things they should not: Persian letters and their Arabic variants,
harakat, tatweel, ZWNJ/ZWJ/NBSP, detached affixes, Latin letters with accents
and apostrophes, three digit systems, punctuation, emoji and random code
points.
"""

from __future__ import annotations

import pickle
import unicodedata

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analyzers import BilingualAnalyzer, EnglishAnalyzer, PersianAnalyzer
from analyzers.chars import FOLD_TABLE, fold
from analyzers.persian import AFTER_VOWEL_SUFFIXES, PREFIXES, SUFFIXES

ANALYZERS = {"bilingual": BilingualAnalyzer(), "persian": PersianAnalyzer(), "english": EnglishAnalyzer()}
BI = ANALYZERS["bilingual"]

PERSIAN_LETTERS = list("ابپتثجچحخدذرزژسشصضطظعغفقکگلمنوهیءآأإؤئ")
ARABIC_VARIANTS = list("يكةۀىہے")
MARKS = ["\u064b", "\u064c", "\u064e", "\u064f", "\u0650", "\u0651", "\u0652", "\u0653", "\u0654", "\u0670", "\u06da"]
TATWEEL = "\u0640"
INVISIBLES = ["\u200c", "\u200d", "\u00a0", "\u200e", "\u200f", "\u00ad"]
SPACES = [" ", " ", "\n", "\n\n", "\t"]
LATIN = [*"abcdeRSTxyzÀéüçñØß", "e\u0301"]
APOSTROPHES = ["'", "\u2019", "'s", "\u2019s"]
DIGITS = list("0123456789۰۱۲۳۴۵۶۷۸۹٠١٢٣٤٥٦٧٨٩")
PUNCT = [*".,،؛؟!«»-/:٫٬", "\ufd3e", "\ufd3f", "\u06dd", "\u06de", "\ufdfc"]
OTHER = ["😀", "👍🏽", "Ω", "日本", "ﻛﺘﺎﺏ", "ﷲ", "½", "²", "१", "１", "_", "\u0301", "\u0620", "\u08a0"]
AFFIXES = sorted(PREFIXES | SUFFIXES | AFTER_VOWEL_SUFFIXES)
WORDS = ["همکاری", "کتاب", "خانه", "بزرگ", "نویسند", "توانند", "Russia", "running", "Türkiye", "the", "و", "از"]

PIECES = (
    PERSIAN_LETTERS
    + ARABIC_VARIANTS
    + MARKS
    + [TATWEEL]
    + INVISIBLES
    + SPACES
    + LATIN
    + APOSTROPHES
    + DIGITS
    + PUNCT
    + OTHER
    + AFFIXES
    + [f" {a}" for a in AFFIXES]
    + WORDS
)

texts = st.lists(
    st.one_of(st.sampled_from(PIECES), st.sampled_from(PIECES), st.characters(exclude_categories=("Cs",))),
    max_size=30,
).map("".join)

persian_words = st.text(alphabet=PERSIAN_LETTERS + ARABIC_VARIANTS, min_size=1, max_size=8)

SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def analyze(text: str, analyzer=BI, **kwargs) -> list[tuple[str, int, int, int]]:
    toks = analyzer(text, positions=True, chars=True, **kwargs)
    return [(t.text, t.pos, t.startchar, t.endchar) for t in toks]


def edge_ok(ch: str, *, last: bool) -> bool:
    """A token starts with a letter or digit; it may end with a combining mark
    (a kasra or shadda belongs to the letter before it)."""
    if ch.isalnum():
        return True
    return last and unicodedata.category(ch).startswith("M")


@SETTINGS
@given(texts)
def test_spans_positions_and_edges(text):
    for name, analyzer in ANALYZERS.items():
        toks = analyze(text, analyzer)
        prev_end = 0
        for i, (term, pos, start, end) in enumerate(toks):
            assert term, (name, text, toks)
            assert 0 <= start < end <= len(text), (name, text, toks)
            # Ordered and non-overlapping.
            assert start >= prev_end, (name, text, toks)
            prev_end = end
            # Positions count 0, 1, 2, ... with no gaps.
            assert pos == i, (name, text, toks)
            piece = text[start:end]
            assert edge_ok(piece[0], last=False), (name, text, piece)
            assert edge_ok(piece[-1], last=True), (name, text, piece)


@SETTINGS
@given(texts, st.integers(min_value=1, max_value=10_000), st.integers(min_value=1, max_value=1_000))
def test_start_char_and_start_pos_shift(text, k, p):
    base = analyze(text)
    shifted = analyze(text, start_char=k, start_pos=p)
    assert shifted == [(term, pos + p, s + k, e + k) for term, pos, s, e in base]


@SETTINGS
@given(texts)
def test_deterministic_and_slice_reanalysis(text):
    toks = analyze(text)
    assert analyze(text) == toks
    for term, _pos, start, end in toks:
        # The token's original slice alone (a joined token's slice has a
        # space or line break inside) yields exactly that one term.
        assert [t.text for t in BI(text[start:end])] == [term], (text, text[start:end], term)


@SETTINGS
@given(texts)
def test_fold_invariance(text):
    folded = fold(text)
    assert len(folded) == len(text)
    for analyzer in ANALYZERS.values():
        assert analyze(folded, analyzer) == analyze(text, analyzer)


@SETTINGS
@given(texts, st.integers(min_value=0, max_value=40))
def test_fold_equals_one_translate(text, repeat):
    # fold() replaces one pair after another for long texts (faster than
    # translate on Persian) and translates short ones: both must give what
    # one pass of the table gives, on either side of the length cutoff.
    long_text = text * repeat
    for t in (text, long_text, text[:31], long_text[:32]):
        assert fold(t) == t.translate(FOLD_TABLE)


@SETTINGS
@given(texts, st.booleans(), st.booleans(), st.booleans())
def test_never_raises(text, tokenize, removestops, keeporiginal):
    for analyzer in ANALYZERS.values():
        toks = list(
            analyzer(
                text,
                positions=True,
                chars=True,
                tokenize=tokenize,
                removestops=removestops,
                keeporiginal=keeporiginal,
                mode="query",
            )
        )
        if not tokenize:
            # One token over the whole value, whatever it holds.
            assert len(toks) == 1
            assert (toks[0].startchar, toks[0].endchar) == (0, len(text))
        for t in toks:
            assert isinstance(t.text, str)
            if keeporiginal and tokenize:
                assert t.original == text[t.startchar : t.endchar]


@settings(max_examples=100, deadline=None)
@given(texts)
def test_unpickled_analyzer_agrees(text):
    clone = pickle.loads(pickle.dumps(BI))
    assert analyze(text, clone) == analyze(text)


@SETTINGS
@given(persian_words, st.sampled_from(sorted(SUFFIXES)), st.sampled_from(["\u200c", "", " ", "\u00a0", "\n"]))
def test_suffix_spellings_meet(word, suffix, gap):
    # ZWNJ, glued, space, NBSP and a single line break: one term, one span.
    joined = analyze(word + gap + suffix, removestops=False)
    assert [t[0] for t in joined] == [t[0] for t in analyze(word + "\u200c" + suffix, removestops=False)]
    assert len(joined) == 1
    assert joined[0][2:] == (0, len(word + gap + suffix))


@SETTINGS
@given(st.sampled_from(sorted(PREFIXES)), persian_words, st.sampled_from(["\u200c", "", " ", "\u00a0"]))
def test_prefix_spellings_meet(prefix, word, gap):
    joined = analyze(prefix + gap + word, removestops=False)
    assert [t[0] for t in joined] == [t[0] for t in analyze(prefix + "\u200c" + word, removestops=False)]
    assert len(joined) == 1
    assert joined[0][2:] == (0, len(prefix + gap + word))
