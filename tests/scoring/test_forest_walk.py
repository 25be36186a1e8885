"""The random-forest baseline, when it is the shipped approval model, answers one
prediction by walking its trees: the estimator's probabilities, without its per-tree cost."""

from unittest import mock

import numpy as np
import pytest
from sklearn.ensemble import RandomForestClassifier

from scoring.training import ApprovalModel, ForestWalk, _baseline_classifier, _baseline_regressor


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(5)
    X = rng.normal(size=(3000, 6)) * [1, 10, 100, 1000, 0.1, 5]
    X[rng.random(X.shape) < 0.15] = np.nan
    y = (np.nan_to_num(X[:, 0]) + rng.normal(size=len(X)) > 0).astype(int)
    return X, y


def test_forest_walk_equals_the_classifier_and_regressor_with_missing_values(data):
    X, y = data
    clf = _baseline_classifier(3, n_estimators=30, rows=len(X)).fit(X, y)
    walk = ForestWalk.build(clf)
    assert walk is not None and walk.classifier
    np.testing.assert_allclose(walk.predict(X[:300]), clf.predict_proba(X[:300]), rtol=0, atol=1e-12)
    reg = _baseline_regressor(3, n_estimators=30, rows=len(X)).fit(X, np.nan_to_num(X[:, 1]))
    walk = ForestWalk.build(reg)
    assert walk is not None and not walk.classifier
    np.testing.assert_allclose(walk.predict(X[:300]), reg.predict(X[:300]), rtol=0, atol=1e-9)
    with pytest.raises(ValueError):
        walk.predict(X[:1, :5])


def test_forest_walk_is_refused_for_other_models_and_when_it_drifts(data):
    X, y = data
    assert ForestWalk.build(RandomForestClassifier(n_estimators=3).fit(np.nan_to_num(X), y)) is None
    clf = _baseline_classifier(3, n_estimators=10, rows=len(X)).fit(X, y)
    real = ForestWalk.predict
    with mock.patch.object(ForestWalk, "predict", lambda self, X: real(self, X) + 1e-9):
        assert ForestWalk.build(clf) is None


def test_the_baseline_approval_model_predicts_one_row_through_the_walk(data):
    X, y = data
    model = ApprovalModel(algorithm="random_forest_6", estimator=_baseline_classifier(3, 20, len(X)).fit(X, y))
    features = {
        name: X[:1, i]
        for i, name in enumerate(
            ["amount", "credit_score", "years_in_business", "monthly_revenue", "monthly_cost", "monthly_foot_traffic"]
        )
    }
    model.predict(features)  # builds (and checks) the walk once
    with mock.patch.object(model.estimator, "predict_proba", side_effect=AssertionError("estimator called")):
        one = model.predict(features)["probability"]
    assert one == pytest.approx(model.estimator.predict_proba(X[:1])[:, 1], abs=1e-12)
