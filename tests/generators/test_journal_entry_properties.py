"""Property tests: any valid configuration yields balanced, well-formed journal entries."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import datasynth
from datasynth.core.money import minor_from_decimal
from datasynth.core.reference import load

#: templates with follow-on entries: a block posts at most one entry more for each
FOLLOW_ON_TEMPLATES = sum(
    "follow_on" in t for ts in load("chart_of_accounts")["posting_templates"].values() for t in ts
)


@st.composite
def overrides(draw: st.DrawFn) -> list[str]:
    split = draw(st.lists(st.integers(0, 10), min_size=3, max_size=3).filter(lambda w: sum(w) > 0))
    total = sum(split)
    equal, more_debit, more_credit = (w / total for w in split)
    lo = draw(st.integers(2, 30))
    hi = draw(st.integers(lo, 60))
    p_small = draw(st.sampled_from([0.5, 0.8, 1.0]))
    start = draw(st.dates(dt.date(2000, 1, 1), dt.date(2030, 12, 1)))
    return [
        f"global.seed={draw(st.integers(0, 2**32))}",
        f"global.start_date={start.isoformat()}",
        f"global.period_months={draw(st.integers(1, 3))}",
        f"transactions.count={draw(st.integers(1, 400))}",
        "~transactions.line_counts",
        f"+transactions.line_counts={{{lo}-{hi}: {p_small}, 100-120: {1 - p_small:.2f}}}"
        if p_small < 1
        else f"+transactions.line_counts={{{lo}-{hi}: 1.0}}",
        f"transactions.debit_credit_split={{equal: {equal}, more_debit: {more_debit}, "
        f"more_credit: {more_credit}}}",
        f"transactions.amounts.lognormal_mu={draw(st.floats(0.0, 12.0))}",
        f"transactions.amounts.lognormal_sigma={draw(st.floats(0.1, 4.0))}",
        f"transactions.benford.enabled={draw(st.booleans())}",
        f"runtime.block_rows={draw(st.sampled_from([1000, 5000, 100000]))}",
        f"document_flows.enabled={draw(st.booleans())}",
        f"balances.enabled={draw(st.booleans())}",
    ]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(overrides())
def test_every_block_balances_and_stays_in_its_period(args: list[str]) -> None:
    cfg = datasynth.load_config(args)
    plan = datasynth.plan(cfg)
    assert sum(b.entries for b in plan.blocks) == cfg.transactions.count
    stop = cfg.global_.stop_date
    seen_ids: set[str] = set()
    for block in plan.blocks:
        t = datasynth.generate_block(cfg, "journal_entries", block.index)
        debit = minor_from_decimal(t["debit_amount"])
        credit = minor_from_decimal(t["credit_amount"])
        assert np.all((debit > 0) ^ (credit > 0))
        sums = (
            pa.table({"id": t["document_id"], "d": debit, "c": credit})
            .group_by("id")
            .aggregate([("d", "sum"), ("c", "sum")])
        )
        assert sums["d_sum"].equals(sums["c_sum"])
        assert seen_ids.isdisjoint(sums["id"].to_pylist())
        seen_ids.update(sums["id"].to_pylist())
        # settlements of standalone items clear another entry's item; like flows they may
        # post in a later period of the window
        clears = pc.fill_null(
            pc.not_equal(t["clearing_reference"], t["document_id"].cast(pa.string())), False
        )
        settling = pc.is_in(t["document_id"], value_set=pc.unique(t["document_id"].filter(clears)))
        # follow-ons (accrual reversals, prepaid releases, transfer returns) name the entry
        # they follow and stand in for drawn entries: at most one more per template
        follows = pc.fill_null(pc.starts_with(t["source_document_id"], "JE-"), False)
        direct = t.filter(pc.and_(pc.is_null(t["source_document_id"]), pc.invert(settling)))
        flows = t.filter(
            pc.or_(pc.and_(pc.is_valid(t["source_document_id"]), pc.invert(follows)), settling)
        )
        follow_ons = t.filter(follows)
        direct_entries = pc.count_distinct(direct["document_id"]).as_py() + (
            pc.count_distinct(follow_ons["document_id"]).as_py()
        )
        if not cfg.document_flows.enabled:
            # no flow lines; with balances, the settlements pay the standalone items
            assert flows.num_rows == (pc.sum(settling.cast(pa.int64())).as_py() or 0)
            assert cfg.balances.enabled or flows.num_rows == 0
            if cfg.balances.enabled:
                # settlements stand in for the payment templates, asset accounting for A2R
                assert direct_entries <= block.entries + FOLLOW_ON_TEMPLATES
            else:
                assert block.entries <= direct_entries <= block.entries + FOLLOW_ON_TEMPLATES
        else:
            # flows take the place of some entries; never more than the block planned
            assert direct_entries <= block.entries + FOLLOW_ON_TEMPLATES
        if follow_ons.num_rows:
            assert pc.min(follow_ons["posting_date"]).as_py() >= block.first
            assert pc.max(follow_ons["posting_date"]).as_py() < stop
            months = pc.month(follow_ons["posting_date"]).to_numpy()
            assert np.array_equal(months, follow_ons["fiscal_period"].to_numpy())  # K4
        if direct.num_rows:
            assert pc.min(direct["posting_date"]).as_py() >= block.first
            assert pc.max(direct["posting_date"]).as_py() < block.stop
            assert set(direct["fiscal_period"].to_pylist()) == {block.fiscal_period}
        if flows.num_rows:
            # a flow starts in its block and posts in that or a later period of the window
            assert pc.min(flows["posting_date"]).as_py() >= block.first
            assert pc.max(flows["posting_date"]).as_py() < stop
            months = pc.month(flows["posting_date"]).to_numpy()
            assert np.array_equal(months, flows["fiscal_period"].to_numpy())  # K4 companies
