"""Bad configurations fail early with a message that names the key, the value and what is allowed.

Every case goes through the public entry points (``load_config`` and ``prepare_output``); a few
also go through the real command line, which must exit with status 2 and write nothing.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import run_cli

from datasynth.config import ConfigError, DatasynthConfig, load_config
from datasynth.runtime.output import prepare_output


@dataclass(frozen=True)
class Bad:
    """A bad configuration and what its one problem message must say."""

    overrides: tuple[str, ...]
    key: str  # the message starts with "<key>: "
    says: tuple[str, ...]  # further substrings: the bad value, what is allowed, the hint
    yaml: str | None = None  # a config file (passed as config_file) instead of conf/config.yaml


CASES: dict[str, Bad] = {
    "typo-key-suggests-count": Bad(
        ("transactions.cont=5",),
        "transactions.cont",
        ("unknown key", "did you mean 'transactions.count'?", "allowed here: count, annual_volume"),
    ),
    "unknown-section-in-config-file": Bad(
        (),
        "transaction",
        (
            "unknown key",
            "{'count': 5}",
            "did you mean 'transactions'?",
            "allowed here: global, companies, chart_of_accounts, master_data, transactions, document_flows, balances, anomalies, data_quality, graph_export, report, output, runtime",
        ),
        yaml="transaction:\n  count: 5\n",
    ),
    "anomaly-rate-above-one": Bad(
        ("anomalies.rate=1.5",),
        "anomalies.rate",
        ("less than or equal to 1", "(got 1.5)"),
    ),
    "anomaly-rate-negative": Bad(
        ("anomalies.rate=-0.1",),
        "anomalies.rate",
        ("greater than or equal to 0", "(got -0.1)"),
    ),
    "anomaly-categories-do-not-sum-to-one": Bad(
        ("anomalies.categories.fraud=0.5",),
        "anomalies.categories",
        ("must sum to 1 but sum to 1.25",),
    ),
    "unknown-anomaly-type": Bad(
        ("+anomalies.types.self_aproval=2",),
        "anomalies.types",
        ("unknown anomaly types 'self_aproval'", "did you mean 'self_approval'?", "known types:"),
    ),
    "anomaly-category-without-types": Bad(
        (
            "anomalies.categories={fraud: 0.0, error: 0.35, process: 0.2, statistical: 0.15,"
            " relational: 0.3}",
            "anomalies.types.unusual_account_pair=0",
            "anomalies.types.dormant_account=0",
            "anomalies.types.new_counterparty=0",
        ),
        "anomalies",
        ("categories.relational is 0.3 but every relational type has weight 0",),
    ),
    "data-quality-unknown-text-field": Bad(
        ("data_quality.text_fields.vendors=[vendor_nam]",),
        "data_quality",
        ("vendors has no field 'vendor_nam'", "did you mean 'vendor_name'?", "its fields:"),
    ),
    "data-quality-key-as-text-field": Bad(
        ("data_quality.text_fields.vendors=[vendor_id]",),
        "data_quality",
        ("'vendor_id' is a key of vendors and never changes",),
    ),
    "data-quality-unknown-table": Bad(
        ("data_quality.tables=[journal_entries,invoices]",),
        "data_quality.tables[1]",
        ("'journal_entries'", "(got 'invoices')"),
    ),
    "data-quality-duplicate-mix": Bad(
        ("data_quality.duplicate_mix.exact=0.9",),
        "data_quality.duplicate_mix",
        ("must sum to 1",),
    ),
    "graph-export-unknown-format": Bad(
        ("graph_export.formats=[pyg,gremlin]",),
        "graph_export.formats[1]",
        ("'pyg'", "'neo4j'", "(got 'gremlin')"),
    ),
    "graph-export-no-graphs": Bad(
        ("graph_export.graphs=[]",),
        "graph_export.graphs",
        ("name at least one of entity, transaction, approval",),
    ),
    "graph-export-split-leaves-no-test": Bad(
        ("graph_export.split.train=0.9",),
        "graph_export.split",
        ("train + val (1.05) < 1, leaving a test share",),
    ),
    "report-threshold-out-of-range": Bad(
        ("report.thresholds.amount_ks=2",),
        "report.thresholds.amount_ks",
        ("less than or equal to 1", "(got 2)"),
    ),
    "unknown-section-override": Bad(
        ("globl.seed=1",),
        "globl",
        ("unknown key", "did you mean 'global'?", "allowed here: global, companies"),
    ),
    "wrong-type-count": Bad(
        ("transactions.count=abc",),
        "transactions.count",
        ("valid integer", "(got 'abc')"),
    ),
    "negative-count": Bad(
        ("transactions.count=-1",),
        "transactions.count",
        ("greater than or equal to 0", "(got -1)"),
    ),
    "probability-above-one": Bad(
        ("transactions.working_hours.human_after_hours=1.5",),
        "transactions.working_hours.human_after_hours",
        ("less than or equal to 1", "(got 1.5)"),
    ),
    "benford-exempt-unknown-source": Bad(
        ("transactions.benford.exempt_sources=[bogus]",),
        "transactions.benford.exempt_sources[0]",
        ("must be one of 'manual', 'automated', 'recurring' or 'adjustment'", "(got 'bogus')"),
    ),
    "amounts-max-below-min": Bad(
        ("transactions.amounts.min=5", "transactions.amounts.max=1"),
        "transactions.amounts.max",
        ("must be greater than min (5.0)", "(got 1)"),
    ),
    "sources-do-not-sum-to-one": Bad(
        ("transactions.sources.manual=0.5",),
        "transactions.sources",
        ("must sum to 1", "sum to 1.3;", "'manual': 0.5"),
    ),
    "sources-unknown-name": Bad(
        ("+transactions.sources.bogus=0.1",),
        "transactions.sources.bogus",
        ("must be one of 'manual', 'automated', 'recurring' or 'adjustment'", "(got 'bogus')"),
    ),
    "business-processes-do-not-sum-to-one": Bad(
        ("transactions.business_processes.O2C=0.9",),
        "transactions.business_processes",
        ("must sum to 1", "sum to 1.55;", "'O2C': 0.9"),
    ),
    "personas-do-not-sum-to-one": Bad(
        ("transactions.personas.manager=0.9",),
        "transactions.personas",
        ("must sum to 1", "sum to 1.75;", "'manager': 0.9"),
    ),
    "line-counts-do-not-sum-to-one": Bad(
        ("transactions.line_counts.2=0.9",),
        "transactions.line_counts",
        ("must sum to 1", "sum to 1.2932;"),
    ),
    "debit-credit-split-does-not-sum-to-one": Bad(
        ("transactions.debit_credit_split.equal=0.5",),
        "transactions.debit_credit_split",
        ("must sum to 1", "sum to 0.68;", "'equal': 0.5"),
    ),
    "document-types-adjustment-does-not-sum-to-one": Bad(
        ("transactions.document_types.adjustment.AB=0.9",),
        "transactions.document_types.adjustment",
        ("must sum to 1", "sum to 1.3;", "'AB': 0.9"),
    ),
    "document-types-unknown-source": Bad(
        ("+transactions.document_types.manaul={SA: 1.0}",),
        "transactions.document_types.manaul",
        ("manual",),
    ),
    "unknown-country": Bad(
        ("companies.0.country=XX",),
        "companies[0].country",
        ("no public-holiday calendar", "'XX'"),
    ),
    "line-bucket-below-two": Bad(
        ("+transactions.line_counts.1=0.1",),
        "transactions.line_counts",
        ("bucket '1'", "within 2..9999"),
    ),
    "line-bucket-malformed": Bad(
        ("+transactions.line_counts.abc=0.0",),
        "transactions.line_counts",
        ("bucket 'abc'", "a number like '2' or a range '10-99'"),
    ),
    "line-buckets-overlap": Bad(
        ("+transactions.line_counts.10=0.0",),
        "transactions.line_counts",
        ("'10' and '10-99' overlap", "disjoint"),
    ),
    "line-buckets-overlap-in-config-file": Bad(
        (),
        "transactions.line_counts",
        ("'2' and '2-3' overlap", "disjoint"),
        yaml='transactions:\n  line_counts: {"2": 0.5, "2-3": 0.5}\n',
    ),
    "append-existing-line-bucket": Bad(
        ("+transactions.line_counts.9=0.0",),
        "transactions.line_counts.9",
        ("already exists", "drop the '+'"),
    ),
    "end-date-before-start-date": Bad(
        ("global.end_date=2023-01-01",),
        "global.end_date",
        ("2023-01-01 is before start_date 2024-01-01", "(got '2023-01-01')"),
    ),
    "unknown-preset-suggests-large": Bad(
        ("+preset=lage",),
        "preset",
        (
            "unknown preset 'lage'",
            "did you mean 'large'?",
            "available presets: demo, financial_services, fraud_detection, healthcare, large",
        ),
    ),
    "lower-case-group-currency": Bad(
        ("global.group_currency=usd",),
        "global.group_currency",
        ("3-letter upper-case ISO 4217 code", "(got 'usd')"),
    ),
    "lower-case-company-country": Bad(
        ("companies.0.country=usa",),
        "companies[0].country",
        ("[A-Z]{2}", "(got 'usa')"),
    ),
    "unknown-industry": Bad(
        ("global.industry=mining",),
        "global.industry",
        ("must be one of 'manufacturing', 'retail'", "(got 'mining')"),
    ),
    "duplicate-company-codes-in-config-file": Bad(
        (),
        "companies",
        ("company codes must be unique", "repeated: ['1000']"),
        yaml=(
            "companies:\n"
            '  - {code: "1000", name: Alpha Inc., currency: USD, country: US}\n'
            '  - {code: "1000", name: Beta GmbH, currency: EUR, country: DE}\n'
        ),
    ),
    "valid-key-left-out-of-config-file": Bad(
        ("output.format=csv",),
        "output.format",
        ("no 'output'", "add it with '+output.format=VALUE'"),
        yaml='companies:\n  - {code: "1000", name: Alpha Inc.}\n',
    ),
    "period-months-zero": Bad(
        ("global.period_months=0",),
        "global.period_months",
        ("greater than or equal to 1", "(got 0)"),
    ),
    "period-months-121": Bad(
        ("global.period_months=121",),
        "global.period_months",
        ("less than or equal to 120", "(got 121)"),
    ),
    "unknown-scheduler": Bad(
        ("runtime.scheduler=thread",),
        "runtime.scheduler",
        (
            "must be one of 'synchronous', 'threads', 'processes' or 'distributed'",
            "(got 'thread')",
        ),
    ),
    "unknown-output-format": Bad(
        ("output.format=xml",),
        "output.format",
        ("must be one of 'parquet', 'csv' or 'jsonl'", "(got 'xml')"),
    ),
    "cluster-without-scheme": Bad(
        ("runtime.cluster=localhost:8786",),
        "runtime.cluster",
        ("Dask scheduler address like tcp://host:8786", "(got 'localhost:8786')"),
    ),
    "overwrite-and-resume": Bad(
        ("output.overwrite=true", "output.resume=true"),
        "output.resume",
        ("output.overwrite", "at most one", "(got True)"),
    ),
    "csv-with-snappy": Bad(
        ("output.format=csv", "output.compression=snappy"),
        "output.compression",
        ("'snappy' is a Parquet codec", "use one of auto, none, gzip, zstd", "(got 'snappy')"),
    ),
}


def _load(case: Bad, tmp_path: Path) -> ConfigError:
    config_file = None
    if case.yaml is not None:
        config_file = tmp_path / "bad.yaml"
        config_file.write_text(case.yaml)
    with pytest.raises(ConfigError) as info:
        load_config(list(case.overrides), config_file)
    return info.value


def test_there_are_enough_cases() -> None:
    assert len(CASES) >= 18


@pytest.mark.parametrize("name", list(CASES))
def test_bad_configuration_is_explained(name: str, tmp_path: Path) -> None:
    case = CASES[name]
    error = _load(case, tmp_path)
    assert len(error.problems) == 1, error.problems
    message = error.problems[0]
    assert message.startswith(f"{case.key}: "), message
    for text in case.says:
        assert text in message, f"{text!r} not in {message!r}"
    assert str(error) == message


# ---- output directories (checked by prepare_output, before anything is written) ------------


def _config_for(out: Path, *overrides: str) -> DatasynthConfig:
    return load_config([f"output.dir={out}", *overrides])


def test_output_dir_with_complete_run_is_refused(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "manifest.json").write_text("{}")
    with pytest.raises(ConfigError) as info:
        prepare_output(_config_for(out))
    (message,) = info.value.problems
    assert message.startswith("output.dir: ")
    assert repr(str(out)) in message
    assert "already holds a complete run (manifest.json)" in message
    assert "set output.overwrite=true" in message
    assert sorted(p.name for p in out.iterdir()) == ["manifest.json"]


def test_output_dir_under_a_file_is_refused(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("x")
    out = blocker / "out"
    with pytest.raises(ConfigError) as info:
        prepare_output(_config_for(out))
    (message,) = info.value.problems
    assert message.startswith("output.dir: ")
    assert repr(str(out)) in message
    assert f"{str(blocker)!r} is a file, not a directory" in message
    assert blocker.read_text() == "x"


def test_output_dir_that_is_a_file_is_refused(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.write_text("x")
    with pytest.raises(ConfigError) as info:
        prepare_output(_config_for(out))
    (message,) = info.value.problems
    assert message.startswith("output.dir: ")
    assert f"{str(out)!r} exists and is not a directory" in message


def test_output_dir_without_write_permission_is_refused(tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        if os.access(locked, os.W_OK):
            pytest.skip("running as root: a 0o500 directory is still writable")
        out = locked / "out"
        with pytest.raises(ConfigError) as info:
            prepare_output(_config_for(out))
        (message,) = info.value.problems
        assert message.startswith("output.dir: ")
        assert f"{str(out)!r} is not writable" in message
        assert "choose another output.dir" in message
        assert not out.exists()
    finally:
        locked.chmod(0o700)


# ---- the real command line ------------------------------------------------------------------

CLI_CASES = [
    "typo-key-suggests-count",
    "unknown-preset-suggests-large",
    "sources-do-not-sum-to-one",
    "csv-with-snappy",
    "duplicate-company-codes-in-config-file",
]


@pytest.mark.parametrize("name", CLI_CASES)
def test_cli_exits_2_and_writes_nothing(name: str, tmp_path: Path) -> None:
    case = CASES[name]
    out = tmp_path / "out"
    args = [*case.overrides, f"output.dir={out}"]
    if case.yaml is not None:  # the file may leave `output` out: '++' adds or overrides
        (tmp_path / "bad.yaml").write_text(case.yaml)
        args = ["generate", "-c", "bad.yaml", *case.overrides, f"++output.dir={out}"]
    before = sorted(p.name for p in tmp_path.iterdir())
    proc = run_cli(args, cwd=tmp_path, timeout=60)
    assert proc.returncode == 2, proc.stderr
    assert "datasynth: invalid configuration:" in proc.stderr
    assert f"  - {case.key}: " in proc.stderr
    for text in case.says:
        assert text in proc.stderr
    assert "Traceback" not in proc.stderr
    assert proc.stdout == ""
    assert not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # no outputs/ or .hydra either


def test_cli_refuses_opening_balances_that_overflow_before_writing(tmp_path: Path) -> None:
    # 90 trillion dollars in rupiah (about 15,000 a dollar) pass decimal(18, 2); the run says so
    # before it writes anything, naming the company and the largest total that fits
    out = tmp_path / "out"
    args = [
        f"output.dir={out}",
        "companies.1.currency=IDR",
        "balances.opening.total_assets=9e13",
        "runtime.scheduler=synchronous",
    ]
    proc = run_cli(args, cwd=tmp_path, timeout=120)
    assert proc.returncode == 2, proc.stderr
    assert "  - balances.opening.total_assets: " in proc.stderr
    assert "company 2000 (90,000,000,000,000 USD given)" in proc.stderr
    assert "set a total_assets below" in proc.stderr
    assert "company 1000" not in proc.stderr  # USD: fits
    assert "Traceback" not in proc.stderr
    assert not out.exists()
    # the bound it names is the largest that runs
    bound = float(proc.stderr.split("set a total_assets below ")[1].split()[0].replace(",", ""))
    ok = run_cli(
        [
            *args[:2],
            f"balances.opening.total_assets={bound:.0f}",
            *args[3:],
            "transactions.count=500",
            "global.period_months=1",
        ],
        cwd=tmp_path,
        timeout=300,
    )
    assert ok.returncode == 0, ok.stderr


def test_cli_refuses_a_complete_run_with_exit_2(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "manifest.json").write_text("{}")
    proc = run_cli(["generate", f"output.dir={out}", "runtime.scheduler=synchronous"], tmp_path, 60)
    assert proc.returncode == 2, proc.stderr
    assert "output.dir: " in proc.stderr
    assert "already holds a complete run" in proc.stderr
    assert sorted(p.name for p in out.iterdir()) == ["manifest.json"]


@pytest.mark.parametrize(
    ("override", "key", "expected"),
    [
        ("master_data.vendors=0", "master_data.vendors", "greater than or equal to 1"),
        (
            "+master_data.vendor_payment_terms.net7=0.1",
            "master_data.vendor_payment_terms",
            "unknown payment terms ['net7']",
        ),
        ("master_data.credit_ratings.AAA=0.5", "master_data.credit_ratings", "must sum to 1"),
        ("master_data.activity_skew=-1", "master_data.activity_skew", "greater than or equal to 0"),
    ],
)
def test_master_data_errors_name_the_key(override: str, key: str, expected: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_config([override])
    message = "\n".join(info.value.problems)
    assert message.startswith(f"{key}: ")
    assert expected in message


@pytest.mark.parametrize(
    ("overrides", "key", "expected"),
    [
        (
            ["document_flows.p2p.partial_delivery_rate=1.5"],
            "document_flows.p2p.partial_delivery_rate",
            "less than or equal to 1",
        ),
        (
            ["document_flows.o2c.bad_debt_rate=0.6", "document_flows.o2c.partial_payment_rate=0.5"],
            "document_flows.o2c",
            "partial_payment_rate + short_payment_rate + bad_debt_rate + on_account_rate must be at most 1",
        ),
        (
            ["+document_flows.p2p.payment_methods.cash=0.1"],
            "document_flows.p2p.payment_methods",
            "unknown payment methods ['cash']",
        ),
        (
            ["document_flows.o2c.items_per_order={1: 0.5, 2: 0.4}"],
            "document_flows.o2c.items_per_order",
            "must sum to 1",
        ),
        (
            ["~document_flows.p2p.items_per_order", "+document_flows.p2p.items_per_order={0: 1.0}"],
            "document_flows.p2p.items_per_order",
            "item counts [0] must lie within 1..50",
        ),
        (
            ["document_flows.ocel.formats=[]"],
            "document_flows.ocel.formats",
            "name at least one of json, sqlite",
        ),
        (
            ["document_flows.ocel.formats=[xml]"],
            "document_flows.ocel.formats",
            "'json' or 'sqlite'",
        ),
        (
            ["document_flows.p2p.days_to_receipt=-1"],
            "document_flows.p2p.days_to_receipt",
            "greater than or equal to 0",
        ),
    ],
)
def test_document_flow_errors_name_the_key(overrides: list[str], key: str, expected: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(overrides)
    message = "\n".join(info.value.problems)
    assert message.startswith(f"{key}"), message
    assert expected in message, message
