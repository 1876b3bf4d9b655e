"""Vendors and customers: counts, reconstructable ids, valid bank details, skewed activity."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

import datasynth
from datasynth.core.vocab import iban_is_valid
from datasynth.generators.master import build_master, generate_master_table
from datasynth.generators.partners import activity_cdf, partner_ids


@pytest.fixture(scope="module")
def config() -> datasynth.DatasynthConfig:
    return datasynth.load_config(
        ["+preset=retail", "master_data.vendors=400", "master_data.customers=900"]
    )


@pytest.fixture(scope="module")
def vendors(config: datasynth.DatasynthConfig) -> pa.Table:
    return generate_master_table(config, build_master(config), "vendors")


@pytest.fixture(scope="module")
def customers(config: datasynth.DatasynthConfig) -> pa.Table:
    return generate_master_table(config, build_master(config), "customers")


def test_counts_and_reconstructable_ids(
    config: datasynth.DatasynthConfig, vendors: pa.Table, customers: pa.Table
) -> None:
    assert vendors.num_rows == 400 * len(config.companies)
    assert customers.num_rows == 900 * len(config.companies)
    assert pc.count_distinct(vendors["vendor_id"]).as_py() == vendors.num_rows
    first = vendors.filter(pc.equal(vendors["company_code"], "2000"))
    assert first["vendor_id"].to_pylist()[:3] == ["V-2000-000001", "V-2000-000002", "V-2000-000003"]
    assert partner_ids("C", "3000", np.array([899])).to_pylist() == ["C-3000-000900"]


def test_bank_details_are_valid(vendors: pa.Table, customers: pa.Table) -> None:
    for table in (vendors, customers):
        ibans = table["iban"].drop_null().to_pylist()
        assert len(ibans) > 100
        assert all(iban_is_valid(i) for i in ibans)
        # an IBAN starts with the partner's country
        rows = table.filter(pc.is_valid(table["iban"]))
        assert all(i[:2] == c for i, c in zip(ibans, rows["country"].to_pylist(), strict=True))
        us = table.filter(pc.equal(table["country"], "US"))
        for routing in us["bank_routing_number"].to_pylist():
            d = [int(ch) for ch in routing]
            assert int(routing[:2]) in {*range(1, 13), *range(21, 33), *range(61, 73), 80}
            assert (
                3 * (d[0] + d[3] + d[6]) + 7 * (d[1] + d[4] + d[7]) + d[2] + d[5] + d[8]
            ) % 10 == 0
        # every partner has either an IBAN or an account number
        assert pc.all(
            pc.or_(pc.is_valid(table["iban"]), pc.is_valid(table["bank_account_number"]))
        ).as_py()


def test_mostly_domestic_with_country_consistent_values(vendors: pa.Table) -> None:
    uk = vendors.filter(
        pc.and_(pc.equal(vendors["company_code"], "2000"), pc.invert(vendors["is_intercompany"]))
    )
    domestic = pc.mean(pc.cast(pc.equal(uk["country"], "GB"), pa.float64())).as_py()
    assert 0.65 < domestic < 0.9
    gb = uk.filter(pc.and_(pc.equal(uk["country"], "GB"), pc.invert(uk["is_intercompany"])))
    assert set(gb["currency"].to_pylist()) == {"GBP"}
    assert all(t.startswith("GB") and len(t) == 11 for t in gb["tax_id"].to_pylist())
    de = vendors.filter(
        pc.and_(pc.equal(vendors["country"], "DE"), pc.invert(vendors["is_intercompany"]))
    )
    assert all(len(p) == 5 and p.isdigit() for p in de["postal_code"].to_pylist())
    assert all(
        name.endswith(("GmbH", "AG", "GmbH & Co. KG", "KG"))
        for name in de["vendor_name"].to_pylist()
    )


def test_group_companies_lead_the_partner_lists(
    config: datasynth.DatasynthConfig, customers: pa.Table
) -> None:
    names = {c.code: c.name for c in config.companies}
    for own in names:
        rows = customers.filter(pc.equal(customers["company_code"], own)).to_pylist()
        others = sorted(code for code in names if code != own)
        assert [r["intercompany_code"] for r in rows[: len(others)]] == others
        assert [r["customer_name"] for r in rows[: len(others)]] == [names[c] for c in others]
        assert not any(r["is_intercompany"] for r in rows[len(others) :])


def test_names_and_tax_ids_are_unique_within_a_company() -> None:
    cfg = datasynth.load_config(["+preset=medium"])
    customers = generate_master_table(cfg, build_master(cfg), "customers")
    for code in ("1000", "2000", "3000"):
        own = customers.filter(pc.equal(customers["company_code"], code))
        assert pc.count_distinct(own["customer_name"]).as_py() == own.num_rows == 6000
        assert pc.count_distinct(own["tax_id"]).as_py() == own.num_rows


def test_a_row_does_not_change_when_the_group_grows() -> None:
    """Per-concern streams and per-row pools: another company changes only the group rows."""
    base = (
        "{code: '1000', name: Demo Inc., currency: USD, country: US}, "
        "{code: '2000', name: Demo GmbH, currency: EUR, country: DE}"
    )
    third = "{code: '3000', name: Demo UK Ltd, currency: GBP, country: GB}"
    two = datasynth.load_config(["master_data.vendors=300", f"companies=[{base}]"])
    three = datasynth.load_config(["master_data.vendors=300", f"companies=[{base}, {third}]"])
    a = generate_master_table(two, build_master(two), "vendors").filter(
        pc.equal(pc.field("company_code"), "1000")
    )
    b = generate_master_table(three, build_master(three), "vendors").filter(
        pc.equal(pc.field("company_code"), "1000")
    )
    # rows 0..1 are group companies in the larger group; from row 2 on nothing may move
    stable = ["vendor_id", "tax_id", "iban", "postal_code", "payment_terms", "vendor_type"]
    assert a.slice(2).select(stable).equals(b.slice(2).select(stable))


def test_terms_and_credit_follow_configuration(
    config: datasynth.DatasynthConfig, customers: pa.Table
) -> None:
    terms = pc.value_counts(customers["payment_terms"]).to_pylist()
    observed = {t["values"]: t["counts"] / customers.num_rows for t in terms}
    for name, p in config.master_data.customer_payment_terms.items():
        assert observed.get(name, 0.0) == pytest.approx(p, abs=0.04)
    discount = customers.filter(pc.equal(customers["payment_terms"], "two_ten_net30"))
    assert set(discount["cash_discount_percent"].to_pylist()) == {2.0}
    aaa = customers.filter(pc.equal(customers["credit_rating"], "AAA"))["credit_limit"]
    ccc = customers.filter(pc.equal(customers["credit_rating"], "CCC"))["credit_limit"]
    assert (
        pc.max(ccc).as_py() < pc.min(aaa).as_py()
        or pc.mean(ccc.cast(pa.float64())).as_py() < pc.mean(aaa.cast(pa.float64())).as_py()
    )


def test_activity_is_skewed_towards_few_partners() -> None:
    cdf = activity_cdf(1000, 1.1)
    assert cdf[99] > 0.6  # the top 10% of partners carry most of the activity
    assert np.all(np.diff(cdf) > 0)


def test_journal_lines_name_partners_on_ap_and_ar_accounts() -> None:
    cfg = datasynth.load_config(["transactions.count=6000"])
    master = build_master(cfg)
    t = datasynth.generate_block(cfg, "journal_entries", 0)
    # (follow-ons name the entry they follow, not a document: tests/generators/test_follow_ons.py)
    follows = pc.fill_null(pc.starts_with(t["source_document_id"], "JE-"), False)
    flow_lines = t.filter(pc.and_(pc.is_valid(t["source_document_id"]), pc.invert(follows)))
    # every line a flow document posts names its vendor or customer
    assert flow_lines.num_rows > 0
    assert pc.all(
        pc.or_(pc.is_valid(flow_lines["vendor_id"]), pc.is_valid(flow_lines["customer_id"]))
    ).as_py()
    # standalone entries name a partner exactly on the AP and AR lines
    t = t.filter(pc.or_(pc.is_null(t["source_document_id"]), follows))
    chart = master.chart
    ap = {chart.account("ap"), *(chart.numbers[i] for i in chart.families["role:ic_payable"])}
    ar = {chart.account("ar"), *(chart.numbers[i] for i in chart.families["role:ic_receivable"])}
    accounts = t["gl_account"].cast(pa.string()).to_pylist()
    vendors = t["vendor_id"].to_pylist()
    customers = t["customer_id"].to_pylist()
    for account, vendor, customer in zip(accounts, vendors, customers, strict=True):
        assert (vendor is not None) == (account in ap)
        assert (customer is not None) == (account in ar)
    known_vendors = set(generate_master_table(cfg, master, "vendors")["vendor_id"].to_pylist())
    assert {v for v in vendors if v} <= known_vendors
    # all lines of an entry that touch AP name the same vendor
    pairs = pa.table({"d": t["document_id"], "v": t["vendor_id"]}).drop_null()
    per_entry = pairs.group_by("d").aggregate([("v", "count_distinct")])
    assert pc.max(per_entry["v_count_distinct"]).as_py() == 1
