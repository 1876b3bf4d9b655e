"""Master data built once per run and broadcast to every block: companies, chart of accounts,
users, cost centers, posting templates and each company's calendar.

Everything here is a pure function of the configuration (and, for user names, of the seed), so
any worker can rebuild it and get the same result.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pyarrow as pa

from datasynth.config.models import (
    BUSINESS_PROCESSES,
    FISCAL_YEAR_START_MONTH,
    PERSONAS,
    DatasynthConfig,
)
from datasynth.core.calendars import FiscalPeriod, company_calendar
from datasynth.core.distributions import GroupedCategorical
from datasynth.core.money import minor_from_decimal
from datasynth.core.reference import load
from datasynth.core.seeding import stream
from datasynth.generators import economics
from datasynth.generators.chart_of_accounts import ChartOfAccounts, build_chart_of_accounts
from datasynth.generators.employees import generate_employees
from datasynth.generators.flows import FlowCompany, build_flow_company
from datasynth.generators.materials import generate_fixed_assets, generate_materials
from datasynth.generators.order_to_cash import expected_credit_failures, expected_passing_net
from datasynth.generators.partners import (
    activity_cdf,
    fictitious_vendors,
    generate_customers,
    generate_vendors,
    group_partner_count,
)

COMPANY_SCHEMA = pa.schema(
    [
        pa.field("company_code", pa.string(), nullable=False),
        pa.field("company_name", pa.string(), nullable=False),
        pa.field("currency", pa.string(), nullable=False),
        pa.field("country", pa.string(), nullable=False),
        pa.field("fiscal_year_variant", pa.string(), nullable=False),
        pa.field("fiscal_year_start_month", pa.int8(), nullable=False),
        pa.field("volume_weight", pa.float64(), nullable=False),
    ]
)
USER_SCHEMA = pa.schema(
    [
        pa.field("user_id", pa.string(), nullable=False),
        pa.field("company_code", pa.string(), nullable=False),
        pa.field("display_name", pa.string(), nullable=False),
        pa.field("persona", pa.string(), nullable=False),
        pa.field("is_automated", pa.bool_(), nullable=False),
        pa.field("department", pa.string(), nullable=False),
        pa.field("reports_to", pa.string()),
    ]
)
COST_CENTER_SCHEMA = pa.schema(
    [
        pa.field("cost_center", pa.string(), nullable=False),
        pa.field("company_code", pa.string(), nullable=False),
        pa.field("name", pa.string(), nullable=False),
        pa.field("department", pa.string(), nullable=False),
    ]
)
PROFIT_CENTER_SCHEMA = pa.schema(
    [
        pa.field("profit_center", pa.string(), nullable=False),
        pa.field("company_code", pa.string(), nullable=False),
        pa.field("name", pa.string(), nullable=False),
        pa.field("segment", pa.string(), nullable=False),
    ]
)
#: profit centers per company: the industry's first product lines
PROFIT_CENTERS_PER_COMPANY = 6


def _profit_centers(industry: str, codes: list[str]) -> pa.Table:
    lines = load("chart_of_accounts")["qualifiers"]["product"][industry][
        :PROFIT_CENTERS_PER_COMPANY
    ]
    rows = [
        dict(
            profit_center=f"PC-{code}-{k + 1:02d}",
            company_code=code,
            name=f"{line} {code}",
            segment=line,
        )
        for code in codes
        for k, line in enumerate(lines)
    ]
    return pa.Table.from_pylist(rows, schema=PROFIT_CENTER_SCHEMA)


#: departments that own cost centers, with their share of postings that need one
DEPARTMENTS: tuple[tuple[str, str, float], ...] = (
    ("FIN", "Finance", 0.12),
    ("SALES", "Sales", 0.18),
    ("MKT", "Marketing", 0.08),
    ("OPS", "Operations", 0.16),
    ("LOG", "Logistics", 0.10),
    ("IT", "Information technology", 0.10),
    ("HR", "Human resources", 0.06),
    ("RND", "Research and development", 0.08),
    ("ADMIN", "Administration", 0.09),
    ("EXEC", "Executive office", 0.03),
)
AUTOMATED_PERSONA = "automated_system"
#: control accounts kept by partner (the subledger): lines on them name a vendor or customer
SUBLEDGER_ROLES = ("role:ap", "role:ar", "role:ic_payable", "role:ic_receivable")
#: roles posted on their main account only: a partner's postings go to its reconciliation
#: account, payments in and out through the main operating bank account (the flows' and the
#: settlements' bank); the company's other bank accounts move by transfers
MAIN_ACCOUNT_ROLES = (*SUBLEDGER_ROLES, "role:bank")


@dataclass(frozen=True)
class CompanyMaster:
    """Per-company lookups used by every block of that company."""

    code: str
    currency: str
    fiscal_start_month: int
    periods: tuple[FiscalPeriod, ...]
    day_weights: np.ndarray
    user_ids: tuple[str, ...]
    #: user indices grouped by persona (PERSONAS order, automated users last) laid end to end;
    #: persona p's users are ``user_lookup[persona_offsets[p] : persona_offsets[p] + persona_sizes[p]]``
    user_lookup: np.ndarray
    persona_offsets: np.ndarray
    persona_sizes: np.ndarray
    cost_centers: tuple[str, ...]
    #: configured amounts (group currency) times this = amounts in the company's currency
    amount_scale: float
    #: smallest amount in hundredths: 1 for two-decimal currencies, 100 for JPY, KRW, ...
    amount_unit: int
    #: cumulative activity of the company's vendors and customers (Zipf over the index)
    vendor_cdf: np.ndarray
    customer_cdf: np.ndarray
    #: the first rows of vendors and customers are the other group companies
    group_vendors: int
    group_customers: int
    #: the size of the business: a factor on materials' costs and prices, credit limits and
    #: fixed assets (economics.price_level); amounts of those are ``value_scale`` x base
    price_level: float = 1.0
    #: expected revenue per year (hundredths of the company's currency); 0 without sales
    annual_revenue: float = 0.0

    @property
    def value_scale(self) -> float:
        return self.amount_scale * self.price_level


#: when a template's follow-on entries post (docs/generation.md#follow-on-entries)
FOLLOW_ON_TIMINGS = ("next_period", "period_end", "days")


@dataclass(frozen=True)
class FollowOn:
    """The entries one entry of a posting template brings after it: an accrual's reversal on
    the first day of the next period, a prepayment's releases at the ends of its periods, a
    transfer's return some days later. A follow-on mirrors its entry's lines (debit and credit
    swapped); with ``replace_side`` that side of the entry collapses into one line on an
    account drawn from ``replace_accounts`` (a release debits an expense, not the bank)."""

    name: str  # posting template of the follow-on entries ("R2R: Accrual reversal")
    document_type: str
    source: str
    timing: str  # one of FOLLOW_ON_TIMINGS
    days: tuple[int, int]  # timing "days": posted this many days after the entry (inclusive)
    installments: np.ndarray  # choices of the number of follow-ons (period_end), else [1]
    installment_weights: np.ndarray
    replace_side: str  # "", "debit" or "credit": the entry's side a single new line replaces
    replace_accounts: np.ndarray
    replace_weights: np.ndarray

    @property
    def mean_installments(self) -> float:
        return float(self.installments @ self.installment_weights)


@dataclass(frozen=True)
class PostingModel:
    """Which accounts an entry of a given business process posts to, and how often."""

    template_names: tuple[str, ...]
    template_document_types: tuple[str, ...]
    #: the flow document that posts each template (``"goods_receipt"``, ...), "" for none
    template_flow_documents: tuple[str, ...]
    #: draws a template (global index) per entry from its process (group = process index)
    templates: GroupedCategorical
    template_offset: np.ndarray
    #: draws an account per line; group = template * 2 + (0 debit | 1 credit); the account is
    #: ``account_lookup[account_offsets[group] + draw]``
    accounts: GroupedCategorical
    account_lookup: np.ndarray
    account_offsets: np.ndarray
    #: the weights behind ``templates`` (per process) and ``accounts`` (per group, summing to 1)
    process_weights: tuple[list[float], ...]
    side_weights: tuple[np.ndarray, ...]
    #: log of each template's relative size: entries of larger templates take the larger
    #: drawn amounts (distributions.couple_amounts)
    template_log_size: np.ndarray
    #: per template, the entries each of its entries brings after it (None for most)
    follow_ons: tuple[FollowOn | None, ...] = ()

    @property
    def groups(self) -> int:
        """Number of (template, side) groups: two per template."""
        return len(self.account_offsets)

    @property
    def flow_templates(self) -> np.ndarray:
        """Mask over templates whose entries come from document flows when flows are on."""
        return np.array([bool(d) for d in self.template_flow_documents])

    def follow_on(self, name: str) -> tuple[int, FollowOn] | None:
        """The template (global index) whose follow-on entries are ``name``, with its spec."""
        for t, f in enumerate(self.follow_ons):
            if f is not None and f.name == name:
                return t, f
        return None

    def template_of(self, flow_document: str) -> int:
        """Global index of the template a flow document posts with."""
        return self.template_flow_documents.index(flow_document)

    def choices(self, group: int) -> np.ndarray:
        """Account indices a (template, side) group can post to, in draw order."""
        start = int(self.account_offsets[group])
        out: np.ndarray = self.account_lookup[start : start + int(self.accounts.sizes[group])]
        return out


@dataclass(frozen=True)
class Master:
    """Everything a block generator needs besides its own random stream."""

    chart: ChartOfAccounts
    posting: PostingModel
    companies: tuple[CompanyMaster, ...]
    tables: dict[str, pa.Table]
    #: purchasing and sales lookups per company when document flows are enabled
    flows: tuple[FlowCompany, ...] | None = None
    #: standard cost (hundredths) of every material per company when inventory is kept by
    #: material (balances on): standalone inventory lines then move a material too
    material_costs: tuple[np.ndarray, ...] | None = None


def build_posting_model(chart: ChartOfAccounts) -> PostingModel:
    templates: dict[str, list[dict[str, Any]]] = load("chart_of_accounts")["posting_templates"]
    names: list[str] = []
    document_types: list[str] = []
    flow_documents: list[str] = []
    sizes: list[float] = []
    per_process: list[list[float]] = []
    offsets: list[int] = []
    side_groups: list[list[float]] = []
    side_weights: list[np.ndarray] = []
    choices: list[np.ndarray] = []
    follow_ons: list[FollowOn | None] = []
    for process in BUSINESS_PROCESSES:
        offsets.append(len(names))
        per_process.append([t["weight"] for t in templates[process]])
        for template in templates[process]:
            names.append(f"{process}: {template['name']}")
            document_types.append(template["document_type"])
            flow_documents.append(template.get("flow_document", ""))
            sizes.append(float(template.get("size", 1.0)))
            for side in ("debit", "credit"):
                accounts, weights = _side_accounts(chart, template[side])
                side_groups.append(weights)
                side_weights.append(np.asarray(weights) / sum(weights))
                choices.append(np.asarray(accounts, dtype=np.int32))
            follow_ons.append(
                _follow_on(chart, process, template, choices[-2:])
                if "follow_on" in template
                else None
            )
    return PostingModel(
        template_names=tuple(names),
        template_document_types=tuple(document_types),
        template_flow_documents=tuple(flow_documents),
        templates=GroupedCategorical(per_process),
        template_offset=np.asarray(offsets, dtype=np.int64),
        accounts=GroupedCategorical(side_groups),
        account_lookup=np.concatenate(choices),
        account_offsets=_offsets([c.size for c in choices]),
        process_weights=tuple(per_process),
        side_weights=tuple(side_weights),
        template_log_size=np.log(np.asarray(sizes, dtype=np.float64)),
        follow_ons=tuple(follow_ons),
    )


def _side_accounts(chart: ChartOfAccounts, refs: list[list[Any]]) -> tuple[list[int], list[float]]:
    """Accounts and weights of one side of a template: ``[family, share]`` pairs, where a
    family is ``subtype:x`` or ``role:x``, or ``A - B - ...`` for the accounts of A in none of
    B, ..."""
    accounts: list[int] = []
    weights: list[float] = []

    def members(ref: str) -> list[int]:
        family = list(chart.families[ref])
        return family[:1] if ref in MAIN_ACCOUNT_ROLES else family

    for ref, share in refs:
        base, *minus = (part.strip() for part in ref.split(" - "))
        excluded = {a for m in minus for a in members(m)}
        family = [a for a in members(base) if a not in excluded]
        # within a family the main account is busiest (Zipf-like 1/rank)
        rank = 1.0 / np.arange(1, len(family) + 1)
        accounts.extend(family)
        weights.extend((share * rank / rank.sum()).tolist())
    return accounts, weights


def _follow_on(
    chart: ChartOfAccounts, process: str, template: dict[str, Any], sides: list[np.ndarray]
) -> FollowOn:
    spec = template["follow_on"]
    where = f"posting template {process}: {template['name']!r} follow_on"
    timing = spec["timing"]
    if timing not in FOLLOW_ON_TIMINGS:
        raise ValueError(f"{where}: timing {timing!r} is not one of {FOLLOW_ON_TIMINGS}")
    installments = spec.get("installments", {"1": 1.0})
    counts = np.array([int(k) for k in installments], dtype=np.int64)
    shares = np.array(list(installments.values()), dtype=np.float64)
    if (counts < 1).any() or ((counts > 1).any() and timing != "period_end"):
        raise ValueError(f"{where}: installments {list(counts)} (more than 1 needs period_end)")
    replace = spec.get("replace")
    side = replace["side"] if replace else ""
    accounts, weights = _side_accounts(chart, replace["accounts"]) if replace else ([], [])
    # split into installments, a line keeps its total exactly only on accounts nothing else
    # ties to a document: no open items, no stock
    tied = chart.family_mask("subtype:inventory") | chart.family_mask("role:ap")
    tied |= chart.family_mask("role:ar")
    if (counts > 1).any() and any(tied[a].any() for a in sides):
        raise ValueError(f"{where}: installments on a template that posts open items or stock")
    return FollowOn(
        name=f"{process}: {spec['name']}",
        document_type=spec["document_type"],
        source=spec["source"],
        timing=timing,
        days=tuple(spec.get("days", (0, 0))),
        installments=counts,
        installment_weights=shares / shares.sum(),
        replace_side=side,
        replace_accounts=np.asarray(accounts, dtype=np.int32),
        replace_weights=np.asarray(weights, dtype=np.float64) / max(sum(weights), 1e-300),
    )


def _offsets(sizes: list[int]) -> np.ndarray:
    """Start of each of several arrays laid end to end."""
    out: np.ndarray = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
    return out


def currency_scale(currency: str, group_currency: str) -> tuple[float, int]:
    """(units of ``currency`` per unit of ``group_currency``, smallest amount in hundredths).

    Approximate rates set the *scale* of amounts (a yen ledger shows yen-sized numbers);
    currencies missing from ``datasynth/data/currencies.json`` count as dollar-sized with cents.
    """
    table = load("currencies")
    per_usd, digits = table.get(currency, (1.0, 2))
    group_per_usd = table.get(group_currency, (1.0, 2))[0]
    return float(per_usd) / float(group_per_usd), 10 ** (2 - int(digits))


def _users(config: DatasynthConfig, code: str) -> tuple[list[dict[str, Any]], list[list[int]]]:
    names = load("names")
    rng = stream(config.global_.seed, "users", code)
    t = config.transactions
    weights = np.array([t.personas.get(p, 0.0) for p in PERSONAS])
    # every persona with weight gets at least one person; the rest by largest remainder
    exact = weights / weights.sum() * max(t.human_users, int((weights > 0).sum()))
    counts = np.floor(exact).astype(int)
    counts[(weights > 0) & (counts == 0)] = 1
    short = max(t.human_users - int(counts.sum()), 0)
    counts[np.argsort(-(exact - np.floor(exact)), kind="stable")[:short]] += 1
    rows: list[dict[str, Any]] = []
    persona_users: list[list[int]] = [[] for _ in range(len(PERSONAS) + 1)]
    seen: set[str] = set()
    firsts = rng.integers(0, len(names["first_names"]), int(counts.sum()))
    lasts = rng.integers(0, len(names["last_names"]), int(counts.sum()))
    k = 0
    for p, persona in enumerate(PERSONAS):
        for _ in range(int(counts[p])):
            first, last = names["first_names"][firsts[k]], names["last_names"][lasts[k]]
            k += 1
            # the company code keeps ids unique across the group (people of different companies
            # may share a name); a number keeps namesakes inside one company apart
            base = f"{first[0]}{last}".upper()
            user_id, n = f"{base}-{code}", 1
            while user_id in seen:
                n += 1
                user_id = f"{base}{n}-{code}"
            seen.add(user_id)
            persona_users[p].append(len(rows))
            rows.append(
                dict(
                    user_id=user_id,
                    company_code=code,
                    display_name=f"{first} {last}",
                    persona=persona,
                    is_automated=False,
                    department="Finance",
                )
            )
    systems = names["system_users"]
    for s in range(t.automated_users):
        base = systems[s % len(systems)]
        suffix = "" if s < len(systems) else f"{s // len(systems) + 1}"
        persona_users[-1].append(len(rows))
        rows.append(
            dict(
                user_id=f"{base}{suffix}-{code}",
                company_code=code,
                display_name=f"{base}{suffix} batch user",
                persona=AUTOMATED_PERSONA,
                is_automated=True,
                department="Information technology",
            )
        )
    # the reporting line: each person reports to someone of the next persona up (junior ->
    # senior -> controller -> manager), dealt round-robin; managers and batch users to nobody
    for p in range(len(PERSONAS)):
        above = next((u for u in persona_users[p + 1 : len(PERSONAS)] if u), None)
        for k, row in enumerate(persona_users[p]):
            rows[row]["reports_to"] = rows[above[k % len(above)]]["user_id"] if above else None
    for row in persona_users[-1]:
        rows[row]["reports_to"] = None
    return rows, persona_users


def build_master(config: DatasynthConfig) -> Master:
    """Build the run's master data from configuration alone."""
    g = config.global_
    chart = build_chart_of_accounts(config.chart_of_accounts.complexity, g.industry)
    companies: list[CompanyMaster] = []
    user_rows: list[dict[str, Any]] = []
    cc_rows: list[dict[str, Any]] = []
    for company in config.companies:
        start_month = FISCAL_YEAR_START_MONTH[company.fiscal_year_variant]
        periods, weights = company_calendar(config, company)
        rows, persona_users = _users(config, company.code)
        scale, unit = currency_scale(company.currency, g.group_currency)
        user_rows.extend(rows)
        cost_centers = tuple(f"CC-{company.code}-{d[0]}" for d in DEPARTMENTS)
        cc_rows.extend(
            dict(
                cost_center=cc,
                company_code=company.code,
                name=f"{d[1]} {company.code}",
                department=d[1],
            )
            for cc, d in zip(cost_centers, DEPARTMENTS, strict=True)
        )
        companies.append(
            CompanyMaster(
                code=company.code,
                currency=company.currency,
                fiscal_start_month=start_month,
                periods=tuple(periods),
                day_weights=weights,
                user_ids=tuple(r["user_id"] for r in rows),
                user_lookup=np.concatenate([np.asarray(u, dtype=np.int64) for u in persona_users]),
                persona_offsets=_offsets([len(u) for u in persona_users]),
                persona_sizes=np.array([len(u) for u in persona_users], dtype=np.int64),
                cost_centers=cost_centers,
                amount_scale=scale,
                amount_unit=unit,
                vendor_cdf=activity_cdf(
                    config.master_data.vendors,
                    config.master_data.activity_skew,
                    group_partner_count(config, "vendors"),
                ),
                customer_cdf=activity_cdf(
                    config.master_data.customers,
                    config.master_data.activity_skew,
                    group_partner_count(config, "customers"),
                ),
                group_vendors=group_partner_count(config, "vendors"),
                group_customers=group_partner_count(config, "customers"),
            )
        )
    company_table = pa.table(
        {
            "company_code": [c.code for c in config.companies],
            "company_name": [c.name for c in config.companies],
            "currency": [c.currency for c in config.companies],
            "country": [c.country for c in config.companies],
            "fiscal_year_variant": [c.fiscal_year_variant for c in config.companies],
            "fiscal_year_start_month": [
                FISCAL_YEAR_START_MONTH[c.fiscal_year_variant] for c in config.companies
            ],
            "volume_weight": [c.volume_weight for c in config.companies],
        },
        schema=COMPANY_SCHEMA,
    )
    tables = {
        "chart_of_accounts": chart.table,
        "companies": company_table,
        "users": pa.Table.from_pylist(user_rows, schema=USER_SCHEMA),
        "cost_centers": pa.Table.from_pylist(cc_rows, schema=COST_CENTER_SCHEMA),
        "profit_centers": _profit_centers(g.industry, [c.code for c in config.companies]),
    }
    posting = build_posting_model(chart)
    flows = None
    if config.document_flows.enabled:
        companies = [
            _with_price_level(config, chart, posting, i, c) for i, c in enumerate(companies)
        ]
        flows = tuple(_flow_company(config, chart, i, c) for i, c in enumerate(companies))
    material_costs = None
    if config.balances.enabled:
        material_costs = tuple(
            minor_from_decimal(
                generate_materials(config, i, c.value_scale, c.amount_unit, c.vendor_cdf)[
                    "standard_cost"
                ]
            )
            for i, c in enumerate(companies)
        )
    return Master(
        chart=chart,
        posting=posting,
        companies=tuple(companies),
        tables=tables,
        flows=flows,
        material_costs=material_costs,
    )


def _flow_company(
    config: DatasynthConfig, chart: ChartOfAccounts, i: int, c: CompanyMaster
) -> FlowCompany:
    return build_flow_company(
        config.companies[i].country,
        c.vendor_cdf,
        c.customer_cdf,
        generate_vendors(config, i, chart.account("ap")),
        generate_customers(config, i, chart.account("ar"), c.value_scale),
        generate_materials(config, i, c.value_scale, c.amount_unit, c.vendor_cdf),
    )


def template_processes(posting: PostingModel) -> np.ndarray:
    """The business process of each template ("O2C", "P2P", ...)."""
    return np.array([name.split(":")[0] for name in posting.template_names])


#: the follow-on entries that release prepayments (datasynth/data/chart_of_accounts.json)
PREPAID_RELEASE = "R2R: Prepaid expense release"
#: flow documents of the templates the standalone items' settlement stands in for when
#: there are no flows (and balances are on)
SETTLED_BY_ITEMS = ("customer_receipt", "vendor_payment", "bad_debt_write_off")


def replaced_mask(
    config: DatasynthConfig, posting: PostingModel, fc: FlowCompany | None
) -> np.ndarray:
    """Templates whose entries come from a company's flows (``fc``; None without flows), from
    the settlement of the standalone items (payments and write-offs, without flows and with
    balances) or from asset accounting (every A2R template follows the register)."""
    process = template_processes(posting)
    mask = np.zeros(len(posting.template_names), dtype=bool)
    if fc is not None:
        mask |= posting.flow_templates
        if not fc.can_purchase:
            mask &= process != "P2P"
        if not fc.can_sell:
            mask &= process != "O2C"
    elif config.balances.enabled:
        # without flows the settlement of the standalone items pays the invoices
        # (open_items.settle_standalone_items): no payments or write-offs of no item
        mask |= np.isin(posting.template_flow_documents, SETTLED_BY_ITEMS)
    if config.balances.asset_accounting:
        mask |= process == "A2R"
    return mask


def _with_price_level(
    config: DatasynthConfig,
    chart: ChartOfAccounts,
    posting: PostingModel,
    i: int,
    c: CompanyMaster,
) -> CompanyMaster:
    """The company with its price level and expected annual revenue (docs: economics)."""
    fc = _flow_company(config, chart, i, c)
    process = template_processes(posting)
    replaced = replaced_mask(config, posting, fc)
    failures = passing_net = 0.0
    if fc.can_sell:
        o = config.document_flows.o2c
        failures = expected_credit_failures(
            stream(config.global_.seed, "document_flows", c.code, "credit_failures"),
            o,
            fc,
            c.amount_unit,
        )
        passing_net = expected_passing_net(
            stream(config.global_.seed, "economics", c.code, "orders"), o, fc, c.amount_unit
        )
    yearly = float(economics.annual_entries(config)[i])
    p = economics.template_probabilities(config, list(posting.process_weights))
    choices = tuple(posting.choices(g) for g in range(posting.groups))
    net = economics.income_statement_net(chart.numbers, posting.side_weights, choices)
    expenses = (
        economics.standalone_expense_per_entry(
            config,
            p,
            net,
            posting.template_log_size,
            replaced,
            yearly / 12,
            economics.follow_on_terms(
                chart.numbers, posting.side_weights, choices, posting.follow_ons
            ),
        )
        * c.amount_scale
        * 100
    )
    # settlements of the standalone entries' items stand in for some flow entries
    paid = 1.0 - economics.STANDALONE_UNPAID
    settlements = tuple(
        paid
        * economics.item_rates(
            config,
            p,
            replaced,
            posting.side_weights,
            choices,
            chart.numbers.index(chart.account(role)),
        )
        for role in ("ar", "ap")
    )
    revenue, purchases = economics.flow_values_per_entry(
        config,
        p,
        replaced & posting.flow_templates,
        process,
        fc,
        failures,
        passing_net,
        (settlements[0], settlements[1]),
    )
    margin = config.document_flows.operating_margin
    level = 1.0 if margin is None else economics.price_level(margin, expenses, revenue, purchases)
    return replace(c, price_level=level, annual_revenue=level * revenue * yearly)


#: master-data tables too large to ship to every task: each is generated in its own task,
#: and blocks refer to their rows by reconstructable id
TASK_TABLES = ("vendors", "customers", "materials", "fixed_assets", "employees")


def task_table_rows(config: DatasynthConfig, table: str) -> int:
    """Rows of a task-generated master table (its count per company times the companies)."""
    return int(getattr(config.master_data, table)) * len(config.companies)


def generate_master_table(config: DatasynthConfig, master: Master, table: str) -> pa.Table:
    """One master-data table of the whole group."""
    if table in master.tables:
        return master.tables[table]
    if table == "vendors":
        parts = [
            generate_vendors(config, i, master.chart.account("ap"))
            for i in range(len(config.companies))
        ]
        shells = config.anomalies.fictitious_vendor_count
        if shells:
            # the fictitious_vendor anomaly's shell vendors, after each company's real ones
            parts = [
                table
                for i, real in enumerate(parts)
                for table in (
                    real,
                    fictitious_vendors(config, i, master.chart.account("ap"), shells),
                )
            ]
    elif table == "customers":
        parts = [
            generate_customers(config, i, master.chart.account("ar"), c.value_scale)
            for i, c in enumerate(master.companies)
        ]
    elif table == "materials":
        parts = [
            generate_materials(config, i, c.value_scale, c.amount_unit, c.vendor_cdf)
            for i, c in enumerate(master.companies)
        ]
    elif table == "fixed_assets":
        parts = [
            generate_fixed_assets(
                config, i, c.value_scale, c.amount_unit, c.vendor_cdf, c.cost_centers
            )
            for i, c in enumerate(master.companies)
        ]
    elif table == "employees":
        parts = [
            generate_employees(config, i, c.amount_scale, DEPARTMENTS)
            for i, c in enumerate(master.companies)
        ]
    else:
        raise KeyError(f"unknown master-data table {table!r}")
    return pa.concat_tables(parts)


def cost_center_weights() -> np.ndarray:
    return np.array([d[2] for d in DEPARTMENTS], dtype=np.float64)
