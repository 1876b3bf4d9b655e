"""Follow-on entries on real generated data: accrual reversals, prepaid releases and bank
transfer returns (docs/generation.md#follow-on-entries), checked against the entries they
follow with pandas over the written files, in exact cents."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest
from conftest import rewrite_file, small_config, verify_output

import datasynth
from datasynth.generators.chart_of_accounts import build_chart_of_accounts
from datasynth.generators.master import build_posting_model

MONTHS = 12


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("follow_ons") / "out"
    datasynth.generate(
        small_config(
            out,
            "runtime.scheduler=synchronous",
            f"global.period_months={MONTHS}",
            "transactions.count=30000",
        )
    )
    return out


@pytest.fixture(scope="module")
def lines(run: Path) -> pd.DataFrame:
    frame = (
        ds.dataset(run / "journal_entries", format="parquet", partitioning="hive")
        .to_table()
        .to_pandas()
    )
    for column in ("company_code", "gl_account", "posting_template", "source", "document_type"):
        frame[column] = frame[column].astype(str)
    frame["amount"] = (frame["debit_amount"] - frame["credit_amount"]).map(
        lambda d: int(Decimal(d) * 100)
    )
    frame["posting_date"] = pd.to_datetime(frame["posting_date"])
    return frame


def _follow_ons(lines: pd.DataFrame, template: str) -> pd.DataFrame:
    return lines[lines["posting_template"] == template]


def _net(frame: pd.DataFrame, key: str) -> pd.Series:
    return frame.groupby([key, "gl_account"])["amount"].sum()


def test_accruals_reverse_on_the_first_day_of_the_next_period(lines: pd.DataFrame) -> None:
    accruals = _follow_ons(lines, "R2R: Accrual")
    reversals = _follow_ons(lines, "R2R: Accrual reversal")
    reversals = reversals[reversals["source"] == "reversal"]
    assert reversals["document_type"].eq("SA").all()
    last = accruals["posting_date"].max().to_period("M")
    before_last = accruals[accruals["posting_date"].dt.to_period("M") < last]
    # every accrual before the last period has exactly one reversal; none in the last one
    reversed_ids = set(reversals["source_document_id"])
    assert reversed_ids == set(before_last["document_id"])
    assert reversals.groupby("source_document_id")["document_id"].nunique().eq(1).all()
    # the reversal nets its accrual to zero on every account, and posts on the 1st
    net = _net(accruals[accruals["document_id"].isin(reversed_ids)], "document_id")
    back = _net(reversals, "source_document_id")
    back.index = back.index.set_names(net.index.names)
    assert net.add(back, fill_value=0).eq(0).all()
    first = reversals.groupby("source_document_id")["posting_date"].first()
    original = accruals.groupby("document_id")["posting_date"].first().loc[first.index]
    expected = (original.dt.to_period("M") + 1).dt.to_timestamp()
    assert (first.to_numpy() == expected.to_numpy()).all()
    # keeps the accrual's preparer and business process
    head = accruals.groupby("document_id")[["created_by", "business_process"]].first()
    mine = reversals.groupby("source_document_id")[["created_by", "business_process"]].first()
    assert (head.loc[mine.index].astype(str) == mine.astype(str)).all().all()


def test_prepaid_releases_expense_the_payment_exactly(lines: pd.DataFrame) -> None:
    payments = _follow_ons(lines, "R2R: Prepaid expense payment")
    releases = _follow_ons(lines, "R2R: Prepaid expense release")
    releases = releases[releases["source"] != "period_close"]  # the opening balance's
    assert len(payments) and len(releases)
    assert releases["source"].eq("recurring").all()
    prepaid = lines["gl_account"].str.startswith("1300")
    # a payment debits prepaid and credits the main bank account
    assert (payments.loc[payments["amount"] > 0, "gl_account"].str.startswith("1300")).all()
    assert (payments.loc[payments["amount"] < 0, "gl_account"].str.startswith("1001")).all()
    counts = releases.groupby("source_document_id")["document_id"].nunique()
    assert set(counts.unique()) <= {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}
    # releases post on period ends, one per period, debit one expense line each
    assert (releases["posting_date"] + pd.Timedelta(days=1)).dt.day.eq(1).all()
    per_period = releases.groupby(["source_document_id", releases["posting_date"].dt.month])
    assert per_period["document_id"].nunique().eq(1).all()
    debits = releases[releases["amount"] > 0]
    assert debits.groupby("document_id").size().eq(1).all()
    assert not debits["gl_account"].str.startswith("1").any()
    # what a payment's releases credit to prepaid never exceeds what it put there, and a
    # payment of the first period released 3, 6 or 12 times is released in full
    paid = payments[prepaid.loc[payments.index]].groupby("document_id")["amount"].sum()
    released = -releases[prepaid.loc[releases.index]].groupby("source_document_id")["amount"].sum()
    assert (released <= paid.loc[released.index]).all()
    first_month = payments["posting_date"].dt.month.eq(payments["posting_date"].min().month)
    early = set(payments.loc[first_month, "document_id"])
    full = counts[counts.index.isin(early) & counts.isin([3, 6])]
    assert len(full) > 0
    assert (released.loc[full.index] == paid.loc[full.index]).all()


def test_bank_transfers_come_back_within_a_month(lines: pd.DataFrame) -> None:
    transfers = _follow_ons(lines, "R2R: Bank transfer")
    returns = _follow_ons(lines, "R2R: Bank transfer return")
    assert len(transfers) and len(returns)
    # out of the main operating account(s) into the others, back by the return
    assert (transfers.loc[transfers["amount"] < 0, "gl_account"].str.startswith("1001")).all()
    assert not (transfers.loc[transfers["amount"] > 0, "gl_account"].isin(["100100"])).any()
    net = _net(
        transfers[transfers["document_id"].isin(returns["source_document_id"])], "document_id"
    )
    back = _net(returns, "source_document_id")
    back.index = back.index.set_names(net.index.names)
    assert net.add(back, fill_value=0).eq(0).all()
    out = transfers.groupby("document_id")["posting_date"].first()
    came = returns.groupby("source_document_id")["posting_date"].first()
    # every transfer comes back; one that would pass the window's end on its last day
    assert set(came.index) == set(out.index)
    days = (came - out.loc[came.index]).dt.days
    end = lines["posting_date"].max()
    assert days[came < end].between(1, 32).all()
    assert days[came == end].between(0, 32).all()
    assert (came.dt.day_of_week < 5).all() or (came[came.dt.day_of_week >= 5] == end).all()


def test_unassigned_bank_items_are_cleared_from_suspense(run: Path, lines: pd.DataFrame) -> None:
    """An unassigned bank debit or credit is parked on suspense or bank clearing and cleared
    1-20 days later to an expense or income account: the parking accounts return to zero."""
    parking = ("199000", "199100")
    for kind, cleared_to in (
        ("debit", ("630400", "700000", "700200")),  # bank charges, interest, other expenses
        ("credit", ("710000", "710400")),  # interest income, other operating income
    ):
        items = _follow_ons(lines, f"R2R: Unassigned bank {kind}")
        clearings = _follow_ons(lines, f"R2R: Clearing of unassigned bank {kind}")
        assert items["document_id"].nunique() >= 5
        assert set(clearings["source_document_id"]) == set(items["document_id"])
        assert set(items["gl_account"]) <= {*parking, "100100"}
        # the bank side becomes the expense or income; the parked lines are taken back
        replaced = clearings[~clearings["gl_account"].isin(parking)]
        assert replaced["gl_account"].str.startswith(cleared_to).all(), replaced["gl_account"]
        assert (replaced["amount"] > 0).all() if kind == "debit" else (replaced["amount"] < 0).all()
        on = pd.concat([items, clearings])
        on = on[on["gl_account"].isin(parking)]
        assert on.groupby(["company_code", "gl_account"])["amount"].sum().eq(0).all()
        days = (
            clearings.groupby("source_document_id")["posting_date"].first()
            - items.groupby("document_id")["posting_date"].first()
        ).dt.days
        assert days.between(0, 22).all()
        # cleared by people, also where a batch job (a bank statement import) parked the item
        assert (items["user_persona"].astype(str) == "automated_system").any()
        assert (clearings["user_persona"].astype(str) != "automated_system").all()
        assert (clearings["source"] == "manual").all()
    # nothing else posts there (no anomalies in this run): they end the window where they began
    tb = pq.read_table(run / "balances" / "trial_balances.parquet").to_pandas()
    tb["gl_account"] = tb["gl_account"].astype(str)
    parked = tb[tb["gl_account"].isin(parking)].sort_values(["fiscal_year", "fiscal_period"])
    ends = parked.groupby(["company_code", "gl_account"], observed=True).agg(
        first=("opening_balance", "first"), last=("closing_balance", "last")
    )
    assert (ends["first"] == ends["last"]).all(), ends


def test_balances_stay_on_the_right_side(run: Path) -> None:
    tb = pq.read_table(run / "balances" / "trial_balances.parquet").to_pandas()
    tb["gl_account"] = tb["gl_account"].astype(str)
    tb["closing"] = tb["closing_balance"].map(lambda d: int(Decimal(d) * 100))
    key = ["company_code", "fiscal_year", "fiscal_period"]

    def total(prefixes: tuple[str, ...]) -> pd.Series:
        on = tb["gl_account"].str.startswith(prefixes)
        return tb[on].groupby(key, observed=True)["closing"].sum()

    # prepaid funded by its payments (and the opening balance), other bank accounts by the
    # transfers into them: never negative at a period end
    assert (total(("1300",)) >= 0).all()
    others = tb[
        tb["gl_account"].str.startswith("100") & ~tb["gl_account"].isin(["100000", "100100"])
    ]
    assert others["gl_account"].nunique() >= 3
    assert (others["closing"] >= 0).all(), others[others["closing"] < 0].head()
    # the main operating account: the credit facility tops it up at every period end
    main = tb[tb["gl_account"] == "100100"]
    assert len(main) == 2 * MONTHS and (main["closing"] >= 0).all(), main[main["closing"] < 0]
    # accrued liabilities hold the opening balance plus the period's own accruals (standalone
    # and the close stage's): every earlier accrual has been reversed
    accrued = -total(("2100",))
    first = tb[tb["gl_account"].str.startswith("2100")]
    opening = (
        first.assign(opening=first["opening_balance"].map(lambda d: int(Decimal(d) * 100)))
        .sort_values(key)
        .groupby(["company_code", "gl_account"], observed=True)["opening"]
        .first()
        .groupby(level=0)
        .sum()
    )
    led = ds.dataset(run / "journal_entries", format="parquet", partitioning="hive").to_table()
    led = led.to_pandas()
    for column in ("company_code", "gl_account", "posting_template"):
        led[column] = led[column].astype(str)
    on = led["gl_account"].str.startswith("2100") & led["posting_template"].isin(
        ["R2R: Accrual", "R2R: Period-end accrual"]
    )
    posted = led[on].assign(
        v=(led["credit_amount"] - led["debit_amount"]).map(lambda d: int(Decimal(d) * 100))
    )
    own = posted.groupby(key, observed=True)["v"].sum()
    expected = own.add(-opening.reindex(own.index, level=0), fill_value=0)
    assert accrued.loc[own.index].equals(expected.astype("int64"))


def test_follow_ons_stand_in_for_drawn_entries() -> None:
    config = datasynth.load_config(["global.period_months=3", "transactions.count=60000"])
    plan = datasynth.plan(config)
    block = next(b for b in plan.blocks_of("journal_entries") if b.fiscal_period == 1)
    table = datasynth.generate_block(config, "journal_entries", block.index)
    first = table.filter(pc.equal(table["line_number"], 1))
    templates = pc.value_counts(first["posting_template"].cast(pa.string())).to_pylist()
    count = {t["values"]: t["counts"] for t in templates}
    # R2R: a reversal for about every accrual, releases for the prepayments
    assert abs(count["R2R: Accrual"] - count["R2R: Accrual reversal"]) <= 1
    assert count["R2R: Prepaid expense release"] > count["R2R: Prepaid expense payment"]
    # the process mix of the entries holds: R2R keeps its configured share of the block
    r2r = sum(v for k, v in count.items() if k.startswith("R2R"))
    share = config.transactions.business_processes["R2R"]
    assert abs(r2r / block.entries - share) < 0.02


def test_installments_on_open_items_are_refused() -> None:
    import datasynth.generators.master as master_module

    chart = build_chart_of_accounts("small", "manufacturing")
    original = master_module.load

    def patched(name: str) -> dict:
        data = json.loads(json.dumps(original(name)))
        if name == "chart_of_accounts":
            template = data["posting_templates"]["P2P"][2]  # vendor invoice for services: AP
            template["follow_on"] = {
                "name": "x",
                "document_type": "SA",
                "source": "recurring",
                "timing": "period_end",
                "installments": {"3": 1.0},
            }
        return data

    master_module.load = patched  # type: ignore[assignment]
    try:
        with pytest.raises(ValueError, match="installments on a template that posts open items"):
            build_posting_model(chart)
    finally:
        master_module.load = original  # type: ignore[assignment]


def test_an_altered_reversal_fails_the_checks(tmp_path: Path) -> None:
    out = tmp_path / "out"
    datasynth.generate(small_config(out, "runtime.scheduler=synchronous"))
    manifest = json.loads((out / "manifest.json").read_text())
    # move a reversal's line to another account: still balanced, no longer a reversal
    for record in manifest["files"]:
        if record["table"] != "journal_entries":
            continue
        table = pq.read_table(out / record["path"])
        source = table["source"].cast(pa.string()).to_pylist()
        rows = [i for i, s in enumerate(source) if s == "reversal"]
        if rows:
            break
    else:
        pytest.fail("no reversal in the run")
    column = table.schema.get_field_index("gl_account")
    accounts = table["gl_account"].cast(pa.string()).to_pylist()
    accounts[rows[0]] = "100200" if accounts[rows[0]] != "100200" else "100300"
    table = table.set_column(column, "gl_account", pa.array(accounts).dictionary_encode())
    rewrite_file(out, record, table, manifest)
    bad = verify_output(out)
    assert bad.returncode == 1
    assert "a reversal does not net its entry" in bad.stderr


def test_the_opening_prepaid_balance_runs_off_like_the_window_s_prepayments(
    run: Path, lines: pd.DataFrame
) -> None:
    """Prepayments of 3, 6 or 12 periods (30/30/40%) in a steady stream leave open, per period
    of payments, 1 + 2.5 + 5.5 period-shares: R(0) = 0.3 x 1 + 0.3 x 2.5 + 0.4 x 5.5 = 3.25.
    After one more release R(1) = 0.3 x 1/3 + 0.3 x 10/6 + 0.4 x 55/12 = 2.4333..., so the
    first period end releases (3.25 - 2.4333) / 3.25 = 25.13% of the opening balance, and
    the last (the 11th, of 12-period prepayments only) 0.4 x 1/12 / 3.25 = 1.03%."""
    tb = pq.read_table(run / "balances" / "trial_balances.parquet").to_pandas()
    tb["gl_account"] = tb["gl_account"].astype(str)
    first = tb[(tb["fiscal_period"] == tb["fiscal_period"].min()) & (tb["fiscal_year"] == 2024)]
    first = first[first["gl_account"].str.startswith("1300")]
    opening = first.groupby("company_code", observed=True)["opening_balance"].sum()
    opening = opening.map(lambda d: int(Decimal(d) * 100))
    releases = lines[lines["document_id"].str.endswith("-PR01")]
    assert releases["source"].eq("period_close").all()
    assert releases["posting_template"].eq("R2R: Prepaid expense release").all()
    on_prepaid = releases[releases["gl_account"].str.startswith("1300")]
    released = -on_prepaid.groupby("company_code")["amount"].sum()
    assert (opening > 0).all()
    assert released.sort_index().to_dict() == opening.sort_index().to_dict()
    per_period = -on_prepaid.groupby(["company_code", "posting_date"])["amount"].sum()
    assert per_period.groupby(level=0).size().eq(11).all()
    for code, parts in per_period.groupby(level=0):
        share = parts.to_numpy() / opening[code]
        assert share[0] == pytest.approx(0.8167 / 3.25, abs=1e-3)
        assert share[-1] == pytest.approx(0.4 / 12 / 3.25, abs=1e-3)
        assert (np.diff(share) <= 1e-6).all()  # front-loaded
    assert releases["posting_date"].dt.month.max() == 11
