"""Script-aware tokenizer: one pass, offsets into the original text.

The tokenizer folds the text with :data:`analyzers.chars.FOLD_TABLE` first.
That table is length-preserving, so a regex match on the folded text has the
same start and end as the word in the original, and every token carries
``startchar``/``endchar`` into the *original* string. Only after that, filters
change a token's text (deleting marks, stemming) without touching its span.

Each token also gets ``script``: ``"fa"`` (Arabic script), ``"en"`` (Latin),
``"num"`` or ``"other"``; later filters route on it, which is what lets one
analyzer serve mixed Persian/English passages.
"""

from __future__ import annotations

import re

from whoosh.analysis import Token, Tokenizer

from analyzers.chars import fold

# Arabic-script letters (Persian forms included) and the marks that may sit
# inside a word. Digits are absent on purpose: folding made them ASCII. The
# presentation-form blocks also hold punctuation and symbols that are not
# letters (FBB2..FBD2 spacing marks, the ornate parentheses \ufd3e \ufd3f and
# symbols up to FD4F, FDC8..FDEF non-characters, the rial sign and symbols
# FDFC..FDFF, unassigned FE75): they are left out, so "\ufd3fکتاب\ufd3e" is a word
# between two brackets, not a word that contains them.
_AR_LETTER = (
    "\u0620-\u063f\u0641-\u064a\u066e\u066f\u0671-\u06d3\u06d5\u06ee\u06ef"
    "\u06fa-\u06fc\u06ff\u0750-\u077f"
    "\ufb50-\ufbb1\ufbd3-\ufd3d\ufd50-\ufd8f\ufd92-\ufdc7\ufdf0-\ufdfb"
    "\ufe70-\ufe74\ufe76-\ufefc"
)
# U+06DD (END OF AYAH), U+06DE and U+06E9 (symbols) are not marks: they end a
# word. The rest of U+06D6..U+06ED is chars.QURANIC_MARKS, dropped per token.
_AR_MARK = "\u0640\u064b-\u065f\u0670\u06d6-\u06dc\u06df-\u06e8\u06ea-\u06ed"
_JOINER = "\u200c\u200d"  # ZWNJ, ZWJ: glue inside a word, never at its edges
_LATIN = "A-Za-z\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u024f\u1e00-\u1eff"
# What may follow an English word's first letter, and what a run of "other" letters is made of.
_LATIN_TAIL = _LATIN + r"0-9\u0300-\u036f"
_WORD_LETTER = r"[^\W\d_]"

TOKEN_PATTERN = re.compile(
    rf"(?P<fa>[{_AR_LETTER}][{_AR_LETTER}{_AR_MARK}]*"
    rf"(?:[{_JOINER}{_AR_MARK}]+[{_AR_LETTER}][{_AR_LETTER}{_AR_MARK}]*)*)"
    rf"|(?P<en>[{_LATIN}][{_LATIN_TAIL}]*(?:['\u2019][{_LATIN}]+)*)"
    # 10,000 is one number; 6.5 is one number; 1404/02/31 is three.
    r"|(?P<num>[0-9]{1,3}(?:,[0-9]{3})+(?:\.[0-9]+)?(?![0-9])|[0-9]+(?:\.[0-9]+)?)"
    # Any other letters, but never Arabic-script ones: "Ωکتاب" is two tokens,
    # so the Persian word still gets Persian analysis. Latin letters may
    # follow ("ˈkɛnjə", "μm"): IPA and units are better whole than shredded.
    rf"|(?P<other>(?:(?![{_AR_LETTER}]){_WORD_LETTER})+)"
)

_SCRIPT_OF_FIRST = (
    (re.compile(f"[{_AR_LETTER}]"), "fa"),
    (re.compile(f"[{_LATIN}]"), "en"),
    (re.compile("[0-9]"), "num"),
)


def script_of(text: str) -> str:
    """The script of a whole string, judged by its first letter or digit."""
    folded = fold(text)
    best, where = "other", len(folded) + 1
    for rx, name in _SCRIPT_OF_FIRST:
        m = rx.search(folded)
        if m and m.start() < where:
            best, where = name, m.start()
    return best


class BilingualTokenizer(Tokenizer):
    """Splits text into Persian words, Latin words, numbers and other words.

    Persian words keep their inner ZWNJ, harakat and tatweel (later filters
    remove them); a ZWNJ at a word's edge is a separator. Besides Whoosh's
    usual attributes each token has ``script`` and ``source`` (the original
    string, so a filter can look at what lies between two tokens).

    With ``tokenize=False`` (Whoosh does that for prefix, wildcard and fuzzy
    terms) the whole value is one token with ``tokenize`` set to False, so
    filters only normalize it and never stem it.
    """

    def __eq__(self, other: object) -> bool:
        return other.__class__ is self.__class__

    def __hash__(self) -> int:
        return hash(self.__class__.__name__)

    def __call__(
        self,
        value: str,
        positions: bool = False,
        chars: bool = False,
        keeporiginal: bool = False,
        removestops: bool = True,
        start_pos: int = 0,
        start_char: int = 0,
        tokenize: bool = True,
        mode: str = "",
        **kwargs,
    ):
        t = Token(positions, chars, removestops=removestops, mode=mode, **kwargs)
        t.source = value
        t.base_pos = start_pos
        t.base_char = start_char
        t.tokenize = tokenize
        t.boost = 1.0
        t.stopped = False
        if not tokenize:
            t.text = fold(value)
            t.original = value
            t.script = script_of(value)
            t.pos = start_pos
            t.startchar, t.endchar = start_char, start_char + len(value)
            yield t
            return
        folded = fold(value)
        # The hot loop: one match → six attribute writes, nothing else.
        for pos, m in enumerate(TOKEN_PATTERN.finditer(folded), start_pos):
            s, e = m.span()
            t.text = m[0]
            t.script = m.lastgroup
            t.pos = pos
            t.startchar = start_char + s
            t.endchar = start_char + e
            t.stopped = False
            if keeporiginal:
                t.original = value[s:e]
            yield t
