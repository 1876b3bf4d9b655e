"""networkx: tab-separated edge lists (partitioned, any size) and GraphML (whole graphs, up to
``graph_export.graphml_max_edges`` edges, since networkx holds a graph in memory).

Edge-list lines are ``source<TAB>target<TAB>weight`` with the ledger's ids, one folder per
relation; ``networkx.read_edgelist(path, delimiter="\\t", data=[("weight", float)],
create_using=networkx.MultiDiGraph)`` reads a part. GraphML node keys are ``<type>:<id>``.
"""

from __future__ import annotations

import io
from collections.abc import Mapping

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from datasynth.graph_export.tables import APPROVAL, REPORTS_TO, TRANSACTION, endpoints


def _weight(rel: str, table: pa.Table) -> pa.Array:
    for name in ("weight", "amount", "entries", "quantity"):
        if name in table.column_names:
            return pc.cast(table[name].combine_chunks(), pa.float64()).fill_null(0.0)
    return pa.array(np.ones(table.num_rows))


def edge_list(rel: str, table: pa.Table) -> bytes:
    out = io.BytesIO()
    pacsv.write_csv(
        pa.table({"s": table["src"], "d": table["dst"], "w": _weight(rel, table)}),
        out,
        pacsv.WriteOptions(include_header=False, delimiter="\t", quoting_style="none"),
    )
    return out.getvalue()


def _props(table: pa.Table, row_columns: list[str]) -> list[dict[str, object]]:
    """Plain properties per row for GraphML (strings, numbers, booleans; nulls left out)."""
    columns = {}
    for c in row_columns:
        array = table[c].combine_chunks()
        if pa.types.is_dictionary(array.type):
            array = array.cast(array.type.value_type)
        if pa.types.is_date(array.type):
            array = pc.cast(array, pa.string())
        columns[c] = array.to_pylist()
    return [
        {c: v[i] for c, v in columns.items() if v[i] is not None} for i in range(table.num_rows)
    ]


def graphml(graph: str, nodes: Mapping[str, pa.Table], edges: Mapping[str, pa.Table]) -> bytes:
    """One graph (``transaction``, ``approval`` or ``entity``) as GraphML."""
    import networkx as nx

    if graph == "transaction":
        rels = [TRANSACTION]
    elif graph == "approval":
        rels = [APPROVAL, REPORTS_TO]
    else:
        rels = sorted(r for r in edges if r not in (TRANSACTION, APPROVAL))
    kinds = sorted({endpoints(r)[0] for r in rels} | {endpoints(r)[2] for r in rels})
    g = nx.MultiDiGraph(name=f"datasynth {graph} graph")
    for kind in kinds:
        table = nodes[kind]
        keep = [c for c in table.column_names if c != "id" and not c.startswith("f_")]
        ids = table["id"].to_pylist()
        for node_id, props in zip(ids, _props(table, keep), strict=True):
            g.add_node(f"{kind}:{node_id}", node_type=kind, ledger_id=node_id, **props)
    for rel in rels:
        table = edges[rel]
        src, name, dst = endpoints(rel)
        keep = [c for c in table.column_names if c not in ("src", "dst") and not c.startswith("f_")]
        for s, d, props in zip(
            table["src"].to_pylist(), table["dst"].to_pylist(), _props(table, keep), strict=True
        ):
            g.add_edge(f"{src}:{s}", f"{dst}:{d}", relation=name, **props)
    out = io.BytesIO()
    nx.write_graphml(g, out)
    return out.getvalue()
