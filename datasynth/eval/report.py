"""The fidelity report as one self-contained HTML file (plots embedded as PNG data URIs) and
its JSON twin."""

from __future__ import annotations

import base64
import html
import io
from typing import Any

import numpy as np

from datasynth.config.models import ANOMALY_TYPES, BUSINESS_PROCESSES, SOURCES
from datasynth.eval.checks import Check
from datasynth.eval.fidelity import benford_benchmarks

PLOT_TITLES = {
    "benford_first": "First-digit Benford conformance",
    "benford_second": "Second-digit Benford conformance",
    "amounts": "Typical line amount (group currency)",
    "line_counts": "Lines per entry (standalone entries)",
    "daily": "Entries per day (dashed: fiscal period ends)",
    "weekday_hour": "Entries by weekday and hour",
    "mixes": "Sources and business processes",
    "anomaly_types": "Labelled anomalies by type",
}


def _png(fig: Any) -> str:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=90, bbox_inches="tight")
    import matplotlib.pyplot as plt

    plt.close(fig)
    return base64.b64encode(buffer.getvalue()).decode()


def plots(data: dict[str, Any], period_ends: list[int], first_day: int) -> dict[str, str]:
    """Each plot the data allows, as base64 PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out: dict[str, str] = {}
    first, second = data.get("benford", (None, None))
    b1, b2 = benford_benchmarks()
    for key, counts, expected, labels in (
        ("benford_first", first, b1, [str(d) for d in range(1, 10)]),
        ("benford_second", second, b2, [str(d) for d in range(10)]),
    ):
        if counts is None or counts.sum() == 0:
            continue
        fig, ax = plt.subplots(figsize=(6, 3))
        x = np.arange(len(labels))
        ax.bar(x, counts / counts.sum(), color="#4c72b0", label="observed")
        ax.plot(x, expected, "o-", color="#dd8452", label="Benford")
        ax.set_xticks(x, labels)
        ax.set_ylabel("share")
        ax.legend()
        ax.set_title(PLOT_TITLES[key])
        out[key] = _png(fig)
    if "amounts" in data:
        edges, hist, cdf = data["amounts"]
        # drawn at 0.05 in log10 (ten measuring bins each), so the density reads smoothly
        k = 10
        n = (hist.size // k) * k
        coarse = hist[:n].reshape(-1, k).sum(axis=1)
        coarse_edges = edges[: n + 1 : k]
        width = np.diff(coarse_edges)
        expected = np.diff(cdf[: n + 1 : k])
        fig, ax = plt.subplots(figsize=(6, 3))
        ax.step(
            coarse_edges[:-1],
            coarse / hist.sum() / width,
            where="post",
            color="#4c72b0",
            lw=1,
            label="observed",
        )
        ax.plot(coarse_edges[:-1], expected / width, color="#dd8452", lw=1.5, label="configured")
        ax.set_xlabel("log10 amount")
        ax.set_ylabel("density")
        ax.legend()
        ax.set_title(PLOT_TITLES["amounts"])
        out["amounts"] = _png(fig)
    if "line_counts" in data:
        names, share, configured = data["line_counts"]
        fig, ax = plt.subplots(figsize=(6, 3))
        x = np.arange(len(names))
        ax.bar(x - 0.2, share, 0.4, label="observed", color="#4c72b0")
        ax.bar(x + 0.2, configured, 0.4, label="configured", color="#dd8452")
        ax.set_xticks(x, names, rotation=45)
        ax.set_yscale("log")
        ax.legend()
        ax.set_title(PLOT_TITLES["line_counts"])
        out["line_counts"] = _png(fig)
    daily = data.get("daily")
    if daily is not None and daily.sum():
        fig, ax = plt.subplots(figsize=(8, 3))
        days = (np.arange(daily.size) + first_day).astype("datetime64[D]")
        ax.plot(days, daily, lw=0.8, color="#4c72b0")
        for end in period_ends:
            ax.axvline(np.datetime64(end, "D"), color="grey", ls="--", lw=0.6)  # type: ignore[arg-type]
        ax.set_ylabel("entries")
        ax.set_title(PLOT_TITLES["daily"])
        fig.autofmt_xdate()
        out["daily"] = _png(fig)
    grid = data.get("weekday_hour")
    if grid is not None and grid.sum():
        fig, ax = plt.subplots(figsize=(8, 2.8))
        image = ax.imshow(grid, aspect="auto", cmap="Blues")
        ax.set_yticks(range(7), ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"])
        ax.set_xlabel("hour")
        fig.colorbar(image, ax=ax, label="entries")
        ax.set_title(PLOT_TITLES["weekday_hour"])
        out["weekday_hour"] = _png(fig)
    sources, processes = data.get("sources"), data.get("business_processes")
    if sources is not None and processes is not None and sources.sum():
        fig, axes = plt.subplots(1, 2, figsize=(8, 3))
        axes[0].bar(list(SOURCES), sources / sources.sum(), color="#4c72b0")
        axes[0].set_title("sources")
        axes[1].bar(list(BUSINESS_PROCESSES), processes / processes.sum(), color="#55a868")
        axes[1].set_title("business processes")
        for ax in axes:
            ax.tick_params(axis="x", rotation=30)
        fig.suptitle(PLOT_TITLES["mixes"], y=1.04)
        out["mixes"] = _png(fig)
    kinds = data.get("anomaly_types")
    if kinds is not None and kinds.sum():
        names = np.array(list(ANOMALY_TYPES))
        used = kinds > 0
        fig, ax = plt.subplots(figsize=(8, 3.5))
        ax.bar(names[used], kinds[used], color="#c44e52")
        ax.tick_params(axis="x", rotation=75, labelsize=7)
        ax.set_ylabel("labels")
        ax.set_title(PLOT_TITLES["anomaly_types"])
        out["anomaly_types"] = _png(fig)
    return out


def render_html(summary: dict[str, Any], checks: list[Check], images: dict[str, str]) -> str:
    rows = []
    for c in checks:
        value = "" if c.value is None else f"{c.value:.6g}"
        rows.append(
            f'<tr class="{c.status}"><td>{html.escape(c.category)}</td>'
            f"<td>{html.escape(c.name)}</td><td>{c.status.replace('_', ' ')}</td>"
            f"<td>{value}</td><td>{html.escape(c.threshold)}</td>"
            f"<td>{html.escape(c.detail)}</td></tr>"
        )
    figures = "\n".join(
        f'<figure><img alt="{html.escape(PLOT_TITLES[k])}" src="data:image/png;base64,{v}">'
        f"<figcaption>{html.escape(PLOT_TITLES[k])}</figcaption></figure>"
        for k, v in images.items()
    )
    failed = sum(c.status == "fail" for c in checks)
    passed = sum(c.status == "pass" for c in checks)
    na = sum(c.status == "not_applicable" for c in checks)
    facts = "".join(
        f"<li>{html.escape(str(k))}: {html.escape(str(v))}</li>" for k, v in summary.items()
    )
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>datasynth fidelity report</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2em; color: #222; }}
table {{ border-collapse: collapse; width: 100%; font-size: 0.9em; }}
td, th {{ border: 1px solid #ccc; padding: 4px 6px; text-align: left; vertical-align: top; }}
tr.pass td:nth-child(3) {{ color: #1a7f37; font-weight: bold; }}
tr.fail td:nth-child(3) {{ color: #cf222e; font-weight: bold; }}
tr.not_applicable td {{ color: #888; }}
.grid {{ display: flex; flex-wrap: wrap; gap: 1em; }}
figure {{ margin: 0; }} img {{ max-width: 100%; }}
</style></head><body>
<h1>datasynth fidelity report</h1>
<p><strong>{passed} passed, {failed} failed, {na} not applicable.</strong></p>
<ul>{facts}</ul>
<h2>Checks</h2>
<table><thead><tr><th>category</th><th>check</th><th>status</th><th>value</th>
<th>threshold</th><th>detail</th></tr></thead><tbody>
{"".join(rows)}
</tbody></table>
<h2>Plots</h2>
<div class="grid">
{figures}
</div>
</body></html>
"""
