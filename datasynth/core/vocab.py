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


def constant(value: str, n: int) -> pa.Array:
    """``n`` copies of one string, built from buffers (numpy unicode arrays are far slower)."""
    data = value.encode("utf-8")
    offsets = np.arange(n + 1, dtype=np.int64) * len(data)
    if offsets[-1] >= 2**31:
        return pa.array([value], pa.string()).take(pa.array(np.zeros(n, dtype=np.int64)))
    return pa.StringArray.from_buffers(
        n, pa.py_buffer(offsets.astype(np.int32).tobytes()), pa.py_buffer(data * n)
    )


def pick(values: Sequence[str], index: np.ndarray) -> pa.Array:
    """``values[index]`` for every row, as an Arrow string array."""
    return pa.array(list(values), pa.string()).take(pa.array(np.asarray(index, dtype=np.int64)))


def join(parts: Sequence[pa.Array | str], separator: str = " ") -> pa.Array:
    """Element-wise concatenation of string arrays (and literal strings)."""
    out = pc.binary_join_element_wise(*parts, separator)
    return out.combine_chunks() if isinstance(out, pa.ChunkedArray) else out


def random_pools(rng: np.random.Generator, n: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-row pools of random ASCII digits and capital letters, ``(n, width)`` each.

    Text built from a row's own pools depends on that row alone, so changing other rows (more
    partners of some country, say) never changes this row's postcode, tax id or IBAN.
    """
    digits = rng.integers(48, 58, (n, width), dtype=np.uint8)
    letters = rng.integers(65, 91, (n, width), dtype=np.uint8)
    return digits, letters


def fill_pattern(pattern: str, digits: np.ndarray, letters: np.ndarray) -> np.ndarray:
    """Rows of ``pattern`` with placeholder ``k`` filled from column ``k`` of the row's pools."""
    template = np.frombuffer(pattern.encode("ascii"), dtype=np.uint8)
    out = np.tile(template, (digits.shape[0], 1))
    is_digit = template == _DIGIT
    is_letter = template == _LETTER
    out[:, is_digit] = digits[:, : template.size][:, is_digit]
    out[:, is_letter] = letters[:, : template.size][:, is_letter]
    return out


def _strings(matrix: np.ndarray) -> pa.Array:
    n, width = matrix.shape
    offsets = np.arange(0, (n + 1) * width, width, dtype=np.int32)
    return pa.StringArray.from_buffers(
        n, pa.py_buffer(offsets.tobytes()), pa.py_buffer(np.ascontiguousarray(matrix).tobytes())
    )


def patterns(
    choices: Sequence[str], which: np.ndarray, digits: np.ndarray, letters: np.ndarray
) -> pa.Array:
    """Row i gets ``choices[which[i]]`` filled from row i's pools (:func:`random_pools`)."""
    which = np.asarray(which, dtype=np.int64)
    order = np.argsort(which, kind="stable")
    pieces: list[pa.Array] = []
    for k, pattern in enumerate(choices):
        rows = np.flatnonzero(which == k)
        if rows.size:
            pieces.append(_strings(fill_pattern(pattern, digits[rows], letters[rows])))
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


def ibans(
    country: str, letters: int, digits: int, digit_pool: np.ndarray, letter_pool: np.ndarray
) -> pa.Array:
    """Valid IBANs (ISO 13616 mod-97 check digits); the BBAN comes from each row's pools."""
    n = digit_pool.shape[0]
    bban_letters = letter_pool[:, :letters]
    bban_digits = digit_pool[:, letters : letters + digits]
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


def routing_numbers(digit_pool: np.ndarray) -> pa.Array:
    """US ABA routing numbers with a valid 3-7-1 checksum digit, from each row's digit pool."""
    first = digit_pool[:, :8].astype(np.int64) - 48
    # the first two digits name a Federal Reserve district: 01-12, 21-32 (thrifts), 61-72, 80
    prefixes = np.array([*range(1, 13), *range(21, 33), *range(61, 73), 80])
    prefix = prefixes[(first[:, 0] * 10 + first[:, 1]) % prefixes.size]
    first[:, 0], first[:, 1] = prefix // 10, prefix % 10
    weights = np.array([3, 7, 1, 3, 7, 1, 3, 7])
    last = (10 - (first @ weights) % 10) % 10
    return _strings((np.column_stack([first, last]) + 48).astype(np.uint8))


def pick_within(
    groups: Sequence[Sequence[str]], group: np.ndarray, u: np.ndarray
) -> tuple[list[str], np.ndarray]:
    """Flatten per-group vocabularies and pick one entry per row uniformly within its group.

    Returns the flat list and each row's index into it (``u`` holds uniform draws in [0, 1)).
    """
    flat = [x for g in groups for x in g]
    sizes = np.array([len(g) for g in groups], dtype=np.int64)
    offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
    g = np.asarray(group, dtype=np.int64)
    out: np.ndarray = offsets[g] + (np.asarray(u) * sizes[g]).astype(np.int64)
    return flat, out


def scatter(base: pa.Array, mask: np.ndarray, values: pa.Array) -> pa.Array:
    """``base`` with the rows where ``mask`` is true replaced, in order, by ``values``."""
    mask = np.asarray(mask, dtype=bool)
    if not mask.any():
        return base
    index = np.cumsum(mask) - 1
    spread = values.take(pa.array(np.where(mask, index, 0)))
    out = pc.if_else(pa.array(mask), spread, base)
    return out.combine_chunks() if isinstance(out, pa.ChunkedArray) else out


def duplicates(values: pa.Array) -> np.ndarray:
    """True for every row whose value already appeared in an earlier row."""
    codes = pc.dictionary_encode(values).indices.to_numpy(zero_copy_only=False)
    first = np.full(int(codes.max()) + 1 if codes.size else 0, -1, dtype=np.int64)
    # the first occurrence of each code is where np.unique reports it
    _, first_index = np.unique(codes, return_index=True)
    first[np.unique(codes)] = first_index
    out: np.ndarray = first[codes] != np.arange(codes.size)
    return out
