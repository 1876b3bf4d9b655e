"""Opening balances and trial balances on real generated data, checked against the ledger
with an independent computation (pandas over the written files, exact integer cents)."""

from __future__ import annotations

import itertools
import json
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest
from conftest import rewrite_file, small_config, verify_output

import datasynth
from datasynth.core.money import decimal_from_minor
from datasynth.generators.asset_accounting import REGISTER_ACCOUNTS
from datasynth.generators.balances import combine_sums, ledger_sums, opening_amounts
from datasynth.generators.master import build_master
from datasynth.runtime.plan import build_plan

V3 = "companies.1.fiscal_year_variant=V3"
#: enough disposals in four months to check them
DISPOSALS = "balances.fixed_assets.disposal_rate=0.6"


def cents(values: pd.Series) -> pd.Series:
    return values.map(lambda d: int(Decimal(d) * 100)).astype("int64")


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("balances") / "out"
    # company 2000 on an April-March fiscal year: its FY2023 ends inside the window
    datasynth.generate(small_config(out, "runtime.scheduler=synchronous", V3, DISPOSALS))
    return out


@pytest.fixture(scope="module")
def tb(run: Path) -> pd.DataFrame:
    frame = pq.read_table(run / "balances" / "trial_balances.parquet").to_pandas()
    for column in (
        "opening_balance",
        "period_debits",
        "period_credits",
        "closing_balance",
        "debit_balance",
        "credit_balance",
    ):
        frame[column] = cents(frame[column])
    return frame


@pytest.fixture(scope="module")
def ledger(run: Path) -> pd.DataFrame:
    table = ds.dataset(run / "journal_entries", format="parquet", partitioning="hive").to_table(
        columns=[
            "company_code",
            "fiscal_year",
            "fiscal_period",
            "gl_account",
            "debit_amount",
            "credit_amount",
        ]
    )
    frame = table.to_pandas()
    frame["company_code"] = frame["company_code"].astype(str)
    frame["gl_account"] = frame["gl_account"].astype(str)
    frame["debit"] = cents(frame.pop("debit_amount"))
    frame["credit"] = cents(frame.pop("credit_amount"))
    return frame


def test_every_trial_balance_balances(tb: pd.DataFrame) -> None:
    per_period = tb.groupby(["company_code", "fiscal_year", "fiscal_period"])
    assert len(per_period) >= 8  # two companies, four months each
    sums = per_period[["closing_balance", "period_debits", "period_credits"]].sum()
    assert (sums["closing_balance"] == 0).all()
    assert (sums["period_debits"] == sums["period_credits"]).all()
    assert (sums["period_debits"] > 0).all()
    dr_cr = per_period[["debit_balance", "credit_balance"]].sum()
    assert (dr_cr["debit_balance"] == dr_cr["credit_balance"]).all()
    assert (tb["debit_balance"] - tb["credit_balance"] == tb["closing_balance"]).all()


def test_trial_balances_equal_the_ledger_summed(tb: pd.DataFrame, ledger: pd.DataFrame) -> None:
    keys = ["company_code", "fiscal_year", "fiscal_period", "gl_account"]
    expected = ledger.groupby(keys).agg(
        debit=("debit", "sum"), credit=("credit", "sum"), lines=("debit", "size")
    )
    got = tb.set_index(keys)
    got = got[got["line_count"] > 0]
    assert len(got) == len(expected)
    joined = expected.join(got, how="left")
    assert (joined["debit"] == joined["period_debits"]).all()
    assert (joined["credit"] == joined["period_credits"]).all()
    assert (joined["lines"] == joined["line_count"]).all()


def test_balances_roll_forward_from_the_opening_entry(run: Path, tb: pd.DataFrame) -> None:
    opening = pq.read_table(run / "balances" / "opening_balances.parquet").to_pandas()
    opening["signed"] = cents(opening["debit_amount"]) - cents(opening["credit_amount"])
    assert (
        tb["closing_balance"] == tb["opening_balance"] + tb["period_debits"] - tb["period_credits"]
    ).all()
    for company, rows in tb.groupby("company_code"):
        periods = sorted(rows["period_start"].unique())
        wide = rows.pivot_table(
            index="gl_account",
            columns="period_start",
            values=["opening_balance", "closing_balance"],
            fill_value=0,
        )
        first = opening[opening["company_code"] == company].set_index("gl_account")["signed"]
        start = wide["opening_balance"][periods[0]].astype("int64")
        accounts = first.index.union(start.index)
        assert (
            start.reindex(accounts, fill_value=0) == first.reindex(accounts, fill_value=0)
        ).all()
        for before, after in itertools.pairwise(periods):
            assert (wide["closing_balance"][before] == wide["opening_balance"][after]).all()
        # the period ends are consecutive days: no period of the window is missing
        ends = rows.drop_duplicates("period_start").sort_values("period_start")
        gaps = (
            pd.to_datetime(ends["period_start"]).values[1:]
            - pd.to_datetime(ends["period_end"]).values[:-1]
        )
        assert (gaps == np.timedelta64(1, "D")).all()


def test_balance_sheet_equation_per_company_and_period(run: Path, tb: pd.DataFrame) -> None:
    chart = pq.read_table(run / "master_data" / "chart_of_accounts.parquet").to_pandas()
    klass = chart.set_index("account_number")["account_class"]
    frame = tb.assign(klass=tb["gl_account"].map(klass))
    for _, rows in frame.groupby(["company_code", "fiscal_year", "fiscal_period"]):
        by = rows.groupby("klass")["closing_balance"].sum()
        assets = by.get("1", 0)
        liabilities = -by.get("2", 0)
        equity = -by.get("3", 0)
        result = -by[by.index >= "4"].sum()
        assert assets != 0 and equity != 0
        assert assets == liabilities + equity + result


CASH_AND_PREPAID = ("100000", "100100", "100300", "130000")
INDUSTRY_CURRENT = {
    "manufacturing": {"cash": 0.15, "prepaid": 0.05},
    "technology": {"cash": 0.4, "prepaid": 0.12},
    "financial_services": {"cash": 0.35, "prepaid": 0.1},
}


def test_opening_balance_sheet_follows_the_industry(tmp_path: Path) -> None:
    for industry, current_share, debt_share, turnover in (
        ("manufacturing", 0.40, 0.40, 0.9),
        ("technology", 0.60, 0.25, 0.7),
        ("financial_services", 0.70, 0.70, 0.1),
    ):
        # the industry mix alone: without the register deciding the asset accounts
        config = small_config(
            tmp_path, f"global.industry={industry}", "balances.fixed_assets.enabled=false"
        )
        master = build_master(config)
        with_register = small_config(tmp_path, f"global.industry={industry}")
        for ci, company in enumerate(master.companies):
            amounts = opening_amounts(config, master, ci)
            registered = opening_amounts(with_register, master, ci)
            assert sum(registered.values()) == 0
            changed = {
                a for a in set(amounts) | set(registered) if amounts.get(a) != registered.get(a)
            }
            # only the register's accounts and retained earnings (which balances) move, and
            # the split of cash and prepaid: the window's prepayments, which the prepaid
            # account opens with, are a share of the entries asset accounting leaves
            assert changed - {"300200", *CASH_AND_PREPAID} <= set(REGISTER_ACCOUNTS)
            assert "140100" in changed
            assert sum(amounts.values()) == 0
            assets = sum(v for a, v in amounts.items() if a[0] == "1")
            # total_assets null (default): the expected annual revenue over the asset turnover
            assert company.annual_revenue > 0
            target = company.annual_revenue / turnover
            assert abs(assets / target - 1) <= 0.05 + 1e-9
            explicit = small_config(
                tmp_path,
                f"global.industry={industry}",
                "balances.fixed_assets.enabled=false",
                "balances.opening.total_assets=10000000",
            )
            given = sum(v for a, v in opening_amounts(explicit, master, ci).items() if a[0] == "1")
            assert abs(given / (10_000_000 * 100 * company.amount_scale) - 1) <= 0.05 + 1e-9
            current = sum(v for a, v in amounts.items() if a[:3] in ("100", "110", "120", "130"))
            assert current / assets == pytest.approx(current_share, abs=1e-6)
            # cash and prepaid together keep the industry's share of current assets; the
            # prepaid account holds what the window's own prepayments keep open (below)
            both = sum(amounts.get(a, 0) for a in CASH_AND_PREPAID)
            shares = INDUSTRY_CURRENT[industry]
            assert both / current == pytest.approx(shares["cash"] + shares["prepaid"], abs=1e-6)
            assert 0 < amounts["130000"] < (shares["cash"] + shares["prepaid"]) * current
            debt = -sum(v for a, v in amounts.items() if a[0] == "2")
            assert debt / assets == pytest.approx(debt_share, abs=1e-6)
            # amounts are whole units of the currency (yen have no cents)
            assert all(v % company.amount_unit == 0 for v in amounts.values())


def test_sums_are_exact_and_independent_of_grouping() -> None:
    rng = np.random.default_rng(5)
    n = 50_000
    accounts = np.array(["100100", "110000", "200000", "400000"])[rng.integers(0, 4, n)]
    # amounts near the top of decimal128(18, 2): a float sum would lose cents here
    debit = rng.integers(0, 10**15, n)
    credit = rng.integers(0, 10**15, n)
    lines = pa.table(
        {
            "gl_account": pa.array(accounts).dictionary_encode(),
            "debit_amount": decimal_from_minor(debit),
            "credit_amount": decimal_from_minor(credit),
        }
    )
    whole = ledger_sums(lines, "1000", 2024, 1)
    halves = combine_sums(
        ledger_sums(lines.slice(0, 12_345), "1000", 2024, 1),
        ledger_sums(lines.slice(12_345), "1000", 2024, 1),
    )
    assert whole.equals(halves)
    for row in whole.to_pylist():
        mask = accounts == row["gl_account"]
        assert row["debits"] == sum(int(x) for x in debit[mask])
        assert row["credits"] == sum(int(x) for x in credit[mask])
        assert row["lines"] == int(mask.sum())


def test_text_output_gives_the_same_trial_balances(run: Path, tmp_path: Path) -> None:
    out = tmp_path / "csv"
    datasynth.generate(
        small_config(out, "runtime.scheduler=synchronous", "output.format=csv", V3, DISPOSALS)
    )
    text = pa.csv.read_csv(out / "balances" / "trial_balances.csv").to_pandas()
    parquet = pq.read_table(run / "balances" / "trial_balances.parquet").to_pandas()
    assert len(text) == len(parquet)
    assert (cents(text["closing_balance"].astype(str)) == cents(parquet["closing_balance"])).all()
    assert (text["line_count"] == parquet["line_count"]).all()


def test_balances_can_be_switched_off(tmp_path: Path) -> None:
    out = tmp_path / "out"
    datasynth.generate(small_config(out, "runtime.scheduler=synchronous", "balances.enabled=false"))
    assert not (out / "balances").exists()
    manifest = json.loads((out / "manifest.json").read_text())
    assert "trial_balances" not in manifest["tables"]


def test_one_altered_journal_line_fails_the_checks(tmp_path: Path) -> None:
    out = tmp_path / "out"
    datasynth.generate(small_config(out, "runtime.scheduler=synchronous"))
    assert verify_output(out).returncode == 0
    manifest = json.loads((out / "manifest.json").read_text())
    record = next(
        f for f in manifest["files"] if f["table"] == "journal_entries" and f["rows"] > 10
    )
    table = pq.read_table(out / record["path"])
    column = table.schema.get_field_index("debit_amount")
    debit = table["debit_amount"].to_pylist()
    row = next(i for i, v in enumerate(debit) if v > 0)
    debit[row] += Decimal("0.01")
    table = table.set_column(column, table.field(column), pa.array(debit, table.field(column).type))
    rewrite_file(out, record, table, manifest)
    bad = verify_output(out)
    assert bad.returncode == 1
    assert "differ from the ledger" in bad.stderr
    assert "unbalanced entries" in bad.stderr


def test_an_altered_trial_balance_fails_the_checks(tmp_path: Path) -> None:
    out = tmp_path / "out"
    datasynth.generate(small_config(out, "runtime.scheduler=synchronous"))
    manifest = json.loads((out / "manifest.json").read_text())
    record = next(f for f in manifest["files"] if f["table"] == "trial_balances")
    table = pq.read_table(out / record["path"])
    # move one cent from one account's opening to another's: each period still sums to zero
    column = table.schema.get_field_index("opening_balance")
    opening = table["opening_balance"].to_pylist()
    periods = table["fiscal_period"].to_pylist()
    last = max(periods)
    rows = [i for i, p in enumerate(periods) if p == last][:2]
    opening[rows[0]] += Decimal("0.01")
    opening[rows[1]] -= Decimal("0.01")
    table = table.set_column(
        column, table.field(column), pa.array(opening, table.field(column).type)
    )
    rewrite_file(out, record, table, manifest)
    bad = verify_output(out)
    assert bad.returncode == 1
    assert "closing <> opening" in bad.stderr
    assert "opening differs from the previous closing" in bad.stderr


def test_plan_is_unchanged_by_balances(tmp_path: Path) -> None:
    on = build_plan(small_config(tmp_path))
    off = build_plan(small_config(tmp_path, "balances.enabled=false"))
    assert on == off


# --- period close ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def close_lines(run: Path) -> pd.DataFrame:
    table = ds.dataset(run / "journal_entries", format="parquet", partitioning="hive").to_table(
        filter=ds.field("source") == "period_close"
    )
    frame = table.to_pandas()
    for column in ("company_code", "gl_account", "document_type", "source"):
        frame[column] = frame[column].astype(str)
    frame["signed"] = cents(frame["debit_amount"]) - cents(frame["credit_amount"])
    return frame


def test_close_entries_carry_their_own_source_and_types(close_lines: pd.DataFrame) -> None:
    assert set(close_lines["document_type"]) >= {"AC", "AV", "AF", "MR", "YC"}
    # SA: the release of the opening prepaid balance
    assert set(close_lines["document_type"]) <= {"AC", "AV", "AF", "MR", "TX", "YC", "SA"}
    assert (close_lines.groupby("document_id")["signed"].sum() == 0).all()
    assert close_lines["document_id"].str.startswith("PC-").all()


def test_accruals_reverse_on_the_first_day_of_the_next_period(
    close_lines: pd.DataFrame, tb: pd.DataFrame
) -> None:
    accruals = close_lines[close_lines["document_type"] == "AC"]
    reversals = close_lines[close_lines["document_type"] == "AV"]
    assert len(accruals.groupby("document_id")) >= 6
    for company, rows in accruals.groupby("company_code"):
        starts = sorted(tb[tb["company_code"] == company]["period_start"].unique())
        for document_id, accrual in rows.groupby("document_id"):
            # accrued on the period's last day: every period of the window is accrued
            day = accrual["posting_date"].iloc[0]
            following = [s for s in starts if s > day]
            reversal = reversals[reversals["document_id"] == document_id.replace("-AC", "-AV")]
            if not following:
                assert reversal.empty  # the next period is not generated
                continue
            assert (reversal["posting_date"] == following[0]).all()
            a = accrual.set_index("gl_account")["signed"].sort_index()
            r = reversal.set_index("gl_account")["signed"].sort_index()
            assert a.index.equals(r.index) and (a == -r).all()
            assert a["210000"] < 0  # accrued expenses credited


def test_year_end_close_moves_the_result_to_retained_earnings(
    run: Path, tb: pd.DataFrame, ledger: pd.DataFrame, close_lines: pd.DataFrame
) -> None:
    # company 2000 keeps a V3 (April-March) fiscal year: FY2023 ends on 31 March 2024
    year_end = tb[
        (tb["company_code"] == "2000") & (tb["fiscal_year"] == 2023) & (tb["fiscal_period"] == 12)
    ]
    assert len(year_end) > 0
    pnl = year_end[year_end["gl_account"].str[0] >= "4"]
    assert (pnl["closing_balance"] == 0).all()
    assert (pnl["period_debits"] + pnl["period_credits"] > 0).any()
    # the year's result from the ledger itself, before the closing entry
    closing_ids = set(close_lines.loc[close_lines["document_type"] == "YC", "document_id"])
    lines = ledger[(ledger["company_code"] == "2000") & (ledger["fiscal_year"] == 2023)]
    assert len(closing_ids) == 1
    year_lines = lines[lines["gl_account"].str[0] >= "4"]
    closing = close_lines[close_lines["document_id"].isin(closing_ids)]
    before_close = (year_lines["debit"] - year_lines["credit"]).sum() - closing[
        closing["gl_account"].str[0] >= "4"
    ]["signed"].sum()
    result = -before_close
    re = year_end.set_index("gl_account").loc["300200"]
    assert re["closing_balance"] - re["opening_balance"] == -result
    # company 1000 (calendar year) has no year end in the window: nothing is closed
    assert not (close_lines[close_lines["company_code"] == "1000"]["document_type"] == "YC").any()
    later = tb[(tb["company_code"] == "1000") & (tb["gl_account"].str[0] >= "4")]
    assert (later["closing_balance"] != 0).any()


def summed_ledger(rows: list[tuple[str, int, int, str, int, int, int]]) -> pa.Table:
    """A hand-made summed ledger: (company, year, period, account, debits, credits, lines)."""
    from datasynth.generators.balances import SUMS_SCHEMA

    return pa.Table.from_pylist(
        [dict(zip(SUMS_SCHEMA.names, r, strict=True)) for r in rows], schema=SUMS_SCHEMA
    )


def test_tax_provision_and_closing_by_hand(tmp_path: Path) -> None:
    """A hand-made ledger: revenue 1,000,000.00 and expenses 600,000.00 in FY2023 of the V3
    company. Tax is 21% of the 400,000.00 profit; the closing empties revenue, expenses and
    tax expense into retained earnings (400,000.00 - 84,000.00 = 316,000.00 credit)."""
    from datasynth.generators.period_close import close_entries

    config = small_config(
        tmp_path,
        V3,
        "balances.period_close.accruals=false",
        "balances.period_close.credit_facility=false",
    )
    master = build_master(config)
    rows = [
        ("2000", 2023, 11, "400000", 0, 100_000_000, 3),
        ("2000", 2023, 11, "100100", 100_000_000, 0, 3),
        ("2000", 2023, 12, "610000", 60_000_000, 0, 2),
        ("2000", 2023, 12, "100100", 0, 60_000_000, 2),
    ]
    sums = summed_ledger(rows)
    table = close_entries(config, master, sums).to_pandas()
    table["signed"] = cents(table["debit_amount"]) - cents(table["credit_amount"])
    table["gl_account"] = table["gl_account"].astype(str)
    tax = table[table["document_type"].astype(str) == "TX"].set_index("gl_account")["signed"]
    assert tax.to_dict() == {"800000": 8_400_000, "220300": -8_400_000}
    closing = table[table["document_type"].astype(str) == "YC"].set_index("gl_account")["signed"]
    assert closing.to_dict() == {
        "400000": 100_000_000,
        "610000": -60_000_000,
        "800000": -8_400_000,
        "300200": -31_600_000,
    }
    assert set(table["posting_date"].astype(str)) == {"2024-03-31"}
    # a loss gets no tax provision, and the closing debits retained earnings
    flipped = sums.set_column(4, "debits", sums["credits"]).set_column(5, "credits", sums["debits"])
    loss = close_entries(config, master, flipped).to_pandas()
    assert "TX" not in set(loss["document_type"].astype(str))
    re = loss[loss["gl_account"].astype(str) == "300200"]
    assert cents(re["debit_amount"]).sum() == 40_000_000


def test_credit_facility_by_hand(tmp_path: Path) -> None:
    """Company 1000 (USD) opens with 50,000.00 in the bank. January pays 300,000.00: the
    balance of -250,000.00 is below the buffer (10% of the payments, 30,000.00), so the
    facility is drawn by 280,000.00 (to the buffer, in 10,000.00 steps). February charges
    6% a year on it for 29 days (1,334.79), receives 500,000.00 and pays 100,000.00: the
    balance of 428,665.21 is above its buffer (10,000.00), so the 280,000.00 are repaid.
    March has no payments: no interest, no draw."""
    from datasynth.generators.period_close import close_entries

    config = small_config(
        tmp_path,
        "balances.period_close.accruals=false",
        "balances.period_close.tax_provision=false",
    )
    master = build_master(config)
    rows = [
        ("1000", 2024, 1, "610000", 30_000_000, 0, 1),
        ("1000", 2024, 1, "100100", 0, 30_000_000, 1),
        ("1000", 2024, 2, "100100", 50_000_000, 10_000_000, 2),
        ("1000", 2024, 2, "400000", 0, 50_000_000, 1),
        ("1000", 2024, 2, "610000", 10_000_000, 0, 1),
    ]
    sums = summed_ledger(rows)
    table = close_entries(config, master, sums, [0], [{"100100": 5_000_000}]).to_pandas()
    table["signed"] = cents(table["debit_amount"]) - cents(table["credit_amount"])
    got = {
        (str(r.document_id), str(r.gl_account)): r.signed
        for r in table.itertuples()
        if str(r.document_id)[-4:] in ("FD01", "FI01", "FR01")
    }
    assert got == {
        ("PC-1000-202401-FD01", "100100"): 28_000_000,
        ("PC-1000-202401-FD01", "240000"): -28_000_000,
        ("PC-1000-202402-FI01", "700000"): 133_479,
        ("PC-1000-202402-FI01", "100100"): -133_479,
        ("PC-1000-202402-FR01", "240000"): 28_000_000,
        ("PC-1000-202402-FR01", "100100"): -28_000_000,
    }
    assert set(table["source"].astype(str)) == {"period_close"}
    # switched off: no facility entries
    off = small_config(
        tmp_path,
        "balances.period_close.accruals=false",
        "balances.period_close.credit_facility=false",
    )
    none = close_entries(off, master, sums, [0], [{"100100": 5_000_000}])
    assert not any(
        str(d).endswith(("FD01", "FI01", "FR01")) for d in none["document_id"].to_pylist()
    )


# --- asset accounting -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def register(run: Path) -> pd.DataFrame:
    frame = pq.read_table(run / "subledgers" / "fa_register").to_pandas()
    for column in (
        "carrying_cost",
        "accumulated_depreciation",
        "net_book_value",
        "period_depreciation",
    ):
        frame[column] = cents(frame[column])
    return frame


def test_asset_accounts_equal_the_register_at_every_period_end(
    register: pd.DataFrame, tb: pd.DataFrame
) -> None:
    keys = ["company_code", "fiscal_year", "fiscal_period"]
    cost = register.groupby([*keys, "gl_account"])["carrying_cost"].sum()
    contra = register.dropna(subset=["accumulated_depreciation_account"])
    contra = -contra.groupby([*keys, "accumulated_depreciation_account"])[
        "accumulated_depreciation"
    ].sum()
    contra.index = contra.index.set_names("gl_account", level=3)
    expected = cost.add(contra, fill_value=0)
    accounts = set(expected.index.get_level_values("gl_account"))
    assert {"140100", "140200", "150100", "160000"} <= accounts
    ledger = tb[tb["gl_account"].isin(accounts)].set_index([*keys, "gl_account"])["closing_balance"]
    joined = pd.concat([expected.rename("register"), ledger.rename("ledger")], axis=1).fillna(0)
    assert len(joined) >= 8 * len(accounts) - 8
    assert (joined["register"] == joined["ledger"]).all()
    # every period end of both companies is in the register
    assert register.groupby("company_code")["fiscal_period"].nunique().min() == 4


def test_depreciation_runs_post_what_the_register_depreciates(
    run: Path, register: pd.DataFrame, close_lines: pd.DataFrame
) -> None:
    runs = close_lines[close_lines["document_type"] == "AF"]
    keys = ["company_code", "fiscal_year", "fiscal_period"]
    posted = -runs[runs["signed"] < 0].groupby(keys)["signed"].sum()
    expected = register.groupby(keys)["period_depreciation"].sum()
    assert len(posted) == 8
    assert (posted.sort_index() == expected[expected > 0].sort_index()).all()
    detail = pq.read_table(run / "subledgers" / "depreciation").to_pandas()
    assert (cents(detail["amount"]) > 0).all()
    per_doc = detail.assign(a=cents(detail["amount"])).groupby("document_id")["a"].sum()
    assert (per_doc == (-runs[runs["signed"] < 0].groupby("document_id")["signed"].sum())).all()
    assert set(detail["depreciation_method"]) >= {"straight_line", "declining_balance"}


def test_disposals_clear_the_asset_and_book_the_gain_or_loss(
    ledger_lines: pd.DataFrame, register: pd.DataFrame
) -> None:
    disposals = ledger_lines[ledger_lines["posting_template"] == "A2R: Asset disposal"]
    gone = register[register["status"] == "disposed"].set_index("asset_id")
    assert disposals["document_id"].nunique() == len(gone) >= 3
    for asset, lines in disposals.groupby("source_document_id"):
        row = gone.loc[asset]
        by = lines.groupby("gl_account")["signed"].sum()
        assert by["100100"] == cents(pd.Series([row["disposal_proceeds"]])).iloc[0]
        assert by[row["gl_account"]] < 0
        gain = by.get("710300", 0)
        loss = by.get("640200", 0)
        cost = -by[row["gl_account"]]
        cleared = (
            by.get(row["accumulated_depreciation_account"], 0)
            if row["accumulated_depreciation_account"]
            else 0
        )
        # software's amortisation sits on its asset account: the credit is the book value
        assert by["100100"] - (cost - cleared) == -(gain + loss)


def test_acquisitions_are_paid_and_no_standalone_asset_entries_remain(
    ledger_lines: pd.DataFrame,
) -> None:
    a2r = ledger_lines[ledger_lines["business_process"] == "A2R"]
    assert set(a2r["posting_template"]) <= {
        "A2R: Asset acquisition",
        "A2R: Asset acquisition payment",
        "A2R: Depreciation run",
        "A2R: Asset disposal",
    }
    bought = a2r[
        (a2r["posting_template"] == "A2R: Asset acquisition") & (a2r["gl_account"] == "200000")
    ]
    paid = a2r[
        (a2r["posting_template"] == "A2R: Asset acquisition payment")
        & (a2r["gl_account"] == "200000")
    ]
    assert len(bought) >= 2
    assert bought["vendor_id"].notna().all()
    merged = bought.merge(paid, on="source_document_id", suffixes=("", "_paid"))
    assert len(merged) >= 1
    assert ((merged["posting_date_paid"] - merged["posting_date"]).dt.days == 30).all()
    assert (merged["signed"] == -merged["signed_paid"]).all()
    assert (merged["vendor_id"] == merged["vendor_id_paid"]).all()


@pytest.fixture(scope="module")
def ledger_lines(run: Path) -> pd.DataFrame:
    frame = (
        ds.dataset(run / "journal_entries", format="parquet", partitioning="hive")
        .to_table(filter=ds.field("business_process") == "A2R")
        .to_pandas()
    )
    for column in ("gl_account", "posting_template", "business_process"):
        frame[column] = frame[column].astype(str)
    frame["posting_date"] = pd.to_datetime(frame["posting_date"])
    frame["signed"] = cents(frame["debit_amount"]) - cents(frame["credit_amount"])
    return frame


def test_an_altered_register_fails_the_checks(tmp_path: Path) -> None:
    out = tmp_path / "out"
    datasynth.generate(small_config(out, "runtime.scheduler=synchronous"))
    manifest = json.loads((out / "manifest.json").read_text())
    record = next(f for f in manifest["files"] if f["table"] == "fa_register")
    table = pq.read_table(out / record["path"])
    column = table.schema.get_field_index("accumulated_depreciation")
    values = table["accumulated_depreciation"].to_pylist()
    values[len(values) // 2] += Decimal("0.01")
    table = table.set_column(
        column, table.field(column), pa.array(values, table.field(column).type)
    )
    rewrite_file(out, record, table, manifest)
    bad = verify_output(out)
    assert bad.returncode == 1
    assert "ledger differs from the register" in bad.stderr


# --- AP and AR open items -------------------------------------------------------------------


@pytest.fixture(scope="module")
def items(run: Path) -> pd.DataFrame:
    parts = []
    for name in ("ar_open_items", "ap_open_items"):
        frame = ds.dataset(run / "subledgers" / name, format="parquet").to_table().to_pandas()
        frame["ledger"] = name[:2].upper()
        parts.append(frame)
    frame = pd.concat(parts)
    frame["balance"] = cents(frame["balance"])
    frame["open_amount"] = cents(frame["open_amount"])
    return frame


def test_open_items_equal_the_control_accounts_at_every_period_end(
    items: pd.DataFrame, tb: pd.DataFrame
) -> None:
    keys = ["company_code", "fiscal_year", "fiscal_period", "gl_account"]
    summed = items.groupby(keys)["balance"].sum()
    control = tb[tb["gl_account"].isin(["110000", "200000"])].set_index(keys)["closing_balance"]
    assert len(control) == 16  # two accounts, two companies, four periods
    assert (summed.reindex(control.index, fill_value=0) == control).all()
    assert set(summed.index) <= set(control.index)
    # receivables are positive, payables negative when signed; open_amount is the ledger's way
    ar = items[items["ledger"] == "AR"]
    assert (ar["open_amount"] == ar["balance"]).all()
    ap = items[items["ledger"] == "AP"]
    assert (ap["open_amount"] == -ap["balance"]).all()


def test_open_items_are_the_lines_of_each_item_netted(run: Path, items: pd.DataFrame) -> None:
    lines = (
        ds.dataset(run / "journal_entries", format="parquet", partitioning="hive")
        .to_table(
            columns=[
                "company_code",
                "gl_account",
                "clearing_reference",
                "posting_date",
                "debit_amount",
                "credit_amount",
                "source_document_id",
            ],
            filter=ds.field("clearing_reference").is_valid(),
        )
        .to_pandas()
    )
    lines["gl_account"] = lines["gl_account"].astype(str)
    lines["signed"] = cents(lines["debit_amount"]) - cents(lines["credit_amount"])
    assert set(lines["gl_account"]) == {"110000", "200000"}
    sample = items[~items["item_id"].str.startswith("OI-")].sample(300, random_state=1)
    # an item is the lines of one account with one reference (an entry may hold two: an FX
    # revaluation moves AR against AP)
    by_item = lines.groupby(["clearing_reference", "gl_account"])
    for row in sample.itertuples():
        mine = by_item.get_group((row.item_id, row.gl_account))
        assert (mine["posting_date"] <= row.period_end).any()
        assert mine.loc[mine["posting_date"] <= row.period_end, "signed"].sum() == row.balance
    # a customer invoice paid in full is listed until the receipt and never after it
    receipts = lines[lines["source_document_id"].str.startswith("REC-", na=False)]
    netted = by_item["signed"].sum()
    paid = set(netted[netted == 0].index.get_level_values(0)) & set(receipts["clearing_reference"])
    assert len(paid) > 50
    listed = items.groupby("item_id")["period_end"].max()
    for item_id in sorted(paid)[:100]:
        last_line = lines.loc[lines["clearing_reference"] == item_id, "posting_date"].max()
        if item_id in listed.index:
            assert listed[item_id] < last_line


def test_opening_items_carry_the_opening_balances_and_are_settled(
    run: Path, items: pd.DataFrame, tb: pd.DataFrame
) -> None:
    first = items[items["item_id"].str.startswith("OI-")]
    opening = tb[tb["period_start"] == tb.groupby("company_code")["period_start"].transform("min")]
    control = opening[opening["gl_account"].isin(["110000", "200000"])].set_index(
        ["company_code", "gl_account"]
    )["opening_balance"]
    assert (control != 0).all()
    settlements = (
        ds.dataset(run / "journal_entries", format="parquet", partitioning="hive")
        .to_table(filter=ds.field("clearing_reference").is_valid())
        .to_pandas()
    )
    settlements = settlements[settlements["clearing_reference"].str.startswith("OI-")]
    settlements["signed"] = cents(settlements["debit_amount"]) - cents(settlements["credit_amount"])
    assert set(settlements["document_type"].astype(str)) == {"DZ", "KZ"}
    # the opening balance = what was settled in the window + what is still open at its end
    settlements["gl_account"] = settlements["gl_account"].astype(str)
    paid_in_window = settlements.groupby(["company_code", "gl_account"])["signed"].sum()
    still_open = (
        first[first["period_end"] == first["period_end"].max()]
        .groupby(["company_code", "gl_account"])["balance"]
        .sum()
    )
    for key, value in control.items():
        key = (key[0], key[1])
        assert value + paid_in_window.get(key, 0) == still_open.get(key, 0)
    # most are paid around their due date: few (5% are never paid) are open at the end
    at_end = first[first["period_end"] == first["period_end"].max()]
    total = len(set(settlements["clearing_reference"]) | set(at_end["item_id"]))
    assert total > 300
    assert len(at_end) < 0.1 * total
    assert (at_end["aging_bucket"] == "over_90").all()


def test_aging_and_reconciliation_tables(run: Path, items: pd.DataFrame) -> None:
    aging = pq.read_table(run / "subledgers" / "aging.parquet").to_pandas()
    aging["balance"] = cents(aging["balance"])
    keys = ["company_code", "fiscal_year", "fiscal_period", "ledger", "aging_bucket"]
    expected = items.groupby(keys).agg(balance=("balance", "sum"), items=("item_id", "size"))
    got = aging.set_index(keys)[["balance", "items"]]
    assert got.sort_index().equals(expected.sort_index())
    assert set(aging["aging_bucket"]) == {"current", "1-30", "31-60", "61-90", "over_90"}
    recon = pq.read_table(run / "subledgers" / "reconciliation.parquet").to_pandas()
    assert set(recon["subledger"]) == {"AR", "AP", "FA", "INV"}
    assert (cents(recon["difference"]) == 0).all()
    assert recon.groupby(["company_code", "fiscal_year", "fiscal_period"]).ngroups == 8


def test_flow_items_are_due_when_their_invoice_is(run: Path, items: pd.DataFrame) -> None:
    invoices = (
        ds.dataset(run / "document_flows" / "customer_invoices", format="parquet")
        .to_table(columns=["customer_invoice_id", "due_date", "customer_id"])
        .to_pandas()
        .set_index("customer_invoice_id")
    )
    mine = items[items["item_id"].str.startswith("CI-")]
    assert len(mine) > 100
    joined = mine.merge(
        invoices, left_on="item_id", right_index=True, suffixes=("", "_invoice"), how="left"
    )
    assert (joined["due_date"] == joined["due_date_invoice"]).all()
    assert (joined["partner_id"] == joined["customer_id"]).all()


def test_an_altered_open_item_fails_the_checks(tmp_path: Path) -> None:
    out = tmp_path / "out"
    datasynth.generate(small_config(out, "runtime.scheduler=synchronous"))
    manifest = json.loads((out / "manifest.json").read_text())
    record = next(f for f in manifest["files"] if f["table"] == "ar_open_items" and f["rows"] > 5)
    table = pq.read_table(out / record["path"])
    column = table.schema.get_field_index("balance")
    values = table["balance"].to_pylist()
    values[0] += Decimal("0.01")
    table = table.set_column(
        column, table.field(column), pa.array(values, table.field(column).type)
    )
    rewrite_file(out, record, table, manifest)
    bad = verify_output(out)
    assert bad.returncode == 1
    assert "differs from its open items" in bad.stderr
    assert "against their journal lines" in bad.stderr


# --- inventory ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def stock(run: Path) -> pd.DataFrame:
    frame = pq.read_table(run / "subledgers" / "inventory").to_pandas()
    for column in (
        "opening_value",
        "receipt_value",
        "production_value",
        "consumption_value",
        "issue_value_posted",
        "issue_value",
        "revaluation",
        "closing_value",
    ):
        frame[column] = cents(frame[column])
    return frame


def test_inventory_accounts_equal_the_stock_positions(
    stock: pd.DataFrame, tb: pd.DataFrame
) -> None:
    keys = ["company_code", "fiscal_year", "fiscal_period", "gl_account"]
    positions = stock.groupby(keys)["closing_value"].sum()
    ledger = tb[tb["gl_account"].str.startswith("120")].set_index(keys)["closing_balance"]
    assert len(ledger) >= 16
    assert (positions.reindex(ledger.index, fill_value=0) == ledger).all()
    assert set(positions.index) <= set(ledger.index)
    assert (stock["closing_quantity"] >= 0).all()
    assert ((stock["closing_quantity"] > 0) | (stock["closing_value"] == 0)).all()


def test_positions_roll_forward_and_issues_are_valued_at_the_period_average(
    stock: pd.DataFrame,
) -> None:
    s = stock
    unit = 1  # both companies keep cents
    assert (
        s["closing_quantity"]
        == s["opening_quantity"]
        + s["receipt_quantity"]
        + s["production_quantity"]
        - s["issue_quantity"]
        - s["consumption_quantity"]
    ).all()
    assert (
        s["closing_value"]
        == s["opening_value"]
        + s["receipt_value"]
        + s["production_value"]
        - s["issue_value"]
        - s["consumption_value"]
    ).all()
    # weighted average cost of the period (IAS 2.27): everything available, over its quantity
    issued = s[(s["issue_quantity"] > 0) & (s["closing_quantity"] > 0)]
    assert len(issued) > 100
    available_value = issued["opening_value"] + issued["receipt_value"] + issued["production_value"]
    available_qty = (
        issued["opening_quantity"] + issued["receipt_quantity"] + issued["production_quantity"]
    )
    expected = (issued["issue_quantity"] * available_value / available_qty / unit).round().astype(
        "int64"
    ) * unit
    assert (issued["issue_value"] == expected).all()
    assert (s["revaluation"] == s["issue_value_posted"] - s["issue_value"]).all()
    # a period opens with the previous one's closing position
    s = s.sort_values(["company_code", "gl_account", "material_id", "period_end"])
    nxt = s.groupby(["company_code", "gl_account", "material_id"]).shift(-1)
    follows = nxt["opening_quantity"].notna()
    assert (s.loc[follows, "closing_quantity"] == nxt.loc[follows, "opening_quantity"]).all()
    assert (s.loc[follows, "closing_value"] == nxt.loc[follows, "opening_value"]).all()


def test_inventory_lines_name_their_material_and_match_the_goods_receipts(run: Path) -> None:
    lines = (
        ds.dataset(run / "journal_entries", format="parquet", partitioning="hive")
        .to_table(
            columns=["gl_account", "material_id", "quantity", "posting_template", "debit_amount"],
        )
        .to_pandas()
    )
    lines["gl_account"] = lines["gl_account"].astype(str)
    on_stock = lines[lines["gl_account"].str.startswith("120")]
    assert on_stock["material_id"].notna().all() and on_stock["quantity"].notna().all()
    assert lines.loc[~lines["gl_account"].str.startswith("120"), "material_id"].isna().all()
    received = on_stock[on_stock["posting_template"].astype(str) == "P2P: Goods receipt"]
    receipts = (
        ds.dataset(run / "document_flows" / "goods_receipts", format="parquet")
        .to_table()
        .to_pandas()
    )
    assert received["quantity"].sum() == receipts["quantity"].sum() > 0
    per_material = received.groupby("material_id")["quantity"].sum()
    documents = receipts.groupby("material_id")["quantity"].sum()
    assert per_material.sort_index().equals(documents.sort_index().astype(per_material.dtype))
    templates = set(on_stock["posting_template"].astype(str))
    assert {"P2P: Production and replenishment receipt", "R2R: Inventory revaluation"} <= templates


def test_an_altered_stock_position_fails_the_checks(tmp_path: Path) -> None:
    out = tmp_path / "out"
    datasynth.generate(small_config(out, "runtime.scheduler=synchronous"))
    manifest = json.loads((out / "manifest.json").read_text())
    record = next(f for f in manifest["files"] if f["table"] == "inventory")
    table = pq.read_table(out / record["path"])
    column = table.schema.get_field_index("closing_quantity")
    values = table["closing_quantity"].to_pylist()
    values[len(values) // 3] += 1
    table = table.set_column(
        column, table.field(column), pa.array(values, table.field(column).type)
    )
    rewrite_file(out, record, table, manifest)
    bad = verify_output(out)
    assert bad.returncode == 1
    assert "do not roll forward" in bad.stderr


def test_standalone_items_are_settled_around_their_due_date(run: Path) -> None:
    """Service invoices, credit memos and FX lines on AP/AR are items of their entry; the block
    that posts them also posts their payment or receipt (bank against the item), 5 days
    before to 25 after the due date, and only a few stay unpaid."""
    lines = (
        ds.dataset(run / "journal_entries", format="parquet", partitioning="hive")
        .to_table(
            filter=ds.field("clearing_reference").is_valid(),
            columns=[
                "document_id",
                "document_type",
                "posting_date",
                "gl_account",
                "debit_amount",
                "credit_amount",
                "clearing_reference",
                "due_date",
                "source_document_id",
            ],
        )
        .to_pandas()
    )
    lines = lines[lines["clearing_reference"].str.startswith("JE-")]
    lines["signed"] = cents(lines["debit_amount"]) - cents(lines["credit_amount"])
    lines["gl_account"] = lines["gl_account"].astype(str)
    is_settlement = lines["document_id"] != lines["clearing_reference"]
    items = (
        lines[~is_settlement]
        .groupby(["clearing_reference", "gl_account"])
        .agg(value=("signed", "sum"), due=("due_date", "max"), posted=("posting_date", "max"))
    )
    items = items[items["value"] != 0]
    paid = lines[is_settlement].set_index(["clearing_reference", "gl_account"])
    assert len(items) > 300
    assert paid.index.is_unique
    assert paid["source_document_id"].isna().all()
    assert set(paid["document_type"].astype(str)) == {"DZ", "KZ"}
    joined = items.join(paid, how="inner")
    assert len(joined) > 0.5 * len(items)
    # each settlement clears its item exactly, on the bank, around the due date
    assert (joined["signed"] == -joined["value"]).all()
    assert set(paid.index) <= set(items.index)
    lag = (pd.to_datetime(joined["posting_date"]) - pd.to_datetime(joined["due"])).dt.days
    assert lag.between(-5, 27).all()
    assert (pd.to_datetime(joined["posting_date"]) >= pd.to_datetime(joined["posted"])).all()
    # numbered like the block's entries (JE-<company>-<YYYYPP>-<11 digits>), after them
    assert joined["document_id"].str.fullmatch(r"JE-\d{4}-\d{6}-\d{11}").all()
    assert (joined["document_id"] > joined.index.get_level_values(0)).all()
    # items due at least 30 days before the window end are settled unless among the 3% unpaid
    end = pd.to_datetime(lines["posting_date"]).max()
    old = items[pd.to_datetime(items["due"]) < end - pd.Timedelta(days=30)]
    unpaid = old.index.difference(paid.index)
    assert len(old) > 200
    assert len(unpaid) < 0.08 * len(old)
