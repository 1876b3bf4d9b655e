"""The fidelity report as Dask tasks over the written dataset (``report/``).

One task per journal-entry block (and one for the close entries) measures that block's files
(``datasynth.eval.fidelity.block_stats``); a last task adds the measurements up, reads the
small balances tables, runs the checks and writes ``report/report.json`` and the
self-contained ``report/report.html``. It runs as the last stage of generation
(``report.enabled: true``) or alone (``datasynth evaluate OUTPUT_DIR``), on the run's
scheduler.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from datasynth.config.models import DatasynthConfig
from datasynth.eval.checks import checks
from datasynth.eval.fidelity import (
    CHAIN_AGE_DAYS,
    Stats,
    block_stats,
    chain_stats,
    combine,
    context,
)
from datasynth.eval.report import plots, render_html
from datasynth.generators.anomalies import LABEL_SCHEMA
from datasynth.generators.document_flows import FLOW_SCHEMAS
from datasynth.generators.master import COST_CENTER_SCHEMA
from datasynth.graph_export.tables import DOCUMENT_TABLES, DOCUMENT_TYPES
from datasynth.runtime.graph_export import _optional, _read, _suffix, read_journal, read_master
from datasynth.sinks.files import FileRecord, place_bytes

REPORT = "report"


_IDS: dict[tuple[str, str], dict[str, pa.Array]] = {}


def _master_ids(config: DatasynthConfig, root: Path) -> dict[str, pa.Array]:
    """The master ids a journal line may name (read once per process and run)."""
    # the files' modification times keep a regenerated directory from reusing stale ids
    stamps = ",".join(
        str(p.stat().st_mtime_ns) for p in sorted((root / "master_data").glob("*")) if p.is_file()
    )
    key = (str(root), f"{config.output.format}:{stamps}")
    if key not in _IDS:
        _IDS.clear()
        _IDS[key] = _read_master_ids(config, root)
    return _IDS[key]


def _read_master_ids(config: DatasynthConfig, root: Path) -> dict[str, pa.Array]:
    master = read_master(config, root)
    users = master["users"]["user_id"].combine_chunks()
    suffix = _suffix(config)
    centers = _read(
        root / "master_data" / f"cost_centers{suffix}", COST_CENTER_SCHEMA, config.output.format
    )
    return {
        "gl_account": master["chart_of_accounts"]["account_number"].combine_chunks(),
        "vendor_id": master["vendors"]["vendor_id"].combine_chunks(),
        "customer_id": master["customers"]["customer_id"].combine_chunks(),
        "created_by": users,
        "approved_by": users,
        "cost_center": centers["cost_center"].combine_chunks(),
    }


def measure_block(config: DatasynthConfig, root: str, stem: str, *_after: Any) -> Stats:
    """The measurements of one block (``stem``: its file name, or a company's ``close-CODE``)."""
    from datasynth.runtime.blocks import plan_and_master

    path = Path(root)
    fmt, suffix = config.output.format, _suffix(config)
    journal = read_journal(config, path, stem)
    labels = _optional(path / "labels" / "anomaly_labels" / f"{stem}{suffix}", LABEL_SCHEMA, fmt)
    documents = references = None
    flows: dict[str, pa.Table] = {}
    close = stem.startswith("close")
    if config.document_flows.enabled and not close:
        ids = []
        for name in DOCUMENT_TYPES:
            table = _optional(
                path / "document_flows" / name / f"{stem}{suffix}", FLOW_SCHEMAS[name], fmt
            )
            if table is not None:
                flows[name] = table
                ids.append(table[DOCUMENT_TABLES[name][0]].combine_chunks())
        documents = pa.concat_arrays(ids) if ids else pa.array([], pa.string())
        references = _optional(
            path / "document_flows" / "document_references" / f"{stem}{suffix}",
            FLOW_SCHEMAS["document_references"],
            fmt,
        )
    _, master = plan_and_master(config)
    ctx = context(config, master, _master_ids(config, path))
    stats_ = block_stats(journal, labels, documents, references, ctx, not close)
    if flows:
        cutoff = ctx.window_first + ctx.window_days - CHAIN_AGE_DAYS
        chain_stats(flows, cutoff, stats_)
    return stats_


def _trial_balances(config: DatasynthConfig, root: Path) -> pa.Table | None:
    from datasynth.generators.balances import TRIAL_BALANCE_SCHEMA

    path = root / "balances" / f"trial_balances{_suffix(config)}"
    return _optional(path, TRIAL_BALANCE_SCHEMA, config.output.format)


def write_report(config: DatasynthConfig, root: str, *parts: Stats) -> dict[str, Any]:
    """Add up the blocks' measurements, check them and write ``report/``."""
    from datasynth.runtime.blocks import plan_and_master

    path = Path(root)
    stats_ = combine([p for p in parts if isinstance(p, Stats)])
    _, master = plan_and_master(config)
    tb = _trial_balances(config, path)
    recon = _reconciliation(config, path)
    chart = read_master(config, path)["chart_of_accounts"]
    found, data = checks(
        stats_, config, master, tb, recon, chart, has_flows=config.document_flows.enabled
    )
    first_day = int(
        min(np.datetime64(c.periods[0].first, "D").astype(np.int64) for c in master.companies)
    )
    ends = sorted(
        {
            int(np.datetime64(p.stop, "D").astype(np.int64)) - 1
            for c in master.companies
            for p in c.periods
        }
    )
    images = plots(data, ends, first_day)
    summary = {
        "dataset": str(path),
        "seed": config.global_.seed,
        "companies": len(master.companies),
        "journal lines": f"{stats_.lines:,}",
        "journal entries": f"{stats_.entries:,}",
        "window": f"{config.global_.start_date} to {config.global_.stop_date}",
    }
    report = {
        "summary": summary,
        "passed": all(c.status != "fail" for c in found),
        "counts": {
            s: sum(c.status == s for c in found) for s in ("pass", "fail", "not_applicable")
        },
        "checks": [c.to_json() for c in found],
        "plots": sorted(images),
    }
    records = []
    for name, payload in (
        ("report.json", (json.dumps(report, indent=2) + "\n").encode()),
        ("report.html", render_html(summary, found, images).encode()),
    ):
        relative = f"{REPORT}/{name}"
        place_bytes(path, relative, payload)
        records.append(
            FileRecord(
                relative, REPORT, -1, len(found), len(payload), hashlib.sha256(payload).hexdigest()
            ).to_json()
        )
    return {"files": records, "rows": 0, "report": report}


def _reconciliation(config: DatasynthConfig, root: Path) -> pa.Table | None:
    from datasynth.runtime.subledgers import RECONCILIATION_SCHEMA

    path = root / "subledgers" / f"reconciliation{_suffix(config)}"
    return _optional(path, RECONCILIATION_SCHEMA, config.output.format)


def add_stage(
    graph: dict[Any, Any],
    token: str,
    config: DatasynthConfig,
    root: str,
    stems: list[str],
    after: list[Any],
) -> str:
    """Add the report's tasks to ``graph`` (each waits for ``after``); returns the last key."""
    # one barrier: every measuring task waits for it, not for each earlier task
    barrier = f"report-after-{token}"
    graph[barrier] = (_barrier, *after)
    keys = []
    for stem in stems:
        key = (f"report-{token}", stem)
        graph[key] = (measure_block, config, root, stem, barrier)
        keys.append(key)
    final = f"report-{token}"
    graph[final] = (write_report, config, root, *keys)
    return final


def _barrier(*_after: Any) -> None:
    return None


def stems_of(config: DatasynthConfig) -> list[str]:
    from datasynth.runtime.balances import close_stems
    from datasynth.runtime.plan import build_plan

    plan = build_plan(config)
    width = max(5, len(str(max(len(plan.blocks) - 1, 0))))
    stems = [f"part-{b.index:0{width}d}" for b in plan.blocks]
    return [*stems, *(s for s, _ in close_stems(config))] if config.balances.enabled else stems


def evaluate(output_dir: str) -> dict[str, Any]:
    """Write ``report/`` for a finished run and add it to the manifest; returns the report."""
    from datasynth.runtime.graph_export import _run
    from datasynth.runtime.output import finished_run, replace_in_manifest

    root, manifest, config = finished_run(output_dir)
    shutil.rmtree(root / REPORT, ignore_errors=True)
    graph: dict[Any, Any] = {}
    key = add_stage(graph, "standalone", config, str(root), stems_of(config), [])
    try:
        result = _run(config, graph, key)
    except BaseException:
        # no half-written report, and the manifest no longer lists one
        shutil.rmtree(root / REPORT, ignore_errors=True)
        replace_in_manifest(root, manifest, (REPORT,), [])
        raise
    replace_in_manifest(root, manifest, (REPORT,), result["files"])
    return result["report"]  # type: ignore[no-any-return]
