"""Write one Arrow table to one file, atomically, and describe what was written.

The bytes are produced in memory, hashed, written under a temporary name in the target
directory and renamed into place, so a crash never leaves a half-written file under a final
name. Parquet uses the settings measured fastest here: zstd, dictionary encoding and statistics
only where they pay, decimals stored as integers. CSV and JSON Lines carry the same columns,
with amounts as plain decimal strings (``1234.50``).
"""

from __future__ import annotations

import gzip
import hashlib
import os
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq


@dataclass(frozen=True)
class FileRecord:
    """What the manifest keeps of one written file (path relative to the output directory)."""

    path: str
    table: str
    block: int
    rows: int
    bytes: int
    sha256: str

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def file_suffix(fmt: str, compression: str) -> str:
    """``.parquet``, ``.csv``, ``.csv.gz``, ``.jsonl.zst`` ... for a format and codec."""
    if fmt == "parquet":
        return ".parquet"
    ext = {"csv": ".csv", "jsonl": ".jsonl"}[fmt]
    return ext + {"auto": "", "none": "", "gzip": ".gz", "zstd": ".zst"}[compression]


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def place_bytes(root: Path, relative: str, payload: bytes | memoryview) -> Path:
    """Write ``payload`` to ``root / relative`` under a temporary name, then rename it."""
    target = root / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    # a unique temporary name: a task retried by the scheduler never collides with itself
    temporary = target.with_name(f".{target.name}.{uuid.uuid4().hex[:12]}.inprogress")
    with temporary.open("wb") as fh:
        fh.write(payload)
    os.replace(temporary, target)
    return target


def read_table(path: Path, schema: pa.Schema, fmt: str) -> pa.Table:
    """A file written by :func:`write_table` read back with its declared ``schema``
    (compressed text files are recognised by their extension)."""
    if fmt == "parquet":
        return pq.read_table(path, schema=schema)
    import pyarrow.json as pajson

    with pa.input_stream(str(path), compression="detect") as stream:
        data = stream.read()
    if not data:
        return schema.empty_table()
    if fmt == "csv":
        types = {f.name: f.type for f in schema}
        table = pacsv.read_csv(
            pa.py_buffer(data),
            convert_options=pacsv.ConvertOptions(
                column_types=types, strings_can_be_null=True, quoted_strings_can_be_null=False
            ),
        )
    else:
        as_text = pa.schema(
            [
                pa.field(f.name, pa.string())
                if pa.types.is_decimal(f.type)
                or pa.types.is_temporal(f.type)
                or pa.types.is_dictionary(f.type)
                else f
                for f in schema
            ]
        )
        table = pajson.read_json(
            pa.py_buffer(data), parse_options=pajson.ParseOptions(explicit_schema=as_text)
        )
    return table.select(schema.names).cast(schema)


def write_table(
    table: pa.Table,
    root: Path,
    relative: str,
    *,
    table_name: str,
    block: int,
    fmt: str,
    compression: str,
    compression_level: int | None = None,
) -> FileRecord:
    """Serialise ``table`` and place it at ``root / relative`` atomically."""
    payload = serialise(table, fmt, compression, compression_level)
    place_bytes(root, relative, payload)
    return FileRecord(
        path=relative,
        table=table_name,
        block=block,
        rows=table.num_rows,
        bytes=len(payload),
        sha256=hashlib.sha256(payload).hexdigest(),
    )


def serialise(
    table: pa.Table, fmt: str, compression: str, level: int | None = None
) -> bytes | memoryview:
    """The bytes of ``table`` in ``fmt`` (parquet, csv, jsonl) with ``compression``.

    Arrow-produced payloads come back as a zero-copy view of Arrow's buffer.
    """
    if fmt == "parquet":
        return _parquet_bytes(table, compression, level)
    text = _csv_bytes(table) if fmt == "csv" else _jsonl_bytes(table)
    if compression == "gzip":
        return gzip.compress(text, compresslevel=level or 6, mtime=0)
    if compression == "zstd":
        # one standard zstd frame, readable by the zstd tool, DuckDB and pyarrow
        codec = pa.Codec("zstd", compression_level=level or 3)
        return memoryview(codec.compress(text))
    return text


def _parquet_bytes(table: pa.Table, compression: str, level: int | None) -> memoryview:
    codec = "zstd" if compression == "auto" else compression
    # dictionary columns keep dictionary encoding; high-cardinality strings (ids) do not
    dictionary = [f.name for f in table.schema if pa.types.is_dictionary(f.type)]
    statistics = [
        f.name
        for f in table.schema
        if not pa.types.is_dictionary(f.type) and not pa.types.is_string(f.type)
    ]
    sink = pa.BufferOutputStream()
    pq.write_table(
        table,
        sink,
        compression=codec,
        compression_level=level,
        use_dictionary=dictionary,
        write_statistics=statistics,
        store_decimal_as_integer=True,
        row_group_size=1 << 20,
    )
    return memoryview(sink.getvalue())


def _plain(table: pa.Table) -> pa.Table:
    """Dictionary columns decoded, decimals and dates as text the way CSV/JSON readers expect."""
    arrays = []
    for column in table.columns:
        if pa.types.is_dictionary(column.type):
            column = column.cast(column.type.value_type)
        arrays.append(column)
    return pa.Table.from_arrays(arrays, names=table.column_names)


def _csv_bytes(table: pa.Table) -> bytes:
    plain = _plain(table)
    arrays = []
    for column in plain.columns:
        if pa.types.is_timestamp(column.type):
            column = pc.strftime(column, format="%Y-%m-%dT%H:%M:%S")
        arrays.append(column)
    plain = pa.Table.from_arrays(arrays, names=plain.column_names)
    sink = pa.BufferOutputStream()
    pacsv.write_csv(plain, sink, pacsv.WriteOptions(include_header=True, quoting_style="needed"))
    return bytes(sink.getvalue())


def json_string(column: pa.ChunkedArray | pa.Array) -> pa.ChunkedArray | pa.Array:
    text = column.cast(pa.string()) if not pa.types.is_string(column.type) else column
    text = pc.replace_substring(text, "\\", "\\\\")
    text = pc.replace_substring(text, '"', '\\"')
    text = pc.replace_substring_regex(text, "[\\x00-\\x1f]", " ")
    return pc.binary_join_element_wise('"', text, '"', "")


#: rows per JSON Lines slice: keeps each slice's string data well below Arrow's 2 GiB offsets
JSONL_SLICE_ROWS = 250_000


def _jsonl_bytes(table: pa.Table) -> bytes:
    """JSON Lines built column-wise with Arrow compute (no Python loop per row)."""
    plain = _plain(table)
    return b"".join(
        _jsonl_slice(plain.slice(start, JSONL_SLICE_ROWS))
        for start in range(0, plain.num_rows, JSONL_SLICE_ROWS)
    )


def _jsonl_slice(plain: pa.Table) -> bytes:
    pieces: list[Any] = []
    for i, (name, column) in enumerate(zip(plain.column_names, plain.columns, strict=True)):
        t = column.type
        if pa.types.is_boolean(t):
            value = pc.if_else(column, "true", "false")
        elif pa.types.is_integer(t) or pa.types.is_floating(t):
            value = column.cast(pa.string())
        elif pa.types.is_decimal(t):
            value = json_string(column)
        elif pa.types.is_timestamp(t):
            value = json_string(pc.strftime(column, format="%Y-%m-%dT%H:%M:%S"))
        else:
            value = json_string(column)
        value = pc.fill_null(value, "null")
        pieces.append(("{" if i == 0 else ",") + f'"{name}":')
        pieces.append(value)
    pieces.append("}\n")
    lines = pc.binary_join_element_wise(*pieces, "")
    if isinstance(lines, pa.ChunkedArray):
        lines = lines.combine_chunks()
    # every line ends in a newline, so the file is the string data buffer as it stands
    offsets = np.frombuffer(lines.buffers()[1], dtype=np.int32)
    first, last = offsets[lines.offset], offsets[lines.offset + len(lines)]
    return bytes(memoryview(lines.buffers()[2])[first:last])
