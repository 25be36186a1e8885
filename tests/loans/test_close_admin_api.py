"""The delinquency screens and API: the loan page's section, the reclassify and decide pages,
the settings tables (risk role, audited), /api/v1/loans/delinquency/ and
/api/v1/loans/classification-changes/ with their permissions (403 / 409)."""

import datetime

import pytest
from rest_framework.test import APIClient

from audit.models import AuditEntry
from loans.close import loan_close_day
from loans.models import ClassificationChange, ClassificationThreshold
from tests.loans.servicing import disbursed_loan

D = datetime.date
DELINQUENCY = "/api/v1/loans/delinquency/"
CHANGES = "/api/v1/loans/classification-changes/"


def api(user):
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture
def analyst(make_user):
    return make_user("analyst", role="Risk analyst")


@pytest.fixture
def loan(officer, approver):
    loan = disbursed_loan(officer, approver, amount="12000", term=6, rate="0.12")
    loan_close_day(date=D(2025, 2, 20))
    loan.refresh_from_db()
    return loan


def test_loan_page_shows_the_delinquency_section(client, officer, loan):
    client.force_login(officer)
    page = client.get(f"/admin/loans/loan/{loan.pk}/change/").content.decode()
    assert 'id="delinquency"' in page
    assert "1-30" in page and "2025-02-20" in page
    # Officers read; they do not reclassify.
    assert f"/admin/loans/classificationchange/loan/{loan.pk}/reclassify/" not in page
    assert client.get(f"/admin/loans/classificationchange/loan/{loan.pk}/reclassify/").status_code == 404


def test_downgrade_request_and_approve_through_the_admin(client, analyst, approver, loan):
    client.force_login(analyst)
    url = f"/admin/loans/classificationchange/loan/{loan.pk}/reclassify/"
    assert url in client.get(f"/admin/loans/loan/{loan.pk}/change/").content.decode()
    response = client.post(url, {"to_class": "doubtful", "reason": ""})
    assert response.status_code == 200 and "required" in response.content.decode().lower()
    assert client.post(url, {"to_class": "doubtful", "reason": "fraud suspected"}).status_code == 302
    loan.refresh_from_db()
    assert loan.risk_class == "doubtful"
    assert client.post(url, {"to_class": "special_mention", "reason": "cleared"}).status_code == 302
    change = ClassificationChange.objects.get(status="pending")
    assert client.get(f"/admin/loans/classificationchange/{change.pk}/decide/").status_code == 404
    client.force_login(approver)
    decide = f"/admin/loans/classificationchange/{change.pk}/decide/"
    assert client.post(decide, {"decision": "approve", "note": "ok"}).status_code == 302
    loan.refresh_from_db()
    assert loan.risk_class == "special_mention"


def test_thresholds_are_edited_by_the_risk_role_and_audited(client, analyst, officer):
    threshold = ClassificationThreshold.objects.get(risk_class="substandard")
    url = f"/admin/loans/classificationthreshold/{threshold.pk}/change/"
    client.force_login(officer)
    assert client.post(url, {"min_days_past_due": 31}).status_code == 403
    client.force_login(analyst)
    before = AuditEntry.objects.count()
    assert client.post(url, {"min_days_past_due": 61}).status_code == 302
    threshold.refresh_from_db()
    assert threshold.min_days_past_due == 61 and AuditEntry.objects.count() == before + 1
    for page in ("dayclose", "provisionrate", "closesettings", "loandaysnapshot", "reminder", "delinquencysignal"):
        assert client.get(f"/admin/loans/{page}/").status_code == 200, page


def test_api_delinquency_state_and_history(officer, loan):
    response = api(officer).get(DELINQUENCY, {"bucket": "1-30"})
    assert response.status_code == 200 and response.data["count"] == 1
    row = response.data["results"][0]
    assert (row["loan_number"], row["days_past_due"], row["risk_class"]) == (loan.loan_number, 6, "special_mention")
    detail = api(officer).get(f"{DELINQUENCY}{loan.pk}/").data
    assert detail["snapshots"][0]["date"] == "2025-02-20"
    assert detail["classification_history"][0]["to_class"] == "special_mention"
    assert api(officer).get(DELINQUENCY, {"npl": "true"}).data["count"] == 0


def test_api_classification_changes_and_permissions(officer, analyst, approver, loan):
    assert api(officer).post(CHANGES, {"loan": loan.pk, "to_class": "loss", "reason": "x"}).status_code == 403
    assert api(analyst).post(CHANGES, {"loan": loan.pk, "to_class": "bogus", "reason": "x"}).status_code == 400
    response = api(analyst).post(CHANGES, {"loan": loan.pk, "to_class": "loss", "reason": "fraud"})
    assert response.status_code == 201 and response.data["status"] == "applied"
    response = api(analyst).post(CHANGES, {"loan": loan.pk, "to_class": "special_mention", "reason": "cleared"})
    assert response.status_code == 201 and response.data["status"] == "pending"
    change_id = response.data["id"]
    assert api(analyst).post(f"{CHANGES}{change_id}/approve/", {}).status_code == 403
    assert api(approver).post(f"{CHANGES}{change_id}/approve/", {"note": "ok"}).status_code == 200
    assert api(approver).post(f"{CHANGES}{change_id}/refuse/", {"note": "late"}).status_code == 409
    loan.refresh_from_db()
    assert loan.risk_class == "special_mention"
    assert api(officer).get(CHANGES, {"loan": loan.pk}).data["count"] == 3
