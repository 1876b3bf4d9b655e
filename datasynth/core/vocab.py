"""Vectorised text from vocabularies: picks, joins, patterns, IBANs and routing numbers.

Everything takes numpy index arrays and returns Arrow string arrays; nothing loops per row.
Patterns use ``#`` for a random digit and ``@`` for a random capital letter; other characters
stay as written.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

_DIGIT = ord("#")
_LETTER = ord("@")


def pick(values: Sequence[str], index: np.ndarray) -> pa.Array:
    """``values[index]`` for every row, as an Arrow string array."""
    return pa.array(list(values), pa.string()).take(pa.array(np.asarray(index, dtype=np.int64)))


def join(parts: Sequence[pa.Array | str], separator: str = " ") -> pa.Array:
    """Element-wise concatenation of string arrays (and literal strings)."""
    out = pc.binary_join_element_wise(*parts, separator)
    return out.combine_chunks() if isinstance(out, pa.ChunkedArray) else out


def fixed_pattern(rng: np.random.Generator, pattern: str, n: int) -> np.ndarray:
    """``n`` rows of ``pattern`` with its placeholders filled, as a ``(n, len)`` uint8 matrix."""
    template = np.frombuffer(pattern.encode("ascii"), dtype=np.uint8)
    out = np.tile(template, (n, 1))
    digits = template == _DIGIT
    letters = template == _LETTER
    out[:, digits] = rng.integers(48, 58, (n, int(digits.sum())), dtype=np.uint8)
    out[:, letters] = rng.integers(65, 91, (n, int(letters.sum())), dtype=np.uint8)
    return out


def _strings(matrix: np.ndarray) -> pa.Array:
    n, width = matrix.shape
    offsets = np.arange(0, (n + 1) * width, width, dtype=np.int32)
    return pa.StringArray.from_buffers(
        n, pa.py_buffer(offsets.tobytes()), pa.py_buffer(np.ascontiguousarray(matrix).tobytes())
    )


def patterns(rng: np.random.Generator, choices: Sequence[str], which: np.ndarray) -> pa.Array:
    """Row i gets ``choices[which[i]]`` with its placeholders filled."""
    which = np.asarray(which, dtype=np.int64)
    order = np.argsort(which, kind="stable")
    pieces: list[pa.Array] = []
    for k, pattern in enumerate(choices):
        count = int((which == k).sum())
        if count:
            pieces.append(_strings(fixed_pattern(rng, pattern, count)))
    if not pieces:
        return pa.array([], pa.string())
    grouped = pa.concat_arrays(pieces)
    inverse = np.empty_like(order)
    inverse[order] = np.arange(order.size)
    return grouped.take(pa.array(inverse))


def _mod97(columns: list[np.ndarray], widths: list[int]) -> np.ndarray:
    remainder = np.zeros(columns[0].shape[0] if columns else 0, dtype=np.int64)
    for values, width in zip(columns, widths, strict=True):
        remainder = (remainder * 10**width + values) % 97
    return remainder


def ibans(rng: np.random.Generator, country: str, letters: int, digits: int, n: int) -> pa.Array:
    """Valid IBANs (ISO 13616 mod-97 check digits) with a random BBAN of the given shape."""
    bban_letters = rng.integers(65, 91, (n, letters), dtype=np.uint8)
    bban_digits = rng.integers(48, 58, (n, digits), dtype=np.uint8)
    # rearranged: BBAN, then the country code, then "00"; letters count as A=10 .. Z=35
    columns = [bban_letters[:, i].astype(np.int64) - 55 for i in range(letters)]
    columns += [bban_digits[:, i].astype(np.int64) - 48 for i in range(digits)]
    columns += [np.full(n, ord(ch) - 55, dtype=np.int64) for ch in country]
    columns += [np.zeros(n, dtype=np.int64)]
    widths = [2] * letters + [1] * digits + [2] * len(country) + [2]
    check = 98 - _mod97(columns, widths)
    head = np.tile(np.frombuffer(country.encode(), dtype=np.uint8), (n, 1))
    check_digits = np.column_stack([check // 10 + 48, check % 10 + 48]).astype(np.uint8)
    return _strings(np.hstack([head, check_digits, bban_letters, bban_digits]))


def iban_is_valid(iban: str) -> bool:
    """ISO 13616 check (for tests and users): the rearranged number is 1 modulo 97."""
    text = iban[4:] + iban[:4]
    number = "".join(str(int(ch, 36)) for ch in text)
    return int(number) % 97 == 1


def routing_numbers(rng: np.random.Generator, n: int) -> pa.Array:
    """US ABA routing numbers with a valid 3-7-1 checksum digit."""
    first = rng.integers(0, 10, (n, 8))
    first[:, 0] = rng.integers(0, 4, n)  # Federal Reserve routing symbols start 00-12 / 21-32
    weights = np.array([3, 7, 1, 3, 7, 1, 3, 7])
    last = (10 - (first @ weights) % 10) % 10
    return _strings((np.column_stack([first, last]) + 48).astype(np.uint8))
