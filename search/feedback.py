"""Query expansion from the top results (pseudo-relevance feedback), on request.

A topic such as ``بازسازی شهر زلزله زده بم`` ("rebuilding the quake-hit city
of Bam") names only some of the words its relevant documents use; the best
few documents found for it use the rest (اسکان, آوار, ...). Expansion runs
the query once, takes the words that characterize those documents, and runs
it again with them added at a lower weight (RM3, Lavrenko & Croft 2001).

It pays off for *topics* with many relevant documents (dev: Hamshahri MAP
+0.023, Cranfield +0.021) and costs known-item questions, where the one
answer is already on top and the added words pull its neighbours up (dev:
fa-qa MRR −0.033, SQuAD −0.021), and sentences, whose words are all there
already (cross-lingual sentence pairs: nDCG@10 −0.03). So by default
(``expand=None``) it runs for queries that look like topics, :func:`is_topic`;
``expand=True``/``False`` (``--expand``/``--no-expand``) decide for every
query. Figures: README, Quality.
"""

from __future__ import annotations

import math
import re
from collections import Counter

from whoosh import query as wq

from analyzers.chars import ARABIC_KAF, ARABIC_YEH, FARSI_YEH, KEHEH
from analyzers.persian import QUESTION_WORDS
from search.query import add_optional, collect, scored_terms

#: Documents read for feedback, words added, and the share of the query's
#: weight the added words carry together. Tuned on the Hamshahri and
#: Cranfield dev topics together (README, Quality).
FEEDBACK_DOCS = 10
FEEDBACK_TERMS = 20
FEEDBACK_WEIGHT = 0.5
#: Words found in fewer passages than this are typos or ids, not topic words.
MIN_DOC_FREQ = 2
#: Fields the added words are searched in (document text and passage text).
EXPANSION_FIELDS = ("body", "text")


#: A topic names its subject in a few words: TREC titles have two to five,
#: Hamshahri's four or five once stopwords are gone.
TOPIC_WORDS = 5
#: English words that make a query a question (Persian: ``QUESTION_WORDS``).
ENGLISH_QUESTION_WORDS = frozenset("what who whom whose when where which why how".split())
_WORD_RX = re.compile(r"\w+")
_FIELD_VALUE_RX = re.compile(r"(?<![\w/\\])[A-Za-z_]\w*:(?:\[[^\]]*\]|\S+)")
_FOLD = str.maketrans({ARABIC_YEH: FARSI_YEH, ARABIC_KAF: KEHEH})


def is_topic(query_text: str, analyzer) -> bool:
    """Does the query name a subject in a few keywords, where feedback helps?

    Not if it is a question (a question word, or a question mark): it wants
    one answer, and feedback drifts off it. Not if it has more than
    :data:`TOPIC_WORDS` words once stopwords are gone: a sentence already
    says what it means. Chosen on the dev sets, where no question and no
    longer query gained from feedback on the whole (README, Quality).
    """
    if query_text.rstrip().endswith(("?", "\u061f")):  # ؟ ARABIC QUESTION MARK
        return False
    # A field's name and value are no words of a topic ("lang:fa", "source:x").
    query_text = _FIELD_VALUE_RX.sub(" ", query_text)
    words = _WORD_RX.findall(query_text.lower().translate(_FOLD))
    if any(w in ENGLISH_QUESTION_WORDS or w in QUESTION_WORDS for w in words):
        return False
    content = sum(1 for t in analyzer(query_text, mode="query") if not t.stopped)
    return 0 < content <= TOPIC_WORDS


def expand(searcher, q: wq.Query, analyzer, query_text: str, *, docs: int = FEEDBACK_DOCS) -> wq.Query:
    """``q`` OR the words that characterize the top ``docs`` documents it finds.

    Each candidate word scores by how much of the feedback documents it makes
    up, weighted by each document's share of the total score (RM1), times its
    inverse document frequency so that words every document uses do not win.
    """
    first = collect(searcher, q, docs, collapse="doc_id")[:docs]
    if not len(first):
        return q
    query_terms = {t.text for t in analyzer(query_text, mode="query") if not t.stopped}
    # Words the query searches already (its own, a glued compound, a bridge) are not added again.
    searched = query_terms | scored_terms(q, "text")
    total = sum(max(0.0, r.score) for r in first) or 1.0
    model: Counter[str] = Counter()
    for r in first:
        text = " ".join(f["text"] for f in searcher.documents(doc_id=r["doc_id"]))
        counts = Counter(t.text for t in analyzer(text, mode="index") if not t.stopped)
        length = sum(counts.values()) or 1
        share = max(0.0, r.score) / total
        for term, n in counts.items():
            model[term] += share * n / length
    reader = searcher.reader()
    n_docs = reader.doc_count_all() or 1
    scored = []
    for term, p in model.items():
        if term in searched:
            continue
        df = reader.doc_frequency("text", term)
        if df < MIN_DOC_FREQ:
            continue
        scored.append((p * math.log(n_docs / df), term))
    scored.sort(reverse=True)
    top = scored[:FEEDBACK_TERMS]
    weight = sum(s for s, _t in top)
    if not top or weight <= 0:
        return q
    # The added words together weigh FEEDBACK_WEIGHT of the query's words.
    scale = FEEDBACK_WEIGHT * max(1, len(query_terms)) / weight
    added = wq.Or([wq.Term(field, term, boost=scale * s) for s, term in top for field in EXPANSION_FIELDS])
    # Beside the query's words, inside its filters and exclusions: an added
    # word must not bring back what "NOT Russia", "lang:fa" or a user's
    # "Iran AND Russia" left out.
    return add_optional(q, added)
