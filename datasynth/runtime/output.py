"""The output directory: refuse to clobber, resume interrupted runs, write the manifest.

A complete run is marked by ``manifest.json``; an interrupted one by ``.datasynth/`` (the run's
config fingerprint and one small record per finished block). The manifest is written last,
atomically, and then ``.datasynth/`` is removed.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import uuid
from importlib import metadata
from pathlib import Path
from typing import Any

from datasynth.config.errors import ConfigError
from datasynth.config.models import DatasynthConfig
from datasynth.runtime.blocks import STATE_DIR, config_fingerprint, task_of
from datasynth.runtime.plan import Plan

MANIFEST = "manifest.json"
#: tables written after the blocks (rebuilt on every run, never resumed)
OUTPUT_ONLY_TABLES = (
    "ocel",
    "graph_tables",
    "graph_neo4j",
    "graph_pyg",
    "graph_networkx",
    "report",
    "opening_balances",
    "trial_balances",
    "fa_register",
    "depreciation",
    "ar_open_items",
    "ap_open_items",
    "aging",
    "reconciliation",
    "inventory",
)
#: entries of an output directory that datasynth creates and may remove on overwrite
MANAGED = (
    MANIFEST,
    STATE_DIR,
    "master_data",
    "journal_entries",
    "document_flows",
    "process_mining",
    "balances",
    "subledgers",
    "labels",
    "noisy",
    "graphs",
    "report",
)
_VERSIONED = (
    "datasynth",
    "numpy",
    "pyarrow",
    "dask",
    "distributed",
    "pydantic",
    "hydra-core",
    "holidays",
)


def rebuilt_every_run(record: dict[str, Any]) -> bool:
    """Whether a manifest file record is written after the blocks (the event log, balances,
    close entries): such files are rebuilt by every run, resumed or not."""
    return record["table"] in OUTPUT_ONLY_TABLES or int(record["block"]) < 0


def check_output(config: DatasynthConfig) -> Path:
    """Check that ``output.dir`` can take this run, without writing anything.

    Raises ConfigError when the directory cannot be created or written, or holds a run that
    neither ``output.overwrite`` nor ``output.resume`` (with the same configuration) allows.
    """
    o = config.output
    root = Path(o.dir).expanduser().resolve()
    if config.graph_export.enabled and "pyg" in config.graph_export.formats:
        from datasynth.runtime.graph_export import require_torch

        require_torch()
    if root.exists() and not root.is_dir():
        raise ConfigError([f"output.dir: {str(root)!r} exists and is not a directory"])
    probe = root
    while not probe.exists():
        probe = probe.parent
    if not probe.is_dir():
        raise ConfigError(
            [
                f"output.dir: {str(root)!r} cannot be created because {str(probe)!r} is a file, "
                "not a directory; choose another output.dir"
            ]
        )
    if not os.access(probe, os.W_OK | os.X_OK):
        raise ConfigError(
            [
                f"output.dir: {str(root)!r} is not writable (no write permission on "
                f"{str(probe)!r}); choose another output.dir"
            ]
        )
    fingerprint = config_fingerprint(config)
    present = [name for name in MANAGED if (root / name).exists()]
    if present and o.resume:
        recorded = _recorded_fingerprint(root)
        if recorded is None:
            raise ConfigError(
                [
                    f"output.resume: {str(root)!r} holds datasynth files but no run record; "
                    "set output.overwrite=true to start again"
                ]
            )
        if recorded != fingerprint:
            raise ConfigError(
                [
                    f"output.resume: the run in {str(root)!r} was made with a different "
                    "configuration; resume with the same configuration or set "
                    "output.overwrite=true"
                ]
            )
    elif present and not o.overwrite:
        what = "a complete run" if (root / MANIFEST).exists() else "an interrupted or partial run"
        raise ConfigError(
            [
                f"output.dir: {str(root)!r} already holds {what} ({', '.join(present)}); "
                "set output.overwrite=true to replace it"
                + ("" if (root / MANIFEST).exists() else " or output.resume=true to continue it")
            ]
        )
    return root


def prepare_output(config: DatasynthConfig) -> Path:
    """Check the output directory (:func:`check_output`), then make it ready and mark the run.

    Overwrite removes the previous run's managed entries (nothing else). Resume removes stale
    temporary files and, when the previous run was complete, seeds the block records from its
    manifest so that every intact file is kept.
    """
    root = check_output(config)
    present = [name for name in MANAGED if (root / name).exists()]
    blocks_dir = root / STATE_DIR / "blocks"
    try:
        if present and config.output.overwrite:
            for name in present:
                path = root / name
                shutil.rmtree(path) if path.is_dir() else path.unlink()
        elif present and config.output.resume:
            for stale in root.glob("**/.*.inprogress"):
                stale.unlink()
            if (root / MANIFEST).is_file():
                blocks_dir.mkdir(parents=True, exist_ok=True)
                tasks: dict[str, list[dict[str, Any]]] = {}
                for record in json.loads((root / MANIFEST).read_text())["files"]:
                    if rebuilt_every_run(record):
                        continue
                    tasks.setdefault(task_of(record["table"], record["block"]), []).append(record)
                for task, records in tasks.items():
                    atomic_write(blocks_dir / f"{task}.json", json.dumps({"files": records}))
                (root / MANIFEST).unlink()
        blocks_dir.mkdir(parents=True, exist_ok=True)
        atomic_write(
            root / STATE_DIR / "run.json", json.dumps({"fingerprint": config_fingerprint(config)})
        )
    except OSError as exc:
        raise ConfigError([f"output.dir: cannot write to {str(root)!r}: {exc.strerror}"]) from None
    return root


def _recorded_fingerprint(root: Path) -> str | None:
    for path, key in (
        (root / STATE_DIR / "run.json", "fingerprint"),
        (root / MANIFEST, "fingerprint"),
    ):
        if path.is_file():
            value = json.loads(path.read_text()).get(key)
            return str(value) if value else None
    return None


def atomic_write(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.inprogress")
    tmp.write_text(text)
    os.replace(tmp, path)


def versions() -> dict[str, str]:
    import sqlite3

    # the event log's SQLite bytes depend on the SQLite library
    out = {"python": platform.python_version(), "sqlite": sqlite3.sqlite_version}
    for name in _VERSIONED:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return out


def write_manifest(
    config: DatasynthConfig, plan: Plan, root: str, records: list[dict[str, Any]]
) -> dict[str, Any]:
    """Write ``manifest.json`` from the block records and clear the run state. Returns it."""
    out = Path(root)
    files = sorted(
        (
            {k: f[k] for k in ("path", "table", "block", "rows", "bytes", "sha256")}
            for r in records
            for f in r["files"]
        ),
        key=lambda r: r["path"],
    )
    tables: dict[str, dict[str, int]] = {}
    for f in files:
        t = tables.setdefault(f["table"], {"files": 0, "rows": 0, "bytes": 0})
        t["files"] += 1
        t["rows"] += f["rows"]
        t["bytes"] += f["bytes"]
    manifest = {
        "format_version": 1,
        "seed": config.global_.seed,
        "fingerprint": config_fingerprint(config),
        "config": config.to_plain(),
        "versions": versions(),
        "plan": {"blocks": len(plan.blocks), "entries": plan.entries},
        "tables": tables,
        "files": files,
    }
    atomic_write(out / MANIFEST, json.dumps(manifest, indent=2, sort_keys=False) + "\n")
    shutil.rmtree(out / STATE_DIR, ignore_errors=True)
    return manifest


def finished_run(output_dir: str) -> tuple[Path, dict[str, Any], DatasynthConfig]:
    """The root, manifest and configuration of the complete run in ``output_dir`` (commands
    that work on a finished run: ``ocel``, ``export-graph``, ``evaluate``)."""
    root = Path(output_dir).expanduser().resolve()
    path = root / MANIFEST
    if not path.is_file():
        raise ConfigError(
            [f"output_dir: {str(root)!r} holds no complete datasynth run (no {MANIFEST})"]
        )
    manifest = json.loads(path.read_text())
    return root, manifest, DatasynthConfig.model_validate(manifest["config"])


def replace_in_manifest(
    root: Path, manifest: dict[str, Any], tables: tuple[str, ...], files: list[dict[str, Any]]
) -> None:
    """Rewrite the manifest with the records of ``tables`` replaced by ``files`` (none: the
    tables are gone) and their totals recomputed."""
    kept = [f for f in manifest["files"] if f["table"] not in tables]
    manifest["files"] = sorted(kept + files, key=lambda f: f["path"])
    totals = {k: v for k, v in manifest["tables"].items() if k not in tables}
    for name in tables:
        mine = [f for f in files if f["table"] == name]
        if mine:
            totals[name] = {
                "files": len(mine),
                "rows": sum(f["rows"] for f in mine),
                "bytes": sum(f["bytes"] for f in mine),
            }
    manifest["tables"] = totals
    atomic_write(root / MANIFEST, json.dumps(manifest, indent=2) + "\n")
