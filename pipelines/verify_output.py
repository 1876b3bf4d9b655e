"""Verify a finished datasynth run from its files alone (no regeneration).

    python pipelines/verify_output.py output/

Checks every file of the manifest (size, sha256, row count), that every journal entry
balances to the cent, that every account, user, vendor and customer a line names exists in the
master data, and that no posting date lies before the configured start. With document flows
it also checks that every document reference and every flow line's source document resolve,
that GR/IR clears for every order invoiced at its received quantities, and that each vendor's
AP and each customer's AR balance from flow postings equals its open items. Exits 1 and lists
the problems when any fails.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from pathlib import Path

import duckdb

from datasynth.sinks.files import sha256_of


def verify(root: Path) -> list[str]:
    problems: list[str] = []
    manifest = json.loads((root / "manifest.json").read_text())
    for f in manifest["files"]:
        path = root / f["path"]
        if not path.is_file():
            problems.append(f"{f['path']}: missing")
        elif path.stat().st_size != f["bytes"] or sha256_of(path) != f["sha256"]:
            problems.append(f"{f['path']}: size or sha256 differs from the manifest")
    fmt = manifest["config"]["output"]["format"]
    if fmt != "parquet" or problems:
        return problems  # the content checks below read Parquet, and only intact files
    con = duckdb.connect()
    je = f"read_parquet('{root}/journal_entries/**/*.parquet', hive_partitioning=true)"
    rows = con.execute(f"select count(*) from {je}").fetchone()
    if rows is None or rows[0] != manifest["tables"]["journal_entries"]["rows"]:
        problems.append(f"journal_entries: {rows} rows, manifest says otherwise")
    unbalanced = con.execute(
        f"select count(*) from (select document_id from {je} group by document_id "
        "having sum(debit_amount) <> sum(credit_amount))"
    ).fetchone()
    if unbalanced and unbalanced[0]:
        problems.append(f"journal_entries: {unbalanced[0]} unbalanced entries")
    for column, table, key in (
        ("gl_account", "chart_of_accounts", "account_number"),
        ("created_by", "users", "user_id"),
        ("vendor_id", "vendors", "vendor_id"),
        ("customer_id", "customers", "customer_id"),
    ):
        missing = con.execute(
            f"select count(*) from (select distinct {column} as k from {je} "
            f"where {column} is not null) "
            f"anti join read_parquet('{root}/master_data/{table}.parquet') m on k = m.{key}"
        ).fetchone()
        if missing and missing[0]:
            problems.append(f"journal_entries.{column}: {missing[0]} values not in {table}")
    g = manifest["config"]["global"]
    start = dt.date.fromisoformat(g["start_date"])
    span = con.execute(f"select min(posting_date), max(posting_date) from {je}").fetchone()
    if span and span[0] is not None and span[0] < start:
        problems.append(f"journal_entries: posting date {span[0]} before start {start}")
    if (root / "document_flows").is_dir():
        problems += verify_flows(con, root, je)
    return problems


FLOW_DOCUMENTS = {
    "purchase_order": ("purchase_orders", "purchase_order_id"),
    "goods_receipt": ("goods_receipts", "goods_receipt_id"),
    "vendor_invoice": ("vendor_invoices", "vendor_invoice_id"),
    "payment": ("payments", "payment_id"),
    "sales_order": ("sales_orders", "sales_order_id"),
    "delivery": ("deliveries", "delivery_id"),
    "customer_invoice": ("customer_invoices", "customer_invoice_id"),
    "customer_receipt": ("customer_receipts", "receipt_id"),
}


def verify_flows(con: duckdb.DuckDBPyConnection, root: Path, je: str) -> list[str]:
    """The document-flow invariants, read from the files alone."""

    def docs(table: str) -> str:
        return f"read_parquet('{root}/document_flows/{table}/*.parquet')"

    def count(sql: str) -> int:
        row = con.execute(sql).fetchone()
        return int(row[0]) if row and row[0] is not None else 0

    problems: list[str] = []
    ids = " union all ".join(
        f"select distinct {key} as id, '{kind}' as kind from {docs(table)}"
        for kind, (table, key) in FLOW_DOCUMENTS.items()
    )
    con.execute(f"create or replace temp table flow_ids as {ids}")
    refs = docs("document_references")
    dangling = count(
        f"select count(*) from {refs} r where not exists (select 1 from flow_ids i where "
        "i.id = r.source_document_id and i.kind = r.source_document_type) or not exists "
        "(select 1 from flow_ids i where i.id = r.target_document_id and i.kind = "
        "r.target_document_type)"
    )
    if dangling:
        problems.append(f"document_references: {dangling} references do not resolve")
    orphans = count(
        f"select count(*) from (select distinct source_document_id s from {je} "
        "where source_document_id is not null) anti join flow_ids on s = id"
    )
    if orphans:
        problems.append(f"journal_entries: {orphans} source documents do not exist")
    roles = f"read_parquet('{root}/master_data/chart_of_accounts.parquet')"

    def account(role: str) -> str:
        return f"(select account_number from {roles} where control_role = '{role}')"

    grir = count(
        f"with o as (select distinct goods_receipt_id d, purchase_order_id po from "
        f"{docs('goods_receipts')} union select distinct vendor_invoice_id, purchase_order_id "
        f"from {docs('vendor_invoices')}), b as (select o.po, sum(debit_amount - credit_amount) "
        f"v from {je} j join o on j.source_document_id = o.d where gl_account in "
        f"{account('grir')} group by 1), m as (select purchase_order_id po from "
        f"{docs('vendor_invoices')} group by 1 having bool_and(quantity = received_quantity)) "
        "select count(*) from b join m using (po) where v <> 0"
    )
    if grir:
        problems.append(f"GR/IR: {grir} fully invoiced orders leave a balance")
    ap = count(
        f"with l as (select vendor_id p, sum(credit_amount - debit_amount) v from {je} where "
        f"source_document_id is not null and gl_account in {account('ap')} group by 1), "
        f"i as (select vendor_id p, sum(gross_amount) v from {docs('vendor_invoices')} group by 1), "
        f"y as (select vendor_id p, sum(amount + discount_taken) v from {docs('payments')} "
        "group by 1) select count(*) from l full join i using (p) left join y using (p) "
        "where coalesce(l.v, 0) <> coalesce(i.v, 0) - coalesce(y.v, 0)"
    )
    if ap:
        problems.append(f"AP: {ap} vendors whose flow balance differs from their open items")
    ar = count(
        f"with l as (select customer_id p, sum(debit_amount - credit_amount) v from {je} where "
        f"source_document_id is not null and gl_account in {account('ar')} group by 1), "
        f"i as (select customer_id p, sum(gross_amount) v, sum(gross_amount) filter (where "
        f"write_off_date is not null) w from {docs('customer_invoices')} group by 1), "
        f"y as (select customer_id p, sum(amount + discount_taken) v from "
        f"{docs('customer_receipts')} group by 1) select count(*) from l full join i using (p) "
        "left join y using (p) where coalesce(l.v, 0) <> "
        "coalesce(i.v, 0) - coalesce(y.v, 0) - coalesce(i.w, 0)"
    )
    if ar:
        problems.append(f"AR: {ar} customers whose flow balance differs from their open items")
    return problems


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("output_dir", type=Path)
    args = parser.parse_args()
    problems = verify(args.output_dir)
    for p in problems:
        print(f"problem: {p}", file=sys.stderr)
    print("ok" if not problems else f"{len(problems)} problem(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
