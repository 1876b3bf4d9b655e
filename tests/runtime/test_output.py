"""Output directory contract: formats, manifest, refusal to clobber, resume, atomic writes."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pyarrow.dataset as ds
import pytest
from conftest import file_digests, small_config

import datasynth
from datasynth.config.errors import ConfigError
from datasynth.runtime.blocks import task_of
from datasynth.runtime.output import rebuilt_every_run
from datasynth.sinks.files import sha256_of


def test_manifest_describes_every_file(tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = datasynth.generate(small_config(out, "runtime.scheduler=synchronous"))
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest == result.manifest
    assert manifest["seed"] == 42
    assert manifest["config"]["transactions"]["count"] == 6000
    assert {"numpy", "pyarrow", "dask", "datasynth"} <= set(manifest["versions"])
    listed = {f["path"] for f in manifest["files"]}
    on_disk = {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()} - {
        "manifest.json"
    }
    assert listed == on_disk
    for f in manifest["files"]:
        path = out / f["path"]
        assert path.stat().st_size == f["bytes"]
        assert sha256_of(path) == f["sha256"]
    je = manifest["tables"]["journal_entries"]
    assert je["rows"] == ds.dataset(out / "journal_entries", format="parquet").count_rows()
    assert not (out / ".datasynth").exists()
    assert not list(out.rglob("*.inprogress"))


def test_refuses_complete_run_unless_overwrite(tmp_path: Path) -> None:
    out = tmp_path / "out"
    datasynth.generate(small_config(out, "runtime.scheduler=synchronous"))
    before = file_digests(out)
    with pytest.raises(ConfigError, match=r"output.dir: .* already holds a complete run"):
        datasynth.generate(small_config(out, "runtime.scheduler=synchronous"))
    assert file_digests(out) == before
    (out / "journal_entries" / "stray.txt").write_text("left by a previous run")
    datasynth.generate(
        small_config(out, "runtime.scheduler=synchronous", "output.overwrite=true", "global.seed=3")
    )
    after = file_digests(out)
    assert after.keys() == before.keys()  # the stray file is gone, the layout is the same
    assert after != before


def test_resume_skips_finished_blocks_and_regenerates_the_rest(tmp_path: Path) -> None:
    out = tmp_path / "out"
    reference = tmp_path / "reference"
    datasynth.generate(small_config(reference, "runtime.scheduler=synchronous"))
    # simulate an interrupted run: a complete run minus its manifest, two lost blocks, one torn file
    datasynth.generate(small_config(out, "runtime.scheduler=synchronous"))
    manifest = json.loads((out / "manifest.json").read_text())
    (out / "manifest.json").unlink()
    state = out / ".datasynth" / "blocks"
    state.mkdir(parents=True)
    (out / ".datasynth" / "run.json").write_text(
        json.dumps({"fingerprint": manifest["fingerprint"]})
    )
    tasks: dict[str, list[dict[str, object]]] = {}
    for f in manifest["files"]:
        # the event log and the balances are rebuilt by every run, never resumed
        if not rebuilt_every_run(f):
            tasks.setdefault(task_of(f["table"], f["block"]), []).append(f)
    for task, files in tasks.items():
        (state / f"{task}.json").write_text(json.dumps({"files": files}))
    # three journal-entry blocks lost: a deleted entries file, a torn flow file, a lost record
    je_blocks = sorted(
        {
            f["block"]
            for f in manifest["files"]
            if f["table"] == "journal_entries" and f["block"] >= 0
        }
    )
    first = [f for f in manifest["files"] if f["block"] == je_blocks[0]]
    (out / next(f for f in first if f["table"] == "journal_entries")["path"]).unlink()
    second = [f for f in manifest["files"] if f["block"] == je_blocks[1]]
    (out / next(f for f in second if f["table"] == "payments")["path"]).write_bytes(b"torn")
    (state / f"{task_of('journal_entries', je_blocks[2])}.json").unlink()

    with pytest.raises(ConfigError, match=r"output\.resume=true"):
        datasynth.generate(small_config(out, "runtime.scheduler=synchronous"))
    result = datasynth.generate(
        small_config(out, "runtime.scheduler=synchronous", "output.resume=true")
    )
    assert result.blocks_skipped == len(tasks) - 3
    assert file_digests(out) == file_digests(reference)
    assert (out / "manifest.json").exists() and not (out / ".datasynth").exists()


def test_resume_refuses_a_different_configuration(tmp_path: Path) -> None:
    out = tmp_path / "out"
    datasynth.generate(small_config(out, "runtime.scheduler=synchronous"))
    with pytest.raises(ConfigError, match="different configuration"):
        datasynth.generate(
            small_config(
                out, "runtime.scheduler=synchronous", "output.resume=true", "global.seed=9"
            )
        )


@pytest.mark.parametrize(("fmt", "suffix"), [("csv", ".csv"), ("jsonl", ".jsonl")])
def test_text_formats_hold_the_same_data(tmp_path: Path, fmt: str, suffix: str) -> None:
    parquet = tmp_path / "parquet"
    text = tmp_path / fmt
    datasynth.generate(small_config(parquet, "runtime.scheduler=synchronous"))
    datasynth.generate(small_config(text, "runtime.scheduler=synchronous", f"output.format={fmt}"))
    files = sorted((text / "journal_entries").rglob(f"*{suffix}"))
    assert files
    reader = "read_csv" if fmt == "csv" else "read_json"
    con = duckdb.connect()
    pq_sum = con.execute(
        f"select count(*), sum(debit_amount), sum(credit_amount), count(distinct document_id) "
        f"from read_parquet('{parquet}/journal_entries/**/*.parquet', hive_partitioning=true)"
    ).fetchone()
    txt_sum = con.execute(
        f"select count(*), sum(cast(debit_amount as decimal(18,2))), sum(cast(credit_amount as decimal(18,2))), "
        f"count(distinct document_id) from {reader}('{text}/journal_entries/**/*{suffix}', hive_partitioning=true)"
    ).fetchone()
    assert pq_sum == txt_sum
    assert pq_sum is not None and pq_sum[1] == pq_sum[2]
    first = files[0].read_text().splitlines()[1]
    # amounts are plain decimal strings with two places
    assert ("." in first) and ("e+" not in first)
    if fmt == "jsonl":
        row = json.loads(first)
        assert isinstance(row["debit_amount"], str) and row["debit_amount"].split(".")[1].isdigit()
        rows = [json.loads(line) for line in files[0].read_text().splitlines()[:200]]
        # a line without a vendor says null (not "", not "null"), the others name one
        assert any(r["vendor_id"] is None for r in rows)
        assert all(r["vendor_id"] is None or r["vendor_id"].startswith("V-") for r in rows)


@pytest.mark.parametrize(("codec", "suffix"), [("gzip", ".csv.gz"), ("zstd", ".csv.zst")])
def test_compressed_csv_is_readable(tmp_path: Path, codec: str, suffix: str) -> None:
    out = tmp_path / "out"
    datasynth.generate(
        small_config(
            out, "runtime.scheduler=synchronous", "output.format=csv", f"output.compression={codec}"
        )
    )
    rows = (
        duckdb.connect()
        .execute(
            f"select count(*) from read_csv('{out}/journal_entries/**/*{suffix}', hive_partitioning=true)"
        )
        .fetchone()
    )
    manifest = json.loads((out / "manifest.json").read_text())
    assert rows is not None and rows[0] == manifest["tables"]["journal_entries"]["rows"]


def test_resume_refuses_another_block_size(tmp_path: Path) -> None:
    """block_rows decides the blocks and their streams: resuming with another value would mix
    two different datasets, so it is refused."""
    out = tmp_path / "out"
    datasynth.generate(small_config(out, "runtime.scheduler=synchronous"))
    with pytest.raises(ConfigError, match="different configuration"):
        datasynth.generate(
            small_config(
                out,
                "runtime.scheduler=synchronous",
                "output.resume=true",
                "runtime.block_rows=50000",
            )
        )


def test_resume_of_a_complete_run_keeps_intact_files_and_repairs_damage(tmp_path: Path) -> None:
    out = tmp_path / "out"
    datasynth.generate(small_config(out, "runtime.scheduler=synchronous"))
    before = file_digests(out)
    manifest_before = json.loads((out / "manifest.json").read_text())
    again = datasynth.generate(
        small_config(out, "runtime.scheduler=synchronous", "output.resume=true")
    )
    tasks = {
        task_of(f["table"], f["block"])
        for f in manifest_before["files"]
        if not rebuilt_every_run(f)
    }
    assert again.blocks_skipped == len(tasks)
    assert file_digests(out) == before
    kept = [f for f in manifest_before["files"] if not rebuilt_every_run(f)]
    victim = out / kept[-1]["path"]
    victim.write_bytes(b"damaged")
    (victim.parent / f".{victim.name}.0123456789ab.inprogress").write_bytes(b"stale temp file")
    repaired = datasynth.generate(
        small_config(out, "runtime.scheduler=synchronous", "output.resume=true")
    )
    assert repaired.blocks_skipped == len(tasks) - 1
    assert file_digests(out) == before
    assert json.loads((out / "manifest.json").read_text())["files"] == manifest_before["files"]


def test_unreachable_cluster_is_a_config_error_and_writes_nothing(tmp_path: Path) -> None:
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    out = tmp_path / "out"
    with pytest.raises(ConfigError, match=r"runtime\.cluster: cannot reach"):
        datasynth.generate(small_config(out, f"runtime.cluster=tcp://127.0.0.1:{port}"))
    assert not out.exists()


def test_graph_keys_are_stable_per_run_and_distinct_between_runs(tmp_path: Path) -> None:
    from datasynth.runtime.execute import graph_keys

    a = small_config(tmp_path / "a")
    assert graph_keys(a, "/x") == graph_keys(small_config(tmp_path / "a"), "/x")
    assert graph_keys(a, "/x") != graph_keys(a, "/y")
    assert graph_keys(a, "/x") != graph_keys(small_config(tmp_path / "a", "global.seed=5"), "/x")
