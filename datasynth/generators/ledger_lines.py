"""A small builder of balanced journal entries for the stages that post a few entries per
company and period (asset accounting, period close). Not a hot path: lines are appended one
by one and turned into one Arrow table with the journal-entry schema at the end."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa

from datasynth.config.models import PERSONAS
from datasynth.core.calendars import FiscalPeriod
from datasynth.core.money import decimal_from_minor
from datasynth.generators.journal_entries import SCHEMA
from datasynth.generators.master import AUTOMATED_PERSONA, CompanyMaster


def first_user(company: CompanyMaster, persona: str) -> tuple[str, str]:
    """(user id, persona) of the first user of a persona, falling back to the first batch
    user when the company has none (the same people post these entries every period)."""
    p = len(PERSONAS) if persona == AUTOMATED_PERSONA else PERSONAS.index(persona)
    if company.persona_sizes[p] == 0:
        p = len(PERSONAS)
        persona = AUTOMATED_PERSONA
    return company.user_ids[int(company.user_lookup[company.persona_offsets[p]])], persona


@dataclass(frozen=True)
class Posting:
    """What an entry is: its document type, template, source and business process."""

    document_type: str
    template: str
    source: str
    process: str


@dataclass
class LedgerLines:
    """Entries appended one at a time; :meth:`table` gives them as journal lines."""

    columns: dict[str, list[object]] = field(default_factory=lambda: {f.name: [] for f in SCHEMA})

    def entry(
        self,
        company: CompanyMaster,
        period: FiscalPeriod,
        document_id: str,
        posting: Posting,
        day: dt.date,
        user: tuple[str, str],
        accounts: list[str],
        signed: list[int],
        cost_center: list[str | None],
        vendor: tuple[str, str] | None = None,
        source_document: str | None = None,
        item: tuple[str, dt.date] | None = None,
        customer: tuple[str, str] | None = None,
        materials: list[str | None] | None = None,
        quantities: list[int | None] | None = None,
    ) -> None:
        """One entry: ``signed`` amounts (minor units, debit positive) must sum to zero.
        ``vendor`` / ``customer`` is ``(account, partner id)``: the partner is named on that
        account's lines, which also carry ``item`` (open item id, due date) when given.
        ``materials`` and ``quantities`` name the material and quantity moved per line."""
        if sum(signed) != 0:
            raise ValueError(f"entry {document_id} does not balance: {signed}")
        c = self.columns
        # batch jobs run at night, people close the books in the evening
        created = dt.datetime.combine(day, dt.time(22 if user[1] == AUTOMATED_PERSONA else 18))
        for k, (account, amount, cc) in enumerate(zip(accounts, signed, cost_center, strict=True)):
            c["document_id"].append(document_id)
            c["company_code"].append(company.code)
            c["fiscal_year"].append(period.fiscal_year)
            c["fiscal_period"].append(period.fiscal_period)
            c["posting_date"].append(day)
            c["document_date"].append(day)
            c["created_at"].append(created)
            c["document_type"].append(posting.document_type)
            c["currency"].append(company.currency)
            c["source"].append(posting.source)
            c["business_process"].append(posting.process)
            c["posting_template"].append(posting.template)
            c["created_by"].append(user[0])
            c["user_persona"].append(user[1])
            c["approved_by"].append(None)
            c["line_number"].append(k + 1)
            c["gl_account"].append(account)
            c["debit_amount"].append(max(amount, 0))
            c["credit_amount"].append(max(-amount, 0))
            c["cost_center"].append(cc)
            on_vendor = vendor is not None and account == vendor[0]
            on_customer = customer is not None and account == customer[0]
            c["vendor_id"].append(vendor[1] if vendor is not None and on_vendor else None)
            c["customer_id"].append(customer[1] if customer is not None and on_customer else None)
            c["source_document_id"].append(source_document)
            on_item = item is not None and (on_vendor or on_customer)
            c["clearing_reference"].append(item[0] if item is not None and on_item else None)
            c["due_date"].append(item[1] if item is not None and on_item else None)
            c["material_id"].append(materials[k] if materials is not None else None)
            c["quantity"].append(quantities[k] if quantities is not None else None)
            c["is_anomaly"].append(False)
            c["is_fraud"].append(False)

    def table(self) -> pa.Table:
        c = self.columns
        arrays = []
        for f in SCHEMA:
            values = c[f.name]
            if f.name in ("debit_amount", "credit_amount"):
                arrays.append(decimal_from_minor(np.asarray(values, dtype=np.int64)))
            elif pa.types.is_dictionary(f.type):
                arrays.append(pa.array(values, pa.string()).dictionary_encode())
            else:
                arrays.append(pa.array(values, f.type))
        return pa.Table.from_arrays(arrays, schema=SCHEMA)


def bulk_entries(
    company: CompanyMaster,
    posting: Posting,
    user: tuple[str, str],
    *,
    document_id: pa.Array,
    period: np.ndarray,
    day: np.ndarray,
    account: pa.Array,
    signed: np.ndarray,
    line_number: np.ndarray,
    vendor_id: pa.Array | None = None,
    customer_id: pa.Array | None = None,
    clearing: pa.Array | None = None,
    due_day: np.ndarray | None = None,
    material_id: pa.Array | None = None,
    quantity: pa.Array | None = None,
) -> pa.Table:
    """Many entries of one kind at once, line by line as arrays (the vectorised
    :meth:`LedgerLines.entry`); ``period`` indexes ``company.periods`` and ``day`` counts days
    since 1970-01-01, per line. The caller keeps every entry balanced."""
    n = int(signed.size)
    periods = company.periods
    year = np.array([p.fiscal_year for p in periods], np.int16)[period]
    number = np.array([p.fiscal_period for p in periods], np.int8)[period]
    hour = 22 if user[1] == AUTOMATED_PERSONA else 18
    nulls = pa.nulls(n, pa.string())

    def constant(value: str) -> pa.Array:
        return pa.DictionaryArray.from_arrays(
            pa.array(np.zeros(n, np.int32)), pa.array([value], pa.string())
        )

    columns = {
        "document_id": document_id,
        "company_code": constant(company.code),
        "fiscal_year": pa.array(year),
        "fiscal_period": pa.array(number),
        "posting_date": pa.array(day.astype(np.int32), pa.date32()),
        "document_date": pa.array(day.astype(np.int32), pa.date32()),
        "created_at": pa.array((day * 86_400 + hour * 3_600) * 1000, pa.timestamp("ms")),
        "document_type": constant(posting.document_type),
        "currency": constant(company.currency),
        "source": constant(posting.source),
        "business_process": constant(posting.process),
        "posting_template": constant(posting.template),
        "created_by": constant(user[0]),
        "user_persona": constant(user[1]),
        "approved_by": pa.nulls(n, pa.string()).dictionary_encode(),
        "line_number": pa.array(line_number.astype(np.int32)),
        "gl_account": account.dictionary_encode(),
        "debit_amount": decimal_from_minor(np.maximum(signed, 0)),
        "credit_amount": decimal_from_minor(np.maximum(-signed, 0)),
        "cost_center": pa.nulls(n, pa.string()).dictionary_encode(),
        "vendor_id": vendor_id if vendor_id is not None else nulls,
        "customer_id": customer_id if customer_id is not None else nulls,
        "source_document_id": nulls,
        "clearing_reference": clearing if clearing is not None else nulls,
        "due_date": (
            pa.array(due_day.astype(np.int32), pa.date32(), mask=due_day < 0)
            if due_day is not None
            else pa.nulls(n, pa.date32())
        ),
        "material_id": material_id if material_id is not None else nulls,
        "quantity": quantity if quantity is not None else pa.nulls(n, pa.int64()),
        "is_anomaly": pa.array(np.zeros(n, dtype=bool)),
        "is_fraud": pa.array(np.zeros(n, dtype=bool)),
    }
    return pa.Table.from_arrays([columns[f.name] for f in SCHEMA], schema=SCHEMA)
