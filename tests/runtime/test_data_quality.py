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
    # amounts: 3% of the cells draw a format; a variant equal to the original (a 0.00 debit, an
    # amount under 1,000 in the plain or US form) is no change, so fewer show up
    assert 0.015 < share["format_variation"]["debit_amount"] < 0.035
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


def test_duplicates_are_what_their_labels_say(runs: tuple[Path, Path]) -> None:
    on = runs[1]
    config = small_config(on, *ON)
    seen: set[str] = set()
    # blocks until every kind of duplicate has been checked (a block holds only a few)
    for part in sorted((on / "noisy" / "journal_entries").glob("part-*.parquet")):
        seen |= _check_duplicates(config, on, part.name)
        if len(seen) == 3:
            break
    assert seen == {"exact_duplicate", "near_duplicate", "fuzzy_duplicate"}


def _check_duplicates(config: datasynth.DatasynthConfig, on: Path, name: str) -> set[str]:
    block = int(name.removeprefix("part-").removesuffix(".parquet"))
    clean = as_text(datasynth.generate_block(config, "journal_entries", block)).combine_chunks()
    noisy = pq.read_table(on / "noisy" / "journal_entries" / name)
    labels = pq.read_table(on / "labels" / "quality_labels" / name).to_pandas()
    dup = labels[labels["issue_type"] == "duplicate"]
    typo_rows = set(labels.loc[labels["issue_type"] == "typo", "noisy_row"])
    for row in dup.itertuples():
        copy = noisy.slice(row.noisy_row, 1).to_pylist()[0]
        source = clean.slice(int(row.duplicate_of_row), 1).to_pylist()[0]
        differs = {k for k in copy if copy[k] != source[k]}
        if row.subtype == "exact_duplicate":
            # a copy of the clean record, whatever noise the row it copies carries
            assert not isinstance(row.field_name, str) and not differs
            assert row.noisy_row not in typo_rows
        elif row.subtype == "near_duplicate":
            assert differs == {row.field_name} and row.noisy_row not in typo_rows
        else:
            assert row.field_name in differs and row.noisy_row in typo_rows
            assert len(differs) == 2
    return set(dup["subtype"])


def test_tables_without_dates_or_amounts_get_typo_only_fuzzy_duplicates(
    runs: tuple[Path, Path],
) -> None:
    from datasynth.generators.data_quality import noisy_table

    config = small_config(
        runs[1],
        *ON,
        "data_quality.duplicate_rate=0.5",
        "data_quality.duplicate_mix={exact: 0.0, near: 0.5, fuzzy: 0.5}",
    )
    vendors = pq.read_table(runs[1] / "master_data" / "vendors.parquet")
    noisy, labels = noisy_table(config, "vendors", vendors, ("test",), 0)
    frame = labels.to_pandas()
    dup = frame[frame["issue_type"] == "duplicate"]
    assert len(dup) > 10
    # near needs a date or an amount to nudge: none here, so those copies are exact
    assert set(dup["subtype"]) == {"exact_duplicate", "fuzzy_duplicate"}
    fuzzy = dup[dup["subtype"] == "fuzzy_duplicate"]
    assert len(fuzzy) > 0.3 * len(dup)
    typos = frame[frame["issue_type"] == "typo"]
    assert set(fuzzy["noisy_row"]) <= set(typos["noisy_row"])
    assert recover(noisy, frame).equals(as_text(vendors).combine_chunks())


def test_amount_formats_name_a_currency_only_where_there_is_one() -> None:
    from datasynth.generators.data_quality import amount_variants

    rng = np.random.default_rng(7)
    minor = rng.integers(-(10**9), 10**9, 2_000)
    none, kind = amount_variants(minor, pa.nulls(minor.size, pa.string()), rng)
    assert none.null_count == 0 and not np.isin(kind, [3, 4]).any()
    usd, kind = amount_variants(minor, pa.array(["USD"] * minor.size), rng)
    with_code = np.asarray(pc.match_substring(usd, "USD"))
    assert np.array_equal(with_code, np.isin(kind, [3, 4])) and with_code.any()


def test_typos_read_sliced_arrays() -> None:
    from datasynth.generators.data_quality import typos

    words = pa.array([f"Vendor name {i}" for i in range(100)])
    sliced, copied = words.slice(37, 20), pa.array(words.slice(37, 20).to_pylist())
    a = typos(sliced, np.random.default_rng(3))
    b = typos(copied, np.random.default_rng(3))
    assert a[0].equals(b[0]) and np.array_equal(a[1], b[1])
