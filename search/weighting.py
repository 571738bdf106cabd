"""BM25F with one set of parameters per script, and the idf every other engine uses.

Whoosh's :class:`~whoosh.scoring.BM25F` has one ``K1`` and one ``B`` (plus
``B`` per field). The two languages want different ones, measured on the dev
splits (README, Quality):

* Persian passages, fa-qa and Hamshahri: weak length normalization
  (``B=0.2``); stronger normalization lets long news passages that repeat a
  common word crowd out the answer.
* English, SQuAD and Cranfield: low saturation (``K1=0.6``), moderate length
  normalization of passages and classic normalization (``B=0.75``) of the
  whole-document field, and a heavier title (values in :mod:`search.query`).

A term's parameters follow its own script, not the query's, so a mixed query
("Isfahan همکاری") scores each word as its language ranks best and one
index serves both. Digits and other scripts use the Persian parameters (the
default); a number weighs little either way.

Whoosh's idf is ``log(N / (df + 1)) + 1``: the ``+ 1`` gives a word found in
half of the passages 1.7 where a rare name gets 7, so three middling words
(علل, مرگ, میر) outvote the one that says what the query is about (نهنگ).
:meth:`BilingualBM25F.idf` uses Lucene's (and FTS5's, tantivy's) probabilistic
idf, ``log(1 + (N - df + 0.5) / (df + 0.5))``, which goes to zero for a word
every passage has. Measured: Hamshahri, SQuAD and Cranfield gain, fa-qa is
unchanged (README, Quality).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from whoosh.scoring import BM25F, BM25FScorer, WeightScorer


@dataclass(frozen=True)
class Params:
    """One script's BM25 settings.

    ``k1`` is term-frequency saturation, ``b`` length normalization (``body_b``
    for the whole-document ``body`` field), and ``title`` the weight of a
    title match relative to a match in the text.
    """

    k1: float
    b: float
    body_b: float
    title: float


class BilingualBM25F(BM25F):
    """BM25F whose ``K1``/``B`` follow each term's script, with Lucene's idf."""

    def __init__(self, *, persian: Params, english: Params) -> None:
        super().__init__(B=persian.b, K1=persian.k1)
        self.persian = persian
        self.english = english

    def params(self, text: str | bytes) -> Params:
        """The parameters of a term: English for Latin letters, Persian otherwise.

        A cross-script key (``fa:sfhn``, ``en:sfhn``, see
        :mod:`analyzers.crossscript`) names the script of the passage it was
        indexed from, and takes that script's parameters.
        """
        head = text[:3]
        if isinstance(head, bytes):
            head = head.decode("latin-1")
        if head == "fa:":
            return self.persian
        if head == "en:":
            return self.english
        return self.english if "a" <= head[:1] <= "z" else self.persian

    def idf(self, searcher, fieldname, text) -> float:
        n = searcher.doc_count_all()
        df = searcher.doc_frequency(fieldname, text)
        return math.log(1.0 + (n - df + 0.5) / (df + 0.5))

    def scorer(self, searcher, fieldname, text, qf=1):
        if not searcher.schema[fieldname].scorable:
            return WeightScorer.for_(searcher, fieldname, text)
        p = self.params(text)
        scorer = BM25FScorer(searcher, fieldname, text, p.body_b if fieldname == "body" else p.b, p.k1, qf=qf)
        if fieldname == "title":
            # BM25 is linear in idf: scaling it scales the field's score and
            # its bound alike (what a query boost would do).
            scorer.idf *= p.title
        return scorer
