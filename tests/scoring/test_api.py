import pytest
from rest_framework.test import APIClient

from scoring.models import ModelKind, ModelVersion, RunStatus, ScoringRun, TrainingRun
from tests.scoring.factories import ModelVersionFactory

PREDICT = "/api/v1/scoring/predict/"
GOOD = {"amount": "300000", "term_months": 12, "monthly_revenue": "90000", "monthly_cost": "70000"}


def _client(user):
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({k: v for k, v in GOOD.items() if k != "amount"}, "amount"),  # missing
        ({**GOOD, "monthly_revenue": "-5"}, "monthly_revenue"),  # negative
        ({**GOOD, "monthly_cost": "abc"}, "monthly_cost"),  # not a number
        ({**GOOD, "term_months": "twelve"}, "term_months"),
        ({**GOOD, "amount": "0"}, "amount"),
        ({**GOOD, "credit_score": "NaN"}, "credit_score"),
        ({**GOOD, "total_assets": "Infinity"}, "total_assets"),
        ({**GOOD, "industry": "space mining"}, "industry"),
    ],
)
def test_predict_rejects_bad_input_with_field_errors(make_user, payload, field):
    response = _client(make_user("approver", role="Credit approver")).post(PREDICT, payload, format="json")
    assert response.status_code == 400
    assert field in response.json()


def test_predict_without_active_model_is_a_409_not_a_500(make_user):
    response = _client(make_user("approver", role="Credit approver")).post(PREDICT, GOOD, format="json")
    assert response.status_code == 409


def test_predict_returns_probability_points_grade_reasons(trained, make_user):
    response = _client(make_user("approver", role="Credit approver")).post(PREDICT, GOOD, format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    assert 0 < float(body["probability_of_default"]) < 1
    assert body["grade"] in "ABCDE" and isinstance(body["points"], int)
    assert body["model_versions"]["pd"] == trained[ModelKind.PD].label
    assert all({"code", "en", "zh_hans", "points_lost"} <= set(r) for r in body["reasons"])


def test_predict_needs_a_staff_user_with_scoring_view(make_user, db):
    assert APIClient().post(PREDICT, GOOD, format="json").status_code in (401, 403)
    nobody = make_user("nobody")
    assert _client(nobody).post(PREDICT, GOOD, format="json").status_code == 403


def test_train_and_batch_score_need_train_model(make_user, db):
    approver = _client(make_user("approver", role="Credit approver"))
    assert approver.post("/api/v1/scoring/train/", {"kind": "pd"}, format="json").status_code == 403
    assert approver.post("/api/v1/scoring/batch-score/", {"scope": "pending"}, format="json").status_code == 403


def test_train_endpoint_queues_the_task_and_progress_is_readable(world, make_user, django_capture_on_commit_callbacks):
    ops = _client(make_user("ops", role="Model ops"))
    with django_capture_on_commit_callbacks(execute=True):
        response = ops.post("/api/v1/scoring/train/", {"kind": "pd"}, format="json")
    assert response.status_code == 202
    run_id = response.json()["id"]
    body = ops.get(f"/api/v1/scoring/training-runs/{run_id}/").json()
    assert body["status"] == RunStatus.SUCCEEDED and body["percent"] == 100 and body["model_version"] == "pd-v1"
    assert ops.post("/api/v1/scoring/train/", {"kind": "bogus"}, format="json").status_code == 400


def test_batch_score_endpoint_runs_and_reports_progress(trained, make_user, django_capture_on_commit_callbacks):
    ops = _client(make_user("ops", role="Model ops"))
    with django_capture_on_commit_callbacks(execute=True):
        response = ops.post("/api/v1/scoring/batch-score/", {"scope": "portfolio"}, format="json")
    assert response.status_code == 202
    body = ops.get(f"/api/v1/scoring/scoring-runs/{response.json()['id']}/").json()
    assert body["status"] == RunStatus.SUCCEEDED and body["percent"] == 100 and body["done"] > 0
    assert ScoringRun.objects.get().written == body["written"]


def test_activate_retire_rollback_endpoints(make_user, db):
    ops = _client(make_user("ops", role="Model ops"))
    first, second = ModelVersionFactory(kind=ModelKind.PD), ModelVersionFactory(kind=ModelKind.PD)
    assert ops.post(f"/api/v1/scoring/models/{first.pk}/activate/", {}, format="json").status_code == 200
    assert ops.post(f"/api/v1/scoring/models/{second.pk}/activate/", {"reason": "x"}, format="json").status_code == 200
    response = ops.post("/api/v1/scoring/models/rollback/", {"kind": "pd"}, format="json")
    assert response.status_code == 200 and response.json()["id"] == first.pk
    again = ops.post(f"/api/v1/scoring/models/{first.pk}/activate/", {}, format="json")
    assert again.status_code == 409  # already active
    assert ops.post(f"/api/v1/scoring/models/{first.pk}/retire/", {}, format="json").status_code == 200
    listing = ops.get("/api/v1/scoring/models/?kind=pd").json()
    assert {row["status"] for row in listing["results"]} == {ModelVersion.Status.RETIRED}
    approver = _client(make_user("approver", role="Credit approver"))
    assert approver.post(f"/api/v1/scoring/models/{second.pk}/activate/", {}, format="json").status_code == 403
    assert approver.get("/api/v1/scoring/models/").status_code == 200
    assert TrainingRun.objects.count() == 0
