"""Cross-script name keys: a Latin word and its Persian spelling meet.

Persian script leaves short vowels unwritten, so a name and its Persian
spelling share a *consonant skeleton*: ``Isfahan`` → ``sfhn`` and ``اصفهان``
(ص ف ه ن) → ``sfhn``; ``Minnikhanov`` → ``mnxnf`` and ``مینیخانوف`` →
``mnxnf``. :func:`cross_key` maps a word of either script to that skeleton
over a small alphabet of consonant classes (letters Persian writes alike fall
into one class: ت ط → t, س ص ث → s, ز ذ ض ظ → z, ک ق غ → k, ش چ → S).

Keys are indexed in their own field by :func:`CrossScriptAnalyzer`, prefixed
by the script they came from (``fa:sfhn``, ``en:sfhn``), so a Latin query word
looks up ``fa:`` keys only: the field never adds same-script noise. Stopwords,
short words and short skeletons get no key: a three-consonant skeleton is
shared by too many unrelated words (false friends) to be evidence.
"""

from __future__ import annotations

from functools import lru_cache

from whoosh.analysis import Filter

from analyzers import english
from analyzers.chars import strip_marks
from analyzers.resources import english_stopwords, persian_stopwords
from analyzers.tokenizer import BilingualTokenizer

#: A word needs at least this many letters, and its skeleton this many
#: consonant classes, to get a key.
MIN_LETTERS = 4
MIN_KEY = 3

# --- Latin ----------------------------------------------------------------
# Digraphs first (longest match), then single letters. Vowels (and y, which
# Persian writes as the long vowel or glide ی that the Persian side drops)
# map to "".
_LATIN_DIGRAPHS = {
    "sch": "S",
    "tch": "S",
    "kh": "x",
    "sh": "S",
    "ch": "S",
    "zh": "Z",
    "gh": "k",
    "ph": "f",
    "th": "t",
    "ck": "k",
    "dj": "j",
    "ts": "s",
}
_LATIN = {
    **dict.fromkeys("aeiouy", ""),
    "b": "b",
    "c": "k",
    "d": "d",
    "f": "f",
    "g": "g",
    "h": "h",
    "j": "j",
    "k": "k",
    "l": "l",
    "m": "m",
    "n": "n",
    "p": "p",
    "q": "k",
    "r": "r",
    "s": "s",
    "t": "t",
    "v": "f",
    "x": "ks",
    "z": "z",
}

# --- Persian --------------------------------------------------------------
# Letters already folded by the tokenizer (ي→ی, ك→ک, hamza forms → carrier).
# ا ی و ع are vowels or glides in a transliterated name and map to "", except
# a word-initial و, which is a consonant (ولادیمیر, واشنگتن).
_PERSIAN = {
    "ا": "",
    "آ": "",
    "ی": "",
    "و": "",
    "ع": "",
    "ء": "",
    "ب": "b",
    "پ": "p",
    "ت": "t",
    "ط": "t",
    "ث": "s",
    "س": "s",
    "ص": "s",
    "ج": "j",
    "چ": "S",
    "ح": "h",
    "ه": "h",
    "خ": "x",
    "د": "d",
    "ذ": "z",
    "ز": "z",
    "ض": "z",
    "ظ": "z",
    "ر": "r",
    "ژ": "Z",
    "ش": "S",
    "ف": "f",
    "ق": "k",
    "غ": "k",
    "ک": "k",
    "گ": "g",
    "ل": "l",
    "م": "m",
    "ن": "n",
}


_VOWELS = frozenset("aeiouy")
_WAW_CONSONANT_BEFORE = frozenset("اآی")


def _collapse(classes: list[str]) -> str:
    """Join, dropping a class that repeats the one before (nn → n, as Persian writes it once)."""
    out: list[str] = []
    for c in "".join(classes):
        if not out or out[-1] != c:
            out.append(c)
    # A final h is mostly a vowel sign in Persian (روسیه) and silent in
    # Latin transliteration (Shah/شاه): dropped on both sides.
    if out and out[-1] == "h":
        out.pop()
    return "".join(out)


def latin_skeleton(word: str) -> str:
    """``Isfahan`` → ``sfhn``; the word is lower-cased and ASCII-folded first."""
    w = english.ascii_fold(word.lower())
    out: list[str] = []
    i = 0
    while i < len(w):
        for n in (3, 2):
            cls = _LATIN_DIGRAPHS.get(w[i : i + n])
            if cls is not None:
                out.append(cls)
                i += n
                break
        else:
            ch = w[i]
            nxt = w[i + 1 : i + 2]
            if ch == "c" and nxt in ("e", "i", "y"):
                out.append("s")  # soft c: Cyprus قبرس, Nice
            elif ch == "w":
                out.append("f" if nxt in _VOWELS else "")  # Washington واشنگتن, Moscow مسکو
            else:
                out.append(_LATIN.get(ch, ""))
            i += 1
    return _collapse(out)


def persian_skeleton(word: str) -> str:
    """``اصفهان`` → ``sfhn``; marks and joiners are dropped first."""
    w = strip_marks(word)
    out = [
        # و is a consonant at the start of a word and before a vowel letter
        # (ولادیمیر, کووالف, توییتر), a vowel elsewhere (مسکو, اوکراین).
        ("f" if i == 0 or w[i + 1 : i + 2] in _WAW_CONSONANT_BEFORE else "") if ch == "و" else _PERSIAN.get(ch, "")
        for i, ch in enumerate(w)
    ]
    return _collapse(out)


@lru_cache(maxsize=200_000)
def cross_key(surface: str, script: str) -> str | None:
    """The script-prefixed key of a token (``fa:sfhn``), or None when it gets none.

    None for stopwords, words under :data:`MIN_LETTERS` letters and skeletons
    under :data:`MIN_KEY` classes.
    """
    if script == "en":
        word = english.ascii_fold(english.possessive(surface.lower()))
        if len(word) < MIN_LETTERS or word in english_stopwords():
            return None
        key = latin_skeleton(word)
    elif script == "fa":
        word = strip_marks(surface)
        if len(word) < MIN_LETTERS or word in persian_stopwords():
            return None
        key = persian_skeleton(word)
    else:
        return None
    if len(key) < MIN_KEY:
        return None
    return f"{script}:{key}"


def other_script(script: str) -> str:
    return "fa" if script == "en" else "en"


class CrossKeyFilter(Filter):
    """Replace each Latin or Persian token's text by its cross key; drop the rest.

    Offsets are kept, so a key match can be drawn on the original word.
    """

    def __eq__(self, other: object) -> bool:
        return other.__class__ is self.__class__

    def __hash__(self) -> int:
        return hash(self.__class__.__name__)

    def __call__(self, tokens):
        for t in tokens:
            key = cross_key(t.text, t.script)
            if key is None:
                continue
            t.text = key
            yield t


def CrossScriptAnalyzer():  # noqa: N802 - Whoosh's factory style
    """Tokens → cross-script keys, for the ``xkey`` field."""
    return BilingualTokenizer() | CrossKeyFilter()


def token_keys(text: str) -> list[tuple[int, int, str, str]]:
    """``(start, end, script, key)`` of every keyed word of ``text``."""
    return [(t.startchar, t.endchar, t.script, t.text) for t in CrossScriptAnalyzer()(text, chars=True)]
