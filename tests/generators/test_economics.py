"""The company's economics: the price level, the dealing of amounts to entries, and what a
generated year's income statement looks like."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.dataset as ds
import pytest

import datasynth
from datasynth.config.loading import load_config
from datasynth.core import distributions as dist
from datasynth.generators import economics
from datasynth.generators.master import build_master


def test_dealing_keeps_the_amounts_and_gives_long_and_small_kinds_the_small_ones() -> None:
    rng = np.random.default_rng(3)
    n = 50_000
    amounts = rng.lognormal(7, 2.5, n).astype(np.int64) + 1
    lines = rng.integers(1, 500, n)
    log_size = np.log(np.where(rng.random(n) < 0.5, 0.2, 4.0))
    groups = rng.random(n) < 0.3
    out = dist.couple_amounts(np.random.default_rng(4), amounts, lines, log_size, groups)
    # the same amounts within each group, none crossing over
    for g in (False, True):
        assert np.array_equal(np.sort(out[groups == g]), np.sort(amounts[groups == g]))
    # more lines and smaller kinds take smaller amounts (independent draws would not)
    short, long_ = lines < 10, lines > 250
    assert np.median(out[short]) > 10 * np.median(out[long_])
    small, large = log_size < 0, log_size > 0
    assert np.median(out[large]) > 10 * np.median(out[small])
    assert abs(np.median(amounts[short]) / np.median(amounts[long_]) - 1) < 0.2


def test_price_level_solves_the_operating_margin() -> None:
    # revenue 100 and purchases 20 per entry at level 1, expenses 36: 0.5 x 80 - 36 = 4 = 8% of 50
    level = economics.price_level(0.08, 36.0, 100.0, 20.0)
    assert level == pytest.approx(0.5)
    assert level * (100.0 - 20.0) - 36.0 == pytest.approx(0.08 * level * 100.0)
    # nothing to calibrate: the standalone side earns money, or the flows lose at any level
    assert economics.price_level(0.08, -5.0, 100.0, 20.0) == 1.0
    assert economics.price_level(0.08, 36.0, 100.0, 95.0) == 1.0
    assert economics.price_level(0.08, 1e12, 1.0, 0.0) == economics.LEVEL_RANGE[1]


def test_operating_margin_null_keeps_base_prices_and_the_level_scales_materials() -> None:
    base = build_master(load_config(["document_flows.operating_margin=null"]))
    tuned = build_master(load_config([]))
    for b, t in zip(base.companies, tuned.companies, strict=True):
        assert b.price_level == 1.0
        assert t.price_level != 1.0
    assert base.flows is not None and tuned.flows is not None
    for b, t, c in zip(base.flows, tuned.flows, tuned.companies, strict=True):
        ratio = (
            t.material_cost[b.material_cost > 10_000] / b.material_cost[b.material_cost > 10_000]
        )
        assert np.allclose(ratio, c.price_level, rtol=1e-3)
        # credit limits move with prices, so credit checks fail as often as before
        assert np.allclose(t.customer_limit / b.customer_limit, c.price_level, rtol=1e-3)


def test_simulated_entry_totals_match_the_generator(tmp_path: Path) -> None:
    """The mean standalone entry total the price level uses is what blocks produce."""
    out = tmp_path / "out"
    overrides = [
        f"output.dir={out}",
        "runtime.progress=false",
        "runtime.scheduler=synchronous",
        "document_flows.enabled=false",
        "balances.enabled=false",
        "transactions.count=120000",
        "companies=[{code: '1000', name: A, currency: USD, country: US}]",
    ]
    config = load_config(overrides)
    datasynth.generate(config)
    table = ds.dataset(out / "journal_entries", partitioning="hive").to_table(
        columns=["document_id", "posting_template", "debit_amount"]
    )
    frame = table.to_pandas()
    frame["amount"] = frame["debit_amount"].astype(float)
    totals = frame.groupby("document_id").agg(
        total=("amount", "sum"), template=("posting_template", "first")
    )
    master = build_master(config)
    posting = master.posting
    p = economics.template_probabilities(config, list(posting.process_weights))
    periods = len(master.companies[0].periods)
    expected = economics.mean_entry_totals(
        config, p, posting.template_log_size, int(120_000 / periods)
    )
    names = list(posting.template_names)
    mean_expected = float(p @ expected)
    assert totals["total"].mean() == pytest.approx(mean_expected, rel=0.1)
    # per template: small kinds stay small, large ones large, as simulated
    observed = totals.groupby("template")["total"].median()
    travel, transfer = "H2R: Travel expense claim", "R2R: Bank transfer"
    assert observed[transfer] > 20 * observed[travel]
    assert expected[names.index(transfer)] > 20 * expected[names.index(travel)]


@pytest.fixture(scope="module")
def year(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("economics") / "out"
    config = load_config(
        [
            f"output.dir={out}",
            "runtime.progress=false",
            "runtime.scheduler=synchronous",
            "global.period_months=12",
            "global.seed=3",
        ]
    )
    datasynth.generate(config)
    return out


def test_a_generated_year_has_a_plausible_income_statement(year: Path) -> None:
    """Revenue near what the price level expects, no single standalone expense larger than
    a quarter of the year's revenue, and a margin that is a margin. (Before the
    price level and the dealing of amounts the default companies spent ten times their
    revenue and one travel claim could exceed a month of sales.)"""
    lines = (
        ds.dataset(year / "journal_entries", partitioning="hive")
        .to_table(
            columns=[
                "document_id",
                "company_code",
                "posting_template",
                "gl_account",
                "debit_amount",
                "credit_amount",
            ]
        )
        .to_pandas()
    )
    lines["company_code"] = lines["company_code"].astype(str)
    lines["gl_account"] = lines["gl_account"].astype(str)
    lines["posting_template"] = lines["posting_template"].astype(str)
    lines["net"] = lines["credit_amount"].astype(float) - lines["debit_amount"].astype(float)
    lines = lines[lines["posting_template"] != "R2R: Year-end closing"]
    income = lines[lines["gl_account"].str[0].isin(list("45678"))]
    master = build_master(load_config(["global.period_months=12", "global.seed=3"]))
    for company in master.companies:
        mine = income[income["company_code"] == company.code]
        sales = mine[mine["gl_account"].str.startswith("4000")]["net"].sum()
        revenue = mine[mine["gl_account"].str.startswith("40")]["net"].sum()
        expected = company.annual_revenue / 100
        assert 0.6 * expected < sales < 1.2 * expected, (company.code, sales, expected)
        pre_tax = mine[~mine["gl_account"].str.startswith("80")]["net"].sum()
        assert -0.6 < pre_tax / revenue < 0.6, (company.code, pre_tax / revenue)
        standalone = mine[mine["document_id"].str.startswith("JE-")]
        # the largest standalone expense (intercompany sales may be large: they are revenue)
        expense = -standalone.groupby("document_id")["net"].sum()
        assert expense.max() < 0.25 * revenue, (company.code, expense.nlargest(3))


def test_production_consumes_unsold_materials_and_absorbs_the_rest(year: Path) -> None:
    lines = (
        ds.dataset(year / "journal_entries", partitioning="hive")
        .to_table(
            filter=ds.field("posting_template") == "P2P: Production and replenishment receipt",
            columns=[
                "document_id",
                "company_code",
                "gl_account",
                "material_id",
                "quantity",
                "debit_amount",
                "credit_amount",
            ],
        )
        .to_pandas()
    )
    materials = pd.read_parquet(year / "master_data" / "materials.parquet")
    unsold = set(materials.loc[materials["list_price"].isna(), "material_id"])
    lines["net"] = lines["debit_amount"].astype(float) - lines["credit_amount"].astype(float)
    consumed = lines[(lines["net"] < 0) & lines["material_id"].notna()]
    assert len(consumed) > 100
    assert set(consumed["material_id"]) <= unsold
    assert (consumed["quantity"] < 0).all()
    produced = lines[(lines["net"] > 0) & lines["material_id"].notna()]
    assert (produced["quantity"] > 0).all()
    for _, entry in lines.groupby("document_id"):
        made = entry.loc[entry["net"] > 0, "net"].sum()
        used = -entry.loc[(entry["net"] < 0) & entry["material_id"].notna(), "net"].sum()
        absorbed = -entry.loc[entry["gl_account"] == "500200", "net"].sum()
        assert used <= 0.6 * made + 0.01 * len(entry)
        assert absorbed == pytest.approx(made - used, abs=0.005)
