"""Data-quality noise: a messy text copy of a table, and a label for every change.

A noisy table has the clean table's columns, every cell as text (dates ISO, amounts as plain
decimals, booleans ``true``/``false``) until a change makes it otherwise. Each cell gets at
most one issue, claimed in this order:

- ``missing_value``: completely at random (``missing_rate``, every non-key field) or
  depending on another field (``dependent_missing`` rules); written as null or, for a
  ``placeholder_share`` of them, as ``""``, ``N/A``, ``NULL`` or ``-``;
- ``encoding_issue`` on text fields: mojibake (UTF-8 read as Latin-1) where the text has
  non-ASCII characters, else a byte-order mark or a U+FFFD replacement character;
- ``format_variation``: dates as ``01/15/2024``, ``15/01/2024``, ``15.01.2024``,
  ``01-15-2024``, ``15-01-2024``, ``January 15, 2024``, ``20240115``; amounts as
  ``1,234.50``, ``1.234,50``, ``1 234.50``, ``USD 1234.50``, ``1234.50 USD``, ``1234.5``;
  identifiers lower-cased, without separators, with ``_`` or ``.`` separators, or without
  leading zeros;
- ``typo`` on text fields: substitution by a QWERTY neighbour, transposition, deletion,
  insertion, doubled character, case flip or OCR confusion (0/O, 1/l, 5/S, 8/B).

Then ``duplicate_rate`` of the rows are appended once more: ``exact``, ``near`` (a date moved
by up to ``duplicate_max_days`` or an amount by up to ``duplicate_amount_variance``) or
``fuzzy`` (near plus a typo). Key fields never change. Every change is one label row with the
record's key, the row in the noisy file, the field, the clean and the noisy value, so applying
the labels backwards gives the clean table exactly (the tests do this).

All text edits work on the Arrow string buffers with numpy: no per-row Python.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from datasynth.config.models import NOISY_KEYS, DatasynthConfig
from datasynth.core.ids import fixed_width_strings
from datasynth.core.money import decimal_from_minor, minor_from_decimal
from datasynth.core.seeding import stream
from datasynth.core.vocab import constant

QUALITY_LABELS = "quality_labels"
NOISY_PREFIX = "noisy_"
_DICT = pa.dictionary(pa.int32(), pa.string())
LABEL_SCHEMA = pa.schema(
    [
        pa.field("issue_id", pa.string(), nullable=False),
        pa.field("table_name", _DICT, nullable=False),
        # the record's key in the clean table (document_id, vendor_id, ...) and, for journal
        # lines, its line number
        pa.field("record_id", pa.string(), nullable=False),
        pa.field("line_number", pa.int32()),
        # the row of the noisy file (0-based) that carries the issue
        pa.field("noisy_row", pa.int64(), nullable=False),
        # null for an exact duplicate (the whole row)
        pa.field("field_name", _DICT),
        pa.field("issue_type", _DICT, nullable=False),
        pa.field("subtype", _DICT, nullable=False),
        pa.field("original_value", pa.string()),
        pa.field("noisy_value", pa.string()),
        # duplicates: the noisy row they copy
        pa.field("duplicate_of_row", pa.int64()),
    ]
)
#: identifier fields besides ``*_id`` columns
_IDENTIFIERS = frozenset(
    {
        "created_by",
        "approved_by",
        "gl_account",
        "cost_center",
        "clearing_reference",
        "tax_id",
        "iban",
        "reconciliation_account",
    }
)
_PLACEHOLDERS = ("", "N/A", "NULL", "-")
_DATE_FORMATS = ("%m/%d/%Y", "%d/%m/%Y", "%d.%m.%Y", "%m-%d-%Y", "%d-%m-%Y", "%B %d, %Y", "%Y%m%d")
_DATE_NAMES = ("us", "eu", "eu_dot", "us_dash", "eu_dash", "long", "compact")
_AMOUNT_NAMES = ("us_comma", "eu", "space", "currency_prefix", "currency_suffix", "trimmed")
_ID_NAMES = ("lower_case", "no_separator", "underscore", "dot", "no_leading_zeros")
_TYPO_NAMES = (
    "substitution",
    "transposition",
    "deletion",
    "insertion",
    "double_char",
    "case",
    "ocr",
)
_TYPO_WEIGHTS = (0.25, 0.20, 0.20, 0.10, 0.10, 0.10, 0.05)
_QWERTY = (
    "qwertyuiop",
    "asdfghjkl",
    "zxcvbnm",
)
_OCR = {
    "0": "O",
    "O": "0",
    "1": "l",
    "l": "1",
    "5": "S",
    "S": "5",
    "8": "B",
    "B": "8",
    "I": "1",
    "o": "0",
    "2": "Z",
    "Z": "2",
}


def _neighbour_table() -> tuple[np.ndarray, np.ndarray]:
    """For every byte, up to 6 QWERTY neighbours (same case) and their count."""
    table = np.zeros((256, 6), dtype=np.uint8)
    count = np.zeros(256, dtype=np.int64)
    rows = _QWERTY
    for r, row in enumerate(rows):
        for c, ch in enumerate(row):
            near = []
            for dr in (-1, 0, 1):
                rr = r + dr
                if 0 <= rr < len(rows):
                    for dc in (-1, 0, 1):
                        cc = c + dc
                        if (dr or dc) and 0 <= cc < len(rows[rr]):
                            near.append(rows[rr][cc])
            near = near[:6]
            for case in (str.lower, str.upper):
                b = ord(case(ch))
                table[b, : len(near)] = [ord(case(x)) for x in near]
                count[b] = len(near)
    return table, count


_NEIGHBOURS, _NEIGHBOUR_COUNT = _neighbour_table()
_OCR_MAP = np.arange(256, dtype=np.uint8)
for _k, _v in _OCR.items():
    _OCR_MAP[ord(_k)] = ord(_v)


# ------------------------------------------------------------------------------------------
# byte-level string edits


def _buffers(array: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """(offsets int64, data uint8) of a string array without nulls."""
    array = array.cast(pa.large_string())
    offsets = np.frombuffer(array.buffers()[1], dtype=np.int64)[
        array.offset : array.offset + len(array) + 1
    ]
    data = (
        np.frombuffer(array.buffers()[2], dtype=np.uint8)
        if array.buffers()[2]
        else np.zeros(0, np.uint8)
    )
    # a sliced array shares its parent's buffers: keep only its own bytes, offsets from zero
    data = data[offsets[0] : offsets[-1]]
    return offsets - offsets[0], data


def _assemble(lengths: np.ndarray, data: np.ndarray) -> pa.Array:
    offsets = np.r_[0, np.cumsum(lengths)].astype(np.int64)
    return pa.LargeStringArray.from_buffers(
        lengths.size, pa.py_buffer(offsets.tobytes()), pa.py_buffer(data.tobytes())
    ).cast(pa.string())


def _rewrite(
    array: pa.Array,
    new_length: np.ndarray,
    source: np.ndarray,
    override: np.ndarray,
    value: np.ndarray,
) -> pa.Array:
    """Strings whose byte ``k`` is the old string's byte ``source[k]`` (an index into the old
    string) or ``value[k]`` where ``override[k]``; all arrays flat over the new bytes."""
    offsets, data = _buffers(array)
    string = np.repeat(np.arange(new_length.size), new_length)
    byte = (
        data[np.clip(offsets[string] + source, 0, max(data.size - 1, 0))]
        if data.size
        else np.zeros(source.size, np.uint8)
    )
    out = np.where(override, value, byte).astype(np.uint8)
    return _assemble(new_length, out)


def typos(array: pa.Array, rng: np.random.Generator) -> tuple[pa.Array, np.ndarray, np.ndarray]:
    """One typo per string: (new strings, applied mask, subtype index into _TYPO_NAMES)."""
    n = len(array)
    offsets, data = _buffers(array)
    length = np.diff(offsets)
    op = np.searchsorted(np.cumsum(_TYPO_WEIGHTS) / sum(_TYPO_WEIGHTS), rng.random(n), side="right")
    op = np.minimum(op, len(_TYPO_NAMES) - 1)
    pos = (rng.random(n) * np.maximum(length - 1, 1)).astype(np.int64)
    at = np.clip(offsets[:-1] + pos, 0, max(data.size - 1, 0))
    nxt = np.clip(at + 1, 0, max(data.size - 1, 0))
    here = data[at] if data.size else np.zeros(n, np.uint8)
    after = data[nxt] if data.size else np.zeros(n, np.uint8)
    letter = ((here | 32) >= ord("a")) & ((here | 32) <= ord("z"))
    alnum = letter | ((here >= ord("0")) & (here <= ord("9")))
    ok = (length >= 2) & alnum & (here < 128)
    ok &= np.where(op == 1, (after < 128) & (after != here) & (pos + 1 < length), True)
    neighbours = _NEIGHBOUR_COUNT[here]
    ok &= np.where((op == 0) | (op == 3), neighbours > 0, True)
    ok &= np.where(op == 5, letter, True)
    ok &= np.where(op == 6, _OCR_MAP[here] != here, True)
    pick = _NEIGHBOURS[here, (rng.random(n) * np.maximum(neighbours, 1)).astype(np.int64)]
    delta = np.where(ok & (op == 2), -1, np.where(ok & ((op == 3) | (op == 4)), 1, 0))
    new_length = length + delta
    string = np.repeat(np.arange(n), new_length)
    k = np.arange(int(new_length.sum())) - np.repeat(np.cumsum(new_length) - new_length, new_length)
    s_op, s_pos, s_ok = op[string], pos[string], ok[string]
    source = k.copy()
    source = np.where(s_ok & (s_op == 2) & (k >= s_pos), k + 1, source)
    source = np.where(s_ok & ((s_op == 3) | (s_op == 4)) & (k > s_pos), k - 1, source)
    source = np.where(s_ok & (s_op == 1) & (k == s_pos), k + 1, source)
    source = np.where(s_ok & (s_op == 1) & (k == s_pos + 1), k - 1, source)
    at_pos = s_ok & (k == s_pos)
    override = at_pos & np.isin(s_op, (0, 3, 5, 6))
    value = np.select(
        [s_op == 0, s_op == 3, s_op == 5, s_op == 6],
        [pick[string], pick[string], here[string] ^ 32, _OCR_MAP[here[string]]],
        0,
    )
    return _rewrite(array, new_length, source, override, value), ok, op


def encoding_slips(array: pa.Array, rng: np.random.Generator) -> tuple[pa.Array, np.ndarray]:
    """Mojibake where a string has non-ASCII bytes, else a BOM (half) or a U+FFFD in place of
    one character. Returns (new strings, subtype 0 mojibake / 1 bom / 2 replacement)."""
    n = len(array)
    offsets, data = _buffers(array)
    length = np.diff(offsets)
    high = (data >= 128).astype(np.int64)
    per = (
        np.add.reduceat(high, offsets[:-1].clip(0, max(data.size - 1, 0)))
        if data.size
        else np.zeros(n, np.int64)
    )
    per = np.where(length > 0, per, 0)
    kind = np.where(per > 0, 0, np.where(rng.random(n) < 0.5, 1, 2))
    kind = np.where((kind == 2) & (length == 0), 1, kind)
    pos = (rng.random(n) * np.maximum(length, 1)).astype(np.int64)
    # the replaced character must be ASCII (one byte)
    at = np.clip(offsets[:-1] + pos, 0, max(data.size - 1, 0))
    kind = np.where((kind == 2) & (data[at] >= 128 if data.size else False), 1, kind)
    # bytes: mojibake expands each byte >= 0x80 into two; BOM adds 3 in front; U+FFFD adds 2
    string_of_byte = np.repeat(np.arange(n), length)
    expand = (
        np.where((kind[string_of_byte] == 0) & (data >= 128), 2, 1)
        if data.size
        else np.zeros(0, np.int64)
    )
    extra = np.where(kind == 1, 3, np.where(kind == 2, 2, 0))
    grown = (
        np.bincount(string_of_byte, weights=expand - 1, minlength=n).astype(np.int64)
        if data.size
        else np.zeros(n, np.int64)
    )
    new_length = length + grown + extra
    out = np.empty(int(new_length.sum()), dtype=np.uint8)
    starts = np.r_[0, np.cumsum(new_length)[:-1]].astype(np.int64)
    # place every old byte (mojibake: two bytes for high ones)
    lead = np.where(kind == 1, 3, 0)
    within = (
        np.arange(data.size) - np.repeat(offsets[:-1], length)
        if data.size
        else np.zeros(0, np.int64)
    )
    # output position of each old byte: start + lead + bytes before it in its string, +2 after
    # the replaced character
    shift = (
        np.cumsum(expand)
        - expand
        - np.repeat(
            np.cumsum(
                np.r_[0, np.bincount(string_of_byte, weights=expand, minlength=n)[:-1]]
            ).astype(np.int64),
            length,
        )
        if data.size
        else np.zeros(0, np.int64)
    )
    position = (
        np.repeat(starts + lead, length)
        + shift
        + np.where((np.repeat(kind, length) == 2) & (within > np.repeat(pos, length)), 2, 0)
    )
    mojibake = (np.repeat(kind, length) == 0) & (data >= 128)
    plain = ~mojibake
    replaced = (np.repeat(kind, length) == 2) & (within == np.repeat(pos, length))
    keep = plain & ~replaced
    out[position[keep]] = data[keep]
    out[position[mojibake]] = np.where(data[mojibake] >= 0xC0, 0xC3, 0xC2)
    out[position[mojibake] + 1] = 0x80 | (data[mojibake] & 0x3F)
    r = position[replaced]
    out[r], out[r + 1], out[r + 2] = 0xEF, 0xBF, 0xBD
    bom = np.flatnonzero(kind == 1)
    out[starts[bom]], out[starts[bom] + 1], out[starts[bom] + 2] = 0xEF, 0xBB, 0xBF
    return _assemble(new_length, out), kind


def date_variants(days: pa.Array, rng: np.random.Generator) -> tuple[pa.Array, np.ndarray]:
    n = len(days)
    kind = rng.integers(0, len(_DATE_FORMATS), n)
    ts = pc.cast(days, pa.timestamp("s"))
    out = pa.nulls(n, pa.string())
    for k, fmt in enumerate(_DATE_FORMATS):
        chosen = kind == k
        if chosen.any():
            out = pc.if_else(pa.array(chosen), pc.strftime(ts, format=fmt, locale="C"), out)
    return out, kind


def amount_variants(
    minor: np.ndarray, currency: pa.Array, rng: np.random.Generator
) -> tuple[pa.Array, np.ndarray]:
    n = minor.size
    kind = rng.integers(0, len(_AMOUNT_NAMES), n)
    # a currency prefix or suffix only where the record names its currency
    has_currency = np.asarray(pc.greater(pc.utf8_length(currency.fill_null("")), 0))
    other = np.array([k for k, x in enumerate(_AMOUNT_NAMES) if not x.startswith("currency")])
    fallback = other[rng.integers(0, other.size, n)]
    kind = np.where(np.isin(kind, [3, 4]) & ~has_currency, fallback, kind)
    negative = minor < 0
    value = np.abs(minor)
    units, cents = value // 100, value % 100
    cents_text = pc.utf8_lpad(pc.cast(pa.array(cents), pa.string()), 2, "0")
    plain_units = pc.cast(pa.array(units), pa.string())
    grouped = {sep: _group(units, sep) for sep in (",", ".", " ")}
    sign = pa.array(np.where(negative, "-", ""))
    us = pc.binary_join_element_wise(sign, grouped[","], ".", cents_text, "")
    eu = pc.binary_join_element_wise(sign, grouped["."], ",", cents_text, "")
    space = pc.binary_join_element_wise(sign, grouped[" "], ".", cents_text, "")
    plain = pc.binary_join_element_wise(sign, plain_units, ".", cents_text, "")
    prefix = pc.binary_join_element_wise(currency, plain, " ")
    suffix = pc.binary_join_element_wise(plain, currency, " ")
    trimmed = pc.replace_substring_regex(plain, r"\.?0+$", "")
    trimmed = pc.if_else(pc.equal(trimmed, ""), "0", trimmed)
    out = us
    for k, variant in enumerate((us, eu, space, prefix, suffix, trimmed)):
        out = pc.if_else(pa.array(kind == k), variant, out)
    return out, kind


def _group(units: np.ndarray, sep: str) -> pa.Array:
    """Integers with thousands separators."""
    groups = []
    rest = units.copy()
    for _ in range(7):
        groups.append(rest % 1000)
        rest //= 1000
    digits = np.floor(np.log10(np.maximum(units, 1))).astype(np.int64) // 3 + 1
    text = pc.cast(pa.array(groups[0]), pa.string())
    out = text
    body = pa.nulls(units.size, pa.string())
    for g in range(1, 7):
        lower = pc.utf8_lpad(pc.cast(pa.array(groups[g - 1]), pa.string()), 3, "0")
        body = lower if g == 1 else pc.binary_join_element_wise(lower, body, sep)
        head = pc.cast(pa.array(groups[g]), pa.string())
        out = pc.if_else(
            pa.array(digits == g + 1), pc.binary_join_element_wise(head, body, sep), out
        )
    return out


def identifier_variants(values: pa.Array, rng: np.random.Generator) -> tuple[pa.Array, np.ndarray]:
    n = len(values)
    kind = rng.integers(0, len(_ID_NAMES), n)
    variants = (
        pc.utf8_lower(values),
        pc.replace_substring(values, "-", ""),
        pc.replace_substring(values, "-", "_"),
        pc.replace_substring(values, "-", "."),
        pc.replace_substring_regex(values, r"(^|[-_ ])0+(\d)", r"\1\2"),
    )
    out = variants[0]
    for k, variant in enumerate(variants):
        out = pc.if_else(pa.array(kind == k), variant, out)
    # a variant that changes nothing (an id without letters lower-cased) is no variation
    return out, kind


# ------------------------------------------------------------------------------------------
# the noisy table


@dataclass
class _Issues:
    rows: list[np.ndarray]
    fields: list[str]
    types: list[str]
    subtypes: list[pa.Array]
    original: list[pa.Array]
    noisy: list[pa.Array]

    def add(
        self,
        rows: np.ndarray,
        field: str,
        kind: str,
        subtype: pa.Array,
        original: pa.Array,
        noisy: pa.Array,
    ) -> None:
        if rows.size:
            self.rows.append(rows)
            self.fields.append(field)
            self.types.append(kind)
            self.subtypes.append(subtype)
            self.original.append(original)
            self.noisy.append(noisy)


def quality_tables(config: DatasynthConfig, table: str) -> tuple[str, str]:
    """Output names of the noisy copy of ``table`` and of its quality labels."""
    if table == "journal_entries":
        return f"{NOISY_PREFIX}{table}", QUALITY_LABELS
    return f"{NOISY_PREFIX}{table}", f"{QUALITY_LABELS}_{table}"


def source_table(name: str) -> str | None:
    """The clean table an output table of data quality comes from (None for other tables)."""
    if name.startswith(NOISY_PREFIX):
        return name[len(NOISY_PREFIX) :]
    if name == QUALITY_LABELS:
        return "journal_entries"
    if name.startswith(f"{QUALITY_LABELS}_"):
        return name[len(QUALITY_LABELS) + 1 :]
    return None


def _kind(field: pa.Field, name: str, text: tuple[str, ...]) -> str:
    t = field.type
    if pa.types.is_dictionary(t):
        t = t.value_type
    if pa.types.is_date(t):
        return "date"
    if pa.types.is_decimal(t):
        return "amount"
    if name in text:
        return "text"
    if pa.types.is_string(t) and (name.endswith("_id") or name in _IDENTIFIERS):
        return "identifier"
    return "other"


def as_text(table: pa.Table) -> pa.Table:
    """Every column as text (the clean side of a noisy table)."""
    arrays = []
    for column in table.columns:
        c = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
        if pa.types.is_dictionary(c.type):
            c = c.cast(c.type.value_type)
        if pa.types.is_boolean(c.type):
            c = pc.if_else(c, "true", "false")
        arrays.append(pc.cast(c, pa.string()))
    return pa.table(arrays, names=table.column_names)


def noisy_table(
    config: DatasynthConfig, name: str, table: pa.Table, key: tuple[object, ...], block: int
) -> tuple[pa.Table, pa.Table]:
    """The noisy text copy of ``table`` and its quality labels; ``key`` names the streams
    (the block's position), ``block`` numbers the labels."""
    q = config.data_quality
    seed = config.global_.seed
    clean = as_text(table)
    n = table.num_rows
    keys = NOISY_KEYS[name]
    text_fields = tuple(q.text_fields.get(name, ()))  # type: ignore[call-overload]
    claimed = {f: np.zeros(n, dtype=bool) for f in table.column_names}
    # every change reads the clean value (a cell changes at most once) and is applied to the
    # column once, at the end
    columns = {f: clean[f].combine_chunks() for f in table.column_names}
    pending: dict[str, list[tuple[np.ndarray, pa.Array]]] = {}
    issues = _Issues([], [], [], [], [], [])

    def rng(*concern: object) -> np.random.Generator:
        return stream(seed, "data_quality", name, *key, *concern)  # type: ignore[arg-type]

    valid: dict[str, np.ndarray] = {}

    def claim(field: str, mask: np.ndarray) -> np.ndarray:
        if field not in valid:
            valid[field] = np.asarray(columns[field].is_valid())
        rows = np.flatnonzero(mask & ~claimed[field] & valid[field])
        claimed[field][rows] = True
        return rows

    def put(field: str, rows: np.ndarray, values: pa.Array) -> None:
        if rows.size:
            pending.setdefault(field, []).append((rows, values))

    def valid_of(field: str) -> np.ndarray:
        if field not in valid:
            valid[field] = np.asarray(columns[field].is_valid())
        return valid[field]

    fields = [f for f in table.column_names if f not in keys]
    kinds = {f: _kind(table.schema.field(f), f, text_fields) for f in fields}
    # missing values: completely at random, then the rules that depend on another field
    for f in fields:
        r = rng("missing", f)
        u = r.random(n)
        rate = np.full(n, q.missing_rate)
        for rule in q.dependent_missing:
            if rule.table == name and rule.field == f:
                hit = pc.is_in(clean[rule.when_field], pa.array(list(rule.when_values)))
                rate = np.where(np.asarray(hit.fill_null(False)), np.maximum(rate, rule.rate), rate)
        dependent = rate > q.missing_rate
        rows = claim(f, u < rate)
        if not rows.size:
            continue
        placeholder = r.random(rows.size) < q.placeholder_share
        which = r.integers(0, len(_PLACEHOLDERS), rows.size)
        values = pa.array(list(_PLACEHOLDERS), pa.string()).take(pa.array(which))
        values = pc.if_else(pa.array(placeholder), values, pa.nulls(rows.size, pa.string()))
        original = columns[f].take(pa.array(rows))
        put(f, rows, values)
        subtype = np.where(
            placeholder, np.where(which == 0, "empty_string", "placeholder"), "null_value"
        )
        subtype = np.where(dependent[rows] & ~placeholder, "dependent_null", subtype)
        issues.add(rows, f, "missing_value", pa.array(subtype), original, values)
    # encoding slips and typos on text fields, format variations on dates, amounts and ids
    for f in fields:
        kind = kinds[f]
        if kind == "text":
            rows = claim(f, rng("encoding", f).random(n) < q.encoding_rate)
            if rows.size:
                original = columns[f].take(pa.array(rows))
                values, sub = encoding_slips(original, rng("encoding_edit", f))
                put(f, rows, values)
                names = np.array(["mojibake", "bom_issue", "character_corruption"])[sub]
                issues.add(rows, f, "encoding_issue", pa.array(names), original, values)
            rows = np.flatnonzero(
                (rng("typos", f).random(n) < q.typo_rate) & ~claimed[f] & valid_of(f)
            )
            if rows.size:
                original = columns[f].take(pa.array(rows))
                values, ok, op = typos(original, rng("typo_edit", f))
                rows, original, values, op = (
                    rows[ok],
                    original.filter(pa.array(ok)),
                    values.filter(pa.array(ok)),
                    op[ok],
                )
                claimed[f][rows] = True
                put(f, rows, values)
                issues.add(rows, f, "typo", pa.array(np.array(_TYPO_NAMES)[op]), original, values)
        elif kind in ("date", "amount", "identifier"):
            share = {
                "date": q.date_format_rate,
                "amount": q.amount_format_rate,
                "identifier": q.identifier_format_rate,
            }[kind]
            rows = claim(f, rng("formats", f).random(n) < share)
            if not rows.size:
                continue
            original = columns[f].take(pa.array(rows))
            r = rng("format_edit", f)
            if kind == "date":
                source = table[f].combine_chunks().take(pa.array(rows))
                values, sub = date_variants(source, r)
                names = np.array([f"date_{x}" for x in _DATE_NAMES])[sub]
            elif kind == "amount":
                minor = minor_from_decimal(
                    table[f].combine_chunks().take(pa.array(rows)).fill_null(0)
                )
                currency = (
                    clean["currency"].take(pa.array(rows)).fill_null("")
                    if "currency" in clean.column_names
                    else pa.nulls(rows.size, pa.string())
                )
                values, sub = amount_variants(minor, currency, r)
                names = np.array([f"amount_{x}" for x in _AMOUNT_NAMES])[sub]
            else:
                values, sub = identifier_variants(original, r)
                names = np.array([f"id_{x}" for x in _ID_NAMES])[sub]
            changed = np.asarray(pc.not_equal(values, original).fill_null(True))
            rows, original, values, names = (
                rows[changed],
                original.filter(pa.array(changed)),
                values.filter(pa.array(changed)),
                names[changed],
            )
            put(f, rows, values)
            issues.add(rows, f, "format_variation", pa.array(names), original, values)
    for f, changes in pending.items():
        rows = np.concatenate([c[0] for c in changes])
        values = pa.concat_arrays([_flat(c[1]) for c in changes])
        position = np.full(n, -1, dtype=np.int64)
        position[rows] = np.arange(rows.size)
        spread = values.take(pa.array(np.maximum(position, 0)))
        columns[f] = pc.if_else(pa.array(position >= 0), spread, columns[f])
    noisy = pa.table([columns[f] for f in table.column_names], names=table.column_names)
    noisy, dup = _duplicates(config, table, clean, noisy, rng, kinds, text_fields)
    labels = _label_table(name, clean, issues, dup, keys, block)
    return noisy, labels


@dataclass
class _Duplicates:
    source: np.ndarray  # the clean row each duplicate copies
    kind: np.ndarray  # 0 exact, 1 near, 2 fuzzy
    field: pa.Array  # the nudged field (null: none)
    original: pa.Array
    noisy: pa.Array
    typo_field: pa.Array  # the field with the fuzzy duplicate's typo (null: none)
    typo_original: pa.Array
    typo_noisy: pa.Array
    typo_subtype: pa.Array


def _spread(mask: np.ndarray, values: pa.Array, base: pa.Array) -> pa.Array:
    """``base`` with the masked rows replaced, in order, by ``values``."""
    if not mask.any():
        return base
    index = np.cumsum(mask) - 1
    return pc.if_else(pa.array(mask), values.take(pa.array(np.where(mask, index, 0))), base)


def _duplicates(
    config: DatasynthConfig,
    table: pa.Table,
    clean: pa.Table,
    noisy: pa.Table,
    rng: Callable[..., np.random.Generator],
    kinds: dict[str, str],
    text_fields: tuple[str, ...],
) -> tuple[pa.Table, _Duplicates | None]:
    q = config.data_quality
    n = table.num_rows
    r = rng("duplicates")
    source = np.flatnonzero(r.random(n) < q.duplicate_rate)
    if not source.size:
        return noisy, None
    m = source.size
    mix = np.array([q.duplicate_mix.get(k, 0.0) for k in ("exact", "near", "fuzzy")])
    kind = np.minimum(np.searchsorted(np.cumsum(mix) / mix.sum(), r.random(m), side="right"), 2)
    # a duplicate copies the clean record; only its own labelled changes differ
    cols = {f: clean[f].combine_chunks().take(pa.array(source)) for f in clean.column_names}
    nulls = pa.nulls(m, pa.string())
    field, original, changed = nulls, nulls, nulls
    # near and fuzzy: the first date moved by a few days, else the first amount nudged
    dates = [f for f, k in kinds.items() if k == "date"]
    amounts = [f for f, k in kinds.items() if k == "amount"]
    target = dates[0] if dates else (amounts[0] if amounts else None)
    nudged = np.zeros(m, dtype=bool)
    if target is not None:
        base = table[target].combine_chunks().take(pa.array(source))
        nudged = (kind >= 1) & np.asarray(base.is_valid())
        rows = np.flatnonzero(nudged)
        if kinds[target] == "date":
            step = r.integers(1, q.duplicate_max_days + 1, rows.size)
            step *= np.where(r.random(rows.size) < 0.5, -1, 1)
            days = base.take(pa.array(rows)).cast(pa.int32()).to_numpy() + step
            values = pc.cast(pa.array(days.astype(np.int32), pa.date32()), pa.string())
        else:
            minor = minor_from_decimal(base.take(pa.array(rows)))
            share = r.uniform(0, q.duplicate_amount_variance, rows.size)
            nudge = np.maximum(np.rint(np.abs(minor) * share), 1).astype(np.int64)
            new = minor + nudge * np.where(r.random(rows.size) < 0.5, -1, 1)
            values = pc.cast(decimal_from_minor(new), pa.string())
        original = _spread(nudged, cols[target].filter(pa.array(nudged)), original)
        cols[target] = _spread(nudged, values, cols[target])
        changed = _spread(nudged, values, changed)
        field = _spread(nudged, constant(target, rows.size), field)
    # near needs the nudge; fuzzy needs a typo and takes the nudge where there is one (a table
    # without dates and amounts, like vendors, gets typo-only fuzzy duplicates)
    kind = np.where((kind == 1) & ~nudged, 0, kind)
    hit = np.zeros(m, dtype=bool)
    typo_field, typo_original, typo_noisy, typo_subtype = nulls, nulls, nulls, nulls
    texts = [f for f in text_fields if f in cols]
    if texts:
        f = texts[0]
        fuzzy = (kind == 2) & np.asarray(cols[f].is_valid())
        rows = np.flatnonzero(fuzzy)
        if rows.size:
            before = cols[f].take(pa.array(rows))
            values, ok, op = typos(before, rng("duplicate_typos"))
            hit[rows[ok]] = True
            typo_original = _spread(hit, before.filter(pa.array(ok)), typo_original)
            typo_noisy = _spread(hit, values.filter(pa.array(ok)), typo_noisy)
            cols[f] = _spread(hit, values.filter(pa.array(ok)), cols[f])
            names = pa.array(list(_TYPO_NAMES), pa.string()).take(pa.array(op[ok]))
            typo_subtype = _spread(hit, names, typo_subtype)
            typo_field = _spread(hit, constant(f, int(hit.sum())), typo_field)
    kind = np.where((kind == 2) & ~hit, np.where(nudged, 1, 0), kind)
    copies = pa.table([cols[f] for f in noisy.column_names], names=noisy.column_names)
    out = pa.concat_tables([noisy, copies])
    return out, _Duplicates(
        source, kind, field, original, changed, typo_field, typo_original, typo_noisy, typo_subtype
    )


def _flat(a: pa.Array | pa.ChunkedArray) -> pa.Array:
    out = a.combine_chunks() if isinstance(a, pa.ChunkedArray) else a
    return out.cast(pa.string())


def _label_table(
    name: str,
    clean: pa.Table,
    issues: _Issues,
    dup: _Duplicates | None,
    keys: tuple[str, ...],
    block: int,
) -> pa.Table:
    n = clean.num_rows
    parts: list[dict[str, pa.Array | np.ndarray]] = []
    for rows, field, kind, subtype, original, noisy in zip(
        issues.rows,
        issues.fields,
        issues.types,
        issues.subtypes,
        issues.original,
        issues.noisy,
        strict=True,
    ):
        parts.append(
            {
                "row": rows,
                "source_row": rows,
                "field": constant(field, rows.size),
                "issue_type": constant(kind, rows.size),
                "subtype": subtype,
                "original": original,
                "noisy": noisy,
                "duplicate_of": np.full(rows.size, -1, dtype=np.int64),
            }
        )
    if dup is not None:
        m = dup.source.size
        new_rows = n + np.arange(m)
        names = pa.array(["exact_duplicate", "near_duplicate", "fuzzy_duplicate"], pa.string())
        parts.append(
            {
                "row": new_rows,
                "source_row": dup.source,
                "field": dup.field,
                "issue_type": constant("duplicate", m),
                "subtype": names.take(pa.array(dup.kind)),
                "original": dup.original,
                "noisy": dup.noisy,
                "duplicate_of": dup.source,
            }
        )
        typo = np.asarray(dup.typo_field.is_valid())
        if typo.any():
            rows = np.flatnonzero(typo)
            pick = pa.array(rows)
            parts.append(
                {
                    "row": new_rows[rows],
                    "source_row": dup.source[rows],
                    "field": dup.typo_field.take(pick),
                    "issue_type": constant("typo", rows.size),
                    "subtype": dup.typo_subtype.take(pick),
                    "original": dup.typo_original.take(pick),
                    "noisy": dup.typo_noisy.take(pick),
                    "duplicate_of": np.full(rows.size, -1, dtype=np.int64),
                }
            )
    if not parts:
        return LABEL_SCHEMA.empty_table()
    row = np.concatenate([p["row"] for p in parts])
    source_row = np.concatenate([p["source_row"] for p in parts])
    total = row.size
    record = clean[keys[0]].combine_chunks().take(pa.array(source_row))
    line = (
        pc.cast(clean["line_number"].combine_chunks().take(pa.array(source_row)), pa.int32())
        if "line_number" in keys
        else pa.nulls(total, pa.int32())
    )
    duplicate_of = np.concatenate([p["duplicate_of"] for p in parts])

    def joined(key: str) -> pa.Array:
        return pa.concat_arrays([_flat(p[key]) for p in parts])

    columns = {
        "issue_id": fixed_width_strings(f"DQ-{name}-{block:06d}-", np.arange(total), 9),
        "table_name": constant(name, total).dictionary_encode(),
        "record_id": record,
        "line_number": line,
        "noisy_row": pa.array(row, pa.int64()),
        "field_name": joined("field").dictionary_encode(),
        "issue_type": joined("issue_type").dictionary_encode(),
        "subtype": joined("subtype").dictionary_encode(),
        "original_value": joined("original"),
        "noisy_value": joined("noisy"),
        "duplicate_of_row": pa.array(duplicate_of, pa.int64(), mask=duplicate_of < 0),
    }
    return pa.Table.from_arrays([columns[f.name] for f in LABEL_SCHEMA], schema=LABEL_SCHEMA)
