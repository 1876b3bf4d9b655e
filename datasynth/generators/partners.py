"""Vendors and customers of every company: names, addresses, tax ids, bank details, terms.

Built per company from vocabularies in ``datasynth/data/partners.json`` with numpy draws (no
faker calls): most partners are domestic, the rest come from the group's trading countries;
IBANs carry valid check digits, US routing numbers a valid checksum; names and tax ids are
unique within a company. Ids are reconstructable (``V-<company>-<6 digits>``,
``C-<company>-<6 digits>``): partner ``i`` of a company is always row ``i``, and activity falls
off with the index (Zipf, ``master_data.activity_skew``), so a journal line can name a partner
by index without a lookup. The first rows are the other group companies (one each, by code).

Each concern (kinds, names, countries, addresses, bank details, terms, credit) draws from its
own stream, and text is filled from per-row pools, so a row never changes because another row
did (another company in the group, another country mix).
"""

from __future__ import annotations

from functools import lru_cache

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


_POOL = 32  # widest pattern or BBAN


def _countries(
    rng: np.random.Generator, home: str, forced: list[str | None]
) -> tuple[list[str], np.ndarray]:
    """Vocabulary country codes (home first) and each row's country index.

    About three quarters of the partners are domestic when the home country has a vocabulary;
    ``forced[i]`` (an intercompany partner's country) wins where the vocabulary knows it.
    """
    data = load("partners")["countries"]
    codes = [home, *[c for c in data if c != home]] if home in data else list(data)
    if home in data:
        foreign = len(codes) - 1
        weights = [_DOMESTIC_SHARE] + [(1 - _DOMESTIC_SHARE) / foreign] * foreign
    else:
        weights = [1.0] * len(codes)
    country = dist.draw(rng, dist.cdf(weights), len(forced))
    position = {c: i for i, c in enumerate(codes)}
    wanted = np.array([position.get(c, -1) if c else -1 for c in forced], dtype=np.int64)
    return codes, np.where(wanted >= 0, wanted, country)


def _addresses(
    rng: np.random.Generator, codes: list[str], country: np.ndarray
) -> dict[str, pa.Array]:
    """Address, tax id, currency, legal form and bank columns for each row's country."""
    data = load("partners")["countries"]
    info = [data[c] for c in codes]
    n = country.size
    u = rng.random((n, 4))
    digits, letters = vocab.random_pools(rng, n, _POOL)
    tax_digits, tax_letters = vocab.random_pools(rng, n, _POOL)
    bank_digits, bank_letters = vocab.random_pools(rng, n, _POOL)
    cities, city_at = vocab.pick_within([c["cities"] for c in info], country, u[:, 0])
    streets, street_at = vocab.pick_within([c["streets"] for c in info], country, u[:, 1])
    forms, form_at = vocab.pick_within([c["forms"] for c in info], country, u[:, 2])
    number = pa.array((1 + (u[:, 3] * 249).astype(np.int64)).astype(str))
    street_name = vocab.pick([s for s in streets], street_at)
    number_first = np.array([c["number_first"] for c in info])[country]
    columns: dict[str, pa.Array] = {
        "country": vocab.pick(codes, country),
        "city": vocab.pick([c[0] for c in cities], city_at),
        "street": pc.if_else(
            pa.array(number_first),
            vocab.join([number, street_name]),
            vocab.join([street_name, number]),
        ),
        "postal_code": vocab.patterns([c[1] for c in cities], city_at, digits, letters),
        "tax_id": vocab.patterns([c["tax"][1] for c in info], country, tax_digits, tax_letters),
        "currency": vocab.pick([c["currency"] for c in info], country),
        "_legal_form": vocab.pick(forms, form_at),
    }
    iban = pa.nulls(n, pa.string())
    routing = pa.nulls(n, pa.string())
    account = pa.nulls(n, pa.string())
    for k, c in enumerate(info):
        mask = country == k
        if not mask.any():
            continue
        if c["iban"]:
            values = vocab.ibans(
                codes[k], c["iban"][0], c["iban"][1], bank_digits[mask], bank_letters[mask]
            )
            iban = vocab.scatter(iban, mask, values)
        else:
            numbers = vocab.patterns(
                ["############"],
                np.zeros(int(mask.sum())),
                bank_digits[mask, 8:],
                bank_letters[mask],
            )
            account = vocab.scatter(account, mask, numbers)
            if codes[k] == "US":
                routing = vocab.scatter(routing, mask, vocab.routing_numbers(bank_digits[mask]))
    columns.update(iban=iban, bank_routing_number=routing, bank_account_number=account)
    return columns


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


def _group_partners(config: DatasynthConfig, code: str, n: int) -> list[int]:
    """Indices (into ``config.companies``) of the other group companies, by code: they are
    partner rows 0, 1, ... of this company."""
    others = sorted((c.code, i) for i, c in enumerate(config.companies) if c.code != code)
    return [i for _, i in others][:n]


def _unique_names(
    rng: np.random.Generator, names: pa.Array, city: pa.Array, form: pa.Array, base: pa.Array
) -> pa.Array:
    """Names made unique: a repeated name takes its city, then a branch number."""
    repeated = vocab.duplicates(names)
    if repeated.any():
        with_city = vocab.join([base, city, form])
        names = pc.if_else(pa.array(repeated), with_city, names)
    repeated = vocab.duplicates(names)
    if repeated.any():
        number = pa.array(np.char.mod("%d", np.arange(names.__len__()) + 1))
        numbered = vocab.join([base, city, pa.array(["Branch"] * len(names)), number, form])
        names = pc.if_else(pa.array(repeated), numbered, names)
    return names.combine_chunks() if isinstance(names, pa.ChunkedArray) else names


def _unique_tax_ids(
    rng: np.random.Generator, columns: dict[str, pa.Array], codes: list[str], country: np.ndarray
) -> None:
    """Redraw the tax ids that repeat an earlier one (rare; a few rounds at most)."""
    data = load("partners")["countries"]
    formats = [data[c]["tax"][1] for c in codes]
    for _ in range(20):
        repeated = vocab.duplicates(columns["tax_id"])
        if not repeated.any():
            return
        digits, letters = vocab.random_pools(rng, int(repeated.sum()), _POOL)
        fresh = vocab.patterns(formats, country[repeated], digits, letters)
        columns["tax_id"] = vocab.scatter(columns["tax_id"], repeated, fresh)


def _partners(
    config: DatasynthConfig, company_index: int, table: str, kinds: dict[str, float]
) -> tuple[dict[str, pa.Array], np.ndarray, list[int]]:
    """Columns shared by vendors and customers, each row's kind, and the group partners."""
    company = config.companies[company_index]
    n = getattr(config.master_data, table)
    seed = config.global_.seed

    def rng(concern: str) -> np.random.Generator:
        return stream(seed, table, company.code, concern)

    group = _group_partners(config, company.code, n)
    forced: list[str | None] = [config.companies[i].country for i in group]
    forced += [None] * (n - len(group))
    codes, country = _countries(rng("countries"), company.country, forced)
    columns = _addresses(rng("addresses"), codes, country)
    kind = dist.draw(rng("kinds"), dist.cdf(list(kinds.values())), n)
    ic = np.zeros(n, dtype=bool)
    ic[: len(group)] = True
    group_index = np.zeros(n, dtype=np.int64)
    group_index[: len(group)] = group
    columns["is_intercompany"] = pa.array(ic)
    columns["intercompany_code"] = vocab.scatter(
        pa.nulls(n, pa.string()),
        ic,
        pa.array([config.companies[i].code for i in group], pa.string()),
    )
    _unique_tax_ids(rng("tax_ids"), columns, codes, country)
    columns["_country_index"] = pa.array(country)
    return columns, kind, group


def _names(
    config: DatasynthConfig,
    columns: dict[str, pa.Array],
    nouns: list[str],
    noun_at: np.ndarray,
    rng: np.random.Generator,
    group: list[int],
) -> pa.Array:
    data = load("partners")
    n = noun_at.size
    prefix = vocab.pick(data["name_prefixes"], rng.integers(0, len(data["name_prefixes"]), n))
    base = vocab.join([prefix, vocab.pick(nouns, noun_at)])
    form = columns.pop("_legal_form")
    names = vocab.join([base, form])
    names = vocab.scatter(
        names,
        np.arange(n) < len(group),
        pa.array([config.companies[i].name for i in group], pa.string()),
    )
    return _unique_names(rng, names, columns["city"], form, base)


def generate_vendors(config: DatasynthConfig, company_index: int, ap_account: str) -> pa.Table:
    """The vendors of one company (``master_data.vendors`` rows)."""
    company = config.companies[company_index]
    data = load("partners")
    types = list(data["vendor_types"])
    columns, kind, group = _partners(config, company_index, "vendors", data["vendor_types"])
    n = kind.size
    rng = stream(config.global_.seed, "vendors", company.code, "names")
    nouns, noun_at = vocab.pick_within(
        [data["vendor_nouns"][t] for t in types], kind, rng.random(n)
    )
    columns["vendor_name"] = _names(config, columns, nouns, noun_at, rng, group)
    columns.update(
        _terms(
            stream(config.global_.seed, "vendors", company.code, "terms"),
            config.master_data.vendor_payment_terms,
            n,
        )
    )
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
    data = load("partners")
    types = list(data["customer_types"])
    columns, kind, group = _partners(config, company_index, "customers", data["customer_types"])
    n = kind.size
    rng = stream(config.global_.seed, "customers", company.code, "names")
    noun_at = rng.integers(0, len(data["customer_nouns"]), n)
    columns["customer_name"] = _names(config, columns, data["customer_nouns"], noun_at, rng, group)
    columns.update(
        _terms(
            stream(config.global_.seed, "customers", company.code, "terms"),
            md.customer_payment_terms,
            n,
        )
    )
    credit = stream(config.global_.seed, "customers", company.code, "credit")
    ratings = list(md.credit_ratings)
    rating = dist.draw(credit, dist.cdf(list(md.credit_ratings.values())), n)
    type_factor = np.array([0.2 if t in ("consumer", "small_business") else 1.0 for t in types])[
        kind
    ]
    limit = np.array([_CREDIT_LIMITS[r] for r in ratings])[rating] * type_factor * amount_scale
    behaviours = list(md.payment_behaviours)
    behaviour = dist.draw(credit, dist.cdf(list(md.payment_behaviours.values())), n)
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


@lru_cache(maxsize=16)
def activity_cdf(count: int, skew: float, reserved: int = 0) -> np.ndarray:
    """Cumulative activity of partners 0..count-1 in ordinary (non-intercompany) postings.

    The first ``reserved`` rows are the group companies and take no ordinary postings; the rest
    follow Zipf weights 1 / rank ** skew. If every row is reserved, all are equally likely.
    """
    if count <= reserved:
        return dist.cdf(np.ones(count))
    weights = np.zeros(count, dtype=np.float64)
    weights[reserved:] = 1.0 / np.arange(1, count - reserved + 1, dtype=np.float64) ** skew
    out = dist.cdf(weights)
    out.setflags(write=False)
    return out


def group_partner_count(config: DatasynthConfig, table: str) -> int:
    """How many leading rows of a company's vendors or customers are group companies."""
    return min(int(getattr(config.master_data, table)), len(config.companies) - 1)


def fictitious_vendors(
    config: DatasynthConfig, company_index: int, ap_account: str, count: int
) -> pa.Table:
    """Shell vendors of one company for the ``fictitious_vendor`` anomaly: numbered after its
    real vendors, at home, paid immediately, a professional-services firm with a PO box and a
    bank account of its own. Drawn from their own stream: the real vendors never change."""
    company = config.companies[company_index]
    real = config.master_data.vendors
    rng = stream(config.global_.seed, "anomalies", company.code, "fictitious_vendors")
    columns = _addresses(rng, [company.country], np.zeros(count, dtype=np.int64))
    prefixes = load("partners")["name_prefixes"]
    pick = (
        rng.permutation(len(prefixes))[:count]
        if count <= len(prefixes)
        else rng.integers(0, len(prefixes), count)
    )
    form = columns.pop("_legal_form")
    number = pa.array(np.char.mod("%d", np.arange(real + 1, real + count + 1)))
    columns["vendor_name"] = vocab.join(
        [vocab.pick(prefixes, pick), pa.array(["Consulting Partners"] * count), number, form]
    )
    box = rng.integers(100, 9999, count)
    columns["street"] = pa.array(np.char.mod("PO Box %d", box))
    columns.update(
        vendor_id=partner_ids("V", company.code, real + np.arange(count)),
        company_code=pa.array(np.full(count, company.code)),
        vendor_type=pa.array(["professional_services"] * count),
        payment_terms=pa.array(["immediate"] * count),
        payment_terms_days=pa.array(np.zeros(count, dtype=np.int16)),
        cash_discount_percent=pa.array(np.zeros(count, dtype=np.float32)),
        cash_discount_days=pa.array(np.zeros(count, dtype=np.int16)),
        is_intercompany=pa.array(np.zeros(count, dtype=bool)),
        intercompany_code=pa.nulls(count, pa.string()),
        reconciliation_account=pa.array(np.full(count, ap_account)),
    )
    return pa.table(
        {f.name: columns[f.name].cast(f.type) for f in VENDOR_SCHEMA}, schema=VENDOR_SCHEMA
    )
