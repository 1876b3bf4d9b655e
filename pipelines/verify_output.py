"""Verify a finished datasynth run from its files alone (no regeneration).

    python pipelines/verify_output.py output/

Checks every file of the manifest (size, sha256, row count), that every journal entry
balances to the cent, that every account, user, vendor and customer a line names exists in the
master data, and that no posting date lies before the configured start. Exits 1 and lists the problems when any fails.
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
