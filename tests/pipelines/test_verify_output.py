"""The verification recipe accepts a real run and catches a damaged file."""

from __future__ import annotations

from pathlib import Path

from conftest import rewrite_file, small_config, verify_output

import datasynth


def test_verify_accepts_a_run_and_flags_damage(tmp_path: Path) -> None:
    out = tmp_path / "out"
    datasynth.generate(small_config(out, "runtime.scheduler=synchronous"))
    ok = verify_output(out)
    assert ok.returncode == 0, ok.stderr
    victim = next((out / "journal_entries").rglob("*.parquet"))
    data = bytearray(victim.read_bytes())
    data[len(data) // 2] ^= 0xFF
    victim.write_bytes(bytes(data))
    bad = verify_output(out)
    assert bad.returncode == 1
    assert victim.name in bad.stderr and "sha256" in bad.stderr


def test_verify_catches_a_payment_that_does_not_settle_its_invoice(tmp_path: Path) -> None:
    """A consistent-looking file (manifest updated) whose content breaks AP = open items."""
    import json

    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    out = tmp_path / "out"
    datasynth.generate(small_config(out, "runtime.scheduler=synchronous"))
    manifest = json.loads((out / "manifest.json").read_text())
    record = next(f for f in manifest["files"] if f["table"] == "payments" and f["rows"] > 0)
    path = out / record["path"]
    table = pq.read_table(path)
    amount = table["amount"]
    changed = pc.add(amount, pa.scalar(1, amount.type)).cast(amount.type)
    table = table.set_column(table.schema.get_field_index("amount"), "amount", changed)
    rewrite_file(out, record, table, manifest)
    bad = verify_output(out)
    assert bad.returncode == 1
    assert "AP:" in bad.stderr and "open items" in bad.stderr
