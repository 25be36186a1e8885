"""Figures for the README and the model report: a scorecard trained through "train from a
file" on the generated mixed data set, its cross-validated AUC next to a plain one-hot
logistic regression on the same folds (nothing downloaded)."""

import time

from scoring.models import ModelKind
from scoring.schema import DataSchema, schema_target
from scoring.services.datasets import table_frame
from scoring.synthetic_file import SCHEMA, mixed_credit_csv


def file_scorecard_figure(*, rows: int = 20000, seed: int = 14, folds: int = 5, actor=None) -> dict:
    """Generate the CSV, parse it as an upload is parsed, train a file scorecard version through
    the training service (registry, metrics), and return its figures."""
    from scoring.services import model_train

    data = mixed_credit_csv(rows=rows, seed=seed)
    frame, _format = table_frame(data, max_rows=max(rows, 1))
    schema = DataSchema.from_json(SCHEMA)
    y = schema_target(frame, schema)
    started = time.perf_counter()
    version = model_train(
        kind=ModelKind.FILE_PD,
        actor=actor,
        params={"schema": schema, "cv_folds": folds, "dataset": {"file": "mixed_credit.csv", "rows": rows}},
        dataset=lambda: (frame, y),
    )
    seconds = time.perf_counter() - started
    metrics = version.metrics
    return {
        "version": version,
        "rows": rows,
        "bad_rate": metrics["target"]["bad_rate"],
        "columns": {c["name"]: c["type"] for c in SCHEMA["columns"]},
        "selected": version.features,
        "holdout_auc": metrics["holdout"]["auc"],
        "baseline_holdout_auc": metrics["baseline"]["auc"],
        "cv": metrics["cv"],
        "warnings": metrics["warnings"],
        "seconds": seconds,
    }


def file_scorecard_markdown(fig: dict) -> str:
    cv = fig["cv"]
    return "\n".join(
        [
            f"Generated mixed data set: {fig['rows']:,} rows, bad rate {fig['bad_rate']:.1%}; "
            f"columns {', '.join(f'{k} ({v})' for k, v in fig['columns'].items())}.",
            "",
            f"| model | {cv['folds']}-fold CV AUC (same folds) | hold-out AUC (same split) |",
            "|---|---:|---:|",
            f"| WoE scorecard via train from a file ({fig['version'].label}) | {cv['auc_mean']} ± {cv['auc_std']} "
            f"| {fig['holdout_auc']} |",
            f"| one-hot logistic regression | {cv['baseline_auc_mean']} ± {cv['baseline_auc_std']} "
            f"| {fig['baseline_holdout_auc']} |",
            "",
            f"Variables kept: {', '.join(fig['selected'])}. Warnings: "
            + "; ".join(f"{w['column']}: {w['message']}" for w in fig["warnings"])
            + f". Training with CV took {fig['seconds']:.1f} s.",
        ]
    )
