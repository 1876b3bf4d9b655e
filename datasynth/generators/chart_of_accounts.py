"""The chart of accounts: one account plan, sized by complexity, named for the industry.

A template of about 100 base accounts (``datasynth/data/chart_of_accounts.json``) is expanded
into variants (by bank, region, product line, department, site or entity) until the plan holds
exactly 100, 400 or 2,500 postable accounts. Every account has a 6-digit number
``GGG`` (group) + base digit + 2-digit variant, a type, a normal balance and a class/group
hierarchy. Control accounts carry a ``control_role`` that later stages post to by name.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa

from datasynth.core.reference import load

SCHEMA = pa.schema(
    [
        pa.field("account_number", pa.string(), nullable=False),
        pa.field("account_name", pa.string(), nullable=False),
        pa.field("account_type", pa.string(), nullable=False),
        pa.field("account_subtype", pa.string(), nullable=False),
        pa.field("normal_balance", pa.string(), nullable=False),
        pa.field("account_class", pa.string(), nullable=False),
        pa.field("class_name", pa.string(), nullable=False),
        pa.field("account_group", pa.string(), nullable=False),
        pa.field("group_name", pa.string(), nullable=False),
        pa.field("base_account", pa.string(), nullable=False),
        pa.field("is_control_account", pa.bool_(), nullable=False),
        pa.field("control_role", pa.string()),
        pa.field("requires_cost_center", pa.bool_(), nullable=False),
    ]
)


@dataclass(frozen=True)
class ChartOfAccounts:
    """The account plan as a table plus the lookups that postings need."""

    table: pa.Table
    numbers: tuple[str, ...]
    #: account index sets: ``"role:ar"`` -> indices of the AR account family, ``"subtype:x"`` -> ...
    families: dict[str, tuple[int, ...]]
    #: control role -> account number of the family's first (main) account
    control_accounts: dict[str, str]
    requires_cost_center: np.ndarray

    def family_mask(self, key: str) -> np.ndarray:
        """Boolean mask over the accounts of a family such as ``"role:ap"``."""
        mask = np.zeros(len(self.numbers), dtype=bool)
        mask[list(self.families.get(key, ()))] = True
        return mask

    def account(self, role: str) -> str:
        """The main account number of a control role, e.g. ``account("ar")``."""
        try:
            return self.control_accounts[role]
        except KeyError:
            raise KeyError(f"no control account with role {role!r}") from None


def _variant_counts(groups: list[dict[str, Any]], target: int) -> list[int]:
    accounts = [a for g in groups for a in g["accounts"]]
    expandable = [i for i, a in enumerate(accounts) if a["expandable"]]
    fixed = len(accounts) - len(expandable)
    extra_total = max(target - fixed - len(expandable), 0)
    per, rest = divmod(extra_total, len(expandable))
    counts = [1] * len(accounts)
    for rank, i in enumerate(expandable):
        counts[i] = 1 + per + (1 if rank < rest else 0)
    if max(counts) > 100:
        raise ValueError(
            f"chart of accounts target {target} needs more than 100 variants per account"
        )
    return counts


def _qualifier(data: dict[str, Any], dimension: str, industry: str, v: int) -> str:
    """The name suffix of variant ``v`` (1-based) along ``dimension``, combining two lists when long."""
    names = data["qualifiers"][dimension]
    if isinstance(names, dict):
        names = names[industry]
    second = data["qualifiers"]["region"] if dimension != "region" else data["qualifiers"]["site"]
    first = names[(v - 1) % len(names)]
    round_ = (v - 1) // len(names)
    return first if round_ == 0 else f"{first} / {second[(round_ - 1) % len(second)]}"


def build_chart_of_accounts(complexity: str, industry: str) -> ChartOfAccounts:
    """The account plan for ``complexity`` (small, medium, large) and ``industry``."""
    data = load("chart_of_accounts")
    target = int(data["targets"][complexity])
    groups: list[dict[str, Any]] = data["groups"]
    counts = _variant_counts(groups, target)
    cols: dict[str, list[Any]] = {f.name: [] for f in SCHEMA}
    families: dict[str, list[int]] = {}
    control: dict[str, str] = {}
    k = 0
    for group in groups:
        prefix = group["prefix"]
        for j, acct in enumerate(group["accounts"]):
            base_name = acct["industry_names"].get(industry, acct["name"])
            base_number = f"{prefix}{j}00"
            for v in range(counts[k]):
                name = (
                    base_name
                    if v == 0
                    else f"{base_name} - {_qualifier(data, group['qualifier'], industry, v)}"
                )
                index = len(cols["account_number"])
                cols["account_number"].append(f"{prefix}{j}{v:02d}")
                cols["account_name"].append(name)
                cols["account_type"].append(group["account_type"])
                cols["account_subtype"].append(acct["subtype"])
                cols["normal_balance"].append(group["normal_balance"])
                cols["account_class"].append(prefix[0])
                cols["class_name"].append(data["classes"][prefix[0]])
                cols["account_group"].append(prefix)
                cols["group_name"].append(group["name"])
                cols["base_account"].append(base_number)
                cols["is_control_account"].append(acct["role"] is not None)
                cols["control_role"].append(acct["role"])
                cols["requires_cost_center"].append(prefix[0] == "6")
                families.setdefault(f"subtype:{acct['subtype']}", []).append(index)
                if acct["role"]:
                    families.setdefault(f"role:{acct['role']}", []).append(index)
                    control.setdefault(acct["role"], base_number)
            k += 1
    table = pa.table(cols, schema=SCHEMA)
    return ChartOfAccounts(
        table=table,
        numbers=tuple(cols["account_number"]),
        families={key: tuple(v) for key, v in families.items()},
        control_accounts=control,
        requires_cost_center=np.asarray(cols["requires_cost_center"], dtype=bool),
    )
