"""Tests for search.passages: passage splitting and script detection."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from search.passages import TARGET_CHARS, Passage, detect_lang, split_passages

SEEDS = Path(__file__).parent.parent / "seeds"

FA_SENTENCE = "این یک جمله فارسی برای آزمایش تقسیم متن است"  # 43 chars, no punctuation
EN_SENTENCE = "This is an English sentence used for testing the splitter"


def check_invariants(text: str, passages: list[Passage], target: int) -> None:
    """The contract every split must keep, whatever the input."""
    assert [p.ordinal for p in passages] == list(range(len(passages)))
    prev_end = 0
    for p in passages:
        assert p.text == text[p.start : p.end]
        assert prev_end <= p.start < p.end
        assert not p.text[0].isspace() and not p.text[-1].isspace()
        assert len(p.text) <= target * 3 // 2
        assert p.lang in ("fa", "en", "mixed")
        # Everything between two passages is whitespace.
        assert text[prev_end : p.start].strip() == ""
        prev_end = p.end
    assert text[prev_end:].strip() == ""
    covered = sum(1 for p in passages for c in p.text if not c.isspace())
    assert covered == sum(1 for c in text if not c.isspace())


# --------------------------------------------------------------------------
# Golden cases


def test_empty_and_whitespace_text_have_no_passages():
    assert split_passages("") == []
    assert split_passages(" \n\n\t\u00a0\n") == []


def test_short_heading_is_merged_into_the_following_paragraph():
    heading = "Creating a new world order"
    body = "The consul general also noted that the two friendly states could play a key role. " * 2
    text = f"{heading}\n\n{body.strip()}\n\n{body.strip()}"
    passages = split_passages(text)
    assert len(passages) == 2
    assert passages[0].text.startswith(heading + "\n\nThe consul general")
    check_invariants(text, passages, TARGET_CHARS)


def test_last_short_paragraph_joins_the_previous_one():
    body = "A paragraph that is long enough to stand alone as a passage of its own, really. " * 2
    text = f"{body.strip()}\n\nThe end."
    passages = split_passages(text)
    assert len(passages) == 1
    assert passages[0].text.endswith("The end.")


def test_merging_never_goes_past_one_and_a_half_targets():
    heading = "Short heading"
    body = " ".join(["word"] * 28)  # 139 chars: alone it fits target 100 * 1.5
    text = f"{heading}\n\n{body}"
    passages = split_passages(text, target=100, min_chars=20)
    assert [p.text for p in passages] == [heading, body]


def test_long_persian_paragraph_is_cut_at_question_mark_and_period():
    sentences = [f"{FA_SENTENCE} {i}؟" if i % 2 else f"{FA_SENTENCE} {i}." for i in range(12)]
    text = " ".join(sentences)
    passages = split_passages(text, target=150, min_chars=10)
    assert len(passages) > 1
    for p in passages:
        assert p.text[-1] in "؟."  # every cut is at a sentence end
        assert len(p.text) <= 150
        assert p.lang == "fa"
    check_invariants(text, passages, 150)


def test_decimal_number_is_not_a_sentence_end():
    text = (
        "He also pointed out that some 6.5 million Russian tourists visited Turkiye in 2023. "
        "Only a few thousand of them travelled on to Iran that year, he said."
    )
    passages = split_passages(text, target=60, min_chars=10)
    assert any("6.5 million" in p.text for p in passages)
    check_invariants(text, passages, 60)


def test_abbreviation_and_lowercase_continuation_are_not_sentence_ends():
    text = (
        "Isfahan is expanding ties with St. Petersburg and the Republic of Tatarstan. "
        "The ties cover e.g. culture and trade between the two regions today."
    )
    passages = split_passages(text, target=90, min_chars=10)
    assert [p.text for p in passages] == [
        "Isfahan is expanding ties with St. Petersburg and the Republic of Tatarstan.",
        "The ties cover e.g. culture and trade between the two regions today.",
    ]


def test_one_sentence_too_long_is_cut_at_whitespace():
    text = " ".join(["kalame"] * 60)  # 419 chars, no sentence end
    passages = split_passages(text, target=100, min_chars=10)
    assert len(passages) > 1
    for p in passages:
        assert not p.text.startswith("alame")  # never inside a word
    check_invariants(text, passages, 100)


def test_one_sentence_too_long_prefers_a_semicolon():
    first = " ".join(["alpha"] * 12) + ";"  # 72 chars, semicolon in the second half
    text = first + " " + " ".join(["beta"] * 30)
    passages = split_passages(text, target=100, min_chars=10)
    assert passages[0].text == first
    check_invariants(text, passages, 100)


def test_text_without_whitespace_is_cut_anywhere_as_a_last_resort():
    text = "x" * 1000
    passages = split_passages(text, target=100, min_chars=10)
    assert all(len(p.text) <= 150 for p in passages)
    assert "".join(p.text for p in passages) == text


def test_hard_wrapped_lines_stay_one_paragraph():
    lines = [EN_SENTENCE[: 40 + i] for i in range(6)]  # short lines, no blank line
    text = "\n".join(lines)
    assert len(split_passages(text)) == 1


def test_blank_line_with_nbsp_separates_paragraphs():
    para = "Paragraph text that is long enough to be a passage on its own, surely enough."
    text = f"{para}\n \u00a0 \n{para}"
    passages = split_passages(text, min_chars=10)
    assert [p.text for p in passages] == [para, para]


def test_long_lines_without_blank_lines_are_paragraphs():
    # Seed 001 is written one paragraph per line, with no blank lines.
    text = (SEEDS / "001_9d66cc5eb35937e0.txt").read_text(encoding="utf-8")
    lines = [ln for ln in text.split("\n") if ln.strip()]
    passages = split_passages(text)
    assert [p.text for p in passages] == lines
    check_invariants(text, passages, TARGET_CHARS)


@pytest.mark.parametrize("seed", sorted(SEEDS.glob("*.txt")), ids=lambda p: p.name[:3])
def test_seed_files_split_cleanly(seed: Path):
    text = seed.read_text(encoding="utf-8")
    passages = split_passages(text)
    assert passages
    check_invariants(text, passages, TARGET_CHARS)
    expected = "fa" if seed.name[:3] in ("002", "004") else "en"
    assert passages[0].lang == expected


def test_target_must_be_positive():
    with pytest.raises(ValueError):
        split_passages("text", target=0)


# --------------------------------------------------------------------------
# Property tests

ALPHABET = "ابپتسشکگیهوندر" + "abcdefghijk" + "XYZ" + " " * 6 + "\n" * 2 + ".?!؟،\u00a0" + "6"
CHUNKS = st.one_of(
    st.text(alphabet=ALPHABET, max_size=40),
    st.sampled_from(["\n\n", "\n \n", ". ", "؟ ", "6.5 ", "St. ", "\u00a0\n\n", "x" * 70]),
)
TEXTS = st.lists(CHUNKS, max_size=40).map("".join)


@settings(max_examples=300, deadline=None)
@given(text=TEXTS, min_chars=st.sampled_from([0, 10, 80]))
def test_invariants_with_small_target(text: str, min_chars: int):
    check_invariants(text, split_passages(text, target=50, min_chars=min_chars), 50)


@settings(max_examples=100, deadline=None)
@given(text=TEXTS, target=st.integers(min_value=1, max_value=300))
def test_invariants_with_any_target(text: str, target: int):
    check_invariants(text, split_passages(text, target=target, min_chars=20), target)


@settings(max_examples=100, deadline=None)
@given(text=st.text(max_size=300))
def test_invariants_on_arbitrary_unicode(text: str):
    check_invariants(text, split_passages(text, target=40, min_chars=10), 40)


# --------------------------------------------------------------------------
# detect_lang


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        # Plain English: all letters are Latin.
        ("Iran and Russia signed a roadmap.", "en"),
        # Plain Persian (with ZWNJ and Persian digits, which are not letters).
        ("همکاری\u200cهای ایران و روسیه در سال ۱۴۰۴", "fa"),
        # Persian with one short Latin acronym stays Persian (>= 85% Arabic script).
        ("خبرگزاری IRNA گزارش داد که حجم تجارت دو کشور افزایش یافته است", "fa"),
        # English with one Persian word stays English.
        ("The word for cooperation in Persian is همکاری and it is common in the news.", "en"),
        # Half and half is mixed.
        ("Isfahan اصفهان Tehran تهران", "mixed"),
        # No letters at all (digits, punctuation) makes no claim.
        ("2024-05-28 -- 6.5 %", "mixed"),
        # The empty string has no letters either.
        ("", "mixed"),
        # Latin letters with accents count as Latin.
        ("Café société naïve façade", "en"),
        # Arabic presentation forms (U+FExx) count as Arabic script.
        ("\ufefb\ufe8e\ufe91\ufe8e", "fa"),
        # Arabic-script punctuation and digits alone are not letters.
        ("؟ ، ؛ ۱۲۳", "mixed"),
    ],
)
def test_detect_lang(text: str, lang: str):
    assert detect_lang(text) == lang


def test_passages_carry_their_language():
    fa = " ".join([FA_SENTENCE + "."] * 3)
    en = " ".join([EN_SENTENCE + "."] * 3)
    passages = split_passages(f"{fa}\n\n{en}")
    assert [p.lang for p in passages] == ["fa", "en"]
