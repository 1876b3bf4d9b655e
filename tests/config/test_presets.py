"""Every preset really changes what it claims (guards against Hydra #3229-style silent no-ops).

A preset is ``conf/preset/NAME.yaml`` selected with ``+preset=NAME``. The tests compare the
validated configuration with the default one and with the preset's own YAML file.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml

from datasynth.config import DatasynthConfig, available_presets, conf_dir, load_config

INDUSTRY_PRESETS = ("manufacturing", "retail", "financial_services", "healthcare", "technology")
SIZE_PRESETS = ("small", "medium", "large")
PURPOSE_PRESETS = ("fraud_detection",)


@pytest.fixture(scope="module")
def default() -> DatasynthConfig:
    return load_config([])


@pytest.fixture(scope="module")
def presets() -> dict[str, DatasynthConfig]:
    return {name: load_config([f"+preset={name}"]) for name in available_presets()}


def _leaves(node: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    """(key path, value) for every value a YAML mapping sets; lists count as one value."""
    if isinstance(node, Mapping):
        for key, value in node.items():
            yield from _leaves(value, (*path, str(key)))
    else:
        yield path, node


def _at(plain: Mapping[str, Any], path: tuple[str, ...]) -> Any:
    node: Any = plain
    for part in path:
        node = node[part]
    return node


def _companies(config: DatasynthConfig) -> tuple[tuple[str, str, str, str], ...]:
    return tuple((c.code, c.name, c.currency, c.country) for c in config.companies)


def test_the_expected_presets_exist() -> None:
    assert set(available_presets()) == {
        "demo",
        *INDUSTRY_PRESETS,
        *SIZE_PRESETS,
        *PURPOSE_PRESETS,
    }


@pytest.mark.parametrize("name", available_presets())
def test_every_value_in_the_preset_file_is_applied(
    name: str, presets: dict[str, DatasynthConfig]
) -> None:
    spec = yaml.safe_load((conf_dir() / "preset" / f"{name}.yaml").read_text()) or {}
    plain = presets[name].to_plain()
    leaves = list(_leaves(spec))
    assert leaves or name == "demo", f"preset {name} sets nothing"
    for path, value in leaves:
        assert _at(plain, path) == value, f"+preset={name}: {'.'.join(path)} not applied"


@pytest.mark.parametrize("name", [n for n in available_presets() if n != "demo"])
def test_every_preset_but_demo_changes_the_default(
    name: str, presets: dict[str, DatasynthConfig], default: DatasynthConfig
) -> None:
    config = presets[name]
    assert config != default
    if name in PURPOSE_PRESETS:
        # purpose presets switch features on; size, companies and industry stay
        assert config.anomalies.enabled and not default.anomalies.enabled
        assert config.anomalies.categories["fraud"] > default.anomalies.categories["fraud"]
        assert _companies(config) == _companies(default)
        assert config.transactions == default.transactions
        return
    assert _companies(config) != _companies(default)
    if name in INDUSTRY_PRESETS:
        # industry presets flavour the data; they leave the size to the size presets
        assert config.transactions.business_processes != default.transactions.business_processes
        assert config.transactions.count == default.transactions.count
    else:
        assert config.transactions.count != default.transactions.count
        assert config.global_.period_months != default.global_.period_months


def test_demo_is_the_default(presets: dict[str, DatasynthConfig], default: DatasynthConfig) -> None:
    assert presets["demo"] == default
    assert presets["demo"].to_plain() == default.to_plain()


@pytest.mark.parametrize("name", INDUSTRY_PRESETS)
def test_industry_preset_sets_its_industry(name: str, presets: dict[str, DatasynthConfig]) -> None:
    config = presets[name]
    assert config.global_.industry == name
    assert config.transactions.amounts != presets["demo"].transactions.amounts


def test_industry_presets_have_their_own_companies_and_process_mix(
    presets: dict[str, DatasynthConfig], default: DatasynthConfig
) -> None:
    companies = {name: _companies(presets[name]) for name in INDUSTRY_PRESETS}
    names = {name: frozenset(c[1] for c in companies[name]) for name in INDUSTRY_PRESETS}
    mixes = {name: presets[name].transactions.business_processes for name in INDUSTRY_PRESETS}
    assert len(set(companies.values())) == len(INDUSTRY_PRESETS)
    for a in INDUSTRY_PRESETS:
        for b in INDUSTRY_PRESETS:
            if a < b:
                assert not names[a] & names[b], f"{a} and {b} share company names"
                assert mixes[a] != mixes[b], f"{a} and {b} have the same business_processes"
        assert mixes[a] != default.transactions.business_processes
        assert abs(sum(mixes[a].values()) - 1.0) < 1e-9


def test_industry_presets_put_weight_where_they_say(presets: dict[str, DatasynthConfig]) -> None:
    def top(name: str) -> str:
        mix = presets[name].transactions.business_processes
        return max(mix, key=lambda k: mix[k])

    assert top("retail") == "O2C"
    assert top("manufacturing") == "P2P"
    assert top("financial_services") == "R2R"
    assert presets["healthcare"].transactions.business_processes["H2R"] == 0.15
    assert presets["technology"].transactions.business_processes["O2C"] == 0.40


def test_size_presets_grow(presets: dict[str, DatasynthConfig], default: DatasynthConfig) -> None:
    small, medium, large = (presets[n] for n in SIZE_PRESETS)
    counts = [c.transactions.count for c in (small, medium, large)]
    assert counts == [400_000, 4_000_000, 200_000_000]
    # the large presets leave the event log to `datasynth ocel` (millions of events)
    assert [c.document_flows.ocel.enabled for c in (small, medium, large)] == [True, False, False]
    assert [c.chart_of_accounts.complexity for c in (small, medium, large)] == [
        "small",
        "medium",
        "large",
    ]
    assert [c.global_.period_months for c in (small, medium, large)] == [12, 24, 36]
    assert [len(c.companies) for c in (small, medium, large)] == [3, 3, 6]
    for config in (small, medium, large):
        # size presets keep the default industry and its transaction shape
        assert config.global_.industry == default.global_.industry
        assert config.transactions.business_processes == default.transactions.business_processes
    assert large.runtime.scheduler == "distributed"
    assert large.runtime.block_rows == 2_000_000


def test_two_presets_combine_and_the_later_one_wins(
    presets: dict[str, DatasynthConfig],
) -> None:
    both = load_config(["+preset=[large,retail]"])
    retail, large = presets["retail"], presets["large"]
    # retail's flavour: industry, companies, process mix, amounts
    assert _companies(both) == _companies(retail)
    assert both.global_.industry == "retail"
    assert both.transactions.business_processes == retail.transactions.business_processes
    assert both.transactions.amounts == retail.transactions.amounts
    # large's size survives, because retail does not set it
    assert both.transactions.count == large.transactions.count == 200_000_000
    assert both.chart_of_accounts.complexity == "large"
    assert both.global_.period_months == 36
    assert both.runtime.scheduler == large.runtime.scheduler == "distributed"
    assert both.runtime.block_rows == large.runtime.block_rows

    reversed_order = load_config(["+preset=[retail,large]"])
    assert _companies(reversed_order) == _companies(large)  # the later preset's list wins
    assert reversed_order.transactions.count == large.transactions.count
    assert reversed_order.global_.industry == "retail"  # large does not set an industry


def test_an_override_beats_the_preset() -> None:
    config = load_config(["+preset=small", "transactions.count=7"])
    assert config.transactions.count == 7
    assert config.global_.period_months == 12  # the rest of the preset still applies
    assert len(config.companies) == 3
    # the order on the command line does not matter
    assert load_config(["transactions.count=7", "+preset=small"]) == config


def test_an_override_into_preset_companies_applies() -> None:
    config = load_config(["+preset=retail", "companies.1.volume_weight=0.25"])
    assert config.companies[1].name == "Harbor Retail UK Ltd"
    assert config.companies[1].volume_weight == 0.25


def test_a_preset_applies_on_top_of_a_config_file(tmp_path: Path) -> None:
    path = tmp_path / "mine.yaml"
    path.write_text((conf_dir() / "config.yaml").read_text().replace("seed: 42", "seed: 7"))
    config = load_config(["+preset=healthcare"], path)
    assert config.global_.seed == 7
    assert config.global_.industry == "healthcare"
    assert config.companies[0].name == "Cedar Health System Inc."


def test_a_purpose_preset_combines_with_size_and_industry() -> None:
    config = load_config(["+preset=[medium,retail,fraud_detection]"])
    medium = load_config(["+preset=medium"])
    assert config.anomalies.enabled and config.anomalies.rate == 0.03
    assert config.transactions.count == medium.transactions.count
    assert config.global_.industry == "retail"
