"""Fixes on the model pages: the right metric per kind, a term of at least one month, a batch
that would score nothing says why, activation asks for confirmation and a reason."""

import pytest
from django.urls import reverse

from audit.models import AuditEntry
from scoring.models import ModelKind, ModelVersion, ScoringRun
from tests.scoring.factories import ModelVersionFactory


@pytest.mark.django_db
def test_model_list_shows_r2_for_the_limit_model_and_auc_for_classifiers(client, make_user):
    client.force_login(make_user("ops", role="Model ops"))
    ModelVersionFactory(kind=ModelKind.LIMIT, metrics={"holdout": {"mae": 1000.0, "r2": 0.586}})
    ModelVersionFactory(kind=ModelKind.PD, metrics={"holdout": {"auc": 0.705, "ks": 0.37}})
    html = client.get(reverse("admin:scoring_modelversion_changelist")).content.decode()
    assert "R² 0.586" in html and "AUC 0.705" in html
    assert "AUC 0.586" not in html and "0.586</td>" not in html.replace("R² 0.586</td>", "")


def test_prediction_page_refuses_a_term_of_zero_months(client, make_user, trained):
    client.force_login(make_user("approver", role="Credit approver"))
    url = reverse("admin:scoring_modelversion_predict")
    response = client.post(
        url, {"amount": "300000", "term_months": "0", "monthly_revenue": "80000", "monthly_cost": "60000"}
    )
    assert response.context["result"] is None and "term_months" in response.context["form"].errors


@pytest.mark.django_db
def test_batch_score_with_nothing_to_score_says_why_and_queues_nothing(client, make_user):
    client.force_login(make_user("ops", role="Model ops"))
    url = reverse("admin:scoring_modelversion_batch_score")
    response = client.post(url, {"scope": "portfolio"}, follow=True)
    texts = [str(m) for m in response.context["messages"]]
    assert any("no model is active" in t for t in texts), texts
    ModelVersionFactory(kind=ModelKind.PD, status=ModelVersion.Status.ACTIVE)  # active, nothing submitted
    response = client.post(url, {"scope": "portfolio"}, follow=True)
    texts = [str(m) for m in response.context["messages"]]
    assert any("already has a score" in t for t in texts), texts
    assert not ScoringRun.objects.exists()


@pytest.mark.django_db
def test_activation_asks_for_confirmation_and_a_reason_and_audits_it(client, make_user):
    client.force_login(make_user("ops", role="Model ops"))
    current = ModelVersionFactory(kind=ModelKind.PD, status=ModelVersion.Status.ACTIVE)
    version = ModelVersionFactory(kind=ModelKind.PD)
    url = reverse("admin:scoring_modelversion_activate", args=[version.pk])
    page = client.get(url)
    assert page.status_code == 200 and current.label in page.content.decode()
    assert ModelVersion.objects.get(pk=version.pk).status == ModelVersion.Status.READY  # a GET changes nothing
    refused = client.post(url, {"confirm": "1", "reason": "  "})
    assert refused.status_code == 200 and "reason" in refused.context["form"].errors
    assert ModelVersion.objects.get(pk=version.pk).status == ModelVersion.Status.READY
    client.post(url, {"confirm": "1", "reason": "better KS on the new book"})
    assert ModelVersion.objects.get(pk=version.pk).status == ModelVersion.Status.ACTIVE
    assert ModelVersion.objects.get(pk=current.pk).status == ModelVersion.Status.RETIRED
    entry = AuditEntry.objects.filter(action="activate", target_id=str(version.pk)).get()
    assert entry.reason == "better KS on the new book"
    # Only model ops (and administrators) may see the page.
    client.force_login(make_user("approver", role="Credit approver"))
    assert client.get(reverse("admin:scoring_modelversion_retire", args=[version.pk])).status_code == 403
