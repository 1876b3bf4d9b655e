"""Verify a finished datasynth run from its files alone (no regeneration).

    python pipelines/verify_output.py output/

Checks every file of the manifest (size, sha256, row count), that every journal entry
balances to the cent, that every account, user, vendor and customer a line names exists in the
master data, and that no posting date lies before the configured start. With document flows
it also checks that every document reference and every flow line's source document resolve,
that GR/IR clears for every order invoiced at its received quantities, and that each vendor's
AP and each customer's AR balance from flow postings equals its open items. With balances it
recomputes every trial balance from the ledger and the opening entry: each balances, rolls
forward (closing = opening + debits - credits, the next period opens with it) and satisfies
assets = liabilities + equity + result. Exits 1 and lists the problems when any fails.
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
    problems += verify_follow_ons(con, je)
    if (root / "document_flows").is_dir():
        problems += verify_flows(con, root, je)
    if (root / "balances").is_dir():
        problems += verify_balances(con, root, je)
    if (root / "labels" / "anomaly_labels").is_dir():
        problems += verify_labels(con, root, je)
    return problems


def verify_follow_ons(con: duckdb.DuckDBPyConnection, je: str) -> list[str]:
    """Follow-on entries (docs/generation.md#follow-on-entries) name an entry that exists; a
    reversal nets its entry to zero on every account; the installments of an entry never
    exceed it on the lines they mirror (all untouched by anomalies)."""
    problems: list[str] = []

    def count(sql: str) -> int:
        row = con.execute(sql).fetchone()
        return int(row[0]) if row and row[0] is not None else 0

    con.execute(
        f"create or replace temp view follow_on as select * from {je} "
        "where source_document_id like 'JE-%'"
    )
    con.execute(
        "create or replace temp view fo_clean as select * from follow_on where "
        "source_document_id not in (select document_id from "
        f"{je} where is_anomaly) and document_id not in (select document_id from follow_on "
        "where is_anomaly)"
    )
    orphans = count(
        "select count(*) from (select distinct source_document_id s from follow_on) "
        f"anti join (select distinct document_id from {je}) on s = document_id"
    )
    if orphans:
        problems.append(f"follow-on entries: {orphans} name an entry that does not exist")
    unreversed = count(
        "with r as (select source_document_id e, gl_account a, sum(debit_amount - "
        "credit_amount) v from fo_clean where source = 'reversal' group by 1, 2), "
        f"o as (select document_id e, gl_account a, sum(debit_amount - credit_amount) v from {je} "
        "where document_id in (select e from r) group by 1, 2) "
        "select count(*) from r full join o using (e, a) where coalesce(r.v, 0) + coalesce(o.v, 0) <> 0"
    )
    if unreversed:
        problems.append(f"reversals: {unreversed} accounts where a reversal does not net its entry")
    over = count(
        "with f as (select source_document_id e, gl_account a, sum(credit_amount - "
        "debit_amount) v from fo_clean where source <> 'reversal' group by 1, 2), "
        f"o as (select document_id e, gl_account a, sum(debit_amount - credit_amount) v from {je} "
        "group by 1, 2) select count(*) from f join o using (e, a) where abs(f.v) > abs(o.v) "
        "or sign(f.v) * sign(o.v) < 0"
    )
    if over:
        problems.append(f"follow-ons: {over} accounts where installments exceed their entry")
    return problems


def verify_labels(con: duckdb.DuckDBPyConnection, root: Path, je: str) -> list[str]:
    """The ledger's is_anomaly and is_fraud flags name exactly the labelled entries."""
    labels = f"read_parquet('{root}/labels/anomaly_labels/*.parquet')"
    con.execute(
        "create or replace temp table labelled as select document_id d, bool_or(is_fraud) f "
        f"from (select document_id, is_fraud from {labels} union all select "
        f"unnest(string_split(related_documents, ',')), is_fraud from {labels} "
        "where related_documents is not null) group by 1"
    )
    con.execute(
        "create or replace temp table flagged as select document_id d, bool_or(is_anomaly) a, "
        f"bool_or(is_fraud) f, bool_and(is_anomaly) = bool_or(is_anomaly) same from {je} "
        "group by 1"
    )
    problems = []
    for what, sql in (
        ("labels naming no entry", "select count(*) from labelled anti join flagged using (d)"),
        (
            "flagged entries without a label",
            "select count(*) from flagged where a and d not in (select d from labelled)",
        ),
        (
            "labelled entries not flagged",
            "select count(*) from labelled l join flagged g using (d) where not g.a",
        ),
        (
            "entries whose is_fraud differs from their label",
            "select count(*) from labelled l join flagged g using (d) where l.f <> g.f",
        ),
        ("entries flagged on some lines only", "select count(*) from flagged where not same"),
        ("duplicate anomaly ids", f"select count(*) - count(distinct anomaly_id) from {labels}"),
    ):
        row = con.execute(sql).fetchone()
        if row and row[0]:
            problems.append(f"anomaly labels: {row[0]} {what}")
    return problems


def verify_balances(con: duckdb.DuckDBPyConnection, root: Path, je: str) -> list[str]:
    """Trial balances recomputed from the ledger and the opening entry, rolled forward."""
    problems: list[str] = []
    tb = f"read_parquet('{root}/balances/trial_balances.parquet')"
    ob = f"read_parquet('{root}/balances/opening_balances.parquet')"
    coa = f"read_parquet('{root}/master_data/chart_of_accounts.parquet')"

    def count(sql: str) -> int:
        row = con.execute(f"select count(*) from ({sql})").fetchone()
        return int(row[0]) if row else 0

    checks = {
        "opening_balances: unbalanced opening entries": f"select company_code from {ob} "
        "group by all having sum(debit_amount) <> sum(credit_amount)",
        "trial_balances: company-periods whose balances do not sum to zero": f"select 1 from {tb} "
        "group by company_code, fiscal_year, fiscal_period having sum(closing_balance) <> 0 "
        "or sum(debit_balance) <> sum(credit_balance) or sum(period_debits) <> sum(period_credits)",
        "trial_balances: rows where closing <> opening + debits - credits": f"select 1 from {tb} "
        "where closing_balance <> opening_balance + period_debits - period_credits",
        # the ledger summed by company, period and account, against the trial balance
        "trial_balances: accounts whose period debits, credits or lines differ from the ledger": (
            f"select 1 from (select company_code, fiscal_year, fiscal_period, gl_account, "
            f"sum(debit_amount) d, sum(credit_amount) c, count(*) n from {je} group by all) l "
            f"full join {tb} t using (company_code, fiscal_year, fiscal_period, gl_account) "
            "where coalesce(l.d, 0) <> coalesce(t.period_debits, 0) "
            "or coalesce(l.c, 0) <> coalesce(t.period_credits, 0) "
            "or coalesce(l.n, 0) <> coalesce(t.line_count, 0)"
        ),
        # each period opens with the previous period's closing (the first with the opening entry)
        "trial_balances: accounts whose opening differs from the previous closing": (
            f"with periods as (select distinct company_code, period_start, period_end from {tb}), "
            f"prev as (select p.company_code, p.period_start, t.gl_account, t.closing_balance b "
            f"from periods p join {tb} t on t.company_code = p.company_code "
            "and t.period_end = p.period_start - interval 1 day), "
            f"first as (select p.company_code, p.period_start, o.gl_account, "
            f"o.debit_amount - o.credit_amount b from {ob} o join (select company_code, "
            "min(period_start) period_start from periods group by all) p using (company_code)), "
            "expected as (select * from prev union all select * from first) "
            f"select 1 from expected e full join {tb} t using (company_code, period_start, "
            "gl_account) where coalesce(e.b, 0) <> coalesce(t.opening_balance, 0)"
        ),
        # signed balances: assets = liabilities + equity + result of the periods so far
        "trial_balances: company-periods where assets <> liabilities + equity + result": (
            f"select company_code, fiscal_year, fiscal_period, "
            "sum(closing_balance) filter (where a.account_class = '1') assets, "
            "-sum(closing_balance) filter (where a.account_class = '2') liabilities, "
            "-sum(closing_balance) filter (where a.account_class = '3') equity, "
            "-sum(closing_balance) filter (where a.account_class >= '4') result "
            f"from {tb} t join {coa} a on a.account_number = t.gl_account group by all "
            "having coalesce(assets, 0) <> coalesce(liabilities, 0) + coalesce(equity, 0) "
            "+ coalesce(result, 0)"
        ),
        # period close: the income statement is empty after each year-end closing entry
        "period close: income-statement accounts not zero after the year-end closing": (
            f"select 1 from {tb} t join (select distinct company_code, fiscal_year, fiscal_period "
            f"from {je} where source = 'period_close' and document_type = 'YC') y "
            "using (company_code, fiscal_year, fiscal_period) "
            "where t.gl_account >= '4' and t.closing_balance <> 0"
        ),
        # every accrual is reversed with the opposite amounts, unless the next period is not
        # generated
        "period close: accruals without their reversal in the next period": (
            f"with a as (select company_code, document_id, gl_account, posting_date, "
            f"sum(debit_amount - credit_amount) s from {je} where source = 'period_close' "
            "and document_type = 'AC' group by all), "
            f"r as (select company_code, replace(document_id, '-AV', '-AC') document_id, "
            f"gl_account, posting_date, sum(debit_amount - credit_amount) s from {je} "
            "where source = 'period_close' and document_type = 'AV' group by all), "
            f"last as (select company_code, max(period_end) d from {tb} group by all) "
            "select 1 from a join last using (company_code) left join r "
            "using (company_code, document_id, gl_account) "
            "where a.posting_date < last.d and (r.s is null or r.s <> -a.s "
            "or r.posting_date <> a.posting_date + interval 1 day)"
        ),
    }
    register = root / "subledgers" / "fa_register"
    if register.is_dir():
        fa = f"read_parquet('{register}/*.parquet')"
        # each asset account's balance is the register's carrying cost less accumulated
        # depreciation on it (software: both on one account), at every period end
        checks[
            "fixed assets: company-periods and accounts where the ledger differs from the register"
        ] = (
            f"with r as (select company_code, fiscal_year, fiscal_period, gl_account a, "
            f"carrying_cost v from {fa} union all select company_code, fiscal_year, "
            f"fiscal_period, accumulated_depreciation_account, -accumulated_depreciation "
            f"from {fa} where accumulated_depreciation_account is not null), "
            "e as (select company_code, fiscal_year, fiscal_period, a, sum(v) v from r "
            "group by all), "
            f"accounts as (select distinct a from r), "
            f"t as (select company_code, fiscal_year, fiscal_period, gl_account a, "
            f"closing_balance v from {tb} where gl_account in (select a from accounts)) "
            "select 1 from e full join t using (company_code, fiscal_year, fiscal_period, a) "
            "where coalesce(e.v, 0) <> coalesce(t.v, 0)"
        )
        checks["fixed assets: depreciation runs that differ from the register's depreciation"] = (
            f"with g as (select company_code, fiscal_year, fiscal_period, sum(credit_amount) v "
            f"from {je} where source = 'period_close' and document_type = 'AF' group by all), "
            f"r as (select company_code, fiscal_year, fiscal_period, sum(period_depreciation) v "
            f"from {fa} group by all) select 1 from g full join r using (company_code, "
            "fiscal_year, fiscal_period) where coalesce(g.v, 0) <> coalesce(r.v, 0)"
        )
    items_dir = root / "subledgers" / "ar_open_items"
    if items_dir.is_dir():
        items = (
            f"(select * from read_parquet('{root}/subledgers/ar_open_items/*.parquet') union all "
            f"select * from read_parquet('{root}/subledgers/ap_open_items/*.parquet'))"
        )
        ar_ap = f"(select account_number from {coa} where control_role in ('ar', 'ap'))"
        checks["open items: company-periods where AR or AP differs from its open items"] = (
            f"with s as (select company_code, fiscal_year, fiscal_period, gl_account, "
            f"sum(balance) v from {items} group by all), t as (select company_code, "
            f"fiscal_year, fiscal_period, gl_account, closing_balance v from {tb} "
            f"where gl_account in {ar_ap}) select 1 from s full join t using (company_code, "
            "fiscal_year, fiscal_period, gl_account) where coalesce(s.v, 0) <> coalesce(t.v, 0)"
        )
        # every item of the ledger (the opening items aside, which the opening entry carries
        # as one line per account) is listed at each period end while its lines do not net out;
        # an item is one account, partner and clearing reference
        checks["open items: items listed or missing against their journal lines"] = (
            f"with ends as (select distinct company_code, fiscal_year, fiscal_period, period_end "
            f"from {tb}), l as (select company_code, gl_account, coalesce(customer_id, "
            "vendor_id) p, clearing_reference i, "
            f"posting_date d, debit_amount - credit_amount v from {je} "
            "where clearing_reference is not null and clearing_reference not like 'OI-%'), "
            "c as (select e.company_code, e.fiscal_year, e.fiscal_period, l.gl_account, l.p, "
            "l.i, sum(l.v) v from ends e join l on l.company_code = e.company_code "
            "and l.d <= e.period_end group by all having sum(l.v) <> 0), "
            f"o as (select company_code, fiscal_year, fiscal_period, gl_account, partner_id p, "
            f"item_id i, balance v from {items} where item_id not like 'OI-%') "
            "select 1 from c full join o using (company_code, fiscal_year, fiscal_period, "
            "gl_account, p, i) where coalesce(c.v, 0) <> coalesce(o.v, 0)"
        )
        checks["open items: aging buckets that disagree with days past due"] = (
            f"select 1 from {items} where aging_bucket <> case when days_past_due <= 0 then "
            "'current' when days_past_due <= 30 then '1-30' when days_past_due <= 60 then "
            "'31-60' when days_past_due <= 90 then '61-90' else 'over_90' end "
            "or days_past_due <> period_end - due_date"
        )
    stock = root / "subledgers" / "inventory"
    if stock.is_dir():
        inv = f"read_parquet('{stock}/*.parquet')"
        checks[
            "inventory: company-periods and accounts where the ledger differs from the stock"
        ] = (
            f"with s as (select company_code, fiscal_year, fiscal_period, gl_account, "
            f"sum(closing_value) v from {inv} group by all), t as (select company_code, "
            f"fiscal_year, fiscal_period, gl_account, closing_balance v from {tb} "
            f"where gl_account in (select account_number from {coa} where account_subtype = "
            "'inventory')) select 1 from s full join t using (company_code, fiscal_year, "
            "fiscal_period, gl_account) where coalesce(s.v, 0) <> coalesce(t.v, 0)"
        )
        # quantities: what the ledger's inventory lines moved, per material and period
        checks["inventory: materials whose moved quantities differ from the ledger"] = (
            f"with l as (select company_code, fiscal_year, fiscal_period, gl_account, "
            f"material_id, sum(quantity) filter (where quantity > 0) r, "
            f"-sum(quantity) filter (where quantity < 0) i from {je} "
            "where material_id is not null group by all), "
            f"s as (select company_code, fiscal_year, fiscal_period, gl_account, material_id, "
            f"receipt_quantity + production_quantity r, issue_quantity + consumption_quantity i "
            f"from {inv}) "
            "select 1 from l full join s using (company_code, fiscal_year, fiscal_period, "
            "gl_account, material_id) where coalesce(l.r, 0) <> coalesce(s.r, 0) "
            "or coalesce(l.i, 0) <> coalesce(s.i, 0)"
        )
        checks["inventory: positions that go negative or do not roll forward"] = (
            f"select 1 from {inv} where closing_quantity < 0 or (closing_quantity = 0 and "
            "closing_value <> 0) or closing_quantity <> opening_quantity + receipt_quantity + "
            "production_quantity - issue_quantity - consumption_quantity or closing_value <> "
            "opening_value + receipt_value + production_value - issue_value - consumption_value"
        )
        checks["inventory: lines on inventory accounts without a material"] = (
            f"select 1 from {je} where material_id is null and gl_account in (select "
            f"account_number from {coa} where account_subtype = 'inventory')"
        )
    for message, sql in checks.items():
        n = count(sql)
        if n:
            problems.append(f"{message}: {n}")
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
        "where source_document_id is not null and source_document_id not like 'JE-%') anti join "
        "(select id from flow_ids union all "
        f"select asset_id from read_parquet('{root}/master_data/fixed_assets.parquet')) on s = id"
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
        "select count(*) from b join m using (po) where v <> 0 and po not in (select o.po from "
        f"{je} j join o on j.source_document_id = o.d where j.is_anomaly)"
    )
    if grir:
        problems.append(f"GR/IR: {grir} fully invoiced orders leave a balance")
    ap = count(
        f"with l as (select vendor_id p, sum(credit_amount - debit_amount) v from {je} where "
        "source_document_id in (select id from flow_ids) "
        f"and gl_account in {account('ap')} group by 1), "
        f"i as (select vendor_id p, sum(gross_amount) v from {docs('vendor_invoices')} group by 1), "
        f"y as (select vendor_id p, sum(amount + discount_taken) v from {docs('payments')} "
        "group by 1) select count(*) from l full join i using (p) left join y using (p) "
        "where coalesce(l.v, 0) <> coalesce(i.v, 0) - coalesce(y.v, 0) and p not in "
        f"(select vendor_id from {je} where is_anomaly and vendor_id is not null)"
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
        "coalesce(i.v, 0) - coalesce(y.v, 0) - coalesce(i.w, 0) and p not in "
        f"(select customer_id from {je} where is_anomaly and customer_id is not null)"
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
