"""Invariants on real generated journal entries (a full run read back from Parquet)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest

import datasynth
from datasynth.config.models import parse_line_bucket
from datasynth.core.money import minor_from_decimal

BENFORD = np.log10(1 + 1 / np.arange(1, 10))
#: the statistical models of standalone entries are checked without document flows (flow
#: entries have the lines, dates and sources their documents need; tests/generators/
#: test_document_flows.py covers them), nor asset accounting and close entries, which replace
#: the A2R templates (tests/runtime/test_balances.py)
OVERRIDES = (
    "document_flows.enabled=false",
    "balances.enabled=false",
    "transactions.count=120000",
    "global.period_months=12",
    "runtime.scheduler=synchronous",
    "runtime.progress=false",
)


@pytest.fixture(scope="module")
def run(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[datasynth.DatasynthConfig, Path, pa.Table]:
    out = tmp_path_factory.mktemp("je") / "out"
    cfg = datasynth.load_config([*OVERRIDES, f"output.dir={out}"])
    datasynth.generate(cfg)
    table = ds.dataset(out / "journal_entries", format="parquet", partitioning="hive").to_table()
    return cfg, out, table


@pytest.fixture(scope="module")
def entries(run: tuple[datasynth.DatasynthConfig, Path, pa.Table]) -> pa.Table:
    """One row per entry: line count, debit and credit sums, header fields."""
    _, _, t = run
    debit = minor_from_decimal(t["debit_amount"])
    credit = minor_from_decimal(t["credit_amount"])
    lines = pa.table(
        {
            "document_id": t["document_id"],
            "debit": debit,
            "credit": credit,
            "source": t["source"].cast(pa.string()),
            "posting_date": t["posting_date"],
            "follows": t["source_document_id"].is_valid(),
        }
    )
    return lines.group_by("document_id").aggregate(
        [
            ("debit", "sum"),
            ("credit", "sum"),
            ("debit", "count"),
            ("source", "min"),
            ("source", "max"),
            ("posting_date", "min"),
            ("posting_date", "max"),
            ("follows", "max"),
        ]
    )


@pytest.fixture(scope="module")
def drawn(entries: pa.Table) -> pa.Table:
    """The entries drawn from the statistical model: not the follow-ons (accrual reversals,
    prepaid releases, transfer returns) that stand in for some of them."""
    return entries.filter(pc.invert(entries["follows_max"]))


def test_every_entry_balances_exactly(
    run: tuple[datasynth.DatasynthConfig, Path, pa.Table], entries: pa.Table
) -> None:
    # follow-ons stand in for drawn entries: at most one entry more per template with
    # follow-ons (3) and block
    cfg, _, _ = run
    blocks = len(datasynth.plan(cfg).blocks_of("journal_entries"))
    assert 120_000 <= entries.num_rows <= 120_000 + 3 * blocks
    assert pc.all(pc.equal(entries["debit_sum"], entries["credit_sum"])).as_py()


def test_lines_have_exactly_one_positive_side(
    run: tuple[datasynth.DatasynthConfig, Path, pa.Table],
) -> None:
    _, _, t = run
    debit = minor_from_decimal(t["debit_amount"])
    credit = minor_from_decimal(t["credit_amount"])
    assert np.all((debit > 0) ^ (credit > 0))
    assert np.all((debit >= 0) & (credit >= 0))


def test_header_fields_constant_within_entry(entries: pa.Table) -> None:
    assert pc.all(pc.equal(entries["source_min"], entries["source_max"])).as_py()
    assert pc.all(pc.equal(entries["posting_date_min"], entries["posting_date_max"])).as_py()


def test_dates_inside_period_and_fiscal_calendar(
    run: tuple[datasynth.DatasynthConfig, Path, pa.Table],
) -> None:
    cfg, _, t = run
    start, stop = cfg.global_.start_date, cfg.global_.stop_date
    assert pc.min(t["posting_date"]).as_py() >= start
    assert pc.max(t["posting_date"]).as_py() < stop
    assert pc.all(pc.less_equal(t["document_date"], t["posting_date"])).as_py()
    # fiscal year/period (from the hive path) follow each company's fiscal year variant
    sample = t.select(["company_code", "posting_date", "fiscal_year", "fiscal_period"]).slice(
        0, 200_000
    )
    variant_start = {
        c.code: {"K4": 1, "V3": 4, "V6": 7, "V9": 10}[c.fiscal_year_variant] for c in cfg.companies
    }
    for code, day, fy, fp in zip(
        *(sample[c].to_pylist() for c in sample.column_names), strict=True
    ):
        first = variant_start[code]
        assert fp == (day.month - first) % 12 + 1
        assert fy == (day.year if day.month >= first else day.year - 1)
    created = pc.cast(pc.cast(t["created_at"], pa.timestamp("ms")), pa.date32())
    assert pc.all(pc.equal(created, t["posting_date"])).as_py()


def test_accounts_exist_in_chart(run: tuple[datasynth.DatasynthConfig, Path, pa.Table]) -> None:
    _, out, t = run
    chart = pq.read_table(out / "master_data" / "chart_of_accounts.parquet")
    used = set(pc.unique(t["gl_account"].cast(pa.string())).to_pylist())
    assert used <= set(chart["account_number"].to_pylist())
    assert len(used) > 50
    users = set(pq.read_table(out / "master_data" / "users.parquet")["user_id"].to_pylist())
    assert set(pc.unique(t["created_by"].cast(pa.string())).to_pylist()) <= users
    centers = set(
        pq.read_table(out / "master_data" / "cost_centers.parquet")["cost_center"].to_pylist()
    )
    used_cc = set(pc.unique(t["cost_center"].cast(pa.string()).drop_null()).to_pylist())
    assert used_cc and used_cc <= centers
    # cost centers exactly on the accounts that require one
    requires = dict(
        zip(
            chart["account_number"].to_pylist(),
            chart["requires_cost_center"].to_pylist(),
            strict=True,
        )
    )
    needs = np.array([requires[a] for a in t["gl_account"].cast(pa.string()).to_pylist()[:100_000]])
    has = t["cost_center"].slice(0, 100_000).is_valid().to_numpy(zero_copy_only=False)
    assert np.array_equal(needs, has)


def test_ids_unique_per_entry(
    run: tuple[datasynth.DatasynthConfig, Path, pa.Table], entries: pa.Table
) -> None:
    _, _, t = run
    keys = pc.binary_join_element_wise(t["document_id"], t["line_number"].cast(pa.string()), "#")
    assert pc.count_distinct(keys).as_py() == t.num_rows
    # line numbers run 1..n inside every entry
    assert pc.max(t["line_number"]).as_py() == max(entries["debit_count"].to_pylist())


def test_benford_mad_on_100k_amounts(run: tuple[datasynth.DatasynthConfig, Path, pa.Table]) -> None:
    _, _, t = run
    exempt = pc.equal(t["source"].cast(pa.string()), "recurring")
    t = t.filter(pc.invert(exempt))
    amounts = minor_from_decimal(t["debit_amount"]) + minor_from_decimal(t["credit_amount"])
    rng = np.random.default_rng(0)
    sample = rng.choice(amounts, 100_000, replace=False)
    first = (sample // 10 ** np.floor(np.log10(sample)).astype(np.int64)).astype(int)
    freq = np.bincount(first, minlength=10)[1:] / sample.size
    mad = np.abs(freq - BENFORD).mean()
    assert mad <= 0.006, f"Benford MAD {mad:.4f} above Nigrini's close-conformity bound"


def test_line_count_distribution_matches_reference(
    run: tuple[datasynth.DatasynthConfig, Path, pa.Table], drawn: pa.Table
) -> None:
    from scipy import stats

    cfg, _, _ = run
    counts = np.asarray(drawn["debit_count"].to_numpy())
    buckets = [parse_line_bucket(k) for k in cfg.transactions.line_counts]
    probs = np.array(list(cfg.transactions.line_counts.values()))
    observed = np.array([((counts >= lo) & (counts <= hi)).sum() for lo, hi in buckets])
    assert observed.sum() == counts.size
    expected = probs * counts.size
    # merge buckets whose expectation is below 5 (the chi-square rule of thumb)
    keep = expected >= 5
    obs = np.append(observed[keep], observed[~keep].sum())
    exp = np.append(expected[keep], expected[~keep].sum())
    if exp[-1] == 0:
        obs, exp = obs[:-1], exp[:-1]
    chi2, p = stats.chisquare(obs, exp)
    assert p > 0.001, f"line counts deviate from the reference table (chi2={chi2:.1f}, p={p:.2g})"
    assert abs((counts == 2).mean() - 0.6068) < 0.01
    assert abs((counts == 4).mean() - 0.1663) < 0.01


def test_period_end_spikes_and_weekend_dip(
    run: tuple[datasynth.DatasynthConfig, Path, pa.Table], entries: pa.Table
) -> None:
    days = entries["posting_date_min"].to_pylist()
    per_day: dict[dt.date, int] = {}
    for d in days:
        per_day[d] = per_day.get(d, 0) + 1

    def mean(pred) -> float:  # type: ignore[no-untyped-def]
        values = [v for d, v in per_day.items() if pred(d)]
        return float(np.mean(values)) if values else 0.0

    def last_days(d: dt.date) -> int:
        nxt = dt.date(d.year + (d.month == 12), d.month % 12 + 1, 1)
        return (nxt - d).days

    weekday_mid = mean(lambda d: d.weekday() < 5 and 8 <= d.day <= 20)
    weekend_mid = mean(lambda d: d.weekday() >= 5 and 8 <= d.day <= 20)
    month_end = mean(
        lambda d: d.weekday() < 5 and last_days(d) <= 5 and d.month not in (3, 6, 9, 12)
    )
    quarter_end = mean(lambda d: d.weekday() < 5 and last_days(d) <= 5 and d.month in (3, 6, 9))
    assert weekend_mid < 0.3 * weekday_mid
    assert month_end > 1.8 * weekday_mid
    assert quarter_end > 1.3 * month_end


def test_company_volume_weights_and_source_mix(
    run: tuple[datasynth.DatasynthConfig, Path, pa.Table], entries: pa.Table, drawn: pa.Table
) -> None:
    cfg, _, _ = run
    companies = pc.value_counts(pc.utf8_slice_codeunits(entries["document_id"], 3, 7)).to_pylist()
    share = {c["values"]: c["counts"] / entries.num_rows for c in companies}
    weights = {c.code: c.volume_weight for c in cfg.companies}
    total = sum(weights.values())
    for code, w in weights.items():
        assert share[code] == pytest.approx(w / total, abs=2e-4)
    sources = pc.value_counts(drawn["source_min"]).to_pylist()
    observed = {s["values"]: s["counts"] / drawn.num_rows for s in sources}
    for name, p in cfg.transactions.sources.items():
        assert observed[name] == pytest.approx(p, abs=0.01)


def test_people_post_in_office_hours_and_batch_jobs_at_night(
    run: tuple[datasynth.DatasynthConfig, Path, pa.Table],
) -> None:
    _, _, t = run
    hours = pc.hour(t["created_at"]).to_numpy()
    persona = t["user_persona"].cast(pa.string()).to_numpy(zero_copy_only=False)
    machine = persona == "automated_system"
    people_office = ((hours[~machine] >= 8) & (hours[~machine] < 18)).mean()
    machine_night = (hours[machine] >= 22).mean()
    assert people_office > 0.9
    assert 0.7 < machine_night < 0.85  # 70% scheduled at night plus their share of uniform hours
    source = t["source"].cast(pa.string()).to_numpy(zero_copy_only=False)
    # an accrual's reversal keeps its preparer
    assert set(source[machine]) <= {"automated", "recurring", "reversal"}
    assert set(source[~machine]) <= {"manual", "adjustment", "reversal"}


def test_no_two_line_entry_debits_and_credits_one_account(
    run: tuple[datasynth.DatasynthConfig, Path, pa.Table],
) -> None:
    _, _, t = run
    keys = pa.table({"d": t["document_id"], "a": t["gl_account"].cast(pa.string())})
    per_entry = keys.group_by("d").aggregate([("a", "count"), ("a", "count_distinct")])
    two = per_entry.filter(pc.equal(per_entry["a_count"], 2))
    assert two.num_rows > 50_000
    assert pc.min(two["a_count_distinct"]).as_py() == 2
