"""Scoring benchmarks: batch scoring end to end vs ``predict_proba`` alone, training on
200,000 rows vs the random-forest baseline's fit, single prediction API latency vs the
scoring call alone."""

import statistics
import time

import numpy as np
import pandas as pd
from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.test import Client
from sklearn.linear_model import LogisticRegression

from customers.models import Customer
from loans.models import ApplicationSnapshot, LoanApplication
from loansite import demo_profiles
from loansite.bench import BenchContext, Figure, Timer, bench_client_login, benchmark
from scoring.features import BASELINE_FEATURES, RAW_COLUMNS, features_build
from scoring.models import ModelKind, ScoringRun
from scoring.selectors import application_frame, training_set
from scoring.services import (
    model_train,
    model_version_artifact,
    prediction_make,
    scoring_run_create,
    scoring_run_execute,
)
from scoring.synthetic import world_build
from scoring.training import _baseline_classifier, openmp_limited


def _memory_frame(rng, n: int) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """A raw frame of ``n`` demo applications built in memory, with default and approval labels."""
    cust = demo_profiles.customer_profiles(rng, max(100, n // 5))
    apps = demo_profiles.application_profiles(rng, cust, n)
    c = cust.iloc[apps["customer_pos"]].reset_index(drop=True)
    raw = pd.DataFrame({k: c[k] for k in c.columns if k in RAW_COLUMNS})
    raw["amount"], raw["term_months"], raw["product"] = apps["amount"], apps["term_months"], "WC"
    for k in ("prior_applications", "prior_approved", "prior_rejected"):
        raw[k] = rng.poisson(0.8, n)
    return raw[RAW_COLUMNS], apps["defaults"].astype(int).to_numpy(), apps["approved"].astype(int).to_numpy()


def _concat(column: str, suffix: str) -> str:
    if connection.vendor == "mysql":
        return f"CONCAT({column}, '{suffix}')"
    return f"({column} || '{suffix}')"


def _unique_copy(column: str, suffix: str) -> str:
    """A keyed-hash column's copy: still 64 characters, made unique by the suffix (after an
    "x", which no hexadecimal hash holds, so a copy never equals an original)."""
    suffix = f"x{suffix}"
    return _concat(f"SUBSTR({column}, 1, {64 - len(suffix)})", suffix)


def _replicate(*, copies: int) -> None:
    """Copy every customer and application ``copies - 1`` times in SQL (unique keys get a
    suffix; each application follows its customer's copy): a million rows in seconds.

    The encrypted ID numbers and phones are copied as they are (they decrypt to the
    original's); their unique hash columns get the suffix, and the join follows them."""
    q = connection.ops.quote_name
    cust_table, app_table = q(Customer._meta.db_table), q(LoanApplication._meta.db_table)
    cust_cols = [f.column for f in Customer._meta.concrete_fields if f.column != "id"]
    app_cols = [f.column for f in LoanApplication._meta.concrete_fields if f.column != "id"]
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT MAX(id) FROM {cust_table}")
        cust_max = cursor.fetchone()[0]
        cursor.execute(f"SELECT MAX(id) FROM {app_table}")
        app_max = cursor.fetchone()[0]
        for k in range(1, copies):
            sfx = f"c{k}"
            cust_select = [
                _unique_copy(f"c.{col}", sfx)
                if col in ("id_number_hash", "phone_hash")
                else _concat(f"c.{col}", sfx)
                if col == "name"
                else f"c.{col}"
                for col in cust_cols
            ]
            cursor.execute(
                f"INSERT INTO {cust_table} ({', '.join(q(c) for c in cust_cols)}) "
                f"SELECT {', '.join(cust_select)} FROM {cust_table} c WHERE c.id <= %s ORDER BY c.id",
                [cust_max],
            )
            app_select = [
                "cc.id" if col == "customer_id" else _concat("a.reference", sfx) if col == "reference" else f"a.{col}"
                for col in app_cols
            ]
            cursor.execute(
                f"INSERT INTO {app_table} ({', '.join(q(c) for c in app_cols)}) "
                f"SELECT {', '.join(app_select)} FROM {app_table} a "
                f"JOIN {cust_table} c ON c.id = a.customer_id "
                f"JOIN {cust_table} cc ON cc.id_number_hash = {_unique_copy('c.id_number_hash', sfx)} "
                f"WHERE a.id <= %s ORDER BY a.id",
                [app_max],
            )
            # Each copy keeps its original's snapshot (what it was submitted with).
            snap = q(ApplicationSnapshot._meta.db_table)
            snap_cols = [f.column for f in ApplicationSnapshot._meta.concrete_fields if f.column != "application_id"]
            cursor.execute(
                f"INSERT INTO {snap} (application_id, {', '.join(q(c) for c in snap_cols)}) "
                f"SELECT na.id, {', '.join('s.' + q(c) for c in snap_cols)} FROM {snap} s "
                f"JOIN {app_table} a ON a.id = s.application_id "
                f"JOIN {app_table} na ON na.reference = {_concat('a.reference', sfx)} "
                f"WHERE a.id <= %s",
                [app_max],
            )


@benchmark(name="scoring.batch", order=40)
def bench_batch(ctx: BenchContext) -> list[Figure]:
    n = ctx.n(1_000_000, minimum=2_000)
    base = min(n, 50_000)
    copies = -(-n // base)
    ctx.log(f"  building {base:,} applications x {copies} copies ...")
    # A book, not a queue: 5% of the applications await a decision (their latest-score
    # fields are rewritten too); the rest were decided and only get Score rows.
    world_build(seed=40, customers=max(200, base // 5), applications=base, pending_share=0.05, prefix="B")
    with transaction.atomic():
        _replicate(copies=copies)
    ctx.log("  training the PD scorecard and the approval model on a 50,000-row sample ...")
    versions = {}
    for kind in (ModelKind.PD, ModelKind.APPROVAL):
        raw, labels = training_set(kind=kind)
        keep = np.random.default_rng(1).permutation(len(raw))[:50_000]
        versions[kind] = model_train(
            kind=kind,
            activate=True,
            params={"cv_folds": 0, "baseline_trees": 20},
            dataset=lambda raw=raw, labels=labels, keep=keep: (raw.iloc[keep], labels[keep]),
        )
    pd_version = versions[ModelKind.PD]

    figures = []
    # 1) PD scorecard only: read features, predict, reasons, write Score rows + latest fields.
    from scoring.services.registry import model_version_retire

    model_version_retire(version=versions[ModelKind.APPROVAL])
    run = scoring_run_create(scope=ScoringRun.Scope.PORTFOLIO)
    with Timer() as t_end:
        run = scoring_run_execute(run=run)
    rows = run.done
    ctx.log(f"  scored {rows:,} rows, wrote {run.written:,} score rows in {t_end.seconds:.1f} s")

    # Baseline: scikit-learn's predict_proba on the same rows' WoE matrix, same coefficients.
    frame = application_frame(where="1 = 1")
    features = features_build(frame)
    sc = model_version_artifact(version=pd_version).scorecard
    woe = sc.woe_frame(features).to_numpy()
    lr = LogisticRegression()
    lr.classes_ = np.array([0, 1])
    lr.coef_ = np.array([[sc.coef[name] for name in sc.selected]])
    lr.intercept_ = np.array([sc.intercept])
    with Timer() as t_proba:
        lr.predict_proba(woe)
    figures.append(
        Figure(
            name=(
                f"batch scoring end to end, PD scorecard ({rows:,} applications, 5% pending: read, predict, "
                "reasons, write Score rows and the pending ones' latest fields)"
            ),
            value=rows / t_end.seconds,
            unit="rows/s",
            baseline_name="predict_proba alone on the same WoE matrix",
            baseline_value=len(woe) / t_proba.seconds,
            target=">= 50,000 rows/s",
        )
    )

    # 2) With the approval model (gradient boosting) as well: two Score rows per application.
    from scoring.models import Score
    from scoring.services import model_version_activate

    Score.objects.filter(model_version=pd_version)._raw_delete(Score.objects.db)
    model_version_activate(version=versions[ModelKind.APPROVAL])
    run = scoring_run_create(scope=ScoringRun.Scope.PORTFOLIO)
    with Timer() as t_two:
        run = scoring_run_execute(run=run)
    approval = model_version_artifact(version=versions[ModelKind.APPROVAL])
    matrix = approval.matrix(features)
    with openmp_limited(), Timer() as t_gb:
        approval.estimator.predict_proba(matrix)
    figures.append(
        Figure(
            name=(
                f"batch scoring end to end, PD + approval models ({run.done:,} applications, {run.written:,} "
                f"Score rows: {run.done / t_two.seconds:,.0f} applications/s)"
            ),
            value=run.written / t_two.seconds,
            unit="rows/s",
            baseline_name="predict_proba alone (gradient boosting, same matrix)",
            baseline_value=len(matrix) / t_gb.seconds,
            target=">= 50,000 rows/s",
        )
    )
    return figures


@benchmark(name="scoring.training", order=41)
def bench_training(ctx: BenchContext) -> list[Figure]:
    n = ctx.n(200_000, minimum=5_000)
    raw, defaults, approved = _memory_frame(np.random.default_rng(41), n)
    figures = []
    for kind, label in ((ModelKind.PD, "PD scorecard"), (ModelKind.APPROVAL, "approval model")):
        ys = defaults if kind == ModelKind.PD else approved
        with Timer() as t_train:
            version = model_train(kind=kind, params={"cv_folds": 5}, dataset=lambda ys=ys: (raw, ys))
        ctx.log(f"  {version.label}: {t_train.seconds:.1f} s, AUC {version.metrics['holdout']['auc']}")
        features = features_build(raw)
        rf = _baseline_classifier(42, rows=int(0.8 * n))
        with Timer() as t_rf:
            rf.fit(features[BASELINE_FEATURES].to_numpy(dtype=float), ys)
        figures.append(
            Figure(
                name=f"train {label} on {n:,} rows (hold-out, 5-fold CV, RF baseline, artifact)",
                value=t_train.seconds,
                unit="s",
                baseline_name="the random-forest baseline (100 trees, six features) fit alone",
                baseline_value=t_rf.seconds,
                target="<= 60 s",
            )
        )
    return figures


@benchmark(name="scoring.predict_api", order=42)
def bench_predict_api(ctx: BenchContext) -> list[Figure]:
    from scoring.models import ModelVersion

    if not ModelVersion.objects.filter(status=ModelVersion.Status.ACTIVE).exists():
        world_build(seed=42, customers=1_000, applications=5_000, prefix="P")
        for kind in (ModelKind.PD, ModelKind.APPROVAL, ModelKind.LIMIT):
            model_train(kind=kind, activate=True, params={"baseline_trees": 20})
    from scoring.selectors import active_versions

    active = ModelVersion.objects.filter(pk__in=[mv.pk for mv in active_versions().values()]).order_by("kind")
    models = ", ".join(f"{mv.label} {mv.algorithm}" for mv in active.defer("artifact"))
    user = get_user_model().objects.create_superuser("bench-scoring", password="x-bench-Passw0rd")
    client = Client(SERVER_NAME="localhost")
    bench_client_login(client, user)
    payload = {
        "amount": "300000",
        "term_months": 12,
        "monthly_revenue": "90000",
        "monthly_cost": "70000",
        "credit_score": 680,
        "years_in_business": 4,
        "industry": "retail",
        "city_tier": 2,
    }
    n = ctx.n(500, minimum=50)
    for _ in range(10):
        client.post("/api/v1/scoring/predict/", payload, content_type="application/json")
    api, direct = [], []
    for _ in range(n):
        start = time.perf_counter()
        response = client.post("/api/v1/scoring/predict/", payload, content_type="application/json")
        api.append(time.perf_counter() - start)
        assert response.status_code == 200, response.content
        start = time.perf_counter()
        prediction_make(inputs=payload)
        direct.append(time.perf_counter() - start)
    return [
        Figure(
            name=f"POST /api/v1/scoring/predict/ median latency ({n} requests; active models: {models})",
            value=statistics.median(api) * 1000,
            unit="ms",
            baseline_name="prediction_make() called directly",
            baseline_value=statistics.median(direct) * 1000,
            target="<= 20 ms",
        )
    ]


@benchmark(name="scoring.file_scorecard", order=43)
def bench_file_scorecard(ctx: BenchContext) -> list[Figure]:
    """Train from a file on the generated mixed data set: CV AUC next to one-hot logistic regression."""
    from scoring.figures import file_scorecard_figure

    rows = ctx.n(20_000, minimum=3_000)
    fig = file_scorecard_figure(rows=rows, folds=5)
    cv = fig["cv"]
    ctx.log(f"  {fig['version'].label}: CV AUC {cv['auc_mean']} vs one-hot LR {cv['baseline_auc_mean']}")
    return [
        Figure(
            name=(
                f"scorecard trained from a file, 5-fold CV AUC ({rows:,} generated rows: text, number-coded and "
                "boolean categoricals, sentinels and infinite values)"
            ),
            value=cv["auc_mean"],
            unit="AUC",
            baseline_name="one-hot logistic regression on the same folds",
            baseline_value=cv["baseline_auc_mean"],
            target="within 0.02 of the baseline",
        ),
        Figure(
            name=f"train from a file end to end ({rows:,} rows, hold-out, 5-fold CV of both models, artifact)",
            value=fig["seconds"],
            unit="s",
            baseline_name="",
            baseline_value=None,
            target="<= 60 s",
        ),
    ]
