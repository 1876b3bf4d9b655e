"""The verification recipe accepts a real run and catches a damaged file."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from conftest import small_config

import datasynth

SCRIPT = Path(__file__).resolve().parents[2] / "pipelines" / "verify_output.py"


def test_verify_accepts_a_run_and_flags_damage(tmp_path: Path) -> None:
    out = tmp_path / "out"
    datasynth.generate(small_config(out, "runtime.scheduler=synchronous"))
    ok = subprocess.run(
        [sys.executable, str(SCRIPT), str(out)], capture_output=True, text=True, check=False
    )
    assert ok.returncode == 0, ok.stderr
    victim = next((out / "journal_entries").rglob("*.parquet"))
    data = bytearray(victim.read_bytes())
    data[len(data) // 2] ^= 0xFF
    victim.write_bytes(bytes(data))
    bad = subprocess.run(
        [sys.executable, str(SCRIPT), str(out)], capture_output=True, text=True, check=False
    )
    assert bad.returncode == 1
    assert victim.name in bad.stderr and "sha256" in bad.stderr
