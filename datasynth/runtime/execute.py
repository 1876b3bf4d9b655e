"""Build the Dask graph of a run and execute it on the configured scheduler.

The graph is small and explicit: one task builds the master data, one task per block generates
and writes that block (it receives the master data as an argument, so Dask ships it to every
worker once per task), and a last task writes ``manifest.json`` from the blocks' records.
Task keys are deterministic and carry a token of the run, e.g.
``("journal_entries-<token>", 17)``, so two runs on one cluster never share a task.
"""

from __future__ import annotations

import hashlib
import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from datasynth.config.errors import ConfigError
from datasynth.config.models import DatasynthConfig
from datasynth.generators.balances import opening_total_assets
from datasynth.runtime.balances import reduction_graph, tree, write_balances, write_period_close
from datasynth.runtime.blocks import config_fingerprint, plan_and_master, write_block
from datasynth.runtime.evaluate import add_stage as add_report
from datasynth.runtime.graph_export import add_stage, block_stems
from datasynth.runtime.output import check_output, prepare_output, write_manifest
from datasynth.runtime.plan import Plan, build_plan
from datasynth.runtime.process_mining import write_event_log
from datasynth.runtime.subledgers import total_aging


@dataclass(frozen=True)
class GraphKeys:
    """Task keys of one run: deterministic, and distinct between runs that share a cluster."""

    token: str

    @property
    def master(self) -> str:
        return f"master-data-{self.token}"

    @property
    def manifest(self) -> str:
        return f"manifest-{self.token}"

    @property
    def event_log(self) -> str:
        return f"ocel-{self.token}"

    @property
    def balances(self) -> str:
        return f"balances-{self.token}"

    def period_close(self, company_index: int) -> tuple[str, int]:
        return (f"period-close-{self.token}", company_index)

    def block(self, table: str, index: int) -> tuple[str, int]:
        return (f"{table}-{self.token}", index)


def graph_keys(config: DatasynthConfig, root: str) -> GraphKeys:
    """Keys from what the run generates and where it writes: the same run always gets the same
    keys; two different runs on one Dask cluster never share a task."""
    text = f"{config_fingerprint(config)}|{root}|{config.output.resume}"
    return GraphKeys(hashlib.sha256(text.encode()).hexdigest()[:16])


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


def build_graph(
    config: DatasynthConfig, plan: Plan, root: str
) -> tuple[dict[Any, Any], list[Any], GraphKeys]:
    """The task graph, the keys of the block tasks (in plan order) and the run's key names."""
    names = graph_keys(config, root)
    width = max(5, len(str(max(len(plan.blocks) - 1, 0))))
    graph: dict[Any, Any] = {names.master: (_build_master, config)}
    keys: list[Any] = []
    for block in (*(plan.blocks_of(t)[0] for t in plan.master_tables), *plan.blocks):
        key = names.block(block.table, block.index)
        graph[key] = (write_block, config, names.master, block, root, width)
        keys.append(key)
    finals = list(keys)
    if config.balances.enabled:
        # Dask reductions over the written journal entries (ledger sums and open items per
        # block), the close stage that posts from the sums, then one task writes the balances
        journal_keys = keys[len(plan.master_tables) :]
        totals, item_keys = reduction_graph(
            graph, names.balances, config, names.master, plan.blocks, journal_keys, root, width
        )
        close_keys = [names.period_close(i) for i in range(len(totals))]
        for i, (key, total) in enumerate(zip(close_keys, totals, strict=True)):
            graph[key] = (write_period_close, config, names.master, root, i, total)
        aging = tree(graph, f"{names.balances}-aging", [*item_keys, *close_keys], total_aging)
        graph[names.balances] = (
            write_balances,
            config,
            names.master,
            root,
            totals,
            close_keys,
            aging,
        )
        finals += [*item_keys, *close_keys, names.balances]
    if config.graph_export.enabled:
        # one task per journal block (after that block), one for the close entries (after the
        # close stage), one for the master data (after every block: it reads the labels)
        by_block = dict(
            zip((b.index for b in plan.blocks), keys[len(plan.master_tables) :], strict=True)
        )
        master_keys = keys[: len(plan.master_tables)]
        stems = [
            (
                stem,
                block,
                [by_block[block] if block >= 0 else names.period_close(-1 - block), *master_keys],
            )
            for stem, block in block_stems(config, width, list(by_block))
        ]
        finals.append(add_stage(graph, names.token, config, root, stems, list(keys)))
    if config.report.enabled:
        # the fidelity report reads what every other task wrote
        report_stems = [s for s, _ in block_stems(config, width, [b.index for b in plan.blocks])]
        finals.append(add_report(graph, names.token, config, root, report_stems, list(finals)))
    if plan.flow_tables and config.document_flows.ocel.enabled:
        # the event log spans every block, so it waits for all of them
        graph[names.event_log] = (write_event_log, config, root, *keys)
        finals.append(names.event_log)
    graph[names.manifest] = (_finish, config, plan, root, finals)
    return graph, keys, names


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
        if not record.get("skipped"):  # resumed blocks cost nothing; keep rows/s honest
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
    check_output(config)
    _check_opening(config)
    rt = config.runtime
    progress_enabled = (rt.progress and sys.stderr.isatty()) or os.environ.get(
        "DATASYNTH_PROGRESS"
    ) == "1"
    if rt.scheduler == "distributed" or rt.cluster:
        # the cluster is reached (or started) before anything is written to output.dir
        with _distributed_client(config) as client:
            root = str(prepare_output(config))
            graph, keys, names = build_graph(config, plan, root)
            result = _run_distributed(client, graph, keys, names, progress_enabled)
    else:
        root = str(prepare_output(config))
        graph, keys, names = build_graph(config, plan, root)
        progress = _Progress(len(keys), progress_enabled)
        try:
            with _local_callback(progress, set(keys)):
                result = _run_local(config, graph, names)
        finally:
            progress.close()
    records = result["records"]
    return RunResult(
        output_dir=root,
        manifest=result["manifest"],
        seconds=time.perf_counter() - started,
        # table rows written (the event log's events are not rows of a table)
        rows=sum(int(f["rows"]) for r in records for f in r["files"] if f["table"] != "ocel"),
        blocks_skipped=sum(1 for r in records if r.get("skipped")),
        peak_rss=max((int(r.get("peak_rss", 0)) for r in records), default=0),
    )


def _check_opening(config: DatasynthConfig) -> None:
    """Every company's opening balance sheet fits an amount, before anything is written (the
    master data it needs is built here once; local schedulers reuse it)."""
    if not config.balances.enabled:
        return
    master = plan_and_master(config)[1]
    problems = []
    for i in range(len(master.companies)):
        try:
            opening_total_assets(config, master, i)
        except ValueError as exc:
            problems.append(str(exc))
    if problems:
        raise ConfigError(problems)


def _run_local(config: DatasynthConfig, graph: dict[Any, Any], names: GraphKeys) -> dict[str, Any]:
    rt = config.runtime
    if rt.scheduler == "synchronous":
        from dask.local import get_sync

        return get_sync(graph, names.manifest)  # type: ignore[no-any-return]
    if rt.scheduler == "threads":
        from dask.threaded import get as threaded_get

        return threaded_get(graph, names.manifest, num_workers=rt.workers)  # type: ignore[no-any-return]
    from dask.multiprocessing import get as process_get

    return process_get(graph, names.manifest, num_workers=rt.workers)  # type: ignore[no-any-return]


@contextmanager
def _distributed_client(config: DatasynthConfig) -> Iterator[Any]:
    """A client of ``runtime.cluster``, or of a LocalCluster started for this run."""
    from distributed import Client, LocalCluster

    rt = config.runtime
    cluster = None
    if rt.cluster:
        try:
            client = Client(rt.cluster, set_as_default=False, timeout="20s")
        except OSError as exc:
            raise ConfigError(
                [f"runtime.cluster: cannot reach a Dask scheduler at {rt.cluster!r} ({exc})"]
            ) from None
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
        yield client
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def _run_distributed(
    client: Any, graph: dict[Any, Any], keys: list[Any], names: GraphKeys, progress_enabled: bool
) -> dict[str, Any]:
    from distributed import as_completed

    progress = _Progress(len(keys), progress_enabled, note=f"dashboard: {client.dashboard_link}")
    try:
        futures = client.get(graph, [*keys, names.manifest], sync=False)
        block_futures, manifest_future = futures[:-1], futures[-1]
        for _future, record in as_completed(block_futures, with_results=True, loop=client.loop):
            progress.update(record)
        return manifest_future.result()  # type: ignore[no-any-return]
    finally:
        progress.close()
