"""PyTorch Geometric objects from the partitioned node and edge tables.

``entity_graph.pt`` is a ``HeteroData`` (node types and relations of ``tables``),
``transaction_graph.pt`` a ``Data`` over accounts with one edge per entry and debit x credit
account pair (or per company, fiscal period and pair),
``approval_graph.pt`` a ``Data`` over users with approval and reporting edges. Node ids are
contiguous per type in the order of the partitions; ``mapping/<type>.parquet`` maps them back to
the ledger's ids. torch and torch_geometric are imported only here (the ``graph`` extra).
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from datasynth.config.models import SPLIT_STRATEGIES, GraphSplitConfig
from datasynth.core.seeding import stream
from datasynth.graph_export.tables import (
    ANOMALY_TYPE_NAMES,
    APPROVAL,
    REPORTS_TO,
    TRANSACTION,
    endpoints,
    feature_columns,
)

Masks = tuple[np.ndarray, np.ndarray, np.ndarray]


class GraphExportError(ValueError):
    """The written dataset does not make a consistent graph (a dangling id, a duplicate)."""


@dataclass
class Built:
    """What was built: the files' bytes (relative path -> payload) and the metadata."""

    files: dict[str, bytes] = field(default_factory=dict)
    metadata: dict[str, Any] = field(default_factory=dict)


def split_masks(
    n: int, label: np.ndarray, days: np.ndarray, split: GraphSplitConfig, seed: int, unit: str
) -> dict[str, Masks]:
    """Train / val / test masks of ``n`` labelled units for every strategy: disjoint, covering.

    random: a seeded permutation cut at the shares; stratified: the same within each label
    value; temporal: in posting order, cut at the shares and moved back to a day boundary (every
    unit of one day in one split, later days in later splits)."""
    out: dict[str, Masks] = {}

    def cut(order: np.ndarray, bounds: tuple[int, int]) -> Masks:
        train, val, test = (np.zeros(n, dtype=bool) for _ in range(3))
        train[order[: bounds[0]]] = True
        val[order[bounds[0] : bounds[1]]] = True
        test[order[bounds[1] :]] = True
        return train, val, test

    def bounds(m: int) -> tuple[int, int]:
        a = round(m * split.train)
        b = round(m * (split.train + split.val))
        return a, max(a, b)

    rng = stream(split.seed, "graph_split", unit, seed)
    order = rng.permutation(n)
    out["random"] = cut(order, bounds(n))
    masks = [np.zeros(n, dtype=bool) for _ in range(3)]
    for value in np.unique(label):
        members = np.flatnonzero(label == value)
        perm = members[
            stream(split.seed, "graph_split", unit, seed, int(value)).permutation(members.size)
        ]
        a, b = bounds(members.size)
        masks[0][perm[:a]] = True
        masks[1][perm[a:b]] = True
        masks[2][perm[b:]] = True
    out["stratified"] = (masks[0], masks[1], masks[2])
    order = np.lexsort((np.arange(n), days))
    sorted_days = days[order]
    a, b = bounds(n)
    a = int(np.searchsorted(sorted_days, sorted_days[a], side="left")) if a < n else n
    b = int(np.searchsorted(sorted_days, sorted_days[b], side="left")) if b < n else n
    out["temporal"] = cut(order, (a, max(a, b)))
    return out


def _features(table: pa.Table) -> np.ndarray:
    names = feature_columns(table)
    if not names:
        return np.zeros((table.num_rows, 0), dtype=np.float32)
    return np.column_stack(
        [
            np.asarray(table[n].combine_chunks().to_numpy(zero_copy_only=False), np.float32)
            for n in names
        ]
    ).astype(np.float32)


def _index(ids: pa.Array, values: pa.ChunkedArray | pa.Array, what: str) -> np.ndarray:
    hit = pc.index_in(values, value_set=ids)
    missing = hit.null_count
    if missing:
        bad = pc.filter(values, pc.is_null(hit)).slice(0, 3).to_pylist()
        raise GraphExportError(f"{what}: {missing} ids name no node (e.g. {bad})")
    return np.asarray(hit, dtype=np.int64)


def _node_ids(nodes: dict[str, pa.Table]) -> dict[str, pa.Array]:
    out = {}
    for kind, table in nodes.items():
        ids = table["id"].combine_chunks()
        if len(pc.unique(ids)) != len(ids):
            raise GraphExportError(f"nodes of type {kind}: duplicate ids")
        out[kind] = ids
    return out


def _save(obj: Any) -> bytes:
    import torch

    buffer = io.BytesIO()
    torch.save(obj, buffer)
    return buffer.getvalue()


def _parquet(table: pa.Table) -> bytes:
    import pyarrow.parquet as pq

    sink = pa.BufferOutputStream()
    pq.write_table(table, sink, compression="zstd")
    return bytes(sink.getvalue())


def _mask_attrs(
    store: Any, masks: dict[str, Masks], chosen: str, prefix: str = ""
) -> dict[str, int]:
    import torch

    sizes = {}
    for strategy in (s for s in SPLIT_STRATEGIES if s in masks):
        for name, mask in zip(("train", "val", "test"), masks[strategy], strict=True):
            store[f"{prefix}{strategy}_{name}_mask"] = torch.from_numpy(mask)
            if strategy == chosen:
                store[f"{prefix}{name}_mask"] = torch.from_numpy(mask)
                sizes[name] = int(mask.sum())
    return sizes


def build_pyg(
    nodes: dict[str, pa.Table],
    edges: dict[str, pa.Table],
    graphs: tuple[str, ...],
    split: GraphSplitConfig,
    seed: int,
) -> Built:
    import torch
    from torch_geometric.data import Data, HeteroData

    built = Built()
    ids = _node_ids(nodes)
    for kind, table in nodes.items():
        mapping = pa.table({"index": pa.array(np.arange(table.num_rows)), "id": ids[kind]})
        built.files[f"mapping/{kind}.parquet"] = _parquet(mapping)
    meta: dict[str, Any] = {"feature_names": {}, "graphs": {}, "split": split.model_dump()}
    for kind, table in nodes.items():
        meta["feature_names"][kind] = [c[2:] for c in feature_columns(table)]

    def names_of(kind: str) -> list[str]:
        return list(meta["feature_names"][kind])

    def edge_index(rel: str) -> np.ndarray:
        src, _, dst = endpoints(rel)
        table = edges[rel]
        return np.vstack(
            [
                _index(ids[src], table["src"], f"{rel} source"),
                _index(ids[dst], table["dst"], f"{rel} target"),
            ]
        )

    def with_columns(x: np.ndarray, *columns: np.ndarray) -> torch.Tensor:
        extra = np.column_stack([np.log1p(c) for c in columns]).astype(np.float32)
        return torch.from_numpy(np.hstack([x, extra]))

    if "entity" in graphs:
        data = HeteroData()
        entity_nodes = [k for k in nodes if k in ids]
        entity_relations = sorted(r for r in edges if r not in (TRANSACTION, APPROVAL))
        indices = {rel: edge_index(rel) for rel in entity_relations}
        degree = {k: np.zeros(nodes[k].num_rows) for k in entity_nodes}
        for rel, index in indices.items():
            src, _, dst = endpoints(rel)
            degree[src] += np.bincount(index[0], minlength=degree[src].size)
            degree[dst] += np.bincount(index[1], minlength=degree[dst].size)
        for kind in entity_nodes:
            data[kind].x = with_columns(_features(nodes[kind]), degree[kind])
            data[kind].num_nodes = nodes[kind].num_rows
        entries = nodes["journal_entry"]
        y = np.asarray(entries["is_anomaly"].combine_chunks(), dtype=np.int64)
        store = data["journal_entry"]
        store.y = torch.from_numpy(y)
        store.y_fraud = torch.from_numpy(
            np.asarray(entries["is_fraud"].combine_chunks(), dtype=np.int64)
        )
        kind_ix = pc.index_in(entries["anomaly_type"], value_set=pa.array(ANOMALY_TYPE_NAMES))
        store.anomaly_type = torch.from_numpy(np.asarray(kind_ix.fill_null(-1), dtype=np.int64))
        days = np.asarray(entries["posting_date"].combine_chunks().cast(pa.int32()), dtype=np.int64)
        masks = split_masks(y.size, y, days, split, seed, "journal_entry")
        sizes = _mask_attrs(store, masks, split.strategy)
        relations = {}
        for rel in entity_relations:
            src, name, dst = endpoints(rel)
            data[src, name, dst].edge_index = torch.from_numpy(indices[rel])
            feats = _features(edges[rel])
            if feats.shape[1]:
                data[src, name, dst].edge_attr = torch.from_numpy(feats)
                meta["feature_names"][rel] = [c[2:] for c in feature_columns(edges[rel])]
            if "is_anomaly" in edges[rel].column_names:
                flags = edges[rel]["is_anomaly"].combine_chunks()
                data[src, name, dst].y = torch.from_numpy(np.asarray(flags, dtype=np.int64))
            relations[rel] = edges[rel].num_rows
        built.files["entity_graph.pt"] = _save(data)
        meta["graphs"]["entity"] = {
            "file": "entity_graph.pt",
            "nodes": {k: nodes[k].num_rows for k in entity_nodes},
            "node_features": {k: [*names_of(k), "log_degree"] for k in entity_nodes},
            "edges": relations,
            "labels": {
                "journal_entry.y": "is_anomaly",
                "journal_entry.y_fraud": "is_fraud",
                "journal_entry.anomaly_type": "index into anomaly_types (-1: none)",
            },
            "split_sizes": sizes,
        }
        meta["anomaly_types"] = list(ANOMALY_TYPE_NAMES)
    if "transaction" in graphs:
        table = edges[TRANSACTION]
        y = np.asarray(table["is_anomaly"].combine_chunks(), dtype=np.int64)
        index = edge_index(TRANSACTION)
        weight = np.asarray(table["weight"].combine_chunks(), np.float64)
        n = nodes["account"].num_rows
        data = Data(
            x=with_columns(
                _features(nodes["account"]),
                np.bincount(index[0], minlength=n),
                np.bincount(index[1], minlength=n),
                np.bincount(index[0], weights=weight, minlength=n),
                np.bincount(index[1], weights=weight, minlength=n),
            ),
            edge_index=torch.from_numpy(index),
            edge_attr=torch.from_numpy(_features(table)),
            y=torch.from_numpy(y),
            y_fraud=torch.from_numpy(
                np.asarray(table["is_fraud"].combine_chunks(), dtype=np.int64)
            ),
            edge_weight=torch.from_numpy(np.asarray(table["weight"].combine_chunks(), np.float32)),
            num_nodes=nodes["account"].num_rows,
        )
        days = np.asarray(table["posting_date"].combine_chunks().cast(pa.int32()), dtype=np.int64)
        masks = split_masks(y.size, y, days, split, seed, "transaction")
        sizes = _mask_attrs(data, masks, split.strategy, prefix="edge_")
        built.files["transaction_graph.pt"] = _save(data)
        # an edge's entry, or (summed per period) its company, period and number of entries
        keys = (
            ["document_id"]
            if "document_id" in table.column_names
            else ["company_code", "fiscal_year", "fiscal_period", "entries"]
        )
        built.files["mapping/transaction_edge.parquet"] = _parquet(
            pa.table(
                {
                    "index": pa.array(np.arange(table.num_rows)),
                    **{k: table[k].combine_chunks() for k in keys},
                }
            )
        )
        meta["feature_names"][TRANSACTION] = [c[2:] for c in feature_columns(table)]
        meta["graphs"]["transaction"] = {
            "file": "transaction_graph.pt",
            "nodes": {"account": nodes["account"].num_rows},
            "node_features": {
                "account": [
                    *names_of("account"),
                    "log_out_degree",
                    "log_in_degree",
                    "log_out_weight",
                    "log_in_weight",
                ]
            },
            "edges": {TRANSACTION: table.num_rows},
            "labels": {"y": "edge is_anomaly (its entry's)", "y_fraud": "edge is_fraud"},
            "split_sizes": sizes,
        }
    if "approval" in graphs:
        approvals, reports = edges[APPROVAL], edges[REPORTS_TO]
        a_index, r_index = edge_index(APPROVAL), edge_index(REPORTS_TO)
        a_attr = _features(approvals)
        entries = np.asarray(approvals["entries"].combine_chunks(), np.float64)
        users = nodes["user"].num_rows
        attr = np.vstack([a_attr, np.zeros((reports.num_rows, a_attr.shape[1]), np.float32)])
        data = Data(
            x=with_columns(
                _features(nodes["user"]),
                np.bincount(a_index[0], weights=entries, minlength=users),
                np.bincount(a_index[1], weights=entries, minlength=users),
            ),
            edge_index=torch.from_numpy(np.hstack([a_index, r_index])),
            edge_type=torch.from_numpy(
                np.r_[np.zeros(approvals.num_rows, np.int64), np.ones(reports.num_rows, np.int64)]
            ),
            edge_attr=torch.from_numpy(attr),
            y=torch.from_numpy(
                np.r_[
                    np.asarray(approvals["is_anomaly"].combine_chunks(), np.int64),
                    np.zeros(reports.num_rows, np.int64),
                ]
            ),
            num_nodes=nodes["user"].num_rows,
        )
        # masks over the approval edges (the labelled ones; reporting lines are in none). An
        # approval edge sums the whole window, so it has no time: temporal is left out and
        # stands in as stratified for train_mask
        y_a = np.asarray(approvals["is_anomaly"].combine_chunks(), np.int64)
        masks = split_masks(y_a.size, y_a, np.zeros(y_a.size, np.int64), split, seed, "approval")
        pad = np.zeros(reports.num_rows, dtype=bool)
        padded = {
            k: (np.r_[m[0], pad], np.r_[m[1], pad], np.r_[m[2], pad])
            for k, m in masks.items()
            if k != "temporal"
        }
        chosen = split.strategy if split.strategy != "temporal" else "stratified"
        sizes = _mask_attrs(data, padded, chosen, prefix="edge_")
        built.files["approval_graph.pt"] = _save(data)
        meta["feature_names"][APPROVAL] = [c[2:] for c in feature_columns(approvals)]
        meta["graphs"]["approval"] = {
            "file": "approval_graph.pt",
            "nodes": {"user": nodes["user"].num_rows},
            "node_features": {
                "user": [*names_of("user"), "log_entries_prepared", "log_entries_approved"]
            },
            "edges": {APPROVAL: approvals.num_rows, REPORTS_TO: reports.num_rows},
            "edge_types": ["approved_by (preparer -> approver)", "reports_to"],
            "labels": {"y": "approval edge with an anomalous entry (0 for reports_to)"},
            "split_sizes": sizes,
        }
    built.metadata = meta
    return built
