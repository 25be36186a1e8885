import pytest

from scoring.synthetic import world_build

FAST = {"cv_folds": 2, "baseline_trees": 20}


@pytest.fixture
def world(db):
    """300 customers, 1,200 applications (10% pending) with the demo world's real signal."""
    return world_build(seed=11, customers=300, applications=1200)


@pytest.fixture
def trained(world):
    """The three models trained on ``world`` and activated (small forests, 2-fold CV)."""
    from scoring.models import ModelKind
    from scoring.services import model_train

    return {
        ModelKind.PD: model_train(kind=ModelKind.PD, activate=True, params=FAST),
        ModelKind.APPROVAL: model_train(kind=ModelKind.APPROVAL, activate=True, params=FAST),
        ModelKind.LIMIT: model_train(kind=ModelKind.LIMIT, activate=True, params={"baseline_trees": 20}),
    }
