"""models/ranking.py: keys that always fit between two others and sort as the board does."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from models.ranking import RankError, key_between, keys_after, keys_between

# Each step inserts at a position (taken modulo the list's length + 1).
INSERTS = st.lists(st.integers(min_value=0, max_value=10_000), min_size=1, max_size=200)


@given(INSERTS)
def test_keys_inserted_anywhere_sort_in_the_order_they_were_placed(positions):
    # given a column kept as a plain list (the oracle), and the keys the board stores
    column: list[str] = []
    for position in positions:
        index = position % (len(column) + 1)
        before = column[index - 1] if index > 0 else None
        after = column[index] if index < len(column) else None
        # when a card is placed between two neighbours (or at an end)
        key = key_between(before, after)
        # then its key sorts strictly between them
        assert before is None or before < key
        assert after is None or key < after
        column.insert(index, key)
    # and sorting the keys gives the column's order, with no two equal
    assert sorted(column) == column
    assert len(set(column)) == len(column)


@given(st.integers(min_value=1, max_value=300))
def test_appending_keeps_keys_short(count):
    keys = keys_after(None, count)
    assert keys == sorted(keys)
    assert max(len(key) for key in keys) <= 4


@given(st.integers(min_value=1, max_value=60))
def test_repeated_inserts_at_the_top_stay_ordered(count):
    keys = [key_between(None, None)]
    for _ in range(count):
        keys.insert(0, key_between(None, keys[0]))
    assert keys == sorted(keys)


@pytest.mark.parametrize(
    ("before", "after"),
    [("a1", "a0V"), ("a1", "a1"), ("", None), ("a10", None), ("a!", None), (None, "A" + "0" * 26)],
)
def test_malformed_or_inverted_bounds_are_refused(before, after):
    with pytest.raises(RankError):
        key_between(before, after)


@given(st.integers(min_value=0, max_value=40), st.integers(0, 500), st.booleans(), st.booleans())
def test_many_keys_fit_in_order_between_any_two_neighbours(start, count, open_low, open_high):
    # given two neighbouring keys of a column (or an open end)
    column = keys_after(None, 41)
    before = None if open_low else column[start]
    after = None if open_high else (column[start + 1] if start < 40 else None)
    # when `count` cards are dropped between them at once
    keys = keys_between(before, after, count)
    # then there are that many keys, increasing, distinct and strictly inside the gap
    assert len(keys) == count and keys == sorted(set(keys))
    assert all(before is None or key > before for key in keys)
    assert all(after is None or key < after for key in keys)
