"""Validated configuration: frozen, strict pydantic models with unknown keys rejected.

This module owns the *shape* of a datasynth configuration and the rules a value must obey.
Everything that reads configuration below the CLI receives a :class:`DatasynthConfig`, never an
OmegaConf object. Behaviour lives in functions elsewhere; the models only hold data.
"""

from __future__ import annotations

import datetime as dt
import difflib
import itertools
import math
import re
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

Industry = Literal["manufacturing", "retail", "financial_services", "healthcare", "technology"]
INDUSTRIES: tuple[Industry, ...] = (
    "manufacturing",
    "retail",
    "financial_services",
    "healthcare",
    "technology",
)
Complexity = Literal["small", "medium", "large"]
Source = Literal["manual", "automated", "recurring", "adjustment"]
SOURCES: tuple[Source, ...] = ("manual", "automated", "recurring", "adjustment")
#: sources a generated block's entry can carry: the drawn ones and the reversals of accruals
#: (docs/generation.md#follow-on-entries); the close stage adds ``period_close``
ENTRY_SOURCES: tuple[str, ...] = (*SOURCES, "reversal")
BusinessProcess = Literal["O2C", "P2P", "R2R", "H2R", "A2R"]
BUSINESS_PROCESSES: tuple[BusinessProcess, ...] = ("O2C", "P2P", "R2R", "H2R", "A2R")
Persona = Literal["junior_accountant", "senior_accountant", "controller", "manager"]
PERSONAS: tuple[Persona, ...] = ("junior_accountant", "senior_accountant", "controller", "manager")
FiscalYearVariant = Literal["K4", "V3", "V6", "V9"]
#: First calendar month of the fiscal year for each variant (SAP naming: K4 is the calendar year,
#: V3 April to March, V6 July to June, V9 October to September).
FISCAL_YEAR_START_MONTH: dict[str, int] = {"K4": 1, "V3": 4, "V6": 7, "V9": 10}
Scheduler = Literal["synchronous", "threads", "processes", "distributed"]
OutputFormat = Literal["parquet", "csv", "jsonl"]
Compression = Literal["auto", "zstd", "snappy", "gzip", "lz4", "none"]

#: Probabilities must sum to one within this tolerance; the sampler renormalises the rest away.
SUM_TOLERANCE = 1e-6

_LINE_BUCKET = re.compile(r"^(\d+)(?:-(\d+))?$")


def _canonical(mix: dict[Any, float], order: tuple[str, ...]) -> dict[Any, float]:
    """``mix`` in a fixed key order: draws must not depend on how the mapping was written
    (the configuration fingerprint sorts keys, so two spellings must give the same data)."""
    return {k: mix[k] for k in order if k in mix}


class _Strict(BaseModel):
    # lax types let YAML strings become dates; NaN and infinity are never meaningful here
    model_config = ConfigDict(extra="forbid", frozen=True, strict=False, allow_inf_nan=False)


Probability = Annotated[float, Field(ge=0.0, le=1.0)]


def _check_distribution(values: dict[str, float], what: str) -> dict[str, float]:
    total = math.fsum(values.values())
    if not values:
        raise ValueError(f"{what} must name at least one outcome")
    if any(v < 0 for v in values.values()):
        bad = {k: v for k, v in values.items() if v < 0}
        raise ValueError(f"{what} has negative weights {bad}; weights must be >= 0")
    if abs(total - 1.0) > SUM_TOLERANCE:
        raise ValueError(
            f"{what} must sum to 1 but sum to {total:.6g}; adjust the weights so they add up to 1"
        )
    return values


class GlobalConfig(_Strict):
    """Run-wide settings: master seed, industry, the generated period and group currency."""

    seed: int = Field(default=42, ge=0, le=2**63 - 1)
    industry: Industry = "manufacturing"
    start_date: dt.date = dt.date(2024, 1, 1)
    period_months: int = Field(default=3, ge=1, le=120)
    end_date: dt.date | None = None
    group_currency: str = "USD"

    @field_validator("group_currency")
    @classmethod
    def _currency(cls, v: str) -> str:
        return _currency_code(v)

    @model_validator(mode="after")
    def _window(self) -> GlobalConfig:
        if self.end_date is not None:
            if self.end_date < self.start_date:
                raise ValueError(
                    f"end_date: {self.end_date} is before start_date {self.start_date}; "
                    "the last posting date must be on or after the first"
                )
            if self.end_date >= _add_months(self.start_date, 120):
                raise ValueError(
                    f"end_date: {self.end_date} is more than 120 months after start_date "
                    f"{self.start_date}; at most 120 months can be generated"
                )
        return self

    @property
    def stop_date(self) -> dt.date:
        """The first day *after* the generated period (the period is ``[start_date, stop)``).

        ``end_date`` (inclusive) wins when it is set; otherwise ``period_months`` counts from
        ``start_date``.
        """
        if self.end_date is not None:
            return self.end_date + dt.timedelta(days=1)
        return _add_months(self.start_date, self.period_months)


def _add_months(day: dt.date, months: int) -> dt.date:
    month = day.month - 1 + months
    year = day.year + month // 12
    month = month % 12 + 1
    return dt.date(year, month, min(day.day, _days_in_month(year, month)))


def _days_in_month(year: int, month: int) -> int:
    nxt = dt.date(year + (month == 12), month % 12 + 1, 1)
    return (nxt - dt.timedelta(days=1)).day


def _currency_code(v: str) -> str:
    if not re.fullmatch(r"[A-Z]{3}", v):
        raise ValueError("currency must be a 3-letter upper-case ISO 4217 code like USD or EUR")
    return v


class CompanyConfig(_Strict):
    """One legal entity (company code) of the generated group."""

    code: str = Field(pattern=r"^[A-Z0-9]{2,6}$")
    name: str = Field(min_length=1, max_length=80)
    currency: str = "USD"
    country: str = Field(default="US", pattern=r"^[A-Z]{2}$")
    volume_weight: float = Field(default=1.0, gt=0.0)
    annual_volume: int | None = Field(default=None, ge=0)
    fiscal_year_variant: FiscalYearVariant = "K4"

    @field_validator("currency")
    @classmethod
    def _currency(cls, v: str) -> str:
        return _currency_code(v)

    @field_validator("country")
    @classmethod
    def _country(cls, v: str) -> str:
        import holidays

        supported = holidays.list_supported_countries()
        if v not in supported:
            raise ValueError(
                "country has no public-holiday calendar; use an ISO 3166 code such as "
                "US, DE, GB, FR, CN, JP, IN (any country of the holidays package)"
            )
        return v


class ChartOfAccountsConfig(_Strict):
    """Size of the chart of accounts: about 100, 400 or 2,500 postable accounts."""

    complexity: Complexity = "small"


class AmountConfig(_Strict):
    """Log-normal entry totals with round-number bias (reference defaults: mu 7, sigma 2.5)."""

    min: float = Field(default=0.01, gt=0.0)
    # an entry of 9,999 lines at the maximum must still fit decimal128(18, 2) (< 10**16 units)
    max: float = Field(default=100_000_000.0, gt=0.0, le=100_000_000_000.0)
    lognormal_mu: float = 7.0
    lognormal_sigma: float = Field(default=2.5, gt=0.0, le=10.0)
    round_to_100_probability: Probability = 0.25
    round_to_5_probability: Probability = 0.15

    @model_validator(mode="after")
    def _ranges(self) -> AmountConfig:
        if self.max <= self.min:
            raise ValueError(f"max: must be greater than min ({self.min})")
        if self.round_to_100_probability + self.round_to_5_probability > 1.0:
            raise ValueError(
                "round_to_100_probability + round_to_5_probability must be at most 1, got "
                f"{self.round_to_100_probability + self.round_to_5_probability:.6g}"
            )
        return self


class BenfordConfig(_Strict):
    """First digits of amounts follow Benford's law, except for the exempt sources."""

    enabled: bool = True
    exempt_sources: tuple[Source, ...] = ("recurring",)


class PeriodEndConfig(_Strict):
    """Activity multipliers on the last ``lead_days`` days of month, quarter and fiscal year."""

    lead_days: int = Field(default=5, ge=0, le=15)
    month_end: float = Field(default=2.5, ge=0.0)
    quarter_end: float = Field(default=4.0, ge=0.0)
    year_end: float = Field(default=6.0, ge=0.0)


class CalendarConfig(_Strict):
    """Weekday pattern, weekend dip, holiday calendar and industry seasonality of posting dates."""

    day_of_week: tuple[float, float, float, float, float] = (1.3, 1.1, 1.0, 1.0, 0.85)
    weekend: float = Field(default=0.1, ge=0.0)
    holidays: bool = True
    holiday_activity: float = Field(default=0.05, ge=0.0)
    industry_seasonality: bool = True
    period_end: PeriodEndConfig = PeriodEndConfig()

    @field_validator("day_of_week")
    @classmethod
    def _non_negative(cls, v: tuple[float, ...]) -> tuple[float, ...]:
        if any(x < 0 for x in v):
            raise ValueError(f"weekday multipliers must be >= 0, got {list(v)}")
        return v


class WorkingHoursConfig(_Strict):
    """Time-of-day models for human and automated postings (hours are local wall-clock time)."""

    human_after_hours: Probability = 0.05
    human_peak_share: Probability = 0.60
    peak_hours: tuple[int, ...] = (9, 10, 11, 14, 15, 16)
    automated_night_share: Probability = 0.70

    @field_validator("peak_hours")
    @classmethod
    def _hours(cls, v: tuple[int, ...]) -> tuple[int, ...]:
        if not v or any(h < 0 or h > 23 for h in v):
            raise ValueError(f"peak_hours must be non-empty hours in 0..23, got {list(v)}")
        return v


def _default_line_counts() -> dict[str, float]:
    return {
        "2": 0.6068,
        "3": 0.0577,
        "4": 0.1663,
        "5": 0.0306,
        "6": 0.0332,
        "7": 0.0113,
        "8": 0.0188,
        "9": 0.0042,
        "10-99": 0.0633,
        "100-999": 0.0076,
        "1000-9999": 0.0002,
    }


def parse_line_bucket(key: str) -> tuple[int, int]:
    """``"7"`` -> (7, 7); ``"10-99"`` -> (10, 99). Raises ``ValueError`` on anything else."""
    m = _LINE_BUCKET.match(key)
    if not m:
        raise ValueError(f"line-count bucket {key!r} must be a number like '2' or a range '10-99'")
    lo = int(m.group(1))
    hi = int(m.group(2)) if m.group(2) else lo
    if lo < 2 or hi < lo or hi > 9999:
        raise ValueError(
            f"line-count bucket {key!r} must lie within 2..9999 with low <= high "
            "(a journal entry needs at least one debit and one credit line)"
        )
    return lo, hi


class DebitCreditSplitConfig(_Strict):
    """How an entry's lines divide into debits and credits (reference: .82 / .07 / .11)."""

    equal: Probability = 0.82
    more_debit: Probability = 0.07
    more_credit: Probability = 0.11

    @model_validator(mode="after")
    def _sums(self) -> DebitCreditSplitConfig:
        _check_distribution(
            {"equal": self.equal, "more_debit": self.more_debit, "more_credit": self.more_credit},
            "debit_credit_split",
        )
        return self


def _default_sources() -> dict[Source, float]:
    return {"manual": 0.20, "automated": 0.70, "recurring": 0.07, "adjustment": 0.03}


def _default_processes() -> dict[BusinessProcess, float]:
    return {"O2C": 0.35, "P2P": 0.30, "R2R": 0.20, "H2R": 0.10, "A2R": 0.05}


def _default_personas() -> dict[Persona, float]:
    return {
        "junior_accountant": 0.40,
        "senior_accountant": 0.30,
        "controller": 0.15,
        "manager": 0.15,
    }


def _default_document_types() -> dict[Source, dict[str, float]]:
    # every other source keeps the document type of its posting template (DR for a customer
    # invoice, KZ for a vendor payment, AF for depreciation, ...)
    return {"adjustment": {"AB": 0.60, "SA": 0.40}}


class TransactionsConfig(_Strict):
    """Standalone journal entries: volume, shape, amounts, dates, sources and processes."""

    count: int | None = Field(default=None, ge=0, le=10**12)
    annual_volume: int = Field(default=40_000, ge=0, le=10**12)
    line_counts: dict[str, float] = Field(default_factory=_default_line_counts)
    debit_credit_split: DebitCreditSplitConfig = DebitCreditSplitConfig()
    amounts: AmountConfig = AmountConfig()
    benford: BenfordConfig = BenfordConfig()
    calendar: CalendarConfig = CalendarConfig()
    working_hours: WorkingHoursConfig = WorkingHoursConfig()
    sources: dict[Source, float] = Field(default_factory=_default_sources)
    business_processes: dict[BusinessProcess, float] = Field(default_factory=_default_processes)
    personas: dict[Persona, float] = Field(default_factory=_default_personas)
    document_types: dict[Source, dict[str, float]] = Field(default_factory=_default_document_types)
    automated_users: int = Field(default=8, ge=1, le=10_000)
    human_users: int = Field(default=12, ge=1, le=10_000)
    #: entries by people whose total reaches this (group currency) need an approver: a
    #: manager or controller other than the preparer (``approved_by``)
    approval_threshold: float = Field(default=10_000.0, gt=0.0, le=1e12)

    @field_validator("line_counts", mode="before")
    @classmethod
    def _bucket_keys_as_text(cls, v: object) -> object:
        # YAML and Hydra turn a bucket like 2 into an integer key; buckets are text
        return {str(k): w for k, w in v.items()} if isinstance(v, dict) else v

    @field_validator("line_counts")
    @classmethod
    def _line_counts(cls, v: dict[str, float]) -> dict[str, float]:
        keys: dict[tuple[int, int], str] = {}
        for key in v:
            span = parse_line_bucket(key)
            if span in keys:
                raise ValueError(f"line-count buckets {keys[span]!r} and {key!r} are the same")
            keys[span] = key
        for (lo, hi), (lo2, hi2) in itertools.pairwise(sorted(keys)):
            if lo2 <= hi:
                raise ValueError(
                    f"line-count buckets {keys[lo, hi]!r} and {keys[lo2, hi2]!r} overlap; "
                    "buckets must be disjoint"
                )
        _check_distribution(v, "line_counts")
        # one canonical order (by range) so that draws never depend on how a mapping was written
        return {keys[span]: v[keys[span]] for span in sorted(keys)}

    @field_validator("sources", "business_processes", "personas")
    @classmethod
    def _mix(cls, v: dict[str, float], info: ValidationInfo) -> dict[str, float]:
        _check_distribution({str(k): w for k, w in v.items()}, str(info.field_name))
        order = {"sources": SOURCES, "business_processes": BUSINESS_PROCESSES, "personas": PERSONAS}
        return _canonical(v, order[str(info.field_name)])

    @field_validator("document_types")
    @classmethod
    def _document_types(cls, v: dict[Source, dict[str, float]]) -> dict[Source, dict[str, float]]:
        for key, mix in v.items():
            for code in mix:
                if not re.fullmatch(r"[A-Z0-9]{2}", code):
                    raise ValueError(
                        f"{key}: document type {code!r} must be two upper-case letters/digits"
                    )
            try:
                _check_distribution(mix, "the document-type weights")
            except ValueError as exc:
                raise ValueError(f"{key}: {exc}") from None
        return {k: dict(sorted(v[k].items())) for k in SOURCES if k in v}


class OutputConfig(_Strict):
    """Where and how tables are written."""

    dir: str = "output"
    format: OutputFormat = "parquet"
    compression: Compression = "auto"
    compression_level: int | None = Field(default=None, ge=1, le=22)
    overwrite: bool = False
    resume: bool = False

    @model_validator(mode="after")
    def _flags(self) -> OutputConfig:
        if self.overwrite and self.resume:
            raise ValueError(
                "resume: cannot be true together with output.overwrite; "
                "set at most one of output.overwrite and output.resume to true"
            )
        if self.format != "parquet" and self.compression not in ("auto", "none", "gzip", "zstd"):
            raise ValueError(
                f"compression: {self.compression!r} is a Parquet codec; {self.format} files are "
                "compressed whole, so use one of auto, none, gzip, zstd"
            )
        return self


class RuntimeConfig(_Strict):
    """How the task graph runs. Only ``block_rows`` changes *what* is generated (it decides the
    blocks, and every block has its own random streams); the rest changes only speed."""

    scheduler: Scheduler = "processes"
    workers: int = Field(default=2, ge=1, le=4096)
    cluster: str | None = None
    block_rows: int = Field(default=1_000_000, ge=1_000, le=50_000_000)
    memory_limit: str = "auto"
    progress: bool = True

    @field_validator("cluster")
    @classmethod
    def _address(cls, v: str | None) -> str | None:
        if v is not None and not re.fullmatch(r"(tcp|tls|inproc|ucx)://[^\s]+", v):
            raise ValueError(
                "cluster must be a Dask scheduler address like tcp://host:8786 "
                "(scheme tcp, tls, inproc or ucx)"
            )
        return v

    @field_validator("memory_limit")
    @classmethod
    def _memory(cls, v: str) -> str:
        if not re.fullmatch(r"auto|\d+(\.\d+)?\s*(B|kB|KB|MB|MiB|GB|GiB|TB|TiB)", v):
            raise ValueError("memory_limit must be 'auto' or a size like '4GiB'")
        return v


def _default_vendor_terms() -> dict[str, float]:
    return {"net30": 0.40, "net60": 0.20, "two_ten_net30": 0.25, "net15": 0.10, "immediate": 0.05}


def _default_customer_terms() -> dict[str, float]:
    return {"net30": 0.50, "net60": 0.20, "two_ten_net30": 0.20, "net15": 0.05, "immediate": 0.05}


def _default_ratings() -> dict[str, float]:
    return {
        "AAA": 0.05,
        "AA": 0.10,
        "A": 0.25,
        "BBB": 0.30,
        "BB": 0.15,
        "B": 0.10,
        "CCC": 0.04,
        "D": 0.01,
    }


def _default_behaviour() -> dict[str, float]:
    return {
        "early": 0.15,
        "on_time": 0.45,
        "slightly_late": 0.25,
        "often_late": 0.10,
        "high_risk": 0.05,
    }


PAYMENT_TERMS: dict[str, tuple[int, float, int]] = {
    # name: (net days, cash discount percent, discount days)
    "immediate": (0, 0.0, 0),
    "net15": (15, 0.0, 0),
    "net30": (30, 0.0, 0),
    "net45": (45, 0.0, 0),
    "net60": (60, 0.0, 0),
    "net90": (90, 0.0, 0),
    "two_ten_net30": (30, 2.0, 10),
    "one_ten_net30": (30, 1.0, 10),
    "two_fifteen_net45": (45, 2.0, 15),
}
CREDIT_RATINGS = ("AAA", "AA", "A", "BBB", "BB", "B", "CCC", "D")
PAYMENT_BEHAVIOURS = ("early", "on_time", "slightly_late", "often_late", "high_risk")


class MasterDataConfig(_Strict):
    """Business partners, materials, assets and people per company, and how they behave.

    Counts are per company and at most 999,999 (ids carry six digits).
    """

    vendors: int = Field(default=60, ge=1, le=999_999)
    customers: int = Field(default=150, ge=1, le=999_999)
    materials: int = Field(default=300, ge=1, le=999_999)
    fixed_assets: int = Field(default=40, ge=1, le=999_999)
    employees: int = Field(default=80, ge=1, le=999_999)
    #: Zipf exponent of partner activity: at 1.1 the top 10% of partners carry most postings
    activity_skew: float = Field(default=1.1, ge=0.0, le=4.0)
    vendor_payment_terms: dict[str, float] = Field(default_factory=_default_vendor_terms)
    customer_payment_terms: dict[str, float] = Field(default_factory=_default_customer_terms)
    credit_ratings: dict[str, float] = Field(default_factory=_default_ratings)
    payment_behaviours: dict[str, float] = Field(default_factory=_default_behaviour)

    @field_validator("vendor_payment_terms", "customer_payment_terms")
    @classmethod
    def _terms(cls, v: dict[str, float], info: ValidationInfo) -> dict[str, float]:
        unknown = sorted(set(v) - set(PAYMENT_TERMS))
        if unknown:
            raise ValueError(
                f"unknown payment terms {unknown}; allowed: {', '.join(PAYMENT_TERMS)}"
            )
        _check_distribution(v, str(info.field_name))
        return _canonical(v, tuple(PAYMENT_TERMS))

    @field_validator("credit_ratings")
    @classmethod
    def _ratings(cls, v: dict[str, float]) -> dict[str, float]:
        unknown = sorted(set(v) - set(CREDIT_RATINGS))
        if unknown:
            raise ValueError(f"unknown ratings {unknown}; allowed: {', '.join(CREDIT_RATINGS)}")
        _check_distribution(v, "credit_ratings")
        return _canonical(v, CREDIT_RATINGS)

    @field_validator("payment_behaviours")
    @classmethod
    def _behaviours(cls, v: dict[str, float]) -> dict[str, float]:
        unknown = sorted(set(v) - set(PAYMENT_BEHAVIOURS))
        if unknown:
            raise ValueError(
                f"unknown behaviours {unknown}; allowed: {', '.join(PAYMENT_BEHAVIOURS)}"
            )
        _check_distribution(v, "payment_behaviours")
        return _canonical(v, PAYMENT_BEHAVIOURS)


PAYMENT_METHODS = ("bank_transfer", "check", "wire", "credit_card")


def _payment_methods(v: dict[str, float], what: str) -> dict[str, float]:
    unknown = sorted(set(v) - set(PAYMENT_METHODS))
    if unknown:
        raise ValueError(
            f"unknown payment methods {unknown}; allowed: {', '.join(PAYMENT_METHODS)}"
        )
    _check_distribution(v, what)
    return _canonical(v, PAYMENT_METHODS)


def _items_per_order(v: dict[int, float]) -> dict[int, float]:
    bad = sorted(k for k in v if not 1 <= int(k) <= 50)
    if bad:
        raise ValueError(f"item counts {bad} must lie within 1..50")
    _check_distribution({str(k): w for k, w in v.items()}, "items_per_order")
    return {int(k): v[k] for k in sorted(v)}


def _default_items() -> dict[int, float]:
    return {1: 0.40, 2: 0.25, 3: 0.15, 4: 0.10, 5: 0.06, 6: 0.04}


class _FlowConfig(_Strict):
    """Checks shared by both flows (each declares its own fields and defaults)."""

    @field_validator("items_per_order", mode="before", check_fields=False)
    @classmethod
    def _item_keys(cls, v: object) -> object:
        return _int_keys(v)

    @field_validator("items_per_order", check_fields=False)
    @classmethod
    def _items(cls, v: dict[int, float]) -> dict[int, float]:
        return _items_per_order(v)

    @field_validator("payment_methods", check_fields=False)
    @classmethod
    def _methods(cls, v: dict[str, float]) -> dict[str, float]:
        return _payment_methods(v, "payment_methods")


class ProcureToPayConfig(_FlowConfig):
    """Purchase order -> goods receipt(s) -> vendor invoice (three-way match) -> payment.

    Rates are per flow (a purchase order); days are calendar days before weekends are skipped.
    """

    items_per_order: dict[int, float] = Field(default_factory=_default_items)
    max_quantity: int = Field(default=99, ge=1, le=100_000)
    days_to_receipt: int = Field(default=14, ge=0, le=365)
    days_to_invoice: int = Field(default=5, ge=0, le=365)
    partial_delivery_rate: Probability = 0.15
    over_delivery_rate: Probability = 0.02
    #: largest over-delivery as a fraction of the ordered quantity
    max_over_delivery: float = Field(default=0.10, ge=0.0, le=1.0)
    price_variance_rate: Probability = 0.08
    #: invoice prices deviate from the order price by up to this fraction
    max_price_variance: float = Field(default=0.10, ge=0.0, le=1.0)
    quantity_variance_rate: Probability = 0.05
    #: three-way match tolerances: invoice price vs order price, invoiced vs received quantity
    price_tolerance: float = Field(default=0.05, ge=0.0, le=1.0)
    quantity_tolerance: float = Field(default=0.02, ge=0.0, le=1.0)
    #: days until a payment block of a failed match is released by hand
    block_release_days: int = Field(default=21, ge=0, le=365)
    late_payment_rate: Probability = 0.15
    #: share of invoices with cash-discount terms paid within the discount period
    discount_capture_rate: Probability = 0.70
    payment_methods: dict[str, float] = Field(
        default_factory=lambda: {
            "bank_transfer": 0.60,
            "check": 0.25,
            "wire": 0.10,
            "credit_card": 0.05,
        }
    )


class OrderToCashConfig(_FlowConfig):
    """Sales order -> credit check -> delivery(ies) -> customer invoice -> receipt(s)."""

    items_per_order: dict[int, float] = Field(default_factory=_default_items)
    max_quantity: int = Field(default=49, ge=1, le=100_000)
    #: below 1: a flow that always fails would never post what it stands in for
    credit_check_failure_rate: float = Field(default=0.02, ge=0.0, lt=1.0)
    days_to_delivery: int = Field(default=7, ge=0, le=365)
    days_to_invoice: int = Field(default=1, ge=0, le=365)
    partial_shipment_rate: Probability = 0.10
    late_payment_rate: Probability = 0.15
    discount_capture_rate: Probability = 0.60
    partial_payment_rate: Probability = 0.08
    short_payment_rate: Probability = 0.03
    #: a short payment withholds up to this fraction of the invoice (a disputed deduction)
    max_short_fraction: float = Field(default=0.10, gt=0.0, le=1.0)
    bad_debt_rate: Probability = 0.01
    #: payments on account: 80-120% of the invoice, not matched to it until applied later
    on_account_rate: Probability = 0.02
    #: full payments later reversed (60% returned unpaid, 70% of those paid again; 40%
    #: charged back and disputed)
    correction_rate: Probability = 0.02
    #: an unpaid invoice is written off this many days after its due date
    write_off_after_days: int = Field(default=120, ge=0, le=3650)
    payment_methods: dict[str, float] = Field(
        default_factory=lambda: {
            "bank_transfer": 0.50,
            "check": 0.30,
            "wire": 0.15,
            "credit_card": 0.05,
        }
    )

    @model_validator(mode="after")
    def _payment_mix(self) -> OrderToCashConfig:
        total = (
            self.partial_payment_rate
            + self.short_payment_rate
            + self.bad_debt_rate
            + self.on_account_rate
        )
        if total > 1.0:
            raise ValueError(
                "partial_payment_rate + short_payment_rate + bad_debt_rate + on_account_rate "
                f"must be at most 1, got {total:.6g}"
            )
        return self


def _int_keys(v: object) -> object:
    # YAML gives integer keys, Hydra overrides may give text: both mean an item count
    if isinstance(v, dict):
        out: dict[int, object] = {}
        for k, w in v.items():
            try:
                out[int(k)] = w
            except (TypeError, ValueError):
                raise ValueError(f"item count {k!r} must be a whole number like 1 or 2") from None
        return out
    return v


class OcelConfig(_Strict):
    """The OCEL 2.0 object-centric event log of the flows (``process_mining/``)."""

    enabled: bool = True
    formats: tuple[Literal["json", "sqlite"], ...] = ("json", "sqlite")
    #: a step done twice (an order changed and approved again, an invoice verified twice)
    rework_rate: Probability = 0.05
    #: an optional step left out (approval, picking)
    skip_rate: Probability = 0.02
    #: two steps recorded in the wrong order (an invoice received before the goods)
    out_of_order_rate: Probability = 0.03

    @field_validator("formats")
    @classmethod
    def _formats(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        if not v:
            raise ValueError("name at least one of json, sqlite (or set ocel.enabled: false)")
        return tuple(sorted(set(v)))


class DocumentFlowsConfig(_Strict):
    """Procure-to-pay and order-to-cash document flows that post their own journal entries.

    When enabled, the P2P and O2C entries whose posting template a flow covers (goods receipt,
    invoice against an order, payment, goods issue, customer invoice and receipt, bad-debt
    write-off) come from flows instead of standalone draws, so ``business_processes`` still
    sets the share of each process.
    """

    enabled: bool = True
    #: each company's price level (materials, credit limits, fixed assets) is set so that the
    #: expected operating result is this share of the expected revenue, given the standalone
    #: ledger's expenses; null keeps the materials' base prices (docs/generation.md#economics)
    operating_margin: float | None = Field(default=0.08, ge=-0.5, le=0.5)
    p2p: ProcureToPayConfig = ProcureToPayConfig()
    o2c: OrderToCashConfig = OrderToCashConfig()
    ocel: OcelConfig = OcelConfig()


class OpeningBalancesConfig(_Strict):
    """Each company's opening balance sheet, from its industry's asset composition and
    capital structure, booked as one balanced entry before the first generated period."""

    enabled: bool = True
    #: total assets per company in the group currency (scaled to the company's currency);
    #: null: the company's expected annual revenue divided by its industry's asset turnover
    total_assets: float | None = Field(default=None, gt=0.0, le=1e14)
    #: total assets vary by up to this share either way, per company
    variation: float = Field(default=0.05, ge=0.0, lt=1.0)


class PeriodCloseConfig(_Strict):
    """Close entries posted after each period's business, from the summed ledger."""

    enabled: bool = True
    #: accrue services received but not invoiced at every period end, reversed next period
    accruals: bool = True
    #: share of the period's postings on each service expense account that is accrued
    accrual_rate: tuple[Probability, Probability] = (0.02, 0.08)
    #: income tax on the fiscal year's pre-tax profit, at each fiscal year end in the window
    tax_provision: bool = True
    tax_rate: Probability = 0.21
    #: move the income statement to retained earnings at each fiscal year end in the window
    year_end_close: bool = True
    #: a revolving credit facility keeps the main operating bank account at or above a cash
    #: buffer at every period end: drawn when the balance falls below it, repaid from surplus
    credit_facility: bool = True
    #: the buffer: this share of the period's payments out of the main operating account
    cash_buffer: Probability = 0.1
    #: annual interest on the facility's balance, charged at every period end by its days
    facility_rate: Probability = 0.06

    @field_validator("accrual_rate")
    @classmethod
    def _range(cls, v: tuple[float, float]) -> tuple[float, float]:
        if v[0] > v[1]:
            raise ValueError(f"the low end {v[0]} exceeds the high end {v[1]}; give [low, high]")
        return v


class FixedAssetsConfig(_Strict):
    """Asset accounting from the fixed-asset register: acquisitions, monthly depreciation
    runs and disposals, so the ledger's asset accounts equal the register."""

    enabled: bool = True
    #: share of assets disposed of per year
    disposal_rate: Probability = 0.05
    #: days from an acquisition in the window to its payment
    payment_days: int = Field(default=30, ge=0, le=365)


class BalancesConfig(_Strict):
    """Opening balances, trial balances reduced from the written journal entries, asset
    accounting and the period-close entries generated from them."""

    enabled: bool = True
    opening: OpeningBalancesConfig = OpeningBalancesConfig()
    fixed_assets: FixedAssetsConfig = FixedAssetsConfig()
    period_close: PeriodCloseConfig = PeriodCloseConfig()

    @property
    def asset_accounting(self) -> bool:
        """Whether the register drives the asset accounts (balances and fixed assets on)."""
        return self.enabled and self.fixed_assets.enabled


AnomalyCategory = Literal["fraud", "error", "process", "statistical", "relational"]
ANOMALY_CATEGORIES: tuple[AnomalyCategory, ...] = (
    "fraud",
    "error",
    "process",
    "statistical",
    "relational",
)
#: every anomaly type the injector knows: name -> (category, default weight in its category)
ANOMALY_TYPES: dict[str, tuple[AnomalyCategory, float]] = {
    # fraud
    "fictitious_entry": ("fraud", 1.0),
    "round_dollar_manipulation": ("fraud", 2.0),
    "just_below_threshold": ("fraud", 2.5),
    "split_transaction": ("fraud", 1.5),
    "self_approval": ("fraud", 1.5),
    "unauthorized_approval": ("fraud", 1.0),
    "segregation_of_duties": ("fraud", 1.0),
    "duplicate_payment": ("fraud", 2.0),
    "fictitious_vendor": ("fraud", 0.5),
    "premature_revenue": ("fraud", 0.5),
    "expense_capitalization": ("fraud", 1.0),
    "suspense_account_abuse": ("fraud", 1.0),
    # error
    "duplicate_entry": ("error", 2.0),
    "reversed_amount": ("error", 1.5),
    "transposed_digits": ("error", 2.5),
    "decimal_shift": ("error", 1.5),
    "misclassified_account": ("error", 2.0),
    "backdated_entry": ("error", 1.5),
    "missing_cost_center": ("error", 3.0),
    "wrong_cost_center": ("error", 2.5),
    # process
    "missing_approval": ("process", 1.5),
    "late_posting": ("process", 3.5),
    "after_hours_posting": ("process", 2.0),
    "weekend_posting": ("process", 1.5),
    # statistical
    "unusually_high_amount": ("statistical", 2.0),
    "benford_violation": ("statistical", 2.5),
    "repeated_amount": ("statistical", 1.5),
    # relational
    "unusual_account_pair": ("relational", 2.5),
    "dormant_account": ("relational", 2.0),
    "new_counterparty": ("relational", 3.0),
}
EscalationPattern = Literal["stable", "gradual", "aggressive", "erratic", "test_then_strike"]
ESCALATION_PATTERNS: tuple[EscalationPattern, ...] = (
    "stable",
    "gradual",
    "aggressive",
    "erratic",
    "test_then_strike",
)


def _default_categories() -> dict[AnomalyCategory, float]:
    return {"fraud": 0.25, "error": 0.35, "process": 0.20, "statistical": 0.15, "relational": 0.05}


def _default_escalation() -> dict[EscalationPattern, float]:
    return {
        "stable": 0.3,
        "gradual": 0.3,
        "aggressive": 0.15,
        "erratic": 0.15,
        "test_then_strike": 0.1,
    }


class AnomalyPeriodEndConfig(_Strict):
    """Anomalies concentrate in the last days of periods: the chance of an entry posted in
    the last ``days`` days of a month, quarter or fiscal year is multiplied (the overall rate
    stays ``anomalies.rate``: the multipliers only move anomalies in time)."""

    days: int = Field(default=3, ge=0, le=15)
    month_end: float = Field(default=2.0, ge=0.0, le=100.0)
    quarter_end: float = Field(default=3.0, ge=0.0, le=100.0)
    year_end: float = Field(default=5.0, ge=0.0, le=100.0)


class AnomalyClusteringConfig(_Strict):
    """Anomalies come in bursts: an injected anomaly starts a cluster with ``start``
    probability; the cluster takes the next eligible entries within ``window_days`` of it, one
    more with ``continuation`` probability each, up to ``max_size``, all of the same type and
    (for people-driven types) by the same person."""

    enabled: bool = True
    start: Probability = 0.3
    continuation: Probability = 0.7
    max_size: int = Field(default=10, ge=2, le=100)
    window_days: int = Field(default=7, ge=1, le=90)


class FraudActorsConfig(_Strict):
    """Repeat offenders: each company has a few fraud actors among its people; a share of
    its fraud anomalies is theirs, with amounts that escalate over the periods by the actor's
    pattern. Vendor-side frauds target a few repeat vendors."""

    per_company: int = Field(default=2, ge=0, le=100)
    #: share of fraud anomalies that a fraud actor commits (the rest: random preparers)
    share: Probability = 0.7
    escalation: dict[EscalationPattern, float] = Field(default_factory=_default_escalation)
    #: vendors that duplicate payments keep hitting
    target_vendors: int = Field(default=3, ge=1, le=1000)
    #: shell vendors per company that fraud actors pay (appended to master_data.vendors)
    fictitious_vendors: int = Field(default=2, ge=0, le=1000)

    @field_validator("escalation")
    @classmethod
    def _escalation(cls, v: dict[str, float]) -> dict[str, float]:
        return _canonical(_check_distribution(v, "fraud_actors.escalation"), ESCALATION_PATTERNS)


class AnomaliesConfig(_Strict):
    """Labelled fraud, error, process, statistical and relational anomalies injected into the
    journal entries of every block, with their own random streams (``labels/anomaly_labels``)."""

    enabled: bool = False
    #: share of journal entries that carry an anomaly
    rate: Probability = 0.02
    #: how the anomalies divide among the categories (sums to 1)
    categories: dict[AnomalyCategory, float] = Field(default_factory=_default_categories)
    #: weight of a type inside its category; listed types replace the default weight, 0
    #: switches a type off (see docs/anomalies.md for the types and their defaults)
    types: dict[str, float] = Field(default_factory=dict)
    period_end: AnomalyPeriodEndConfig = AnomalyPeriodEndConfig()
    clustering: AnomalyClusteringConfig = AnomalyClusteringConfig()
    fraud_actors: FraudActorsConfig = FraudActorsConfig()

    @field_validator("categories")
    @classmethod
    def _categories(cls, v: dict[str, float]) -> dict[str, float]:
        return _canonical(_check_distribution(v, "categories"), ANOMALY_CATEGORIES)

    @field_validator("types")
    @classmethod
    def _types(cls, v: dict[str, float]) -> dict[str, float]:
        unknown = sorted(set(v) - set(ANOMALY_TYPES))
        if unknown:
            hints = []
            for name in unknown:
                close = difflib.get_close_matches(name, list(ANOMALY_TYPES), n=1)
                hints.append(f"{name!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
            raise ValueError(
                f"unknown anomaly types {', '.join(hints)}; known types: "
                + ", ".join(ANOMALY_TYPES)
            )
        bad = {k: w for k, w in v.items() if not (w >= 0 and math.isfinite(w))}
        if bad:
            raise ValueError(f"anomaly type weights must be >= 0, got {bad}")
        return {k: v[k] for k in ANOMALY_TYPES if k in v}

    @model_validator(mode="after")
    def _category_has_types(self) -> AnomaliesConfig:
        for category, share in self.categories.items():
            if share > 0 and not any(w > 0 for w in self.type_weights(category).values()):
                raise ValueError(
                    f"categories.{category} is {share} but every {category} type has weight 0 "
                    "in anomalies.types; give one a weight or set the category's share to 0"
                )
        return self

    @property
    def fictitious_vendor_count(self) -> int:
        """Shell vendors each company's vendor list gains (0 unless the type can occur)."""
        if not self.enabled or self.categories.get("fraud", 0.0) == 0:
            return 0
        if self.type_weights("fraud")["fictitious_vendor"] == 0:
            return 0
        return self.fraud_actors.fictitious_vendors

    def type_weights(self, category: str) -> dict[str, float]:
        """The types of ``category`` with their effective weights (config over defaults)."""
        return {
            name: self.types.get(name, default)
            for name, (cat, default) in ANOMALY_TYPES.items()
            if cat == category
        }


NoisyTable = Literal[
    "journal_entries", "vendors", "customers", "materials", "employees", "fixed_assets"
]
NOISY_TABLES: tuple[NoisyTable, ...] = (
    "journal_entries",
    "vendors",
    "customers",
    "materials",
    "employees",
    "fixed_assets",
)


#: the columns of each table a noisy copy can be made of (tests check them against the real
#: schemas) and its key columns, which never change
NOISY_COLUMNS: dict[str, tuple[str, ...]] = {
    "journal_entries": (
        "document_id",
        "company_code",
        "fiscal_year",
        "fiscal_period",
        "posting_date",
        "document_date",
        "created_at",
        "document_type",
        "currency",
        "source",
        "business_process",
        "posting_template",
        "created_by",
        "user_persona",
        "approved_by",
        "line_number",
        "gl_account",
        "debit_amount",
        "credit_amount",
        "cost_center",
        "vendor_id",
        "customer_id",
        "source_document_id",
        "clearing_reference",
        "due_date",
        "material_id",
        "quantity",
        "is_anomaly",
        "is_fraud",
    ),
    "vendors": (
        "vendor_id",
        "company_code",
        "vendor_name",
        "vendor_type",
        "country",
        "city",
        "street",
        "postal_code",
        "tax_id",
        "currency",
        "iban",
        "bank_routing_number",
        "bank_account_number",
        "payment_terms",
        "payment_terms_days",
        "cash_discount_percent",
        "cash_discount_days",
        "is_intercompany",
        "intercompany_code",
        "reconciliation_account",
    ),
    "customers": (
        "customer_id",
        "company_code",
        "customer_name",
        "customer_type",
        "country",
        "city",
        "street",
        "postal_code",
        "tax_id",
        "currency",
        "iban",
        "bank_routing_number",
        "bank_account_number",
        "payment_terms",
        "payment_terms_days",
        "cash_discount_percent",
        "cash_discount_days",
        "credit_rating",
        "credit_limit",
        "payment_behavior",
        "is_intercompany",
        "intercompany_code",
        "reconciliation_account",
    ),
    "materials": (
        "material_id",
        "company_code",
        "description",
        "material_type",
        "material_group",
        "base_uom",
        "valuation_method",
        "standard_cost",
        "list_price",
        "abc_class",
        "preferred_vendor_id",
    ),
    "employees": (
        "employee_id",
        "company_code",
        "first_name",
        "last_name",
        "email",
        "job_level",
        "job_title",
        "department",
        "cost_center",
        "manager_id",
        "approval_limit",
        "hire_date",
    ),
    "fixed_assets": (
        "asset_id",
        "company_code",
        "description",
        "asset_class",
        "acquisition_date",
        "acquisition_cost",
        "useful_life_months",
        "depreciation_method",
        "salvage_value",
        "cost_center",
        "vendor_id",
    ),
}
NOISY_KEYS: dict[str, tuple[str, ...]] = {
    "journal_entries": ("document_id", "line_number"),
    "vendors": ("vendor_id",),
    "customers": ("customer_id",),
    "materials": ("material_id",),
    "employees": ("employee_id",),
    "fixed_assets": ("asset_id",),
}


def _default_text_fields() -> dict[NoisyTable, tuple[str, ...]]:
    return {
        "journal_entries": ("posting_template",),
        "vendors": ("vendor_name", "city", "street"),
        "customers": ("customer_name", "city", "street"),
        "materials": ("description",),
        "employees": ("first_name", "last_name", "job_title"),
        "fixed_assets": ("description",),
    }


class DependentMissingConfig(_Strict):
    """Missing values that depend on another field (missing at random, MAR): ``field`` of
    ``table`` is missing with probability ``rate`` where ``when_field`` is one of
    ``when_values``."""

    table: NoisyTable
    field: str
    when_field: str
    when_values: tuple[str, ...] = Field(min_length=1)
    rate: Probability


def _default_dependent() -> tuple[DependentMissingConfig, ...]:
    return (
        DependentMissingConfig(
            table="journal_entries",
            field="document_date",
            when_field="user_persona",
            when_values=("junior_accountant",),
            rate=0.04,
        ),
        DependentMissingConfig(
            table="journal_entries",
            field="cost_center",
            when_field="source",
            when_values=("manual", "adjustment"),
            rate=0.05,
        ),
        DependentMissingConfig(
            table="vendors",
            field="tax_id",
            when_field="vendor_type",
            when_values=("contractor", "real_estate"),
            rate=0.3,
        ),
    )


def _default_duplicate_mix() -> dict[str, float]:
    return {"exact": 0.4, "near": 0.35, "fuzzy": 0.25}


class DataQualityConfig(_Strict):
    """A noisy copy of chosen tables (``noisy/``), every cell as text, with each change
    recorded in ``labels/quality_labels`` so the clean value can be recovered. The clean
    tables are written as always."""

    enabled: bool = False
    tables: tuple[NoisyTable, ...] = ("journal_entries", "vendors", "customers")
    #: share of cells (keys excepted) missing completely at random
    missing_rate: Probability = 0.01
    #: share of missing cells written as a placeholder ("", "N/A", "NULL", "-") instead of null
    placeholder_share: Probability = 0.25
    dependent_missing: tuple[DependentMissingConfig, ...] = Field(
        default_factory=_default_dependent
    )
    #: share of text cells (``text_fields``) with one typo
    typo_rate: Probability = 0.02
    text_fields: dict[NoisyTable, tuple[str, ...]] = Field(default_factory=_default_text_fields)
    #: share of date, amount and identifier cells written in another format
    date_format_rate: Probability = 0.05
    amount_format_rate: Probability = 0.03
    identifier_format_rate: Probability = 0.02
    #: share of rows copied once more: exactly, with one field nudged, or nudged plus a typo
    duplicate_rate: Probability = 0.005
    duplicate_mix: dict[str, float] = Field(default_factory=_default_duplicate_mix)
    duplicate_max_days: int = Field(default=5, ge=1, le=365)
    duplicate_amount_variance: float = Field(default=0.01, gt=0.0, le=1.0)
    #: share of text cells with an encoding slip (mojibake, byte-order mark, U+FFFD)
    encoding_rate: Probability = 0.002

    @field_validator("duplicate_mix")
    @classmethod
    def _mix(cls, v: dict[str, float]) -> dict[str, float]:
        unknown = sorted(set(v) - {"exact", "near", "fuzzy"})
        if unknown:
            raise ValueError(f"unknown duplicate kinds {unknown}; allowed: exact, near, fuzzy")
        return _canonical(_check_distribution(v, "duplicate_mix"), ("exact", "near", "fuzzy"))

    @field_validator("tables")
    @classmethod
    def _tables(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        repeated = sorted({t for t in v if v.count(t) > 1})
        if repeated:
            raise ValueError(f"tables listed twice: {repeated}")
        return v

    @model_validator(mode="after")
    def _fields_exist(self) -> DataQualityConfig:
        def check(where: str, table: str, name: str) -> None:
            columns = NOISY_COLUMNS[table]
            if name not in columns:
                close = difflib.get_close_matches(name, columns, n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                raise ValueError(
                    f"{where}: {table} has no field {name!r}{hint}; its fields: "
                    + ", ".join(columns)
                )
            if name in NOISY_KEYS[table] and where != "dependent_missing.when_field":
                raise ValueError(
                    f"{where}: {name!r} is a key of {table} and never changes; choose another"
                )

        for table, names in self.text_fields.items():
            for name in names:
                check(f"text_fields.{table}", table, name)
        for rule in self.dependent_missing:
            check("dependent_missing.field", rule.table, rule.field)
            check("dependent_missing.when_field", rule.table, rule.when_field)
        return self


class ReportThresholds(_Strict):
    """Thresholds of the fidelity report's checks (``datasynth evaluate --quality-gate``)."""

    #: mean absolute deviation from Benford's first / second-digit law (Nigrini's upper bound
    #: of "marginal conformity" by default)
    benford_first_mad: float = Field(default=0.015, gt=0, le=1)
    benford_second_mad: float = Field(default=0.012, gt=0, le=1)
    #: total variation distance of the standalone line counts to transactions.line_counts
    line_count_tvd: Probability = 0.05
    #: Kolmogorov-Smirnov distance of the typical line amount to the configured distribution
    amount_ks: Probability = 0.05
    #: |observed - expected| weekend share of standalone entries
    weekend_share_diff: Probability = 0.02
    #: |observed / expected - 1| of the period-end volume ratio
    period_end_ratio_diff: float = Field(default=0.25, ge=0, le=10)
    #: minimum share of orders (placed 45+ days before the window's end) that reached their
    #: goods receipt / delivery and invoice
    chain_completion: Probability = 0.95
    #: minimum share of filled required journal fields
    completeness: Probability = 1.0
    #: |labels per entry / anomalies.rate - 1|
    anomaly_rate_diff: float = Field(default=0.5, ge=0, le=10)


class ReportConfig(_Strict):
    """The fidelity report (``report/``): at the end of a generation when enabled, or
    ``datasynth evaluate OUTPUT_DIR`` on a finished run."""

    enabled: bool = False
    thresholds: ReportThresholds = ReportThresholds()


GraphKind = Literal["entity", "transaction", "approval"]
GRAPH_KINDS: tuple[GraphKind, ...] = ("entity", "transaction", "approval")
GraphFormat = Literal["pyg", "neo4j", "networkx"]
GRAPH_FORMATS: tuple[GraphFormat, ...] = ("pyg", "neo4j", "networkx")
SplitStrategy = Literal["random", "temporal", "stratified"]
SPLIT_STRATEGIES: tuple[SplitStrategy, ...] = ("random", "temporal", "stratified")


class GraphSplitConfig(_Strict):
    """Train / validation / test masks over the labelled units (journal-entry nodes of the
    entity graph, transaction edges). Every strategy's masks are written; ``strategy`` names
    the one stored as ``train_mask`` / ``val_mask`` / ``test_mask``."""

    strategy: SplitStrategy = "random"
    train: Probability = 0.70
    val: Probability = 0.15
    seed: int = Field(default=42, ge=0, le=2**63 - 1)

    @model_validator(mode="after")
    def _shares(self) -> GraphSplitConfig:
        if self.train <= 0 or self.train + self.val >= 1:
            raise ValueError(
                f"train ({self.train}) must be > 0 and train + val ({self.train + self.val:g}) "
                "< 1, leaving a test share"
            )
        return self


class GraphExportConfig(_Strict):
    """Graphs for graph ML and graph databases, built from the written dataset (``graphs/``)."""

    enabled: bool = False
    graphs: tuple[GraphKind, ...] = GRAPH_KINDS
    formats: tuple[GraphFormat, ...] = GRAPH_FORMATS
    split: GraphSplitConfig = GraphSplitConfig()
    #: transaction graph: one edge per entry and account pair, or the entries of each company,
    #: fiscal period and account pair summed into one edge
    transaction_edges: Literal["entry", "period"] = "entry"
    #: networkx GraphML files hold the whole graph in memory: written only up to this many
    #: edges per graph (the partitioned edge lists are always written)
    graphml_max_edges: int = Field(default=500_000, ge=0, le=100_000_000)

    @field_validator("graphs", "formats")
    @classmethod
    def _not_empty(cls, v: tuple[str, ...], info: ValidationInfo) -> tuple[str, ...]:
        if not v:
            allowed = GRAPH_KINDS if info.field_name == "graphs" else GRAPH_FORMATS
            raise ValueError(
                f"name at least one of {', '.join(allowed)} (or set graph_export.enabled: false)"
            )
        return tuple(sorted(set(v)))


class DatasynthConfig(_Strict):
    """The whole validated configuration of one datasynth run."""

    global_: GlobalConfig = Field(default=GlobalConfig(), alias="global")
    companies: tuple[CompanyConfig, ...] = (
        CompanyConfig(code="1000", name="Demo Manufacturing Inc.", currency="USD", country="US"),
    )
    chart_of_accounts: ChartOfAccountsConfig = ChartOfAccountsConfig()
    master_data: MasterDataConfig = MasterDataConfig()
    transactions: TransactionsConfig = TransactionsConfig()
    document_flows: DocumentFlowsConfig = DocumentFlowsConfig()
    balances: BalancesConfig = BalancesConfig()
    anomalies: AnomaliesConfig = AnomaliesConfig()
    data_quality: DataQualityConfig = DataQualityConfig()
    graph_export: GraphExportConfig = GraphExportConfig()
    report: ReportConfig = ReportConfig()
    output: OutputConfig = OutputConfig()
    runtime: RuntimeConfig = RuntimeConfig()

    model_config = ConfigDict(
        extra="forbid", frozen=True, populate_by_name=True, allow_inf_nan=False
    )

    @field_validator("companies")
    @classmethod
    def _companies(cls, v: tuple[CompanyConfig, ...]) -> tuple[CompanyConfig, ...]:
        if not v:
            raise ValueError("at least one company is required")
        codes = [c.code for c in v]
        dupes = sorted({c for c in codes if codes.count(c) > 1})
        if dupes:
            raise ValueError(f"company codes must be unique; repeated: {dupes}")
        if len(v) > 999:
            raise ValueError(f"at most 999 companies are supported, got {len(v)}")
        return v

    def to_plain(self) -> dict[str, object]:
        """The resolved configuration as JSON-ready plain data (``global`` under its real name)."""
        return self.model_dump(mode="json", by_alias=True)
