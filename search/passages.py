"""Split a document into passages and tell which script a passage is in.

A passage is the unit bisearch ranks and shows: roughly a paragraph, about
``TARGET_CHARS`` characters, never more than 1.5 times that. Every passage is a
half-open span ``[start, end)`` of the *document text exactly as stored*, so a
hit can always be traced back to the characters the user indexed.

The splitter is regex-driven and linear in the size of the text: it runs on
every document at index time, on corpora of hundreds of megabytes.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass

__all__ = ["TARGET_CHARS", "Passage", "detect_lang", "split_passages"]

TARGET_CHARS = 1000
"""Preferred passage length in characters."""

LONG_LINE = 200
"""A line at least this long is a paragraph of its own, not a hard wrap."""

LANG_SHARE = 0.85
"""Share of letters one script needs for a passage to count as that language."""


@dataclass(frozen=True, slots=True)
class Passage:
    """One passage of a document.

    ``text`` is always ``document_text[start:end]``; it starts and ends on a
    non-whitespace character. ``lang`` is ``"fa"``, ``"en"`` or ``"mixed"``.
    """

    ordinal: int
    start: int
    end: int
    text: str
    lang: str


# --------------------------------------------------------------------------
# Paragraphs

# One or more blank lines (a line holding only whitespace, NBSP included)
# between two blocks. The leading "\n" ends the block's last line.
_BLANK_LINES = re.compile(r"\n(?:[^\S\n]*\n)+")
_WS_RUN = re.compile(r"\s*")


def _strip_span(text: str, start: int, end: int) -> tuple[int, int]:
    """Shrink ``[start, end)`` to start and end on non-whitespace (empty → start == end)."""
    chunk = text[start:end]
    stripped_left = chunk.lstrip()
    if not stripped_left:
        return start, start
    new_start = start + len(chunk) - len(stripped_left)
    new_end = start + len(chunk.rstrip())
    return new_start, new_end


def _is_line_per_paragraph(text: str, start: int, end: int) -> bool:
    """True when a block without blank lines is one paragraph per line.

    Hard-wrapped prose has short lines; text exported one paragraph per line
    (seeds 001 and 004) has many lines of ``LONG_LINE`` characters or more. A
    third of the lines being long is far beyond what hard wrapping produces.
    """
    lines = text[start:end].split("\n")
    if len(lines) < 2:
        return False
    long_lines = sum(1 for line in lines if len(line) >= LONG_LINE)
    return long_lines * 3 >= len(lines)


def _paragraphs(text: str) -> list[tuple[int, int]]:
    """Stripped spans of the paragraphs of ``text``, in order."""
    blocks: list[tuple[int, int]] = []
    pos = 0
    for m in _BLANK_LINES.finditer(text):
        blocks.append((pos, m.start()))
        pos = m.end()
    blocks.append((pos, len(text)))

    paragraphs: list[tuple[int, int]] = []
    for b_start, b_end in blocks:
        b_start, b_end = _strip_span(text, b_start, b_end)
        if b_start == b_end:
            continue
        if _is_line_per_paragraph(text, b_start, b_end):
            line_start = b_start
            while line_start < b_end:
                nl = text.find("\n", line_start, b_end)
                line_end = b_end if nl < 0 else nl
                s, e = _strip_span(text, line_start, line_end)
                if s < e:
                    paragraphs.append((s, e))
                line_start = line_end + 1
        else:
            paragraphs.append((b_start, b_end))
    return paragraphs


# --------------------------------------------------------------------------
# Sentences

# A run of sentence-final punctuation, optional closing quotes/brackets, then
# whitespace. "6.5" never matches (no whitespace after the dot).
_SENTENCE_END = re.compile(r"[.!?\u061f\u2026]+[\"'\u201d\u2019\u00bb)\]]*(?=\s)")
_WORD_BEFORE = re.compile(r"(?<![A-Za-z])([A-Za-z]+)$")
_ABBREVIATIONS = frozenset(
    {
        "St", "Mr", "Mrs", "Ms", "Dr", "Prof", "Jr", "Sr", "Mt", "Ft", "Lt", "Col", "Gen", "Gov",
        "Sen", "Rep", "Rev", "Hon", "Capt", "Sgt", "Inc", "Ltd", "Co", "Corp", "No", "Nos", "Vol",
        "Fig", "vs", "approx", "Jan", "Feb", "Mar", "Apr", "Jun", "Jul", "Aug", "Sep", "Sept",
        "Oct", "Nov", "Dec",
    }
)  # fmt: skip
# Last weak break (semicolon) or last whitespace inside a window.
_LAST_WEAK = re.compile(r".*[;\u061b](?=\s)", re.DOTALL)
_LAST_WORD_END = re.compile(r".*\S(?=\s)", re.DOTALL)


_CLOSERS = "\"'\u201d\u2019\u00bb)]"


def _is_sentence_end(text: str, m: re.Match[str], para_end: int) -> bool:
    """Reject dots that do not end a sentence (``e.g. the``, ``St. Petersburg``)."""
    core = m.group().rstrip(_CLOSERS)
    if not core.endswith("."):
        return True  # ! ? \u061f \u2026 always end a sentence
    after = _WS_RUN.match(text, m.end(), para_end).end()
    if after < para_end:
        nxt = text[after]
        if "a" <= nxt <= "z" or "0" <= nxt <= "9":
            return False
    if core == ".":
        dot = m.start()
        w = _WORD_BEFORE.search(text, max(0, dot - 7), dot)
        if w:
            word = w.group(1)
            if word in _ABBREVIATIONS or (len(word) == 1 and word.isupper()):
                return False
    return True


def _sentences(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """Stripped spans of the sentences of the paragraph ``[start, end)``."""
    bounds = [start]
    for m in _SENTENCE_END.finditer(text, start, end):
        if _is_sentence_end(text, m, end):
            bounds.append(m.end())
    bounds.append(end)
    spans = []
    for s, e in itertools.pairwise(bounds):
        s = _WS_RUN.match(text, s, e).end()
        if s < e:
            spans.append((s, e))
    return spans


def _hard_split(text: str, start: int, end: int, target: int, limit: int) -> list[tuple[int, int]]:
    """Cut one over-long sentence into pieces of at most ``target`` characters.

    Preference: after a semicolon in the second half of the window, else at
    the last whitespace, else (no whitespace at all) after ``target`` chars.
    """
    pieces: list[tuple[int, int]] = []
    a = start
    while end - a > limit:
        window_end = a + target + 1  # a break *at* a + target still fits
        m = _LAST_WEAK.match(text, a, window_end)
        if m and m.end() - a >= target // 2:
            cut = m.end()
        else:
            m = _LAST_WORD_END.match(text, a, window_end)
            cut = m.end() if m else a + target
        pieces.append((a, cut))
        a = _WS_RUN.match(text, cut, end).end()
    if a < end:
        pieces.append((a, end))
    return pieces


def _cut_paragraph(text: str, start: int, end: int, target: int, limit: int) -> list[tuple[int, int]]:
    """Cut a paragraph longer than ``target`` at sentence ends (greedy)."""
    pieces: list[tuple[int, int]] = []
    cur_start = cur_end = -1
    for s, e in _sentences(text, start, end):
        if cur_start >= 0 and e - cur_start <= target:
            cur_end = e
            continue
        if cur_start >= 0:
            pieces.append((cur_start, cur_end))
        cur_start, cur_end = s, e
    if cur_start >= 0:
        pieces.append((cur_start, cur_end))

    out: list[tuple[int, int]] = []
    for s, e in pieces:
        if e - s > limit:
            out.extend(_hard_split(text, s, e, target, limit))
        else:
            out.append((s, e))
    return out


def _merge_short(pieces: list[tuple[int, int]], min_chars: int, limit: int) -> list[tuple[int, int]]:
    """Merge pieces shorter than ``min_chars`` into the following one.

    A heading belongs to what follows it; a short piece at the very end joins
    the previous one. No merge may produce more than ``limit`` characters.
    """
    out: list[tuple[int, int]] = []
    pending: tuple[int, int] | None = None
    for s, e in pieces:
        if pending is not None:
            if e - pending[0] <= limit:
                s = pending[0]
            else:
                out.append(pending)
            pending = None
        if e - s < min_chars:
            pending = (s, e)
        else:
            out.append((s, e))
    if pending is not None:
        if out and pending[1] - out[-1][0] <= limit:
            out[-1] = (out[-1][0], pending[1])
        else:
            out.append(pending)
    return out


def split_passages(text: str, *, target: int = TARGET_CHARS, min_chars: int = 80) -> list[Passage]:
    """Split ``text`` into passages of about ``target`` characters.

    Paragraphs (blank-line separated blocks, or lines when a block is written
    one paragraph per line) are the first cut; a paragraph longer than
    ``target`` is cut greedily at sentence ends; a sentence longer than
    1.5 x ``target`` is cut at whitespace (as a last resort anywhere). Pieces
    shorter than ``min_chars`` (headings) merge into the next piece.

    The passages are in order, do not overlap, start and end on
    non-whitespace, and together cover every non-whitespace character of
    ``text`` exactly once; none is longer than 1.5 x ``target``.
    """
    if target < 1:
        raise ValueError(f"target must be at least 1, got {target}")
    limit = max(target, target * 3 // 2)
    pieces: list[tuple[int, int]] = []
    for s, e in _paragraphs(text):
        if e - s > target:
            para = _cut_paragraph(text, s, e, target, limit)
            # A short tail of a cut paragraph belongs to its own paragraph.
            if len(para) >= 2 and para[-1][1] - para[-1][0] < min_chars and para[-1][1] - para[-2][0] <= limit:
                para[-2:] = [(para[-2][0], para[-1][1])]
            pieces.extend(para)
        else:
            pieces.append((s, e))
    pieces = _merge_short(pieces, min_chars, limit)
    passages = []
    for i, (s, e) in enumerate(pieces):
        chunk = text[s:e]
        passages.append(Passage(ordinal=i, start=s, end=e, text=chunk, lang=detect_lang(chunk)))
    return passages


# --------------------------------------------------------------------------
# Script detection


def _letter_class(ranges: tuple[tuple[int, int], ...]) -> re.Pattern[str]:
    """A compiled character class of the code points in ``ranges`` that are letters."""
    parts: list[str] = []
    run_start = prev = -2
    for lo, hi in ranges:
        for cp in range(lo, hi + 1):
            if not chr(cp).isalpha():
                continue
            if cp != prev + 1:
                if run_start >= 0:
                    parts.append(f"\\U{run_start:08x}-\\U{prev:08x}")
                run_start = cp
            prev = cp
    if run_start >= 0:
        parts.append(f"\\U{run_start:08x}-\\U{prev:08x}")
    return re.compile("[" + "".join(parts) + "]")


_ARABIC_LETTER = _letter_class(((0x0600, 0x06FF), (0x0750, 0x077F), (0xFB50, 0xFDFF), (0xFE70, 0xFEFF)))
_LATIN_LETTER = _letter_class(((0x0041, 0x005A), (0x0061, 0x007A), (0x00C0, 0x024F), (0x1E00, 0x1EFF)))
_ASCII_LETTER = re.compile(r"[A-Za-z]")


def detect_lang(text: str) -> str:
    """Tell the script of ``text``: ``"fa"``, ``"en"`` or ``"mixed"``.

    Counts Arabic-script letters against Latin letters; a script with at least
    85% of them decides. Text with both scripts below that share, or with no
    letters at all, is ``"mixed"`` (no claim is better than a wrong one).
    """
    if text.isascii():  # fast path: the common English case
        return "en" if _ASCII_LETTER.search(text) else "mixed"
    arabic = len(_ARABIC_LETTER.findall(text))
    latin = len(_LATIN_LETTER.findall(text))
    total = arabic + latin
    if total == 0:
        return "mixed"
    if arabic >= LANG_SHARE * total:
        return "fa"
    if latin >= LANG_SHARE * total:
        return "en"
    return "mixed"
