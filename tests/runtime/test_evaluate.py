"""The fidelity report and its quality gate on real generated data.

The gate passes on generated datasets of several configurations and fails, naming the check,
on datasets corrupted on purpose: an unbalanced entry, a dangling vendor id, amounts replaced
by uniform numbers, a line moved into another fiscal period. The HTML report embeds every plot.
"""

from __future__ import annotations

import base64
import json
import re
import shutil
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from conftest import run_cli, small_config

import datasynth
from datasynth.core.money import decimal_from_minor, minor_from_decimal

PLOTS = {
    "benford_first",
    "benford_second",
    "amounts",
    "line_counts",
    "daily",
    "weekday_hour",
    "mixes",
    "anomaly_types",
}


@pytest.fixture(scope="module")
def clean(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("evaluate") / "clean"
    # enough standalone entries (2,000) for the statistical checks
    datasynth.generate(
        small_config(
            out,
            "runtime.scheduler=synchronous",
            "anomalies.enabled=true",
            "transactions.count=8000",
        )
    )
    return out


def _gate(root: Path, cwd: Path) -> tuple[int, dict[str, dict[str, object]], str]:
    done = run_cli(["evaluate", str(root), "--quality-gate"], cwd=cwd)
    report = json.loads((root / "report" / "report.json").read_text())
    return done.returncode, {c["name"]: c for c in report["checks"]}, done.stderr


def test_gate_passes_on_a_generated_dataset_and_the_report_renders(
    clean: Path, tmp_path: Path
) -> None:
    code, checks, stderr = _gate(clean, tmp_path)
    assert code == 0, stderr
    assert {c["status"] for c in checks.values()} == {"pass"}
    assert len(checks) >= 19
    # the values are real measurements, not placeholders
    assert 0 < checks["benford_first_digit"]["value"] < 0.006
    assert 0 < checks["amount_distribution"]["value"] < 0.05
    assert "close conformity" in checks["benford_first_digit"]["detail"]
    html = (clean / "report" / "report.html").read_text()

    class Images(HTMLParser):
        def __init__(self) -> None:
            super().__init__()
            self.images: list[tuple[str, str]] = []

        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            if tag == "img":
                a = dict(attrs)
                self.images.append((a.get("alt") or "", a.get("src") or ""))

    parser = Images()
    parser.feed(html)
    assert len(parser.images) == len(PLOTS)
    for alt, src in parser.images:
        assert src.startswith("data:image/png;base64,"), alt
        png = base64.b64decode(src.split(",", 1)[1])
        assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 5_000, alt
    assert "http" not in re.sub(r'src="data:[^"]+"', "", html)  # self-contained
    report = json.loads((clean / "report" / "report.json").read_text())
    assert set(report["plots"]) == PLOTS
    manifest = json.loads((clean / "manifest.json").read_text())
    assert {f["path"] for f in manifest["files"] if f["table"] == "report"} == {
        "report/report.json",
        "report/report.html",
    }


def test_report_renders_in_headless_chromium(clean: Path, tmp_path: Path) -> None:
    """A screenshot of report.html taken by a real browser (installed by .ci/run)."""
    import subprocess

    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        pytest.skip("chromium is not installed (.ci/run installs Debian's chromium)")
    if not (clean / "report" / "report.html").exists():
        run_cli(["evaluate", str(clean)], cwd=tmp_path)
    shot = tmp_path / "report.png"
    done = subprocess.run(
        [
            browser,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={tmp_path / 'profile'}",
            "--window-size=1280,4000",
            f"--screenshot={shot}",
            (clean / "report" / "report.html").as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0 and shot.is_file(), done.stderr
    from PIL import Image

    image = np.asarray(Image.open(shot).convert("L"), dtype=float)
    assert image.shape == (4000, 1280)
    # the page is drawn (text, tables, plots), not blank: many non-white rows, far down
    drawn = np.flatnonzero((image < 200).sum(axis=1) > 20)
    assert drawn.size > 1000 and drawn.max() > 2000


@pytest.mark.parametrize(
    "overrides",
    [
        (
            "+preset=retail",
            "transactions.count=16000",
            "global.period_months=4",
            "runtime.block_rows=20000",
        ),
        ("document_flows.enabled=false", "balances.enabled=false", "output.format=csv"),
    ],
    ids=["retail", "csv-no-flows-no-balances"],
)
def test_gate_passes_on_other_configurations(overrides: tuple[str, ...], tmp_path: Path) -> None:
    out = tmp_path / "out"
    datasynth.generate(
        small_config(out, "runtime.scheduler=threads", "report.enabled=true", *overrides)
    )
    report = json.loads((out / "report" / "report.json").read_text())
    failed = [c for c in report["checks"] if c["status"] == "fail"]
    assert not failed, failed
    statuses = {c["name"]: c["status"] for c in report["checks"]}
    # the statistics had enough entries to be measured, and passed
    for name in (
        "benford_first_digit",
        "line_count_distribution",
        "amount_distribution",
        "weekend_share",
    ):
        assert statuses[name] == "pass", name
    if "balances.enabled=false" in overrides:
        # no balances, no flows, no anomalies: reported as not applicable, never as passed
        for name in (
            "trial_balance_balanced",
            "subledger_reconciliation",
            "document_chain_integrity",
            "document_chain_completion",
            "label_coverage",
        ):
            assert statuses[name] == "not_applicable", name


def _copy(clean: Path, tmp_path: Path) -> Path:
    out = tmp_path / "copy"
    shutil.copytree(clean, out, ignore=shutil.ignore_patterns("report"))
    return out


def _first_part(root: Path) -> Path:
    return sorted((root / "journal_entries").glob("fiscal_year=*/fiscal_period=01/part-*.parquet"))[
        0
    ]


def _corrupt_unbalanced(root: Path) -> None:
    path = _first_part(root)
    t = pq.read_table(path)
    debit = minor_from_decimal(t["debit_amount"].combine_chunks())
    row = int(np.flatnonzero(debit > 0)[0])
    debit[row] += 1  # one cent more on one line
    t = t.set_column(
        t.schema.get_field_index("debit_amount"), "debit_amount", decimal_from_minor(debit)
    )
    pq.write_table(t, path)


def _corrupt_vendor(root: Path) -> None:
    path = _first_part(root)
    t = pq.read_table(path)
    vendor = t["vendor_id"].combine_chunks()
    row = int(np.flatnonzero(np.asarray(vendor.is_valid()))[0])
    values = vendor.to_pylist()
    values[row] = "V-1000-999999"
    t = t.set_column(
        t.schema.get_field_index("vendor_id"), "vendor_id", pa.array(values, pa.string())
    )
    pq.write_table(t, path)


def _corrupt_uniform(root: Path) -> None:
    # every line amount replaced by a uniform number, entries kept balanced: a fabricated
    # ledger the coherence checks cannot see, only the statistics
    rng = np.random.default_rng(0)
    for path in sorted((root / "journal_entries").rglob("*.parquet")):
        t = pq.read_table(path)
        ids = t["document_id"].combine_chunks()
        debit = minor_from_decimal(t["debit_amount"].combine_chunks())
        change = np.r_[True, np.asarray(pc.not_equal(ids[1:], ids[:-1]))]
        owner = np.cumsum(change) - 1
        uniform = rng.integers(100, 1_000_000, owner.max() + 1)
        is_debit = debit > 0
        debits = np.bincount(owner, weights=is_debit).astype(np.int64)
        credits = np.bincount(owner, weights=~is_debit).astype(np.int64)
        # each entry: its debit lines share the total evenly, its credit lines too
        per_debit = uniform // np.maximum(debits, 1) * np.maximum(credits, 1)
        total = per_debit * np.maximum(debits, 1)
        per_credit = total // np.maximum(credits, 1)
        new_debit = np.where(is_debit, per_debit[owner], 0)
        new_credit = np.where(~is_debit, per_credit[owner], 0)
        t = t.set_column(
            t.schema.get_field_index("debit_amount"), "debit_amount", decimal_from_minor(new_debit)
        )
        t = t.set_column(
            t.schema.get_field_index("credit_amount"),
            "credit_amount",
            decimal_from_minor(new_credit),
        )
        pq.write_table(t, path)


def _corrupt_period(root: Path) -> None:
    # the first entry of a January file moved into the February folder, dates unchanged
    source = _first_part(root)
    t = pq.read_table(source)
    first = t["document_id"][0].as_py()
    moved = t.filter(pc.equal(t["document_id"], first))
    pq.write_table(t.filter(pc.not_equal(t["document_id"], first)), source)
    target = Path(str(source).replace("fiscal_period=01", "fiscal_period=02"))
    pq.write_table(
        pa.concat_tables([pq.read_table(target), moved.cast(pq.read_schema(target))]), target
    )


def _corrupt_chain(root: Path) -> None:
    # one block's goods receipts lost: its orders never arrive, its postings name nothing
    (root / "document_flows" / "goods_receipts" / "part-00000.parquet").unlink()


@pytest.mark.parametrize(
    ("corrupt", "failing"),
    [
        (_corrupt_unbalanced, {"balanced_entries", "trial_balance_matches_ledger"}),
        (_corrupt_vendor, {"reference_integrity"}),
        (_corrupt_uniform, {"benford_first_digit", "amount_distribution"}),
        (_corrupt_period, {"posting_periods", "trial_balance_matches_ledger"}),
        (_corrupt_chain, {"document_chain_completion", "document_chain_integrity"}),
    ],
    ids=[
        "unbalanced-entry",
        "dangling-vendor",
        "uniform-amounts",
        "shifted-period",
        "lost-receipts",
    ],
)
def test_gate_fails_on_a_corrupted_dataset_naming_the_check(
    clean: Path,
    tmp_path: Path,
    corrupt,
    failing: set[str],  # type: ignore[no-untyped-def]
) -> None:
    root = _copy(clean, tmp_path)
    corrupt(root)
    code, checks, stderr = _gate(root, tmp_path)
    assert code == 3, stderr
    failed = {name for name, c in checks.items() if c["status"] == "fail"}
    assert failing <= failed, (failing, failed)
    for name in failing:
        assert f"FAILED {name}" in stderr
    # without --quality-gate the report is written and the command succeeds
    done = run_cli(["evaluate", str(root)], cwd=tmp_path)
    assert done.returncode == 0


def test_evaluate_refuses_a_directory_without_a_run(tmp_path: Path) -> None:
    done = run_cli(["evaluate", str(tmp_path / "nothing")], cwd=tmp_path)
    assert done.returncode == 2 and "no complete datasynth run" in done.stderr
