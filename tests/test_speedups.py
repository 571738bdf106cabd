"""search._speedups, the optional C loops of the writer, give what the Python loops give.

The writer's equivalence tests (tests/test_writer.py) run with whichever path
is in use, and with the Python path forced; these check the two loops
themselves on random input, past the cases a corpus reaches (large positions,
lists longer than a pickle batch, bad input).
"""

from __future__ import annotations

import os
import pickle
from array import array

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import search.writer as writer
from search.writer import _encode_positions, _FieldPool

try:
    from search import _speedups
except ImportError:  # not compiled here: CI requires it (BISEARCH_REQUIRE_SPEEDUPS)
    _speedups = None

needs_c = pytest.mark.skipif(_speedups is None, reason="search._speedups is not built (no C compiler at install)")


def test_the_extension_is_built_where_ci_requires_it():
    # .ci/run sets BISEARCH_REQUIRE_SPEEDUPS, so a build that silently lost
    # the extension (optional=True in setup.py) fails CI instead of testing
    # only the Python path.
    if os.environ.get("BISEARCH_REQUIRE_SPEEDUPS"):
        assert _speedups is not None
        assert writer._speedups is _speedups


# Ascending positions, as an analyzer makes them, with gaps that reach every
# pickle int size (K, M, J) and lengths past one 1000-item batch.
gaps = st.one_of(st.integers(0, 300), st.integers(0, 70_000), st.integers(0, 2**31 - 1))
position_lists = st.lists(gaps, min_size=1, max_size=30).map(lambda g: [sum(g[: i + 1]) for i in range(len(g))])


@needs_c
@settings(max_examples=300, deadline=None)
@given(st.lists(position_lists, max_size=20))
def test_encoded_positions_equal_the_python_encoder(lists):
    cache: dict[int, bytes] = {}
    got = _speedups.encode_positions(lists, cache, 100)
    assert got == [_encode_positions(lst) for lst in lists]
    for lst, value in zip(lists, got, strict=True):
        assert pickle.loads(value[4:]) == [b - a for a, b in zip([0, *lst], lst, strict=False)]


@needs_c
@pytest.mark.parametrize("n", [1, 2, 999, 1000, 1001, 2000, 2001, 2500])
def test_long_lists_are_batched_as_pickle_batches_them(n):
    lst = list(range(0, 3 * n, 3))
    assert _speedups.encode_positions([lst], {}, 0) == [_encode_positions(lst)]


@needs_c
def test_single_positions_are_shared_up_to_the_cache_limit():
    cache: dict[int, bytes] = {}
    a = _speedups.encode_positions([[5], [6], [5], [7]], cache, 2)
    assert a[0] is a[2]  # the cached object, not an equal copy
    assert sorted(cache) == [5, 6]  # 7 came after the limit
    assert a == [_encode_positions([p]) for p in (5, 6, 5, 7)]


@needs_c
@pytest.mark.parametrize("bad", [[[2**31]], [[0, 2**40]], [[1.5]], [["a"]], [[True, 2**33]]])
def test_what_the_c_encoder_cannot_write_falls_back_to_pickle(bad):
    with pytest.raises(ValueError):
        _speedups.encode_positions(bad, {}, 0)
    if all(isinstance(p, int) for lst in bad for p in lst):
        assert writer._encode_all_positions(bad) == [_encode_positions(lst) for lst in bad]


def _pool(postings):
    pool = _FieldPool()
    for docnum, (keys, weights, values) in enumerate(postings):
        a = writer._Analyzed(keys, weights, values, len(keys))
        pool.add(docnum, a, 1.0)
    return pool


postings = st.lists(
    st.dictionaries(st.sampled_from("abcdefghij"), st.tuples(st.floats(0.5, 9.0), st.binary(max_size=3)), max_size=6).map(
        lambda d: (list(d), [w for w, _v in d.values()], [v for _w, v in d.values()])
    ),
    max_size=40,
)


@needs_c
@settings(max_examples=200, deadline=None)
@given(postings)
def test_the_counting_sort_equals_the_python_one(data):
    with_c = _pool(data).sorted_columns()
    saved = writer._speedups
    writer._speedups = None
    try:
        without = _pool(data).sorted_columns()
    finally:
        writer._speedups = saved
    assert with_c == without
    terms, counts, docs, weights, values = with_c
    assert terms == sorted(terms) and sum(counts) == len(docs) == len(weights) == len(values)


@needs_c
def test_scatter_checks_its_input():
    tids, docs, weights = array("I", [0, 3]), array("I", [0, 1]), array("d", [1.0, 1.0])
    nxt = array("q", [0, 1])  # term 3 has no slot
    with pytest.raises(ValueError):
        _speedups.scatter(tids, docs, weights, [b"", b""], nxt, array("I", [0, 0]), array("d", [0, 0]), [b"", b""])
    with pytest.raises(TypeError):  # a list is not an array('I')
        _speedups.scatter([0], docs, weights, [b""], nxt, array("I", [0]), array("d", [0]), [b""])
    with pytest.raises(ValueError):
        _speedups.count_ids(array("I", [5]), array("q", [0, 0]))


@needs_c
@settings(max_examples=200, deadline=None)
@given(st.lists(st.lists(st.one_of(st.sampled_from(["a", "b", "کتاب", "c"]), st.binary(max_size=2)), max_size=8), max_size=10))
def test_term_ids_number_new_terms_as_the_pool_does(batches):
    with_c, python = writer._TermIds(), writer._TermIds()
    for keys in batches:
        got = array("I")
        got.frombytes(_speedups.term_ids(with_c, keys))
        assert got == array("I", map(python.__getitem__, keys))
        assert with_c == python  # the same ids, given in the same order


# Text made of what the scanner's branches turn on: both scripts' letters,
# marks and joiners, digits with commas and points, apostrophes, other
# letters (Greek, CJK, astral), non-decimal numerics, underscores, gaps.
SCAN_PIECES = [
    *"کتابيكۀءآ",
    "\u064e",
    "\u0670",
    "\u06d6",
    "\u0640",
    "\u200c",
    "\u200d",
    *"abzÀéßĀ",
    "e\u0301",
    "'",
    "\u2019",
    *"0123456789",
    ",",
    ".",
    ",000",
    "1,234",
    "12,345,6789",
    "3.14",
    "Russia’s",
    "rock'n'roll",
    "O'Brien2",
    "l'",
    "μ",
    "日",
    "\U0001d400",  # MATHEMATICAL BOLD CAPITAL A: a letter past the BMP
    "𝟎",  # a decimal digit past the BMP: not [0-9]
    "½",
    "²",
    "१",
    "_",
    " ",
    "\n",
    "\u00a0",
    "\ufd3e",
    "😀",
]


@needs_c
@settings(max_examples=500, deadline=None)
@given(st.lists(st.one_of(st.sampled_from(SCAN_PIECES), st.characters(exclude_categories=("Cs",))), max_size=40))
def test_the_c_scanner_finds_the_regex_tokens(pieces):
    from search.fused import _SCAN, _class_table

    text = "".join(pieces)
    assert _speedups.scan(text, _class_table()) == _SCAN.findall(text)


@needs_c
@pytest.mark.parametrize(
    "text",
    ["Russia’s rock'n'roll O'Brien2 l' 'x", "1,234.5 12,345,6789 1,0000 1234,567 3.14. ,000", "همکاری‌ها‌ کِتاب‌‌ها μm ½²"],
)
def test_the_c_scanner_on_each_branch(text):
    # One case per branch and its edges: apostrophes (both kinds, and one
    # not followed by a letter), number groups that backtrack, joiners and
    # marks inside and at the end of a Persian word, other letters.
    from search.fused import _SCAN, _class_table

    assert _speedups.scan(text, _class_table()) == _SCAN.findall(text)
