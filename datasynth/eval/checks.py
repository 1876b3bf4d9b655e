"""The checks of the fidelity report: statistical, coherence, quality and labels.

Each check has a value, a threshold (from ``report.thresholds``) and a status: ``pass``,
``fail``, or ``not_applicable`` when the dataset has no table to check (no balances, no flows,
no anomalies) -- never a silent pass.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from datasynth.config.models import DatasynthConfig
from datasynth.core.arrow import strings
from datasynth.core.money import minor_from_decimal
from datasynth.eval.fidelity import AMOUNT_EDGES, REQUIRED, Stats, benford_benchmarks
from datasynth.generators.economics import typical_amount_cdf

#: Nigrini's conformity bounds of the mean absolute deviation (first digit, second digit)
NIGRINI = {
    "first": ((0.006, "close"), (0.012, "acceptable"), (0.015, "marginal")),
    "second": ((0.008, "close"), (0.010, "acceptable"), (0.012, "marginal")),
}


@dataclass
class Check:
    name: str
    category: str  # statistical, coherence, quality
    status: str  # pass, fail, not_applicable
    value: float | None
    threshold: str
    detail: str

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def _check(name: str, category: str, ok: bool, value: float, threshold: str, detail: str) -> Check:
    return Check(name, category, "pass" if ok else "fail", float(value), threshold, detail)


def _na(name: str, category: str, threshold: str, why: str) -> Check:
    return Check(name, category, "not_applicable", None, threshold, why)


def conformity(mad: float, kind: str) -> str:
    for bound, name in NIGRINI[kind]:
        if mad <= bound:
            return name
    return "nonconforming"


def _chi2_p(observed: np.ndarray, expected_share: np.ndarray) -> tuple[float, float]:
    from scipy import stats

    n = observed.sum()
    expected = expected_share * n
    chi2 = float(((observed - expected) ** 2 / np.maximum(expected, 1e-12)).sum())
    return chi2, float(stats.chi2.sf(chi2, observed.size - 1))


def _benford(stats_: Stats, which: str, threshold: float) -> Check:
    first, second = benford_benchmarks()
    counts = stats_.arrays.get(f"benford_{which}", np.zeros(9 if which == "first" else 10))
    expected = first if which == "first" else second
    name = f"benford_{which}_digit"
    if counts.sum() < MIN_SAMPLES:
        return _na(
            name, "statistical", f"MAD <= {threshold}", f"fewer than {MIN_SAMPLES:,} amounts"
        )
    share = counts / counts.sum()
    mad = float(np.abs(share - expected).mean())
    chi2, p = _chi2_p(counts, expected)
    detail = (
        f"MAD {mad:.5f} ({conformity(mad, which)} conformity, Nigrini), chi-square {chi2:.1f} "
        f"(p {p:.3g}, df {counts.size - 1}) over {int(counts.sum()):,} line amounts"
    )
    return _check(name, "statistical", mad <= threshold, mad, f"MAD <= {threshold}", detail)


def expected_amount_cdf(
    config: DatasynthConfig, edges: np.ndarray, scale: float = 1.0
) -> np.ndarray:
    """CDF of the configured typical line amount in a company's currency (log10 ``edges``):
    the log-normal moved by the company's ``scale``, clipped to ``[min, max]`` x scale; with
    ``transactions.benford.enabled`` the decade is the log-normal's and the position inside it
    log-uniform (the Benford-conformant draw), decades taken in the company's currency as the
    generator takes them."""
    t = config.transactions
    return typical_amount_cdf(t.amounts, t.benford.enabled, edges, scale)


#: samples a statistical check needs before its distance means anything (below this, a
#: perfect sample fails the default thresholds by chance: the sampling error of Benford's MAD
#: or of a KS distance at n = 2,000 is a third of the threshold or less)
MIN_SAMPLES = 2_000


def checks(
    stats_: Stats,
    config: DatasynthConfig,
    master: Any,
    trial_balances: pa.Table | None,
    reconciliation: pa.Table | None,
    chart: pa.Table,
    has_flows: bool,
) -> tuple[list[Check], dict[str, Any]]:
    """Every check, and the data the report's plots draw."""
    t = config.report.thresholds
    out: list[Check] = []
    plots: dict[str, Any] = {}
    # ---------------------------------------------------------------- statistical
    out.append(_benford(stats_, "first", t.benford_first_mad))
    out.append(_benford(stats_, "second", t.benford_second_mad))
    buckets = stats_.arrays.get("line_buckets")
    configured = np.array(list(config.transactions.line_counts.values()))
    if buckets is None or buckets.sum() < MIN_SAMPLES:
        out.append(
            _na(
                "line_count_distribution",
                "statistical",
                f"TVD <= {t.line_count_tvd}",
                f"fewer than {MIN_SAMPLES:,} standalone entries",
            )
        )
    else:
        share = buckets / buckets.sum()
        tvd = float(np.abs(share - configured).sum() / 2)
        chi2, p = _chi2_p(buckets, configured)
        out.append(
            _check(
                "line_count_distribution",
                "statistical",
                tvd <= t.line_count_tvd,
                tvd,
                f"TVD <= {t.line_count_tvd}",
                f"total variation distance to transactions.line_counts over {int(buckets.sum()):,} "
                f"standalone entries; chi-square {chi2:.1f} (p {p:.3g})",
            )
        )
        plots["line_counts"] = (list(config.transactions.line_counts), share, configured)
    hist = stats_.arrays.get("amount_hist")
    if hist is None or hist.sum() < MIN_SAMPLES:
        out.append(
            _na(
                "amount_distribution",
                "statistical",
                f"KS D <= {t.amount_ks}",
                f"fewer than {MIN_SAMPLES:,} standalone entries",
            )
        )
    else:
        # the companies' entries pooled, against the same mixture of their expected CDFs
        per_company = np.atleast_2d(hist)
        weights = per_company.sum(axis=1)
        empirical = np.r_[0.0, np.cumsum(per_company.sum(axis=0)) / weights.sum()]
        expected = (
            sum(
                w * expected_amount_cdf(config, AMOUNT_EDGES, company.amount_scale)
                for w, company in zip(weights, master.companies, strict=True)
            )
            / weights.sum()
        )
        ks = float(np.abs(empirical - expected).max())
        hist = per_company.sum(axis=0)
        out.append(
            _check(
                "amount_distribution",
                "statistical",
                ks <= t.amount_ks,
                ks,
                f"KS D <= {t.amount_ks}",
                f"Kolmogorov-Smirnov distance of the typical line amount (entry total / lines on "
                f"its larger side, in each company's currency) of {int(hist.sum()):,} "
                "standalone entries to the configured log-normal (Benford decades when "
                "transactions.benford.enabled), the companies' CDFs mixed by their entries",
            )
        )
        plots["amounts"] = (AMOUNT_EDGES, hist, expected)
    daily = stats_.arrays.get("daily_standalone")
    if daily is None or daily.sum() < MIN_SAMPLES:
        for name in ("weekend_share", "period_end_spike"):
            out.append(
                _na(name, "statistical", "", f"fewer than {MIN_SAMPLES:,} standalone entries")
            )
    else:
        observed_weekend = expected_weekend = 0.0
        obs_pe = obs_other = exp_pe = exp_other = 0.0
        lead = config.transactions.calendar.period_end.lead_days
        for i, company in enumerate(master.companies):
            counts = daily[i].astype(float)
            weights = company.day_weights[: counts.size].astype(float)
            weights = weights / max(weights.sum(), 1e-12) * counts.sum()
            days = np.arange(counts.size) + _first_day(master)
            weekend = (days + 3) % 7 >= 5
            observed_weekend += counts[weekend].sum()
            expected_weekend += weights[weekend].sum()
            ends = np.array([np.datetime64(p.stop, "D").astype(np.int64) for p in company.periods])
            k = np.searchsorted(ends, days, side="right")
            late = (k < ends.size) & (ends[np.minimum(k, ends.size - 1)] - days <= lead)
            open_days = weights > 0
            obs_pe += counts[late & open_days].sum() / max((late & open_days).sum(), 1)
            obs_other += counts[~late & open_days].sum() / max((~late & open_days).sum(), 1)
            exp_pe += weights[late & open_days].sum() / max((late & open_days).sum(), 1)
            exp_other += weights[~late & open_days].sum() / max((~late & open_days).sum(), 1)
        total = daily.sum()
        ow, ew = observed_weekend / total, expected_weekend / total
        out.append(
            _check(
                "weekend_share",
                "statistical",
                abs(ow - ew) <= t.weekend_share_diff,
                abs(ow - ew),
                f"|observed - expected| <= {t.weekend_share_diff}",
                f"standalone entries posted on Saturdays and Sundays {ow:.4f}; the configured "
                f"calendar gives {ew:.4f}",
            )
        )
        ratio_obs = obs_pe / max(obs_other, 1e-12)
        ratio_exp = exp_pe / max(exp_other, 1e-12)
        rel = abs(ratio_obs / max(ratio_exp, 1e-12) - 1)
        out.append(
            _check(
                "period_end_spike",
                "statistical",
                rel <= t.period_end_ratio_diff,
                rel,
                f"|observed / expected - 1| <= {t.period_end_ratio_diff}",
                f"daily volume in the last {lead} days of each fiscal period against the other "
                f"days: {ratio_obs:.2f}x observed, {ratio_exp:.2f}x from the configured calendar",
            )
        )
        plots["daily"] = stats_.arrays.get("daily_all")
    # ---------------------------------------------------------------- coherence
    c = stats_.counts
    ex = stats_.examples
    out.append(
        _check(
            "balanced_entries",
            "coherence",
            c.get("unbalanced_entries", 0) == 0,
            c.get("unbalanced_entries", 0),
            "0 unbalanced entries",
            f"debits == credits to the cent in each of {stats_.entries:,} entries"
            + _examples(ex, "unbalanced_entries"),
        )
    )
    out.append(
        _check(
            "posting_periods",
            "coherence",
            c.get("lines_outside_their_period", 0) == 0,
            c.get("lines_outside_their_period", 0),
            "0 lines",
            "every line's posting date lies in the fiscal year and period of its folder"
            + _examples(ex, "lines_outside_their_period"),
        )
    )
    out += _balance_checks(stats_, trial_balances, reconciliation, chart)
    dangling = {k.split(":", 1)[1]: v for k, v in c.items() if k.startswith("dangling:")}
    master_refs = {
        k: v for k, v in dangling.items() if k not in ("source_document_id", "document_references")
    }
    out.append(
        _check(
            "reference_integrity",
            "coherence",
            sum(master_refs.values()) == 0,
            sum(master_refs.values()),
            "0 dangling ids",
            "journal lines' "
            + ", ".join(f"{k} {v}" for k, v in sorted(master_refs.items()))
            + " ids that name no master record"
            + "".join(_examples(ex, f"dangling:{k}") for k in sorted(master_refs)),
        )
    )
    checked = c.get("document_references_checked", 0) + c.get("document_references", 0)
    if has_flows and checked:
        docs = dangling.get("source_document_id", 0) + dangling.get("document_references", 0)
        out.append(
            _check(
                "document_chain_integrity",
                "coherence",
                docs == 0,
                docs,
                "0 dangling document ids",
                f"{c.get('document_references_checked', 0):,} journal references to flow documents "
                f"and {c.get('document_references', 0):,} document references resolve"
                + _examples(ex, "dangling:source_document_id")
                + _examples(ex, "dangling:document_references"),
            )
        )
        out.append(_chain_completion(c, t.chain_completion))
    else:
        out.append(
            _na(
                "document_chain_integrity",
                "coherence",
                "0 dangling document ids",
                "no document flows in this dataset",
            )
        )
        out.append(
            _na(
                "document_chain_completion",
                "coherence",
                f">= {t.chain_completion}",
                "no document flows in this dataset",
            )
        )
    # ---------------------------------------------------------------- quality and labels
    hashes = stats_.tables.get("entry_hashes", [])
    all_hashes = np.concatenate(hashes) if hashes else np.zeros(0, np.uint64)
    duplicate_entries = int(all_hashes.size - np.unique(all_hashes).size)
    dupes = duplicate_entries + c.get("duplicate_lines", 0) + c.get("entries_split_across_rows", 0)
    out.append(
        _check(
            "unique_ids",
            "quality",
            dupes == 0,
            dupes,
            "0 duplicates",
            f"document_id unique across blocks ({duplicate_entries} repeated), (document_id, "
            f"line_number) unique ({c.get('duplicate_lines', 0)} repeated)",
        )
    )
    nulls = {k.split(":", 1)[1]: v for k, v in c.items() if k.startswith("null:")}
    missing = sum(nulls.values())
    completeness = 1 - missing / max(stats_.lines * len(REQUIRED), 1)
    out.append(
        _check(
            "completeness",
            "quality",
            completeness >= t.completeness,
            completeness,
            f">= {t.completeness}",
            "share of filled required journal fields; empty: "
            + (", ".join(f"{k} {v}" for k, v in nulls.items() if v) or "none"),
        )
    )
    a = config.anomalies
    if not a.enabled and not c.get("labels", 0) and not c.get("flagged_entries", 0):
        out.append(
            _na("label_coverage", "quality", "0 unlabelled changes", "anomalies.enabled is false")
        )
        out.append(_na("anomaly_rate", "quality", "", "anomalies.enabled is false"))
    else:
        wrong = c.get("flagged_without_label", 0) + c.get("label_without_change", 0)
        out.append(
            _check(
                "label_coverage",
                "quality",
                wrong == 0,
                wrong,
                "0 unlabelled changes, 0 labels without change",
                f"{c.get('flagged_entries', 0):,} flagged entries, {c.get('labels', 0):,} labels"
                + _examples(ex, "flagged_without_label")
                + _examples(ex, "label_without_change"),
            )
        )
        rate = c.get("labels", 0) / max(stats_.entries, 1)
        rel = abs(rate / a.rate - 1) if a.rate > 0 else float(rate > 0)
        out.append(
            _check(
                "anomaly_rate",
                "quality",
                rel <= t.anomaly_rate_diff,
                rel,
                f"|observed / anomalies.rate - 1| <= {t.anomaly_rate_diff}",
                f"{rate:.4f} labels per entry against anomalies.rate {a.rate}",
            )
        )
        plots["anomaly_types"] = stats_.arrays.get("anomaly_types")
    plots["benford"] = (stats_.arrays.get("benford_first"), stats_.arrays.get("benford_second"))
    plots["weekday_hour"] = stats_.arrays.get("weekday_hour")
    plots["sources"] = stats_.arrays.get("sources")
    plots["business_processes"] = stats_.arrays.get("business_processes")
    plots["line_count_all"] = stats_.arrays.get("line_count_all")
    return out, plots


def _chain_completion(c: dict[str, int], threshold: float) -> Check:
    from datasynth.eval.fidelity import CHAIN_AGE_DAYS

    steps = {
        "purchase orders received": ("chain:purchase_orders_received", "chain:purchase_orders"),
        "purchase orders invoiced": ("chain:purchase_orders_invoiced", "chain:purchase_orders"),
        "sales orders delivered": ("chain:sales_orders_delivered", "chain:sales_orders"),
        "sales orders invoiced": ("chain:sales_orders_invoiced", "chain:sales_orders"),
    }
    shares = {k: c.get(a, 0) / c[b] for k, (a, b) in steps.items() if c.get(b, 0)}
    name, limit = "document_chain_completion", f">= {threshold}"
    if not shares:
        return _na(name, "coherence", limit, f"no orders older than {CHAIN_AGE_DAYS} days")
    low = min(shares.values())
    return _check(
        name,
        "coherence",
        low >= threshold,
        low,
        limit,
        f"orders placed at least {CHAIN_AGE_DAYS} days before the window's end (sales orders "
        "that passed the credit check) that reached the next documents: "
        + ", ".join(f"{k} {v:.3f}" for k, v in shares.items()),
    )


def _first_day(master: Any) -> int:
    return int(
        min(np.datetime64(c.periods[0].first, "D").astype(np.int64) for c in master.companies)
    )


def _examples(examples: dict[str, list[str]], key: str) -> str:
    found = examples.get(key)
    return f" (e.g. {', '.join(map(str, found))})" if found else ""


def _balance_checks(
    stats_: Stats, tb: pa.Table | None, recon: pa.Table | None, chart: pa.Table
) -> list[Check]:
    names = (
        "trial_balance_balanced",
        "trial_balance_matches_ledger",
        "trial_balance_roll_forward",
        "balance_sheet_equation",
    )
    if tb is None or tb.num_rows == 0:
        out = [_na(n, "coherence", "0", "no balances in this dataset") for n in names]
    else:
        import pandas as pd

        frame = pd.DataFrame(
            {
                "company": tb["company_code"].to_numpy(zero_copy_only=False),
                "year": tb["fiscal_year"].to_numpy(),
                "period": tb["fiscal_period"].to_numpy(),
                "account": tb["gl_account"].to_numpy(zero_copy_only=False),
                "tb_type": tb["account_type"].to_numpy(zero_copy_only=False),
                "opening": minor_from_decimal(tb["opening_balance"].combine_chunks()),
                "debits": minor_from_decimal(tb["period_debits"].combine_chunks()),
                "credits": minor_from_decimal(tb["period_credits"].combine_chunks()),
                "closing": minor_from_decimal(tb["closing_balance"].combine_chunks()),
            }
        )
        # account types from the chart of accounts, not from the trial balance itself
        types = dict(
            zip(
                chart["account_number"].to_pylist(),
                strings(chart["account_type"]).to_pylist(),
                strict=True,
            )
        )
        frame["type"] = frame["account"].map(types)
        keys = ["company", "year", "period"]
        per = frame.groupby(keys)[["debits", "credits", "closing"]].sum()
        unbalanced = per[(per["debits"] != per["credits"]) | (per["closing"] != 0)]
        # each row's arithmetic: opening + debits - credits == closing
        wrong_rows = frame[
            frame["opening"] + frame["debits"] - frame["credits"] != frame["closing"]
        ]
        out = [
            _check(
                names[0],
                "coherence",
                unbalanced.empty and wrong_rows.empty,
                len(unbalanced) + len(wrong_rows),
                "0 company-periods, 0 rows",
                f"period debits == credits and closing balances sum to 0 in {len(per)} "
                f"company-periods; opening + debits - credits == closing in {len(frame)} rows"
                + (f" (e.g. {list(unbalanced.index[:3])})" if len(unbalanced) else "")
                + (
                    f" (e.g. {wrong_rows[['company', 'account', 'year', 'period']].head(3).values.tolist()})"
                    if len(wrong_rows)
                    else ""
                ),
            )
        ]
        sums = stats_.tables.get("ledger_sums", [])
        if sums:
            ledger = pa.concat_tables(sums).to_pandas()
            ledger = (
                ledger.rename(
                    columns={
                        "company_code": "company",
                        "fiscal_year": "year",
                        "fiscal_period": "period",
                        "gl_account": "account",
                    }
                )
                .groupby(["company", "year", "period", "account"])[["debit_sum", "credit_sum"]]
                .sum()
            )
            joined = (
                frame.set_index(["company", "year", "period", "account"])[["debits", "credits"]]
                .join(ledger, how="outer")
                .fillna(0)
            )
            differ = joined[
                (joined["debits"] != joined["debit_sum"])
                | (joined["credits"] != joined["credit_sum"])
            ]
            out.append(
                _check(
                    names[1],
                    "coherence",
                    differ.empty,
                    len(differ),
                    "0 accounts",
                    f"trial-balance period debits and credits equal the written journal lines' sums "
                    f"for {len(joined)} company x period x account rows"
                    + (f" (e.g. {list(differ.index[:3])})" if len(differ) else ""),
                )
            )
        else:
            out.append(_na(names[1], "coherence", "0 accounts", "no journal lines"))
        ordered = frame.sort_values(["company", "account", "year", "period"])
        nxt = ordered.groupby(["company", "account"])["opening"].shift(-1)
        # every account, across fiscal years too (the year-end closing is a journal entry)
        breaks = ordered[nxt.notna() & (nxt != ordered["closing"])]
        out.append(
            _check(
                names[2],
                "coherence",
                breaks.empty,
                len(breaks),
                "0 breaks",
                "closing balance of each period equals the opening balance of the next"
                + (
                    f" (e.g. {breaks[['company', 'account', 'year', 'period']].head(3).values.tolist()})"
                    if len(breaks)
                    else ""
                ),
            )
        )
        signed = (
            frame.assign(
                assets=np.where(frame["type"] == "asset", frame["closing"], 0),
                liabilities=np.where(frame["type"] == "liability", -frame["closing"], 0),
                equity=np.where(frame["type"] == "equity", -frame["closing"], 0),
                result=np.where(frame["type"].isin(["revenue", "expense"]), -frame["closing"], 0),
            )
            .groupby(keys)[["assets", "liabilities", "equity", "result"]]
            .sum()
        )
        off = signed[
            signed["assets"] != signed["liabilities"] + signed["equity"] + signed["result"]
        ]
        unknown = sorted(set(frame.loc[frame["type"].isna(), "account"]))
        out.append(
            _check(
                names[3],
                "coherence",
                off.empty and not unknown,
                len(off) + len(unknown),
                "0 company-periods, 0 unclassified accounts",
                f"assets = liabilities + equity + profit and loss not yet closed to retained "
                f"earnings, in {len(signed)} company-periods, with every account classified by "
                "the chart of accounts"
                + (f" (accounts not in the chart: {unknown[:3]})" if unknown else ""),
            )
        )
    if recon is None or recon.num_rows == 0:
        out.append(
            _na(
                "subledger_reconciliation",
                "coherence",
                "0 differences",
                "no subledgers in this dataset",
            )
        )
    else:
        # recomputed, not read: ledger - subledger, and the ledger side against the trial
        # balance's closing balance of the same account
        ledger_side = minor_from_decimal(recon["ledger_balance"].combine_chunks())
        sub_side = minor_from_decimal(recon["subledger_balance"].combine_chunks())
        bad = int((ledger_side != sub_side).sum())
        if tb is not None and tb.num_rows:
            import pandas as pd

            keys = ["company", "year", "period", "account"]
            sides = pd.DataFrame(
                {
                    "company": strings(recon["company_code"]).to_numpy(zero_copy_only=False),
                    "year": recon["fiscal_year"].to_numpy(),
                    "period": recon["fiscal_period"].to_numpy(),
                    "account": strings(recon["gl_account"]).to_numpy(zero_copy_only=False),
                    "ledger": ledger_side,
                }
            ).merge(frame[[*keys, "closing"]], how="left", on=keys)
            bad += int((sides["closing"].fillna(0) != sides["ledger"]).sum())
        kinds = sorted(set(pc.unique(recon["subledger"]).to_pylist()))
        out.append(
            _check(
                "subledger_reconciliation",
                "coherence",
                bad == 0,
                bad,
                "0 differences",
                f"{', '.join(kinds)} subledgers equal their control accounts at {recon.num_rows} period ends",
            )
        )
    return out
