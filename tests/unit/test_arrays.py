"""graph.arrays against hand-computed examples (no Neo4j)."""

import numpy as np
import pytest

from graph.arrays import VectorPages, row_pointers, unique_pairs


def test_row_pointers_count_each_row_including_empty_ones():
    # Rows 0, 0, 2, 3, 3, 3 of 5: row 1 and row 4 are empty.
    pointers = row_pointers(np.array([0, 0, 2, 3, 3, 3]), 5)
    assert pointers.dtype == np.int64
    assert pointers.tolist() == [0, 2, 2, 3, 6, 6]


def test_row_pointers_of_no_entries_are_all_zero():
    assert row_pointers(np.zeros(0, dtype=np.int64), 3).tolist() == [0, 0, 0, 0]


def test_unique_pairs_drop_repeats_and_sort_by_row_then_column():
    rows, cols = unique_pairs(np.array([2, 0, 2, 0, 1], dtype=np.int32), np.array([1, 3, 1, 0, 3]), 4)
    assert rows.dtype == cols.dtype == np.int64
    assert list(zip(rows.tolist(), cols.tolist())) == [(0, 0), (0, 3), (1, 3), (2, 1)]


def test_unique_pairs_of_nothing_are_empty():
    rows, cols = unique_pairs(np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64), 7)
    assert rows.size == cols.size == 0


def test_vector_pages_keep_row_order_across_pages_with_zero_rows_where_absent():
    pages = VectorPages("Post.embedding")
    pages.add([[1.0, 2.0], [], [3.0, 4.0]])
    pages.add([[]])
    pages.add([[], [5.0, 6.0]])
    x, present = pages.matrix()
    assert x.dtype == np.float32
    assert x.tolist() == [[1, 2], [0, 0], [3, 4], [0, 0], [0, 0], [5, 6]]
    assert present.tolist() == [True, False, True, False, False, True]


def test_vector_pages_without_any_vector_give_none_and_all_absent():
    pages = VectorPages("User.embedding")
    pages.add([[], []])
    x, present = pages.matrix()
    assert x is None and present.tolist() == [False, False]


def test_vector_pages_refuse_vectors_of_two_sizes_even_on_different_pages():
    pages = VectorPages("User.embedding")
    pages.add([[1.0, 2.0]])
    with pytest.raises(ValueError, match=r"User\.embedding vectors differ in size \[2, 3\]"):
        pages.add([[1.0, 2.0, 3.0]])
