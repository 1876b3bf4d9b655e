"""The OCEL 2.0 event log, loaded with pm4py (the real library) in both standard forms."""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

import duckdb
import pytest
from conftest import run_cli, small_config

import datasynth

pm4py = pytest.importorskip("pm4py")

OVERRIDES = ("runtime.scheduler=synchronous", "transactions.count=24000")


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("ocel") / "out"
    datasynth.generate(small_config(out, *OVERRIDES))
    return out


def _scalar(con: duckdb.DuckDBPyConnection, sql: str) -> Any:
    row = con.execute(sql).fetchone()
    assert row is not None
    return row[0]


def _docs(root: Path, table: str) -> str:
    return f"read_parquet('{root}/document_flows/{table}/*.parquet')"


@pytest.fixture(scope="module")
def logs(run: Path) -> dict[str, Any]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return {
            "json": pm4py.read_ocel2_json(str(run / "process_mining" / "ocel.json")),
            "sqlite": pm4py.read_ocel2_sqlite(str(run / "process_mining" / "ocel.sqlite")),
        }


def test_json_log_has_no_null_attribute_values(run: Path) -> None:
    """OCEL 2.0 attribute values are strings, numbers or booleans: absent ones are left out."""
    log = json.loads((run / "process_mining" / "ocel.json").read_text())
    values = [
        a["value"] for part in ("events", "objects") for x in log[part] for a in x["attributes"]
    ]
    assert values and all(v is not None for v in values)
    system = [e for e in log["events"] if e["type"] == "Post goods receipt"]
    assert system and all({a["name"] for a in e["attributes"]} == {"company_code"} for e in system)


def test_both_forms_hold_the_same_log(logs: dict[str, Any]) -> None:
    a, b = logs["json"], logs["sqlite"]
    assert len(a.events) == len(b.events) > 1000
    assert len(a.objects) == len(b.objects)
    assert len(a.relations) == len(b.relations)
    assert sorted(a.events["ocel:activity"].unique()) == sorted(b.events["ocel:activity"].unique())
    assert set(a.objects["ocel:type"]) == set(b.objects["ocel:type"])


@pytest.mark.parametrize("form", ["json", "sqlite"])
def test_event_and_object_counts_match_the_documents(
    run: Path, logs: dict[str, Any], form: str
) -> None:
    log = logs[form]
    con = duckdb.connect()
    counts = log.events["ocel:activity"].value_counts().to_dict()
    expected = {
        "Create purchase order": f"select count(distinct purchase_order_id) from {_docs(run, 'purchase_orders')}",
        "Approve purchase order": f"select count(distinct purchase_order_id) from {_docs(run, 'purchase_orders')} where approved_by is not null",
        "Post goods receipt": f"select count(distinct goods_receipt_id) from {_docs(run, 'goods_receipts')}",
        "Verify invoice": f"select count(distinct vendor_invoice_id) from {_docs(run, 'vendor_invoices')}",
        "Pay vendor invoice": f"select count(*) from {_docs(run, 'payments')}",
        "Create sales order": f"select count(distinct sales_order_id) from {_docs(run, 'sales_orders')}",
        "Check credit": f"select count(distinct sales_order_id) from {_docs(run, 'sales_orders')}",
        "Post goods issue": f"select count(distinct delivery_id) from {_docs(run, 'deliveries')}",
        "Pick goods": f"select count(distinct delivery_id) from {_docs(run, 'deliveries')} where picked",
        "Create customer invoice": f"select count(distinct customer_invoice_id) from {_docs(run, 'customer_invoices')}",
        "Receive payment": f"select count(*) from {_docs(run, 'customer_receipts')} where receipt_type not in ('returned', 'chargeback')",
        "Reverse payment": f"select count(*) from {_docs(run, 'customer_receipts')} where receipt_type in ('returned', 'chargeback')",
        "Apply payment on account": f"select count(applied_date) from {_docs(run, 'customer_receipts')}",
        "Change purchase order": f"select coalesce(sum(c), 0) from (select any_value(change_count) c from {_docs(run, 'purchase_orders')} group by purchase_order_id)",
    }
    for activity, sql in expected.items():
        assert counts.get(activity, 0) == _scalar(con, sql), activity
    documents = sum(
        _scalar(con, f"select count(distinct {key}) from {_docs(run, table)}")
        for table, key in (
            ("purchase_orders", "purchase_order_id"),
            ("goods_receipts", "goods_receipt_id"),
            ("vendor_invoices", "vendor_invoice_id"),
            ("payments", "payment_id"),
            ("sales_orders", "sales_order_id"),
            ("deliveries", "delivery_id"),
            ("customer_invoices", "customer_invoice_id"),
            ("customer_receipts", "receipt_id"),
        )
    )
    partners = _scalar(
        con, f"select count(distinct vendor_id) from {_docs(run, 'purchase_orders')}"
    ) + _scalar(con, f"select count(distinct customer_id) from {_docs(run, 'sales_orders')}")
    assert len(log.objects) == documents + partners
    # every event touches at least one object, and every related object exists
    related = set(log.relations["ocel:oid"])
    assert related <= set(log.objects["ocel:oid"])
    assert set(log.relations["ocel:eid"]) == set(log.events["ocel:eid"])


def test_discovered_model_has_the_flows_and_their_deviations(logs: dict[str, Any]) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = pm4py.discover_ocdfg(logs["json"])
    edges = model["edges"]["event_couples"]
    po = set(edges["purchase_order"])
    so = set(edges["sales_order"])
    delivery = set(edges["delivery"])
    # the happy paths
    assert ("Create purchase order", "Approve purchase order") in po
    assert ("Approve purchase order", "Post goods receipt") in po
    assert ("Post goods receipt", "Verify invoice") in po
    assert ("Create sales order", "Check credit") in so
    assert ("Create delivery", "Pick goods") in delivery
    assert ("Pick goods", "Pack goods") in delivery
    assert ("Pack goods", "Post goods issue") in delivery
    # rework, skipped and out-of-order steps at their configured rates
    assert ("Change purchase order", "Approve purchase order") in po
    assert ("Create purchase order", "Post goods receipt") in po  # approval skipped
    assert ("Receive vendor invoice", "Post goods receipt") in po  # invoice before goods
    assert ("Create delivery", "Pack goods") in delivery  # picking skipped
    assert model["start_activities"]["events"]["purchase_order"].keys() == {"Create purchase order"}


def test_deviation_rates_follow_the_configuration(run: Path) -> None:
    cfg = small_config(run, *OVERRIDES)
    o = cfg.document_flows.ocel
    con = duckdb.connect()
    orders = f"(select purchase_order_id, any_value(approved_by) a, any_value(change_count) c from {_docs(run, 'purchase_orders')} group by 1)"
    n = _scalar(con, f"select count(*) from {orders}")
    skipped = _scalar(con, f"select count(*) from {orders} where a is null") / n
    reworked = _scalar(con, f"select count(*) from {orders} where c > 0") / n
    invoices = f"(select vendor_invoice_id, purchase_order_id, any_value(invoice_date) d from {_docs(run, 'vendor_invoices')} group by 1, 2)"
    early = f"select count(*) from {invoices} i where i.d < (select min(posting_date) from {_docs(run, 'goods_receipts')} g where g.purchase_order_id = i.purchase_order_id)"
    m = _scalar(con, f"select count(*) from {invoices}")
    out_of_order = _scalar(con, early) / m

    def within(observed: float, p: float, count: int) -> bool:
        return abs(observed - p) <= 4 * (p * (1 - p) / count) ** 0.5 + 1e-9

    assert n > 1500 and m > 800
    assert within(skipped, o.skip_rate, n)
    assert within(reworked, o.rework_rate, n)
    assert within(out_of_order, o.out_of_order_rate, m)


def test_log_is_identical_whatever_the_file_format(run: Path, tmp_path: Path) -> None:
    out = tmp_path / "csv"
    datasynth.generate(
        small_config(out, *OVERRIDES, "output.format=csv", "output.compression=gzip")
    )
    for name in ("ocel.json", "ocel.sqlite"):
        assert (out / "process_mining" / name).read_bytes() == (
            run / "process_mining" / name
        ).read_bytes()


def test_ocel_command_builds_the_log_of_a_finished_run(run: Path, tmp_path: Path) -> None:
    out = tmp_path / "later"
    datasynth.generate(small_config(out, *OVERRIDES, "document_flows.ocel.enabled=false"))
    assert not (out / "process_mining").exists()
    done = run_cli(["ocel", str(out), "--formats", "json"], cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert (out / "process_mining" / "ocel.json").read_bytes() == (
        run / "process_mining" / "ocel.json"
    ).read_bytes()
    manifest = json.loads((out / "manifest.json").read_text())
    assert [f["path"] for f in manifest["files"] if f["table"] == "ocel"] == [
        "process_mining/ocel.json"
    ]
    verify = Path(__file__).resolve().parents[2] / "pipelines" / "verify_output.py"
    import subprocess
    import sys

    checked = subprocess.run(
        [sys.executable, str(verify), str(out)], capture_output=True, text=True, check=False
    )
    assert checked.returncode == 0, checked.stderr
    missing = run_cli(["ocel", str(tmp_path / "nothing-here")], cwd=tmp_path)
    assert missing.returncode == 2 and "no complete datasynth run" in missing.stderr
    bad = run_cli(["ocel", str(out), "--formats", "xml"], cwd=tmp_path)
    assert bad.returncode == 2 and "allowed: json, sqlite" in bad.stderr


def test_a_run_without_flow_events_writes_an_empty_log(tmp_path: Path) -> None:
    import sqlite3

    out = tmp_path / "tiny"
    datasynth.generate(small_config(out, "runtime.scheduler=synchronous", "transactions.count=5"))
    log = json.loads((out / "process_mining" / "ocel.json").read_text())
    assert set(log) == {"objectTypes", "eventTypes", "objects", "events"}
    with sqlite3.connect(out / "process_mining" / "ocel.sqlite") as con:
        tables = {r[0] for r in con.execute("select name from sqlite_master where type='table'")}
        assert {"event", "object", "event_object", "object_object"} <= tables
        (events,) = con.execute("select count(*) from event").fetchone()
    assert events == len(log["events"])


def test_steps_of_a_flow_happen_in_order(logs: dict[str, Any]) -> None:
    """Apart from the configured out-of-order step, no event precedes the step before it,
    even when both fall on one day (immediate payment terms, same-day billing)."""
    import pandas as pd

    m = logs["json"].relations  # one row per (event, object) with activity and timestamp

    def violations(object_type: str, first: str, then: str) -> tuple[int, int]:
        d = m[m["ocel:type"] == object_type]
        a = d[d["ocel:activity"] == first].groupby("ocel:oid")["ocel:timestamp"].max()
        b = d[d["ocel:activity"] == then].groupby("ocel:oid")["ocel:timestamp"].min()
        both = pd.concat([a, b], axis=1, keys=["a", "b"]).dropna()
        return int((both.b < both.a).sum()), len(both)

    for object_type, first, then in (
        ("purchase_order", "Approve purchase order", "Post goods receipt"),
        ("purchase_order", "Post goods receipt", "Verify invoice"),
        ("vendor_invoice", "Post vendor invoice", "Pay vendor invoice"),
        ("vendor_invoice", "Post vendor invoice", "Release payment block"),
        ("sales_order", "Check credit", "Create delivery"),
        ("sales_order", "Post goods issue", "Create customer invoice"),
        ("customer_invoice", "Create customer invoice", "Receive payment"),
    ):
        bad, pairs = violations(object_type, first, then)
        assert pairs > 10 and bad == 0, (first, then, bad, pairs)
