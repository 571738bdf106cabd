"""Named code points and the character-level folds of Persian text.

Every character the analyzers treat specially has a name here, as in Lucene's
``PersianNormalizer``: reading ``ARABIC_YEH`` beats reading ``\\u064a``.

Two kinds of change are kept apart on purpose:

* :data:`FOLD_TABLE` maps one code point to exactly one code point. Because it
  never changes the length of a string, it can run over a whole passage
  *before* tokenizing, and every offset the tokenizer finds is still an offset
  into the original text.
* :data:`DROP_TABLE` deletes code points (harakat, tatweel, ZWNJ). Deleting
  shifts offsets, so it only ever runs on a single token's text, after the
  token's span in the original text is known.
"""

from __future__ import annotations

# --- joiners and invisible marks -------------------------------------------
ZWNJ = "\u200c"  # ZERO WIDTH NON-JOINER: the Persian "half-space"
ZWJ = "\u200d"  # ZERO WIDTH JOINER
LRM = "\u200e"  # LEFT-TO-RIGHT MARK
RLM = "\u200f"  # RIGHT-TO-LEFT MARK
NBSP = "\u00a0"  # NO-BREAK SPACE: Hamshahri's half-space ("مي شود")
SOFT_HYPHEN = "\u00ad"

# --- letters that Arabic and Persian spell differently ----------------------
ARABIC_YEH = "\u064a"  # ي  Arabic yeh, two dots below in every form
ALEF_MAKSURA = "\u0649"  # ى  dotless yeh, used for Persian yeh at word end
YEH_BARREE = "\u06d2"  # ے
FARSI_YEH = "\u06cc"  # ی  the Persian form everything folds to
ARABIC_KAF = "\u0643"  # ك
KEHEH = "\u06a9"  # ک  the Persian kaf
HEH = "\u0647"  # ه
HEH_YEH = "\u06c0"  # ۀ  heh with yeh above: the ezafe written on the letter
HEH_GOAL = "\u06c1"  # ہ  Urdu heh, seen in copy-pasted text
TEH_MARBUTA = "\u0629"  # ة  Arabic loanwords: "ة" and "ه" spell the same word
ALEF = "\u0627"  # ا
ALEF_MADDA = "\u0622"  # آ
ALEF_HAMZA_ABOVE = "\u0623"  # أ
ALEF_HAMZA_BELOW = "\u0625"  # إ
ALEF_WASLA = "\u0671"  # ٱ
WAW = "\u0648"  # و
WAW_HAMZA = "\u0624"  # ؤ
YEH_HAMZA = "\u0626"  # ئ

# --- marks deleted inside a token -------------------------------------------
TATWEEL = "\u0640"  # ـ  kashida, pure elongation
HAMZA_ABOVE = "\u0654"  # combining hamza: "هٔ" is the same ezafe as "ۀ"
HAMZA_BELOW = "\u0655"
SUPERSCRIPT_ALEF = "\u0670"
#: FATHATAN (U+064B) .. SUKUN (U+0652) and the rarer marks up to U+065F.
HARAKAT = "".join(chr(c) for c in range(0x064B, 0x0660))
#: Quranic annotation marks (small high letters, stop signs, small waw/yeh),
#: U+06D6..U+06ED minus the three that are not marks: END OF AYAH (U+06DD, a
#: format character), RUB EL HIZB (U+06DE) and PLACE OF SAJDAH (U+06E9), both
#: symbols. The tokenizer keeps these inside a word, so they must be dropped.
QURANIC_MARKS = "".join(chr(c) for c in range(0x06D6, 0x06EE) if c not in (0x06DD, 0x06DE, 0x06E9))

# --- digits -----------------------------------------------------------------
PERSIAN_DIGITS = "۰۱۲۳۴۵۶۷۸۹"  # U+06F0..U+06F9 (EXTENDED ARABIC-INDIC)
ARABIC_INDIC_DIGITS = "٠١٢٣٤٥٦٧٨٩"  # U+0660..U+0669
ARABIC_DECIMAL_SEPARATOR = "\u066b"  # ٫
ARABIC_THOUSANDS_SEPARATOR = "\u066c"  # ٬


def _fold_pairs() -> dict[int, int]:
    pairs = {
        ARABIC_YEH: FARSI_YEH,
        ALEF_MAKSURA: FARSI_YEH,
        YEH_BARREE: FARSI_YEH,
        ARABIC_KAF: KEHEH,
        HEH_YEH: HEH,
        HEH_GOAL: HEH,
        TEH_MARBUTA: HEH,
        # Hamza forms fold to their carrier letter, as Lucene's Arabic
        # normalizer does: "مسأله"/"مساله", "مؤسسه"/"موسسه" meet.
        ALEF_MADDA: ALEF,
        ALEF_HAMZA_ABOVE: ALEF,
        ALEF_HAMZA_BELOW: ALEF,
        ALEF_WASLA: ALEF,
        WAW_HAMZA: WAW,
        YEH_HAMZA: FARSI_YEH,
        ARABIC_DECIMAL_SEPARATOR: ".",
        ARABIC_THOUSANDS_SEPARATOR: ",",
    }
    table = {ord(k): ord(v) for k, v in pairs.items()}
    for i in range(10):
        table[ord(PERSIAN_DIGITS[i])] = ord("0") + i
        table[ord(ARABIC_INDIC_DIGITS[i])] = ord("0") + i
    return table


#: One code point to one code point: safe to apply to a whole text before
#: tokenizing, because offsets do not move.
FOLD_TABLE: dict[int, int] = _fold_pairs()

#: pyarabic's ``araby.TASHKEEL`` (in its order) and ``araby.TATWEEL``, written
#: out so the query path does not import pyarabic (~20 ms) for eight code
#: points; tests/test_resources.py checks they still equal pyarabic's.
PYARABIC_TASHKEEL = "\u064b\u064c\u064d\u064e\u064f\u0650\u0652\u0651"
PYARABIC_TATWEEL = "\u0640"

#: Deleted from a token's text once its span is known: pyarabic's tashkeel
#: (fathatan .. sukun, shadda) and tatweel, plus the rarer marks up to U+065F,
#: the superscript alef that pyarabic leaves alone, the Quranic annotation
#: marks, plus joiners.
DROP_CHARS = "".join(
    dict.fromkeys(PYARABIC_TASHKEEL + PYARABIC_TATWEEL + HARAKAT + SUPERSCRIPT_ALEF + QURANIC_MARKS + ZWNJ + ZWJ + SOFT_HYPHEN)
)
DROP_TABLE: dict[int, None] = {ord(c): None for c in DROP_CHARS}


# The folds as (from, to) strings, for :func:`fold`'s replace loop. No
# target is also a source, so replacing one pair after another gives what one
# ``translate`` gives (checked here, and against ``translate`` in the tests).
_FOLD_PAIRS: tuple[tuple[str, str], ...] = tuple((chr(k), chr(v)) for k, v in FOLD_TABLE.items())
assert not set(FOLD_TABLE) & set(FOLD_TABLE.values()), "a fold target is also a fold source"
#: Below this length one ``translate`` is faster than the replace loop.
_FOLD_SHORT = 32


def fold(text: str) -> str:
    """Apply the same-length letter and digit folds; ``len`` is unchanged.

    ``str.translate`` with a dict looks up every code point of a non-ASCII
    text (~70 ns each), while ``in`` and ``replace`` scan at C speed for one
    code point: on Persian news, ~20x faster for a document, the same for a
    word. Indexing folds every passage and body, so this is ~3 s of a
    raw-fa-news build.
    """
    if len(text) < _FOLD_SHORT:
        return text.translate(FOLD_TABLE)
    for src, dst in _FOLD_PAIRS:
        if src in text:
            text = text.replace(src, dst)
    return text


def strip_marks(text: str) -> str:
    """Delete harakat, tatweel and joiners: only for a single token's text."""
    return text.translate(DROP_TABLE)


def is_arabic_script(ch: str) -> bool:
    """True for code points of the Arabic blocks (letters, marks, digits)."""
    o = ord(ch)
    return 0x0600 <= o <= 0x06FF or 0x0750 <= o <= 0x077F or 0xFB50 <= o <= 0xFDFF or 0xFE70 <= o <= 0xFEFF
