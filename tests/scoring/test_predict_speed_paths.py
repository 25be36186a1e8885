"""The fast single-prediction path: one row as numpy columns through the same pipeline and
models as batches (identical numbers), trees walked for a few rows (identical to the
estimator), and the active versions read fresh on every call (one statement)."""

import pickle
from decimal import Decimal
from unittest import mock

import numpy as np
import pandas as pd
import pytest
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor, RandomForestClassifier

from scoring.features import (
    FEATURES,
    RAW_COLUMNS,
    Columns,
    column,
    features_build,
    raw_columns_from_input,
    raw_frame_from_input,
)
from scoring.scorecard import Scorecard
from scoring.services.registry import model_versions_active
from scoring.training import WALK_MAX_ROWS, TreeWalk, openmp_limited, train_approval, train_limit, train_pd
from tests.scoring.factories import TYPICAL_INDICATORS as TYPICAL

ODD = [
    TYPICAL,
    {},  # everything unknown
    {  # text numbers, blanks, garbage, a bool, an infinite float, odd categories
        "amount": "250000",
        "term_months": "24",
        "credit_score": "",
        "years_in_business": "abc",
        "monthly_revenue": 0,
        "monthly_cost": 5000.5,
        "employees": True,
        "area_m2": float("inf"),
        "total_assets": Decimal("0"),
        "total_liabilities": Decimal("NaN"),
        "net_profit": -100,
        "annual_revenue": None,
        "prior_applications": 3,
        "product": " SWC ",
        "industry": "  Space Mining ",
        "city_tier": "3",
    },
    {"amount": 1, "term_months": 1, "monthly_revenue": 1.0, "monthly_cost": 2, "city_tier": 2.6, "industry": None},
]


def _raw_frame(n: int, seed: int = 0) -> pd.DataFrame:
    """Random raw inputs with missing values and the categorical levels scoring meets."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({c: rng.lognormal(10, 1, n).round(2) for c in RAW_COLUMNS[:-3]})
    frame["term_months"] = rng.choice([6, 12, 24, 36], n)
    frame["credit_score"] = rng.normal(650, 60, n).round()
    for c in ("prior_applications", "prior_approved", "prior_rejected"):
        frame[c] = rng.integers(0, 4, n)
    for c in ("credit_score", "total_assets", "net_profit"):
        frame.loc[rng.random(n) < 0.1, c] = np.nan
    frame["product"] = rng.choice(["SWC", "EQP", None], n)
    frame["industry"] = rng.choice(["retail", "catering", "services"], n)
    frame["city_tier"] = rng.choice([1, 2, 3, 4], n)
    return frame[RAW_COLUMNS]


def _labels(raw: pd.DataFrame, seed: int = 1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    score = (raw["credit_score"].fillna(600) - 650) / 60 - (raw["monthly_cost"] / raw["monthly_revenue"] - 1)
    return (rng.random(len(raw)) < 1 / (1 + np.exp(score.to_numpy()))).astype(int)


@pytest.fixture(scope="module")
def artifacts():
    raw = _raw_frame(600)
    y = _labels(raw)
    fast = {"cv_folds": 0, "baseline_trees": 5}
    return {
        "pd": train_pd(raw, y, **fast).artifact,
        "approval": train_approval(raw, y, **fast).artifact,
        "limit": train_limit(raw, raw["amount"].to_numpy() * 0.8, baseline_trees=5).artifact,
    }


def _assert_same_outputs(a: dict, b: dict):
    assert a.keys() == b.keys()
    for key in a:
        if isinstance(a[key], np.ndarray):
            assert a[key].dtype == b[key].dtype, key
            np.testing.assert_array_equal(a[key], b[key], err_msg=key, strict=True)
        else:
            assert a[key] == b[key], key


# ---------------------------------------------------------------------------------
# Pure: columns and frames give the same features and model outputs
# ---------------------------------------------------------------------------------
@pytest.mark.parametrize("inputs", ODD)
def test_one_row_as_columns_builds_the_features_of_the_one_row_frame(inputs):
    from_columns = features_build(raw_columns_from_input(inputs))
    from_frame = features_build(raw_frame_from_input(inputs))
    assert isinstance(from_columns, Columns) and len(from_columns) == 1
    for name in FEATURES:
        left, right = column(from_columns, name), column(from_frame, name)
        if name in ("product", "industry", "city_tier"):
            assert left.tolist() == right.tolist(), name
        else:
            assert left.dtype == right.dtype == np.float64, name
            np.testing.assert_array_equal(left, right, err_msg=name)


def test_columns_keep_the_frames_missing_column_error():
    raw = raw_columns_from_input(TYPICAL)
    partial = Columns({c: raw[c] for c in RAW_COLUMNS if c != "amount"})
    with pytest.raises(KeyError, match="amount"):
        features_build(partial)


@pytest.mark.parametrize("inputs", ODD)
def test_every_artifact_scores_one_row_of_columns_like_the_frame(artifacts, inputs):
    bounds = {"product_min_amount": 50000.0, "product_max_amount": 400000.0}
    raw_cols = raw_columns_from_input(inputs, extra=bounds)
    raw_frame = raw_frame_from_input(inputs)
    for key, value in bounds.items():
        raw_frame[key] = value
    cols, frame = features_build(raw_cols), features_build(raw_frame)
    with openmp_limited():
        for artifact in artifacts.values():
            _assert_same_outputs(artifact.predict(cols, raw_cols), artifact.predict(frame, raw_frame))


def test_small_and_large_frames_score_alike(artifacts):
    """A few rows take the tree walk, a large frame the estimator: the same numbers."""
    raw = _raw_frame(300, seed=5)
    features = features_build(raw)
    with openmp_limited():
        for artifact in artifacts.values():
            whole = artifact.predict(features, raw)
            for start in range(0, len(raw), WALK_MAX_ROWS):
                part = slice(start, start + WALK_MAX_ROWS)
                piece = artifact.predict(features.iloc[part], raw.iloc[part])
                for key, values in piece.items():
                    if key == "reason_names":
                        assert values == whole[key]
                    elif isinstance(values, list):
                        assert values == whole[key][part], key
                    else:
                        np.testing.assert_array_equal(values, whole[key][part], err_msg=key, strict=True)


# ---------------------------------------------------------------------------------
# Pure: the tree walk
# ---------------------------------------------------------------------------------
def _matrix(n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 6))
    X[:, 5] = rng.integers(0, 3, n)  # ties on the thresholds
    X[rng.random(X.shape) < 0.15] = np.nan
    return X


@pytest.mark.parametrize("kind", ["classifier", "regressor"])
def test_tree_walk_is_the_estimators_prediction_bit_for_bit(kind):
    X = _matrix(800, seed=3)
    Z = np.nan_to_num(X)
    signal = Z[:, 0] - Z[:, 1] * np.isnan(X[:, 2]) + Z[:, 5]
    if kind == "classifier":
        est = HistGradientBoostingClassifier(max_iter=40, random_state=0).fit(X, signal > 0.5)
        reference = est.predict_proba
    else:
        est = HistGradientBoostingRegressor(max_iter=40, random_state=0).fit(X, signal)
        reference = est.predict
    walk = TreeWalk.build(est)
    assert walk is not None
    test = _matrix(500, seed=4)
    on_split = [
        t
        for (p,) in est._predictors
        for f, t in zip(p.nodes["feature_idx"], p.nodes["num_threshold"], strict=True)
        if f == 0
    ]
    test[: len(on_split[:200]), 0] = on_split[:200]  # values exactly on a threshold go left
    got = np.concatenate([walk.predict(test[i : i + 7]) for i in range(0, len(test), 7)])
    np.testing.assert_array_equal(got, reference(test), strict=True)
    with pytest.raises(ValueError):
        walk.predict(test[:1, :3])


def test_tree_walk_is_not_used_where_it_does_not_apply_or_disagrees():
    X, y = _matrix(300, seed=6), np.arange(300) % 2
    assert TreeWalk.build(RandomForestClassifier(n_estimators=3).fit(np.nan_to_num(X), y)) is None
    categorical = HistGradientBoostingClassifier(max_iter=5, categorical_features=[5]).fit(np.nan_to_num(X), y)
    assert TreeWalk.build(categorical) is None
    est = HistGradientBoostingClassifier(max_iter=5).fit(X, y)
    real_raw = TreeWalk.raw
    with mock.patch.object(TreeWalk, "raw", lambda self, row: real_raw(self, row) + 1e-12):
        assert TreeWalk.build(est) is None  # a walk that drifts from the estimator is refused


# ---------------------------------------------------------------------------------
# Pure: what is computed once per artifact is never stale nor stored
# ---------------------------------------------------------------------------------
def test_derived_values_are_not_pickled_and_drop_when_a_field_changes(artifacts):
    sc = artifacts["pd"].scorecard
    features = features_build(_raw_frame(50, seed=9))
    before = sc.score(features)["points"]
    assert "_derived" in sc.__dict__
    clone = pickle.loads(pickle.dumps(sc))
    assert "_derived" not in clone.__dict__
    np.testing.assert_array_equal(clone.score(features)["points"], before)
    clone.intercept = clone.intercept - 1.0  # one unit of log-odds towards "good": more points
    assert "_derived" not in clone.__dict__
    assert (clone.score(features)["points"] > before).all()
    fresh = Scorecard(**{k: getattr(clone, k) for k in Scorecard.__dataclass_fields__})
    np.testing.assert_array_equal(clone.score(features)["points"], fresh.score(features)["points"])


# ---------------------------------------------------------------------------------
# Registry: the active versions, read fresh
# ---------------------------------------------------------------------------------
def test_active_versions_and_product_bounds_in_one_statement(trained, world, django_assert_num_queries):
    with django_assert_num_queries(1) as ctx:
        versions, bounds = model_versions_active(product_code=world.product.code)
    assert "JOIN" in ctx.captured_queries[0]["sql"].upper()
    assert {kind: mv.pk for kind, mv in versions.items()} == {kind: mv.pk for kind, mv in trained.items()}
    assert all(mv.label == trained[kind].label for kind, mv in versions.items())
    assert bounds == (float(world.product.min_amount), float(world.product.max_amount))
    assert model_versions_active(product_code="NO-SUCH")[1] is None
    assert model_versions_active()[1] is None
