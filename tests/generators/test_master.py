"""Master data: unique users across the group, currencies, and independence from list order."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

import datasynth
from datasynth.core.money import minor_from_decimal
from datasynth.generators.master import build_master, currency_scale


def test_user_ids_unique_across_companies() -> None:
    cfg = datasynth.load_config(["+preset=large", "transactions.human_users=60"])
    users = build_master(cfg).tables["users"]
    assert users.num_rows == 6 * (60 + cfg.transactions.automated_users)
    assert pc.count_distinct(users["user_id"]).as_py() == users.num_rows


def test_each_company_gets_exactly_the_configured_people() -> None:
    cfg = datasynth.load_config(["transactions.human_users=13"])
    users = build_master(cfg).tables["users"].to_pylist()
    for code in ("1000", "2000"):
        people = [u for u in users if u["company_code"] == code and not u["is_automated"]]
        assert len(people) == 13
        assert {u["persona"] for u in people} == set(cfg.transactions.personas)


def test_yen_amounts_are_whole_and_yen_sized() -> None:
    base = ["transactions.count=4000", "companies.0.currency=JPY", "companies.1.currency=USD"]
    cfg = datasynth.load_config(base)
    jpy = datasynth.generate_block(cfg, "journal_entries", 0)
    assert jpy["currency"].cast(pa.string())[0].as_py() == "JPY"
    minor = minor_from_decimal(jpy["debit_amount"]) + minor_from_decimal(jpy["credit_amount"])
    assert (minor % 100 == 0).all()  # no sen
    usd = datasynth.generate_block(
        datasynth.load_config([*base[:1], "companies.0.currency=USD"]), "journal_entries", 0
    )
    usd_minor = minor_from_decimal(usd["debit_amount"]) + minor_from_decimal(usd["credit_amount"])
    scale, unit = currency_scale("JPY", "USD")
    assert unit == 100 and 100 < scale < 200
    ratio = float(pc.approximate_median(pa.array(minor)).as_py()) / float(
        pc.approximate_median(pa.array(usd_minor)).as_py()
    )
    assert 30 < ratio < 1000  # yen-sized, not dollar-sized


def test_company_data_does_not_depend_on_its_position_in_the_list() -> None:
    """Streams are keyed by company code, so reordering companies changes nobody's data."""
    forward = datasynth.load_config(
        [
            "transactions.count=4000",
            "companies.0.volume_weight=1.0",
            "companies.1.volume_weight=1.0",
        ]
    )
    swapped = datasynth.load_config(
        [
            "transactions.count=4000",
            "companies=[{code: '2000', name: Demo Fertigung GmbH, currency: EUR, country: DE},"
            " {code: '1000', name: Demo Manufacturing Inc., currency: USD, country: US}]",
        ]
    )
    a = next(b for b in datasynth.plan(forward).blocks if b.company_code == "2000")
    b = next(b for b in datasynth.plan(swapped).blocks if b.company_code == "2000")
    assert a.entries == b.entries and a.company_index != b.company_index
    ta = datasynth.generate_block(forward, "journal_entries", a.index)
    tb = datasynth.generate_block(swapped, "journal_entries", b.index)
    assert ta.equals(tb)
    users_a = (
        build_master(forward).tables["users"].filter(pc.equal(pc.field("company_code"), "2000"))
    )
    users_b = (
        build_master(swapped).tables["users"].filter(pc.equal(pc.field("company_code"), "2000"))
    )
    assert users_a.equals(users_b)
