"""Generate on a real Dask cluster: a `dask scheduler` and N `dask worker` processes.

    python pipelines/cluster_run.py --workers 2 -- +preset=small output.dir=/tmp/small

Starts the cluster on 127.0.0.1, runs datasynth against it through ``runtime.cluster`` (as a
user would against a remote cluster), prints the summary and the dashboard address, and stops
the cluster. Any datasynth override can follow ``--``.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import datasynth


def start_cluster(workers: int, workdir: Path) -> tuple[str, list[subprocess.Popen[bytes]]]:
    dask = shutil.which("dask") or str(Path(sys.executable).parent / "dask")
    scheduler_file = workdir / "scheduler.json"
    log = (workdir / "cluster.log").open("wb")  # the processes' own logging stays out of the way
    procs = [
        subprocess.Popen(
            [
                dask,
                "scheduler",
                "--host",
                "127.0.0.1",
                "--port",
                "0",
                "--scheduler-file",
                str(scheduler_file),
            ],
            cwd=workdir,
            stdout=log,
            stderr=log,
        )
    ]
    deadline = time.monotonic() + 60
    while not scheduler_file.exists():
        if time.monotonic() > deadline:
            raise RuntimeError("the dask scheduler did not start within 60 s")
        time.sleep(0.2)
    for _ in range(workers):
        procs.append(
            subprocess.Popen(
                [
                    dask,
                    "worker",
                    "--scheduler-file",
                    str(scheduler_file),
                    "--nthreads",
                    "1",
                    "--host",
                    "127.0.0.1",
                    "--local-directory",
                    str(workdir),
                ],
                cwd=workdir,
                stdout=log,
                stderr=log,
            )
        )
    from distributed import Client

    with Client(scheduler_file=str(scheduler_file), timeout=60) as client:
        client.wait_for_workers(workers, timeout=120)
        return client.scheduler.address, procs


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("overrides", nargs="*", help="datasynth overrides")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="datasynth-cluster-") as tmp:
        address, procs = start_cluster(args.workers, Path(tmp))
        try:
            cfg = datasynth.load_config([*args.overrides, f"runtime.cluster={address}"])
            result = datasynth.generate(cfg)
            rate = result.rows / result.seconds
            print(
                f"{address}: {result.rows:,} rows in {result.seconds:.1f} s "
                f"({rate:,.0f} rows/s, {rate / args.workers:,.0f} per worker) -> {result.output_dir}"
            )
        finally:
            for p in reversed(procs):
                p.terminate()
            for p in procs:
                p.wait(timeout=30)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
