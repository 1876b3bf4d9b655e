"""Data-quality noise on real generated data: the labels recover the clean tables exactly,
the rates are the configured ones, and the clean dataset does not move."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from conftest import file_digests, small_config

import datasynth
from datasynth.config.models import NOISY_COLUMNS, NOISY_TABLES
from datasynth.generators.data_quality import as_text

ON = (
    "data_quality.enabled=true",
    "data_quality.tables=[journal_entries,vendors,customers,employees]",
)


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    base = tmp_path_factory.mktemp("quality")
    off, on = base / "off", base / "on"
    datasynth.generate(small_config(off, "runtime.scheduler=synchronous"))
    datasynth.generate(small_config(on, "runtime.scheduler=synchronous", *ON))
    return off, on


def recover(noisy: pa.Table, labels: pd.DataFrame) -> pa.Table:
    """The clean text table from the noisy one and its labels (the documented recipe)."""
    columns = {f: noisy[f].to_pylist() for f in noisy.column_names}
    for row in labels.itertuples():
        if row.issue_type == "duplicate" and not isinstance(row.field_name, str):
            continue
        columns[row.field_name][row.noisy_row] = row.original_value
    duplicates = set(labels.loc[labels["issue_type"] == "duplicate", "noisy_row"])
    keep = [i for i in range(noisy.num_rows) if i not in duplicates]
    return pa.table({f: pa.array([v[i] for i in keep], pa.string()) for f, v in columns.items()})


def test_labels_recover_every_clean_journal_block(runs: tuple[Path, Path]) -> None:
    on = runs[1]
    config = small_config(on, *ON)
    blocks = len(datasynth.plan(config).blocks)
    for index in (0, blocks // 2, blocks - 1):
        clean = as_text(datasynth.generate_block(config, "journal_entries", index))
        noisy = pq.read_table(on / "noisy" / "journal_entries" / f"part-{index:05d}.parquet")
        labels = pq.read_table(on / "labels" / "quality_labels" / f"part-{index:05d}.parquet")
        frame = labels.to_pandas()
        assert noisy.num_rows > clean.num_rows  # duplicates
        assert not noisy.equals(clean)
        assert recover(noisy, frame).equals(clean.combine_chunks())
        # every label points at its record: the key is never changed
        keys = noisy.take(pa.array(frame["noisy_row"].to_numpy()))
        assert keys["document_id"].to_pylist() == frame["record_id"].tolist()


@pytest.mark.parametrize("table", ["vendors", "customers", "employees"])
def test_labels_recover_clean_master_tables(runs: tuple[Path, Path], table: str) -> None:
    on = runs[1]
    clean = as_text(pq.read_table(on / "master_data" / f"{table}.parquet"))
    noisy = pq.read_table(on / "noisy" / f"{table}.parquet")
    labels = pq.read_table(on / "labels" / "quality_labels" / f"{table}.parquet").to_pandas()
    assert len(labels) > 0
    assert recover(noisy, labels).equals(clean.combine_chunks())


def test_rates_follow_the_configuration(runs: tuple[Path, Path]) -> None:
    on = runs[1]
    noisy = pq.read_table(on / "noisy" / "journal_entries")
    labels = pq.read_table(on / "labels" / "quality_labels", schema=None).to_pandas()
    labels = labels[labels["table_name"] == "journal_entries"]
    rows = noisy.num_rows
    share = labels.groupby(["issue_type", "field_name"], observed=True).size() / rows
    # missing completely at random: 1% of each field (where the field has a value)
    assert 0.004 < share["missing_value"]["created_at"] < 0.012
    # typos on the text field, formats of dates, amounts and identifiers
    assert 0.012 < share["typo"]["posting_template"] < 0.025
    assert 0.035 < share["format_variation"]["posting_date"] < 0.06
    assert 0.02 < share["format_variation"]["debit_amount"] < 0.04
    assert 0.01 < share["format_variation"]["created_by"] < 0.025
    duplicates = (labels["issue_type"] == "duplicate").sum() / rows
    assert 0.003 < duplicates < 0.008
    # missing at random: junior accountants' entries lose their document date far more often
    # (noisy_row counts within each block's file)
    junior, others = [], []
    for part in sorted((on / "noisy" / "journal_entries").glob("part-*.parquet")):
        persona = np.asarray(pq.read_table(part, columns=["user_persona"])["user_persona"])
        block = pq.read_table(on / "labels" / "quality_labels" / part.name).to_pandas()
        gone = block[
            (block["issue_type"] == "missing_value") & (block["field_name"] == "document_date")
        ]
        hit = np.zeros(persona.size, dtype=bool)
        hit[gone["noisy_row"].to_numpy()] = True
        junior.append(hit[persona == "junior_accountant"])
        others.append(hit[persona == "automated_system"])
    assert np.concatenate(junior).mean() > 3 * np.concatenate(others).mean()
    assert set(labels["subtype"]) >= {
        "null_value",
        "placeholder",
        "dependent_null",
        "substitution",
        "transposition",
        "date_us",
        "date_long",
        "amount_eu",
        "amount_us_comma",
        "id_lower_case",
        "exact_duplicate",
        "near_duplicate",
        "fuzzy_duplicate",
        "bom_issue",
    }


def test_the_clean_dataset_does_not_move(runs: tuple[Path, Path]) -> None:
    off, on = (file_digests(r) for r in runs)
    clean_on = {k: v for k, v in on.items() if not k.startswith(("noisy/", "labels/"))}
    assert clean_on == off


def test_noisy_cells_show_the_documented_variants(runs: tuple[Path, Path]) -> None:
    labels = pq.read_table(runs[1] / "labels" / "quality_labels").to_pandas()
    v = labels.set_index("subtype")["noisy_value"]
    assert v["date_eu_dot"].iloc[0].count(".") == 2
    assert pd.Series(v["amount_eu"]).str.contains(",").all()
    assert pd.Series(v["bom_issue"]).str.startswith("\ufeff").all()
    placeholders = set(pd.Series(v["placeholder"]))
    assert placeholders <= {"N/A", "NULL", "-"} and placeholders


def test_known_columns_match_the_schemas(runs: tuple[Path, Path]) -> None:
    on = runs[1]
    for table in NOISY_TABLES:
        if table == "journal_entries":
            names = pc.unique(
                pa.array(pq.read_schema(next((on / "noisy" / table).glob("*.parquet"))).names)
            )
        else:
            names = pa.array(pq.read_schema(on / "master_data" / f"{table}.parquet").names)
        assert set(names.to_pylist()) == set(NOISY_COLUMNS[table]), table
