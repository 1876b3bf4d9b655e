"""``datasynth [generate|validate|info|init|ocel|export-graph|evaluate] [options] [key=value ...]``.

Without a command the program generates. Arguments with ``=`` are Hydra overrides
(``transactions.count=2000000``, ``+preset=large``). Exit status: 0 success, 3 a failed
``evaluate --quality-gate``, 2 a bad
configuration or command line (nothing written), 1 a failure while generating.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from datasynth.config.errors import ConfigError
from datasynth.config.loading import load_config
from datasynth.config.models import INDUSTRIES, DatasynthConfig

COMMANDS = ("generate", "validate", "info", "init", "ocel", "export-graph", "evaluate")
#: exit status of ``evaluate --quality-gate`` when a check fails
EXIT_GATE = 3
EXIT_CONFIG = 2
EXIT_FAILURE = 1


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="datasynth",
        description="Generate synthetic enterprise-accounting data (Hydra-style key=value overrides).",
        epilog="Examples: datasynth | datasynth +preset=large output.dir=/data/run1 | "
        "datasynth info +preset=medium | datasynth init --industry retail -o my.yaml",
    )
    sub = parser.add_subparsers(dest="command")
    for name, help_text in (
        ("generate", "generate a dataset (the default command)"),
        ("validate", "check a configuration and print the resolved result"),
        ("info", "presets, tables, and the plan of a configuration"),
    ):
        p = sub.add_parser(name, help=help_text)
        p.add_argument("-c", "--config", help="a YAML configuration file (from `datasynth init`)")
        p.add_argument(
            "overrides", nargs="*", help="Hydra overrides such as transactions.count=5000"
        )
        if name == "generate":
            p.add_argument("-q", "--quiet", action="store_true", help="no progress bar or summary")
    p = sub.add_parser("init", help="write a complete, commented configuration file")
    p.add_argument("--industry", default="manufacturing", choices=INDUSTRIES)
    p.add_argument("--complexity", default="medium", choices=["small", "medium", "large"])
    p.add_argument(
        "-o", "--output", default="datasynth.yaml", help="file to write (default datasynth.yaml)"
    )
    p.add_argument("--force", action="store_true", help="replace an existing file")
    p = sub.add_parser(
        "ocel", help="build the OCEL 2.0 event log of a finished run (process_mining/)"
    )
    p.add_argument("output_dir", help="the output directory of a complete run")
    p.add_argument(
        "--formats",
        default=None,
        help="comma-separated: json, sqlite (default: the run's document_flows.ocel.formats)",
    )
    p = sub.add_parser(
        "export-graph",
        help="build the graphs of a finished run (graphs/): PyTorch Geometric, Neo4j, networkx",
    )
    p.add_argument("output_dir", help="the output directory of a complete run")
    p.add_argument(
        "formats",
        nargs="?",
        default=None,
        help="comma-separated: pyg, neo4j, networkx (default: the run's graph_export.formats)",
    )
    p = sub.add_parser(
        "evaluate",
        help="write the fidelity report of a finished run (report/report.html, report.json)",
    )
    p.add_argument("output_dir", help="the output directory of a complete run")
    p.add_argument(
        "--quality-gate",
        action="store_true",
        help=f"exit with status {EXIT_GATE} if any check fails (thresholds: report.thresholds)",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    if not args_list or args_list[0] not in (*COMMANDS, "-h", "--help"):
        args_list = ["generate", *args_list]
    parser = _parser()
    try:
        args = parser.parse_args(args_list)
    except SystemExit as exc:  # argparse already printed the problem
        return EXIT_CONFIG if exc.code else 0
    try:
        if args.command == "init":
            from datasynth.cli.init import write_init

            path = write_init(args.industry, args.complexity, Path(args.output), force=args.force)
            print(f"wrote {path}; run it with: datasynth -c {path}")
            return 0
        if args.command == "ocel":
            from datasynth.runtime.process_mining import export_event_log

            formats = tuple(f.strip() for f in args.formats.split(",")) if args.formats else None
            result = export_event_log(args.output_dir, formats)
            paths = ", ".join(f["path"] for f in result["files"])
            print(f"wrote {result['rows']:,} events to {paths} in {args.output_dir}")
            return 0
        if args.command == "evaluate":
            return _evaluate(args.output_dir, args.quality_gate)
        if args.command == "export-graph":
            from datasynth.runtime.graph_export import export_graph

            formats = tuple(f.strip() for f in args.formats.split(",")) if args.formats else None
            try:
                result = export_graph(args.output_dir, formats)
            except ConfigError:
                raise
            except Exception as exc:  # a dataset that does not make a graph: say what
                print(
                    f"datasynth: graph export failed: {type(exc).__name__}: {exc}", file=sys.stderr
                )
                return EXIT_FAILURE
            print(
                f"wrote {len(result['files']):,} graph files to {Path(args.output_dir) / 'graphs'}"
            )
            return 0
        config = load_config(args.overrides, args.config)
        if args.command == "validate":
            return _validate(config)
        if args.command == "info":
            from datasynth.cli.info import print_info

            print_info(config)
            return 0
        return _generate(config, quiet=args.quiet)
    except ConfigError as exc:
        print("datasynth: invalid configuration:", file=sys.stderr)
        for problem in exc.problems:
            print(f"  - {problem}", file=sys.stderr)
        return EXIT_CONFIG
    except KeyboardInterrupt:
        print("datasynth: interrupted; rerun with output.resume=true to continue", file=sys.stderr)
        return 130


def _evaluate(output_dir: str, gate: bool) -> int:
    from datasynth.runtime.evaluate import evaluate

    try:
        report = evaluate(output_dir)
    except ConfigError:
        raise
    except Exception as exc:  # a dataset the report cannot read: say what
        print(f"datasynth: evaluation failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        return EXIT_FAILURE
    counts = report["counts"]
    print(
        f"{counts['pass']} passed, {counts['fail']} failed, {counts['not_applicable']} not "
        f"applicable: {Path(output_dir) / 'report' / 'report.html'}"
    )
    failed = [c for c in report["checks"] if c["status"] == "fail"]
    for c in failed:
        print(
            f"  FAILED {c['name']}: {c['value']:.6g} (threshold {c['threshold']}): {c['detail']}",
            file=sys.stderr,
        )
    return EXIT_GATE if gate and failed else 0


def _validate(config: DatasynthConfig) -> int:
    import json

    from datasynth.runtime.output import check_output
    from datasynth.runtime.plan import build_plan

    plan = build_plan(config)
    check_output(config)  # the same checks a run makes, without writing anything
    print(json.dumps(config.to_plain(), indent=2, default=str))
    print(
        f"configuration is valid: {len(plan.blocks)} journal-entry blocks, "
        f"{plan.entries:,} entries, about {plan.expected_lines:,} lines",
        file=sys.stderr,
    )
    return 0


def _generate(config: DatasynthConfig, quiet: bool) -> int:
    from datasynth.runtime.execute import run

    if quiet:
        config = config.model_copy(
            update={"runtime": config.runtime.model_copy(update={"progress": False})}
        )
    try:
        result = run(config)
    except ConfigError:
        raise
    except Exception as exc:  # report, keep the partial state for output.resume
        print(f"datasynth: generation failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        print(
            "  finished blocks are kept; rerun with output.resume=true to continue", file=sys.stderr
        )
        return EXIT_FAILURE
    if not quiet:
        tables = result.manifest["tables"]
        parts = ", ".join(f"{name} {info['rows']:,}" for name, info in tables.items())
        rate = result.rows / max(result.seconds, 1e-9)
        skipped = f", {result.blocks_skipped} blocks resumed" if result.blocks_skipped else ""
        print(
            f"wrote {result.output_dir} in {result.seconds:.1f} s ({rate:,.0f} rows/s{skipped}): {parts}"
        )
    return 0
