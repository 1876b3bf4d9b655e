"""Write an object-centric event log in the two OCEL 2.0 forms: JSON and SQLite.

The JSON form (``objectTypes``, ``eventTypes``, ``objects``, ``events``) is assembled column-wise
with Arrow compute, so a log of millions of events needs no Python loop per event. The SQLite
form follows the OCEL 2.0 relational schema: ``event`` and ``object`` (id, type), one
``event_<Type>`` / ``object_<Type>`` table of attributes per type (``event_map_type`` and
``object_map_type`` name them), ``event_object`` and ``object_object`` with qualifiers.
Both are written under a temporary name and renamed into place.
"""

from __future__ import annotations

import hashlib
import os
import re
import sqlite3
import uuid
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from datasynth.sinks.files import FileRecord, json_string, place_bytes

#: attribute name -> OCEL type of the event and object attributes datasynth writes
EVENT_ATTRIBUTES = {"resource": "string", "company_code": "string"}
OBJECT_ATTRIBUTES = {
    "company_code": "string",
    "amount": "float",
    "currency": "string",
    "status": "string",
}
_SQL_TYPES = {"string": "TEXT", "float": "REAL"}


def _json_value(column: pa.ChunkedArray | pa.Array) -> pa.ChunkedArray | pa.Array:
    """JSON text of each value; null stays null (the attribute is then left out)."""
    if pa.types.is_floating(column.type):
        return pc.cast(column, pa.string())
    return json_string(column)


def _attributes(table: pa.Table, names: dict[str, str], time: str | None) -> pa.ChunkedArray:
    """Each row's attribute objects joined by commas; attributes without a value are left
    out rather than written as null (OCEL 2.0 values are strings, numbers or booleans)."""
    stamp = f',"time":"{time}"' if time else ""
    # each present attribute ends in a comma; the row's last comma is cut off afterwards
    # (joining with null_handling="skip" drops rows whose values are all null, so it is not used)
    snippets = [
        pc.fill_null(
            pc.binary_join_element_wise(
                f'{{"name":"{name}"{stamp},"value":', _json_value(table[name]), "},", ""
            ),
            "",
        )
        for name in names
    ]
    joined = pc.binary_join_element_wise(*snippets, "")
    return pc.replace_substring_regex(joined, ",$", "")


def _concat(parts: list[pa.ChunkedArray | pa.Array | str]) -> pa.ChunkedArray | pa.Array:
    return pc.binary_join_element_wise(*parts, "")


def _grouped(
    keys: pa.ChunkedArray, snippets: pa.ChunkedArray | pa.Array, order: pa.ChunkedArray
) -> pa.ChunkedArray | pa.Array:
    """For each value of ``order``, its snippets joined by commas (empty when none)."""
    grouped = (
        pa.table({"k": keys, "s": snippets})
        .group_by("k", use_threads=False)
        .aggregate([("s", "list")])
    )
    joined = pc.binary_join(grouped["s_list"], ",")
    index = pc.index_in(order, value_set=grouped["k"])
    return pc.fill_null(joined.take(index), "")


def _iso(times: pa.ChunkedArray | pa.Array) -> pa.ChunkedArray | pa.Array:
    return pc.strftime(times, format="%Y-%m-%dT%H:%M:%SZ")


def ocel_json(events: pa.Table, links: pa.Table, objects: pa.Table, o2o: pa.Table) -> bytes:
    """The OCEL 2.0 JSON document of the log."""
    import json

    activities = sorted(set(events["activity"].to_pylist()))
    kinds = sorted(set(objects["object_type"].to_pylist()))
    head = {
        "objectTypes": [
            {
                "name": k,
                "attributes": [{"name": n, "type": t} for n, t in OBJECT_ATTRIBUTES.items()],
            }
            for k in kinds
        ],
        "eventTypes": [
            {"name": a, "attributes": [{"name": n, "type": t} for n, t in EVENT_ATTRIBUTES.items()]}
            for a in activities
        ],
    }
    rel = _concat(
        [
            '{"objectId":',
            json_string(links["object_id"]),
            ',"qualifier":',
            json_string(links["qualifier"]),
            "}",
        ]
    )
    event_rel = _grouped(links["event_id"], rel, events["event_id"])
    event_json = _concat(
        [
            '{"id":',
            json_string(events["event_id"]),
            ',"type":',
            json_string(events["activity"]),
            ',"time":"',
            _iso(events["time"]),
            '","attributes":[',
            _attributes(events, EVENT_ATTRIBUTES, None),
            '],"relationships":[',
            event_rel,
            "]}",
        ]
    )
    orel = _concat(
        [
            '{"objectId":',
            json_string(o2o["target_id"]),
            ',"qualifier":',
            json_string(o2o["qualifier"]),
            "}",
        ]
    )
    object_rel = _grouped(o2o["source_id"], orel, objects["object_id"])
    object_json = _concat(
        [
            '{"id":',
            json_string(objects["object_id"]),
            ',"type":',
            json_string(objects["object_type"]),
            ',"attributes":[',
            _attributes(objects, OBJECT_ATTRIBUTES, "1970-01-01T00:00:00Z"),
            '],"relationships":[',
            object_rel,
            "]}",
        ]
    )
    text = json.dumps(head)[:-1]
    body = (
        ',"objects":['
        + ",".join(object_json.to_pylist())
        + '],"events":['
        + ",".join(event_json.to_pylist())
        + "]}"
    )
    return (text + body + "\n").encode("utf-8")


def _map_name(name: str) -> str:
    """``Create purchase order`` -> ``CreatePurchaseOrder`` (a valid SQL table suffix)."""
    return "".join(part[:1].upper() + part[1:] for part in re.split(r"[^0-9A-Za-z]+", name))


def ocel_sqlite(
    path: Path, events: pa.Table, links: pa.Table, objects: pa.Table, o2o: pa.Table
) -> None:
    """Write the log as an OCEL 2.0 SQLite database at ``path`` (which must not exist)."""
    con = sqlite3.connect(path)
    try:
        cur = con.cursor()
        # written once by one task: no rollback journal (nothing to leave behind on a crash)
        cur.execute("PRAGMA journal_mode=OFF")
        cur.execute("CREATE TABLE event (ocel_id TEXT PRIMARY KEY, ocel_type TEXT)")
        cur.execute("CREATE TABLE object (ocel_id TEXT PRIMARY KEY, ocel_type TEXT)")
        cur.execute("CREATE TABLE event_map_type (ocel_type TEXT PRIMARY KEY, ocel_type_map TEXT)")
        cur.execute("CREATE TABLE object_map_type (ocel_type TEXT PRIMARY KEY, ocel_type_map TEXT)")
        cur.execute(
            "CREATE TABLE event_object (ocel_event_id TEXT, ocel_object_id TEXT, "
            "ocel_qualifier TEXT, PRIMARY KEY (ocel_event_id, ocel_object_id, ocel_qualifier))"
        )
        cur.execute(
            "CREATE TABLE object_object (ocel_source_id TEXT, ocel_target_id TEXT, "
            "ocel_qualifier TEXT, PRIMARY KEY (ocel_source_id, ocel_target_id, ocel_qualifier))"
        )
        cur.executemany(
            "INSERT INTO event VALUES (?, ?)",
            zip(events["event_id"].to_pylist(), events["activity"].to_pylist(), strict=True),
        )
        cur.executemany(
            "INSERT INTO object VALUES (?, ?)",
            zip(objects["object_id"].to_pylist(), objects["object_type"].to_pylist(), strict=True),
        )
        times = pc.strftime(events["time"], format="%Y-%m-%d %H:%M:%S")
        ev = events.append_column("ocel_time", times)
        for activity in sorted(set(events["activity"].to_pylist())):
            suffix = _map_name(activity)
            cur.execute("INSERT INTO event_map_type VALUES (?, ?)", (activity, suffix))
            columns = ", ".join(f"{n} {_SQL_TYPES[t]}" for n, t in EVENT_ATTRIBUTES.items())
            cur.execute(
                f'CREATE TABLE "event_{suffix}" (ocel_id TEXT, ocel_time TIMESTAMP, {columns})'
            )
            part = ev.filter(pc.equal(ev["activity"], activity))
            cur.executemany(
                f'INSERT INTO "event_{suffix}" VALUES ({", ".join("?" * (2 + len(EVENT_ATTRIBUTES)))})',
                zip(
                    *(part[c].to_pylist() for c in ("event_id", "ocel_time", *EVENT_ATTRIBUTES)),
                    strict=True,
                ),
            )
        for kind in sorted(set(objects["object_type"].to_pylist())):
            suffix = _map_name(kind)
            cur.execute("INSERT INTO object_map_type VALUES (?, ?)", (kind, suffix))
            columns = ", ".join(f"{n} {_SQL_TYPES[t]}" for n, t in OBJECT_ATTRIBUTES.items())
            cur.execute(
                f'CREATE TABLE "object_{suffix}" (ocel_id TEXT, ocel_time TIMESTAMP, '
                f"ocel_changed_field TEXT, {columns})"
            )
            part = objects.filter(pc.equal(objects["object_type"], kind))
            n = part.num_rows
            cur.executemany(
                f'INSERT INTO "object_{suffix}" VALUES ({", ".join("?" * (3 + len(OBJECT_ATTRIBUTES)))})',
                zip(
                    part["object_id"].to_pylist(),
                    ["1970-01-01 00:00:00"] * n,
                    [None] * n,
                    *(part[c].to_pylist() for c in OBJECT_ATTRIBUTES),
                    strict=True,
                ),
            )
        cur.executemany(
            "INSERT OR IGNORE INTO event_object VALUES (?, ?, ?)",
            zip(
                *(links[c].to_pylist() for c in ("event_id", "object_id", "qualifier")), strict=True
            ),
        )
        cur.executemany(
            "INSERT OR IGNORE INTO object_object VALUES (?, ?, ?)",
            zip(
                *(o2o[c].to_pylist() for c in ("source_id", "target_id", "qualifier")), strict=True
            ),
        )
        con.commit()
    finally:
        con.close()


def write_ocel(
    root: Path,
    formats: tuple[str, ...],
    events: pa.Table,
    links: pa.Table,
    objects: pa.Table,
    o2o: pa.Table,
) -> list[FileRecord]:
    """Write ``process_mining/ocel.json`` and/or ``ocel.sqlite`` atomically; their records."""
    records = []
    if "json" in formats:
        payload = ocel_json(events, links, objects, o2o)
        relative = "process_mining/ocel.json"
        place_bytes(root, relative, payload)
        records.append(_record(relative, events.num_rows, payload))
    if "sqlite" in formats:
        relative = "process_mining/ocel.sqlite"
        target = root / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        temporary = target.with_name(f".{target.name}.{uuid.uuid4().hex[:12]}.inprogress")
        ocel_sqlite(temporary, events, links, objects, o2o)
        payload = temporary.read_bytes()
        os.replace(temporary, target)
        records.append(_record(relative, events.num_rows, payload))
    return records


def _record(relative: str, rows: int, payload: bytes | memoryview) -> FileRecord:
    return FileRecord(
        path=relative,
        table="ocel",
        block=0,
        rows=rows,
        bytes=len(payload),
        sha256=hashlib.sha256(payload).hexdigest(),
    )
