import pytest

from scoring.synthetic import world_build


@pytest.fixture
def world(db):
    """600 customers, 2,500 applications (10% pending) with the demo world's real signal."""
    return world_build(seed=11, customers=600, applications=2500)


@pytest.fixture
def trained(world):
    """The three models trained on ``world`` and activated (small forests, 3-fold CV)."""
    from scoring.models import ModelKind
    from scoring.services import model_train

    fast = {"cv_folds": 3, "baseline_trees": 30}
    return {
        kind: model_train(kind=kind, activate=True, params=fast if kind != ModelKind.LIMIT else {"baseline_trees": 30})
        for kind in (ModelKind.PD, ModelKind.APPROVAL, ModelKind.LIMIT)
    }
