"""Vendors and customers of every company: names, addresses, tax ids, bank details, terms.

Built per company from vocabularies in ``datasynth/data/partners.json`` with numpy draws (no
faker calls): most partners are domestic, the rest come from the group's trading countries;
IBANs carry valid check digits, US routing numbers a valid checksum. Ids are reconstructable
(``V-<company>-<6 digits>``, ``C-<company>-<6 digits>``): partner ``i`` of a company is always
row ``i``, and activity falls off with the index (Zipf, ``master_data.activity_skew``), so a
journal line can name a partner by index without a lookup.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from datasynth.config.models import PAYMENT_TERMS, DatasynthConfig
from datasynth.core import distributions as dist
from datasynth.core import vocab
from datasynth.core.ids import fixed_width_strings
from datasynth.core.money import AMOUNT_TYPE, decimal_from_minor
from datasynth.core.reference import load
from datasynth.core.seeding import stream

_ADDRESS_FIELDS = [
    pa.field("country", pa.string(), nullable=False),
    pa.field("city", pa.string(), nullable=False),
    pa.field("street", pa.string(), nullable=False),
    pa.field("postal_code", pa.string(), nullable=False),
    pa.field("tax_id", pa.string(), nullable=False),
    pa.field("currency", pa.string(), nullable=False),
    pa.field("iban", pa.string()),
    pa.field("bank_routing_number", pa.string()),
    pa.field("bank_account_number", pa.string()),
]
_TERMS_FIELDS = [
    pa.field("payment_terms", pa.string(), nullable=False),
    pa.field("payment_terms_days", pa.int16(), nullable=False),
    pa.field("cash_discount_percent", pa.float32(), nullable=False),
    pa.field("cash_discount_days", pa.int16(), nullable=False),
]
VENDOR_SCHEMA = pa.schema(
    [
        pa.field("vendor_id", pa.string(), nullable=False),
        pa.field("company_code", pa.string(), nullable=False),
        pa.field("vendor_name", pa.string(), nullable=False),
        pa.field("vendor_type", pa.string(), nullable=False),
        *_ADDRESS_FIELDS,
        *_TERMS_FIELDS,
        pa.field("is_intercompany", pa.bool_(), nullable=False),
        pa.field("intercompany_code", pa.string()),
        pa.field("reconciliation_account", pa.string(), nullable=False),
    ]
)
CUSTOMER_SCHEMA = pa.schema(
    [
        pa.field("customer_id", pa.string(), nullable=False),
        pa.field("company_code", pa.string(), nullable=False),
        pa.field("customer_name", pa.string(), nullable=False),
        pa.field("customer_type", pa.string(), nullable=False),
        *_ADDRESS_FIELDS,
        *_TERMS_FIELDS,
        pa.field("credit_rating", pa.string(), nullable=False),
        pa.field("credit_limit", AMOUNT_TYPE, nullable=False),
        pa.field("payment_behavior", pa.string(), nullable=False),
        pa.field("is_intercompany", pa.bool_(), nullable=False),
        pa.field("intercompany_code", pa.string()),
        pa.field("reconciliation_account", pa.string(), nullable=False),
    ]
)
#: credit limit (group currency) by rating, before the customer-type factor
_CREDIT_LIMITS = {
    "AAA": 5e6,
    "AA": 2e6,
    "A": 1e6,
    "BBB": 5e5,
    "BB": 2e5,
    "B": 1e5,
    "CCC": 5e4,
    "D": 1e4,
}
_DOMESTIC_SHARE = 0.75


def partner_ids(prefix: str, company_code: str, index: np.ndarray) -> pa.Array:
    """``V-1000-000042``-style ids for partner indices (0-based; the id counts from 1)."""
    return fixed_width_strings(f"{prefix}-{company_code}-", np.asarray(index) + 1, 6)


def _grouped(
    groups: list[list[Any]], group: np.ndarray, u: np.ndarray
) -> tuple[list[Any], np.ndarray]:
    """Flatten per-group lists; pick one element uniformly within each row's group."""
    flat = [x for g in groups for x in g]
    sizes = np.array([len(g) for g in groups], dtype=np.int64)
    offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    return flat, offsets[group] + (u * sizes[group]).astype(np.int64)


def _addresses(
    rng: np.random.Generator, home: str, forced: list[str | None]
) -> tuple[np.ndarray, dict[str, pa.Array]]:
    """Country index per row (home country first) and the address and bank columns.

    ``forced[i]``, when set, is the country of row ``i`` (an intercompany partner is located
    where that group company is).
    """
    data = load("partners")["countries"]
    n = len(forced)
    codes = [home, *[c for c in data if c != home]] if home in data else list(data)
    if home in data:
        foreign = len(codes) - 1
        weights = [_DOMESTIC_SHARE] + [(1 - _DOMESTIC_SHARE) / foreign] * foreign
    else:
        weights = [1.0] * len(codes)
    country = dist.draw(rng, dist.cdf(weights), n)
    for i, code in enumerate(forced):
        if code is not None and code in codes:
            country[i] = codes.index(code)
    info = [data[c] for c in codes]
    cities, city_at = _grouped([c["cities"] for c in info], country, rng.random(n))
    streets, street_at = _grouped([c["streets"] for c in info], country, rng.random(n))
    forms, form_at = _grouped([c["forms"] for c in info], country, rng.random(n))
    number = pa.array(rng.integers(1, 250, n).astype(str))
    street_name = vocab.pick(streets, street_at)
    number_first = np.array([c["number_first"] for c in info])[country]
    street = pc.if_else(
        pa.array(number_first), vocab.join([number, street_name]), vocab.join([street_name, number])
    )
    columns: dict[str, pa.Array] = {
        "country": vocab.pick(codes, country),
        "city": vocab.pick([c[0] for c in cities], city_at),
        "street": street,
        "postal_code": vocab.patterns(rng, [c[1] for c in cities], city_at),
        "tax_id": vocab.patterns(rng, [c["tax"][1] for c in info], country),
        "currency": vocab.pick([c["currency"] for c in info], country),
        "_legal_form": vocab.pick(forms, form_at),
    }
    iban = pa.nulls(n, pa.string())
    routing = pa.nulls(n, pa.string())
    account = pa.nulls(n, pa.string())
    for k, c in enumerate(info):
        rows = np.flatnonzero(country == k)
        if rows.size == 0:
            continue
        mask = np.zeros(n, dtype=bool)
        mask[rows] = True
        if c["iban"]:
            values = vocab.ibans(rng, codes[k], c["iban"][0], c["iban"][1], rows.size)
            iban = _scatter(iban, mask, values)
        else:
            account = _scatter(
                account, mask, vocab.patterns(rng, ["############"], np.zeros(rows.size))
            )
            if codes[k] == "US":
                routing = _scatter(routing, mask, vocab.routing_numbers(rng, rows.size))
    columns.update(iban=iban, bank_routing_number=routing, bank_account_number=account)
    return country, columns


def _scatter(base: pa.Array, mask: np.ndarray, values: pa.Array) -> pa.Array:
    """``base`` with the rows where ``mask`` is true replaced, in order, by ``values``."""
    index = np.cumsum(mask) - 1
    spread = values.take(pa.array(np.where(mask, index, 0)))
    return pc.if_else(pa.array(mask), spread, base)


def _terms(rng: np.random.Generator, mix: dict[str, float], n: int) -> dict[str, pa.Array]:
    names = list(mix)
    which = dist.draw(rng, dist.cdf(list(mix.values())), n)
    days, percent, discount_days = (
        np.array([PAYMENT_TERMS[t][i] for t in names]) for i in range(3)
    )
    return {
        "payment_terms": vocab.pick(names, which),
        "payment_terms_days": pa.array(days[which].astype(np.int16)),
        "cash_discount_percent": pa.array(percent[which].astype(np.float32)),
        "cash_discount_days": pa.array(discount_days[which].astype(np.int16)),
    }


def _intercompany(
    rng: np.random.Generator, config: DatasynthConfig, code: str, n: int
) -> tuple[np.ndarray, np.ndarray, list[str | None]]:
    """Rows that are other group companies, which company (index into ``config.companies``),
    and the country each row is forced to (None for ordinary partners)."""
    others = np.array([i for i, c in enumerate(config.companies) if c.code != code], dtype=np.int64)
    ic = rng.random(n) < config.master_data.intercompany_share
    pick = rng.integers(0, max(others.size, 1), n)
    if others.size == 0:
        return np.zeros(n, dtype=bool), np.zeros(n, dtype=np.int64), [None] * n
    partner = others[pick]
    forced = [
        config.companies[p].country if flag else None for flag, p in zip(ic, partner, strict=True)
    ]
    return ic, partner, forced


def _apply_intercompany(
    columns: dict[str, pa.Array],
    name_column: str,
    config: DatasynthConfig,
    ic: np.ndarray,
    partner: np.ndarray,
) -> None:
    companies = config.companies
    mask = pa.array(ic)
    for column, values in (
        (name_column, [c.name for c in companies]),
        ("country", [c.country for c in companies]),
        ("currency", [c.currency for c in companies]),
    ):
        columns[column] = pc.if_else(mask, vocab.pick(values, partner), columns[column])
    columns["is_intercompany"] = mask
    columns["intercompany_code"] = pc.if_else(
        mask, vocab.pick([c.code for c in companies], partner), pa.nulls(ic.size, pa.string())
    )


def generate_vendors(config: DatasynthConfig, company_index: int, ap_account: str) -> pa.Table:
    """The vendors of one company (``master_data.vendors`` rows)."""
    company = config.companies[company_index]
    n = config.master_data.vendors
    rng = stream(config.global_.seed, "vendors", company.code)
    data = load("partners")
    types = list(data["vendor_types"])
    kind = dist.draw(rng, dist.cdf(list(data["vendor_types"].values())), n)
    nouns, noun_at = _grouped([data["vendor_nouns"][t] for t in types], kind, rng.random(n))
    prefix = rng.integers(0, len(data["name_prefixes"]), n)
    ic, partner, forced = _intercompany(rng, config, company.code, n)
    _, columns = _addresses(rng, company.country, forced)
    columns["vendor_name"] = vocab.join(
        [
            vocab.pick(data["name_prefixes"], prefix),
            vocab.pick(nouns, noun_at),
            columns.pop("_legal_form"),
        ]
    )
    columns.update(_terms(rng, config.master_data.vendor_payment_terms, n))
    _apply_intercompany(columns, "vendor_name", config, ic, partner)
    columns.update(
        vendor_id=partner_ids("V", company.code, np.arange(n)),
        company_code=pa.array(np.full(n, company.code)),
        vendor_type=vocab.pick(types, kind),
        reconciliation_account=pa.array(np.full(n, ap_account)),
    )
    return pa.table({f.name: columns[f.name] for f in VENDOR_SCHEMA}, schema=VENDOR_SCHEMA)


def generate_customers(
    config: DatasynthConfig, company_index: int, ar_account: str, amount_scale: float
) -> pa.Table:
    """The customers of one company (``master_data.customers`` rows)."""
    company = config.companies[company_index]
    md = config.master_data
    n = md.customers
    rng = stream(config.global_.seed, "customers", company.code)
    data = load("partners")
    types = list(data["customer_types"])
    kind = dist.draw(rng, dist.cdf(list(data["customer_types"].values())), n)
    prefix = rng.integers(0, len(data["name_prefixes"]), n)
    noun = rng.integers(0, len(data["customer_nouns"]), n)
    ic, partner, forced = _intercompany(rng, config, company.code, n)
    _, columns = _addresses(rng, company.country, forced)
    columns["customer_name"] = vocab.join(
        [
            vocab.pick(data["name_prefixes"], prefix),
            vocab.pick(data["customer_nouns"], noun),
            columns.pop("_legal_form"),
        ]
    )
    columns.update(_terms(rng, md.customer_payment_terms, n))
    ratings = list(md.credit_ratings)
    rating = dist.draw(rng, dist.cdf(list(md.credit_ratings.values())), n)
    type_factor = np.array([0.2 if t in ("consumer", "small_business") else 1.0 for t in types])[
        kind
    ]
    limit = np.array([_CREDIT_LIMITS[r] for r in ratings])[rating] * type_factor * amount_scale
    behaviours = list(md.payment_behaviours)
    behaviour = dist.draw(rng, dist.cdf(list(md.payment_behaviours.values())), n)
    _apply_intercompany(columns, "customer_name", config, ic, partner)
    columns.update(
        customer_id=partner_ids("C", company.code, np.arange(n)),
        company_code=pa.array(np.full(n, company.code)),
        customer_type=vocab.pick(types, kind),
        credit_rating=vocab.pick(ratings, rating),
        credit_limit=decimal_from_minor(np.rint(limit).astype(np.int64) * 100),
        payment_behavior=vocab.pick(behaviours, behaviour),
        reconciliation_account=pa.array(np.full(n, ar_account)),
    )
    return pa.table({f.name: columns[f.name] for f in CUSTOMER_SCHEMA}, schema=CUSTOMER_SCHEMA)


def activity_cdf(count: int, skew: float) -> np.ndarray:
    """Cumulative activity of partners 0..count-1: Zipf weights 1 / (i + 1) ** skew."""
    return dist.cdf(1.0 / np.arange(1, count + 1, dtype=np.float64) ** skew)
