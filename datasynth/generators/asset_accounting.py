"""Asset accounting: the fixed-asset register rolled through the generated window, and the
journal entries that keep the ledger's asset accounts equal to it.

Each company's register (``master_data/fixed_assets``) says when each asset was bought, its
cost, salvage value, useful life and depreciation method. From it, per fiscal period:

* **Depreciation** by method, exact in minor units, starting in the month of acquisition and
  ending at salvage value after the useful life:

  - ``straight_line``: ``(cost - salvage) / life`` a month; accumulated after ``j`` months is
    ``floor((cost - salvage) * j / life)``, so the cents add up to the base exactly;
  - ``declining_balance`` (1.5x) and ``double_declining_balance`` (2x): the month's rate
    ``factor / life`` times the net book value, switching to straight line over the remaining
    months once that is larger (so the asset reaches salvage value at the end of its life),
    never below salvage;
  - ``sum_of_years_digits``: year ``y`` of ``n`` takes ``(n - y) / (n (n + 1) / 2)`` of the
    base, spread evenly over its twelve months;
  - ``none`` (land): no depreciation.

* **Acquisitions** inside the window: ``Dr`` the class's asset account, ``Cr`` AP for the
  register's vendor, paid ``payment_days`` later from the bank (when that day is generated).
* **Disposals**: each asset leaves at ``disposal_rate`` a year (uniform day, at least 30 days
  after acquisition), sold for 30-120% of its net book value: ``Dr`` accumulated depreciation
  and bank, ``Cr`` the asset account, the difference to a gain or loss on disposal.
* The **opening** cost and accumulated depreciation of assets bought before the window, which
  the opening balance sheet books on the same accounts.

Software is an intangible: its amortisation is credited to the asset account itself (net
presentation, the chart has no accumulated-amortisation account), so that account's balance
is the software's net book value.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from datasynth.config.models import DatasynthConfig
from datasynth.core.money import AMOUNT_TYPE, decimal_from_minor, minor_from_decimal
from datasynth.core.seeding import stream
from datasynth.generators.ledger_lines import LedgerLines, Posting, first_user
from datasynth.generators.master import AUTOMATED_PERSONA, CompanyMaster, Master
from datasynth.generators.materials import generate_fixed_assets

METHODS = (
    "none",
    "straight_line",
    "declining_balance",
    "double_declining_balance",
    "sum_of_years_digits",
)
#: declining-balance factors as (numerator, denominator): exact integer arithmetic
FACTORS = {"declining_balance": (3, 2), "double_declining_balance": (2, 1)}
#: asset class -> (asset account, accumulated depreciation account, expense account)
CLASS_ACCOUNTS = {
    "land": ("140000", "", ""),
    "buildings": ("140100", "150000", "640000"),
    "machinery": ("140200", "150100", "640000"),
    "vehicles": ("140300", "150200", "640000"),
    "it_equipment": ("140400", "150300", "640000"),
    "furniture": ("140400", "150300", "640000"),
    "software": ("160000", "160000", "640100"),
}
#: accounts whose balance the register decides (the opening balance sheet takes them from it)
REGISTER_ACCOUNTS = tuple(
    sorted({a for accounts in CLASS_ACCOUNTS.values() for a in accounts[:2] if a})
)
GAIN_ACCOUNT = "710300"
LOSS_ACCOUNT = "640200"
SOURCE = "automated"
POSTINGS = {
    "acquisition": Posting("AA", "A2R: Asset acquisition", "manual", "A2R"),
    "payment": Posting("KZ", "A2R: Asset acquisition payment", "automated", "A2R"),
    "depreciation": Posting("AF", "A2R: Depreciation run", "period_close", "A2R"),
    "disposal": Posting("AA", "A2R: Asset disposal", "manual", "A2R"),
}
REGISTER_SCHEMA = pa.schema(
    [
        pa.field("company_code", pa.string(), nullable=False),
        pa.field("fiscal_year", pa.int16(), nullable=False),
        pa.field("fiscal_period", pa.int8(), nullable=False),
        pa.field("period_end", pa.date32(), nullable=False),
        pa.field("asset_id", pa.string(), nullable=False),
        pa.field("asset_class", pa.string(), nullable=False),
        pa.field("depreciation_method", pa.string(), nullable=False),
        pa.field("cost_center", pa.string(), nullable=False),
        pa.field("gl_account", pa.string(), nullable=False),
        pa.field("accumulated_depreciation_account", pa.string()),
        pa.field("acquisition_date", pa.date32(), nullable=False),
        pa.field("acquisition_cost", AMOUNT_TYPE, nullable=False),
        pa.field("carrying_cost", AMOUNT_TYPE, nullable=False),
        pa.field("accumulated_depreciation", AMOUNT_TYPE, nullable=False),
        pa.field("net_book_value", AMOUNT_TYPE, nullable=False),
        pa.field("period_depreciation", AMOUNT_TYPE, nullable=False),
        pa.field("status", pa.string(), nullable=False),
        pa.field("disposal_date", pa.date32()),
        pa.field("disposal_proceeds", AMOUNT_TYPE),
    ]
)
DEPRECIATION_SCHEMA = pa.schema(
    [
        pa.field("company_code", pa.string(), nullable=False),
        pa.field("fiscal_year", pa.int16(), nullable=False),
        pa.field("fiscal_period", pa.int8(), nullable=False),
        pa.field("posting_date", pa.date32(), nullable=False),
        pa.field("document_id", pa.string(), nullable=False),
        pa.field("asset_id", pa.string(), nullable=False),
        pa.field("depreciation_method", pa.string(), nullable=False),
        pa.field("expense_account", pa.string(), nullable=False),
        pa.field("accumulated_depreciation_account", pa.string(), nullable=False),
        pa.field("cost_center", pa.string(), nullable=False),
        pa.field("amount", AMOUNT_TYPE, nullable=False),
    ]
)
_EPOCH = dt.date(1970, 1, 1)


def _month(days: np.ndarray) -> np.ndarray:
    """Months since year 0 (``year * 12 + month - 1``) of day numbers since 1970-01-01."""
    d = np.asarray(days, dtype="datetime64[D]")
    months = d.astype("datetime64[M]").astype(np.int64)  # months since 1970-01
    out: np.ndarray = months + 1970 * 12
    return out


def accumulated_depreciation(
    cost: np.ndarray,
    salvage: np.ndarray,
    life: np.ndarray,
    method: np.ndarray,
    months: np.ndarray,
) -> np.ndarray:
    """Accumulated depreciation (minor units) of each asset after ``months`` months of use.

    ``method`` holds indices into :data:`METHODS`; ``months`` is one count per asset (clipped
    to 0..life), or a 2-d array ``(assets, k)`` for several counts at once.
    """
    cost = np.asarray(cost, dtype=np.int64)
    months = np.asarray(months, dtype=np.int64)
    two_d = months.ndim == 2
    m = months if two_d else months[:, None]
    life = np.asarray(life, dtype=np.int64)
    safe_life = np.maximum(life, 1)[:, None]
    base = np.maximum(cost - np.asarray(salvage, dtype=np.int64), 0)[:, None]
    j = np.clip(m, 0, np.maximum(life, 0)[:, None])
    out = np.zeros(m.shape, dtype=np.int64)
    kind = np.asarray(method)[:, None] + np.zeros_like(m)
    sl = kind == METHODS.index("straight_line")
    out[sl] = ((base * j) // safe_life)[sl]
    syd = kind == METHODS.index("sum_of_years_digits")
    if syd.any():
        n = (safe_life + 11) // 12
        y, r = j // 12, j % 12
        w = 12 * (n * y - y * (y - 1) // 2) + r * (n - y)
        ly, lr = safe_life // 12, safe_life % 12
        total = 12 * (n * ly - ly * (ly - 1) // 2) + lr * (n - ly)
        out[syd] = ((base * w) // total)[syd]
    for name, (num, den) in FACTORS.items():
        rows = np.flatnonzero(np.asarray(method) == METHODS.index(name))
        if rows.size == 0:
            continue
        jr = j[rows]
        top = int(jr.max()) if jr.size else 0
        acc = np.zeros(rows.size, dtype=np.int64)
        table = np.zeros((rows.size, top + 1), dtype=np.int64)
        c, b, lf = cost[rows], base[rows, 0], np.maximum(life[rows], 1)
        for step in range(top):
            remaining = b - acc
            left = np.maximum(lf - step, 1)
            declining = (c - acc) * num // (lf * den)
            straight = -(-remaining // left)  # ceiling: the switch finishes on time
            dep = np.where(step < lf, np.minimum(remaining, np.maximum(declining, straight)), 0)
            acc = acc + dep
            table[:, step + 1] = acc
        out[rows] = np.take_along_axis(table, jr, axis=1)
    return out if two_d else out[:, 0]


@dataclass(frozen=True)
class AssetRegister:
    """One company's assets rolled through its generated periods (minor units)."""

    company: CompanyMaster
    assets: pa.Table
    cost: np.ndarray
    method: np.ndarray
    cost_account: np.ndarray
    depreciation_account: np.ndarray
    expense_account: np.ndarray
    acquired: np.ndarray  #: day numbers
    #: bought before the window: on the opening balance sheet
    in_opening: np.ndarray
    opening_accumulated: np.ndarray
    #: per asset and period: depreciation posted, accumulated depreciation at period end
    depreciation: np.ndarray
    accumulated: np.ndarray
    #: index of the period the asset is disposed in (-1: kept), day, proceeds
    disposal_period: np.ndarray
    disposal_day: np.ndarray
    proceeds: np.ndarray
    #: per asset and period: held at the period end (bought on or before it, not disposed)
    held: np.ndarray


def asset_register(config: DatasynthConfig, master: Master, company_index: int) -> AssetRegister:
    """Roll the company's fixed-asset register through its generated periods."""
    company = master.companies[company_index]
    fa = config.balances.fixed_assets
    table = generate_fixed_assets(
        config,
        company_index,
        company.value_scale,
        company.amount_unit,
        company.vendor_cdf,
        company.cost_centers,
    )
    n = table.num_rows
    cost = minor_from_decimal(table["acquisition_cost"])
    salvage = minor_from_decimal(table["salvage_value"])
    life = table["useful_life_months"].to_numpy().astype(np.int64)
    method = np.array([METHODS.index(m) for m in table["depreciation_method"].to_pylist()])
    classes = table["asset_class"].to_pylist()
    cost_account = np.array([CLASS_ACCOUNTS[c][0] for c in classes], dtype=object)
    depreciation_account = np.array([CLASS_ACCOUNTS[c][1] for c in classes], dtype=object)
    expense_account = np.array([CLASS_ACCOUNTS[c][2] for c in classes], dtype=object)
    acquired = table["acquisition_date"].cast(pa.int32()).to_numpy().astype(np.int64)
    periods = company.periods
    first_day = (periods[0].first - _EPOCH).days
    stop_day = (periods[-1].stop - _EPOCH).days
    period_first = np.array([(p.first - _EPOCH).days for p in periods], dtype=np.int64)
    period_stop = np.array([(p.stop - _EPOCH).days for p in periods], dtype=np.int64)
    month = _month(period_first)
    bought = _month(acquired)

    # disposals: per asset, at disposal_rate a year over the window, at least 30 days after
    # the asset arrived; drawn per company from its own stream
    rng = stream(config.global_.seed, "asset_disposals", company.code)
    u = rng.random((n, 3))
    years = (stop_day - first_day) / 365.25
    earliest = np.maximum(acquired + 30, first_day)
    disposed = (u[:, 0] < 1.0 - (1.0 - fa.disposal_rate) ** years) & (earliest < stop_day)
    disposal_day = np.where(
        disposed, earliest + (u[:, 1] * (stop_day - earliest)).astype(np.int64), -1
    )
    disposal_period = np.where(
        disposed, np.searchsorted(period_stop, disposal_day, side="right"), -1
    )

    # months of use before each period and at its end; none from the disposal period on
    used_before = month[None, :] - bought[:, None]
    k = np.arange(len(periods))[None, :]
    stopped = disposed[:, None] & (k >= disposal_period[:, None])
    # schedules run in the currency's smallest unit (whole yen), so every amount stays whole
    unit = company.amount_unit
    in_units = (cost // unit, salvage // unit, life, method)
    before = accumulated_depreciation(*in_units, used_before) * unit
    after = accumulated_depreciation(*in_units, used_before + 1) * unit
    depreciation = np.where(stopped, 0, after - before)
    accumulated = np.where(stopped, 0, after)
    held = (acquired[:, None] < period_stop[None, :]) & ~stopped
    in_opening = acquired < first_day
    opening = accumulated_depreciation(*in_units, _month(np.asarray(first_day)) - bought) * unit
    opening = np.where(in_opening, opening, 0)

    # proceeds: 30-120% of the net book value at disposal (land: of its cost)
    at_disposal = np.where(
        disposed,
        np.take_along_axis(
            np.hstack([before, np.zeros((n, 1), dtype=np.int64)]),
            np.where(disposed, disposal_period, len(periods))[:, None],
            axis=1,
        )[:, 0],
        0,
    )
    proceeds = np.where(
        disposed,
        np.rint((cost - at_disposal) * (0.3 + 0.9 * u[:, 2]) / unit).astype(np.int64) * unit,
        0,
    )
    return AssetRegister(
        company=company,
        assets=table,
        cost=cost,
        method=method,
        cost_account=cost_account,
        depreciation_account=depreciation_account,
        expense_account=expense_account,
        acquired=acquired,
        in_opening=in_opening,
        opening_accumulated=opening,
        depreciation=depreciation,
        accumulated=accumulated,
        disposal_period=disposal_period,
        disposal_day=disposal_day,
        proceeds=proceeds,
        held=held,
    )


def opening_register_balances(register: AssetRegister) -> dict[str, int]:
    """Signed opening balance (debit positive) of every register account."""
    out = dict.fromkeys(REGISTER_ACCOUNTS, 0)
    rows = np.flatnonzero(register.in_opening)
    for a in rows:
        out[register.cost_account[a]] += int(register.cost[a])
        if register.depreciation_account[a]:
            out[register.depreciation_account[a]] -= int(register.opening_accumulated[a])
    return out


def _day(day: int) -> dt.date:
    return _EPOCH + dt.timedelta(days=int(day))


def asset_entries(
    config: DatasynthConfig, master: Master, registers: list[AssetRegister]
) -> tuple[pa.Table, pa.Table]:
    """The asset-accounting entries of every company (journal-line schema with partition
    columns) and the depreciation run detail per asset and period."""
    fa = config.balances.fixed_assets
    ap = master.chart.account("ap")
    bank = master.chart.account("bank")
    needs_cc = master.chart.requires_cost_center
    index = {a: i for i, a in enumerate(master.chart.numbers)}
    out = LedgerLines()
    detail: dict[str, list[object]] = {f.name: [] for f in DEPRECIATION_SCHEMA}
    for reg in registers:
        company = reg.company
        periods = company.periods
        period_stop = np.array([(p.stop - _EPOCH).days for p in periods], dtype=np.int64)
        accountant = first_user(company, "senior_accountant")
        clerk = first_user(company, AUTOMATED_PERSONA)
        ids = reg.assets["asset_id"].to_pylist()
        vendors = reg.assets["vendor_id"].to_pylist()
        centers = reg.assets["cost_center"].to_pylist()
        methods = reg.assets["depreciation_method"].to_pylist()

        def cc(accounts: list[str], center: str) -> list[str | None]:
            return [center if needs_cc[index[a]] else None for a in accounts]

        for a in np.flatnonzero(~reg.in_opening):
            day = int(reg.acquired[a])
            k = int(np.searchsorted(period_stop, day, side="right"))
            tag = f"AS-{company.code}-{ids[a][len(f'FA-{company.code}-') :]}"
            lines = [str(reg.cost_account[a]), ap]
            amount = int(reg.cost[a])
            out.entry(
                company,
                periods[k],
                f"{tag}-AA",
                POSTINGS["acquisition"],
                _day(day),
                accountant,
                lines,
                [amount, -amount],
                cc(lines, centers[a]),
                vendor=(ap, vendors[a]),
                source_document=ids[a],
                item=(f"{tag}-AA", _day(day + fa.payment_days)),
            )
            pay_day = day + fa.payment_days
            if pay_day < period_stop[-1]:
                kp = int(np.searchsorted(period_stop, pay_day, side="right"))
                lines = [ap, bank]
                out.entry(
                    company,
                    periods[kp],
                    f"{tag}-KZ",
                    POSTINGS["payment"],
                    _day(pay_day),
                    clerk,
                    lines,
                    [amount, -amount],
                    cc(lines, centers[a]),
                    vendor=(ap, vendors[a]),
                    source_document=ids[a],
                    item=(f"{tag}-AA", _day(pay_day)),
                )
        for k, period in enumerate(periods):
            rows = np.flatnonzero(reg.depreciation[:, k] > 0)
            if rows.size == 0:
                continue
            last_day = period.stop - dt.timedelta(days=1)
            document_id = (
                f"PC-{company.code}-{period.fiscal_year:04d}{period.fiscal_period:02d}-AF01"
            )
            # one line pair per (expense account, accumulated account, cost center)
            totals: dict[tuple[str, str, str], int] = {}
            for a in rows:
                key = (str(reg.expense_account[a]), str(reg.depreciation_account[a]), centers[a])
                totals[key] = totals.get(key, 0) + int(reg.depreciation[a, k])
                detail["company_code"].append(company.code)
                detail["fiscal_year"].append(period.fiscal_year)
                detail["fiscal_period"].append(period.fiscal_period)
                detail["posting_date"].append(last_day)
                detail["document_id"].append(document_id)
                detail["asset_id"].append(ids[a])
                detail["depreciation_method"].append(methods[a])
                detail["expense_account"].append(key[0])
                detail["accumulated_depreciation_account"].append(key[1])
                detail["cost_center"].append(centers[a])
                detail["amount"].append(int(reg.depreciation[a, k]))
            accounts: list[str] = []
            signed: list[int] = []
            centres: list[str | None] = []
            for (expense, contra, center), amount in sorted(totals.items()):
                accounts += [expense, contra]
                signed += [amount, -amount]
                centres += cc([expense, contra], center)
            out.entry(
                company,
                period,
                document_id,
                POSTINGS["depreciation"],
                last_day,
                clerk,
                accounts,
                signed,
                centres,
            )
        for a in np.flatnonzero(reg.disposal_period >= 0):
            k = int(reg.disposal_period[a])
            cost = int(reg.cost[a])
            # accumulated up to the end of the period before (none is posted in this one)
            accumulated = (
                int(reg.accumulated[a, k - 1]) if k > 0 else int(reg.opening_accumulated[a])
            )
            proceeds = int(reg.proceeds[a])
            result = proceeds - (cost - accumulated)  # gain when positive
            lines = [bank]
            signed = [proceeds]
            if reg.depreciation_account[a] and accumulated:
                lines.append(str(reg.depreciation_account[a]))
                signed.append(accumulated)
            lines.append(str(reg.cost_account[a]))
            signed.append(-cost)
            if result:
                lines.append(GAIN_ACCOUNT if result > 0 else LOSS_ACCOUNT)
                signed.append(-result)
            tag = f"AS-{company.code}-{ids[a][len(f'FA-{company.code}-') :]}"
            out.entry(
                company,
                periods[k],
                f"{tag}-AD",
                POSTINGS["disposal"],
                _day(int(reg.disposal_day[a])),
                accountant,
                lines,
                signed,
                cc(lines, centers[a]),
                source_document=ids[a],
            )
    table = out.table()
    amounts = np.asarray(detail.pop("amount"), dtype=np.int64)
    run = pa.table(
        {**{k: pa.array(v, DEPRECIATION_SCHEMA.field(k).type) for k, v in detail.items()}},
    )
    run = run.append_column("amount", decimal_from_minor(amounts))
    return table, run.select(DEPRECIATION_SCHEMA.names).cast(DEPRECIATION_SCHEMA)


def register_table(registers: list[AssetRegister]) -> pa.Table:
    """``subledgers/fa_register``: every asset held at, or disposed in, each period end."""
    parts = []
    for reg in registers:
        periods = reg.company.periods
        here = np.arange(len(periods))[None, :]
        a_rows, k_rows = np.nonzero(reg.held | (reg.disposal_period[:, None] == here))
        order = np.lexsort((a_rows, k_rows))
        a_rows, k_rows = a_rows[order], k_rows[order]
        disposed_here = reg.disposal_period[a_rows] == k_rows
        cost = np.where(disposed_here, 0, reg.cost[a_rows])
        accumulated = np.where(disposed_here, 0, reg.accumulated[a_rows, k_rows])
        salvage = minor_from_decimal(reg.assets["salvage_value"])[a_rows]
        depreciable = reg.method[a_rows] != METHODS.index("none")
        status = np.where(
            disposed_here,
            "disposed",
            np.where(depreciable & (cost - accumulated <= salvage), "fully_depreciated", "active"),
        )
        t = reg.assets
        take = pa.array(a_rows)
        n = a_rows.size
        ends = np.array([(p.stop - _EPOCH).days - 1 for p in periods], dtype=np.int64)
        no_disposal = ~disposed_here
        parts.append(
            pa.table(
                [
                    pa.array([reg.company.code] * n),
                    pa.array(np.array([p.fiscal_year for p in periods], np.int16)[k_rows]),
                    pa.array(np.array([p.fiscal_period for p in periods], np.int8)[k_rows]),
                    pa.array(ends[k_rows].astype(np.int32), pa.date32()),
                    t["asset_id"].take(take),
                    t["asset_class"].take(take),
                    t["depreciation_method"].take(take),
                    t["cost_center"].take(take),
                    pa.array(reg.cost_account[a_rows].tolist(), pa.string()),
                    pa.array(
                        [x or None for x in reg.depreciation_account[a_rows].tolist()], pa.string()
                    ),
                    t["acquisition_date"].take(take),
                    t["acquisition_cost"].take(take),
                    decimal_from_minor(cost),
                    decimal_from_minor(accumulated),
                    decimal_from_minor(cost - accumulated),
                    decimal_from_minor(reg.depreciation[a_rows, k_rows]),
                    pa.array(status.tolist(), pa.string()),
                    pa.array(
                        reg.disposal_day[a_rows].astype(np.int32), pa.date32(), mask=no_disposal
                    ),
                    pc.if_else(
                        pa.array(disposed_here),
                        decimal_from_minor(reg.proceeds[a_rows]),
                        pa.scalar(None, AMOUNT_TYPE),
                    ),
                ],
                schema=REGISTER_SCHEMA,
            )
        )
    return pa.concat_tables(parts) if parts else REGISTER_SCHEMA.empty_table()
