"""Materials and fixed assets of every company, vectorised from vocabularies.

Materials carry a type (raw, semi-finished, finished, trading, supplies, service), a unit, a
valuation method, a standard cost in the company's currency and, for what is sold, a list
price; purchased types name a preferred vendor (drawn with the vendors' Zipf activity, so big
vendors supply many materials). ABC classes follow the value ranking. Fixed assets carry a
class with its default useful life, a depreciation method, an acquisition before or during the
generated window and the cost center that owns them.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from datasynth.config.models import DatasynthConfig
from datasynth.core import distributions as dist
from datasynth.core import vocab
from datasynth.core.ids import fixed_width_strings
from datasynth.core.money import AMOUNT_TYPE, decimal_from_minor
from datasynth.core.reference import load
from datasynth.core.seeding import stream
from datasynth.generators.partners import partner_ids

MATERIAL_SCHEMA = pa.schema(
    [
        pa.field("material_id", pa.string(), nullable=False),
        pa.field("company_code", pa.string(), nullable=False),
        pa.field("description", pa.string(), nullable=False),
        pa.field("material_type", pa.string(), nullable=False),
        pa.field("material_group", pa.string(), nullable=False),
        pa.field("base_uom", pa.string(), nullable=False),
        pa.field("valuation_method", pa.string(), nullable=False),
        pa.field("standard_cost", AMOUNT_TYPE, nullable=False),
        pa.field("list_price", AMOUNT_TYPE),
        pa.field("abc_class", pa.string(), nullable=False),
        pa.field("preferred_vendor_id", pa.string()),
    ]
)
ASSET_SCHEMA = pa.schema(
    [
        pa.field("asset_id", pa.string(), nullable=False),
        pa.field("company_code", pa.string(), nullable=False),
        pa.field("description", pa.string(), nullable=False),
        pa.field("asset_class", pa.string(), nullable=False),
        pa.field("acquisition_date", pa.date32(), nullable=False),
        pa.field("acquisition_cost", AMOUNT_TYPE, nullable=False),
        pa.field("useful_life_months", pa.int16(), nullable=False),
        pa.field("depreciation_method", pa.string(), nullable=False),
        pa.field("salvage_value", AMOUNT_TYPE, nullable=False),
        pa.field("cost_center", pa.string(), nullable=False),
        pa.field("vendor_id", pa.string(), nullable=False),
    ]
)
_VALUATION = {"standard_cost": 0.5, "moving_average": 0.3, "fifo": 0.15, "lifo": 0.05}
_DEPRECIATION = {
    "straight_line": 0.6,
    "declining_balance": 0.2,
    "double_declining_balance": 0.1,
    "sum_of_years_digits": 0.1,
}
#: log-normal median cost (group currency) per material type
_MATERIAL_COST = {
    "raw_material": 25.0,
    "semi_finished": 120.0,
    "finished_good": 450.0,
    "trading_good": 60.0,
    "operating_supplies": 15.0,
    "service": 90.0,
}
_PURCHASED = {"raw_material", "trading_good", "operating_supplies", "service"}
_SOLD = {"finished_good", "trading_good", "service"}
#: log-normal median acquisition cost (group currency) per asset class
_ASSET_COST = {
    "buildings": 2_500_000.0,
    "land": 800_000.0,
    "machinery": 180_000.0,
    "vehicles": 45_000.0,
    "it_equipment": 12_000.0,
    "furniture": 8_000.0,
    "software": 60_000.0,
}


def _minor(values: np.ndarray, unit: int) -> pa.Array:
    """Amounts rounded to the currency's smallest unit (``unit`` hundredths), at least one."""
    return decimal_from_minor(np.maximum(np.rint(values * 100.0 / unit), 1).astype(np.int64) * unit)


def generate_materials(
    config: DatasynthConfig,
    company_index: int,
    amount_scale: float,
    amount_unit: int,
    vendor_cdf: np.ndarray,
) -> pa.Table:
    """The materials of one company (``master_data.materials`` rows)."""
    company = config.companies[company_index]
    n = config.master_data.materials
    rng = stream(config.global_.seed, "materials", company.code)
    types_data = load("partners")["material_types"]
    types = list(types_data)
    kind = dist.draw(rng, dist.cdf([types_data[t][0] for t in types]), n)
    flat, noun = vocab.pick_within([types_data[t][2] for t in types], kind, rng.random(n))
    model = vocab.patterns(["@@-####"], np.zeros(n, dtype=np.int64), *vocab.random_pools(rng, n, 8))
    uoms = load("partners")["uoms"]
    uom_flat, uom = vocab.pick_within([uoms[t] for t in types], kind, rng.random(n))
    median = np.array([_MATERIAL_COST[t] for t in types])[kind] * amount_scale
    cost = median * np.exp(0.9 * rng.standard_normal(n))
    markup = rng.uniform(1.15, 1.9, n)
    sold = np.array([t in _SOLD for t in types])[kind]
    purchased = np.array([t in _PURCHASED for t in types])[kind]
    value_rank = np.argsort(np.argsort(-cost, kind="stable"), kind="stable") / max(n - 1, 1)
    abc = np.where(value_rank < 0.2, 0, np.where(value_rank < 0.5, 1, 2))
    vendor = dist.draw(rng, vendor_cdf, n)
    valuation = dist.draw(rng, dist.cdf(list(_VALUATION.values())), n)
    group_code = np.array([types_data[t][1] for t in types])[kind]
    columns = {
        "material_id": fixed_width_strings(f"MAT-{company.code}-", np.arange(1, n + 1), 6),
        "company_code": pa.array(np.full(n, company.code)),
        "description": vocab.join([vocab.pick(flat, noun), model]),
        "material_type": vocab.pick(types, kind),
        "material_group": vocab.join(
            [pa.array(group_code), pa.array((rng.integers(1, 20, n)).astype(str))], "-"
        ),
        "base_uom": vocab.pick(uom_flat, uom),
        "valuation_method": vocab.pick(list(_VALUATION), valuation),
        "standard_cost": _minor(cost, amount_unit),
        "list_price": pc.if_else(
            pa.array(sold), _minor(cost * markup, amount_unit), pa.nulls(n, AMOUNT_TYPE)
        ),
        "abc_class": vocab.pick(["A", "B", "C"], abc),
        "preferred_vendor_id": pc.if_else(
            pa.array(purchased),
            partner_ids("V", company.code, vendor),
            pa.nulls(n, pa.string()),
        ),
    }
    return pa.table({f.name: columns[f.name] for f in MATERIAL_SCHEMA}, schema=MATERIAL_SCHEMA)


def generate_fixed_assets(
    config: DatasynthConfig,
    company_index: int,
    amount_scale: float,
    amount_unit: int,
    vendor_cdf: np.ndarray,
    cost_centers: tuple[str, ...],
) -> pa.Table:
    """The fixed-asset register of one company (``master_data.fixed_assets`` rows)."""
    company = config.companies[company_index]
    n = config.master_data.fixed_assets
    rng = stream(config.global_.seed, "fixed_assets", company.code)
    classes_data = load("partners")["asset_classes"]
    classes = list(classes_data)
    kind = dist.draw(rng, dist.cdf([classes_data[c][0] for c in classes]), n)
    flat, name = vocab.pick_within([classes_data[c][2] for c in classes], kind, rng.random(n))
    life = np.array([classes_data[c][1] for c in classes], dtype=np.int16)[kind]
    cost = np.array([_ASSET_COST[c] for c in classes])[kind] * amount_scale
    cost = cost * np.exp(0.7 * rng.standard_normal(n))
    method = dist.draw(rng, dist.cdf(list(_DEPRECIATION.values())), n)
    is_land = np.array([c == "land" for c in classes])[kind]
    salvage = np.where(is_land, 0.0, cost * rng.uniform(0.0, 0.1, n))
    # acquired up to ten years (or one useful life) before the window, 10% during it
    start = np.datetime64(config.global_.start_date, "D").astype(np.int64)
    stop = np.datetime64(config.global_.stop_date, "D").astype(np.int64)
    back = (rng.random(n) * np.minimum(np.where(life > 0, life, 120), 120) * 30.4).astype(np.int64)
    during = rng.random(n) < 0.1
    acquired = np.where(
        during, start + (rng.random(n) * (stop - start)).astype(np.int64), start - 1 - back
    )
    columns = {
        "asset_id": fixed_width_strings(f"FA-{company.code}-", np.arange(1, n + 1), 6),
        "company_code": pa.array(np.full(n, company.code)),
        "description": vocab.pick(flat, name),
        "asset_class": vocab.pick(classes, kind),
        "acquisition_date": pa.array(acquired.astype(np.int32), pa.date32()),
        "acquisition_cost": _minor(cost, amount_unit),
        "useful_life_months": pa.array(life),
        "depreciation_method": pc.if_else(
            pa.array(is_land), "none", vocab.pick(list(_DEPRECIATION), method)
        ),
        "salvage_value": decimal_from_minor(
            np.rint(salvage * 100.0 / amount_unit).astype(np.int64) * amount_unit
        ),
        "cost_center": vocab.pick(list(cost_centers), rng.integers(0, len(cost_centers), n)),
        "vendor_id": partner_ids("V", company.code, dist.draw(rng, vendor_cdf, n)),
    }
    return pa.table({f.name: columns[f.name] for f in ASSET_SCHEMA}, schema=ASSET_SCHEMA)
