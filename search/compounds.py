"""Persian compounds that a query spells with a space and a passage writes as one word.

"رئال مادرید", "قطب نما", "سرما خوردگی": passages write such compounds with a
ZWNJ (رئال‌مادرید) or glued, and the analyzer keeps them one word
(رئالمادرید); a query writes them with a space, two words that match
neither. The evaluation data's README counts 693 words that fa-qa's passages
join with a ZWNJ and their questions write apart.

So for each pair of neighbouring Persian words of the query whose glued
spelling is a word of the index, that word is searched too, beside the
query's own words, as if the user had typed it. (A quoted pair, ``"روابط
عمومی"``, is the parser's: :func:`search.query._glued_alternatives`.)

Only where it cannot misfire:

* both halves are content words, each one term and no stopword: "راه های"
  is a word and its suffix, which the analyzer already joins, and
  "باشگاه است" ("the club is") would glue to a word nobody means;
* both halves have at least three letters: "بم بم" (Bam) glues to بمبم,
  which the stemmer cuts to بمب ("bomb");
* the glued spelling is one term, neither half's, and found in the index.

Dev (README, Quality): fa-qa MRR@10 0.908 → 0.914, and its spelling variants
move together (ZWNJ removed 0.914, ZWNJ → space 0.916); Hamshahri, whose
topics have no such compound, unchanged.
"""

from __future__ import annotations

import re
from itertools import pairwise

from whoosh import query as wq

from analyzers.chars import ZWNJ

# The quoted-pair rule's own pieces (search.query._glued_alternatives): the
# same halves, the same three-letter minimum (بم بم), the same quotes.
from search.query import _MIN_GLUED_PART, _QUOTED_RX, _is_persian_word, add_optional

#: The field whose vocabulary decides whether the glued word exists.
FIELD = "text"
# Spaces (and Hamshahri's NBSP half-space) separate the query's words; a
# quoted phrase becomes a mark that separates too, so its words never pair
# with the words around it.
_SPLIT_RX = re.compile(r"[\s\u00a0]+")
_PUNCT = "؟?!.,،:;«»()[]{}'\u061b"  # ؛ ARABIC SEMICOLON last


def _persian_letters(word: str) -> bool:
    # The parser's test for a quoted pair's halves, and no digits.
    return bool(word) and _is_persian_word(word) and not any(ch.isdigit() for ch in word)


def glued_words(text: str, analyzer, reader, *, field: str = FIELD, scored: set[str] | None = None) -> list[str]:
    """The glued spellings of the query's neighbouring Persian words that the index has.

    With ``scored`` (the parsed query's scored terms), a half the query
    excludes (``NOT کتاب خانه``) is no half: its compound is not searched.
    """
    words = [w.strip(_PUNCT) for w in _SPLIT_RX.split(_QUOTED_RX.sub(' " ', text))]
    out: list[str] = []
    memo: dict[str, list[str]] = {}

    def terms(word: str) -> list[str]:
        if word not in memo:
            memo[word] = [t.text for t in analyzer(word, mode="query") if not t.stopped]
        return memo[word]

    for a, b in pairwise(words):
        if not (_persian_letters(a) and _persian_letters(b)):
            continue
        if min(len(a.replace(ZWNJ, "")), len(b.replace(ZWNJ, ""))) < _MIN_GLUED_PART:
            continue
        ta, tb = terms(a), terms(b)
        if len(ta) != 1 or len(tb) != 1:
            continue  # a stopword, or a word and its affix
        if scored is not None and not (ta[0] in scored and tb[0] in scored):
            continue
        glued = a + b
        tg = terms(glued)
        if len(tg) != 1 or tg[0] in (ta[0], tb[0]) or glued in out:
            continue
        if reader.doc_frequency(field, tg[0]) > 0:
            out.append(glued)
    return out


def add_glued(q: wq.Query, parser, words: list[str] | tuple[str, ...]) -> wq.Query:
    """``q`` with the glued ``words`` (from :func:`glued_words`) added to its scored words.

    They go inside the query's filters and exclusions, and never loosen what
    it requires (:func:`~search.query.add_optional`), parsed as the user's
    own words are (same fields and boosts).
    """
    if not words:
        return q
    return add_optional(q, parser.parse(" ".join(words)))
