"""prediction_make on the trained models: the numbers of the batch (DataFrame) path, one
statement per call once the artifacts are loaded, and activations seen at once."""

from decimal import Decimal

import numpy as np
import pytest
from rest_framework.test import APIClient

from loansite.errors import Conflict, NotFound
from scoring.api.serializers import PredictionOutputSerializer
from scoring.features import features_build, raw_frame_from_input
from scoring.models import ModelKind, ModelVersion
from scoring.reasons import reason_dict
from scoring.services import model_version_activate, model_version_artifact, model_version_retire, prediction_make
from scoring.services.registry import model_versions_active
from scoring.training import openmp_limited
from tests.scoring.factories import TYPICAL_INDICATORS as TYPICAL


def _frame_path(inputs: dict, bounds: tuple[float, float] | None) -> dict:
    """The prediction computed the batch way: a one-row DataFrame through every artifact."""
    raw = raw_frame_from_input(inputs)
    raw["product_min_amount"], raw["product_max_amount"] = bounds if bounds else (np.nan, np.nan)
    features = features_build(raw)
    versions, _bounds = model_versions_active()
    with openmp_limited():
        return {kind: model_version_artifact(version=mv).predict(features, raw) for kind, mv in versions.items()}


def test_prediction_equals_the_frame_path_with_one_query_and_sees_activations_at_once(
    trained, world, django_assert_num_queries, make_user
):
    product = world.product
    inputs = {**TYPICAL, "product": product.code}
    result = prediction_make(inputs=inputs)
    expected = _frame_path(inputs, (float(product.min_amount), float(product.max_amount)))
    assert result["probability_of_default"] == Decimal(str(round(float(expected["pd"]["probability"][0]), 4)))
    assert result["points"] == int(expected["pd"]["points"][0]) and result["grade"] == expected["pd"]["grade"][0]
    assert result["reasons"] == [reason_dict(f, p) for f, p in expected["pd"]["reasons"][0]]
    assert result["approval_probability"] == Decimal(str(round(float(expected["approval"]["probability"][0]), 4)))
    assert float(result["recommended_limit"]) == expected["limit"]["value"][0]
    assert product.min_amount <= result["recommended_limit"] <= product.max_amount

    # The API serves exactly the service's result.
    client = APIClient()
    client.force_authenticate(make_user("approver", role="Credit approver"))
    payload = {k: str(v) for k, v in inputs.items()}
    response = client.post("/api/v1/scoring/predict/", payload, format="json")
    assert response.status_code == 200
    assert response.json() == PredictionOutputSerializer(result).data

    # Artifacts are cached per version; versions and product bounds: one statement per call.
    with django_assert_num_queries(1):
        prediction_make(inputs=inputs)
    with django_assert_num_queries(1), pytest.raises(NotFound):
        prediction_make(inputs={**inputs, "product": "NO-SUCH"})

    # Retired in this process, or re-activated behind its back: the next call knows.
    approval = trained[ModelKind.APPROVAL]
    model_version_retire(version=approval)
    assert "approval_probability" not in prediction_make(inputs=inputs)
    assert ModelKind.APPROVAL not in prediction_make(inputs=inputs)["model_versions"]
    model_version_activate(version=ModelVersion.objects.get(pk=approval.pk))
    assert prediction_make(inputs=inputs)["model_versions"][ModelKind.APPROVAL] == approval.label
    ModelVersion.objects.filter(status=ModelVersion.Status.ACTIVE).update(status=ModelVersion.Status.RETIRED)
    with pytest.raises(Conflict):
        prediction_make(inputs=inputs)
