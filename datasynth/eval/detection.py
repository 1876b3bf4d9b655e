"""How useful are the anomaly labels? Simple per-entry features and a standard classifier.

:func:`entry_features` reads a written dataset (Parquet) and computes, per journal entry,
features an auditor would compute from the ledger alone: size and shape, first digit and
roundness of the amount, timing (hour, weekend, days to month end, posting lag after the
document date and entry lag after the posting date), source and preparer kind, approval
(approved, approved by the preparer) and cost centers missing where the account requires
one. :func:`detection_scores` trains a gradient-boosting classifier on 70% of the entries and
reports ROC AUC and average precision on the rest, overall and per anomaly category.

pandas and scikit-learn are imported when called (``pip install datasynth[notebook]``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from datasynth.config.models import ANOMALY_CATEGORIES

#: feature columns of :func:`entry_features`, in order
FEATURES = (
    "log_total",
    "lines",
    "first_digit",
    "round_thousand",
    "manual",
    "human",
    "hour",
    "weekend",
    "days_to_month_end",
    "document_lag",
    "entry_lag",
    "approved",
    "self_approved",
    "missing_cost_centers",
)


def entry_features(root: Path) -> Any:
    """One row per journal entry: :data:`FEATURES`, then ``is_anomaly`` and ``category``
    (the anomaly category from ``labels/anomaly_labels``, empty for clean entries)."""
    import pandas as pd

    root = Path(root)
    dataset = ds.dataset(root / "journal_entries", format="parquet", partitioning="hive")
    wanted = [
        "document_id",
        "posting_date",
        "document_date",
        "created_at",
        "source",
        "user_persona",
        "created_by",
        "approved_by",
        "gl_account",
        "cost_center",
        "debit_amount",
        "is_anomaly",
    ]
    t = dataset.to_table(columns=wanted)
    t = pa.table(
        [c.cast(c.type.value_type) if pa.types.is_dictionary(c.type) else c for c in t.columns],
        names=t.column_names,
    )
    chart = pq.read_table(root / "master_data" / "chart_of_accounts.parquet")
    needs = pc.is_in(t["gl_account"], chart.filter(chart["requires_cost_center"])["account_number"])
    missing = pc.and_(needs, pc.is_null(t["cost_center"]))
    t = t.append_column("missing_cc", pc.cast(missing, pa.int64()))
    t = t.append_column("debit", pc.cast(t["debit_amount"], pa.float64()))
    g = t.group_by("document_id", use_threads=False).aggregate(
        [
            ("debit", "sum"),
            ("document_id", "count"),
            ("posting_date", "min"),
            ("document_date", "min"),
            ("created_at", "min"),
            ("source", "min"),
            ("user_persona", "min"),
            ("created_by", "min"),
            ("approved_by", "min"),
            ("missing_cc", "sum"),
            ("is_anomaly", "max"),
        ]
    )
    f = g.to_pandas()
    total = f["debit_sum"].to_numpy()
    posting = pd.to_datetime(f["posting_date_min"])
    created = pd.to_datetime(f["created_at_min"])
    columns = {
        "log_total": np.log10(total + 1.0),
        "lines": f["document_id_count"],
        "first_digit": np.floor(total / 10 ** np.floor(np.log10(np.maximum(total, 1)))),
        "round_thousand": (np.round(total * 100) % 100_000 == 0).astype(int),
        "manual": (f["source_min"] == "manual").astype(int),
        "human": (f["user_persona_min"] != "automated_system").astype(int),
        "hour": created.dt.hour,
        "weekend": (posting.dt.day_of_week >= 5).astype(int),
        "days_to_month_end": (posting + pd.offsets.MonthEnd(0) - posting).dt.days,
        "document_lag": (posting - pd.to_datetime(f["document_date_min"])).dt.days,
        "entry_lag": (created.dt.normalize() - posting).dt.days,
        "approved": f["approved_by_min"].notna().astype(int),
        "self_approved": (f["approved_by_min"] == f["created_by_min"]).astype(int),
        "missing_cost_centers": f["missing_cc_sum"],
    }
    out = pd.DataFrame(
        {k: np.asarray(v) for k, v in columns.items()},
        index=pd.Index(f["document_id"].to_numpy(), name="document_id"),
    )
    out["is_anomaly"] = f["is_anomaly_max"].to_numpy().astype(bool)
    out["category"] = ""
    labels_dir = root / "labels" / "anomaly_labels"
    if labels_dir.is_dir():
        labels = pq.read_table(
            labels_dir, columns=["document_id", "related_documents", "anomaly_category"]
        )
        frame = labels.to_pandas()
        frame["anomaly_category"] = frame["anomaly_category"].astype(str)
        docs = frame["document_id"].tolist()
        cats = frame["anomaly_category"].tolist()
        related = frame.dropna(subset=["related_documents"])
        for parts, cat in zip(
            related["related_documents"], related["anomaly_category"], strict=True
        ):
            split = parts.split(",")
            docs += split
            cats += [cat] * len(split)
        mapping = pd.Series(cats, index=docs)
        mapping = mapping[~mapping.index.duplicated()]
        known = out.index.isin(mapping.index)
        out.loc[known, "category"] = mapping.reindex(out.index[known]).to_numpy()
    return out


def detection_scores(features: Any, seed: int = 0) -> Any:
    """ROC AUC and average precision of a gradient-boosting classifier on a held-out 30%,
    overall (``all``) and per category (that category's anomalies against clean entries)."""
    import pandas as pd
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.metrics import average_precision_score, roc_auc_score
    from sklearn.model_selection import train_test_split

    x = features[list(FEATURES)].to_numpy(dtype=np.float64)
    y = features["is_anomaly"].to_numpy()
    category = features["category"].to_numpy()
    idx = np.arange(y.size)
    train, test = train_test_split(idx, test_size=0.3, random_state=seed, stratify=y)
    model = HistGradientBoostingClassifier(random_state=seed, max_iter=200)
    model.fit(x[train], y[train])
    score = model.predict_proba(x[test])[:, 1]
    rows = {}
    yt, ct = y[test], category[test]
    rows["all"] = (roc_auc_score(yt, score), average_precision_score(yt, score), int(yt.sum()))
    for cat in ANOMALY_CATEGORIES:
        chosen = (ct == cat) | ~yt
        positives = int(((ct == cat) & yt).sum())
        if positives == 0:
            continue
        rows[cat] = (
            roc_auc_score(yt[chosen], score[chosen]),
            average_precision_score(yt[chosen], score[chosen]),
            positives,
        )
    return pd.DataFrame.from_dict(
        rows, orient="index", columns=["roc_auc", "average_precision", "anomalies"]
    )
