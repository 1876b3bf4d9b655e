"""Graph export on real generated data, loaded with the real torch_geometric and networkx.

Counts are recomputed from the ledger (not from the export's own tables), every edge endpoint
must exist, masks must be disjoint and cover the labelled units, the Neo4j files must follow the
import tool's header rules with referentially closed ids, and the export must give the same
bytes as a stage of generation and as ``datasynth export-graph`` on another scheduler.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest
from conftest import decoded, file_digests, run_cli, small_config

import datasynth

torch = pytest.importorskip("torch")
pytest.importorskip("torch_geometric")
nx = pytest.importorskip("networkx")

ON = (
    "anomalies.enabled=true",
    "anomalies.rate=0.05",
    "graph_export.enabled=true",
    "graph_export.graphml_max_edges=100000000",
)


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("graphs") / "out"
    datasynth.generate(small_config(out, *ON, "runtime.scheduler=synchronous"))
    return out


@pytest.fixture(scope="module")
def ledger(run: Path) -> pd.DataFrame:
    table = ds.dataset(run / "journal_entries", format="parquet", partitioning="hive").to_table()
    frame = decoded(table).to_pandas()
    for column in ("debit_amount", "credit_amount"):
        frame[column] = frame[column].astype(float)
    return frame


def _load(path: Path):  # type: ignore[no-untyped-def]
    return torch.load(path, weights_only=False)


def test_pyg_entity_graph_matches_the_ledger(run: Path, ledger: pd.DataFrame) -> None:
    data = _load(run / "graphs" / "pyg" / "entity_graph.pt")
    data.validate(raise_on_error=True)  # every edge index inside its node types
    entries = ledger.groupby("document_id", sort=False).first()
    store = data["journal_entry"]
    assert store.num_nodes == len(entries) > 1000
    mapping = pq.read_table(run / "graphs" / "pyg" / "mapping" / "journal_entry.parquet")
    ids = mapping["id"].to_pylist()
    assert mapping["index"].to_pylist() == list(range(len(ids)))
    assert sorted(ids) == sorted(entries.index)
    flags = entries.loc[ids]
    assert np.array_equal(store.y.numpy(), flags["is_anomaly"].to_numpy().astype(int))
    assert np.array_equal(store.y_fraud.numpy(), flags["is_fraud"].to_numpy().astype(int))
    assert store.y.sum() > 50
    # anomaly types agree with the labels of the documents they name
    labels = decoded(pq.read_table(run / "labels" / "anomaly_labels")).to_pandas()
    from datasynth.graph_export.tables import ANOMALY_TYPE_NAMES

    position = {d: i for i, d in enumerate(ids)}
    for row in labels.itertuples():
        kind = int(store.anomaly_type[position[row.document_id]])
        assert kind >= 0 and ANOMALY_TYPE_NAMES[kind] == row.anomaly_type
    assert int((store.anomaly_type >= 0).sum()) <= int(store.y.sum())
    # feature rows follow the mapping: an entry's log amount is its ledger total's
    meta_path = run / "graphs" / "pyg" / "metadata.json"
    import json

    meta = json.loads(meta_path.read_text())
    names = meta["graphs"]["entity"]["node_features"]
    totals = ledger.groupby("document_id")["debit_amount"].sum().loc[ids].to_numpy()
    column = names["journal_entry"].index("log_amount")
    np.testing.assert_allclose(store.x[:, column].numpy(), np.log1p(totals), rtol=1e-5)
    # posts_to: one edge per entry, account and side, counted from the ledger
    sides = ledger.assign(debit=ledger["debit_amount"] > 0)
    expected = sides.groupby(["document_id", "gl_account", "debit"]).ngroups
    edge = data["journal_entry", "posts_to", "account"]
    assert edge.edge_index.shape[1] == expected
    assert edge.edge_attr.shape == (expected, 3)
    # an account's degree feature: its entries x sides in the ledger (only posts_to reaches it)
    accounts = pq.read_table(run / "graphs" / "pyg" / "mapping" / "account.parquet")
    per_account = sides.groupby("gl_account")[["document_id", "debit"]].apply(
        lambda g: len(g.drop_duplicates())
    )
    got = np.expm1(data["account"].x[:, -1].numpy().astype(float))
    want = per_account.reindex(accounts["id"].to_pylist()).fillna(0).to_numpy()
    np.testing.assert_allclose(got, want, rtol=1e-5)
    assert all(data[k].x.shape[1] == len(v) for k, v in names.items())
    assert names["journal_entry"][-1] == "log_degree" and "hour" in names["journal_entry"]
    # created_by: one per entry, pointing at the preparer's node
    users = pq.read_table(run / "graphs" / "pyg" / "mapping" / "user.parquet")["id"].to_pylist()
    made = data["journal_entry", "created_by", "user"].edge_index.numpy()
    got = {ids[s]: users[d] for s, d in made.T}
    assert got == entries["created_by"].to_dict()
    approved = data["journal_entry", "approved_by", "user"].edge_index.shape[1]
    assert approved == entries["approved_by"].notna().sum()
    # vendor nodes carry the shell vendors the fictitious-vendor frauds paid
    vendors = pq.read_table(run / "graphs" / "tables" / "nodes" / "vendor").to_pandas()
    shells = set(labels.loc[labels["anomaly_type"] == "fictitious_vendor", "related_vendor"])
    assert shells and set(vendors.loc[vendors["is_fictitious"], "id"]) == shells


def test_every_edge_endpoint_is_a_node(run: Path) -> None:
    base = run / "graphs" / "tables"
    nodes = {p.name: set(pq.read_table(p)["id"].to_pylist()) for p in (base / "nodes").iterdir()}
    for kind, ids in nodes.items():
        assert len(ids) == pq.read_table(base / "nodes" / kind).num_rows, kind  # unique ids
    relations = sorted(p.name for p in (base / "edges").iterdir())
    assert len(relations) >= 20
    for rel in relations:
        src, _, dst = rel.split("__")
        table = pq.read_table(base / "edges" / rel)
        assert set(table["src"].to_pylist()) <= nodes[src], rel
        assert set(table["dst"].to_pylist()) <= nodes[dst], rel
    # every entry reaches its accounts, every flow posting its document
    refs = pq.read_table(base / "edges" / "journal_entry__references__document")
    assert refs.num_rows > 1000
    # and every follow-on entry the entry it follows, exactly as the ledger names them
    follows = pq.read_table(base / "edges" / "journal_entry__follows__journal_entry")
    ledger = ds.dataset(run / "journal_entries", format="parquet", partitioning="hive").to_table(
        columns=["document_id", "source_document_id"]
    )
    named = {
        (a, b)
        for a, b in zip(
            ledger["document_id"].to_pylist(), ledger["source_document_id"].to_pylist(), strict=True
        )
        if b and b.startswith("JE-")
    }
    edges = zip(follows["src"].to_pylist(), follows["dst"].to_pylist(), strict=True)
    assert named and set(edges) == named
    assert follows.num_rows == len(named)


def test_masks_are_disjoint_and_cover_the_labelled_units(run: Path) -> None:
    data = _load(run / "graphs" / "pyg" / "entity_graph.pt")
    store = data["journal_entry"]
    y = store.y.numpy()
    days = pq.read_table(
        run / "graphs" / "tables" / "nodes" / "journal_entry", columns=["posting_date"]
    )["posting_date"].to_numpy()
    for strategy in ("random", "temporal", "stratified"):
        train, val, test = (store[f"{strategy}_{s}_mask"].numpy() for s in ("train", "val", "test"))
        assert (train.astype(int) + val + test == 1).all(), strategy
        assert 0.6 < train.mean() < 0.8 and 0.08 < val.mean() < 0.22, strategy
        if strategy == "stratified":
            for value in (0, 1):
                share = train[y == value].mean()
                assert abs(share - 0.7) < 0.02, share
        if strategy == "temporal":
            assert days[train].max() < days[val].min() <= days[val].max() < days[test].min()
    assert np.array_equal(store.train_mask.numpy(), store.random_train_mask.numpy())
    tx = _load(run / "graphs" / "pyg" / "transaction_graph.pt")
    masks = [tx[f"edge_{s}_mask"].numpy() for s in ("train", "val", "test")]
    assert (sum(m.astype(int) for m in masks) == 1).all()


def test_transaction_graph_weights_sum_to_each_entry(run: Path, ledger: pd.DataFrame) -> None:
    tx = _load(run / "graphs" / "pyg" / "transaction_graph.pt")
    entry = pq.read_table(run / "graphs" / "pyg" / "mapping" / "transaction_edge.parquet")
    weights = (
        pd.Series(tx.edge_weight.numpy().astype(float))
        .groupby(entry["document_id"].to_numpy())
        .sum()
    )
    totals = ledger.groupby("document_id")["debit_amount"].sum()
    assert set(weights.index) == set(totals[totals > 0].index)
    np.testing.assert_allclose(weights.to_numpy(), totals.loc[weights.index].to_numpy(), rtol=1e-5)
    # one edge per debit account x credit account of an entry
    d = ledger[ledger["debit_amount"] > 0].groupby("document_id")["gl_account"].nunique()
    c = ledger[ledger["credit_amount"] > 0].groupby("document_id")["gl_account"].nunique()
    assert tx.edge_index.shape[1] == int((d * c).sum())
    accounts = pq.read_table(run / "graphs" / "pyg" / "mapping" / "account.parquet")
    assert tx.num_nodes == accounts.num_rows == tx.x.shape[0]
    # an edge is anomalous exactly when its entry is
    flags = ledger.groupby("document_id")["is_anomaly"].first()
    assert np.array_equal(
        tx.y.numpy(), flags.loc[entry["document_id"].to_numpy()].to_numpy().astype(int)
    )


def test_approval_graph_shows_self_approvals_as_loops(run: Path, ledger: pd.DataFrame) -> None:
    graph = _load(run / "graphs" / "pyg" / "approval_graph.pt")
    users = pq.read_table(run / "graphs" / "pyg" / "mapping" / "user.parquet")["id"].to_pylist()
    approvals = graph.edge_index[:, graph.edge_type == 0].numpy()
    entries = ledger.groupby("document_id").first()
    approved = entries[entries["approved_by"].notna()]
    pairs = {(users[a], users[b]) for a, b in approvals.T}
    assert pairs == set(zip(approved["created_by"], approved["approved_by"], strict=True))
    loops = approvals[0] == approvals[1]
    selfish = approved[approved["created_by"] == approved["approved_by"]]
    assert loops.sum() == selfish.groupby("created_by").ngroups > 0
    assert (graph.y[graph.edge_type == 0].numpy()[loops] == 1).all()
    master = pq.read_table(run / "master_data" / "users.parquet").to_pandas()
    assert int((graph.edge_type == 1).sum()) == master["reports_to"].notna().sum() > 0


def _read_header(path: Path) -> list[str]:
    return path.read_text().strip().split(",")


def test_neo4j_files_follow_the_import_rules(run: Path) -> None:
    base = run / "graphs" / "neo4j"
    typed = re.compile(r"^[a-z_]+(:(long|double|boolean|date|float\[\]))?$")
    ids: dict[str, set[str]] = {}
    for folder in sorted((base / "nodes").iterdir()):
        header = _read_header(folder / "header.csv")
        assert header[0] == f"id:ID({folder.name})" and header[-1] == ":LABEL"
        assert all(typed.match(h) for h in header[1:-1]), header
        rows = [r for p in sorted(folder.glob("part-*.csv")) for r in csv.reader(p.open())]
        assert rows and all(len(r) == len(header) for r in rows)
        assert {r[-1] for r in rows} == {folder.name}
        ids[folder.name] = {r[0] for r in rows}
        assert len(ids[folder.name]) == len(rows)  # unique within the label's id space
    assert set(ids) >= {"JournalEntry", "Account", "User", "Vendor", "Customer", "Document"}
    relationships = sorted((base / "relationships").iterdir())
    for folder in relationships:
        header = _read_header(folder / "header.csv")
        start = re.fullmatch(r":START_ID\((\w+)\)", header[0])
        end = re.fullmatch(r":END_ID\((\w+)\)", header[1])
        assert start and end and header[-1] == ":TYPE", header
        assert all(typed.match(h) for h in header[2:-1]), header
        source, kind, target = folder.name.split("_", 1)[0], None, folder.name.rsplit("_", 1)[1]
        assert (start.group(1), end.group(1)) == (source, target)
        for part in sorted(folder.glob("part-*.csv")):
            for row in csv.reader(part.open()):
                assert len(row) == len(header)
                assert row[0] in ids[source] and row[1] in ids[target], (folder.name, row[:2])
                kind = row[-1]
        assert kind and folder.name == f"{source}_{kind}_{target}"
    readme = (base / "README.md").read_text()
    command = (base / "import.sh").read_text()
    assert "neo4j-admin database import full" in command
    for folder in [*(base / "nodes").iterdir(), *relationships]:
        assert f"{folder.parent.name}/{folder.name}/header.csv" in command
        assert f"{folder.parent.name}/{folder.name}/part-.*\\.csv" in command
    assert command.split("\n", 3)[3] in readme


def test_networkx_round_trip(run: Path) -> None:
    base = run / "graphs" / "networkx"
    tx = _load(run / "graphs" / "pyg" / "transaction_graph.pt")
    g = nx.read_graphml(base / "transaction_graph.graphml")
    assert g.number_of_edges() == tx.edge_index.shape[1]
    assert g.number_of_nodes() == tx.num_nodes
    weights = sorted(w for _, _, w in g.edges(data="weight"))
    assert np.allclose(weights, np.sort(tx.edge_weight.numpy()), rtol=1e-5)
    approval = nx.read_graphml(base / "approval_graph.graphml")
    assert (
        approval.number_of_edges() == _load(run / "graphs" / "pyg" / "approval_graph.pt").num_edges
    )
    # the partitioned edge lists read back with networkx's own reader
    parts = sorted((base / "edgelists" / "account__transaction__account").glob("part-*.tsv"))
    total = 0
    for part in parts:
        h = nx.read_edgelist(
            part, delimiter="\t", data=[("weight", float)], create_using=nx.MultiDiGraph
        )
        total += h.number_of_edges()
    assert total == tx.edge_index.shape[1]
    entity = nx.read_graphml(base / "entity_graph.graphml")
    data = _load(run / "graphs" / "pyg" / "entity_graph.pt")
    assert entity.number_of_nodes() == data.num_nodes
    assert entity.number_of_edges() == data.num_edges


def test_export_graph_command_gives_the_same_files(run: Path, tmp_path: Path) -> None:
    other = tmp_path / "plain"
    datasynth.generate(small_config(other, *ON[:2], "runtime.scheduler=threads"))
    assert not (other / "graphs").exists()
    done = run_cli(["export-graph", str(other), "pyg,neo4j"], cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    mine = {k: v for k, v in file_digests(run / "graphs").items() if not k.startswith("networkx/")}
    theirs = file_digests(other / "graphs")
    mine.pop("metadata.json"), theirs.pop("metadata.json")  # names the formats made
    assert mine == theirs
    import json

    manifest = json.loads((other / "manifest.json").read_text())
    listed = {f["path"] for f in manifest["files"] if f["table"].startswith("graph_")}
    assert listed == {f"graphs/{k}" for k in file_digests(other / "graphs")}
    bad = run_cli(["export-graph", str(other), "pyg,gremlin"], cwd=tmp_path)
    assert bad.returncode == 2 and "gremlin" in bad.stderr and "neo4j" in bad.stderr


def test_a_dangling_vendor_fails_the_export_and_leaves_no_graphs(tmp_path: Path) -> None:
    import json

    import pyarrow.compute as pc

    out = tmp_path / "out"
    datasynth.generate(small_config(out, "runtime.scheduler=synchronous"))
    vendors_file = out / "master_data" / "vendors.parquet"
    vendors = pq.read_table(vendors_file)
    paid = ds.dataset(out / "journal_entries", partitioning="hive").to_table(columns=["vendor_id"])
    gone = pc.drop_null(paid["vendor_id"])[0].as_py()
    pq.write_table(vendors.filter(pc.not_equal(vendors["vendor_id"], gone)), vendors_file)
    done = run_cli(["export-graph", str(out), "neo4j"], cwd=tmp_path)
    assert done.returncode == 1, done.stderr
    assert "__vendor" in done.stderr and gone in done.stderr and "name no vendor" in done.stderr
    assert not (out / "graphs").exists()
    manifest = json.loads((out / "manifest.json").read_text())
    assert not [f for f in manifest["files"] if f["table"].startswith("graph_")]


def test_transaction_edges_summed_per_period(run: Path, tmp_path: Path) -> None:
    out = tmp_path / "period"
    datasynth.generate(
        small_config(
            out,
            *ON,
            "runtime.scheduler=threads",
            "graph_export.graphs=[transaction]",
            "graph_export.formats=[pyg]",
            "graph_export.transaction_edges=period",
            "graph_export.split.strategy=temporal",
        )
    )
    edges = pq.read_table(out / "graphs" / "tables" / "edges" / "account__transaction__account")
    per_entry = pq.read_table(run / "graphs" / "tables" / "edges" / "account__transaction__account")
    keys = ["company_code", "fiscal_year", "fiscal_period", "src", "dst"]
    expected = (
        per_entry.to_pandas()
        .groupby(keys)
        .agg(weight=("weight", "sum"), entries=("weight", "size"), bad=("is_anomaly", "any"))
    )
    got = edges.to_pandas().set_index(keys).sort_index()
    assert len(got) == len(expected) and got.index.equals(expected.index)
    np.testing.assert_allclose(got["weight"], expected["weight"], rtol=1e-9, atol=5e-7)
    assert (got["entries"] == expected["entries"]).all()
    assert (got["is_anomaly"] == expected["bad"]).all() and got["is_anomaly"].any()
    data = _load(out / "graphs" / "pyg" / "transaction_graph.pt")
    assert data.edge_index.shape[1] == len(got)
    assert data.edge_attr.shape == (len(got), 5)
    train, test = data.edge_train_mask.numpy(), data.edge_test_mask.numpy()
    days = edges["posting_date"].to_numpy()
    assert days[train].max() < days[test].min()
    assert not (out / "graphs" / "pyg" / "entity_graph.pt").exists()


def _separates(column: np.ndarray, y: np.ndarray) -> bool:
    """Whether one threshold on ``column`` splits the labels perfectly (a leaked label)."""
    a, b = column[y == 0], column[y == 1]
    return bool(a.max() < b.min() or a.min() > b.max())


def test_no_feature_gives_the_label_away(run: Path) -> None:
    import json

    meta = json.loads((run / "graphs" / "pyg" / "metadata.json").read_text())
    named = [n for names in meta["feature_names"].values() for n in names]
    assert not [n for n in named if "anomal" in n or "fraud" in n]
    data = _load(run / "graphs" / "pyg" / "entity_graph.pt")
    tx = _load(run / "graphs" / "pyg" / "transaction_graph.pt")
    approval = _load(run / "graphs" / "pyg" / "approval_graph.pt")
    posts = data["journal_entry", "posts_to", "account"]
    cases = [
        (data["journal_entry"].x, data["journal_entry"].y),
        (posts.edge_attr, posts.y),
        (tx.edge_attr, tx.y),
        (approval.edge_attr[approval.edge_type == 0], approval.y[approval.edge_type == 0]),
    ]
    for x, y in cases:
        y = y.numpy()
        assert 0 < y.sum() < y.size
        for j in range(x.shape[1]):
            assert not _separates(x[:, j].numpy(), y), j
    # the approval edge masks cover the approval edges, and only them
    masks = [approval[f"edge_{s}_mask"].numpy() for s in ("train", "val", "test")]
    total = sum(m.astype(int) for m in masks)
    assert (total == (approval.edge_type == 0).numpy()).all()


def test_neo4j_values_parse_as_their_header_types(run: Path) -> None:
    import datetime

    from datasynth.graph_export.neo4j import LABELS, rel_folder

    base, tables = run / "graphs" / "neo4j", run / "graphs" / "tables"
    # each Neo4j folder's table, to count its feature columns
    source = {f"nodes/{LABELS[p.name]}": p for p in (tables / "nodes").iterdir()}
    source |= {f"relationships/{rel_folder(p.name)}": p for p in (tables / "edges").iterdir()}
    parse = {
        "date": datetime.date.fromisoformat,
        "boolean": lambda v: {"true": True, "false": False}[v],
        "long": int,
        "double": float,
    }
    checked = set()
    for folder in [*(base / "nodes").iterdir(), *(base / "relationships").iterdir()]:
        header = _read_header(folder / "header.csv")
        schema = pq.read_schema(sorted(source[f"{folder.parent.name}/{folder.name}"].iterdir())[0])
        features = [n for n in schema.names if n.startswith("f_")]
        rows = list(csv.reader(sorted(folder.glob("part-*.csv"))[0].open()))[:200]
        for i, name in enumerate(header):
            kind = name.rsplit(":", 1)[1] if ":" in name and not name.startswith(":") else ""
            for value in (row[i] for row in rows if row[i] != ""):
                if kind == "float[]":
                    numbers = [float(v) for v in value.split(";")]
                    assert len(numbers) == len(features), folder.name
                elif kind in parse:
                    parse[kind](value)
                else:
                    continue
                checked.add(kind)
    assert checked >= {"date", "boolean", "long", "double", "float[]"}


def test_transaction_edge_masks(run: Path) -> None:
    tx = _load(run / "graphs" / "pyg" / "transaction_graph.pt")
    y = tx.y.numpy()
    days = pq.read_table(
        run / "graphs" / "tables" / "edges" / "account__transaction__account",
        columns=["posting_date"],
    )["posting_date"].to_numpy()
    for strategy in ("random", "temporal", "stratified"):
        train, val, test = (
            tx[f"edge_{strategy}_{s}_mask"].numpy() for s in ("train", "val", "test")
        )
        assert (train.astype(int) + val + test == 1).all()
        if strategy == "stratified":
            assert abs(train[y == 1].mean() - 0.7) < 0.02
        if strategy == "temporal":
            assert days[train].max() < days[val].min() <= days[val].max() < days[test].min()


def test_other_datasets_and_graph_choices(tmp_path: Path) -> None:
    """No flows, no close stage, no anomalies, CSV files, transaction and approval graphs only,
    per-period transaction edges, and a users table from before reporting lines existed."""
    out = tmp_path / "out"
    datasynth.generate(
        small_config(
            out,
            "runtime.scheduler=synchronous",
            "output.format=csv",
            "document_flows.enabled=false",
            "balances.enabled=false",
        )
    )
    import pyarrow.csv as pacsv

    users = pacsv.read_csv(out / "master_data" / "users.csv")
    pacsv.write_csv(users.drop_columns(["reports_to"]), out / "master_data" / "users.csv")
    import json

    manifest = json.loads((out / "manifest.json").read_text())
    manifest["config"]["graph_export"].update(
        graphs=["transaction", "approval"], transaction_edges="period"
    )
    (out / "manifest.json").write_text(json.dumps(manifest))
    done = run_cli(["export-graph", str(out), "neo4j,pyg"], cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    graphs = out / "graphs"
    assert sorted(p.name for p in (graphs / "neo4j" / "nodes").iterdir()) == ["Account", "User"]
    assert not list(graphs.rglob("part-close*"))
    tx = _load(graphs / "pyg" / "transaction_graph.pt")
    approval = _load(graphs / "pyg" / "approval_graph.pt")
    assert tx.edge_index.shape[1] > 100 and int(tx.y.sum()) == 0
    assert int((approval.edge_type == 1).sum()) == 0  # no reporting lines in that table
    assert int((approval.edge_type == 0).sum()) > 0
    assert not (graphs / "pyg" / "entity_graph.pt").exists()
