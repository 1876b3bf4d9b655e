"""The chart of accounts: exact sizes, unique numbers, control roles, consistent types, names."""

from __future__ import annotations

from functools import cache
from typing import Any

import numpy as np
import pytest

from datasynth.config.models import BUSINESS_PROCESSES, INDUSTRIES
from datasynth.core.reference import load
from datasynth.generators.chart_of_accounts import SCHEMA, ChartOfAccounts, build_chart_of_accounts
from datasynth.generators.master import build_posting_model

COMPLEXITIES = {"small": 100, "medium": 400, "large": 2500}

REQUIRED_ROLES = (
    "cash",
    "bank",
    "ar",
    "ap",
    "inventory",
    "grir",
    "fixed_assets",
    "accumulated_depreciation",
    "input_vat",
    "output_vat",
    "revenue",
    "cogs",
    "price_differences",
    "cash_discount_received",
    "cash_discount_granted",
    "fx_gain",
    "fx_loss",
    "retained_earnings",
    "suspense",
)

ACCOUNT_TYPES = {"asset", "liability", "equity", "revenue", "expense"}


@cache
def chart(complexity: str, industry: str = "manufacturing") -> ChartOfAccounts:
    return build_chart_of_accounts(complexity, industry)


def rows(c: ChartOfAccounts) -> list[dict[str, Any]]:
    return c.table.to_pylist()


@pytest.mark.parametrize(("complexity", "size"), COMPLEXITIES.items())
@pytest.mark.parametrize("industry", INDUSTRIES)
def test_exact_size_and_unique_six_digit_numbers(complexity: str, size: int, industry: str) -> None:
    c = chart(complexity, industry)
    assert c.table.num_rows == size
    assert c.table.schema == SCHEMA
    numbers = c.table.column("account_number").to_pylist()
    assert list(c.numbers) == numbers
    assert len(set(numbers)) == size
    assert all(len(n) == 6 and n.isdigit() for n in numbers)
    assert c.requires_cost_center.shape == (size,)


@pytest.mark.parametrize("complexity", COMPLEXITIES)
def test_every_required_control_role_exists(complexity: str) -> None:
    c = chart(complexity)
    by_number = {r["account_number"]: r for r in rows(c)}
    for role in REQUIRED_ROLES:
        number = c.account(role)
        assert by_number[number]["control_role"] == role
        assert by_number[number]["is_control_account"] is True
        family = c.families[f"role:{role}"]
        assert family
        assert c.numbers[family[0]] == number  # the main account leads its family
        assert all(rows(c)[i]["control_role"] == role for i in family)
    with pytest.raises(KeyError, match="no control account"):
        c.account("no_such_role")


@pytest.mark.parametrize("complexity", COMPLEXITIES)
def test_control_flags_and_roles_agree(complexity: str) -> None:
    for r in rows(chart(complexity)):
        assert r["is_control_account"] == (r["control_role"] is not None)


@pytest.mark.parametrize("complexity", COMPLEXITIES)
def test_account_type_and_normal_balance_are_consistent(complexity: str) -> None:
    for r in rows(chart(complexity)):
        kind, balance, subtype = r["account_type"], r["normal_balance"], r["account_subtype"]
        assert kind in ACCOUNT_TYPES
        assert balance in {"debit", "credit"}
        if kind == "asset":
            # contra asset: accumulated depreciation carries a credit balance
            expected = "credit" if subtype == "accumulated_depreciation" else "debit"
        elif kind in {"liability", "equity"}:
            expected = "credit"
        elif kind == "revenue":
            # contra revenue: returns, discounts and rebates granted reduce sales on the debit side
            expected = "debit" if subtype == "sales_deductions" else "credit"
        else:
            expected = "debit"
        assert balance == expected, r


@pytest.mark.parametrize("complexity", COMPLEXITIES)
def test_hierarchy_is_consistent_with_numbers(complexity: str) -> None:
    c = chart(complexity)
    class_by_type = {"1": "asset", "2": "liability", "3": "equity", "4": "revenue", "5": "expense"}
    for r in rows(c):
        number = r["account_number"]
        assert r["account_class"] == number[0]
        assert r["account_group"] == number[:3]
        assert r["base_account"] == number[:4] + "00"
        if number[0] in class_by_type:
            assert r["account_type"] == class_by_type[number[0]]
        assert r["requires_cost_center"] == (number[0] == "6")
    assert all(r["account_name"] for r in rows(c))
    names = [r["account_name"] for r in rows(c)]
    assert len(set(names)) == len(names)  # variants are told apart by their names


@pytest.mark.parametrize("complexity", COMPLEXITIES)
def test_control_accounts_have_the_expected_type(complexity: str) -> None:
    by_role = {r["control_role"]: r for r in rows(chart(complexity)) if r["control_role"]}
    assert by_role["ar"]["account_type"] == "asset"
    assert by_role["ap"]["account_type"] == "liability"
    assert by_role["revenue"]["account_type"] == "revenue"
    assert by_role["cogs"]["account_type"] == "expense"
    assert by_role["retained_earnings"]["account_type"] == "equity"
    assert by_role["output_vat"]["normal_balance"] == "credit"
    assert by_role["input_vat"]["normal_balance"] == "debit"


def test_industry_names_differ() -> None:
    def revenue_names(industry: str) -> list[str]:
        c = chart("small", industry)
        return [rows(c)[i]["account_name"] for i in c.families["subtype:revenue"]]

    retail = revenue_names("retail")
    healthcare = revenue_names("healthcare")
    assert len(retail) == len(healthcare)
    assert set(retail).isdisjoint(healthcare)
    # the numbering does not depend on the industry, only the names do
    assert chart("medium", "retail").numbers == chart("medium", "healthcare").numbers


def test_charts_are_nested_by_complexity() -> None:
    """Every base account of the small chart is in the larger charts under the same number."""
    small = set(chart("small").numbers)
    medium = set(chart("medium").numbers)
    large = set(chart("large").numbers)
    bases = {n for n in small if n.endswith("00")}
    assert bases <= medium
    assert bases <= large


@pytest.mark.parametrize("complexity", COMPLEXITIES)
def test_posting_templates_only_reference_families_of_the_chart(complexity: str) -> None:
    c = chart(complexity)
    templates = load("chart_of_accounts")["posting_templates"]
    assert set(templates) == set(BUSINESS_PROCESSES)
    for process, items in templates.items():
        assert items, process
        for template in items:
            for side in ("debit", "credit"):
                assert template[side], (process, template["name"], side)
            replace = template.get("follow_on", {}).get("replace")
            for ref, share in [
                *template["debit"],
                *template["credit"],
                *(replace["accounts"] if replace else ()),
            ]:
                # "A - B - ...": the accounts of family A that are in none of B, ...
                family, *minus = (part.strip() for part in ref.split(" - "))
                for name in (family, *minus):
                    assert name in c.families, (process, template["name"], name)
                excluded = {a for m in minus for a in c.families[m]}
                assert set(c.families[family]) - excluded, ref
                assert share > 0

    model = build_posting_model(c)
    expected_templates = sum(len(items) for items in templates.values())
    assert len(model.template_names) == expected_templates
    assert model.groups == 2 * expected_templates
    for choices in (model.choices(g) for g in range(model.groups)):
        assert choices.size > 0
        assert choices.min() >= 0
        assert choices.max() < c.table.num_rows

    # a draw for every (template, side) group returns a valid position in its choices
    rng = np.random.default_rng(0)
    group = np.repeat(np.arange(model.groups), 50)
    picks = model.accounts.draw(rng, group)
    for g, k in zip(group, picks, strict=True):
        assert 0 <= k < model.choices(g).size


@pytest.mark.parametrize("complexity", COMPLEXITIES)
def test_posting_sides_use_sensible_accounts(complexity: str) -> None:
    """Customer invoices debit receivables and credit revenue or VAT; payments credit AR."""
    c = chart(complexity)
    model = build_posting_model(c)
    types = c.table.column("account_type").to_pylist()
    roles = c.table.column("control_role").to_pylist()
    index = model.template_names.index("O2C: Customer invoice")
    debit, credit = model.choices(2 * index), model.choices(2 * index + 1)
    assert {roles[i] for i in debit} == {"ar"}
    assert {types[i] for i in credit} <= {"revenue", "liability"}
