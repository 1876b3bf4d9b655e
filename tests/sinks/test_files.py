"""Serialising tables to Parquet, CSV and JSON Lines, and placing files atomically."""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import json
from decimal import Decimal
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from datasynth.core.money import decimal_from_minor
from datasynth.sinks import files
from datasynth.sinks.files import file_suffix, serialise, write_table


def sample_table(n: int = 1000) -> pa.Table:
    rng = np.random.default_rng(1)
    minor = rng.integers(-(10**12), 10**12, n)
    names = pa.array(["plain", 'with "quotes"', "back\\slash", "comma, here", "line\nbreak"])
    return pa.table(
        {
            "id": pa.array([f"ID-{i:06d}" for i in range(n)]),
            "amount": decimal_from_minor(minor),
            "flag": pa.array(rng.random(n) < 0.5),
            "count": pa.array(rng.integers(0, 100, n).astype(np.int32)),
            "day": pa.array(rng.integers(19_000, 19_500, n).astype(np.int32), pa.date32()),
            "at": pa.array(rng.integers(0, 10**12, n), pa.timestamp("ms")),
            "label": pa.DictionaryArray.from_arrays(
                pa.array(rng.integers(0, 5, n).astype(np.int32)), names
            ),
            "maybe": pa.array([None if i % 3 else f"v{i}" for i in range(n)], pa.string()),
        }
    )


def test_parquet_round_trip_keeps_values_and_types() -> None:
    table = sample_table()
    back = pq.read_table(io.BytesIO(bytes(serialise(table, "parquet", "auto"))))
    assert back.column("amount").type == pa.decimal128(18, 2)
    assert back.column("amount").equals(table.column("amount"))
    assert back.column("label").cast(pa.string()).equals(table.column("label").cast(pa.string()))
    assert back.column("maybe").null_count == table.column("maybe").null_count


def test_csv_writes_plain_decimals_and_quotes_text() -> None:
    table = sample_table(200)
    text = bytes(serialise(table, "csv", "none")).decode()
    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) == 200
    for row, amount, label, maybe in zip(
        rows,
        table["amount"].to_pylist(),
        table["label"].cast(pa.string()).to_pylist(),
        table["maybe"].to_pylist(),
        strict=True,
    ):
        assert Decimal(row["amount"]) == amount
        assert "e" not in row["amount"].lower() and len(row["amount"].split(".")[1]) == 2
        assert row["label"] == label
        assert row["maybe"] == (maybe or "")
        assert row["flag"] in ("true", "false")


def test_jsonl_is_valid_json_per_line_with_decimal_strings(monkeypatch: pytest.MonkeyPatch) -> None:
    table = sample_table(1000)
    monkeypatch.setattr(files, "JSONL_SLICE_ROWS", 333)  # exercise slice boundaries
    text = bytes(serialise(table, "jsonl", "none")).decode()
    lines = text.splitlines()
    assert len(lines) == 1000 and text.endswith("\n")
    for line, amount, label, maybe, flag in zip(
        lines,
        table["amount"].to_pylist(),
        table["label"].cast(pa.string()).to_pylist(),
        table["maybe"].to_pylist(),
        table["flag"].to_pylist(),
        strict=True,
    ):
        row = json.loads(line)
        assert Decimal(row["amount"]) == amount and isinstance(row["amount"], str)
        assert row["label"] == label.replace("\n", " ")  # control characters become spaces
        assert row["maybe"] == maybe
        assert row["flag"] is flag
        assert isinstance(row["count"], int)


@pytest.mark.parametrize(("compression", "opener"), [("gzip", gzip.decompress)])
def test_text_compression_round_trips(compression: str, opener) -> None:  # type: ignore[no-untyped-def]
    table = sample_table(300)
    plain = bytes(serialise(table, "csv", "none"))
    assert opener(bytes(serialise(table, "csv", compression))) == plain


def test_zstd_text_round_trips() -> None:
    table = sample_table(300)
    plain = bytes(serialise(table, "jsonl", "none"))
    packed = pa.py_buffer(bytes(serialise(table, "jsonl", "zstd")))
    with pa.CompressedInputStream(pa.BufferReader(packed), "zstd") as stream:
        assert stream.read() == plain


def test_serialisation_is_deterministic() -> None:
    table = sample_table()
    for fmt, codec in (("parquet", "auto"), ("csv", "gzip"), ("jsonl", "zstd")):
        assert bytes(serialise(table, fmt, codec)) == bytes(serialise(table, fmt, codec))


def test_write_table_is_atomic_and_describes_the_file(tmp_path: Path) -> None:
    table = sample_table()
    record = write_table(
        table,
        tmp_path,
        "t/part-00007.parquet",
        table_name="t",
        block=7,
        fmt="parquet",
        compression="auto",
    )
    path = tmp_path / "t" / "part-00007.parquet"
    assert record.path == "t/part-00007.parquet" and record.block == 7 and record.rows == 1000
    assert record.bytes == path.stat().st_size
    assert record.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert not list(tmp_path.rglob("*.inprogress"))


def test_suffixes() -> None:
    assert file_suffix("parquet", "zstd") == ".parquet"
    assert file_suffix("csv", "auto") == ".csv"
    assert file_suffix("csv", "gzip") == ".csv.gz"
    assert file_suffix("jsonl", "zstd") == ".jsonl.zst"
