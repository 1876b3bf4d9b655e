"""The OCEL 2.0 event log of a run, built from the document-flow files it wrote.

Runs as one task after every block (the log spans all blocks), or on its own over an existing
output directory (``datasynth ocel OUTPUT_DIR``), since it reads only the written files.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow as pa

from datasynth.config.models import DatasynthConfig
from datasynth.generators.document_flows import FLOW_SCHEMAS
from datasynth.generators.process_mining import OBJECT_TYPES, build_event_log
from datasynth.sinks.files import FileRecord, read_table
from datasynth.sinks.ocel import write_ocel


def read_flow_tables(root: Path, fmt: str) -> dict[str, pa.Table]:
    """The document tables of the run in ``root`` (files in path order: deterministic)."""
    out: dict[str, pa.Table] = {}
    for name in OBJECT_TYPES:
        schema = FLOW_SCHEMAS[name]
        folder = root / "document_flows" / name
        files = sorted(p for p in folder.glob("part-*") if p.is_file()) if folder.is_dir() else []
        parts = [read_table(p, schema, fmt) for p in files]
        out[name] = pa.concat_tables(parts) if parts else schema.empty_table()
    return out


def write_event_log(config: DatasynthConfig, root: str, *_after: Any) -> dict[str, Any]:
    """Build and write the log; returns the task's file records (``_after``: block results
    this task must wait for)."""
    path = Path(root)
    tables = read_flow_tables(path, config.output.format)
    log = build_event_log(tables)
    records: list[FileRecord] = write_ocel(
        path,
        config.document_flows.ocel.formats,
        log.events,
        log.event_objects,
        log.objects,
        log.object_objects,
    )
    return {
        "files": [r.to_json() for r in records],
        "rows": log.events.num_rows,
        "skipped": False,
    }


def export_event_log(output_dir: str, formats: tuple[str, ...] | None = None) -> dict[str, Any]:
    """Build the event log of a finished run in ``output_dir`` and add it to its manifest.

    For runs made with ``document_flows.ocel.enabled: false`` (the large presets) or to rebuild
    the log. Raises ConfigError when the directory holds no complete run with document flows.
    """
    from datasynth.config.errors import ConfigError
    from datasynth.runtime.output import finished_run, replace_in_manifest

    root, manifest, config = finished_run(output_dir)
    if not config.document_flows.enabled:
        raise ConfigError(
            [
                f"output_dir: the run in {str(root)!r} was made with document_flows.enabled: "
                "false, so it has no flows to log; generate it with document flows enabled"
            ]
        )
    chosen = formats or config.document_flows.ocel.formats
    unknown = sorted(set(chosen) - {"json", "sqlite"})
    if unknown or not chosen:
        raise ConfigError([f"--formats: {unknown or 'nothing'} given; allowed: json, sqlite"])
    ocel = config.document_flows.ocel.model_copy(update={"formats": tuple(sorted(set(chosen)))})
    flows = config.document_flows.model_copy(update={"ocel": ocel})
    result = write_event_log(config.model_copy(update={"document_flows": flows}), str(root))
    # a form not chosen this time must not linger next to the new log
    for form in {"json", "sqlite"} - set(ocel.formats):
        (root / "process_mining" / f"ocel.{form}").unlink(missing_ok=True)
    replace_in_manifest(root, manifest, ("ocel",), result["files"])
    return result
