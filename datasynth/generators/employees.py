"""Employees of every company with job level, department, cost center, manager and approval limit.

Levels follow the reference mix (staff 50%, senior 25%, manager 12%, director 8%, VP 4%,
executive 1%) with approval limits 1K / 5K / 25K / 100K / 500K / 10M in the group currency
scaled to the company's. Employee 1 is the chief executive; everyone else reports to someone of
a higher level in the same department, or to the chief executive where the department has none.
The hierarchy is built per (department, level) group, never per row.
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

EMPLOYEE_SCHEMA = pa.schema(
    [
        pa.field("employee_id", pa.string(), nullable=False),
        pa.field("company_code", pa.string(), nullable=False),
        pa.field("first_name", pa.string(), nullable=False),
        pa.field("last_name", pa.string(), nullable=False),
        pa.field("email", pa.string(), nullable=False),
        pa.field("job_level", pa.string(), nullable=False),
        pa.field("job_title", pa.string(), nullable=False),
        pa.field("department", pa.string(), nullable=False),
        pa.field("cost_center", pa.string(), nullable=False),
        pa.field("manager_id", pa.string()),
        pa.field("approval_limit", AMOUNT_TYPE, nullable=False),
        pa.field("hire_date", pa.date32(), nullable=False),
    ]
)
_TITLES = {
    "staff": "Specialist",
    "senior": "Senior Specialist",
    "manager": "Manager",
    "director": "Director",
    "vice_president": "Vice President",
    "executive": "Chief Officer",
}


def employee_ids(company_code: str, index: np.ndarray) -> pa.Array:
    return fixed_width_strings(f"EMP-{company_code}-", np.asarray(index) + 1, 6)


def managers(level: np.ndarray, department: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Manager index per employee (-1 for employee 0, the chief executive)."""
    n = level.size
    manager = np.zeros(n, dtype=np.int64)
    manager[0] = -1
    for d in np.unique(department):
        in_dept = department == d
        for lv in np.unique(level[in_dept]):
            rows = np.flatnonzero(in_dept & (level == lv))
            rows = rows[rows != 0]
            above = np.flatnonzero(in_dept & (level > lv))
            above = above[above != 0] if above.size > 1 else above
            if rows.size and above.size:
                # prefer the nearest level above: candidates of the lowest higher level
                nearest = above[level[above] == level[above].min()]
                manager[rows] = nearest[rng.integers(0, nearest.size, rows.size)]
    return manager


def generate_employees(
    config: DatasynthConfig,
    company_index: int,
    amount_scale: float,
    departments: tuple[tuple[str, str, float], ...],
) -> pa.Table:
    """The employees of one company (``master_data.employees`` rows)."""
    company = config.companies[company_index]
    n = config.master_data.employees
    rng = stream(config.global_.seed, "employees", company.code)
    names = load("names")
    levels = load("partners")["job_levels"]
    level = dist.draw(rng, dist.cdf([lv[1] for lv in levels]), n)
    level[0] = len(levels) - 1  # the chief executive
    department = dist.draw(rng, dist.cdf([d[2] for d in departments]), n)
    department[0] = next(i for i, d in enumerate(departments) if d[0] == "EXEC")
    manager = managers(level, department, rng)
    first = rng.integers(0, len(names["first_names"]), n)
    last = rng.integers(0, len(names["last_names"]), n)
    first_names = vocab.pick(names["first_names"], first)
    last_names = vocab.pick(names["last_names"], last)
    ids = employee_ids(company.code, np.arange(n))
    domain = f"@{company.code.lower()}.example.com"
    number = pa.array(np.char.mod("%d", np.arange(1, n + 1)))
    email = vocab.join(
        [vocab.join([first_names, last_names], "."), vocab.join([number, domain], "")], "."
    )
    limits = np.array([lv[2] for lv in levels], dtype=np.float64)[level] * amount_scale
    start = np.datetime64(config.global_.start_date, "D").astype(np.int64)
    hired = start - 1 - (rng.exponential(6.0, n) * 365.25).astype(np.int64)
    dept_names = [d[1] for d in departments]
    level_names = [lv[0] for lv in levels]
    titles = vocab.join(
        [vocab.pick([_TITLES[x] for x in level_names], level), vocab.pick(dept_names, department)],
        ", ",
    )
    manager_ids = ids.take(pa.array(np.where(manager < 0, 0, manager)))
    columns = {
        "employee_id": ids,
        "company_code": pa.array(np.full(n, company.code)),
        "first_name": first_names,
        "last_name": last_names,
        "email": pc.utf8_lower(email),
        "job_level": vocab.pick(level_names, level),
        "job_title": titles,
        "department": vocab.pick(dept_names, department),
        "cost_center": vocab.pick([f"CC-{company.code}-{d[0]}" for d in departments], department),
        "manager_id": pc.if_else(pa.array(manager < 0), pa.nulls(n, pa.string()), manager_ids),
        "approval_limit": decimal_from_minor(np.rint(limits).astype(np.int64) * 100),
        "hire_date": pa.array(hired.astype(np.int32), pa.date32()),
    }
    return pa.table({f.name: columns[f.name] for f in EMPLOYEE_SCHEMA}, schema=EMPLOYEE_SCHEMA)
