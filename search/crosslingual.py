"""Query-side bridging across the language line.

A parsed query is *bridged* by giving each of its ``text`` terms alternatives
in the other language, each with a boost below 1 so that same-script matches
rank first:

* a **cross-script key** (:mod:`analyzers.crossscript`): ``Isfahan`` also
  looks up ``fa:sfhn`` in the ``xkey`` field, which holds the skeleton of
  every Persian word of a passage, so it matches ``اصفهان``. The boost grows
  with the key's length: a long skeleton is far less likely a false friend.
  BM25's idf on the ``xkey`` field does the rest (a rare key weighs more).
* a **lexicon entry** from Unicode CLDR (via ``babel``): English and Persian
  names of countries and territories, languages, months and weekdays, so
  ``Russia`` also searches ``روسیه`` and ``ایران`` also searches ``Iran``.
  ``babel`` is imported, and the lexicon built, only the first time a query
  needs it; it is then kept for the process and in a JSON file under
  ``$XDG_CACHE_HOME/bisearch`` for the next one.

Bridging only rewrites ``Term`` leaves on ``text``: filters, NOT clauses and
phrases keep their meaning.
"""

from __future__ import annotations

import importlib.util
import json
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path

from whoosh import query as wq

from analyzers import ANALYZER_VERSION, english
from analyzers.chars import fold, strip_marks
from analyzers.crossscript import cross_key, other_script
from analyzers.resources import english_stopwords, persian_stopwords
from analyzers.tokenizer import BilingualTokenizer

#: Boost of a lexicon translation, relative to the term it translates.
LEXICON_BOOST = 0.6
#: Boost of a cross-script key match for a key of :data:`FULL_KEY` classes or
#: more; shorter keys get proportionally less.
KEY_BOOST = 0.35
FULL_KEY = 5
#: Longest name (in words) looked up in the lexicon.
MAX_NAME_WORDS = 4


@dataclass(frozen=True)
class Bridge:
    """A bridged query and what it added (for highlighting and ``Hit.cross``)."""

    query: wq.Query
    keys: frozenset[str] = frozenset()
    translations: tuple[tuple[str, str], ...] = field(default=())

    @property
    def bridged(self) -> bool:
        return bool(self.keys or self.translations)


# --- the CLDR lexicon ----------------------------------------------------
_LEXICON: dict[str, dict[str, str]] | None = None
_LOCK = threading.Lock()


def _norm_words(text: str) -> tuple[str, ...]:
    """A name as the lexicon keys it: words lower-cased, ASCII-folded, marks and joiners dropped."""
    out = []
    for t in BilingualTokenizer()(text):
        if t.script == "en":
            out.append(english.ascii_fold(english.possessive(t.text.lower())))
        elif t.script == "fa":
            out.append(strip_marks(t.text))
        else:
            out.append(t.text.lower())
    return tuple(out)


def _build_lexicon() -> dict[str, dict[str, str]]:
    from babel import Locale  # ~25 ms, only when a query first needs the lexicon

    en, fa = Locale("en"), Locale("fa")
    pairs: list[tuple[str, str]] = []
    for table in ("territories", "languages"):
        en_t, fa_t = getattr(en, table), getattr(fa, table)
        for code, name in en_t.items():
            if table == "territories" and not code.isalpha():
                continue  # "001" World, "150" Europe: regions, not names people search
            if code in fa_t:
                pairs.append((name, fa_t[code]))
    for table in ("months", "days"):
        en_t, fa_t = getattr(en, table), getattr(fa, table)
        for context in ("format", "stand-alone"):
            for i, name in en_t[context]["wide"].items():
                pairs.append((name, fa_t[context]["wide"][i]))
    stops = english_stopwords() | persian_stopwords()
    en2fa: dict[str, str] = {}
    fa2en: dict[str, str] = {}
    for en_name, fa_name in pairs:
        e, f = " ".join(_norm_words(en_name)), " ".join(_norm_words(fold(fa_name)))
        if not e or not f:
            continue
        if e not in stops and e not in en2fa:
            en2fa[e] = fa_name
        if f not in stops and f not in fa2en:
            fa2en[f] = en_name
    return {"en": en2fa, "fa": fa2en}


def _babel_version() -> str | None:
    """babel's installed version (None: babel is not installed).

    Read from the name of its ``.dist-info`` folder beside the package:
    ``importlib.metadata`` would cost a cold ``bisearch search`` 10-30 ms
    (it imports ``email`` and scans every distribution), the time the cache
    file exists to save. Falls back to ``importlib.metadata`` for any other
    kind of install.
    """
    spec = importlib.util.find_spec("babel")
    if spec is None:
        return None
    if spec.origin:
        try:
            names = os.listdir(Path(spec.origin).parent.parent)
        except OSError:
            names = []
        for name in names:
            stem, _dot, ext = name.rpartition(".")
            dist, dash, version = stem.partition("-")
            if ext == "dist-info" and dash and dist.lower() == "babel":
                return version
    from importlib import metadata

    try:
        return metadata.version("babel")
    except metadata.PackageNotFoundError:
        return None


def _cache_file() -> Path | None:
    """Where the built lexicon is kept between processes (None: no cache).

    Keyed by babel's version (the CLDR data) and the analyzer version (the
    normalization of the keys), so a change of either rebuilds it.
    """
    babel_version = _babel_version()
    if babel_version is None:
        return None
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "bisearch" / f"cldr-lexicon-{babel_version}-a{ANALYZER_VERSION}.json"


def _load_or_build() -> dict[str, dict[str, str]]:
    # Building takes ~80 ms (babel's locale data); a one-shot `bisearch search`
    # would pay it on every run, so the result is cached as JSON.
    path = _cache_file()
    if path is not None:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            if isinstance(data, dict) and set(data) == {"en", "fa"}:
                return data
        except (OSError, ValueError):
            pass
    data = _build_lexicon()
    if path is not None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
            tmp.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
            tmp.replace(path)
        except OSError:
            pass  # a read-only home only costs the rebuild next time
    return data


def lexicon() -> dict[str, dict[str, str]]:
    """``{"en": {english name: persian name}, "fa": {persian name: english name}}``, built once."""
    global _LEXICON
    if _LEXICON is None:
        with _LOCK:
            if _LEXICON is None:
                _LEXICON = _load_or_build()
    return _LEXICON


def translate(name: str) -> str | None:
    """The other language's name for ``name`` (``Russia`` → ``روسیه``), or None."""
    words = _norm_words(fold(name))
    if not words:
        return None
    script = "fa" if words[0][:1] and "\u0600" <= words[0][0] <= "\u06ff" else "en"
    return lexicon()[script].get(" ".join(words))


# --- bridging a parsed query --------------------------------------------
def _query_tokens(text: str, analyzer) -> list[tuple[str, str, str]]:
    """``(term, surface, script)`` for each word of the query, in order (stopwords as term None)."""
    out = []
    for t in analyzer(text, chars=True, positions=True, removestops=False, mode="query"):
        # getattr: an analyzer that tags no script (a benchmark's stock
        # Whoosh baseline) has nothing to bridge.
        if getattr(t, "script", None) not in ("en", "fa"):
            continue
        term = None if getattr(t, "stopped", False) else t.text
        out.append((term, text[t.startchar : t.endchar], t.script))
    return out


def _term_query(analyzer, name: str, boost: float) -> wq.Query | None:
    terms = [t.text for t in analyzer(name, mode="query")]
    if not terms:
        return None
    if len(terms) == 1:
        return wq.Term("text", terms[0], boost=boost)
    return wq.Phrase("text", terms, boost=boost)


def bridge_query(q: wq.Query, text: str, analyzer, *, keys: bool = True, names: bool = True) -> Bridge:
    """``q`` with each ``text`` term also searching its other-language forms."""
    tokens = _query_tokens(text, analyzer)
    extras: dict[str, list[wq.Query]] = {}
    key_set: set[str] = set()
    translations: list[tuple[str, str]] = []
    if names and tokens:
        lex = None
        i = 0
        while i < len(tokens):
            for n in range(min(MAX_NAME_WORDS, len(tokens) - i), 0, -1):
                group = tokens[i : i + n]
                if len({s for _t, _s, s in group}) != 1:
                    continue
                anchor = next((t for t, _s, _sc in group if t is not None), None)
                if anchor is None:
                    continue
                if lex is None:
                    lex = lexicon()
                name = " ".join(_norm_words(fold(" ".join(s for _t, s, _sc in group))))
                target = lex[group[0][2]].get(name)
                if target is None:
                    continue
                tq = _term_query(analyzer, target, LEXICON_BOOST)
                if tq is not None:
                    extras.setdefault(anchor, []).append(tq)
                    translations.append((" ".join(s for _t, s, _sc in group), target))
                i += n - 1
                break
            i += 1
    if keys:
        for term, surface, script in tokens:
            if term is None:
                continue
            key = cross_key(surface, script)
            if key is None:
                continue
            target = f"{other_script(script)}:{key.partition(':')[2]}"
            if target in key_set:
                continue
            key_set.add(target)
            skeleton = len(target) - 3
            extras.setdefault(term, []).append(wq.Term("xkey", target, boost=KEY_BOOST * min(1.0, skeleton / FULL_KEY)))
    if not extras:
        return Bridge(q)
    # What is excluded is excluded in both languages (Iran NOT Russia drops
    # روسیه too), but only through the lexicon: a key's false friend must not
    # silently remove a passage.
    negated = {term: [x for x in xs if x.field() != "xkey"] for term, xs in extras.items()}
    bridged = _rewrite(q, extras, negated)
    # The keys the query really searches (and highlights): not those of a
    # field clause (lang:en), a dropped question word or an excluded word.
    used = frozenset(t for f, t in bridged.iter_all_terms() if f == "xkey")
    return Bridge(bridged, used, tuple(translations))


def _rewrite(q: wq.Query, extras: dict[str, list[wq.Query]], negated: dict[str, list[wq.Query]]) -> wq.Query:
    if isinstance(q, wq.Term):
        if q.fieldname == "text" and extras.get(q.text):
            return wq.Or([q, *extras[q.text]])
        return q
    if q.is_leaf():
        return q
    if isinstance(q, wq.Not):
        return wq.Not(_rewrite(q.query, negated, negated))
    if isinstance(q, wq.AndNot):
        return wq.AndNot(_rewrite(q.a, extras, negated), _rewrite(q.b, negated, negated))
    return q.apply(lambda sub: _rewrite(sub, extras, negated))


def is_cross(seen: tuple[str, ...], direct: frozenset[str]) -> bool:
    """A hit matched across the line when it highlights words, none of them a direct query term."""
    return bool(seen) and not any(t in direct for t in seen)
