import pytest
from django.db.models import F
from django.urls import reverse

from scoring.models import ModelKind, ModelVersion, ScoringRun, TrainingRun
from tests.scoring.factories import ModelVersionFactory


def _login(client, make_user, role, name="u"):
    client.force_login(make_user(name, role=role))
    return client


def test_model_page_shows_metrics_baseline_and_drift(client, make_user, trained):
    _login(client, make_user, "Model ops")
    pd_version = trained[ModelKind.PD]
    response = client.get(reverse("admin:scoring_modelversion_change", args=[pd_version.pk]))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Random-forest baseline, same split" in html and "PSI" in html and "Calibration" in html
    assert response.context["drift"]["rows"][0]["feature"] == "score"
    listing = client.get(reverse("admin:scoring_modelversion_changelist"))
    assert listing.status_code == 200 and pd_version.label in listing.content.decode()


def test_prediction_page_returns_a_result_and_shows_field_errors(client, make_user, trained):
    _login(client, make_user, "Credit approver")
    url = reverse("admin:scoring_modelversion_predict")
    assert client.get(url).status_code == 200
    ok = client.post(
        url, {"amount": "300000", "term_months": "12", "monthly_revenue": "80000", "monthly_cost": "60000"}
    )
    assert ok.status_code == 200 and ok.context["result"]["grade"] in "ABCDE"
    bad = client.post(url, {"amount": "-1", "term_months": "x", "monthly_revenue": "", "monthly_cost": "1"})
    assert bad.status_code == 200 and bad.context["result"] is None
    assert {"amount", "term_months", "monthly_revenue"} <= set(bad.context["form"].errors)


def test_train_button_needs_train_model(client, make_user, db):
    _login(client, make_user, "Credit approver")
    response = client.post(reverse("admin:scoring_modelversion_train"), {"kind": "pd"})
    assert response.status_code == 403 and not TrainingRun.objects.exists()


def test_train_and_batch_buttons_queue_runs(client, make_user, trained, django_capture_on_commit_callbacks):
    _login(client, make_user, "Model ops")
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("admin:scoring_modelversion_batch_score"), {"scope": "pending"})
    assert response.status_code == 302
    assert ScoringRun.objects.get().status == "succeeded"
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("admin:scoring_modelversion_train"), {"kind": "limit"})
    assert TrainingRun.objects.get().model_version.kind == ModelKind.LIMIT
    assert client.get(reverse("admin:scoring_modelversion_train")).status_code == 405


@pytest.mark.django_db
def test_activate_button_and_domain_error_as_message(client, make_user):
    _login(client, make_user, "Model ops")
    version = ModelVersionFactory(kind=ModelKind.APPROVAL)
    url = reverse("admin:scoring_modelversion_activate", args=[version.pk])
    client.post(url, {"reason": "champion"})
    assert ModelVersion.objects.get(pk=version.pk).status == ModelVersion.Status.ACTIVE
    response = client.post(url, {"reason": "again"}, follow=True)  # already active: a message, not a 500
    assert response.status_code == 200
    assert any(m.level_tag == "error" for m in response.context["messages"])


def test_run_and_score_lists_render(client, make_user, trained):
    _login(client, make_user, "Auditor")
    for name in ("scoringrun", "trainingrun", "score", "loanoutcome"):
        assert client.get(reverse(f"admin:scoring_{name}_changelist")).status_code == 200


def test_registry_list_query_count_does_not_grow_with_rows(client, make_user, django_assert_num_queries):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    _login(client, make_user, "Model ops")
    url = reverse("admin:scoring_modelversion_changelist")
    ModelVersionFactory(kind=ModelKind.PD)
    client.get(url)
    with CaptureQueriesContext(connection) as few:
        client.get(url)
    for _i in range(8):
        ModelVersionFactory(kind=ModelKind.APPROVAL)
    with django_assert_num_queries(len(few.captured_queries)):
        client.get(url)


def test_model_page_warns_when_recent_applications_drift(client, make_user, trained):
    from loans.models import LoanApplication

    _login(client, make_user, "Model ops")
    # Recent applications ask for ten times more than the training population did.
    LoanApplication.objects.update(amount=F("amount") * 10)
    response = client.get(reverse("admin:scoring_modelversion_change", args=[trained[ModelKind.PD].pk]))
    rows = {r["feature"]: r for r in response.context["drift"]["rows"]}
    assert rows["amount"]["psi"] > 0.25 and rows["amount"]["warning"]
    assert response.context["psi_warning"] and "PSI above 0.25" in response.content.decode()
