"""Journal-line throughput: datasynth against a raw numpy + pyarrow baseline, in one run.

    python benchmarks/bench_journal_entries.py                 # ~10M lines, 2 workers
    python benchmarks/bench_journal_entries.py --lines 50000000 --memory
    python benchmarks/bench_journal_entries.py --flows         # medium preset, flows off vs on
    python benchmarks/bench_journal_entries.py --balances      # medium preset, balances off vs on
    python benchmarks/bench_journal_entries.py --labels        # anomalies and data quality off vs on
    python benchmarks/bench_journal_entries.py --graphs --preset small   # graph export of a run
    python benchmarks/bench_journal_entries.py --graphs --partitioned-only  # medium, Neo4j + edge lists
    python benchmarks/bench_journal_entries.py --evaluate --preset small    # the fidelity report

Both sides use the same number of worker processes, the same block size and the same Parquet
settings (zstd, dictionary only on dictionary columns, decimals stored as integers). The
baseline builds a table of the journal-entry schema from random values and writes it, which is
the floor for any generator; datasynth's ratio to it is the number to watch, because absolute
speed on a shared machine is noisy. ``--memory`` also compares the peak RSS per worker of a
5M-line and a 50M-line run (it should not grow with the total).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

import datasynth
from datasynth.core.ids import fixed_width_strings
from datasynth.core.money import decimal_from_minor
from datasynth.generators.document_flows import FLOW_TABLES
from datasynth.generators.journal_entries import PARTITION_COLUMNS, SCHEMA
from datasynth.generators.process_mining import OBJECT_TYPES
from datasynth.sinks.files import write_table

LINES_PER_ENTRY = 11.4


def _random_block(args: tuple[int, int, str]) -> dict[str, int]:
    """Baseline task: random values in the journal-entry schema, written like datasynth does."""
    index, rows, root = args
    rng = np.random.default_rng(index)
    schema = pa.schema([f for f in SCHEMA if f.name not in PARTITION_COLUMNS])
    arrays: list[pa.Array] = []
    for field in schema:
        t = field.type
        if field.name == "document_id":
            arrays.append(
                fixed_width_strings("JE-1000-202401-", np.sort(rng.integers(0, 10**11, rows)), 11)
            )
        elif pa.types.is_dictionary(t):
            vocab = pa.array([f"value-{i:04d}" for i in range(200)])
            arrays.append(
                pa.DictionaryArray.from_arrays(
                    pa.array(rng.integers(0, 200, rows, dtype=np.int32)), vocab
                )
            )
        elif pa.types.is_decimal(t):
            arrays.append(decimal_from_minor(rng.integers(1, 10**8, rows)))
        elif pa.types.is_date(t):
            arrays.append(
                pa.array(rng.integers(19_700, 19_800, rows).astype(np.int32), pa.date32())
            )
        elif pa.types.is_timestamp(t):
            arrays.append(pa.array(rng.integers(0, 10**12, rows), t))
        elif pa.types.is_integer(t):
            arrays.append(pa.array(rng.integers(1, 100, rows).astype(t.to_pandas_dtype())))
        elif pa.types.is_boolean(t):
            arrays.append(pa.array(rng.random(rows) < 0.01))
        else:
            arrays.append(pa.nulls(rows, t))
    table = pa.Table.from_arrays(arrays, schema=schema)
    record = write_table(
        table,
        Path(root),
        f"part-{index:05d}.parquet",
        table_name="baseline",
        block=index,
        fmt="parquet",
        compression="zstd",
    )
    return {
        "rows": record.rows,
        "peak_rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
    }


def run_baseline(lines: int, block_rows: int, workers: int, root: Path) -> dict[str, Any]:
    blocks = [
        (i, min(block_rows, lines - i * block_rows), str(root))
        for i in range(-(-lines // block_rows))
    ]
    ctx = mp.get_context("spawn")
    with ctx.Pool(workers) as pool:
        pool.map(_random_block, blocks[:workers])  # warm the workers (imports) outside the timing
        start = time.perf_counter()
        results = pool.map(_random_block, blocks, chunksize=1)
        seconds = time.perf_counter() - start
    rows = sum(r["rows"] for r in results)
    return {"rows": rows, "seconds": seconds, "rows_per_s_per_core": rows / seconds / workers}


def run_datasynth(
    lines: int,
    block_rows: int,
    workers: int,
    root: Path,
    scheduler: str,
    months: int = 12,
    extra: tuple[str, ...] = ("document_flows.enabled=false", "balances.enabled=false"),
) -> dict[str, Any]:
    size = (
        [f"transactions.count={round(lines / LINES_PER_ENTRY)}", f"global.period_months={months}"]
        if lines
        else []
    )
    cfg = datasynth.load_config(
        [
            *extra,
            *size,
            f"runtime.block_rows={block_rows}",
            f"runtime.workers={workers}",
            f"runtime.scheduler={scheduler}",
            "runtime.progress=false",
            f"output.dir={root}",
            "output.overwrite=true",
        ]
    )
    result = datasynth.generate(cfg)
    tables = result.manifest["tables"]
    lines_written = tables["journal_entries"]["rows"]
    documents = _documents(root) if cfg.document_flows.enabled else 0
    return {
        "rows": lines_written,
        "seconds": result.seconds,
        "rows_per_s_per_core": lines_written / result.seconds / workers,
        "documents": documents,
        "documents_per_s_per_core": documents / result.seconds / workers,
        "document_rows": sum(v["rows"] for k, v in tables.items() if k in FLOW_TABLES),
        "blocks": result.manifest["plan"]["blocks"],
        "peak_rss_per_worker_mib": round(result.peak_rss / 2**20, 1),
        "bytes": sum(t["bytes"] for t in result.manifest["tables"].values()),
    }


def _documents(root: Path) -> int:
    """Distinct flow documents written (item tables hold one row per document item)."""
    import pyarrow.dataset as ds

    total = 0
    for table, (_, key) in OBJECT_TYPES.items():
        ids = ds.dataset(root / "document_flows" / table, format="parquet").to_table(columns=[key])
        total += len(ids[key].unique())
    return total


def run_flows(args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    """The medium preset with document flows off and on, and the baseline, in one run."""
    preset = (f"+preset={args.preset}",)
    off = run_datasynth(
        0,
        args.block_rows,
        args.workers,
        tmp / "off",
        args.scheduler,
        extra=(*preset, "document_flows.enabled=false", "balances.enabled=false"),
    )
    shutil.rmtree(tmp / "off", ignore_errors=True)
    on = run_datasynth(
        0,
        args.block_rows,
        args.workers,
        tmp / "on",
        args.scheduler,
        extra=(
            *preset,
            "document_flows.enabled=true",
            "document_flows.ocel.enabled=false",
            "balances.enabled=false",
        ),
    )
    shutil.rmtree(tmp / "on", ignore_errors=True)
    base = run_baseline(on["rows"], args.block_rows, args.workers, tmp / "baseline")
    shutil.rmtree(tmp / "baseline", ignore_errors=True)
    return {
        "preset": args.preset,
        "flows_off": off,
        "flows_on": on,
        "baseline": base,
        "ratio_to_baseline": {
            "flows_off": round(off["rows_per_s_per_core"] / base["rows_per_s_per_core"], 3),
            "flows_on": round(on["rows_per_s_per_core"] / base["rows_per_s_per_core"], 3),
        },
        "journal_lines_flows_on_vs_off": round(
            on["rows_per_s_per_core"] / off["rows_per_s_per_core"], 3
        ),
    }


def run_balances(args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    """The preset with flows on, balances (reduction, subledgers, close) off and on, and the
    baseline, in one run. Journal lines per second of the whole run: the balances stages are
    the price of having them."""
    preset = (f"+preset={args.preset}", "document_flows.ocel.enabled=false")
    runs = {}
    for name, switch in (("balances_off", "false"), ("balances_on", "true")):
        runs[name] = run_datasynth(
            0,
            args.block_rows,
            args.workers,
            tmp / name,
            args.scheduler,
            extra=(*preset, f"balances.enabled={switch}"),
        )
        if name == "balances_on":
            tables = json.loads((tmp / name / "manifest.json").read_text())["tables"]
            runs[name]["subledger_rows"] = sum(
                v["rows"]
                for k, v in tables.items()
                if k in ("ar_open_items", "ap_open_items", "inventory", "fa_register")
            )
        shutil.rmtree(tmp / name, ignore_errors=True)
    base = run_baseline(runs["balances_on"]["rows"], args.block_rows, args.workers, tmp / "b")
    shutil.rmtree(tmp / "b", ignore_errors=True)
    off, on = runs["balances_off"], runs["balances_on"]
    return {
        "preset": args.preset,
        **runs,
        "baseline": base,
        "ratio_to_baseline": {
            "balances_off": round(off["rows_per_s_per_core"] / base["rows_per_s_per_core"], 3),
            "balances_on": round(on["rows_per_s_per_core"] / base["rows_per_s_per_core"], 3),
        },
        "seconds_on_vs_off": round(on["seconds"] / off["seconds"], 3),
    }


def run_labels(args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    """The preset (flows on, balances off) plain, with anomaly injection, and with anomalies
    plus the data-quality copy of the journal entries, vendors and customers; and the
    baseline. Journal lines per second of the whole run."""
    preset = (
        f"+preset={args.preset}",
        "document_flows.ocel.enabled=false",
        "balances.enabled=false",
    )
    variants = {
        "plain": (),
        "anomalies": ("anomalies.enabled=true",),
        "anomalies_and_quality": ("anomalies.enabled=true", "data_quality.enabled=true"),
    }
    runs = {}
    for name, switches in variants.items():
        runs[name] = run_datasynth(
            0, args.block_rows, args.workers, tmp / name, args.scheduler, extra=(*preset, *switches)
        )
        tables = json.loads((tmp / name / "manifest.json").read_text())["tables"]
        runs[name]["label_rows"] = sum(
            v["rows"]
            for k, v in tables.items()
            if k.startswith(("anomaly_labels", "quality_labels"))
        )
        runs[name]["noisy_rows"] = sum(
            v["rows"] for k, v in tables.items() if k.startswith("noisy_")
        )
        shutil.rmtree(tmp / name, ignore_errors=True)
    base = run_baseline(runs["plain"]["rows"], args.block_rows, args.workers, tmp / "b")
    shutil.rmtree(tmp / "b", ignore_errors=True)
    plain = runs["plain"]
    return {
        "preset": args.preset,
        **runs,
        "baseline": base,
        "ratio_to_baseline": {
            k: round(v["rows_per_s_per_core"] / base["rows_per_s_per_core"], 3)
            for k, v in runs.items()
        },
        "seconds_vs_plain": {k: round(v["seconds"] / plain["seconds"], 3) for k, v in runs.items()},
    }


def run_graphs(args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    """Generate the preset with anomalies, then time ``export_graph`` on it: the partitioned
    formats (Neo4j files and edge lists, GraphML above its size limit skipped) and PyTorch
    Geometric (which reads every partition into one task). Journal lines exported per second
    per core, against the baseline writing as many lines."""
    from datasynth.runtime.graph_export import export_graph

    root = tmp / "run"
    preset = (
        f"+preset={args.preset}",
        "anomalies.enabled=true",
        "document_flows.ocel.enabled=false",
    )
    generated = run_datasynth(0, args.block_rows, args.workers, root, args.scheduler, extra=preset)
    runs: dict[str, Any] = {}
    exports = {"neo4j_networkx": ("neo4j", "networkx"), "pyg": ("pyg",)}
    if args.partitioned_only:
        exports.pop("pyg")
    for name, formats in exports.items():
        start = time.perf_counter()
        result = export_graph(str(root), formats)
        seconds = time.perf_counter() - start
        runs[name] = {
            "seconds": round(seconds, 2),
            "rows_per_s_per_core": generated["rows"] / seconds / args.workers,
            "files": len(result["files"]),
            "bytes": sum(f["bytes"] for f in result["files"]),
            "peak_rss_per_worker_mib": round(result["peak_rss"] / 2**20, 1),
        }
    meta = json.loads((root / "graphs" / "metadata.json").read_text())
    shutil.rmtree(root, ignore_errors=True)
    base = run_baseline(generated["rows"], args.block_rows, args.workers, tmp / "b")
    shutil.rmtree(tmp / "b", ignore_errors=True)
    return {
        "preset": args.preset,
        "journal_lines": generated["rows"],
        "generation_seconds": round(generated["seconds"], 2),
        "nodes": sum(meta["nodes"].values()),
        "edges": sum(meta["edges"].values()),
        "export": runs,
        "baseline": base,
        "ratio_to_baseline": {
            k: round(v["rows_per_s_per_core"] / base["rows_per_s_per_core"], 3)
            for k, v in runs.items()
        },
    }


def run_evaluate(args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    """Generate the preset with anomalies, then time ``datasynth evaluate`` on it: journal lines
    measured per second per core, against the baseline writing as many lines."""
    from datasynth.runtime.evaluate import evaluate

    root = tmp / "run"
    preset = (
        f"+preset={args.preset}",
        "anomalies.enabled=true",
        "document_flows.ocel.enabled=false",
    )
    generated = run_datasynth(0, args.block_rows, args.workers, root, args.scheduler, extra=preset)
    start = time.perf_counter()
    report = evaluate(str(root))
    seconds = time.perf_counter() - start
    shutil.rmtree(root, ignore_errors=True)
    base = run_baseline(generated["rows"], args.block_rows, args.workers, tmp / "b")
    shutil.rmtree(tmp / "b", ignore_errors=True)
    rate = generated["rows"] / seconds / args.workers
    return {
        "preset": args.preset,
        "journal_lines": generated["rows"],
        "generation_seconds": round(generated["seconds"], 2),
        "evaluate_seconds": round(seconds, 2),
        "rows_per_s_per_core": rate,
        "checks": report["counts"],
        "baseline": base,
        "ratio_to_baseline": round(rate / base["rows_per_s_per_core"], 3),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=10_000_000)
    parser.add_argument("--block-rows", type=int, default=1_000_000)
    parser.add_argument("--workers", type=int, default=min(2, os.cpu_count() or 1))
    parser.add_argument("--scheduler", default="processes", choices=["processes", "distributed"])
    parser.add_argument(
        "--memory", action="store_true", help="also compare peak RSS of 5M and 50M lines"
    )
    parser.add_argument("--json", type=Path, help="write the results here as JSON")
    parser.add_argument(
        "--flows",
        action="store_true",
        help="document flows off vs on for --preset (journal lines and documents per second)",
    )
    parser.add_argument(
        "--balances",
        action="store_true",
        help="balances, subledgers and period close off vs on for --preset",
    )
    parser.add_argument(
        "--labels",
        action="store_true",
        help="anomaly injection and data-quality noise off vs on for --preset",
    )
    parser.add_argument(
        "--graphs",
        action="store_true",
        help="graph export (Neo4j + edge lists, and PyTorch Geometric) of --preset with anomalies",
    )
    parser.add_argument(
        "--evaluate",
        action="store_true",
        help="the fidelity report (datasynth evaluate) of --preset with anomalies",
    )
    parser.add_argument(
        "--partitioned-only",
        action="store_true",
        help="with --graphs: only the partitioned formats (no PyTorch Geometric)",
    )
    parser.add_argument(
        "--preset",
        default="medium",
        help="the preset --flows/--balances/--labels/--graphs/--evaluate runs",
    )
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="datasynth-bench-"))
    machine = {
        "cores": os.cpu_count(),
        "python": sys.version.split()[0],
        "numpy": np.__version__,
        "pyarrow": pa.__version__,
    }
    if args.evaluate:
        try:
            report = {"machine": machine, "workers": args.workers, **run_evaluate(args, tmp)}
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        return _emit(report, args.json)
    if args.graphs:
        try:
            report = {"machine": machine, "workers": args.workers, **run_graphs(args, tmp)}
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        return _emit(report, args.json)
    if args.labels:
        try:
            report = {"machine": machine, "workers": args.workers, **run_labels(args, tmp)}
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        return _emit(report, args.json)
    if args.balances:
        try:
            report = {"machine": machine, "workers": args.workers, **run_balances(args, tmp)}
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        return _emit(report, args.json)
    if args.flows:
        try:
            report = {"machine": machine, "workers": args.workers, **run_flows(args, tmp)}
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        return _emit(report, args.json)
    try:
        ours = run_datasynth(
            args.lines, args.block_rows, args.workers, tmp / "datasynth", args.scheduler
        )
        base = run_baseline(ours["rows"], args.block_rows, args.workers, tmp / "baseline")
        shutil.rmtree(tmp / "baseline", ignore_errors=True)
        report: dict[str, Any] = {
            "machine": machine,
            "workers": args.workers,
            "scheduler": args.scheduler,
            "datasynth": ours,
            "baseline": base,
            "ratio_to_baseline": round(
                ours["rows_per_s_per_core"] / base["rows_per_s_per_core"], 3
            ),
        }
        if args.memory:
            peaks = {}
            for lines in (5_000_000, 50_000_000):
                shutil.rmtree(tmp / "datasynth", ignore_errors=True)
                # 3 months x 2 companies: the largest block of both runs is ~0.96 of block_rows,
                # so the comparison isolates the total from the block size
                peaks[lines] = run_datasynth(
                    lines,
                    args.block_rows,
                    args.workers,
                    tmp / "datasynth",
                    args.scheduler,
                    months=3,
                )
            report["memory"] = {
                f"{k // 1_000_000}M_lines": {
                    "peak_rss_per_worker_mib": v["peak_rss_per_worker_mib"],
                    "rows_per_s_per_core": round(v["rows_per_s_per_core"]),
                }
                for k, v in peaks.items()
            }
            small, large = (peaks[k]["peak_rss_per_worker_mib"] for k in (5_000_000, 50_000_000))
            report["memory"]["ratio_50M_to_5M"] = round(large / small, 3)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return _emit(report, args.json)


def _emit(report: dict[str, Any], path: Path | None) -> int:
    text = json.dumps(report, indent=2)
    print(text)
    if path:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
