"""Persian-specific steps: detached affixes and per-token normalization.

Real Persian text writes one word three ways: with a ZWNJ (``همکاری‌ها``),
glued (``همکاریها``) or with a space (``همکاری ها``, and Hamshahri's NBSP in
``مي شود``). The tokenizer already keeps ZWNJ-joined words whole, and
:func:`normalize` deletes the ZWNJ, so the first two meet. For the third,
:class:`PersianAffixJoinFilter` glues a detached affix token back onto its
word, so ``همکاری ها`` becomes the single token ``همکاریها`` whose span covers
both words. The stemmer then makes all three ``همکاری``.

Order matters: joining must see the raw tokens (a stopword filter would have
dropped ``ها`` and ``می``), and normalization must precede the stopword test
and stemming, which compare against normalized word lists.
"""

from __future__ import annotations

from whoosh.analysis import Filter

from analyzers.chars import FARSI_YEH, HEH, strip_marks

#: Written apart from the verb or adjective they belong to: می‌روم, بی‌نظیر.
PREFIXES = frozenset({"می", "نمی", "بی"})

#: Always a suffix when standing alone: plural and comparative endings.
SUFFIXES = frozenset({"ها", "های", "هایی", "هایم", "هایت", "هایش", "هایمان", "هایتان", "هایشان", "تر", "ترین", "تری", "ترها"})

#: Suffixes that stand alone only after a word ending in ه or ی, where the
#: writer had to separate them: خانه ای, رفته اند, خانه اش, خانه ی.
AFTER_VOWEL_SUFFIXES = frozenset({"ای", "ی", "ام", "ات", "اش", "ایم", "اید", "اند", "ایی"})

#: Persian question words, formal and colloquial (چیه, کجاست, کیه). They say
#: *that* something is asked, not what about: answer passages rarely contain
#: them, news headlines phrased as questions do. Dropped from free-text
#: queries only (search.query), never from the index or from phrases. The
#: English ones (what, which, who, when, where, why, how) are already in
#: Snowball's stop list.
QUESTION_WORDS = frozenset(
    "چه چی چیه چیست چیستند کجا کجاست کجای کجاها کدام کدوم کدامیک کدامین کی کیه کیست کیستند "
    "چگونه چطور چطوری چرا آیا چند چندم چندمین چقدر چندتا".split()
)

# What may separate a word from its detached affix: spaces, NBSP, ZWNJ and
# direction marks, and at most one line break (hard-wrapped text).
_GAP_CHARS = " \t\u00a0\u202f\u2009\u200c\u200d\u200e\u200f\n"


_VOWEL_ENDS = (HEH, FARSI_YEH)

#: surface → :func:`normalize` of it, for the join test. Module-level (never
#: on the filter, which Whoosh pickles into the index) and bounded.
_NORM_CACHE: dict[str, str] = {}
_NORM_CACHE_LIMIT = 200_000


def normalize(surface: str) -> str:
    """Delete harakat, tatweel and joiners (letters and digits are already folded)."""
    return strip_marks(surface)


def _gap_ok(source: str, start: int, end: int) -> bool:
    gap = source[start:end]
    return gap.count("\n") <= 1 and not gap.strip(_GAP_CHARS)


class PersianAffixJoinFilter(Filter):
    """Glue a detached Persian prefix or suffix token onto its word.

    The joined token's text is the two surfaces concatenated (normalization
    later removes marks) and its span runs from the first word's start to the
    second's end, so a highlight covers ``همکاری ها`` whole.
    """

    def __eq__(self, other: object) -> bool:
        return other.__class__ is self.__class__

    def __hash__(self) -> int:
        return hash(self.__class__.__name__)

    def __call__(self, tokens):
        # A Persian token is held back until the next one shows whether it
        # joins. Whoosh tokenizers reuse one Token object, so the held token's
        # fields (all the tokenizer changes per token) are kept in locals,
        # and it is yielded through one private copy made per call, not per
        # token: Token.copy() per token was a fifth of the analysis time.
        norm_cache = _NORM_CACHE
        out = None  # the private token the held ones are yielded through
        keep = False  # keeporiginal: tokens carry ``original``
        held = False
        h_text = h_norm = h_original = ""
        h_pos = h_start = h_end = 0
        for t in tokens:
            if t.script == "fa" and getattr(t, "tokenize", True):
                text = t.text
                norm = norm_cache.get(text)
                if norm is None:
                    norm = normalize(text)
                    if len(norm_cache) >= _NORM_CACHE_LIMIT:
                        norm_cache.clear()
                    norm_cache[text] = norm
                if held:
                    if h_norm in PREFIXES or norm in SUFFIXES or (norm in AFTER_VOWEL_SUFFIXES and h_norm[-1:] in _VOWEL_ENDS):
                        base = t.base_char
                        if _gap_ok(t.source, h_end - base, t.startchar - base):
                            h_text = h_text + text
                            h_end = t.endchar
                            if keep:  # the whole span, gap included
                                h_original = t.source[h_start - base : h_end - base]
                            h_norm = h_norm + norm
                            continue
                    out.text, out.pos, out.startchar, out.endchar, out.stopped = h_text, h_pos, h_start, h_end, False
                    if keep:
                        out.original = h_original
                    yield out
                elif out is None:
                    out = t.copy()
                    keep = hasattr(t, "original")
                held = True
                h_text, h_norm, h_pos, h_start, h_end = text, norm, t.pos, t.startchar, t.endchar
                if keep:
                    h_original = t.original
                continue
            if held:
                out.text, out.pos, out.startchar, out.endchar, out.stopped = h_text, h_pos, h_start, h_end, False
                if keep:
                    out.original = h_original
                yield out
                held = False
            yield t
        if held:
            out.text, out.pos, out.startchar, out.endchar, out.stopped = h_text, h_pos, h_start, h_end, False
            if keep:
                out.original = h_original
            yield out

    @staticmethod
    def _joins(left: str, right: str) -> bool:
        if left in PREFIXES:
            return True
        if right in SUFFIXES:
            return True
        return right in AFTER_VOWEL_SUFFIXES and left[-1:] in (HEH, FARSI_YEH)
