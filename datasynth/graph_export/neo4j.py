"""The ``neo4j-admin database import`` layout: per node label and relationship type a folder
with a ``header.csv`` and many ``part-*.csv`` files without header.

Headers follow the import tool's rules: ``id:ID(<Label>)`` for node ids in one id space per
label, ``:START_ID(<Label>)`` / ``:END_ID(<Label>)`` for relationship ends, typed properties
(``:long``, ``:double``, ``:boolean``, ``:date``, strings untyped), the node features as one
``features:float[]`` array (``;`` between values), and ``:LABEL`` / ``:TYPE`` columns.
"""

from __future__ import annotations

import io

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from datasynth.graph_export.tables import endpoints

#: node type -> Neo4j label
LABELS = {
    "journal_entry": "JournalEntry",
    "account": "Account",
    "company": "Company",
    "user": "User",
    "vendor": "Vendor",
    "customer": "Customer",
    "material": "Material",
    "fixed_asset": "FixedAsset",
    "document": "Document",
}
ARRAY_DELIMITER = ";"


def rel_type(rel: str) -> str:
    return endpoints(rel)[1].upper()


def rel_folder(rel: str) -> str:
    """``relationships/<SourceLabel>_<TYPE>_<TargetLabel>``."""
    src, _, dst = endpoints(rel)
    return f"{LABELS[src]}_{rel_type(rel)}_{LABELS[dst]}"


def _type_suffix(field: pa.Field) -> str:
    t = field.type
    if pa.types.is_dictionary(t):
        t = t.value_type
    if pa.types.is_boolean(t):
        return ":boolean"
    if pa.types.is_integer(t):
        return ":long"
    if pa.types.is_floating(t) or pa.types.is_decimal(t):
        return ":double"
    if pa.types.is_date(t):
        return ":date"
    return ""


def _properties(table: pa.Table) -> list[str]:
    return [
        c for c in table.column_names if c not in ("id", "src", "dst") and not c.startswith("f_")
    ]


def _features(table: pa.Table) -> list[str]:
    return [c for c in table.column_names if c.startswith("f_")]


def node_header(node_type: str, schema: pa.Schema) -> str:
    label = LABELS[node_type]
    names = [f"id:ID({label})"]
    names += [
        f"{f.name}{_type_suffix(f)}" for f in schema if f.name in _properties(schema.empty_table())
    ]
    if any(n.startswith("f_") for n in schema.names):
        names.append("features:float[]")
    names.append(":LABEL")
    return ",".join(names) + "\n"


def edge_header(rel: str, schema: pa.Schema) -> str:
    src, _, dst = endpoints(rel)
    names = [f":START_ID({LABELS[src]})", f":END_ID({LABELS[dst]})"]
    names += [
        f"{f.name}{_type_suffix(f)}" for f in schema if f.name in _properties(schema.empty_table())
    ]
    if any(n.startswith("f_") for n in schema.names):
        names.append("features:float[]")
    names.append(":TYPE")
    return ",".join(names) + "\n"


def _plain(column: pa.ChunkedArray) -> pa.Array:
    array = column.combine_chunks()
    if pa.types.is_dictionary(array.type):
        array = array.cast(array.type.value_type)
    if pa.types.is_decimal(array.type):
        array = pc.cast(array, pa.float64())
    return array


def _feature_text(table: pa.Table) -> pa.Array:
    names = _features(table)
    texts = [pc.cast(table[n].combine_chunks(), pa.string()) for n in names]
    return pc.binary_join_element_wise(*texts, ARRAY_DELIMITER)


def csv_rows(table: pa.Table, key_columns: list[str], constant: str) -> bytes:
    """The rows of a node or edge table in the column order of its header, no header line."""
    columns = [_plain(table[c]) for c in key_columns]
    columns += [_plain(table[c]) for c in _properties(table)]
    if _features(table):
        columns.append(_feature_text(table))
    columns.append(pa.repeat(pa.scalar(constant), table.num_rows))
    names = [f"c{i}" for i in range(len(columns))]
    out = io.BytesIO()
    pacsv.write_csv(
        pa.Table.from_arrays(columns, names=names),
        out,
        pacsv.WriteOptions(include_header=False, quoting_style="needed"),
    )
    return out.getvalue()


def node_rows(node_type: str, table: pa.Table) -> bytes:
    return csv_rows(table, ["id"], LABELS[node_type])


def edge_rows(rel: str, table: pa.Table) -> bytes:
    return csv_rows(table, ["src", "dst"], rel_type(rel))


def import_command(database: str, nodes: list[str], relationships: list[str]) -> str:
    """The import command for the folders present (paths relative to ``graphs/neo4j``)."""
    lines = [f"neo4j-admin database import full {database} \\"]
    lines += ["  --id-type=string \\", f"  --array-delimiter='{ARRAY_DELIMITER}' \\"]
    # quoted, so that the shell passes the regular expressions on untouched
    for folder in nodes:
        lines.append(f"  --nodes='nodes/{folder}/header.csv,nodes/{folder}/part-.*\\.csv' \\")
    for folder in relationships:
        lines.append(
            f"  --relationships='relationships/{folder}/header.csv,"
            f"relationships/{folder}/part-.*\\.csv' \\"
        )
    lines[-1] = lines[-1].removesuffix(" \\")
    return "\n".join(lines) + "\n"


def readme(command: str, counts: dict[str, int]) -> str:
    listing = "\n".join(f"| `{k}` | {v:,} |" for k, v in sorted(counts.items()))
    return f"""# Neo4j bulk import

Files for `neo4j-admin database import` (Neo4j 5 and 2025+), written by datasynth. Each node
label and relationship type has a folder with `header.csv` (the column names and types) and
`part-*.csv` files without header (one per journal-entry block, `part-master` for master data,
`part-close-<company>` for a company's close entries, `part-all` for sums over the whole dataset).

Node ids live in one id space per label (`id:ID(Vendor)`); relationship files name the spaces
of their ends (`:START_ID(JournalEntry)`, `:END_ID(Account)`). Node features are one
`features:float[]` property with `;` between values; the feature names are in
`../pyg/metadata.json`.

Import into a new, empty database (run from this folder; the `part-.*\\.csv` patterns are
regular expressions, the import tool's default `--path-pattern-style`):

```
{command}```

Then `CREATE DATABASE datasynth` (or set it as the default database) and start Neo4j.

| folder | rows |
|---|---|
{listing}
"""
