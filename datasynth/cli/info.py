"""``datasynth info``: presets, tables and the plan of a configuration with an output estimate."""

from __future__ import annotations

from dataclasses import replace

from datasynth.config.loading import available_presets, conf_dir
from datasynth.config.models import DatasynthConfig
from datasynth.generators.journal_entries import mean_lines_per_entry
from datasynth.generators.master import TASK_TABLES, generate_master_table, task_table_rows
from datasynth.runtime.blocks import plan_and_master, relative_path
from datasynth.runtime.plan import JOURNAL_ENTRIES
from datasynth.sinks.files import serialise


def _preset_summary(name: str) -> str:
    for line in (conf_dir() / "preset" / f"{name}.yaml").read_text().splitlines():
        if line.startswith("#") and "@package" not in line:
            return line.lstrip("# ").strip()
    return ""


def estimated_rows_and_bytes(config: DatasynthConfig) -> tuple[dict[str, int], dict[str, int]]:
    """Rows of the block tables (journal lines, flow documents) and output size per table,
    scaled from a sample block serialised in the configured format."""
    from datasynth.runtime.blocks import materialise_all

    plan, master = plan_and_master(config)
    o = config.output
    out: dict[str, int] = {}
    for table in plan.master_tables:
        if table in master.tables:
            out[table] = len(
                serialise(master.tables[table], o.format, o.compression, o.compression_level)
            )
    # partner tables: the first company's, scaled to the group
    sample_cfg = config.model_copy(update={"companies": config.companies[:1]})
    _, sample_master = plan_and_master(sample_cfg)
    for table in TASK_TABLES:
        one = generate_master_table(sample_cfg, sample_master, table)
        size = len(serialise(one, o.format, o.compression, o.compression_level))
        out[table] = size * len(config.companies)
    rows: dict[str, int] = {}
    if plan.blocks:
        sample = replace(plan.blocks[0], entries=min(plan.blocks[0].entries, 4000))
        for table, data in materialise_all(config, master, sample).items():
            scale = plan.entries / max(sample.entries, 1)
            rows[table] = round(data.num_rows * scale)
            size = len(serialise(data, o.format, o.compression, o.compression_level))
            out[table] = round(size * scale)
    return rows, out


def _size(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if n < 1024 or unit == "TiB":
            return f"{n:,.1f} {unit}"
        n /= 1024
    return f"{n:.1f}"


def print_info(config: DatasynthConfig) -> None:
    plan, master = plan_and_master(config)
    print("presets (select with +preset=NAME):")
    for name in available_presets():
        print(f"  {name:<20} {_preset_summary(name)}")
    block_rows, sizes = estimated_rows_and_bytes(config)
    print(
        f"\nplan for this configuration (seed {config.global_.seed}, "
        f"{config.global_.start_date} to {config.global_.stop_date}, exclusive; "
        f"format {config.output.format}):"
    )
    print(f"  {'table':<20} {'rows':>16} {'blocks':>8} {'estimated size':>16}")
    for table in plan.master_tables:
        if table in master.tables:
            rows = master.tables[table].num_rows
        else:
            rows = task_table_rows(config, table)
        print(f"  {table:<20} {rows:>16,} {1:>8} {_size(sizes[table]):>16}")
    for table in (JOURNAL_ENTRIES, *plan.flow_tables):
        print(
            f"  {table:<20} {block_rows.get(table, 0):>16,} {len(plan.blocks):>8} "
            f"{_size(sizes.get(table, 0)):>16}"
        )
    print(
        f"\n  journal entries planned: {plan.entries:,} (standalone entries about "
        f"{mean_lines_per_entry(config):.2f} lines each"
        + ("; document flows post the P2P/O2C share" if plan.flow_tables else "")
        + f"); companies: {', '.join(c.code for c in config.companies)}"
    )
    print("  rows of block tables are estimated from a sample block (flows near the window end")
    print("  are cut off, so short windows come out lower)")
    print(f"  total estimated size: {_size(sum(sizes.values()))} in {config.output.dir}")
    if plan.blocks:
        print(f"  first block file: {relative_path(config, plan.blocks[0])}")
    print(
        f"  runtime: {config.runtime.scheduler} scheduler, {config.runtime.workers} workers, "
        f"~{config.runtime.block_rows:,} lines per block"
    )
