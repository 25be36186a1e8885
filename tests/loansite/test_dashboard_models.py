"""The dashboard's model figures: the training hold-out AUC until a backtest gives a newer one."""

import datetime

import pytest

from loansite.dashboard.selectors import model_figures
from scoring.models import ModelKind, ModelVersion
from scoring.models_decision import Backtest
from tests.scoring.factories import ModelVersionFactory

pytestmark = pytest.mark.django_db


def test_an_active_model_shows_its_training_hold_out_auc():
    ModelVersionFactory(
        kind=ModelKind.PD, status=ModelVersion.Status.ACTIVE, metrics={"holdout": {"auc": 0.7339, "ks": 0.44}}
    )
    ModelVersionFactory(kind=ModelKind.LIMIT, status=ModelVersion.Status.ACTIVE, metrics={"holdout": {"mae": 1.0}})
    figures = {row["kind"]: row for row in model_figures()}
    assert figures[ModelKind.PD]["auc"] == pytest.approx(0.7339)
    assert figures[ModelKind.PD]["psi"] is None
    assert figures[ModelKind.LIMIT]["auc"] is None  # a regression model has no AUC


def test_the_last_backtest_wins_over_the_training_figure():
    model = ModelVersionFactory(
        kind=ModelKind.PD, status=ModelVersion.Status.ACTIVE, metrics={"holdout": {"auc": 0.7339}}
    )
    Backtest.objects.create(model_version=model, as_of=datetime.date(2026, 11, 1), auc=0.70, psi=0.04)
    Backtest.objects.create(model_version=model, as_of=datetime.date(2026, 11, 29), auc=0.68, psi=0.12)
    (row,) = model_figures()
    assert row["auc"] == pytest.approx(0.68)
    assert row["psi"] == pytest.approx(0.12)
