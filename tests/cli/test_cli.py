"""End-to-end: the README's commands in a subprocess, `init` round trip, the notebook."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import duckdb
import pytest
from conftest import run_cli

ROOT = Path(__file__).resolve().parents[2]


def test_readme_run_command_generates_demo(tmp_path: Path) -> None:
    """`python -m datasynth` on the embedded default configuration, in a fresh directory."""
    done = run_cli([], cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    out = tmp_path / "output"
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["config"]["transactions"]["count"] == 20_000
    assert "wrote" in done.stdout and "journal_entries" in done.stdout
    rows, debit, credit = duckdb.connect().execute(
        f"select count(*), sum(debit_amount), sum(credit_amount) "
        f"from read_parquet('{out}/journal_entries/**/*.parquet', hive_partitioning=true)"
    ).fetchone() or (0, 0, 0)
    assert rows == manifest["tables"]["journal_entries"]["rows"] > 100_000
    assert debit == credit
    assert not (tmp_path / "outputs").exists(), "Hydra must not create its own output folders"
    # a second run refuses to clobber the complete run and leaves it untouched
    again = run_cli([], cwd=tmp_path)
    assert again.returncode == 2
    assert "output.overwrite=true" in again.stderr


def test_console_script_is_the_same_program(tmp_path: Path) -> None:
    import subprocess

    exe = shutil.which("datasynth")
    assert exe, "the datasynth console script is installed with the package"
    done = subprocess.run(
        [exe, "info", "+preset=large"], cwd=tmp_path, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    rows = {
        line.split()[0]: int(line.split()[1].replace(",", ""))
        for line in done.stdout.splitlines()
        if line.startswith("  ") and len(line.split()) >= 3 and line.split()[1][0].isdigit()
    }
    assert 0.9e9 < rows["journal_entries"] < 1.5e9  # ~1.2 billion lines estimated
    assert rows["purchase_orders"] > 10_000_000 and rows["customer_invoices"] > 10_000_000
    for preset in ("demo", "small", "medium", "large", "retail", "healthcare"):
        assert preset in done.stdout


def test_overrides_reach_the_run(tmp_path: Path) -> None:
    done = run_cli(
        [
            "transactions.count=500",
            "global.seed=7",
            "output.format=csv",
            "runtime.workers=1",
            "runtime.scheduler=threads",
            "output.dir=run",
        ],
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    manifest = json.loads((tmp_path / "run" / "manifest.json").read_text())
    assert manifest["seed"] == 7
    assert manifest["config"]["output"]["format"] == "csv"
    data = [f for f in manifest["files"] if f["table"] != "ocel"]
    assert data and all(f["path"].endswith(".csv") for f in data)
    # the OCEL 2.0 log keeps its own standard forms whatever the table format
    assert {f["path"] for f in manifest["files"] if f["table"] == "ocel"} == {
        "process_mining/ocel.json",
        "process_mining/ocel.sqlite",
    }


def test_init_writes_a_config_that_runs_as_it_is(tmp_path: Path) -> None:
    done = run_cli(
        ["init", "--industry", "retail", "--complexity", "small", "-o", "my.yaml"], cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr
    text = (tmp_path / "my.yaml").read_text()
    assert "industry: retail" in text and "# " in text and "complexity: small" in text
    refused = run_cli(["init", "-o", "my.yaml"], cwd=tmp_path)
    assert refused.returncode == 2 and "--force" in refused.stderr
    valid = run_cli(["validate", "-c", "my.yaml"], cwd=tmp_path)
    assert valid.returncode == 0, valid.stderr
    assert json.loads(valid.stdout)["global"]["industry"] == "retail"
    # edited and passed back in, with a command-line override on top
    (tmp_path / "my.yaml").write_text(text.replace("count: 50000", "count: 800"))
    run = run_cli(
        ["-c", "my.yaml", "output.dir=edited", "runtime.scheduler=synchronous"], cwd=tmp_path
    )
    assert run.returncode == 0, run.stderr
    manifest = json.loads((tmp_path / "edited" / "manifest.json").read_text())
    assert manifest["config"]["transactions"]["count"] == 800
    assert manifest["config"]["global"]["industry"] == "retail"


def test_bad_configuration_exits_2_and_writes_nothing(tmp_path: Path) -> None:
    done = run_cli(["transactions.cont=5", "output.dir=never"], cwd=tmp_path)
    assert done.returncode == 2
    assert "transactions.count" in done.stderr
    assert not (tmp_path / "never").exists()


@pytest.mark.parametrize(
    ("notebook", "figure"),
    [
        ("explore_block", "entries_per_day.png"),
        ("anomaly_detection", "anomaly_scores.png"),
        ("graph_ml", "gnn_scores.png"),
    ],
)
def test_notebook_executes(
    notebook: str, figure: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    from ipykernel.kernelspec import install

    # a kernel bound to this very interpreter, so the notebook runs the code under test and not
    # whatever a user-level "python3" kernel spec on the machine points at
    install(kernel_name="datasynth-test", prefix=str(tmp_path / "jupyter"))
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter" / "share" / "jupyter"))
    nb = nbformat.read(ROOT / "notebooks" / f"{notebook}.ipynb", as_version=4)
    client = nbclient.NotebookClient(
        nb,
        timeout=300,
        kernel_name="datasynth-test",
        resources={"metadata": {"path": str(tmp_path)}},
    )
    client.execute()
    assert (tmp_path / figure).stat().st_size > 5_000
    outputs = [o for cell in nb.cells if cell.cell_type == "code" for o in cell.get("outputs", [])]
    assert not [o for o in outputs if o.get("output_type") == "error"]


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (
            [
                "validate",
                "runtime.block_rows=1000",
                "transactions.count=4000000",
                "global.period_months=1",
            ],
            "runtime.block_rows: company 1000 would need",
        ),
        (
            [
                "validate",
                "transactions.calendar.day_of_week=[0,0,0,0,0]",
                "transactions.calendar.weekend=0",
            ],
            "transactions.calendar: every day of fiscal period",
        ),
        (
            ["validate", "transactions.amounts.lognormal_mu=nan"],
            "transactions.amounts.lognormal_mu",
        ),
        (["validate", "companies.0.volume_weight=inf"], "companies[0].volume_weight"),
        (["validate", "output.dir=/proc/version/out"], "output.dir"),
    ],
    ids=["too-many-blocks", "zero-calendar", "nan", "inf", "unwritable-dir"],
)
def test_plan_and_value_errors_exit_2_without_traceback(
    tmp_path: Path, args: list[str], expected: str
) -> None:
    done = run_cli(args, cwd=tmp_path)
    assert done.returncode == 2, done.stderr
    assert expected in done.stderr
    assert "Traceback" not in done.stderr


def test_broken_yaml_file_and_bad_init_target_exit_2(tmp_path: Path) -> None:
    (tmp_path / "broken.yaml").write_text("global: {seed: 1\ncompanies: [\n")
    done = run_cli(["validate", "-c", "broken.yaml"], cwd=tmp_path)
    assert (
        done.returncode == 2 and "not valid YAML" in done.stderr and "Traceback" not in done.stderr
    )
    (tmp_path / "adir").mkdir()
    done = run_cli(["init", "-o", "adir", "--force"], cwd=tmp_path)
    assert done.returncode == 2 and "is a directory" in done.stderr
    assert not list(tmp_path.glob("*.inprogress"))
