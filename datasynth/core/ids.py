"""Deterministic, reconstructable identifiers built from table, company, period, block and row.

Identifiers are fixed-width strings assembled as bytes with numpy, so millions are built in
milliseconds, and the same position always yields the same id on any worker.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

#: the two ASCII digits of 0 .. 99
_PAIRS = np.array([[ord("0") + i // 10, ord("0") + i % 10] for i in range(100)], dtype=np.uint8)


def digits(numbers: np.ndarray, width: int) -> np.ndarray:
    """Zero-padded decimal digits of non-negative int64 ``numbers`` as a ``(n, width)`` uint8 array."""
    values = np.asarray(numbers, dtype=np.int64)
    if values.size and (int(values.min()) < 0 or int(values.max()) >= 10**width):
        raise OverflowError(f"a number does not fit in {width} digits")
    out = np.empty((values.size, width), dtype=np.uint8)
    # two digits per division, from the right
    rest, end = values, width
    while end >= 2:
        rest, pair = np.divmod(rest, 100)
        out[:, end - 2 : end] = _PAIRS[pair]
        end -= 2
    if end == 1:
        out[:, 0] = rest + ord("0")
    return out


def fixed_width_strings(prefix: str, numbers: np.ndarray, width: int, suffix: str = "") -> pa.Array:
    """``prefix + zero-padded number + suffix`` for every number, as an Arrow string array."""
    head = np.frombuffer(prefix.encode("ascii"), dtype=np.uint8)
    tail = np.frombuffer(suffix.encode("ascii"), dtype=np.uint8)
    n = len(numbers)
    size = head.size + width + tail.size
    data = np.empty((n, size), dtype=np.uint8)
    data[:, : head.size] = head
    data[:, head.size : head.size + width] = digits(numbers, width)
    data[:, head.size + width :] = tail
    offsets = np.arange(0, (n + 1) * size, size, dtype=np.int32)
    return pa.StringArray.from_buffers(
        n, pa.py_buffer(offsets.tobytes()), pa.py_buffer(data.tobytes())
    )


def journal_entry_prefix(company_code: str, fiscal_year: int, fiscal_period: int) -> str:
    """The common part of every journal-entry id of one company and fiscal period."""
    return f"JE-{company_code}-{fiscal_year:04d}{fiscal_period:02d}-"


def journal_entry_ids(
    company_code: str, fiscal_year: int, fiscal_period: int, block_number: int, rows: np.ndarray
) -> pa.Array:
    """``JE-<company>-<YYYYPP>-<block 4 digits><row 7 digits>``: unique across the dataset.

    A block holds at most 10**7 entries (the plan guarantees it), so block and row never collide.
    """
    row = np.asarray(rows, dtype=np.int64)
    # a row outside 7 digits would silently reuse another block's id, so refuse it
    if row.size and (int(row.min()) < 0 or int(row.max()) >= 10**7):
        raise OverflowError("a journal-entry row index does not fit in 7 digits")
    numbers = np.int64(block_number) * 10**7 + row
    return fixed_width_strings(
        journal_entry_prefix(company_code, fiscal_year, fiscal_period), numbers, 11
    )
