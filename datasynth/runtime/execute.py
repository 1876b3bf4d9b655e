"""Build the Dask graph of a run and execute it on the configured scheduler.

The graph is small and explicit: one task builds the master data, one task per block generates
and writes that block (it receives the master data as an argument, so Dask ships it to every
worker once per task), and a last task writes ``manifest.json`` from the blocks' records.
Task keys are deterministic: ``("journal_entries", 17)``.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from datasynth.config.models import DatasynthConfig
from datasynth.runtime.blocks import plan_and_master, write_block
from datasynth.runtime.output import prepare_output, write_manifest
from datasynth.runtime.plan import Plan, build_plan

MASTER_KEY = "master-data"
MANIFEST_KEY = "manifest"


@dataclass(frozen=True)
class RunResult:
    """What a finished run reports back to the caller."""

    output_dir: str
    manifest: dict[str, Any]
    seconds: float
    rows: int
    blocks_skipped: int
    peak_rss: int


def _build_master(config: DatasynthConfig) -> Any:
    return plan_and_master(config)[1]


def _finish(
    config: DatasynthConfig, plan: Plan, root: str, records: list[dict[str, Any]]
) -> dict[str, Any]:
    manifest = write_manifest(config, plan, root, records)
    return {"manifest": manifest, "records": records}


def build_graph(config: DatasynthConfig, plan: Plan, root: str) -> tuple[dict[Any, Any], list[Any]]:
    """The task graph and the keys of the block tasks (in plan order)."""
    width = max(5, len(str(max(len(plan.blocks) - 1, 0))))
    graph: dict[Any, Any] = {MASTER_KEY: (_build_master, config)}
    keys: list[Any] = []
    for table in plan.master_tables:
        block = plan.blocks_of(table)[0]
        key = (table, 0)
        graph[key] = (write_block, config, MASTER_KEY, block, root, width)
        keys.append(key)
    for block in plan.blocks:
        key = (block.table, block.index)
        graph[key] = (write_block, config, MASTER_KEY, block, root, width)
        keys.append(key)
    graph[MANIFEST_KEY] = (_finish, config, plan, root, list(keys))
    return graph, keys


class _Progress:
    """Blocks done, rows per second and ETA on stderr (tqdm; quiet when disabled)."""

    def __init__(self, total_blocks: int, enabled: bool, note: str = "") -> None:
        from tqdm import tqdm

        self.bar = tqdm(
            total=total_blocks,
            unit="block",
            disable=not enabled,
            file=sys.stderr,
            desc="datasynth",
            dynamic_ncols=True,
            mininterval=0.5,
        )
        if note and enabled:
            self.bar.write(note, file=sys.stderr)
        self.rows = 0
        self.started = time.perf_counter()

    def update(self, record: dict[str, Any]) -> None:
        self.rows += int(record.get("rows", 0))
        elapsed = max(time.perf_counter() - self.started, 1e-9)
        self.bar.set_postfix_str(
            f"{self.rows:,} rows, {self.rows / elapsed:,.0f} rows/s", refresh=False
        )
        self.bar.update(1)

    def close(self) -> None:
        self.bar.close()


@contextmanager
def _local_callback(progress: _Progress, block_keys: set[Any]) -> Iterator[None]:
    from dask.callbacks import Callback

    def posttask(key: Any, result: Any, dsk: Any, state: Any, worker_id: Any) -> None:
        if key in block_keys:
            progress.update(result)

    with Callback(posttask=posttask):
        yield


def run(config: DatasynthConfig) -> RunResult:
    """Generate the whole dataset described by ``config`` into ``config.output.dir``."""
    started = time.perf_counter()
    plan = build_plan(config)
    root = str(prepare_output(config))
    graph, keys = build_graph(config, plan, root)
    rt = config.runtime
    progress_enabled = (rt.progress and sys.stderr.isatty()) or os.environ.get(
        "DATASYNTH_PROGRESS"
    ) == "1"
    if rt.scheduler == "distributed" or rt.cluster:
        result = _run_distributed(config, graph, keys, progress_enabled)
    else:
        progress = _Progress(len(keys), progress_enabled)
        try:
            with _local_callback(progress, set(keys)):
                result = _run_local(config, graph)
        finally:
            progress.close()
    records = result["records"]
    return RunResult(
        output_dir=root,
        manifest=result["manifest"],
        seconds=time.perf_counter() - started,
        rows=sum(int(r["rows"]) for r in records),
        blocks_skipped=sum(1 for r in records if r.get("skipped")),
        peak_rss=max((int(r.get("peak_rss", 0)) for r in records), default=0),
    )


def _run_local(config: DatasynthConfig, graph: dict[Any, Any]) -> dict[str, Any]:
    rt = config.runtime
    if rt.scheduler == "synchronous":
        from dask.local import get_sync

        return get_sync(graph, MANIFEST_KEY)  # type: ignore[no-any-return]
    if rt.scheduler == "threads":
        from dask.threaded import get as threaded_get

        return threaded_get(graph, MANIFEST_KEY, num_workers=rt.workers)  # type: ignore[no-any-return]
    from dask.multiprocessing import get as process_get

    return process_get(graph, MANIFEST_KEY, num_workers=rt.workers)  # type: ignore[no-any-return]


def _run_distributed(
    config: DatasynthConfig, graph: dict[Any, Any], keys: list[Any], progress_enabled: bool
) -> dict[str, Any]:
    from distributed import Client, LocalCluster, as_completed

    rt = config.runtime
    cluster = None
    if rt.cluster:
        client = Client(rt.cluster, set_as_default=False)
    else:
        cluster = LocalCluster(
            n_workers=rt.workers,
            threads_per_worker=1,
            processes=True,
            memory_limit=rt.memory_limit,
            dashboard_address=":0",
            host="127.0.0.1",
        )
        client = Client(cluster, set_as_default=False)
    try:
        progress = _Progress(
            len(keys), progress_enabled, note=f"dashboard: {client.dashboard_link}"
        )
        try:
            futures = client.get(graph, [*keys, MANIFEST_KEY], sync=False)
            block_futures, manifest_future = futures[:-1], futures[-1]
            for _future, record in as_completed(block_futures, with_results=True, loop=client.loop):
                progress.update(record)
            return manifest_future.result()  # type: ignore[no-any-return]
        finally:
            progress.close()
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
