"""The graph-export stage: Dask tasks that turn a written dataset into ``graphs/``.

One task per journal-entry block (and one for the close entries) reads that block's journal,
flow and label files and writes its partition of every node and edge table
(``graphs/tables``), of the Neo4j import files and of the edge lists, so memory per task is
bounded by the block. One task writes the master-data nodes. A last task sums the approvals,
writes the Neo4j headers and README, and builds the in-memory formats (PyTorch Geometric,
GraphML) from the partitioned tables.

It runs as a stage of generation (``graph_export.enabled: true``) or alone over a finished run
(``datasynth export-graph OUTPUT_DIR``), with the same files either way.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from datasynth.config.errors import ConfigError
from datasynth.config.models import GRAPH_FORMATS, DatasynthConfig
from datasynth.generators.anomalies import LABEL_SCHEMA
from datasynth.generators.chart_of_accounts import SCHEMA as CHART_SCHEMA
from datasynth.generators.document_flows import FLOW_SCHEMAS
from datasynth.generators.journal_entries import SCHEMA as JOURNAL_SCHEMA
from datasynth.generators.master import COMPANY_SCHEMA, USER_SCHEMA
from datasynth.generators.materials import ASSET_SCHEMA, MATERIAL_SCHEMA
from datasynth.generators.partners import CUSTOMER_SCHEMA, VENDOR_SCHEMA
from datasynth.graph_export import neo4j
from datasynth.graph_export.nx import edge_list, graphml
from datasynth.graph_export.pyg import GraphExportError
from datasynth.graph_export.tables import (
    APPROVAL,
    DOCUMENT_TYPES,
    MASTER_NODES,
    REPORTS_TO,
    TRANSACTION,
    Part,
    combine_approvals,
    combine_periods,
    journal_part,
    master_part,
    period_sums,
)
from datasynth.sinks.files import FileRecord, file_suffix, place_bytes, read_table

GRAPHS = "graphs"
#: manifest table names of the graph files
TABLES, NEO4J, PYG, NETWORKX = "graph_tables", "graph_neo4j", "graph_pyg", "graph_networkx"
GRAPH_TABLES = (TABLES, NEO4J, PYG, NETWORKX)
_PERIOD = re.compile(r"fiscal_year=(\d{4})/fiscal_period=(\d{2})/")
_MASTER_SCHEMAS = {
    "chart_of_accounts": CHART_SCHEMA,
    "companies": COMPANY_SCHEMA,
    "users": USER_SCHEMA,
    "vendors": VENDOR_SCHEMA,
    "customers": CUSTOMER_SCHEMA,
    "materials": MATERIAL_SCHEMA,
    "fixed_assets": ASSET_SCHEMA,
}
_FILE_SCHEMA = pa.schema(
    [f for f in JOURNAL_SCHEMA if f.name not in ("fiscal_year", "fiscal_period")]
)


def _read(path: Path, schema: pa.Schema, fmt: str) -> pa.Table:
    if fmt == "parquet":
        return pq.read_table(path)
    return read_table(path, schema, fmt)


def _suffix(config: DatasynthConfig) -> str:
    return file_suffix(config.output.format, config.output.compression)


def read_journal(config: DatasynthConfig, root: Path, stem: str) -> pa.Table:
    """Every journal file named ``stem`` (a block's files in each period it posts in, or the
    close entries), in path order, with its fiscal year and period."""
    suffix = _suffix(config)
    parts = []
    for path in sorted(
        (root / "journal_entries").glob(f"fiscal_year=*/fiscal_period=*/{stem}{suffix}")
    ):
        table = _read(path, _FILE_SCHEMA, config.output.format)
        table = table.select(
            [n for n in table.column_names if n not in ("fiscal_year", "fiscal_period")]
        )
        match = _PERIOD.search(path.relative_to(root).as_posix() + "/")
        if match is None:  # pragma: no cover - the glob above guarantees the folders
            raise ValueError(f"not a period folder: {path}")
        year, period = int(match.group(1)), int(match.group(2))
        n = table.num_rows
        table = table.append_column("fiscal_year", pa.array(np.full(n, year, np.int32)))
        table = table.append_column("fiscal_period", pa.array(np.full(n, period, np.int32)))
        parts.append(table)
    if not parts:
        return JOURNAL_SCHEMA.empty_table()
    return pa.concat_tables(parts, promote_options="permissive")


def _optional(path: Path, schema: pa.Schema, fmt: str) -> pa.Table | None:
    return _read(path, schema, fmt) if path.is_file() else None


#: master columns added after datasets were first written: a text file without them is read
#: without them (Parquet files are read as they are)
_LATER_COLUMNS = {"users": ("reports_to",)}


def read_master(config: DatasynthConfig, root: Path) -> dict[str, pa.Table]:
    suffix = _suffix(config)
    out = {}
    for name, schema in _MASTER_SCHEMAS.items():
        path = root / "master_data" / f"{name}{suffix}"
        try:
            out[name] = _read(path, schema, config.output.format)
        except (KeyError, pa.ArrowInvalid):
            later = _LATER_COLUMNS.get(name, ())
            if not later:
                raise
            older = pa.schema([f for f in schema if f.name not in later])
            out[name] = _read(path, older, config.output.format)
    return out


def check_master_ids(part: Part, master: dict[str, pa.Array], stem: str) -> None:
    """Every edge of a block that ends at a master record names an existing one (the export
    stops, naming the relation, before writing a dangling relationship in any format)."""
    for rel, table in part.edges.items():
        src, _, dst = rel.split("__")
        for kind, column in ((src, "src"), (dst, "dst")):
            if kind not in master or not table.num_rows:
                continue
            missing = pc.invert(pc.is_in(table[column], value_set=master[kind]))
            if pc.any(missing).as_py():
                bad = table[column].filter(missing)
                raise GraphExportError(
                    f"{rel} {'source' if column == 'src' else 'target'} in partition {stem}: "
                    f"{len(bad)} ids name no {kind} in master_data "
                    f"(e.g. {pc.unique(bad).slice(0, 3).to_pylist()})"
                )


def read_labels(config: DatasynthConfig, root: Path) -> pa.Table | None:
    folder = root / "labels" / "anomaly_labels"
    files = sorted(folder.glob(f"part-*{_suffix(config)}")) if folder.is_dir() else []
    tables = [_read(p, LABEL_SCHEMA, config.output.format) for p in files]
    return pa.concat_tables(tables) if tables else None


class _Writer:
    """Places files under ``graphs/`` and keeps their manifest records."""

    def __init__(self, root: Path, block: int) -> None:
        self.root = root
        self.block = block
        self.records: list[dict[str, Any]] = []

    def put(self, relative: str, payload: bytes, table: str, rows: int) -> None:
        path = f"{GRAPHS}/{relative}"
        place_bytes(self.root, path, payload)
        self.records.append(
            FileRecord(
                path=path,
                table=table,
                block=self.block,
                rows=rows,
                bytes=len(payload),
                sha256=hashlib.sha256(payload).hexdigest(),
            ).to_json()
        )


def _parquet_bytes(table: pa.Table) -> bytes:
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink, compression="zstd", row_group_size=1 << 20)
    return bytes(sink.getvalue())


def _write_part(config: DatasynthConfig, writer: _Writer, stem: str, part: Part) -> None:
    formats = config.graph_export.formats
    for kind, table in sorted(part.nodes.items()):
        writer.put(
            f"tables/nodes/{kind}/{stem}.parquet", _parquet_bytes(table), TABLES, table.num_rows
        )
        if "neo4j" in formats and table.num_rows:
            folder = neo4j.LABELS[kind]
            writer.put(
                f"neo4j/nodes/{folder}/{stem}.csv",
                neo4j.node_rows(kind, table),
                NEO4J,
                table.num_rows,
            )
    for rel, table in sorted(part.edges.items()):
        writer.put(
            f"tables/edges/{rel}/{stem}.parquet", _parquet_bytes(table), TABLES, table.num_rows
        )
        if not table.num_rows:
            continue
        if "neo4j" in formats:
            writer.put(
                f"neo4j/relationships/{neo4j.rel_folder(rel)}/{stem}.csv",
                neo4j.edge_rows(rel, table),
                NEO4J,
                table.num_rows,
            )
        if "networkx" in formats:
            writer.put(
                f"networkx/edgelists/{rel}/{stem}.tsv",
                edge_list(rel, table),
                NETWORKX,
                table.num_rows,
            )


def export_block(
    config: DatasynthConfig, root: str, stem: str, block: int, *_after: Any
) -> dict[str, Any]:
    """Write the graph partition of one journal-entry block (``stem``: its file name) or of
    the close entries; returns its file records and its approval sums."""
    path = Path(root)
    fmt = config.output.format
    suffix = _suffix(config)
    journal = read_journal(config, path, stem)
    entity = "entity" in config.graph_export.graphs
    # labels name entry nodes and the flows make document nodes: the entity graph's
    labels_path = path / "labels" / "anomaly_labels" / f"{stem}{suffix}"
    labels = _optional(labels_path, LABEL_SCHEMA, fmt) if entity else None
    flows = {}
    for name in (*DOCUMENT_TYPES, "document_references") if entity else ():
        table = _optional(
            path / "document_flows" / name / f"{stem}{suffix}", FLOW_SCHEMAS[name], fmt
        )
        if table is not None:
            flows[name] = table
    master = read_master(config, path)
    ids = {
        kind: master[table][column].combine_chunks()
        for kind, (table, column) in MASTER_NODES.items()
    }
    graphs = config.graph_export.graphs
    part = journal_part(journal, labels, flows, ids, graphs)
    check_master_ids(part, ids, stem)
    approvals = part.edges.pop(APPROVAL, None)
    transactions = None
    if TRANSACTION in part.edges and config.graph_export.transaction_edges == "period":
        transactions = period_sums(part.edges.pop(TRANSACTION))
    writer = _Writer(path, block)
    # every partition is named part-*: a company's close entries' is part-close-CODE
    _write_part(config, writer, stem if stem.startswith("part-") else f"part-{stem}", part)
    return {
        "files": writer.records,
        "rows": journal.num_rows,
        "approvals": approvals,
        "transactions": transactions,
        "peak_rss": peak_rss(),
    }


def export_master(config: DatasynthConfig, root: str, *_after: Any) -> dict[str, Any]:
    path = Path(root)
    master = read_master(config, path)
    part = master_part(master, read_labels(config, path), config.graph_export.graphs)
    ids = {kind: master[t][c].combine_chunks() for kind, (t, c) in MASTER_NODES.items()}
    check_master_ids(part, ids, "part-master")
    writer = _Writer(path, -1)
    _write_part(config, writer, "part-master", part)
    return {"files": writer.records, "rows": 0, "peak_rss": peak_rss()}


class _Lazy(Mapping[str, pa.Table]):
    """The partitioned tables of ``folder`` by name, read whole only when indexed (and then
    kept); schemas and row counts come from the Parquet footers."""

    def __init__(self, folder: Path, names: list[str]) -> None:
        self.folder = folder
        self.names = names
        self.cache: dict[str, pa.Table] = {}

    def _files(self, name: str) -> list[Path]:
        return sorted((self.folder / name).glob("*.parquet"))

    def rows(self, name: str) -> int:
        return sum(pq.ParquetFile(f).metadata.num_rows for f in self._files(name))

    def schema(self, name: str) -> pa.Schema:
        return pq.read_schema(self._files(name)[0])

    def __getitem__(self, name: str) -> pa.Table:
        if name not in self.names:
            raise KeyError(name)
        if name not in self.cache:
            tables = [pq.read_table(f) for f in self._files(name)]
            self.cache[name] = pa.concat_tables(tables, promote_options="permissive")
        return self.cache[name]

    def __contains__(self, name: object) -> bool:
        return name in self.names

    def __iter__(self) -> Iterator[str]:
        return iter(self.names)

    def __len__(self) -> int:
        return len(self.names)


def export_finish(config: DatasynthConfig, root: str, *results: dict[str, Any]) -> dict[str, Any]:
    """Approval sums, Neo4j headers and README, PyTorch Geometric and GraphML files."""
    path = Path(root)
    g = config.graph_export
    writer = _Writer(path, -1)
    if "approval" in g.graphs:
        parts = [r["approvals"] for r in results if r.get("approvals") is not None]
        _write_part(config, writer, "part-all", Part({}, {APPROVAL: combine_approvals(parts)}))
    if "transaction" in g.graphs and g.transaction_edges == "period":
        parts = [r["transactions"] for r in results if r.get("transactions") is not None]
        _write_part(config, writer, "part-all", Part({}, {TRANSACTION: combine_periods(parts)}))
    base = path / GRAPHS / "tables"
    node_kinds = (
        sorted(p.name for p in (base / "nodes").iterdir()) if (base / "nodes").is_dir() else []
    )
    relations = (
        sorted(p.name for p in (base / "edges").iterdir()) if (base / "edges").is_dir() else []
    )
    # tables are read only by the formats that need them whole (PyG, GraphML within its
    # limit): the Neo4j headers and the counts come from the Parquet footers
    nodes = _Lazy(base / "nodes", node_kinds)
    edges = _Lazy(base / "edges", relations)
    counts: dict[str, int] = {}
    if "neo4j" in g.formats:
        node_folders, rel_folders = [], []
        for kind in node_kinds:
            folder = neo4j.LABELS[kind]
            counts[f"nodes/{folder}"] = nodes.rows(kind)
            if nodes.rows(kind):
                node_folders.append(folder)
                text = neo4j.node_header(kind, nodes.schema(kind)).encode()
                writer.put(f"neo4j/nodes/{folder}/header.csv", text, NEO4J, 0)
        for rel in relations:
            folder = neo4j.rel_folder(rel)
            counts[f"relationships/{folder}"] = edges.rows(rel)
            if edges.rows(rel):
                rel_folders.append(folder)
                text = neo4j.edge_header(rel, edges.schema(rel)).encode()
                writer.put(f"neo4j/relationships/{folder}/header.csv", text, NEO4J, 0)
        command = neo4j.import_command("datasynth", node_folders, rel_folders)
        writer.put(
            "neo4j/import.sh",
            ('#!/bin/sh\nset -e\ncd "$(dirname "$0")"\n' + command).encode(),
            NEO4J,
            0,
        )
        writer.put("neo4j/README.md", neo4j.readme(command, counts).encode(), NEO4J, 0)
    metadata: dict[str, Any] = {
        "nodes": {k: nodes.rows(k) for k in node_kinds},
        "edges": {r: edges.rows(r) for r in relations},
    }
    if "pyg" in g.formats:
        from datasynth.graph_export.pyg import build_pyg

        # only the tables the chosen graphs use are read
        want_nodes, want_edges = set(), set()
        if "entity" in g.graphs:
            want_nodes |= set(node_kinds)
            want_edges |= {r for r in relations if r not in (TRANSACTION, APPROVAL)}
        if "transaction" in g.graphs:
            want_nodes.add("account")
            want_edges.add(TRANSACTION)
        if "approval" in g.graphs:
            want_nodes.add("user")
            want_edges |= {APPROVAL, REPORTS_TO}
        built = build_pyg(
            {k: nodes[k] for k in node_kinds if k in want_nodes},
            {r: edges[r] for r in relations if r in want_edges},
            g.graphs,
            g.split,
            config.global_.seed,
        )
        for name, payload in sorted(built.files.items()):
            writer.put(f"pyg/{name}", payload, PYG, 0)
        metadata.update(built.metadata)
        writer.put("pyg/metadata.json", (json.dumps(metadata, indent=2) + "\n").encode(), PYG, 0)
    if "networkx" in g.formats:
        skipped = []
        for graph in g.graphs:
            size = _graph_edges(graph, edges)
            if size <= g.graphml_max_edges:
                writer.put(
                    f"networkx/{graph}_graph.graphml", graphml(graph, nodes, edges), NETWORKX, size
                )
            else:
                skipped.append(
                    f"{graph} ({size:,} edges > graphml_max_edges {g.graphml_max_edges:,})"
                )
        metadata["graphml_skipped"] = skipped
    writer.put("metadata.json", (json.dumps(metadata, indent=2) + "\n").encode(), TABLES, 0)
    return {"files": writer.records, "rows": 0, "peak_rss": peak_rss()}


def _graph_edges(graph: str, edges: _Lazy) -> int:

    if graph == "transaction":
        return edges.rows(TRANSACTION) if TRANSACTION in edges else 0
    if graph == "approval":
        return sum(edges.rows(r) for r in (APPROVAL, REPORTS_TO) if r in edges)
    return sum(edges.rows(r) for r in edges if r not in (TRANSACTION, APPROVAL))


def add_stage(
    graph: dict[Any, Any],
    token: str,
    config: DatasynthConfig,
    root: str,
    stems: list[tuple[str, int, list[Any]]],
    master_after: list[Any],
) -> str:
    """Add the stage's tasks to ``graph``; ``stems``: (file stem, block, keys it waits for) per
    partition. Returns the key of the last task (its result holds the last file records)."""
    keys = []
    for stem, block, after in stems:
        key = (f"graph-export-{token}", stem)
        graph[key] = (export_block, config, root, stem, block, *after)
        keys.append(key)
    master_key = f"graph-export-master-{token}"
    graph[master_key] = (export_master, config, root, *master_after)
    finish_key = f"graph-export-finish-{token}"
    graph[finish_key] = (export_finish, config, root, master_key, *keys)
    collect_key = f"graph-export-{token}"
    graph[collect_key] = (_collect, master_key, finish_key, *keys)
    return collect_key


def _collect(*results: dict[str, Any]) -> dict[str, Any]:
    return {
        "files": [f for r in results for f in r["files"]],
        "rows": 0,
        # the largest peak of the processes that ran a task of the stage
        "peak_rss": max(int(r.get("peak_rss", 0)) for r in results),
    }


def peak_rss() -> int:
    """Peak resident memory of this process in bytes (Linux reports KiB)."""
    import resource

    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) * 1024


def block_stems(config: DatasynthConfig, width: int, blocks: list[int]) -> list[tuple[str, int]]:
    """The file stems of the journal blocks and, with balances, of the close entries."""
    from datasynth.runtime.balances import close_stems

    stems = [(f"part-{i:0{width}d}", i) for i in blocks]
    return [*stems, *close_stems(config)] if config.balances.enabled else stems


def export_graph(output_dir: str, formats: tuple[str, ...] | None = None) -> dict[str, Any]:
    """Build ``graphs/`` for a finished run in ``output_dir`` and add it to its manifest."""
    from datasynth.runtime.output import finished_run, replace_in_manifest
    from datasynth.runtime.plan import build_plan

    root, manifest, config = finished_run(output_dir)
    chosen = formats or config.graph_export.formats
    unknown = sorted(set(chosen) - set(GRAPH_FORMATS))
    if unknown or not chosen:
        raise ConfigError(
            [f"formats: {unknown or 'nothing'} given; allowed: {', '.join(GRAPH_FORMATS)}"]
        )
    if "pyg" in chosen:
        require_torch()
    export = config.graph_export.model_copy(
        update={"enabled": True, "formats": tuple(sorted(set(chosen)))}
    )
    config = config.model_copy(update={"graph_export": export})
    plan = build_plan(config)
    width = max(5, len(str(max(len(plan.blocks) - 1, 0))))
    shutil.rmtree(root / GRAPHS, ignore_errors=True)
    graph: dict[Any, Any] = {}
    stems = block_stems(config, width, [b.index for b in plan.blocks])
    key = add_stage(graph, "standalone", config, str(root), [(s, b, []) for s, b in stems], [])
    try:
        result = _run(config, graph, key)
    except BaseException:
        # no half-built graphs: the folder goes, and the manifest no longer lists it
        shutil.rmtree(root / GRAPHS, ignore_errors=True)
        replace_in_manifest(root, manifest, GRAPH_TABLES, [])
        raise
    replace_in_manifest(root, manifest, GRAPH_TABLES, result["files"])
    return result


def _run(config: DatasynthConfig, graph: dict[Any, Any], key: str) -> dict[str, Any]:
    rt = config.runtime
    if rt.scheduler == "synchronous":
        from dask.local import get_sync

        return get_sync(graph, key)  # type: ignore[no-any-return]
    if rt.scheduler == "threads":
        from dask.threaded import get as threaded_get

        return threaded_get(graph, key, num_workers=rt.workers)  # type: ignore[no-any-return]
    from dask.multiprocessing import get as process_get

    return process_get(graph, key, num_workers=rt.workers)  # type: ignore[no-any-return]


def require_torch() -> None:
    try:
        import torch  # noqa: F401
        import torch_geometric  # noqa: F401
    except ImportError:
        raise ConfigError(
            [
                "graph_export.formats: pyg needs torch and torch_geometric; install the graph "
                "extra (pip install 'datasynth[graph]' torch==2.13.0) or leave pyg out"
            ]
        ) from None
