"""Follow-on entries of standalone entries: accrual reversals, prepaid releases, transfer
returns, clearings of unassigned bank items.

A posting template with a ``follow_on`` (``datasynth/data/chart_of_accounts.json``) brings
entries after each of its entries (:class:`~datasynth.generators.master.FollowOn`): an accrual
is reversed on the first day of the next period, a prepayment is released to expense at the
end of each of its 3, 6 or 12 periods, a transfer to a deposit or payroll account comes back
1-30 days later, an unassigned bank debit or credit parked on suspense or bank clearing is
cleared to an expense or income account 1-20 days later. The follow-ons *stand in* for drawn
entries of the same template, so the volume and the process mix hold: of the template's
entries in a block, taken in drawn order, the first of each group of ``1 + follow-ons`` is
posted and the rest are dropped before their dates and amounts are drawn (:func:`plan_follow_ons`). Reversals and releases that would post
after the window are not generated and their groups are smaller (an accrual of the last period
stays open, as does the unreleased rest of a prepayment); a return that would pass the window's
end posts on its last day. The last group of a block may lack stand-ins: a prepayment then runs
over the entries left, a reversal or a return still follows (at most one entry more per
template and block).

A follow-on mirrors its entry's lines (debit and credit swapped), split into installments
exactly (each line's installments sum to the line); with ``replace`` one side of the entry
collapses into one line on an account drawn from the replacement accounts, carrying the
installment's total. It names its entry in ``source_document_id``, has the template's document
type and source (``reversal``, ``recurring``, ``automated``, ``manual``), the entry's process
and an id numbered after the block's entries. Batch users post the recurring and automated
ones at a batch job's time; the entry's preparer the others at the entry's time of day, or a
person drawn from the persona mix where a batch job posted the entry (:func:`follow_on_entries`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from datasynth.core import distributions as dist
from datasynth.core.blocks import Block
from datasynth.core.calendars import FiscalPeriod
from datasynth.core.ids import journal_entry_ids
from datasynth.core.money import decimal_from_minor
from datasynth.generators.flows import day_number, fiscal_of, workday
from datasynth.generators.master import AUTOMATED_PERSONA, FollowOn, PostingModel


@dataclass(frozen=True)
class FollowOnPlan:
    """Per kept entry of a block: how many follow-ons it brings inside the window and in how
    many installments its lines are split (0 and 1 for entries without follow-ons)."""

    keep: np.ndarray  # over the drawn entries: False for the ones follow-ons stand in for
    count: np.ndarray  # over the kept entries
    installments: np.ndarray  # over the kept entries


def _period_index(periods: tuple[FiscalPeriod, ...], block: Block) -> int:
    for i, p in enumerate(periods):
        if (p.fiscal_year, p.fiscal_period) == (block.fiscal_year, block.fiscal_period):
            return i
    raise ValueError(f"block {block.index}: period {block.fiscal_year}/{block.fiscal_period}")


def plan_follow_ons(
    rng: np.random.Generator,
    posting: PostingModel,
    periods: tuple[FiscalPeriod, ...],
    block: Block,
    template: np.ndarray,
) -> FollowOnPlan | None:
    """Which drawn entries are posted and how many follow-ons each brings (None: no template
    of the block has follow-ons). Draws installments for each template in template order."""
    specs = [(t, f) for t, f in enumerate(posting.follow_ons) if f is not None]
    present = [(t, f) for t, f in specs if np.any(template == t)]
    if not present:
        return None
    n = template.size
    keep = np.ones(n, dtype=bool)
    count = np.zeros(n, dtype=np.int64)
    installments = np.ones(n, dtype=np.int64)
    left = len(periods) - _period_index(periods, block)  # periods from this one to the last
    for t, f in present:
        idx = np.flatnonzero(template == t)
        k = idx.size
        inst = f.installments[dist.draw(rng, dist.cdf(f.installment_weights), k)]
        if f.timing == "next_period":
            inside = np.full(k, 1 if left > 1 else 0)
        elif f.timing == "period_end":
            inside = np.minimum(inst, left)
        else:  # days: a return that would pass the window's end posts on its last day
            inside = np.ones(k, dtype=np.int64)
        size = 1 + inside
        starts = np.cumsum(size) - size
        heads = np.flatnonzero(starts < k)
        # the last group may lack stand-ins: a prepayment then runs over the entries left
        # (at least one release); a reversal or a return still follows (one entry more)
        last = heads[-1]
        short = k - 1 - int(starts[last])
        if short < inside[last] and f.timing == "period_end":
            inst[last] = inside[last] = max(short, 1)
        keep[idx] = False
        keep[idx[starts[heads]]] = True
        count[idx[starts[heads]]] = inside[heads]
        installments[idx[starts[heads]]] = inst[heads]
    return FollowOnPlan(keep=keep, count=count[keep], installments=installments[keep])


def follow_on_entries(
    rng: np.random.Generator,
    posting: PostingModel,
    numbers: tuple[str, ...],
    requires_cost_center: np.ndarray,
    cost_center_cdf: np.ndarray,
    company_code: str,
    periods: tuple[FiscalPeriod, ...],
    unit: int,
    block: Block,
    plan: FollowOnPlan,
    entries: pa.Table,
    *,
    template: np.ndarray,
    lines: np.ndarray,
    debits: np.ndarray,
    amount: np.ndarray,
    posting_day: np.ndarray,
    seconds: np.ndarray,
    batch_users: np.ndarray,
    people: Callable[[int], tuple[np.ndarray, np.ndarray]],
    seconds_of_day: Callable[[np.ndarray], np.ndarray],
) -> pa.Table | None:
    """The follow-on entries of a block's ``entries`` (its table, one row per line, entries in
    order), numbered after them; ``template`` ... ``seconds`` are the entries' drawn values
    (``amount`` per line, in hundredths). Follow-ons with an ``automated`` or ``recurring``
    source are posted by one of ``batch_users`` (indices into the ``created_by`` dictionary);
    reversals and ``manual`` follow-ons by the entry's preparer at its time of day, manual ones
    of a batch job's entry by ``people(count)`` (users and their personas' indices in the
    ``user_persona`` dictionary). ``seconds_of_day(batch)`` times the follow-ons posted by a
    batch user (True) or by a person other than the preparer. None when the block has none."""
    head = np.repeat(np.arange(template.size), plan.count)
    if head.size == 0:
        return None
    n_entries = template.size
    starts = np.cumsum(lines) - lines
    k = np.arange(head.size) - np.repeat(np.cumsum(plan.count) - plan.count, plan.count)
    used = sorted({int(t) for t in np.unique(template[head])})
    specs_used: list[FollowOn] = []
    for t in used:
        spec = posting.follow_ons[t]
        assert spec is not None
        specs_used.append(spec)
    code = np.searchsorted(used, template[head])  # which used template each follow-on has

    # --- posting day ---------------------------------------------------------------------
    firsts = np.array([day_number(p.first) for p in periods], dtype=np.int64)
    stops = np.array([day_number(p.stop) for p in periods], dtype=np.int64)
    here = _period_index(periods, block)
    day = np.zeros(head.size, dtype=np.int64)
    for c, f in enumerate(specs_used):
        on = code == c
        if f.timing == "next_period":
            day[on] = firsts[min(here + 1, len(periods) - 1)]
        elif f.timing == "period_end":
            day[on] = stops[np.minimum(here + k[on], len(periods) - 1)] - 1
        else:
            lo, hi = f.days
            later = workday(posting_day[head[on]] + rng.integers(lo, hi + 1, int(on.sum())))
            day[on] = np.minimum(later, stops[-1] - 1)

    # --- lines: the entry's lines mirrored, a replaced side collapsed into its first line ---
    count = lines[head]
    fo_of_line = np.repeat(np.arange(head.size), count)
    src = np.repeat(starts[head], count) + (
        np.arange(int(count.sum())) - np.repeat(np.cumsum(count) - count, count)
    )
    number_in_entry = src - starts[head][fo_of_line]  # 0-based line of the original entry
    was_debit = number_in_entry < debits[head][fo_of_line]
    side = np.array([spec.replace_side for spec in specs_used])[code][fo_of_line]
    replaced = np.where(was_debit, side == "debit", side == "credit")
    first_of_side = np.where(
        was_debit, number_in_entry == 0, number_in_entry == debits[head][fo_of_line]
    )
    keep = ~replaced | first_of_side
    fo_of_line, src, was_debit, replaced = (x[keep] for x in (fo_of_line, src, was_debit, replaced))
    # installment k of a line: floor(a (k+1) / n) - floor(a k / n) units, so a line's
    # installments sum to it exactly; a replacement line carries the installment's total
    n_inst = plan.installments[head][fo_of_line]
    kth = k[fo_of_line]
    units = amount[src] // unit
    part = ((units * (kth + 1)) // n_inst - (units * kth) // n_inst) * unit
    part = np.where(replaced, 0, part)
    # every follow-on keeps a line, and its lines are contiguous (exact int64 sums)
    total = np.add.reduceat(part, np.r_[0, np.flatnonzero(np.diff(fo_of_line)) + 1])
    part = np.where(replaced, total[fo_of_line], part)
    nonzero = part > 0
    fo_of_line, src, was_debit, replaced, part = (
        x[nonzero] for x in (fo_of_line, src, was_debit, replaced, part)
    )
    if fo_of_line.size == 0:
        return None
    # debits first (the entry's credits, mirrored), each side in the entry's line order
    order = np.lexsort((src, was_debit, fo_of_line))
    fo_of_line, src, was_debit, replaced, part = (
        x[order] for x in (fo_of_line, src, was_debit, replaced, part)
    )
    # follow-ons left without a line (all installments rounded to zero) take no number
    present = np.unique(fo_of_line)
    renumber = np.full(head.size, -1, dtype=np.int64)
    renumber[present] = np.arange(present.size)
    fo_of_line = renumber[fo_of_line]
    head, k, code, day = head[present], k[present], code[present], day[present]
    m = head.size
    first_line = np.r_[0, np.flatnonzero(np.diff(fo_of_line)) + 1]
    line_number = np.arange(fo_of_line.size) - np.repeat(
        first_line, np.diff(np.r_[first_line, fo_of_line.size])
    )

    # --- the replacement lines' accounts and cost centers ---------------------------------
    rows = entries.take(pa.array(src))
    account = np.asarray(rows["gl_account"].combine_chunks().indices, dtype=np.int64)
    centers = rows["cost_center"].combine_chunks()
    cc = np.asarray(centers.indices.fill_null(0), dtype=np.int64)
    swap = np.flatnonzero(replaced)
    if swap.size:
        for c, f in enumerate(specs_used):
            on = swap[code[fo_of_line[swap]] == c]
            if on.size and f.replace_accounts.size:
                pick = dist.draw(rng, dist.cdf(f.replace_weights), on.size)
                account[on] = f.replace_accounts[pick]
        cc[swap] = dist.draw(rng, cost_center_cdf, swap.size)
    has_cc = np.where(replaced, requires_cost_center[account], np.asarray(centers.is_valid()))
    names = [f.name for f in specs_used]
    doc_types = [f.document_type for f in specs_used]
    sources = [f.source for f in specs_used]

    ids = journal_entry_ids(
        company_code,
        block.fiscal_year,
        block.fiscal_period,
        block.block_number,
        np.arange(n_entries, n_entries + m),
    )
    head_ids = journal_entry_ids(
        company_code, block.fiscal_year, block.fiscal_period, block.block_number, head
    )
    year, period = fiscal_of(periods, day)
    # batch jobs post the releases and returns; the entry's preparer the reversals and the
    # manual follow-ons, a person (``people``) where a batch job posted the entry
    users = np.asarray(rows["created_by"].combine_chunks().indices, dtype=np.int64)
    personas = rows["user_persona"].combine_chunks()
    persona = np.asarray(personas.indices, dtype=np.int64)
    time_of_day = seconds[head].copy()
    machine = personas.dictionary.to_pylist().index(AUTOMATED_PERSONA)
    source = np.asarray(sources, dtype=object)[code]
    by_batch = np.isin(source, ["automated", "recurring"]) & (batch_users.size > 0)
    by_people = (source == "manual") & (persona[first_line] == machine)
    if by_batch.any():
        pick = batch_users[rng.integers(0, batch_users.size, int(by_batch.sum()))]
        line = by_batch[fo_of_line]
        users[line] = np.repeat(pick, np.bincount(fo_of_line[line], minlength=m)[by_batch])
        persona[line] = machine
    if by_people.any():
        who, kind = people(int(by_people.sum()))
        line = by_people[fo_of_line]
        repeat = np.bincount(fo_of_line[line], minlength=m)[by_people]
        users[line] = np.repeat(who, repeat)
        persona[line] = np.repeat(kind, repeat)
    timed = by_batch | by_people
    if timed.any():
        time_of_day[timed] = seconds_of_day(by_batch[timed])
    line_fo = fo_of_line
    debit_side = ~was_debit  # mirrored
    zero = np.zeros(part.size, dtype=np.int64)
    quantity = rows["quantity"].combine_chunks()
    replace = {
        "document_id": ids.take(pa.array(line_fo)),
        "fiscal_year": pa.array(year[line_fo]),
        "fiscal_period": pa.array(period[line_fo]),
        "posting_date": pa.array(day[line_fo].astype(np.int32), pa.date32()),
        "document_date": pa.array(day[line_fo].astype(np.int32), pa.date32()),
        "created_at": pa.array(
            (day[line_fo] * 86_400 + time_of_day[line_fo]) * 1000, pa.timestamp("ms")
        ),
        "created_by": pa.DictionaryArray.from_arrays(
            pa.array(users.astype(np.int32)), rows["created_by"].combine_chunks().dictionary
        ),
        "user_persona": pa.DictionaryArray.from_arrays(
            pa.array(persona.astype(np.int32)), personas.dictionary
        ),
        "document_type": _dictionary(code[line_fo], doc_types),
        "source": _dictionary(code[line_fo], sources),
        "posting_template": _dictionary(code[line_fo], names),
        "line_number": pa.array((line_number + 1).astype(np.int32)),
        "gl_account": _dictionary(account, numbers),
        "debit_amount": decimal_from_minor(np.where(debit_side, part, zero)),
        "credit_amount": decimal_from_minor(np.where(debit_side, zero, part)),
        "cost_center": pa.DictionaryArray.from_arrays(
            pa.array(cc.astype(np.int32), mask=~has_cc), centers.dictionary
        ),
        "source_document_id": head_ids.take(pa.array(line_fo)),
        # a replacement line names no partner, item or material; a mirrored line its own
        "vendor_id": _null_where(rows["vendor_id"], replaced),
        "customer_id": _null_where(rows["customer_id"], replaced),
        "clearing_reference": _null_where(rows["clearing_reference"], replaced),
        "due_date": _null_where(rows["due_date"], replaced),
        "material_id": _null_where(rows["material_id"], replaced),
        "quantity": _null_where(pc.negate(quantity), replaced),
    }
    columns = [
        replace[name] if name in replace else rows[name].combine_chunks()
        for name in entries.column_names
    ]
    return pa.Table.from_arrays(columns, schema=entries.schema)


def _dictionary(indices: np.ndarray, values: list[str] | tuple[str, ...]) -> pa.DictionaryArray:
    return pa.DictionaryArray.from_arrays(
        pa.array(np.asarray(indices, dtype=np.int32)), pa.array(list(values), pa.string())
    )


def _null_where(column: pa.ChunkedArray | pa.Array, mask: np.ndarray) -> pa.Array:
    values = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    if not mask.any():
        return values
    return pc.if_else(pa.array(~mask), values, pa.nulls(len(values), values.type))
