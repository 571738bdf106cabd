"""From a user's query string to a Whoosh query, leniently but never silently.

Whoosh's parser never fails: it quietly turns ``foo:bar`` into two words and
drops a dangling ``AND``. Users deserve to know, so :func:`parse_query` checks
the string first. An empty query or an unknown field is a
:class:`~search.errors.QueryError` (nothing sensible can be searched); a
stray quote, parenthesis or operator is repaired and reported as a warning.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from whoosh import query as wq
from whoosh.collectors import CollapseCollector, FilterCollector, TopCollector, UnlimitedCollector
from whoosh.matching.binary import AndNotMatcher
from whoosh.matching.wrappers import InverseMatcher
from whoosh.qparser import FuzzyTermPlugin, MultifieldParser, OrGroup, PlusMinusPlugin, PrefixPlugin, WildcardPlugin, syntax

from search.errors import QueryError
from search.schema import QUERY_FIELDS
from search.weighting import BilingualBM25F, Params

MAX_QUERY_CHARS = 2000
DEFAULT_FIELDS = ("title", "text")
#: Query-side boosts of the passage search. The title's weight is not here
#: but in the per-script settings below: it differs by language.
PASSAGE_BOOSTS: dict[str, float] = {}
#: Ranking *documents* (``bisearch run``) adds ``body``: the whole document,
#: indexed on its first passage, so a document whose words are spread over
#: many passages is not judged by its best passage alone.
DOCUMENT_FIELDS = ("title", "text", "body")
DOCUMENT_BOOSTS = {"body": 2.0}
#: BM25 per script (search.weighting), tuned on the dev splits (README, Quality).
#: Persian: passages are already length-bounded (~1,000 characters), so strong
#: length normalization mostly punishes the passages that say more (b=0.2).
#: The title is repeated on every passage of a document, so at full weight a
#: title word would lift every passage of that document alike (and news
#: distractors' headlines would outrank untitled answers): a small weight
#: keeps it a tie-breaker. English: low saturation (k1=0.6) ranks a passage
#: with more of the question's words above one that repeats a few (SQuAD),
#: the whole-document field wants classic normalization (b=0.75, Cranfield),
#: and a title word counts for more (Cranfield's titles are its abstracts'
#: summaries).
PERSIAN_BM25 = Params(k1=1.2, b=0.2, body_b=0.2, title=0.2)
ENGLISH_BM25 = Params(k1=0.6, b=0.45, body_b=0.75, title=0.5)
#: Fields that select rather than score: in an OR query they still must hold.
FILTER_FIELDS = frozenset({"lang", "source", "date", "doc_id"})

#: Words are ORed; BM25 already ranks a passage with more of them higher.
#: (Whoosh's ``OrGroup.factory(0.9)`` coordination bonus, used until 2026-12,
#: never reached the query: Whoosh rebuilds the top-level OR without its
#: ``scale``. Plain OR says what actually happens; rankings are unchanged.)
_GROUP = OrGroup

# Field names are ASCII; "گفت:برنامه" in pasted Persian text is just text.
_FIELD_RX = re.compile(r"(?<![\w/\\])([A-Za-z_][A-Za-z0-9_]*):(?!//)")
_OPERATORS = ("AND", "OR", "NOT", "ANDNOT", "ANDMAYBE")
_STRAY_OP_RX = re.compile(r"^\s*(?:(?:AND|OR|ANDNOT|ANDMAYBE)\b\s*)+|(?:\s*\b(?:AND|OR|NOT|ANDNOT|ANDMAYBE))+\s*$")
LANG_VALUES = ("fa", "en", "mixed")
_LANG_VALUE_RX = re.compile(r"(?<![\w])lang:([^\s()]+)")
_NON_ASCII_COLON_RX = re.compile(r"(?<=[^\x00-\x7f]):")
_QUOTED_RX = re.compile(r'"[^"]*"')
# Two Persian words in quotes ("روابط عمومی"): a compound that is also
# written glued or with a ZWNJ (روابطعمومی, روابط‌عمومی), one word to the analyzer.
_PW = r"((?:[^\W\d_]|[\u064b-\u065f\u0670\u200c])+)"  # letters, harakat, ZWNJ
_PERSIAN_PAIR_RX = re.compile(rf'"{_PW}[ \u00a0]+{_PW}"')
_DOUBLE_OP_RX = re.compile(r"\b(AND|OR|ANDNOT|ANDMAYBE)(\s+(?:AND|OR|ANDNOT|ANDMAYBE)\b)+")


@dataclass(frozen=True, slots=True)
class ParsedQuery:
    """The Whoosh query plus what was repaired on the way."""

    text: str
    query: wq.Query
    warnings: tuple[str, ...] = ()

    @property
    def is_empty(self) -> bool:
        return self.query is wq.NullQuery or isinstance(self.query, type(wq.NullQuery))


class NestedPlusMinusPlugin(PlusMinusPlugin):
    """``+``/``-`` inside parentheses too.

    Whoosh's plugin sorts required, optional and banned words in the top-level
    group only; a ``-word`` in a nested group (``oil OR (gas -Russia)``) was
    left as a bare marker and the parser raised ``NotImplementedError``.
    """

    def do_plusminus(self, parser, group):
        return super().do_plusminus(parser, self._nested(parser, group))

    def _nested(self, parser, group):
        for i, node in enumerate(group):
            if isinstance(node, syntax.GroupNode):
                inner = self._nested(parser, node)
                if any(isinstance(n, (self.Plus, self.Minus)) for n in inner):
                    boost = inner.boost
                    inner = super().do_plusminus(parser, inner)
                    inner.boost = boost
                group[i] = inner
        return group


def make_parser(schema, *, fields=DEFAULT_FIELDS, boosts: dict[str, float] | None = PASSAGE_BOOSTS) -> MultifieldParser:
    """Whoosh's parser over ``fields``, OR-grouped, with fuzzy ``~`` and ``+/-``."""
    parser = MultifieldParser(list(fields), schema, fieldboosts=boosts, group=_GROUP)
    parser.add_plugin(FuzzyTermPlugin())
    # Only a trailing * is special. Whoosh's wildcard plugin also reads "?" as
    # "any one character", so every question ("When was the oil crisis?")
    # lost its last word to a wildcard that matched nothing.
    parser.remove_plugin_class(WildcardPlugin)
    parser.add_plugin(PrefixPlugin())
    # + and - are operators only at the start of a word: Whoosh's default
    # would read "Iran-Russia" as Iran ANDNOT Russia and date:2024-05-28 as
    # date:2024 ANDNOT 05 ANDNOT 28.
    parser.add_plugin(NestedPlusMinusPlugin(plusexpr=r"(?<![^\s(])\+", minusexpr=r"(?<![^\s(])-"))
    return parser


def scoring() -> BilingualBM25F:
    """BM25F over passages with the tuned settings of each script."""
    return BilingualBM25F(persian=PERSIAN_BM25, english=ENGLISH_BM25)


_MIN_GLUED_PART = 3


def _is_persian_word(word: str) -> bool:
    return all("\u0600" <= ch <= "\u06ff" or ch == "\u200c" for ch in word)


def _glued_alternatives(text: str) -> str:
    """``"روابط عمومی"`` → ``("روابط عمومی" OR روابطعمومی)``: the phrase, or its glued spelling."""

    def alt(m: re.Match) -> str:
        a, b = m.group(1), m.group(2)
        if not (_is_persian_word(a) and _is_persian_word(b)):
            return m.group(0)
        # Two-letter halves glue into words of their own that the stemmer
        # then cuts elsewhere: "بم بم" (Bam) would search بمبم → بمب (bomb).
        if min(len(a), len(b)) < _MIN_GLUED_PART:
            return m.group(0)
        return f"({m.group(0)} OR {a}{b})"

    return _PERSIAN_PAIR_RX.sub(alt, text)


def _repair(text: str, warnings: list[str]) -> str:
    if text.count('"') % 2:
        i = text.rfind('"')
        text = text[:i] + " " + text[i + 1 :]
        warnings.append('unbalanced quote ("): the last one was ignored')
    depth, out = 0, []
    for ch in text:
        if ch == "(":
            depth += 1
        elif ch == ")":
            if depth == 0:
                warnings.append("unbalanced parenthesis: a stray ')' was ignored")
                out.append(" ")
                continue
            depth -= 1
        out.append(ch)
    text = "".join(out)
    if depth:
        warnings.append(f"unbalanced parenthesis: {depth} unclosed '(' closed at the end")
        text = text + ")" * depth
    new = _DOUBLE_OP_RX.sub(r"\1", text)
    if new != text:
        warnings.append("repeated operator: only the first was kept")
        text = new
    new = _STRAY_OP_RX.sub(" ", text)
    if new != text:
        warnings.append("operator with nothing to join (AND/OR/NOT at the start or end) was ignored")
        text = new
    return text


def parse_query(parser: MultifieldParser, text: str) -> ParsedQuery:
    """Check, repair and parse ``text``; raises QueryError when nothing can be searched."""
    if text is None or not text.strip():
        raise QueryError("empty query", query=text or "", hint='give some words, e.g. bisearch search "Isfahan"')
    if len(text) > MAX_QUERY_CHARS:
        raise QueryError(
            f"query is {len(text)} characters long (limit {MAX_QUERY_CHARS})",
            query=text[:80] + "…",
            hint="search for the key words, not the whole text",
        )
    known = set(QUERY_FIELDS)
    # A colon inside a quoted phrase is text, not a field (the hint below says so).
    for m in _FIELD_RX.finditer(_QUOTED_RX.sub(" ", text)):
        name = m.group(1)
        if name not in known:
            raise QueryError(
                f"unknown field {name!r} in query {text!r}",
                query=text,
                hint=f"fields are {', '.join(sorted(known))}; put the words in quotes to search for a colon",
            )
    warnings: list[str] = []
    for m in _LANG_VALUE_RX.finditer(text):
        if m.group(1) not in LANG_VALUES:
            warnings.append(f"lang:{m.group(1)} matches nothing: languages are {', '.join(LANG_VALUES)}")
    # A colon after a non-ASCII word is punctuation ("گفت:برنامه"), not a
    # field: Whoosh would silently drop the word before it.
    repaired = _repair(_NON_ASCII_COLON_RX.sub(" ", text), warnings)
    try:
        q = parser.parse(_glued_alternatives(repaired))
    except Exception as exc:  # Whoosh is lenient; a failure here is a date or number it could not read
        raise QueryError(
            f"cannot parse query {text!r}: {exc}", query=text, hint="check field values such as dates (YYYY-MM-DD)"
        ) from None
    if "date:" in repaired and not any(leaf.field() == "date" for leaf in _leaves(q)):
        raise QueryError(
            f"cannot read the date in {text!r}",
            query=text,
            hint="write dates as YYYY, YYYY-MM or YYYY-MM-DD, ranges as date:[2024-01-01 TO 2025-12-31]",
        )
    q = _drop_question_words(_nots_exclude(_filters_required(q)), _question_terms(parser.schema))
    if isinstance(q, type(wq.NullQuery)):
        if repaired.strip():
            warnings.append("every word of the query is a stopword or an operator: nothing to search")
    return ParsedQuery(text=text, query=q, warnings=tuple(warnings))


def collect(searcher, q: wq.Query, limit: int | None, *, filter=None, collapse: str | None = None):
    """The top ``limit`` hits of ``q``, scored in full: Whoosh's results, minus its pruning.

    Whoosh 2.7.4 prunes a top-N search twice: it skips blocks whose best
    possible score cannot reach the N-th hit, and every ten hits it replaces
    OR clauses that "cannot" reach it by optional ones. Both trust each
    matcher's score bound, and some bounds are wrong: the array matcher it
    uses for an OR on small indexes (≤ 5,000 passages) reports the largest of
    its clauses' bounds, not their sum, and its AND NOT matcher can read past
    its end. Hits vanished from the top 10 although they outscored what was
    shown (2 of 113 Cranfield dev queries, both with ``-word``), and pseudo-
    relevance feedback (:mod:`search.feedback`) lost most of its hits. Full
    scoring measured as fast as pruning on our many-field OR queries (SQuAD
    and fa-qa dev questions, 200 each, side by side), so nothing is pruned.

    Queries that are ORs of terms (nearly all) are scored a term at a time
    by :mod:`search.fastscore`, collapsed or not: the same hits, order,
    scores and total, without Whoosh's per-document loop; anything else runs
    the loop below.
    """
    from search import fastscore

    if fastscore.ENABLED:
        try:
            return fastscore.fast_collect(searcher, q, limit, filter=filter, collapse=collapse or None)
        except fastscore.Unsupported:
            pass
    if limit is None or limit >= searcher.doc_count():
        c = UnlimitedCollector()  # what Whoosh does too: it never prunes
    else:
        c = TopCollector(limit, usequality=False, replace=0)
    if collapse:
        c = CollapseCollector(c, collapse, limit=1)
    if filter is not None:
        c = FilterCollector(c, allow=filter)
    searcher.search_with_collector(q, c)
    return c.results()


def _and_not_find_first(self) -> None:
    """Whoosh 2.7.4's ``AndNotMatcher`` checks its first match against the
    excluded side only when both sides start on the same document: when the
    excluded word occurs in an earlier passage, the first passage with both
    words got through (``Iran -Russia`` over "Russia", "Iran and Russia",
    "Iran" found "Iran and Russia"). ``_find_next`` skips the excluded side
    forward first, so it is the check for any start.
    """
    if self.a.is_active() and self.b.is_active():
        self._find_next()


def _inverse_find_next(self) -> None:
    """Whoosh 2.7.4's ``InverseMatcher`` (``NOT x``) steps past a document
    of ``x``, and when ``x`` then runs out it stops there even if that next
    document is deleted: a removed passage came back for ``NOT super``.
    Here every candidate is checked for deletion and for ``x``, in any order.
    """
    child = self.child
    missing = self.missing
    while self._id < self.limit:
        if missing(self._id):
            self._id += 1
        elif child.is_active() and child.id() < self._id:
            child.skip_to(self._id)
        elif child.is_active() and child.id() == self._id:
            self._id += 1
            child.next()
        else:
            return


# Process-wide fixes of Whoosh methods (their own reset() and next() call them too).
AndNotMatcher._find_first = _and_not_find_first
InverseMatcher._find_next = _inverse_find_next


_QUESTION_TERMS: dict[int, tuple[object, frozenset[tuple[str, str]]]] = {}


def _question_terms(schema) -> frozenset[tuple[str, str]]:
    """(field, term) of every Persian question word, as the schema's analyzers index it."""
    entry = _QUESTION_TERMS.get(id(schema))
    if entry is None or entry[0] is not schema:  # an id can be reused by a later schema
        from analyzers.persian import QUESTION_WORDS

        out = set()
        for name in ("title", "text", "body"):
            if name in schema:
                for word in QUESTION_WORDS:
                    out.update((name, t) for t in schema[name].process_text(word, mode="query"))
        if len(_QUESTION_TERMS) >= 8:  # a few indexes per process at most; never grows
            _QUESTION_TERMS.clear()
        entry = _QUESTION_TERMS[id(schema)] = (schema, frozenset(out))
    return entry[1]


def map_scored(q: wq.Query, fn) -> wq.Query:
    """``q`` with ``fn`` applied to its scored part, and its filters and exclusions kept.

    A parsed query is its scored words, possibly inside ``AND (filters)``
    (:func:`_filters_required`) and ``ANDNOT (excluded)`` (:func:`_nots_exclude`).
    Whatever is added to or taken from the words must go there, or it would
    escape the filters and exclusions. A user's own AND is words, not a
    filter: ``fn`` gets it whole. A query of filters only is returned as is.
    """
    if _is_filter(q):
        return q  # filters only: no words to add to or take from
    if isinstance(q, wq.And) and q.subqueries and all(_is_filter(sub) for sub in q.subqueries[1:]):
        return wq.And([map_scored(q.subqueries[0], fn), *q.subqueries[1:]], boost=q.boost)
    if isinstance(q, wq.AndNot):
        return wq.AndNot(map_scored(q.a, fn), q.b)
    return fn(q)


def add_optional(q: wq.Query, extra: wq.Query) -> wq.Query:
    """``q`` with ``extra`` added to its scored words, never loosening what ``q`` requires.

    Beside ORed words, ``extra`` is one more alternative; beside anything
    else (a user's ``A AND B``, a phrase), it may only raise the score of
    what ``q`` matches (``AND MAYBE``): ``(A OR extra) AND B`` would let
    passages without ``A`` in.
    """

    def add(words: wq.Query) -> wq.Query:
        if isinstance(words, wq.Or):
            return wq.Or([words, extra])
        return wq.AndMaybe(words, extra)

    return map_scored(q, add)


def scored_terms(q: wq.Query, field: str) -> set[str]:
    """The ``field`` terms of ``q``'s scored part: not the excluded (``-x``, ``NOT x``), not in phrases."""
    out: set[str] = set()

    def walk(node: wq.Query) -> None:
        if isinstance(node, wq.AndNot):
            walk(node.a)
        elif isinstance(node, wq.Term):
            if node.fieldname == field and isinstance(node.text, str):
                out.add(node.text)
        elif not node.is_leaf() and not isinstance(node, wq.Not):
            for sub in node.children():
                walk(sub)

    walk(q)
    return out


def _drop_question_words(q: wq.Query, question: frozenset[tuple[str, str]]) -> wq.Query:
    """Drop the free-text words of a top-level OR that only ask (چیست, کجا).

    A word is one OR clause (its term in each default field); phrases and
    fielded terms are kept. A query of question words only is kept whole.
    """

    def asks(sub: wq.Query) -> bool:
        leaves = _leaves(sub)
        return bool(leaves) and all(isinstance(x, wq.Term) and (x.fieldname, x.text) in question for x in leaves)

    def drop(target: wq.Query) -> wq.Query:
        if not isinstance(target, wq.Or):
            return target
        kept = [sub for sub in target.subqueries if not asks(sub)]
        if len(kept) == len(target.subqueries) or not kept:
            return target
        return kept[0] if len(kept) == 1 else wq.Or(kept, boost=target.boost)

    return map_scored(q, drop)


def _leaves(q: wq.Query) -> list[wq.Query]:
    return [q] if q.is_leaf() else list(q.leaves())


def _is_filter(q: wq.Query) -> bool:
    leaves = _leaves(q)
    return bool(leaves) and all(leaf.field() in FILTER_FIELDS for leaf in leaves)


def _filters_required(q: wq.Query) -> wq.Query:
    """``lang:fa Isfahan`` means Isfahan *within* Persian passages, not either.

    The OR grouping that suits free text would make a field filter one more
    optional clause; pull such clauses out of the top-level OR and AND them.
    """
    if not isinstance(q, wq.Or):
        return q
    filters = [sub for sub in q.subqueries if _is_filter(sub)]
    if not filters:
        return q
    # Filters on one field are alternatives ("lang:fa lang:mixed"); Whoosh has
    # flattened any parentheses away, so group them again by field.
    # Negated filters ("NOT lang:fa") are not alternatives: each must hold.
    by_field: dict[str, list[wq.Query]] = {}
    negated = [f for f in filters if isinstance(f, wq.Not)]
    for f in filters:
        if not isinstance(f, wq.Not):
            by_field.setdefault(_leaves(f)[0].field(), []).append(f)
    filters = [fs[0] if len(fs) == 1 else wq.Or(fs) for fs in by_field.values()] + negated
    rest = [sub for sub in q.subqueries if not _is_filter(sub)]
    if not rest:
        return filters[0] if len(filters) == 1 else wq.And(filters)
    scored = rest[0] if len(rest) == 1 else wq.Or(rest, boost=q.boost, scale=q.scale)
    return wq.And([scored, *filters])


def _nots_exclude(q: wq.Query) -> wq.Query:
    """``Iran NOT Russia`` means Iran *without* Russia.

    Under the OR grouping Whoosh parses it as ``Iran OR (NOT Russia)``, which
    matches nearly every passage; turn each OR holding NOT clauses into
    ``(the other clauses) ANDNOT (the negated ones)``, at any depth.
    """
    if q.is_leaf():
        return q
    q = q.apply(_nots_exclude)
    if not isinstance(q, wq.Or):
        return q
    nots = [sub.query for sub in q.subqueries if isinstance(sub, wq.Not)]
    rest = [sub for sub in q.subqueries if not isinstance(sub, wq.Not)]
    if not nots or not rest:
        return q
    positive = rest[0] if len(rest) == 1 else wq.Or(rest, boost=q.boost, scale=q.scale)
    return wq.AndNot(positive, nots[0] if len(nots) == 1 else wq.Or(nots))
