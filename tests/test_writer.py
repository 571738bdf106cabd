"""search.writer writes the index Whoosh's own SegmentWriter writes.

Every test builds the same documents twice, once through Whoosh's
``SegmentWriter`` (``search.sync.STOCK_WRITER``) and once through
``FastSegmentWriter``, and compares what a reader sees: the terms of every
field, every posting (docnum, weight, decoded value, so positions and
frequencies), the term statistics, field lengths, stored fields and search
results with their scores.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import whoosh.index
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import search.fused
import search.parallel
import search.sync
import search.writer
from search import Document, Index
from search.engine import document_hash
from search.layout import gen_name
from search.passages import split_passages
from search.schema import build_schema
from search.writer import FastSegmentWriter, splittable_parts

# -- documents ---------------------------------------------------------------------------------

FA_PARAS = [
    "همکاری‌های اقتصادی ایران و روسیه در سال گذشته گسترش یافت و کارشناسان می گویند این روند ادامه خواهد داشت.",
    "کتاب ها و نوشته های او در کتابخانه ی ملی نگهداری می شوند؛ بسیاری از آنها هنوز چاپ نشده اند.",
    "شهر اصفهان با میدان نقش جهان شناخته می‌شود. گردشگران بی شماری هر سال به این شهر می روند.",
    "قیمت نفت در بازارهای جهانی ۱۰٬۰۰۰ ریال افزایش یافت و به ۶۵٫۵ دلار رسید.",
    "مسابقه ی فوتبال میان تیم های تهران و تبریز با نتیجه ی مساوی به پایان رسید و هواداران خوشحال تر از همیشه بودند.",
]
EN_PARAS = [
    "The central bank raised interest rates again on Tuesday, citing persistent inflation in housing and services.",
    "Minnikhanov visited Isfahan and Tehran last week; officials said the talks with Russia's delegation went well.",
    "Researchers at the university published the dataset, which covers 10,000 documents written between 1987 and 2024.",
    "Oil prices fell 6.5 percent as traders weighed the outlook for demand in Europe and Asia.",
]
MIXED_PARAS = [
    "نشست Vladimir Putin و رئیس جمهور ایران در Tehran برگزار شد و درباره ی energy و gas گفت‌وگو کردند.",
    "The word کتاب means book, and کتاب‌ها (or کتاب ها) is its plural; Isfahan is written اصفهان.",
]


def _long(paras: list[str], n: int, sep: str) -> str:
    """Enough paragraphs to make several passages."""
    return sep.join(paras[i % len(paras)] + f" ({i})" for i in range(n))


def sample_documents() -> list[Document]:
    docs = [
        Document(id="fa-1", text=FA_PARAS[0], title="همکاری ایران و روسیه", lang="fa", date=dt.date(2024, 5, 28), source="news"),
        Document(id="fa-long", text=_long(FA_PARAS, 14, "\n\n"), title="گزارش بلند", source="news"),
        Document(id="en-1", text=EN_PARAS[0], title="Rates", lang="en", url="https://example.org/rates"),
        Document(id="en-long", text=_long(EN_PARAS, 16, "\n\n"), title="A long report", date=dt.date(1987, 2, 26)),
        Document(id="mixed-1", text=MIXED_PARAS[0] + "\n\n" + MIXED_PARAS[1], title="Putin در تهران"),
        # One paragraph per line: passage boundaries fall on single line breaks,
        # where the affix filter may join a word across them.
        Document(id="lines", text="\n".join(p + " " + p for p in FA_PARAS + MIXED_PARAS) + "\nمی\nروند"),
        # One long "sentence": passages cut at spaces, and at last anywhere.
        Document(id="run-on", text=" ".join(FA_PARAS * 4).replace(".", "")),
        Document(id="nospace", text="ب" * 2500),
        Document(id="short", text="  سلام  ", title="سلام"),
    ]
    return docs


QUERIES = [
    "همکاری",
    "کتاب ها",
    "اصفهان",
    "Isfahan",
    "interest rates",
    '"interest rates"',
    "نفت قیمت",
    "Putin تهران",
    "title:گزارش",
    "date:1987",
    "10000",
    "می گویند",
]


# -- comparing indexes ----------------------------------------------------------------------------


def dump(ix) -> dict:
    """Everything a reader sees, field by field."""
    out: dict = {}
    with ix.reader() as r:
        out["doc_count_all"] = r.doc_count_all()
        out["doc_count"] = r.doc_count()
        out["deleted"] = sorted(d for d in range(r.doc_count_all()) if r.is_deleted(d))
        indexed = set(r.indexed_field_names())
        for name in sorted(ix.schema.names()):
            field = ix.schema[name]
            if not field.indexed:
                continue
            terms = list(r.lexicon(name)) if name in indexed else []
            out["terms", name] = terms
            for t in terms:
                ti = r.term_info(name, t)
                m = r.postings(name, t)
                posts = []
                while m.is_active():
                    posts.append((m.id(), m.weight(), m.value()))
                    m.next()
                stats = (
                    ti.weight(),
                    ti.doc_frequency(),
                    ti.min_length(),
                    ti.max_length(),
                    ti.max_weight(),
                    ti.min_id(),
                    ti.max_id(),
                )
                out["postings", name, t] = (posts, stats)
            if field.column_type:  # sortable fields' column values (doc_id)
                out["column", name] = list(r.column_reader(name))
            out["field_length", name] = r.field_length(name)
            out["doc_field_length", name] = [r.doc_field_length(d, name) for d in range(r.doc_count_all())]
            if field.scorable and name in indexed:
                try:
                    out["min_max_length", name] = (r.min_field_length(name), r.max_field_length(name))
                except TypeError:  # Whoosh fails on a segment without this field's length column
                    out["min_max_length", name] = "TypeError"
        out["stored"] = [r.stored_fields(d) for d in range(r.doc_count_all())]
    return out


def assert_same(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    diffs = [k for k in a if a[k] != b[k]]
    assert not diffs, [(k, a[k], b[k]) for k in diffs[:3]]


def whoosh_of(index_path: Path):
    """The Whoosh index of a bisearch index's current generation."""
    from search.schema import read_meta

    meta = read_meta(index_path)
    return whoosh.index.open_dir(str(index_path / meta["generation"]), schema=build_schema())


def results(path: Path) -> list:
    out = []
    with Index(path, create=False) as ix:
        for q in QUERIES:
            res = ix.search(q, limit=50, snippets=False)
            out.append((q, res.total, [(h.doc_id, h.ordinal, round(h.score, 9)) for h in res]))
            out.append((q, ix.search_documents(q, limit=20)))
    return out


@pytest.fixture
def stock(monkeypatch):
    """Run the body with Whoosh's own writer."""

    class Toggle:
        def __enter__(self):
            monkeypatch.setattr(search.sync, "STOCK_WRITER", True)

        def __exit__(self, *exc):
            monkeypatch.setattr(search.sync, "STOCK_WRITER", False)

    return Toggle()


def build_both(tmp_path: Path, stock, steps) -> tuple[Path, Path]:
    """Apply ``steps`` (callables taking an Index) to a fast-written and a stock-written index."""
    fast, slow = tmp_path / "fast", tmp_path / "stock"
    for step in steps:
        with Index(fast) as ix:
            step(ix)
        with stock, Index(slow) as ix:
            step(ix)
    return fast, slow


def compare(fast: Path, slow: Path) -> None:
    assert_same(dump(whoosh_of(fast)), dump(whoosh_of(slow)))
    assert results(fast) == results(slow)


# -- tests ---------------------------------------------------------------------------------------


def test_the_session_writes_with_the_fast_writer(tmp_path):
    with Index(tmp_path / "ix") as ix, ix._writing(0) as session:
        assert isinstance(session.writer(), FastSegmentWriter)
        session.abort()


@pytest.mark.parametrize("fallback", ["none", "zlib", "python-loops"])
def test_same_index_as_whoosh(tmp_path, stock, monkeypatch, fallback):
    # With ISA-L installed the writer compresses with it; zlib is the fallback where it is not.
    # With search._speedups built it runs two loops in C; the Python loops where it is not.
    if fallback == "zlib":
        monkeypatch.setattr(search.writer, "_compress", search.writer._zlib_compress)
    if fallback == "python-loops":
        monkeypatch.setattr(search.writer, "_speedups", None)
        monkeypatch.setattr(search.fused, "_speedups", None)
    docs = sample_documents()
    fast, slow = build_both(tmp_path, stock, [lambda ix: ix.add(docs)])
    compare(fast, slow)


def test_same_index_after_updates_and_deletions(tmp_path, stock):
    docs = sample_documents()
    changed = [
        Document(id="fa-1", text=FA_PARAS[1] + "\n\n" + FA_PARAS[2], title="عنوان تازه"),
        Document(id="new-1", text=EN_PARAS[1], title="New"),
    ]
    fast, slow = build_both(
        tmp_path,
        stock,
        [lambda ix: ix.add(docs), lambda ix: ix.add(changed), lambda ix: ix.remove(["en-1"])],
    )
    with Index(fast, create=False) as ix:
        assert ix.stats().documents == len(docs)  # one removed, one new
    compare(fast, slow)


def test_same_index_when_small_segments_are_merged(tmp_path, stock):
    # Many small commits: Whoosh's MERGE_SMALL merges the segments into the
    # writer (add_reader), so postings read from segments join the pool.
    docs = sample_documents()
    steps = [lambda ix, d=d: ix.add([d]) for d in docs]
    steps.append(lambda ix: ix.add([Document(id="fa-long", text=FA_PARAS[3])]))  # deletes from an older segment
    fast, slow = build_both(tmp_path, stock, steps)
    with whoosh_of(fast).reader() as r:
        assert r.doc_count() == sum(len(split_passages(d.text)) for d in docs) - len(split_passages(docs[1].text)) + 1
    compare(fast, slow)


@pytest.mark.parametrize("loops", ["default", "python"])
@pytest.mark.parametrize("chunk", [20_000, 3], ids=["one-chunk", "many-chunks"])
def test_same_index_with_a_tiny_memory_budget(tmp_path, stock, monkeypatch, chunk, loops):
    # A budget of a few KB: the pool spills sorted runs to disk many times.
    # A run is written in chunks of whole terms: a handful of postings each splits every field.
    # "python": the writer's Python loops, where search._speedups is not built.
    if loops == "python":
        monkeypatch.setattr(search.writer, "_speedups", None)
        monkeypatch.setattr(search.fused, "_speedups", None)
    monkeypatch.setattr(search.writer, "_RUN_CHUNK", chunk)
    spills = []
    real_spill = search.writer._Pool.spill

    def spill(self, *args):
        spills.append(1)
        return real_spill(self, *args)

    monkeypatch.setattr(search.sync, "WRITER_LIMIT_MB", 0.01)
    monkeypatch.setattr(search.writer._Pool, "spill", spill)
    docs = sample_documents()
    fast, slow = build_both(tmp_path, stock, [lambda ix: ix.add(docs), lambda ix: ix.add(docs[:3])])
    assert len(spills) > 5
    compare(fast, slow)
    assert not (fast / gen_name(1) / "MAIN.tmp").exists()


def test_merged_segments_keep_to_the_budget(tmp_path, stock, monkeypatch):
    # Segments merged at commit are read into the pool: with a tiny budget
    # and step the pool must spill while reading them, and the index stays
    # the same.
    spills_while_merging = []
    real_spill = search.writer._Pool.spill
    real_merge = FastSegmentWriter.add_postings_to_pool
    merging = []

    def spill(self, *args):
        if merging:
            merging[-1] += 1
        return real_spill(self, *args)

    def add_postings_to_pool(self, *args):
        merging.append(0)
        try:
            return real_merge(self, *args)
        finally:
            spills_while_merging.append(merging.pop())

    monkeypatch.setattr(search.sync, "WRITER_LIMIT_MB", 0.01)
    monkeypatch.setattr(search.writer, "_MERGE_GROW_STEP", 256, raising=False)
    monkeypatch.setattr(search.writer._Pool, "spill", spill)
    monkeypatch.setattr(FastSegmentWriter, "add_postings_to_pool", add_postings_to_pool)
    docs = sample_documents()
    fast, slow = build_both(tmp_path, stock, [lambda ix, d=d: ix.add([d]) for d in docs])
    assert max(spills_while_merging) >= 2  # spilled during one segment's read, not only after it
    compare(fast, slow)


def test_cancel_leaves_nothing_behind(tmp_path):
    path = tmp_path / "ix"
    with Index(path) as ix:
        ix.add(sample_documents()[:2])
        gen = ix._gen_dir
    before = sorted(p.name for p in gen.iterdir())
    ix = whoosh_of(path)
    w = FastSegmentWriter(ix, limitmb=0.01)
    for d in sample_documents():
        Index._add_passages(None, w, d)
    assert w.pool.runs
    w.cancel()
    assert not (gen / "MAIN.tmp").exists()  # the runs went with Whoosh's temp folder
    search.sync.clean_whoosh_leftovers(gen)  # as WriteSession.abort does (Whoosh leaves column files)
    assert sorted(p.name for p in gen.iterdir()) == before
    with whoosh_of(path).reader() as r:
        assert r.doc_count() == sum(len(split_passages(d.text)) for d in sample_documents()[:2])


def test_body_is_indexed_from_the_passages_only_where_that_is_exact():
    text = "کتاب\nها"  # one line break: the affix filter joins the two words
    assert not splittable_parts(text, [(0, 4), (5, 7)])
    assert splittable_parts("کتاب\n\nها", [(0, 4), (6, 8)])  # a blank line: never joined
    assert splittable_parts("کتاب.\nها", [(0, 5), (6, 8)])  # punctuation between: never joined
    assert not splittable_parts("book\nها", [(0, 4), (5, 7)])  # conservative: letters on both sides
    assert splittable_parts("book.\nها", [(0, 5), (6, 8)])
    assert not splittable_parts("کتابها", [(0, 4), (4, 6)])  # cut inside a word
    assert not splittable_parts("a b c", [(0, 1), (4, 5)])  # "b" is in no part
    for doc in sample_documents():
        spans = [(p.start, p.end) for p in split_passages(doc.text)]
        if doc.id == "fa-long":
            assert splittable_parts(doc.text, spans)
        if doc.id == "nospace":
            assert not splittable_parts(doc.text, spans)


# -- random documents -------------------------------------------------------------------------------

WORDS = (
    "کتاب ها های می نمی بی روند خانه ای اند ی تر ترین همکاری‌ها همکاری اصفهان تهران ایران و در از به "
    "۱۲۳ ۱۰٬۰۰۰ ۶٫۵ the The and of Russia's Isfahan oil prices running 10,000 6.5 1987 ˈkɛnjə μm "
    "كتاب يك ـــ ‌ . ، ؛ ؟ « » ( ) - :"
).split(" ")
SEPARATORS = [" ", " ", " ", "\n", "\n\n", "\u00a0", "\u200c", "  \n "]


@st.composite
def documents(draw) -> list[Document]:
    out = []
    for i in range(draw(st.integers(1, 4))):
        n = draw(st.integers(1, 400))
        words = draw(st.lists(st.sampled_from(WORDS), min_size=n, max_size=n))
        seps = draw(st.lists(st.sampled_from(SEPARATORS), min_size=n, max_size=n))
        text = "".join(w + s for w, s in zip(words, seps, strict=True)).strip() or "x"
        title = draw(st.one_of(st.none(), st.sampled_from(WORDS)))
        out.append(Document(id=f"d{i}", text=text, title=title or None))
    return out


def _whoosh_build(path: Path, docs: list[Document], fast: bool, limitmb: float):
    path.mkdir(parents=True)
    ix = whoosh.index.create_in(str(path), build_schema())
    w = FastSegmentWriter(ix, limitmb=limitmb) if fast else ix.writer()
    for d in docs:
        Index._add_passages(None, w, d)
    w.commit()
    return ix


@pytest.mark.parametrize("in_worker", [False, True], ids=["serial", "worker"])
def test_boosts_and_stored_overrides_as_whoosh_reads_them(tmp_path, request, in_worker):
    # Whoosh's keyword arguments beside the fields: a document boost, a field
    # boost (which replaces the document's for that field) and a stored value
    # other than the indexed one. The fast writer reads them per document,
    # also when the worker analyzed it (its weights come as bytes).
    started = request.getfixturevalue("parallel") if in_worker else []
    docs = [
        {"pid": "a", "title": "Cat and dog", "text": "a cat sat", "_boost": 2.0},
        {"pid": "b", "title": "Dog", "text": "the dog sat on the cat", "_title_boost": 3.0, "_boost": 0.5},
        {"pid": "c", "title": "Bird", "text": "a bird sang", "_stored_text": "shown instead"},
        {"pid": "d", "title": "Cat", "text": "cat cat cat", "_text_boost": 1.5},
    ]
    ixs = []
    for fast in (True, False):
        path = tmp_path / ("fast" if fast else "stock")
        path.mkdir()
        ix = whoosh.index.create_in(str(path), build_schema())
        w = FastSegmentWriter(ix, parallel=in_worker) if fast else ix.writer()
        for d in docs:
            w.add_document(**d)
        w.commit()
        ixs.append(ix)
    assert len(started) == in_worker
    fast_dump, stock_dump = dump(ixs[0]), dump(ixs[1])
    assert_same(fast_dump, stock_dump)
    assert fast_dump["stored"][2]["text"] == "shown instead"
    weights = {p[0]: p[1] for p in fast_dump["postings", "title", b"dog"][0]}
    assert weights[1] == 3.0 * 2.0  # the field boost, times TEXT's field_boost of title


@settings(max_examples=200, deadline=None)
@given(data=st.one_of(st.binary(max_size=3000), st.text(max_size=800).map(lambda t: t.encode() * 3)), level=st.integers(1, 3))
def test_compressed_blocks_are_zlib_streams(data, level):
    # Readers (Whoosh's block reader, the stored-fields column) call zlib.decompress.
    import zlib

    assert zlib.decompress(search.writer._compress(data, level)) == data
    assert zlib.decompress(search.writer._zlib_compress(data, level)) == data


def test_stored_fields_are_pickled_with_protocol_4(tmp_path):
    # Protocol 2 pickles the stored datetime through _codecs.encode, twice as slow; any protocol reads back alike.
    from whoosh.codec.whoosh3 import STORED_COLUMN

    fast = tmp_path / "ix"
    with Index(fast) as ix:
        ix.add(sample_documents()[:2])
    with whoosh_of(fast).reader() as r:
        raw = r._perdoc._cached_reader("_stored", STORED_COLUMN)._child[0]
        assert raw.startswith(b"\x80\x04")
        assert r.stored_fields(0)["date"] == dt.datetime(2024, 5, 28)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(docs=documents(), limitmb=st.sampled_from([0.002, 128.0]))
def test_random_documents_index_the_same(tmp_path_factory, docs, limitmb):
    base = tmp_path_factory.mktemp("random")
    a = _whoosh_build(base / "fast", docs, True, limitmb)
    b = _whoosh_build(base / "stock", docs, False, 128)
    assert_same(dump(a), dump(b))
    assert document_hash(docs[0])  # the documents are valid product documents


# -- the parallel path (search.parallel) ----------------------------------------------------------


@pytest.fixture
def parallel(monkeypatch):
    """Fork the analysis worker after the first document, whatever the machine's load; count the workers."""
    import search.parallel

    started = []
    real_init = search.parallel.AnalysisWorker.__init__

    def init(self, handler):
        real_init(self, handler)
        started.append(self.proc.pid)

    monkeypatch.setattr(search.parallel, "_others_busy", lambda _watch: 0.0)
    monkeypatch.setattr(search.parallel.CpuWatch, "young", False)  # as if measured already
    monkeypatch.setattr(search.parallel, "_cpus", lambda: 2)
    monkeypatch.setattr(search.parallel, "_single_threaded", lambda: True)  # other tests may leave threads
    monkeypatch.setattr(search.parallel.AnalysisWorker, "__init__", init)
    monkeypatch.setattr(search.writer, "PARALLEL_AFTER_CHARS", 0)
    monkeypatch.setattr(search.writer, "BATCH_CHARS", 700)
    monkeypatch.setattr(search.writer, "MAX_INFLIGHT", 2)
    return started


def _write_then_change(tmp_path: Path, stock) -> tuple[Path, Path]:
    """Two writes, the second replacing a document: ``build_both``'s two indexes."""
    docs = sample_documents()
    changed = [Document(id="fa-1", text=FA_PARAS[1] + "\n\n" + FA_PARAS[2], title="عنوان تازه")]
    return build_both(tmp_path, stock, [lambda ix: ix.add(docs), lambda ix: ix.add(changed)])


def _write_with_spills_and_merges(tmp_path: Path, stock, monkeypatch) -> tuple[Path, Path, int]:
    """A tiny memory budget (spills), then one-document writes (merges): the two indexes and the writes."""
    monkeypatch.setattr(search.sync, "WRITER_LIMIT_MB", 0.01)
    docs = sample_documents()
    steps = [lambda ix: ix.add(docs)] + [lambda ix, d=d: ix.add([d]) for d in docs[:3]]
    return (*build_both(tmp_path, stock, steps), len(steps))


def test_same_index_when_analyzed_in_a_worker(tmp_path, stock, parallel):
    fast, slow = _write_then_change(tmp_path, stock)
    assert len(parallel) == 2  # one worker per write (the stock writer never forks)
    compare(fast, slow)


def test_same_index_when_analyzed_in_a_worker_with_spills(tmp_path, stock, parallel, monkeypatch):
    fast, slow, _writes = _write_with_spills_and_merges(tmp_path, stock, monkeypatch)
    assert parallel
    compare(fast, slow)


def test_same_index_when_the_writer_analyzes_batches_itself(tmp_path, stock, parallel, monkeypatch):
    """A worker that is behind: the writer analyzes the next batches itself and adds them in order."""
    here = []
    real = search.writer._analyze_jobs

    def spy(analysis, schema, jobs):
        here.append(len(jobs))  # only the writer's calls land here: the worker's list is its own copy
        return real(analysis, schema, jobs)

    monkeypatch.setattr(search.writer, "_analyze_jobs", spy)
    monkeypatch.setattr(search.writer, "MAX_INFLIGHT", 1)
    monkeypatch.setattr(search.parallel.AnalysisWorker, "ready", lambda self: False)  # always behind
    fast, slow = _write_then_change(tmp_path, stock)
    assert parallel and len(here) >= 2  # several batches held at once (MAX_HELD)
    compare(fast, slow)


def test_the_writer_bounds_its_memos_while_a_worker_runs(tmp_path, stock, parallel, monkeypatch):
    """The writer's memos are bounded while its worker runs, restored after; tiny bounds index the same."""
    from search import fused

    before = fused.memo_limits()
    seen = []
    real = search.writer._analyze_jobs

    def spy(*args):
        seen.append(fused.memo_limits())  # the writer's, as it analyzes a batch itself
        return real(*args)

    monkeypatch.setattr(search.writer, "_analyze_jobs", spy)
    monkeypatch.setattr(search.writer, "MAX_INFLIGHT", 1)
    monkeypatch.setattr(search.parallel.AnalysisWorker, "ready", lambda self: False)  # always behind
    monkeypatch.setattr(search.writer, "WRITER_MEMO_LIMIT", 7)
    fast, slow = _write_then_change(tmp_path, stock)
    assert parallel and seen and all(limits == (7, 7, 7) for limits in seen)
    assert fused.memo_limits() == before
    compare(fast, slow)


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(docs=documents(), limitmb=st.sampled_from([0.002, 128.0]))
def test_random_documents_index_the_same_in_parallel(tmp_path_factory, parallel, docs, limitmb):
    _same_random_build(tmp_path_factory.mktemp("random-parallel"), docs, limitmb, parallel)


def _same_random_build(base: Path, docs: list[Document], limitmb: float, started: list) -> None:
    """``docs`` written by our writer (which must start one more of ``started``) and by Whoosh's read back the same."""
    n = len(started)
    a = _whoosh_build(base / "fast", docs, True, limitmb)
    assert len(started) == n + 1
    b = _whoosh_build(base / "stock", docs, False, 128)
    assert_same(dump(a), dump(b))


def test_a_worker_takes_its_memory_from_the_pool_budget(tmp_path, parallel, monkeypatch):
    """Main process and worker together stay within the writer's budget: the pool shrinks when one starts."""
    seen = []
    real = search.writer.FastSegmentWriter._start_worker

    def spy(self):
        before = self.pool.limit
        real(self)
        seen.append((before, self.pool.limit, self._worker is not None))

    monkeypatch.setattr(search.writer.FastSegmentWriter, "_start_worker", spy)
    with Index(tmp_path / "ix") as ix:
        ix.add(sample_documents())
    assert any(started for *_, started in seen)
    for before, after, started in seen:
        assert after == (int(before * search.writer.WORKER_POOL_SHARE) if started else before)


def test_small_writes_start_no_worker(tmp_path, monkeypatch):
    import search.parallel

    monkeypatch.setattr(search.parallel, "_others_busy", lambda _watch: 0.0)
    monkeypatch.setattr(search.parallel.CpuWatch, "young", False)  # as if measured already
    monkeypatch.setattr(search.parallel, "_cpus", lambda: 2)
    monkeypatch.setattr(search.parallel, "_single_threaded", lambda: True)  # other tests may leave threads
    started = []
    monkeypatch.setattr(search.parallel.AnalysisWorker, "__init__", lambda self, h: started.append(1) or 1 / 0)
    with Index(tmp_path / "ix") as ix:
        ix.add(sample_documents())  # ~30,000 characters: under PARALLEL_AFTER_CHARS
    assert not started


def test_a_busy_machine_starts_no_worker(monkeypatch):
    import search.parallel

    monkeypatch.setattr(search.parallel, "_cpus", lambda: 2)
    monkeypatch.setattr(search.parallel, "_single_threaded", lambda: True)  # other tests may leave threads
    monkeypatch.setattr(search.parallel, "_others_busy", lambda _watch: 1.0)  # one other busy process
    assert not search.parallel.available()
    monkeypatch.setattr(search.parallel, "_others_busy", lambda _watch: 0.2)
    assert search.parallel.available()
    monkeypatch.setattr(search.parallel, "_cpus", lambda: 1)
    assert not search.parallel.available()
    monkeypatch.setattr(search.parallel, "_cpus", lambda: 2)
    monkeypatch.setattr(search.parallel, "_single_threaded", lambda: False)  # never fork beside other threads
    assert not search.parallel.available()


def test_hash_tables_are_written_as_whoosh_writes_them():
    import io
    import os

    from whoosh.filedb.filetables import HashWriter, OrderedHashWriter
    from whoosh.filedb.structfile import StructFile

    keys = sorted({os.urandom(1 + i % 7) for i in range(3000)})
    out = []
    # Whoosh's writer; its add with our table writer; our _TermAdder (flat hash arrays), in two runs.
    for fast, adder in ((False, False), (True, False), (True, True)):
        buf = io.BytesIO()
        w = OrderedHashWriter(StructFile(buf))
        w.dbfile.close = lambda: None  # keep the bytes
        if fast:
            w._write_hashes = search.writer.MethodType(search.writer._write_hashes, w)
        else:
            assert w._write_hashes.__func__ is HashWriter._write_hashes
        if adder:
            for part in (keys[:1000], keys[1000:]):  # one adder per field, as the writer uses them
                tadd = search.writer._TermAdder(w)
                for k in part:
                    tadd(k, b"v" + k)
                tadd.done()
            assert not any(w.buckets)  # the entries went to the flat arrays
        else:
            for k in keys:
                w.add(k, b"v" + k)
        w.close()
        out.append(buf.getvalue())
    assert out[0] == out[1] == out[2]


# -- the worker encodes fields at commit (search.writer._EncodeJob) -------------------------------


@pytest.fixture
def encode_jobs(parallel, monkeypatch):
    """A worker in every write (the ``parallel`` fixture), and an encode job at every commit, however small.

    Yields the field lists the worker was given, one list per commit.
    """
    given_fields: list[list[str]] = []
    real_init = search.writer._EncodeJob.__init__

    def init(self, pool, schema, fields, *rest):
        given_fields.append(list(fields))
        real_init(self, pool, schema, fields, *rest)

    monkeypatch.setattr(search.writer, "PARALLEL_COMMIT_POSTINGS", 0)
    monkeypatch.setattr(search.writer._EncodeJob, "__init__", init)
    return given_fields


def test_same_index_when_the_worker_encodes_some_fields(tmp_path, stock, encode_jobs):
    fast, slow = _write_then_change(tmp_path, stock)
    assert len(encode_jobs) == 2  # each write of the fast writer (the stock writer has no worker)
    assert all(fields for fields in encode_jobs)
    assert not any(p.name.startswith("bisearch-encoded-") for p in tmp_path.rglob("*"))  # its files went
    compare(fast, slow)


def test_same_index_when_the_worker_encodes_from_spilled_runs_and_merges(tmp_path, stock, encode_jobs, monkeypatch):
    fast, slow, writes = _write_with_spills_and_merges(tmp_path, stock, monkeypatch)
    assert len(encode_jobs) == writes
    compare(fast, slow)


def test_the_split_balances_the_work(tmp_path, encode_jobs):
    # text and body (positions) cost the most to encode: one goes to the worker, the other stays.
    with Index(tmp_path / "ix") as ix:
        ix.add(sample_documents())
    (fields,) = encode_jobs
    assert len({"text", "body"} & set(fields)) == 1, fields


def test_the_pool_counts_terms_for_the_split(tmp_path):
    # A unique field (one posting per term) costs far more per posting to
    # encode than a bare field with few terms: the split's estimate counts
    # the terms in memory and in every run (a term once per run it is in).
    from whoosh.filedb.filestore import FileStorage

    from search.writer import _Analyzed, _Pool

    pool = _Pool(FileStorage(str(tmp_path)), 128)
    for docnum in range(6):
        pool.field("pid").add(docnum, _Analyzed([f"p{docnum}"], [1.0], [b""], 1), 1.0)
        pool.field("date").add(docnum, _Analyzed(["2024"], [1.0], [b""], 1), 1.0)
        if docnum in (1, 3):
            pool.spill()
    assert (pool.terms("pid"), pool.postings("pid")) == (6, 6)
    assert (pool.terms("date"), pool.postings("date")) == (3, 6)  # in two runs and in memory
    assert pool.terms("title") == 0
    pool.cleanup()


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(docs=documents(), limitmb=st.sampled_from([0.002, 128.0]))
def test_random_documents_index_the_same_when_the_worker_encodes(tmp_path_factory, encode_jobs, docs, limitmb):
    _same_random_build(tmp_path_factory.mktemp("random-encode"), docs, limitmb, encode_jobs)


def test_a_failed_encode_job_commits_nothing(tmp_path, encode_jobs, monkeypatch):
    from search import BisearchError

    path = tmp_path / "ix"
    with Index(path) as ix:
        ix.add(sample_documents()[:2])
    before = results(path)

    def fail(_job):  # in the worker, which forks after this patch
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(search.writer, "_run_encode_job", fail)
    with Index(path) as ix, pytest.raises(BisearchError, match="no space left"):
        ix.add(sample_documents()[2:])
    assert encode_jobs[-1]
    assert results(path) == before  # what was committed before is intact, nothing new came in
    assert not any(p.name.startswith("bisearch-encoded-") for p in tmp_path.rglob("*"))


@pytest.mark.parametrize("when", ["during the job", "before the job"])
def test_a_worker_killed_at_commit_costs_only_time(tmp_path, stock, encode_jobs, monkeypatch, when):
    # Out of memory, say. Every document's analysis is in by then and the
    # worker's fields are in runs on disk: the writer encodes them itself.
    import os
    import signal

    if when == "during the job":
        monkeypatch.setattr(search.writer, "_run_encode_job", lambda _job: os.kill(os.getpid(), signal.SIGKILL))
    else:  # idle, after the last document (during Whoosh's merge, say)
        real_drain = FastSegmentWriter._drain

        def drain_then_die(self):
            real_drain(self)
            if self._worker is not None:
                os.kill(self._worker.proc.pid, signal.SIGKILL)
                self._worker.proc.join(5)

        monkeypatch.setattr(FastSegmentWriter, "_drain", drain_then_die)
    fast, slow = _write_then_change(tmp_path, stock)
    assert len(encode_jobs) == 2
    compare(fast, slow)


def test_a_failed_commit_stops_a_busy_worker_at_once(tmp_path, encode_jobs, monkeypatch):
    import time

    from search import BisearchError

    real_encode = search.writer._encode_fields

    def fail_here(*args):  # this process's own share fails
        raise OSError(28, "No space left on device")

    with Index(tmp_path / "ix") as ix:
        ix.add(sample_documents()[:1])
        # The next write's worker forks after these patches: its job is long (it never calls _encode_fields).
        monkeypatch.setattr(search.writer, "_run_encode_job", lambda _job: time.sleep(60))
        monkeypatch.setattr(search.writer, "_encode_fields", fail_here)
        t0 = time.monotonic()
        with pytest.raises(BisearchError, match="no space left"):
            ix.add(sample_documents()[1:])
        elapsed = time.monotonic() - t0
    monkeypatch.setattr(search.writer, "_encode_fields", real_encode)
    # Not the 5 s a worker gets to finish its batch when a write ends normally, let alone its 60 s job.
    assert elapsed < 3.0, elapsed


def test_small_commits_send_no_encode_job(tmp_path, parallel, monkeypatch):
    jobs = []
    monkeypatch.setattr(search.writer._EncodeJob, "__init__", lambda self, *a: jobs.append(1))
    with Index(tmp_path / "ix") as ix:
        ix.add(sample_documents())  # far fewer postings than PARALLEL_COMMIT_POSTINGS
    assert parallel and not jobs
