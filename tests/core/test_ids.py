"""Fixed-width ids built as bytes must equal plain string formatting, and never collide."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from datasynth.core.ids import digits, fixed_width_strings, journal_entry_ids

ascii_text = st.text(st.characters(min_codepoint=33, max_codepoint=126), max_size=12)


@st.composite
def numbers_and_width(draw: st.DrawFn) -> tuple[list[int], int]:
    width = draw(st.integers(1, 18))
    numbers = draw(st.lists(st.integers(0, 10**width - 1), max_size=40))
    return numbers, width


@settings(deadline=None)  # timing varies on shared CI machines
@given(numbers_and_width(), ascii_text, ascii_text)
def test_fixed_width_strings_equal_fstring_formatting(
    case: tuple[list[int], int], prefix: str, suffix: str
) -> None:
    numbers, width = case
    array = fixed_width_strings(prefix, np.array(numbers, dtype=np.int64), width, suffix)
    assert array.type == pa.string()
    array.validate(full=True)
    assert array.to_pylist() == [f"{prefix}{x:0{width}d}{suffix}" for x in numbers]


@settings(deadline=None)  # timing varies on shared CI machines
@given(st.lists(st.integers(0, 10**18 - 1), min_size=1, max_size=20))
def test_digits_equal_zero_padded_text(numbers: list[int]) -> None:
    out = digits(np.array(numbers, dtype=np.int64), 18)
    assert out.shape == (len(numbers), 18)
    assert [bytes(row).decode() for row in out] == [f"{x:018d}" for x in numbers]


@pytest.mark.parametrize(("number", "width"), [(10, 1), (1000, 3), (-1, 5), (10**11, 11)])
def test_numbers_that_do_not_fit_raise(number: int, width: int) -> None:
    with pytest.raises(OverflowError):
        fixed_width_strings("X", np.array([0, number], dtype=np.int64), width)


def test_journal_entry_id_layout() -> None:
    ids = journal_entry_ids("1000", 2024, 3, 12, np.array([0, 345]))
    assert ids.to_pylist() == ["JE-1000-202403-00120000000", "JE-1000-202403-00120000345"]


def test_journal_entry_ids_unique_across_blocks_and_rows_up_to_the_largest_indices() -> None:
    """DESIGN: a billion-row plan reaches block 9999 and row 10**7 - 1 in one period; ids
    built at those extremes must neither collide with their neighbours nor overflow."""
    last_row = 10**7 - 1
    rows = np.array([0, 1, 2, 9_999, 10_000, last_row - 1, last_row], dtype=np.int64)
    blocks = [0, 1, 2, 999, 1000, 9998, 9999]
    all_ids: list[str] = []
    for block in blocks:
        ids = journal_entry_ids("ABC123", 2024, 12, block, rows).to_pylist()
        assert all(len(i) == len(ids[0]) for i in ids)
        # the id spells the block and row, so a reader can reconstruct the position
        for row, text in zip(rows, ids, strict=True):
            assert text.endswith(f"-{block:04d}{int(row):07d}")
        all_ids.extend(ids)
    assert len(set(all_ids)) == len(all_ids)
    assert journal_entry_ids("ABC123", 2024, 12, 9999, np.array([last_row])).to_pylist() == [
        "JE-ABC123-202412-99999999999"
    ]


def test_journal_entry_ids_differ_by_company_and_period() -> None:
    rows = np.arange(3)
    a = journal_entry_ids("1000", 2024, 1, 0, rows).to_pylist()
    b = journal_entry_ids("2000", 2024, 1, 0, rows).to_pylist()
    c = journal_entry_ids("1000", 2024, 2, 0, rows).to_pylist()
    d = journal_entry_ids("1000", 2025, 1, 0, rows).to_pylist()
    assert len(set(a + b + c + d)) == 12


@pytest.mark.parametrize(
    ("block", "row"),
    [(10**4, 0), (0, 10**7), (1, -1), (-1, 5)],
    ids=["block-too-large", "row-too-large", "negative-row", "negative-block"],
)
def test_journal_entry_ids_beyond_the_id_width_raise(block: int, row: int) -> None:
    """Out-of-range positions must fail loudly instead of reusing another block's ids."""
    with pytest.raises(OverflowError):
        journal_entry_ids("1000", 2024, 1, block, np.array([row], dtype=np.int64))
