"""Shared fixtures: small real configurations and a real Dask cluster on loopback."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import pyarrow as pa
import pytest

import datasynth
from datasynth.config.models import DatasynthConfig

#: a run with several blocks per company and period, two companies
SMALL = (
    "transactions.count=6000",
    "runtime.block_rows=20000",
    "global.period_months=4",
    "runtime.progress=false",
)


def small_config(out: Path, *overrides: str) -> DatasynthConfig:
    return datasynth.load_config([*SMALL, f"output.dir={out}", *overrides])


def file_digests(root: Path) -> dict[str, str]:
    """sha256 of every data file below ``root`` (the manifest and run state excluded)."""
    out: dict[str, str] = {}
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root).as_posix()
        if path.is_file() and rel != "manifest.json" and not rel.startswith(".datasynth"):
            out[rel] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


#: the independent checker of a written dataset
VERIFY_SCRIPT = Path(__file__).resolve().parents[1] / "pipelines" / "verify_output.py"


def rewrite_file(out: Path, record: dict, table: pa.Table, manifest: dict) -> None:
    """Replace one written Parquet file and its manifest record (size, sha256), so a check
    of the content, not of the digest, has to find what was changed."""
    import json

    import pyarrow.parquet as pq

    path = out / record["path"]
    pq.write_table(table, path)
    record.update(bytes=path.stat().st_size, sha256=hashlib.sha256(path.read_bytes()).hexdigest())
    (out / "manifest.json").write_text(json.dumps(manifest))


def verify_output(out: Path) -> subprocess.CompletedProcess[str]:
    """pipelines/verify_output.py run on ``out`` in its own process."""
    return subprocess.run(
        [sys.executable, str(VERIFY_SCRIPT), str(out)], capture_output=True, text=True, check=False
    )


def decoded(table: pa.Table) -> pa.Table:
    """Dictionary columns decoded and fields made nullable, for comparing values only."""
    arrays = [
        c.cast(c.type.value_type) if pa.types.is_dictionary(c.type) else c for c in table.columns
    ]
    return pa.table(arrays, names=table.column_names)


def run_cli(
    args: Sequence[str], cwd: Path, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "datasynth", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
        check=False,
    )


@pytest.fixture(scope="session")
def dask_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real `dask scheduler` and two `dask worker` processes on 127.0.0.1."""
    dask_cli = shutil.which("dask") or str(Path(sys.executable).parent / "dask")
    workdir = tmp_path_factory.mktemp("cluster")
    scheduler_file = workdir / "scheduler.json"
    procs = [
        subprocess.Popen(
            [
                dask_cli,
                "scheduler",
                "--host",
                "127.0.0.1",
                "--port",
                "0",
                "--dashboard-address",
                "127.0.0.1:0",
                "--scheduler-file",
                str(scheduler_file),
            ],
            cwd=workdir,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
    ]
    try:
        deadline = time.monotonic() + 60
        while not scheduler_file.exists():
            if time.monotonic() > deadline:
                raise RuntimeError("dask scheduler did not start")
            time.sleep(0.2)
        for _ in range(2):
            procs.append(
                subprocess.Popen(
                    [
                        dask_cli,
                        "worker",
                        "--scheduler-file",
                        str(scheduler_file),
                        "--nthreads",
                        "1",
                        "--nworkers",
                        "1",
                        "--host",
                        "127.0.0.1",
                        "--no-dashboard",
                        "--local-directory",
                        str(workdir),
                    ],
                    cwd=workdir,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            )
        from distributed import Client

        with Client(scheduler_file=str(scheduler_file), timeout=60) as client:
            client.wait_for_workers(2, timeout=90)
            address = client.scheduler.address
        yield address
    finally:
        for proc in reversed(procs):
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
