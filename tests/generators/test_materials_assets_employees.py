"""Materials, fixed assets and employees: references resolve, values obey their rules."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

import datasynth
from datasynth.generators.master import build_master, generate_master_table

LEVELS = ["staff", "senior", "manager", "director", "vice_president", "executive"]


@pytest.fixture(scope="module")
def group() -> dict[str, pa.Table]:
    cfg = datasynth.load_config(
        [
            "+preset=technology",
            "master_data.materials=3000",
            "master_data.employees=2000",
            "master_data.fixed_assets=500",
        ]
    )
    master = build_master(cfg)
    tables = {
        t: generate_master_table(cfg, master, t)
        for t in ("vendors", "materials", "fixed_assets", "employees", "cost_centers")
    }
    tables["_config"] = pa.table({"stop": [cfg.global_.stop_date]})
    return tables


def test_materials(group: dict[str, pa.Table]) -> None:
    m = group["materials"]
    assert m.num_rows == 3 * 3000
    assert pc.count_distinct(m["material_id"]).as_py() == m.num_rows
    vendors = set(group["vendors"]["vendor_id"].to_pylist())
    purchased = {"raw_material", "trading_good", "operating_supplies", "service"}
    for kind, vendor in zip(
        m["material_type"].to_pylist(), m["preferred_vendor_id"].to_pylist(), strict=True
    ):
        assert (vendor is not None) == (kind in purchased)
        assert vendor is None or vendor in vendors
    sold = m.filter(pc.is_valid(m["list_price"]))
    assert set(sold["material_type"].to_pylist()) <= {"finished_good", "trading_good", "service"}
    margin = pc.divide(
        sold["list_price"].cast(pa.float64()), sold["standard_cost"].cast(pa.float64())
    )
    assert pc.min(margin).as_py() > 1.1
    cost = m["standard_cost"].cast(pa.float64()).to_numpy()
    abc = np.array(m["abc_class"].to_pylist())
    assert cost[abc == "A"].min() >= cost[abc == "C"].max() * 0.999 or np.median(
        cost[abc == "A"]
    ) > np.median(cost[abc == "C"])
    assert 0.15 < (abc == "A").mean() < 0.25
    # the Japanese company's costs are yen-sized
    jp = m.filter(pc.equal(m["company_code"], "3000"))["standard_cost"].cast(pa.float64())
    us = m.filter(pc.equal(m["company_code"], "1000"))["standard_cost"].cast(pa.float64())
    assert pc.approximate_median(jp).as_py() > 30 * pc.approximate_median(us).as_py()


def test_fixed_assets(group: dict[str, pa.Table]) -> None:
    a = group["fixed_assets"]
    assert a.num_rows == 3 * 500
    centers = set(group["cost_centers"]["cost_center"].to_pylist())
    assert set(a["cost_center"].to_pylist()) <= centers
    assert set(a["vendor_id"].to_pylist()) <= set(group["vendors"]["vendor_id"].to_pylist())
    assert pc.all(pc.less(a["salvage_value"], a["acquisition_cost"])).as_py()
    land = a.filter(pc.equal(a["asset_class"], "land"))
    assert set(land["depreciation_method"].to_pylist()) <= {"none"}
    assert set(land["useful_life_months"].to_pylist()) <= {0}
    stop = group["_config"]["stop"][0].as_py()
    assert pc.max(a["acquisition_date"]).as_py() < stop
    assert pc.min(a["acquisition_date"]).as_py() > dt.date(2010, 1, 1)


def test_employee_hierarchy(group: dict[str, pa.Table]) -> None:
    e = group["employees"]
    for code in ("1000", "2000", "3000"):
        staff = e.filter(pc.equal(e["company_code"], code)).to_pylist()
        by_id = {row["employee_id"]: row for row in staff}
        roots = [row for row in staff if row["manager_id"] is None]
        assert len(roots) == 1 and roots[0]["job_level"] == "executive"
        for row in staff:
            chain, current = 0, row
            while current["manager_id"] is not None:
                boss = by_id[current["manager_id"]]  # the manager exists in the same company
                assert LEVELS.index(boss["job_level"]) >= LEVELS.index(current["job_level"])
                if boss is not roots[0]:
                    assert LEVELS.index(boss["job_level"]) > LEVELS.index(current["job_level"])
                    assert boss["department"] == current["department"]
                current, chain = boss, chain + 1
                assert chain <= len(LEVELS)
        limits = {}
        for row in staff:
            limits.setdefault(row["job_level"], set()).add(row["approval_limit"])
        ordered = [max(limits[level]) for level in LEVELS if level in limits]
        assert ordered == sorted(ordered) and all(len(v) == 1 for v in limits.values())
    levels = pc.value_counts(e["job_level"]).to_pylist()
    share = {x["values"]: x["counts"] / e.num_rows for x in levels}
    assert share["staff"] == pytest.approx(0.5, abs=0.04)
    assert pc.count_distinct(e["email"]).as_py() == e.num_rows
