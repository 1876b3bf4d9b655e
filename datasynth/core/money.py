"""Exact money: integer minor units in numpy, ``decimal128(18, 2)`` in Arrow.

Amounts never pass through floats once they are drawn: a float draw is rounded to whole cents
(``int64``) and every later step adds and subtracts integers, so entries balance exactly.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

AMOUNT_TYPE = pa.decimal128(18, 2)
#: ``decimal128(18, 2)`` holds at most 10**16 - 1 whole units.
MAX_MINOR_UNITS = 10**18 - 1


def decimal_from_minor(minor: np.ndarray) -> pa.Array:
    """Build a ``decimal128(18, 2)`` array from int64 minor units without a Python loop."""
    values = np.ascontiguousarray(minor, dtype=np.int64)
    # compare min and max, not abs(): np.abs(int64 min) wraps around to a negative number
    if values.size and (
        int(values.max()) > MAX_MINOR_UNITS or int(values.min()) < -MAX_MINOR_UNITS
    ):
        raise OverflowError("an amount exceeds decimal128(18, 2)")
    words = np.empty((values.size, 2), dtype=np.int64)
    words[:, 0] = values
    words[:, 1] = values >> 63  # sign extension into the high 64 bits (two's complement)
    buffer = pa.py_buffer(words.tobytes())
    return pa.Array.from_buffers(AMOUNT_TYPE, values.size, [None, buffer])


def minor_from_decimal(array: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """Inverse of :func:`decimal_from_minor` for non-null ``decimal128(18, 2)`` data."""
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks()
    if array.null_count:
        raise ValueError("minor_from_decimal needs an array without nulls")
    raw = np.frombuffer(array.buffers()[1], dtype=np.int64)
    return raw.reshape(-1, 2)[array.offset : array.offset + len(array), 0].copy()
