"""Anomaly injection on real generated data: the same run with anomalies off and on.

Every check reads the written files and recomputes what the labels claim from the ledger
itself (dates, users, approvers, amounts), so a label that lies fails a test.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest
from conftest import decoded, file_digests, small_config

import datasynth
from datasynth.config.models import ANOMALY_CATEGORIES

SCRIPT = Path(__file__).resolve().parents[2] / "pipelines" / "verify_output.py"
RATE = 0.05
ON = (
    "anomalies.enabled=true",
    f"anomalies.rate={RATE}",
    "runtime.scheduler=synchronous",
    # rare types weigh more here, so every claim below has cases to check
    "anomalies.types.premature_revenue=2.0",
    "anomalies.types.fictitious_vendor=1.5",
)


def _ledger(root: Path, blocks_only: bool = True) -> pd.DataFrame:
    files = sorted((root / "journal_entries").rglob("*.parquet"))
    if blocks_only:  # close entries are recomputed from the (changed) balances
        files = [f for f in files if not f.name.startswith("close")]
    dataset = ds.dataset([str(f) for f in files], format="parquet", partitioning="hive")
    table = decoded(dataset.to_table())
    frame = table.to_pandas()
    for column in ("debit_amount", "credit_amount"):
        frame[column] = (frame[column].astype(float) * 100).round().astype("int64")
    return frame


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    base = tmp_path_factory.mktemp("anomalies")
    off, on = base / "off", base / "on"
    datasynth.generate(small_config(off, *ON[1:], "anomalies.enabled=false"))
    datasynth.generate(small_config(on, *ON))
    return off, on


@pytest.fixture(scope="module")
def ledger(runs: tuple[Path, Path]) -> pd.DataFrame:
    return _ledger(runs[1])


@pytest.fixture(scope="module")
def labels(runs: tuple[Path, Path]) -> pd.DataFrame:
    table = pq.read_table(runs[1] / "labels" / "anomaly_labels")
    return decoded(table).to_pandas()


@pytest.fixture(scope="module")
def entries(ledger: pd.DataFrame) -> pd.DataFrame:
    g = ledger.groupby("document_id", sort=False)
    out = g.agg(
        total=("debit_amount", "sum"),
        credits=("credit_amount", "sum"),
        lines=("line_number", "size"),
        posting_date=("posting_date", "first"),
        document_date=("document_date", "first"),
        created_at=("created_at", "first"),
        created_by=("created_by", "first"),
        approved_by=("approved_by", "first"),
        persona=("user_persona", "first"),
        is_anomaly=("is_anomaly", "first"),
        is_fraud=("is_fraud", "first"),
    )
    return out


def test_every_entry_still_balances(ledger: pd.DataFrame) -> None:
    sums = ledger.groupby("document_id")[["debit_amount", "credit_amount"]].sum()
    assert (sums["debit_amount"] == sums["credit_amount"]).all()


def test_rows_no_label_names_are_identical_to_the_run_without_anomalies(
    runs: tuple[Path, Path], ledger: pd.DataFrame, labels: pd.DataFrame
) -> None:
    off = _ledger(runs[0])
    named = set(labels["document_id"]) | set(labels["original_document_id"].dropna())
    for related in labels["related_documents"].dropna():
        named |= set(related.split(","))
    key = ["document_id", "line_number"]
    clean_on = ledger[~ledger["document_id"].isin(named)].sort_values(key).reset_index(drop=True)
    clean_off = off[~off["document_id"].isin(named)].sort_values(key).reset_index(drop=True)
    assert len(clean_on) > 0.8 * len(off)
    pd.testing.assert_frame_equal(clean_on, clean_off[clean_on.columns])
    # an original that a duplicate copied is itself untouched
    originals = labels.loc[labels["anomaly_type"].isin(["duplicate_payment", "duplicate_entry"])]
    copied = originals["original_document_id"]
    a = ledger[ledger["document_id"].isin(copied)].sort_values(key).reset_index(drop=True)
    b = off[off["document_id"].isin(copied)].sort_values(key).reset_index(drop=True)
    pd.testing.assert_frame_equal(a, b[a.columns])
    # master data and document flows do not move at all; the vendor list only gains each
    # company's shell vendors after its real ones, and only fictitious-vendor frauds pay them
    digests = [file_digests(r) for r in runs]
    for prefix in ("master_data/", "document_flows/"):
        mine = [
            {k: v for k, v in d.items() if k.startswith(prefix) and "vendors." not in k}
            for d in digests
        ]
        assert mine[0] and mine[0] == mine[1], prefix
    real = pq.read_table(runs[0] / "master_data" / "vendors.parquet")
    with_shells = pq.read_table(runs[1] / "master_data" / "vendors.parquet")
    shell = pc.match_substring(with_shells["vendor_name"], "Consulting Partners")
    assert with_shells.filter(pc.invert(shell)).equals(real)
    shells = set(with_shells.filter(shell)["vendor_id"].to_pylist())
    assert len(shells) == 2 * 2  # two companies, fraud_actors.fictitious_vendors = 2
    paid = set(ledger.loc[ledger["vendor_id"].isin(shells), "document_id"])
    fictitious = labels[labels["anomaly_type"] == "fictitious_vendor"]
    assert paid and paid == set(fictitious["document_id"])
    assert set(fictitious["related_vendor"]) <= shells


def test_flags_and_labels_agree_and_the_dataset_verifies(
    runs: tuple[Path, Path], entries: pd.DataFrame, labels: pd.DataFrame
) -> None:
    named = set(labels["document_id"])
    split = labels["related_documents"].dropna()
    parts = {d for r in split for d in r.split(",")}
    flagged = set(entries.index[entries["is_anomaly"]])
    assert flagged == named | parts
    fraud_docs = set(labels.loc[labels["is_fraud"], "document_id"])
    fraud_docs |= {
        d
        for r in labels.loc[labels["is_fraud"], "related_documents"].dropna()
        for d in r.split(",")
    }
    assert set(entries.index[entries["is_fraud"]]) == fraud_docs
    assert labels["anomaly_id"].is_unique
    assert (labels["is_fraud"] == (labels["anomaly_category"] == "fraud")).all()
    assert labels["severity"].between(1, 5).all()
    done = subprocess.run(
        [sys.executable, str(SCRIPT), str(runs[1])],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr


def test_rate_categories_and_types(entries: pd.DataFrame, labels: pd.DataFrame) -> None:
    rate = len(labels) / (
        len(entries) - labels["anomaly_type"].isin(["duplicate_payment", "duplicate_entry"]).sum()
    )
    assert 0.75 * RATE < rate < 1.25 * RATE, rate
    assert set(labels["anomaly_category"]) == set(ANOMALY_CATEGORIES)
    assert labels["anomaly_type"].nunique() >= 20, labels["anomaly_type"].value_counts()
    share = labels["anomaly_category"].value_counts(normalize=True)
    assert 0.15 < share["fraud"] < 0.35 and 0.25 < share["error"] < 0.5


def _of(labels: pd.DataFrame, entries: pd.DataFrame, kind: str) -> pd.DataFrame:
    rows = labels[labels["anomaly_type"] == kind]
    assert len(rows), f"no {kind} in the dataset"
    return entries.loc[rows["document_id"]]


def test_labels_describe_what_the_ledger_shows(
    entries: pd.DataFrame, labels: pd.DataFrame, ledger: pd.DataFrame
) -> None:
    threshold = 10_000 * 100  # approval threshold of the USD company, in cents
    usd = entries.index.str.startswith("JE-1000-")
    e = entries
    got = _of(labels, e, "self_approval")
    assert (got["approved_by"] == got["created_by"]).all()
    got = _of(labels, e[usd], "missing_approval") if False else _of(labels, e, "missing_approval")
    assert got["approved_by"].isna().all()
    got = _of(labels, e, "weekend_posting")
    assert (pd.to_datetime(got["posting_date"]).dt.day_of_week >= 5).all()
    got = _of(labels, e, "after_hours_posting")
    hours = pd.to_datetime(got["created_at"]).dt.hour
    assert ((hours >= 21) | (hours < 5)).all()
    got = _of(labels, e, "late_posting")
    lag = pd.to_datetime(got["posting_date"]) - pd.to_datetime(got["document_date"])
    assert (lag.dt.days >= 30).all()
    got = _of(labels, e, "backdated_entry")
    entered = pd.to_datetime(got["created_at"]).dt.normalize()
    assert (entered - pd.to_datetime(got["posting_date"])).dt.days.min() >= 1
    got = _of(labels, e, "premature_revenue")
    assert (pd.to_datetime(got["document_date"]) > pd.to_datetime(got["posting_date"])).all()
    # a just-below amount sits under the threshold and needs no approver
    rows = labels[(labels["anomaly_type"] == "just_below_threshold")]
    rows = rows[rows["document_id"].str.startswith("JE-1000-")]
    got = e.loc[rows["document_id"]]
    assert ((got["total"] < threshold) & (got["total"] > 0.84 * threshold)).all()
    assert got["approved_by"].isna().all()
    # a split leaves every part below the threshold, none approved, all by one preparer
    for _, row in labels[labels["anomaly_type"] == "split_transaction"].iterrows():
        docs = [row["document_id"], *row["related_documents"].split(",")]
        parts = e.loc[docs]
        if row["document_id"].startswith("JE-1000-"):
            assert (parts["total"] < threshold).all()
        assert parts["approved_by"].isna().all() and parts["created_by"].nunique() == 1
        assert float(row["monetary_impact"]) * 100 == pytest.approx(parts["total"].sum())
    # segregation of duties: one person posts the invoice and pays it
    for _, row in labels[labels["anomaly_type"] == "segregation_of_duties"].iterrows():
        pair = e.loc[[row["document_id"], row["related_documents"]]]
        assert pair["created_by"].nunique() == 1 and (pair["persona"] != "automated_system").all()
    # a duplicate repeats its original's lines under a new id
    for _, row in labels[labels["anomaly_type"].str.startswith("duplicate")].iterrows():
        copy = ledger[ledger["document_id"] == row["document_id"]]
        source = ledger[ledger["document_id"] == row["original_document_id"]]
        cols = ["line_number", "gl_account", "debit_amount", "credit_amount", "vendor_id"]
        assert copy[cols].reset_index(drop=True).equals(source[cols].reset_index(drop=True))
    # fictitious entries are a person's manual postings
    got = _of(labels, e, "fictitious_entry")
    assert (got["persona"] != "automated_system").all()
    # the approval rule holds on every entry that no approval anomaly names, anomalous or not
    # (duplicate payments included): people's entries from the threshold up are approved by
    # someone else, nothing else is approved
    breaking = labels["anomaly_type"].isin(
        [
            "self_approval",
            "unauthorized_approval",
            "missing_approval",
            "just_below_threshold",
            "split_transaction",
        ]
    )
    exempt = set(labels.loc[breaking, "document_id"])
    for related in labels.loc[breaking, "related_documents"].dropna():
        exempt |= set(related.split(","))
    ruled = e[usd & ~e.index.isin(exempt)]
    assert ruled["is_anomaly"].sum() > 50
    assert ruled.index.isin(
        labels.loc[labels["anomaly_type"] == "duplicate_payment", "document_id"]
    ).any()
    needs = (ruled["persona"] != "automated_system") & (ruled["total"] >= threshold)
    assert needs.sum() > 0
    assert ruled.loc[needs, "approved_by"].notna().all()
    assert (ruled.loc[needs, "approved_by"] != ruled.loc[needs, "created_by"]).all()
    assert ruled.loc[~needs, "approved_by"].isna().all()


def test_affected_lines_are_the_lines_that_changed(
    runs: tuple[Path, Path], ledger: pd.DataFrame, labels: pd.DataFrame
) -> None:
    """A label that lists lines names exactly the lines that differ from the run without
    anomalies; ``all`` is used where the header or every line changed."""
    off = _ledger(runs[0]).set_index(["document_id", "line_number"]).sort_index()
    on = ledger.set_index(["document_id", "line_number"]).sort_index()
    columns = [c for c in on.columns if c not in ("is_anomaly", "is_fraud")]
    listed = labels[labels["affected_lines"] != "all"]
    assert len(listed) > 30 and listed["anomaly_type"].nunique() >= 5
    for row in listed.itertuples():
        a = on.loc[row.document_id, columns]
        b = off.loc[row.document_id, columns]
        differs = ~((a == b) | (a.isna() & b.isna())).all(axis=1)
        changed = {int(x) for x in differs[differs].index}
        assert changed == {int(x) for x in row.affected_lines.split(",")}, (
            row.anomaly_type,
            row.document_id,
        )


def test_amount_labels_state_the_misstatement(
    runs: tuple[Path, Path], entries: pd.DataFrame, labels: pd.DataFrame
) -> None:
    off = _ledger(runs[0]).groupby("document_id")["debit_amount"].sum()
    for kind in (
        "decimal_shift",
        "unusually_high_amount",
        "round_dollar_manipulation",
        "transposed_digits",
        "benford_violation",
    ):
        rows = labels[labels["anomaly_type"] == kind]
        now = entries.loc[rows["document_id"], "total"].to_numpy()
        before = off.loc[rows["document_id"]].to_numpy()
        impact = (rows["monetary_impact"].astype(float) * 100).round().to_numpy()
        assert np.array_equal(impact, np.abs(now - before)), kind
    first = (
        entries.loc[
            labels.loc[labels["anomaly_type"] == "benford_violation", "document_id"], "total"
        ]
        .astype(str)
        .str[0]
        .astype(int)
    )
    assert (first >= 4).mean() > 0.6


def test_anomalies_concentrate_at_period_ends(tmp_path: Path) -> None:
    """Month ends x2, the quarter end x3 on the chance of a seed (clusters off, so nothing
    spreads them): blocks regenerated in memory, about a thousand anomalies."""
    config = small_config(
        tmp_path,
        "transactions.count=24000",
        "runtime.block_rows=80000",
        "anomalies.enabled=true",
        "anomalies.rate=0.05",
        "anomalies.clustering.enabled=false",
    )
    late_share, base_share = [], []
    for index in range(len(datasynth.plan(config).blocks)):
        lines = datasynth.generate_block(config, "journal_entries", index)
        frame = lines.select(["document_id", "posting_date", "is_anomaly"]).to_pandas()
        entries = frame.drop_duplicates("document_id")
        day = pd.to_datetime(entries["posting_date"])
        late = ((day + pd.offsets.MonthEnd(0) - day).dt.days < 3).to_numpy()
        flagged = entries["is_anomaly"].to_numpy()
        late_share.append(late[flagged])
        base_share.append(late[~flagged])
    flagged_late = np.concatenate(late_share)
    assert flagged_late.size > 500
    assert flagged_late.mean() > 1.5 * np.concatenate(base_share).mean()


def test_clusters_and_fraud_actors(labels: pd.DataFrame) -> None:
    clusters = labels["cluster_id"].dropna()
    assert clusters.value_counts().max() >= 2
    # a cluster holds one anomaly type
    per = labels.dropna(subset=["cluster_id"]).groupby("cluster_id")["anomaly_type"].nunique()
    assert (per == 1).all()
    frauds = labels[labels["escalation_pattern"].notna()]
    assert len(frauds) > 0
    # repeat offenders: a few people commit most of the frauds that name an actor
    top = frauds.groupby("company_code")["related_user"].agg(
        lambda s: s.value_counts().iloc[:2].sum() / len(s)
    )
    assert (top > 0.5).all()


def test_a_block_regenerates_with_its_labels(runs: tuple[Path, Path]) -> None:
    config = small_config(runs[1], *ON)
    block = datasynth.generate_block(config, "anomaly_labels", 3)
    written = pq.read_table(runs[1] / "labels" / "anomaly_labels" / "part-00003.parquet")
    assert block.equals(written.cast(block.schema)) or decoded(block).equals(decoded(written))


def test_switching_anomalies_off_writes_no_labels(runs: tuple[Path, Path]) -> None:
    assert not (runs[0] / "labels").exists()
    assert pa.types.is_boolean(
        pq.read_schema(next((runs[0] / "journal_entries").rglob("part-*.parquet")))
        .field("is_anomaly")
        .type
    )
